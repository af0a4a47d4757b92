r"""Plots for teaching and checking separations (matplotlib, the ``plot`` extra).

matplotlib is imported inside the functions, on first use: ``import dsp_separate`` never
imports it, and without it each function raises an ``ImportError`` that says
``pip install "dsp_separate[plot]"``.

Every function draws on the ``ax=`` it is given (or on a new figure) and returns the
matplotlib ``Axes``; the functions that draw several panels (:func:`separation`,
:func:`nmf`) take ``axes=`` / ``fig=`` and return the ``Figure``.  Time axes are in seconds,
frequency axes in Hz; STFT frame ``t`` is centred on sample ``t * hop_length`` (the package's
``center=True`` convention), so it is drawn centred on ``t * hop_length / sr`` seconds.

=========================== =========================================================
:func:`spectrogram`         an STFT magnitude in dB (linear or log frequency)
:func:`mask`                a time-frequency mask in [0, 1]
:func:`separation`          mixture and sources, their masks, the true sources
:func:`beat_spectrum`       REPET's beat spectrum with the period and its multiples
:func:`similarity_matrix`   REPET-SIM's frame-by-frame cosine similarity
:func:`templates`           NMF templates :math:`W` (one spectrum per column)
:func:`activations`         NMF activations :math:`H` (one row per template)
:func:`nmf`                 both, side by side
:func:`duet_histogram`      DUET's attenuation-delay histogram with its peaks
:func:`objective`           an objective (cost) per iteration
:func:`gain_over_time`      a denoiser's gain per frame, in dB
=========================== =========================================================

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import dsp_separate as ds
>>> y, sr = ds.example("hpss")
>>> result = ds.HPSS().separate(y, sr, keep="masks")
>>> fig = ds.plot.separation(result)
>>> [ax.get_title() for ax in fig.axes]    # then the cell holding the colour bars
['mixture', 'harmonic', 'percussive', 'harmonic mask', 'percussive mask', '']
"""

from __future__ import annotations

import numpy as np

from ._validation import check_bool, check_positive_float, check_sr, describe
from .exceptions import ParameterError

__all__ = [
    "spectrogram", "mask", "separation", "beat_spectrum", "similarity_matrix", "templates",
    "activations", "nmf", "duet_histogram", "objective", "gain_over_time",
]

_DB_FLOOR = 1e-10


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
        raise ImportError(
            "dsp_separate.plot needs matplotlib, which is not installed: "
            'pip install "dsp_separate[plot]"  (or: pip install matplotlib)'
        ) from exc
    return plt


def _new_axes(ax, figsize):
    if ax is None:
        fig, ax = _pyplot().subplots(figsize=figsize, layout="constrained")
        return ax
    _pyplot()
    if not hasattr(ax, "imshow"):
        raise ParameterError(f"ax={describe(ax)}: must be a matplotlib Axes")
    return ax


def _stft_of(stft):
    from ._stft import STFT

    if stft is None:
        return STFT()
    if isinstance(stft, dict):
        return STFT(**stft)
    if not isinstance(stft, STFT):
        raise ParameterError(f"stft={describe(stft)}: must be an STFT, a dict of its "
                             "parameters, or None")
    return stft


def _to_db(mag, ref, db_range):
    ref = float(np.max(mag)) if ref is None else float(ref)
    ref = max(ref, _DB_FLOOR)
    D = 20.0 * np.log10(np.maximum(mag, _DB_FLOOR) / ref)
    return np.maximum(D, -float(db_range)), ref


def _frame_edges(n_frames, hop, sr):
    return (np.arange(n_frames + 1) - 0.5) * hop / sr


def _freq_edges(n_freq, n_fft, sr):
    df = sr / n_fft
    return np.clip((np.arange(n_freq + 1) - 0.5) * df, 0.0, sr / 2)


def _draw_tf(ax, img, sr, n_fft, hop, *, log_freq, cmap, vmin, vmax, min_freq=20.0):
    """Draw a (n_freq, n_frames) image with time in s and frequency in Hz; return the artist."""
    n_freq, n_frames = img.shape
    t = _frame_edges(n_frames, hop, sr)
    f = _freq_edges(n_freq, n_fft, sr)
    if log_freq:
        # drop the bins below min_freq (the 0 Hz bin has no place on a log axis)
        first = max(1, int(np.searchsorted(f, min_freq, side="right")) - 1)
        f_log = f[first:].copy()
        f_log[0] = max(f_log[0], min_freq)
        artist = ax.pcolormesh(t, f_log, img[first:], cmap=cmap, vmin=vmin, vmax=vmax,
                               shading="flat", rasterized=True)
        ax.set_yscale("log")
        ax.set_ylim(f_log[0], f_log[-1])
    else:
        artist = ax.imshow(img, origin="lower", aspect="auto", cmap=cmap, vmin=vmin,
                           vmax=vmax, extent=(t[0], t[-1], f[0], f[-1]),
                           interpolation="nearest")
    ax.set_xlim(t[0], t[-1])
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)")
    return artist


def _tf_matrix(a, name, channel):
    """(..., n_freq, n_frames) -> (n_freq, n_frames): one channel, or the mean power."""
    a = np.asarray(a)
    if a.ndim < 2 or a.shape[-1] < 1 or a.shape[-2] < 2:
        raise ParameterError(f"{name}={describe(a)}: must have shape (..., n_freq, n_frames)")
    if a.ndim == 2:
        return np.abs(a)
    flat = np.abs(a).reshape((-1,) + a.shape[-2:])
    if channel is None:
        return np.sqrt(np.mean(flat.astype(np.float64) ** 2, axis=0))
    if not isinstance(channel, (int, np.integer)) or not 0 <= channel < flat.shape[0]:
        raise ParameterError(f"channel={channel!r}: must be None or an int in "
                             f"[0, {flat.shape[0]})")
    return flat[int(channel)]


def _magnitude(y, sr, stft, S, channel):
    """Audio or a given STFT/magnitude -> (n_freq, n_frames) magnitude."""
    if (y is None) == (S is None):
        raise ParameterError("y, S: give exactly one (audio y, or a spectrogram S)")
    if S is not None:
        S = np.asarray(S)
        if S.shape[-2] != stft.n_freq:
            raise ParameterError(f"S={describe(S)}: has {S.shape[-2] if S.ndim > 1 else 0} "
                                 f"frequency bins, the stft ({stft!r}) makes {stft.n_freq}")
        return _tf_matrix(S, "S", channel)
    from ._validation import check_audio

    y = check_audio(y)
    return _tf_matrix(stft.forward(y), "y", channel)


def spectrogram(y=None, sr=22050, *, S=None, stft=None, ax=None, log_freq=False,
                db_range=80.0, ref=None, channel=None, cmap="magma", colorbar=True,
                title=None):
    r"""Draw a magnitude spectrogram in dB, time in seconds, frequency in Hz.

    .. math:: D(f, t) = \max\left(20 \log_{10} \frac{|X(f, t)|}{\mathrm{ref}},\;
              -\mathrm{db\_range}\right)

    Parameters
    ----------
    y : ndarray, shape (..., n_samples), optional
        Audio; its STFT is computed with ``stft``.  Give ``y`` or ``S``.
    sr : int, default 22050
        Sampling rate in Hz.
    S : ndarray, shape (..., n_freq, n_frames), optional
        An STFT (complex) or a magnitude spectrogram made with ``stft``'s parameters.
    stft : STFT or dict, optional
        The transform (default ``STFT()``: ``n_fft=2048``, ``hop_length=512``); it sets the
        axes' scales.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.
    log_freq : bool, default False
        Logarithmic frequency axis (bins below 20 Hz are left out).
    db_range : float, default 80.0
        Dynamic range shown, in dB below ``ref``.
    ref : float, optional
        Magnitude drawn as 0 dB; default the maximum of ``|X|``.
    channel : int, optional
        For multichannel input, the channel to draw; default the RMS over channels.
    cmap : str, default "magma"
    colorbar : bool, default True
        Add a colour bar (in dB) beside the axes.
    title : str, optional

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on; the image is ``ax.images[0]`` (``ax.collections[0]`` with
        ``log_freq=True``).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> sr = 8000
    >>> y = np.sin(2 * np.pi * 440 * np.arange(sr) / sr).astype(np.float32)
    >>> ax = ds.plot.spectrogram(y, sr, stft=ds.STFT(n_fft=512, hop_length=128))
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('time (s)', 'frequency (Hz)')
    """
    sr = check_sr(sr)
    stft = _stft_of(stft)
    log_freq = check_bool(log_freq, "log_freq")
    colorbar = check_bool(colorbar, "colorbar")
    db_range = check_positive_float(db_range, "db_range")
    if ref is not None:
        ref = check_positive_float(ref, "ref")
    mag = _magnitude(y, sr, stft, S, channel)
    D, _ = _to_db(mag, ref, db_range)
    ax = _new_axes(ax, (8, 4))
    artist = _draw_tf(ax, D, sr, stft.n_fft, stft.hop_length, log_freq=log_freq, cmap=cmap,
                      vmin=-db_range if ref is None else float(np.min(D)),
                      vmax=0.0 if ref is None else max(0.0, float(np.max(D))))
    if colorbar:
        ax.figure.colorbar(artist, ax=ax, label="dB", format="%+.0f")
    if title is not None:
        ax.set_title(title)
    return ax


def mask(M, sr=22050, *, stft=None, ax=None, log_freq=False, channel=None, cmap="gray_r",
         colorbar=True, title=None):
    """Draw a time-frequency mask (values in [0, 1]; black = 1 with the default colours).

    Parameters
    ----------
    M : ndarray, shape (..., n_freq, n_frames)
        The mask, e.g. ``result.masks["harmonic"]`` (separate with ``keep="masks"``).
    sr : int, default 22050
        Sampling rate in Hz.
    stft : STFT or dict, optional
        The transform that made the mask (sets the axes' scales); default ``STFT()``.
    ax : matplotlib Axes, optional
    log_freq : bool, default False
    channel : int, optional
        For multichannel masks, the channel; default the mean over channels.
    cmap : str, default "gray_r"
    colorbar : bool, default True
    title : str, optional

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> M = np.random.default_rng(0).random((257, 40))
    >>> ax = ds.plot.mask(M, 8000, stft=ds.STFT(n_fft=512, hop_length=128), title="random")
    >>> ax.images[0].get_clim()
    (0.0, 1.0)
    """
    sr = check_sr(sr)
    stft = _stft_of(stft)
    M = np.asarray(M)
    if not np.issubdtype(M.dtype, np.number) or np.iscomplexobj(M):
        raise ParameterError(f"M={describe(M)}: must be a real array")
    if M.ndim >= 2 and M.shape[-2] != stft.n_freq:
        raise ParameterError(f"M={describe(M)}: has {M.shape[-2]} frequency bins, the stft "
                             f"({stft!r}) makes {stft.n_freq}")
    if not np.isfinite(M).all():
        raise ParameterError(f"M={describe(M)}: must be finite (a NaN would draw as a blank "
                             "cell)")
    if M.ndim > 2 and channel is None:
        M = np.asarray(M, dtype=np.float64).reshape((-1,) + M.shape[-2:]).mean(axis=0)
    img = _tf_matrix(M, "M", channel)
    ax = _new_axes(ax, (8, 4))
    artist = _draw_tf(ax, img, sr, stft.n_fft, stft.hop_length,
                      log_freq=check_bool(log_freq, "log_freq"), cmap=cmap, vmin=0.0,
                      vmax=1.0)
    if check_bool(colorbar, "colorbar"):
        ax.figure.colorbar(artist, ax=ax, label="mask")
    if title is not None:
        ax.set_title(title)
    return ax


def separation(result, *, mixture=None, masks="auto", references=None, log_freq=False,
               db_range=80.0, channel=None, colorbar=True, fig=None):
    """Draw a separation: the mixture and each source, their masks, and the true sources.

    One column for the mixture and one per source.  Row 1: spectrograms in dB, all on the
    mixture's scale (0 dB = the mixture's largest magnitude), so a source that is quieter
    looks quieter.  Row 2 (when masks are drawn): each source's mask.  Row 3 (with
    ``references``): each true source's spectrogram, titled with the estimate's SI-SDR.

    Parameters
    ----------
    result : Separation
        What a separator's :meth:`~dsp_separate.Separator.separate` returned.
    mixture : ndarray, shape (..., n_samples), optional
        The mixture; default the sum of the sources (equal to the mixture for the methods
        that split it, when all sources are kept).
    masks : {"auto", True, False}, default "auto"
        Draw the masks row: ``"auto"`` when the result holds masks (separate with
        ``keep="masks"``); ``True`` requires them.
    references : dict of str to ndarray, optional
        True sources by name (same shape as the estimates); those named like a source are
        drawn in a third row, the others are left out with a warning (none named like a
        source: ``ParameterError``).
    log_freq : bool, default False
    db_range : float, default 80.0
    channel : int, optional
        For multichannel results, the channel to draw; default the RMS over channels.
    colorbar : bool, default True
        Colour bars for the dB scale and the masks, in the empty cells below the mixture
        (beside the row when there is only one row).
    fig : matplotlib Figure, optional
        Draw into this (empty) figure; default a new one.

    Returns
    -------
    fig : matplotlib Figure
        Its axes: first the panels, row by row (mixture and sources, then masks, then
        references; cells with nothing to draw are left out), then the colour bars (with
        more than one row: the empty cell that holds them, then one bar per scale).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import dsp_separate as ds
    >>> y, stems, sr = ds.example("hpss", stems=True)
    >>> result = ds.HPSS().separate(y, sr)
    >>> fig = ds.plot.separation(result, references=stems)
    >>> [ax.get_title() for ax in fig.axes][:3]
    ['mixture', 'harmonic', 'percussive']
    """
    from .metrics import si_sdr
    from .result import Separation

    if not isinstance(result, Separation):
        raise ParameterError(f"result={describe(result)}: must be a Separation")
    if masks not in ("auto", True, False):
        raise ParameterError(f"masks={masks!r}: must be 'auto', True or False")
    if masks is True and result.masks is None:
        raise ParameterError("masks=True: this Separation holds no masks; separate with "
                             "keep='masks' (filter methods and Wiener refinement have none)")
    show_masks = result.masks is not None and masks is not False
    if references is not None and not isinstance(references, dict):
        raise ParameterError(f"references={describe(references)}: must be a dict "
                             "{source name: true source}")
    db_range = check_positive_float(db_range, "db_range")
    log_freq = check_bool(log_freq, "log_freq")
    colorbar = check_bool(colorbar, "colorbar")
    names = result.names
    first = result[names[0]]
    if mixture is None:
        mixture = np.sum([np.asarray(result[n], dtype=np.float64) for n in names], axis=0)
    else:
        mixture = np.asarray(mixture)
        if mixture.shape != first.shape:
            raise ParameterError(f"mixture={describe(mixture)}: must have the sources' shape "
                                 f"{first.shape}")
    refs = {}
    if references and not any(name in result for name in references):
        # e.g. the stems of ds.example("mc_anechoic") are src0, src1, src2 and a blind
        # separator's sources are source_0, ...: nothing would be drawn, silently
        raise ParameterError(f"references={{{', '.join(map(repr, references))}}}: no key "
                             f"names a source of this separation ({', '.join(result.names)}); "
                             "rename them (for a blind method, in the order that matches)")
    unknown = [name for name in references or {} if name not in result]
    if unknown:
        import warnings

        warnings.warn(f"references: {', '.join(map(repr, unknown))} name no source of this "
                      f"separation ({', '.join(result.names)}); not drawn", stacklevel=2)
    for name, ref in (references or {}).items():
        if name in result:
            ref = np.asarray(ref)
            if ref.shape != first.shape:
                raise ParameterError(f"references[{name!r}]={describe(ref)}: must have the "
                                     f"sources' shape {first.shape}")
            refs[name] = ref
    stft = result.stft
    sr = result.sr
    mix_mag = _tf_matrix(stft.forward(mixture.astype(np.float32)), "mixture", channel)
    D_mix, ref = _to_db(mix_mag, None, db_range)

    n_rows = 1 + show_masks + bool(refs)
    n_cols = 1 + len(names)
    plt = _pyplot()
    if fig is None:
        fig = plt.figure(figsize=(3.2 * n_cols, 2.6 * n_rows), layout="constrained")
    grid = fig.add_gridspec(n_rows, n_cols)
    hop, n_fft = stft.hop_length, stft.n_fft

    def panel(row, col, sharex=None):
        return fig.add_subplot(grid[row, col], sharex=sharex, sharey=sharex)

    cells = {}

    def tf(ax, img, title, row, col, **kw):
        _draw_tf(ax, img, sr, n_fft, hop, log_freq=log_freq, **kw)
        ax.set_title(title, fontsize="medium")
        cells[row, col] = ax

    ax0 = panel(0, 0)
    tf(ax0, D_mix, "mixture", 0, 0, cmap="magma", vmin=-db_range, vmax=0.0)
    for j, name in enumerate(names, start=1):
        D, _ = _to_db(_tf_matrix(result.stfts[name], name, channel), ref, db_range)
        tf(panel(0, j, ax0), D, name, 0, j, cmap="magma", vmin=-db_range, vmax=0.0)
    row = 1
    if show_masks:
        for j, name in enumerate(names, start=1):
            if name not in result.masks:
                continue
            M = np.asarray(result.masks[name], dtype=np.float64)
            if M.ndim > 2 and channel is None:
                M = M.reshape((-1,) + M.shape[-2:]).mean(axis=0)
            tf(panel(row, j, ax0), _tf_matrix(M, "mask", channel), f"{name} mask", row, j,
               cmap="gray_r", vmin=0.0, vmax=1.0)
        row += 1
    if refs:
        for j, name in enumerate(names, start=1):
            if name not in refs:
                continue
            true = refs[name]
            D, _ = _to_db(_tf_matrix(stft.forward(true.astype(np.float32)), name, channel),
                          ref, db_range)
            score = float(np.mean(si_sdr(true.astype(np.float64),
                                         np.asarray(result[name], dtype=np.float64))))
            tf(panel(row, j, ax0), D, f"true {name} (SI-SDR {score:.1f} dB)", row, j,
               cmap="magma", vmin=-db_range, vmax=0.0)
    if colorbar:
        spec = next(iter(cells.values())).images or next(iter(cells.values())).collections
        mask_ax = next((ax for (r, c), ax in cells.items() if show_masks and r == 1), None)
        if n_rows == 1:
            fig.colorbar(spec[0], ax=list(cells.values()), label="dB", format="%+.0f",
                         shrink=0.9)
        else:
            # the mixture column is empty below the mixture: the colour bars go there
            key = fig.add_subplot(grid[1:, 0])
            key.set_axis_off()
            bars = [(spec[0], "dB (0 = the mixture's peak)")]
            if mask_ax is not None:
                bars.append(((mask_ax.images or mask_ax.collections)[0],
                             "mask (1 = all of the bin)"))
            for k, (artist, label) in enumerate(bars):
                cax = key.inset_axes([0.12, 0.7 - 0.45 * k, 0.76, 0.07])
                fig.colorbar(artist, cax=cax, orientation="horizontal", label=label)
    # axis labels only on the lowest panel of each column and the first panel of each row
    for (r, c), ax in cells.items():
        if any((r2, c) in cells for r2 in range(r + 1, n_rows)):
            ax.tick_params(labelbottom=False)
            ax.set_xlabel("")
        if any((r, c2) in cells for c2 in range(c)):
            ax.tick_params(labelleft=False)
            ax.set_ylabel("")
    return fig


def beat_spectrum(b, sr=None, *, hop_length=512, period=None, ax=None, n_multiples=None,
                  title=None):
    r"""Draw REPET's beat spectrum, with the repeating period and its multiples.

    Parameters
    ----------
    b : ndarray, shape (n_lags,) or (n_channels, n_lags)
        :func:`dsp_separate.beat_spectrum` (several channels are averaged, as REPET does for
        a shared period).
    sr : int, optional
        Sampling rate; with it the lag axis is in seconds (``lag * hop_length / sr``),
        without it in frames.
    hop_length : int, default 512
        The STFT hop the beat spectrum was computed with.
    period : int, optional
        The repeating period in frames (:func:`dsp_separate.repeating_period`): a solid
        vertical line at the period and dashed ones at its multiples.
    ax : matplotlib Axes, optional
    n_multiples : int, optional
        How many multiples of the period to mark; default all within the lags shown.
    title : str, optional

    Returns
    -------
    ax : matplotlib Axes
        ``ax.lines[0]`` is the beat spectrum, then one line per period mark.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> S = np.tile(np.random.default_rng(0).random((32, 10)), 6)   # repeats every 10 frames
    >>> b = ds.beat_spectrum(S)
    >>> ax = ds.plot.beat_spectrum(b, period=ds.repeating_period(b))
    >>> len(ax.lines)    # the curve, the period, its multiples 20 30 40 50
    6
    """
    b = np.asarray(b, dtype=np.float64)
    if b.ndim == 2:
        b = b.mean(axis=0)
    if b.ndim != 1 or b.size < 2:
        raise ParameterError(f"b={describe(b)}: must have shape (n_lags,) or "
                             "(n_channels, n_lags), n_lags >= 2")
    from ._validation import check_positive_int

    hop_length = check_positive_int(hop_length, "hop_length")
    scale = 1.0 if sr is None else hop_length / check_sr(sr)
    lags = np.arange(b.size) * scale
    ax = _new_axes(ax, (8, 3))
    ax.plot(lags, b, color="C0", lw=1.2, label="beat spectrum")
    if period is not None:
        if not isinstance(period, (int, np.integer)) or not 0 < period < b.size:
            raise ParameterError(f"period={period!r}: must be an int in [1, {b.size})")
        k_max = (b.size - 1) // int(period)
        if n_multiples is not None:
            k_max = min(k_max, check_positive_int(n_multiples, "n_multiples"))
        unit = "s" if sr is not None else "frames"
        value = f"{period * scale:.3g} {unit}" if sr is not None else f"{period} frames"
        ax.axvline(period * scale, color="C3", lw=1.5, label=f"period {value}")
        for k in range(2, k_max + 1):
            ax.axvline(k * period * scale, color="C3", lw=1.0, ls="--", alpha=0.6)
        ax.legend(loc="upper right")
    ax.set_xlim(lags[0], lags[-1])
    ax.set_xlabel("lag (s)" if sr is not None else "lag (frames)")
    ax.set_ylabel("beat spectrum")
    if title is not None:
        ax.set_title(title)
    return ax


def similarity_matrix(C, sr=None, *, hop_length=512, ax=None, cmap="viridis",
                      colorbar=True, title=None):
    """Draw a frame-by-frame similarity matrix (REPET-SIM), both axes in time.

    Parameters
    ----------
    C : ndarray, shape (n_frames, n_frames)
        :func:`dsp_separate.similarity_matrix` (values in [0, 1]).
    sr : int, optional
        With it, the axes are in seconds; without it, in frames.
    hop_length : int, default 512
    ax : matplotlib Axes, optional
    cmap : str, default "viridis"
    colorbar : bool, default True
    title : str, optional

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> S = np.tile(np.random.default_rng(0).random((32, 10)), 4)
    >>> ax = ds.plot.similarity_matrix(ds.similarity_matrix(S), 8000, hop_length=128)
    >>> ax.images[0].get_array().shape
    (40, 40)
    """
    from ._validation import check_positive_int

    C = np.asarray(C)
    if C.ndim != 2 or C.shape[0] != C.shape[1] or C.shape[0] < 1:
        raise ParameterError(f"C={describe(C)}: must be square, (n_frames, n_frames)")
    hop_length = check_positive_int(hop_length, "hop_length")
    scale = 1.0 if sr is None else hop_length / check_sr(sr)
    edges = (np.array([0, C.shape[0]]) - 0.5) * scale
    ax = _new_axes(ax, (5, 4.5))
    image = ax.imshow(C, origin="lower", cmap=cmap, vmin=0.0, vmax=1.0, aspect="equal",
                      extent=(edges[0], edges[1], edges[0], edges[1]), interpolation="nearest")
    unit = "time (s)" if sr is not None else "frame"
    ax.set_xlabel(unit)
    ax.set_ylabel(unit)
    if check_bool(colorbar, "colorbar"):
        ax.figure.colorbar(image, ax=ax, label="cosine similarity")
    if title is not None:
        ax.set_title(title)
    return ax


def _check_nonneg_2d(a, name):
    a = np.asarray(a)
    if a.ndim != 2 or min(a.shape) < 1 or not np.issubdtype(a.dtype, np.number) \
            or np.iscomplexobj(a):
        raise ParameterError(f"{name}={describe(a)}: must be a real 2-D array "
                             "(pick one channel of a batch)")
    a = a.astype(np.float64)
    if not np.isfinite(a).all() or (a < 0).any():
        raise ParameterError(f"{name}={describe(a)}: must be finite and non-negative")
    return a


def templates(W, sr=22050, *, n_fft=2048, ax=None, db=True, db_range=60.0, log_freq=False,
              cmap="magma", title="templates W"):
    r"""Draw NMF templates: column :math:`k` of :math:`W` is the spectrum of component k.

    Parameters
    ----------
    W : ndarray, shape (n_freq, n_components)
        Non-negative templates (``W`` of :func:`dsp_separate.nmf`).
    sr : int, default 22050
    n_fft : int, default 2048
        The FFT size of the spectrogram that was factorised (``n_freq = 1 + n_fft // 2``).
    ax : matplotlib Axes, optional
    db : bool, default True
        Draw :math:`20\log_{10}` of each column over its own maximum (shows the partials of
        quiet templates); else linear, each column scaled to a maximum of 1.
    db_range : float, default 60.0
    log_freq : bool, default False
    cmap : str, default "magma"
    title : str, default "templates W"

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> W = np.random.default_rng(0).random((257, 4))
    >>> ax = ds.plot.templates(W, 8000, n_fft=512)
    >>> ax.get_xlabel()
    'component'
    """
    from ._validation import check_positive_int

    W = _check_nonneg_2d(W, "W")
    sr = check_sr(sr)
    n_fft = check_positive_int(n_fft, "n_fft")
    if W.shape[0] != 1 + n_fft // 2:
        raise ParameterError(f"W={describe(W)}: has {W.shape[0]} rows; n_fft={n_fft} makes "
                             f"{1 + n_fft // 2} frequency bins")
    db_range = check_positive_float(db_range, "db_range")
    peak = np.maximum(W.max(axis=0, keepdims=True), _DB_FLOOR)
    if check_bool(db, "db"):
        img = np.maximum(20.0 * np.log10(np.maximum(W, _DB_FLOOR) / peak), -db_range)
        vmin, vmax, label = -db_range, 0.0, "dB (per template)"
    else:
        img, vmin, vmax, label = W / peak, 0.0, 1.0, "per-template scale"
    ax = _new_axes(ax, (4, 4))
    K = W.shape[1]
    f = _freq_edges(W.shape[0], n_fft, sr)
    cols = np.arange(K + 1) - 0.5
    if check_bool(log_freq, "log_freq"):
        first = max(1, int(np.searchsorted(f, 20.0, side="right")) - 1)
        f = f[first:].copy()
        f[0] = max(f[0], 20.0)
        img = img[first:]
        artist = ax.pcolormesh(cols, f, img, cmap=cmap, vmin=vmin, vmax=vmax, shading="flat")
        ax.set_yscale("log")
    else:
        artist = ax.imshow(img, origin="lower", aspect="auto", cmap=cmap, vmin=vmin,
                           vmax=vmax, extent=(cols[0], cols[-1], f[0], f[-1]),
                           interpolation="nearest")
    ax.set_xticks(np.arange(K) if K <= 16 else np.linspace(0, K - 1, 9).round())
    ax.set_xlabel("component")
    ax.set_ylabel("frequency (Hz)")
    ax.figure.colorbar(artist, ax=ax, label=label)
    if title:
        ax.set_title(title)
    return ax


def activations(H, sr=22050, *, hop_length=512, ax=None, db=False, db_range=60.0,
                cmap="magma", title="activations H"):
    r"""Draw NMF activations: row :math:`k` of :math:`H` is when (and how much) template k plays.

    Parameters
    ----------
    H : ndarray, shape (n_components, n_frames)
        Non-negative activations (``H`` of :func:`dsp_separate.nmf`, one channel).
    sr : int, default 22050
    hop_length : int, default 512
    ax : matplotlib Axes, optional
    db : bool, default False
        Draw in dB (over the largest activation) instead of linear (0 to the largest).
    db_range : float, default 60.0
    cmap : str, default "magma"
    title : str, default "activations H"

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> H = np.random.default_rng(0).random((4, 50))
    >>> ax = ds.plot.activations(H, 8000, hop_length=128)
    >>> ax.get_ylabel()
    'component'
    """
    from ._validation import check_positive_int

    H = _check_nonneg_2d(H, "H")
    sr = check_sr(sr)
    hop_length = check_positive_int(hop_length, "hop_length")
    db_range = check_positive_float(db_range, "db_range")
    peak = max(float(H.max()), _DB_FLOOR)
    if check_bool(db, "db"):
        img = np.maximum(20.0 * np.log10(np.maximum(H, _DB_FLOOR) / peak), -db_range)
        vmin, vmax, label = -db_range, 0.0, "dB"
    else:
        img, vmin, vmax, label = H, 0.0, peak, "activation"
    K, n_frames = H.shape
    t = _frame_edges(n_frames, hop_length, sr)
    ax = _new_axes(ax, (8, 3))
    artist = ax.imshow(img, origin="lower", aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax,
                       extent=(t[0], t[-1], -0.5, K - 0.5), interpolation="nearest")
    ax.set_yticks(np.arange(K) if K <= 16 else np.linspace(0, K - 1, 9).round())
    ax.set_xlabel("time (s)")
    ax.set_ylabel("component")
    ax.figure.colorbar(artist, ax=ax, label=label)
    if title:
        ax.set_title(title)
    return ax


def nmf(W, H, sr=22050, *, n_fft=2048, hop_length=512, log_freq=False, fig=None):
    r"""Draw an NMF :math:`V \approx WH`: the templates beside their activations.

    Parameters
    ----------
    W : ndarray, shape (n_freq, n_components)
    H : ndarray, shape (n_components, n_frames)
        One channel of ``H`` (``H[0]`` for a stereo factorisation).
    sr : int, default 22050
    n_fft, hop_length : int, default 2048, 512
        The STFT that made the factorised spectrogram.
    log_freq : bool, default False
    fig : matplotlib Figure, optional
        An empty figure to draw into.

    Returns
    -------
    fig : matplotlib Figure
        Axes: templates, activations, and their two colour bars.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> V = np.random.default_rng(0).random((257, 60))
    >>> W, H, info = ds.nmf(V, 3, max_iter=20, tol=0, random_state=0)
    >>> fig = ds.plot.nmf(W, H, 8000, n_fft=512, hop_length=128)
    >>> [ax.get_title() for ax in fig.axes[:2]]
    ['templates W', 'activations H']
    """
    W = _check_nonneg_2d(W, "W")
    H = _check_nonneg_2d(H, "H")
    if W.shape[1] != H.shape[0]:
        raise ParameterError(f"W={describe(W)}, H={describe(H)}: W has {W.shape[1]} "
                             f"components, H {H.shape[0]}")
    plt = _pyplot()
    if fig is None:
        fig = plt.figure(figsize=(12, 4), layout="constrained")
    grid = fig.add_gridspec(1, 2, width_ratios=(1, 3))
    ax_w = fig.add_subplot(grid[0, 0])
    ax_h = fig.add_subplot(grid[0, 1])
    templates(W, sr, n_fft=n_fft, ax=ax_w, log_freq=log_freq)
    activations(H, sr, hop_length=hop_length, ax=ax_h)
    return fig


def duet_histogram(hist, alpha=None, delta=None, *, peaks=None, ax=None, cmap="viridis",
                   log=False, colorbar=True, title=None):
    r"""Draw DUET's two-dimensional histogram of (symmetric attenuation, delay).

    Each time-frequency bin votes, weighted by its energy, for the attenuation
    :math:`\alpha = a - 1/a` (:math:`a = |X_2/X_1|`) and delay
    :math:`\delta = -\angle(X_2/X_1)/\omega` at which one source would explain it; each
    source makes a peak (Yilmaz & Rickard, IEEE TSP 2004).  This draws a histogram you
    computed, whatever code made it.

    Parameters
    ----------
    hist : ndarray, shape (n_alpha, n_delta), or a histogram object
        Non-negative weights; ``hist[i, j]`` is the bin at ``alpha[i]``, ``delta[j]``.  Or
        what :func:`dsp_separate.duet_histogram` returns (anything with ``hist``,
        ``alpha`` and ``delay`` attributes), with ``alpha`` and ``delta`` left out.
    alpha : ndarray, shape (n_alpha,)
        Bin centres of the symmetric attenuation, increasing.
    delta : ndarray, shape (n_delta,)
        Bin centres of the delay (in samples or seconds, as computed), increasing.
    peaks : array_like, shape (n_sources, 2), optional
        ``(alpha, delta)`` of each peak found: marked with a cross and numbered.
    ax : matplotlib Axes, optional
    cmap : str, default "viridis"
    log : bool, default False
        Colour by :math:`\log(1 + h / \max h \cdot 10^3)` (shows small peaks).
    colorbar : bool, default True
    title : str, optional

    Returns
    -------
    ax : matplotlib Axes
        The histogram is ``ax.images[0]``; the peaks, if any, ``ax.lines[0]``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> alpha, delta = np.linspace(-1, 1, 21), np.linspace(-2, 2, 41)
    >>> A, D = np.meshgrid(alpha, delta, indexing="ij")
    >>> hist = np.exp(-((A - 0.3) ** 2 + (D + 1) ** 2) / 0.05)
    >>> ax = ds.plot.duet_histogram(hist, alpha, delta, peaks=[(0.3, -1.0)])
    >>> ax.get_xlabel(), len(ax.lines)
    ('relative delay δ', 1)
    """
    if alpha is None and delta is None and all(hasattr(hist, k) for k in
                                               ("hist", "alpha", "delay")):
        hist, alpha, delta = hist.hist, hist.alpha, hist.delay
    if alpha is None or delta is None:
        raise ParameterError("alpha, delta: give the bin centres of both axes (or pass the "
                             "object ds.duet_histogram returns)")
    hist = _check_nonneg_2d(hist, "hist")
    alpha = np.asarray(alpha, dtype=np.float64)
    delta = np.asarray(delta, dtype=np.float64)
    for name, axis, n in (("alpha", alpha, hist.shape[0]), ("delta", delta, hist.shape[1])):
        if axis.shape != (n,) or not np.isfinite(axis).all() or (n > 1 and
                                                                  np.any(np.diff(axis) <= 0)):
            raise ParameterError(f"{name}={describe(axis)}: must be {n} increasing finite bin "
                                 f"centres (hist has shape {hist.shape})")
    img = hist
    if check_bool(log, "log"):
        img = np.log1p(hist / max(hist.max(), _DB_FLOOR) * 1e3)

    def edges(c):
        if c.size == 1:
            return np.array([c[0] - 0.5, c[0] + 0.5])
        mid = (c[1:] + c[:-1]) / 2
        return np.concatenate([[2 * c[0] - mid[0]], mid, [2 * c[-1] - mid[-1]]])

    ax = _new_axes(ax, (6, 4.5))
    image = ax.pcolormesh(edges(delta), edges(alpha), img, cmap=cmap, shading="flat")
    if peaks is not None:
        p = np.asarray(peaks, dtype=np.float64)
        if p.ndim != 2 or p.shape[1] != 2 or not np.isfinite(p).all():
            raise ParameterError(f"peaks={describe(p)}: must have shape (n_sources, 2): "
                                 "(alpha, delta) per source")
        ax.plot(p[:, 1], p[:, 0], "x", color="w", ms=10, mew=2, label="peaks")
        for k, (a, d) in enumerate(p):
            ax.annotate(str(k), (d, a), textcoords="offset points", xytext=(6, 6), color="w")
    ax.set_xlabel("relative delay δ")
    ax.set_ylabel("symmetric attenuation α")
    if check_bool(colorbar, "colorbar"):
        ax.figure.colorbar(image, ax=ax, label="log weight" if log else "weight")
    if title is not None:
        ax.set_title(title)
    return ax


def objective(values, *, iterations=None, ax=None, log="auto", title=None):
    """Draw an objective (cost) per iteration: one curve, or one per label.

    Parameters
    ----------
    values : sequence of float, or dict of str to sequence of float
        The objective after each iteration (e.g. ``info["objective"]`` from
        :func:`dsp_separate.nmf`); a dict draws one labelled curve per entry.
    iterations : sequence of int, optional
        The iteration of each value (``info["objective_iterations"]``); default
        ``0, 1, 2, ...``.  With a dict, used for every curve of the same length.
    ax : matplotlib Axes, optional
    log : {"auto", True, False}, default "auto"
        Logarithmic y axis; ``"auto"``: when every value is positive.
    title : str, optional

    Returns
    -------
    ax : matplotlib Axes
        One line per curve, in order.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import dsp_separate as ds
    >>> ax = ds.plot.objective({"KL": [10, 5, 4, 3.5], "IS": [8, 7, 6.5, 6.4]})
    >>> len(ax.lines), ax.get_yscale()
    (2, 'log')
    """
    if log not in ("auto", True, False):
        raise ParameterError(f"log={log!r}: must be 'auto', True or False")
    curves = values if isinstance(values, dict) else {None: values}
    if not curves:
        raise ParameterError("values={}: needs at least one curve")
    arrays = {}
    for label, v in curves.items():
        name = "values" if label is None else f"values[{label!r}]"
        try:
            a = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError):
            raise ParameterError(f"{name}={describe(v)}: must be a non-empty 1-D sequence of "
                                 "finite numbers") from None
        if a.ndim != 1 or a.size < 1 or not np.isfinite(a).all():
            raise ParameterError(f"{name}={describe(a)}: must be a non-empty 1-D sequence of "
                                 "finite numbers")
        arrays[label] = a
    ax = _new_axes(ax, (6, 3.5))
    for label, a in arrays.items():
        x = np.arange(a.size)
        if iterations is not None:
            it = np.asarray(iterations)
            if it.shape == a.shape:
                x = it
            elif label is None:
                raise ParameterError(f"iterations={describe(it)}: must have the shape of "
                                     f"values {a.shape}")
        ax.plot(x, a, marker="." if a.size <= 50 else None, label=label)
    positive = all((a > 0).all() for a in arrays.values())
    if log is True and not positive:
        raise ParameterError("log=True: the objective has values <= 0")
    if log is True or (log == "auto" and positive):
        ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("objective")
    if isinstance(values, dict):
        ax.legend()
    if title is not None:
        ax.set_title(title)
    return ax


def gain_over_time(G, sr=16000, *, hop_length=None, stft=None, freq_range=None, ax=None,
                   floor_db=-40.0, title=None):
    r"""Draw a denoiser's gain per frame: the mean over frequency in dB, and its spread.

    For each frame :math:`t`, over the bins :math:`f` in ``freq_range``:

    .. math:: g(t) = \frac{1}{|F|} \sum_{f \in F} 20 \log_{10} \max(G(f, t), 10^{floor/20})

    drawn as a line, with the band between the 10th and 90th percentiles over those bins.
    A good enhancer holds :math:`g` near 0 dB when speech is present and low in the pauses.

    Parameters
    ----------
    G : ndarray, shape (..., n_freq, n_frames)
        Gains (masks) in [0, 1], e.g. ``result.masks["signal"]`` from a denoiser run with
        ``keep="masks"``; several channels are averaged.
    sr : int, default 16000
    hop_length : int, optional
        Default ``stft.hop_length`` (``STFT()``'s 512 without ``stft``).
    stft : STFT or dict, optional
        The transform that made ``G`` (its hop and FFT size set the axes).
    freq_range : (float, float), optional
        Lowest and highest frequency in Hz to average over; default all bins.
    ax : matplotlib Axes, optional
    floor_db : float, default -40.0
        Gains below this are counted as this (a gain of 0 is :math:`-\infty` dB).
    title : str, optional

    Returns
    -------
    ax : matplotlib Axes
        ``ax.lines[0]`` the mean gain, ``ax.collections[0]`` the band.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> G = np.full((257, 30), 0.5)
    >>> ax = ds.plot.gain_over_time(G, 16000, stft=ds.STFT(n_fft=512, hop_length=128))
    >>> round(float(ax.lines[0].get_ydata()[0]), 2)     # 20 log10(0.5)
    -6.02
    """
    stft = _stft_of(stft)
    sr = check_sr(sr)
    if hop_length is None:
        hop_length = stft.hop_length
    from ._validation import check_positive_int

    hop_length = check_positive_int(hop_length, "hop_length")
    G = np.asarray(G)
    if G.ndim < 2 or not np.issubdtype(G.dtype, np.number) or np.iscomplexobj(G):
        raise ParameterError(f"G={describe(G)}: must be a real array (..., n_freq, n_frames)")
    if G.shape[-2] != stft.n_freq:
        raise ParameterError(f"G={describe(G)}: has {G.shape[-2]} frequency bins, the stft "
                             f"({stft!r}) makes {stft.n_freq}")
    G = G.astype(np.float64).reshape((-1,) + G.shape[-2:]).mean(axis=0)
    if not np.isfinite(G).all():
        raise ParameterError(f"G={describe(G)}: holds NaN or infinite values")
    floor_db = float(floor_db)
    if not np.isfinite(floor_db) or floor_db >= 0:
        raise ParameterError(f"floor_db={floor_db!r}: must be a negative number of dB")
    freqs = np.arange(G.shape[0]) * sr / stft.n_fft
    keep = np.ones(G.shape[0], dtype=bool)
    if freq_range is not None:
        try:
            lo, hi = (float(v) for v in freq_range)
        except (TypeError, ValueError):
            raise ParameterError(f"freq_range={freq_range!r}: must be (low, high) in "
                                 "Hz") from None
        keep = (freqs >= lo) & (freqs <= hi)
        if not lo < hi or not keep.any():
            raise ParameterError(f"freq_range={freq_range!r}: must be (low, high) in Hz, "
                                 "low < high, holding at least one bin")
    D = 20.0 * np.log10(np.maximum(G[keep], 10.0 ** (floor_db / 20.0)))
    t = np.arange(G.shape[1]) * hop_length / sr
    ax = _new_axes(ax, (8, 3))
    lo_p, hi_p = np.percentile(D, [10, 90], axis=0)
    ax.fill_between(t, lo_p, hi_p, color="C0", alpha=0.25, lw=0, label="10-90 % of bins")
    ax.plot(t, D.mean(axis=0), color="C0", lw=1.3, label="mean gain")
    ax.set_ylim(floor_db - 2, 2)
    ax.set_xlim(t[0], t[-1] if t.size > 1 else t[0] + hop_length / sr)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("gain (dB)")
    ax.legend(loc="lower right")
    if title is not None:
        ax.set_title(title)
    return ax
