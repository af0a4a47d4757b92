r"""Scoring separators on a dataset: one row per track, source and metric, plus medians.

:func:`evaluate` reads a dataset (:mod:`dsp_separate.datasets`) one track at a time,
separates the mixture with one or more separators, matches the separated sources to the
track's stems, scores each pair and forgets the track, so memory is bounded by one track
whatever the size of the dataset.  The result is a list of records (a
:class:`pandas.DataFrame` with ``as_frame=True``)::

    method  track        source      metric  value
    hpss    hpss_00_...  harmonic    sdr     9.31
    ...
    hpss    (median)     harmonic    sdr     8.77     <- median over the tracks

:func:`median_table` turns it into the text table a command line prints, :func:`to_csv`
writes it to a file.

Metrics
-------
``"sdr"``, ``"sir"``, ``"sar"``, ``"isr"``
    BSS Eval (Vincent et al. 2006) on the whole signal: :func:`~dsp_separate.metrics.
    bss_eval_images` for multichannel tracks (source images; ISR only there),
    :func:`~dsp_separate.metrics.bss_eval_sources` for mono tracks.  The distortion
    filters project on the references of the *evaluated* stems, so map every source
    (``stem_map``) for a meaningful SIR.  With ``frame_seconds=`` they are computed on
    frames of that many seconds (BSS Eval v4 for images, as museval; v3 for mono sources)
    and each track gets the median over its frames, the SiSEC 2018 convention
    (``frame_seconds=1.0``).
``"si_sdr"``, ``"sd_sdr"``, ``"snr"``
    Scale-invariant SDR, scale-dependent SDR and SNR (Le Roux et al. 2019), over all
    channels of a source at once (one scale factor per source image).

References
----------
.. [1] E. Vincent, R. Gribonval and C. Févotte, "Performance measurement in blind audio
   source separation", IEEE Trans. Audio, Speech and Language Processing 14(4), 2006.
.. [2] J. Le Roux, S. Wisdom, H. Erdogan and J. R. Hershey, "SDR - half-baked or well
   done?", Proc. IEEE ICASSP, 2019.
.. [3] F.-R. Stöter, A. Liutkus and N. Ito, "The 2018 Signal Separation Evaluation
   Campaign", Proc. LVA/ICA, 2018.
"""

from __future__ import annotations

import csv
import math
import os
import sys
import time
import warnings
from collections.abc import Mapping

import numpy as np

from ._validation import check_bool, check_positive_float, describe
from .exceptions import ParameterError

__all__ = ["METRICS", "MEDIAN", "evaluate", "medians", "median_table", "to_csv"]

#: Metric names :func:`evaluate` knows.
METRICS = ("sdr", "sir", "sar", "isr", "si_sdr", "sd_sdr", "snr")

#: The ``track`` value of the median rows.
MEDIAN = "(median)"

#: Record fields, in order.
FIELDS = ("method", "track", "source", "metric", "value")

_BSS = ("sdr", "isr", "sir", "sar")


# ----------------------------------------------------------------------------------------
# argument checks


def _check_metrics(metrics) -> tuple:
    if isinstance(metrics, str):
        metrics = (metrics,)
    try:
        metrics = tuple(metrics)
    except TypeError:
        raise ParameterError(f"metrics={describe(metrics)}: must be a sequence of metric "
                             f"names from {', '.join(METRICS)}") from None
    if not metrics:
        raise ParameterError("metrics=(): give at least one metric")
    for m in metrics:
        if m not in METRICS:
            raise ParameterError(f"metrics={metrics!r}: unknown metric {m!r}; known: "
                                 f"{', '.join(METRICS)}")
    if len(set(metrics)) != len(metrics):
        raise ParameterError(f"metrics={metrics!r}: names repeat")
    return metrics


def _check_stem_map(stem_map):
    if stem_map is None:
        return None
    if not isinstance(stem_map, Mapping) or not stem_map:
        raise ParameterError(f"stem_map={describe(stem_map)}: must be a non-empty dict "
                             "{separator source name: dataset stem name}")
    for k, v in stem_map.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise ParameterError(f"stem_map={stem_map!r}: keys and values must be names (str)")
    values = list(stem_map.values())
    if len(set(values)) != len(values):
        raise ParameterError(f"stem_map={stem_map!r}: two sources map to the same stem")
    return dict(stem_map)


def _separators(separator) -> list:
    """``[(label, Separator)]`` from one separator, a registered name, or a sequence."""
    from .base import Separator
    from .separators import get_separator

    many = isinstance(separator, (list, tuple))
    items = list(separator) if many else [separator]
    if not items:
        raise ParameterError("separator=[]: give at least one separator")
    seps = []
    for item in items:
        if isinstance(item, str):
            item = get_separator(item)()
        if not isinstance(item, Separator):
            raise ParameterError(f"separator={describe(item)}: must be a Separator, a "
                                 "registered name (e.g. 'hpss') or a list of them")
        seps.append(item)
    labels = [s.name or type(s).__name__ for s in seps]
    out = []
    for label, sep in zip(labels, seps, strict=True):
        if labels.count(label) > 1:
            label = repr(sep)
        out.append((label, sep))
    if len({label for label, _ in out}) != len(out):
        raise ParameterError("separator: the same separator is given twice")
    return out


def _progress_stream(progress):
    if progress is None or progress is False:
        return None
    if progress is True:
        return sys.stderr
    if hasattr(progress, "write"):
        return progress
    raise ParameterError(f"progress={describe(progress)}: must be True, False or a "
                         "writable text stream")


# ----------------------------------------------------------------------------------------
# scoring one track


def _pairs(label, sep, result_names, stem_names, stem_map, track_name):
    """``[(estimate name, stem name)]`` to score."""
    if sep.tags.needs_references:  # oracles name their sources after the references
        chosen = list(stem_map.values()) if stem_map is not None else list(stem_names)
        return [(s, s) for s in chosen]
    if stem_map is None:
        pairs = [(s, s) for s in stem_names if s in result_names]
        if not pairs:
            raise ParameterError(
                f"stem_map=None: {label} gives the sources {', '.join(result_names)} and "
                f"track {track_name!r} has the stems {', '.join(stem_names)}; no name is "
                "shared, pass stem_map={source: stem}"
            )
        return pairs
    missing = [k for k in stem_map if k not in result_names]
    if missing:
        raise ParameterError(
            f"stem_map={stem_map!r}: {label} has no source {missing[0]!r}; its sources: "
            f"{', '.join(result_names)}"
        )
    return list(stem_map.items())


def _check_stems_exist(stem_map, stem_names, track_name):
    if stem_map is None:
        return
    missing = [v for v in stem_map.values() if v not in stem_names]
    if missing:
        raise ParameterError(
            f"stem_map={stem_map!r}: track {track_name!r} has no stem {missing[0]!r}; its "
            f"stems: {', '.join(stem_names)}"
        )


def _frame_median(x: np.ndarray) -> np.ndarray:
    """Median over the last axis ignoring NaN; all-NaN rows give NaN (no warning)."""
    out = np.full(x.shape[:-1], np.nan)
    for idx in np.ndindex(*x.shape[:-1]):
        out[idx] = _median(x[idx])
    return out


def _median(values) -> float:
    """Median of the non-NaN values (NaN if none); +-inf are ordinary values."""
    v = np.sort(np.asarray([x for x in values if not math.isnan(x)], dtype=np.float64))
    if v.size == 0:
        return math.nan
    mid = v.size // 2
    if v.size % 2:
        return float(v[mid])
    a, b = float(v[mid - 1]), float(v[mid])
    return a if a == b else 0.5 * (a + b)  # Python floats: -inf + inf is NaN, no warning


def _bss_scores(refs, ests, metrics, frame_seconds, sr, track_name, names):
    """``{metric: (n_src,) array}`` of BSS Eval figures for ``refs``/``ests`` (J, C, N)."""
    from . import metrics as M

    wanted = [m for m in _BSS if m in metrics]
    n_src, n_chan = refs.shape[:2]
    if n_chan == 1:
        wanted = [m for m in wanted if m != "isr"]
    out = {m: np.full(n_src, np.nan) for m in wanted}
    if not wanted:
        return out
    if frame_seconds is None:
        silent = ~np.any(refs != 0, axis=(1, 2)) | ~np.any(ests != 0, axis=(1, 2))
        if silent.any():
            warnings.warn(
                f"track {track_name!r}: {', '.join(np.asarray(names)[silent])} silent in the "
                "reference or the estimate; BSS Eval figures of these sources are NaN",
                UserWarning, stacklevel=4,
            )
        keep = np.flatnonzero(~silent)
        if keep.size == 0:
            return out
        r, e = refs[keep], ests[keep]
        kwargs = dict(permutation=False)
    else:
        keep = np.arange(n_src)
        r, e = refs, ests
        frame_samples = max(1, int(round(frame_seconds * sr)))
        kwargs = dict(permutation=False, frame_samples=frame_samples)
    if n_chan == 1:
        res = M.bss_eval_sources(r[:, 0], e[:, 0], **kwargs)
        got = {"sdr": res.sdr, "sir": res.sir, "sar": res.sar}
    else:
        res = M.bss_eval_images(r, e, **kwargs)
        got = {"sdr": res.sdr, "isr": res.isr, "sir": res.sir, "sar": res.sar}
    for m in wanted:
        values = got[m] if frame_seconds is None else _frame_median(got[m])
        out[m][keep] = values
    return out


def _score(refs, ests, metrics, frame_seconds, sr, track_name, names) -> dict:
    """``{metric: (n_src,) float64 array}`` in the order of ``metrics``."""
    from . import metrics as M

    refs = refs.astype(np.float64, copy=False)
    ests = ests.astype(np.float64, copy=False)
    scores = _bss_scores(refs, ests, metrics, frame_seconds, sr, track_name, names)
    flat_r = refs.reshape(refs.shape[0], -1)
    flat_e = ests.reshape(ests.shape[0], -1)
    for m in metrics:
        if m in ("si_sdr", "sd_sdr", "snr"):
            scores[m] = np.asarray(getattr(M, m)(flat_r, flat_e), dtype=np.float64)
    return {m: scores[m] for m in metrics if m in scores}


def _as_channels(x: np.ndarray) -> np.ndarray:
    return x[None, :] if x.ndim == 1 else x


# ----------------------------------------------------------------------------------------
# public functions


def evaluate(separator, dataset, metrics=("sdr", "sir", "sar", "si_sdr"), stem_map=None, *,
             frame_seconds=None, progress=True, medians=True, as_frame=False):
    r"""Score one or more separators on every track of a dataset.

    Tracks are read, separated and scored one at a time (memory bounded by one track), and
    a line per track and separator is written to ``progress`` (stderr by default).

    Parameters
    ----------
    separator : Separator, str, or sequence of them
        A separator instance, a registered name (``"hpss"``: default parameters), or several
        (each track is then read once and given to every separator).  Oracle separators
        (``tags.needs_references``) get the track's stems as ``references=``: the stems named in
        ``stem_map``'s values, or every stem of the track; these should sum to the mixture.
    dataset : iterable of Track, or path
        A :class:`~dsp_separate.datasets.FolderDataset`, a
        :class:`~dsp_separate.datasets.ManifestDataset`, any iterable of
        :class:`~dsp_separate.datasets.Track` (e.g. a list of some tracks), or a path given
        to :func:`~dsp_separate.datasets.open_dataset`.
    metrics : sequence of str, default ("sdr", "sir", "sar", "si_sdr")
        Any of :data:`METRICS` (see the module docstring).  ``"isr"`` exists for
        multichannel tracks only (mono tracks get no ISR rows).
    stem_map : dict, optional
        ``{separator source name: dataset stem name}``, e.g. ``{"percussive": "drums"}``;
        only these pairs are scored.  Default: every source whose name is also a stem.
        Oracle separators ignore the keys and are scored on the stems in the values.
    frame_seconds : float, optional
        Frame length in seconds for framewise BSS Eval (frames do not overlap; rounded to
        a whole number of samples); each track's figure is then the median over its frames
        (``frame_seconds=1.0``: the SiSEC 2018 convention).  Default: whole-signal BSS Eval.
    progress : bool or text stream, default True
        Where to write one line per track and separator (``True``: stderr, ``False``:
        nowhere).
    medians : bool, default True
        Append one median row per method, source and metric, with ``track`` set to
        :data:`MEDIAN` (``"(median)"``): the median over the tracks, NaN ignored.
    as_frame : bool, default False
        Return a :class:`pandas.DataFrame` with the columns :data:`FIELDS` (True; needs
        pandas) instead of a list of dicts (False), as scikit-learn's ``as_frame``.  The
        type returned never depends on what happens to be installed.

    Returns
    -------
    table : list of dict or pandas.DataFrame
        One record per track, source and metric, with the fields :data:`FIELDS`:
        ``method`` (the separator's ``name``, or its ``repr`` when two share a name),
        ``track``, ``source`` (the dataset stem), ``metric``, ``value`` (dB, float; NaN
        where a figure is undefined, e.g. a silent reference), then the median rows.

    Raises
    ------
    ParameterError
        Unknown metric, a ``stem_map`` naming a source or stem that does not exist, or no
        source shared with the stems; ``as_frame=True`` without pandas (checked before any
        track is read).
    AudioFileError
        A track's files are missing or disagree in length, sampling rate or channels.

    Notes
    -----
    Scores are in dB.  For a source image :math:`s` (all channels) and its estimate
    :math:`\hat s`, ``si_sdr`` is :math:`10\log_{10}(\lVert\alpha s\rVert^2 /
    \lVert\hat s - \alpha s\rVert^2)` with :math:`\alpha = \langle\hat s, s\rangle /
    \lVert s\rVert^2`; the BSS Eval figures are defined in
    :func:`dsp_separate.metrics.bss_eval_images`.  BSS Eval solves a block-Toeplitz system of
    size ``n_sources * n_channels * 512`` per track, usually the largest cost here.

    References
    ----------
    .. [1] E. Vincent, R. Gribonval and C. Févotte, "Performance measurement in blind
       audio source separation", IEEE Trans. ASLP 14(4), 2006.
    .. [2] F.-R. Stöter, A. Liutkus and N. Ito, "The 2018 Signal Separation Evaluation
       Campaign", Proc. LVA/ICA, 2018.

    Examples
    --------
    A dataset of two short tracks (a tone plus clicks), scored with HPSS and the ideal
    ratio mask:

    >>> import numpy as np, tempfile, pathlib
    >>> import dsp_separate as ds
    >>> from dsp_separate.datasets import FolderDataset
    >>> from dsp_separate.evaluation import evaluate, median_table
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> sr = 8000
    >>> t = np.arange(sr) / sr
    >>> for i, f0 in enumerate([440.0, 660.0]):
    ...     (root / f"track{i}").mkdir()
    ...     tone = 0.3 * np.sin(2 * np.pi * f0 * t)
    ...     clicks = np.zeros(sr); clicks[::sr // 8] = 0.8
    ...     stems = {"harmonic": tone, "percussive": clicks}
    ...     for name, x in stems.items():
    ...         ds.save(root / f"track{i}" / f"{name}.wav", x[None], sr, subtype="FLOAT")
    ...     ds.save(root / f"track{i}" / "mixture.wav", (tone + clicks)[None], sr,
    ...             subtype="FLOAT")
    >>> table = evaluate([ds.HPSS(kernel_size=17), "irm"], FolderDataset(root),
    ...                  metrics=["si_sdr"], progress=False)
    >>> table[0]["method"], table[0]["track"], table[0]["source"], table[0]["metric"]
    ('hpss', 'track0', 'harmonic', 'si_sdr')
    >>> med = {(r["method"], r["source"]): r["value"] for r in table if r["track"] == "(median)"}
    >>> bool(med["irm", "harmonic"] > med["hpss", "harmonic"] > 10)
    True
    """
    seps = _separators(separator)
    metrics = _check_metrics(metrics)
    stem_map = _check_stem_map(stem_map)
    if frame_seconds is not None:
        frame_seconds = check_positive_float(frame_seconds, "frame_seconds")
    stream = _progress_stream(progress)
    medians = check_bool(medians, "medians")
    if isinstance(dataset, (str, os.PathLike)):
        from .datasets import open_dataset

        dataset = open_dataset(dataset)
    as_frame = check_bool(as_frame, "as_frame")
    pd = _pandas() if as_frame else None  # before any work
    try:
        n_tracks = len(dataset)
    except TypeError:
        n_tracks = None

    records = []
    for i, track in enumerate(dataset, start=1):
        t0 = time.perf_counter()
        _check_stems_exist(stem_map, track.stem_names, track.name)
        mixture, stems, sr = track.load()
        t_load = time.perf_counter() - t0
        for label, sep in seps:
            t1 = time.perf_counter()
            if sep.tags.needs_references:
                chosen = list(stem_map.values()) if stem_map is not None else list(stems)
                result = sep.separate(mixture, sr, references={s: stems[s] for s in chosen})
            else:
                result = sep.separate(mixture, sr)
            t2 = time.perf_counter()
            pairs = _pairs(label, sep, result.names, tuple(stems), stem_map, track.name)
            refs = np.stack([_as_channels(stems[s]) for _, s in pairs])
            ests = np.stack([_as_channels(result[e]) for e, _ in pairs])
            del result
            names = [s for _, s in pairs]
            scores = _score(refs, ests, metrics, frame_seconds, sr, track.name, names)
            t3 = time.perf_counter()
            for j, stem in enumerate(names):
                for m, values in scores.items():
                    records.append(dict(method=label, track=track.name, source=stem,
                                        metric=m, value=float(values[j])))
            if stream is not None:
                first = next(iter(scores))
                summary = ", ".join(f"{s} {scores[first][j]:.2f}" for j, s in enumerate(names))
                count = f"{i}/{n_tracks}" if n_tracks is not None else f"{i}"
                stream.write(
                    f"[{count}] {track.name} {label}: {first} {summary} "
                    f"(load {t_load:.1f} s, separate {t2 - t1:.1f} s, score {t3 - t2:.1f} s)\n"
                )
                stream.flush()
        del mixture, stems
    if medians:
        records.extend(_median_rows(records))
    if pd is None:
        return records
    return pd.DataFrame(records, columns=list(FIELDS))


def _pandas():
    """The pandas module, or a ParameterError saying that ``as_frame=True`` needs it."""
    try:
        import pandas
    except ImportError:
        raise ParameterError("as_frame=True: needs pandas, which is not installed (pip "
                             "install pandas), or pass as_frame=False for a list of "
                             "dicts") from None
    return pandas


def _records(table) -> list:
    """A list of dicts from a list of dicts or a DataFrame."""
    if hasattr(table, "to_dict") and hasattr(table, "columns"):
        table = table.to_dict("records")
    if not isinstance(table, (list, tuple)):
        raise ParameterError(f"records={describe(table)}: must be evaluate()'s table (a list "
                             "of dicts or a DataFrame)")
    for r in table:
        if not isinstance(r, Mapping) or not all(f in r for f in FIELDS):
            raise ParameterError(f"records: every record needs the fields {', '.join(FIELDS)}")
    return list(table)


def _median_rows(records) -> list:
    groups = {}
    for r in records:
        if r["track"] == MEDIAN:
            continue
        groups.setdefault((r["method"], r["source"], r["metric"]), []).append(r["value"])
    return [dict(method=m, track=MEDIAN, source=s, metric=k, value=_median(v))
            for (m, s, k), v in groups.items()]


def medians(records):
    """The median rows of an evaluation table, recomputed from its per-track rows.

    Parameters
    ----------
    records : list of dict or pandas.DataFrame
        A table from :func:`evaluate` (median rows in it are ignored).

    Returns
    -------
    list of dict
        One record per method, source and metric with ``track == MEDIAN``; the median over
        the tracks, NaN values ignored (NaN when every value is NaN).

    Examples
    --------
    >>> from dsp_separate.evaluation import medians
    >>> rows = [dict(method="m", track=t, source="a", metric="sdr", value=v)
    ...         for t, v in [("x", 1.0), ("y", 5.0), ("z", float("nan")), ("w", 4.0)]]
    >>> medians(rows)[0]["value"]
    4.0
    """
    return _median_rows(_records(records))


def median_table(records, *, digits: int = 2) -> str:
    """Text table of the medians: one row per (method and) source, one column per metric.

    Parameters
    ----------
    records : list of dict or pandas.DataFrame
        A table from :func:`evaluate`; medians are recomputed from the per-track rows.
    digits : int, default 2
        Decimals shown.

    Returns
    -------
    str
        A header line saying over how many tracks, then an aligned table; the ``method``
        column appears when the table holds more than one method.

    Examples
    --------
    >>> from dsp_separate.evaluation import median_table
    >>> rows = [dict(method="hpss", track=t, source=s, metric=m, value=v)
    ...         for t, s, m, v in [("a", "harmonic", "sdr", 7.0), ("b", "harmonic", "sdr", 9.0),
    ...                            ("a", "harmonic", "sir", 20.0), ("b", "harmonic", "sir", 22.0)]]
    >>> print(median_table(rows))
    median over 2 tracks
    source     sdr    sir
    harmonic  8.00  21.00
    """
    rows = _records(records)
    per_track = [r for r in rows if r["track"] != MEDIAN]
    if not per_track:
        return "no results"
    n_tracks = len({r["track"] for r in per_track})
    meds = _median_rows(per_track)
    methods = list(dict.fromkeys(r["method"] for r in meds))
    metric_cols = list(dict.fromkeys(r["metric"] for r in meds))
    keys = list(dict.fromkeys((r["method"], r["source"]) for r in meds))
    keys.sort(key=lambda k: methods.index(k[0]))  # stable: sources keep their order
    value = {(r["method"], r["source"], r["metric"]): r["value"] for r in meds}
    show_method = len(methods) > 1
    header = (["method"] if show_method else []) + ["source"] + metric_cols
    body = []
    for method, source in keys:
        cells = [method] if show_method else []
        cells.append(source)
        for m in metric_cols:
            v = value.get((method, source, m))
            cells.append("" if v is None else ("nan" if math.isnan(v) else f"{v:.{digits}f}"))
        body.append(cells)
    n_text = len(header) - len(metric_cols)
    widths = [max(len(str(row[c])) for row in [header] + body) for c in range(len(header))]
    lines = [f"median over {n_tracks} track{'s' if n_tracks != 1 else ''}"]
    for row in [header] + body:
        parts = [str(cell).ljust(widths[c]) if c < n_text else str(cell).rjust(widths[c])
                 for c, cell in enumerate(row)]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def to_csv(records, path) -> None:
    """Write an evaluation table to a CSV file (columns :data:`FIELDS`), without pandas.

    Parameters
    ----------
    records : list of dict or pandas.DataFrame
        A table from :func:`evaluate`.
    path : str or os.PathLike
        Target file (replaced if it exists).

    Examples
    --------
    >>> import os, tempfile
    >>> from dsp_separate.evaluation import to_csv
    >>> path = os.path.join(tempfile.mkdtemp(), "results.csv")
    >>> to_csv([dict(method="hpss", track="a", source="harmonic", metric="sdr", value=7.5)],
    ...        path)
    >>> print(open(path).read().strip())
    method,track,source,metric,value
    hpss,a,harmonic,sdr,7.5
    """
    rows = _records(records)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(FIELDS), extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: r[k] for k in FIELDS})
