"""Short example recordings that ship inside the package, with their true sources.

The clips live in ``dsp_separate/data/`` (16-bit FLAC, about 2.6 MB in all) and are read from
there: no download, no network, no file outside the package.  They were cut from the
dsp_separate dev corpus by ``dsp_separate/data/make_examples.py``; ``dsp_separate/data/
README.md`` lists their provenance and licences.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from .exceptions import ParameterError

__all__ = ["example", "examples", "example_info", "example_training"]

DATA = Path(__file__).resolve().parent / "data"


@lru_cache(maxsize=1)
def _index() -> dict:
    return json.loads((DATA / "examples.json").read_text(encoding="utf-8"))


def _entry(name) -> dict:
    index = _index()
    if not isinstance(name, str) or name not in index:
        raise ParameterError(f"name={name!r}: must be one of {', '.join(index)} "
                             "(see ds.examples())")
    return index[name]


def _check_dtype(dtype):
    try:
        kind = np.dtype(dtype).type
    except TypeError:
        kind = None
    if kind not in (np.float32, np.float64):
        raise ParameterError(f"dtype={dtype!r}: must be np.float32 or np.float64")
    return kind


@lru_cache(maxsize=16)
def _read_int16(path: Path) -> np.ndarray:
    import soundfile as sf

    data, _ = sf.read(str(path), dtype="int16", always_2d=True)
    data = np.ascontiguousarray(data.T)
    data.flags.writeable = False
    return data


def _as_audio(x16: np.ndarray, dtype) -> np.ndarray:
    y = x16.astype(dtype) / dtype(32768.0)
    return y[0] if y.shape[0] == 1 else y


def examples() -> dict:
    """The names of the shipped example clips, each with a one-line description.

    Returns
    -------
    names : dict of str to str
        ``{name: description}``, in a fixed order: ``"hpss"``, ``"repet"``,
        ``"instruments"``, ``"speech"``, ``"mc_instantaneous"``, ``"mc_anechoic"``,
        ``"mc_convolutive"``.

    See Also
    --------
    example : load one of them.
    example_info : sampling rate, sources, provenance and licence of one clip.

    Examples
    --------
    >>> import dsp_separate as ds
    >>> list(ds.examples())[:3]
    ['hpss', 'repet', 'instruments']
    """
    return {name: entry["description"] for name, entry in _index().items()}


def example_info(name: str) -> dict:
    """What one example clip is: sampling rate, sources, provenance, licence.

    Parameters
    ----------
    name : str
        One of :func:`examples`.

    Returns
    -------
    info : dict
        ``description``, ``sr`` (Hz), ``n_channels``, ``n_samples``, ``sources`` (the stem
        names, in order), ``provenance`` (the corpus item and sample range it was cut from,
        and how it was down-mixed and resampled), ``licence``, and what the corpus recorded
        about the item where it matters: ``repeating_period_s`` (``"repet"``),
        ``snr_db_actual`` and ``noise_type`` (``"speech"``), ``mixing_matrix``
        (``"mc_instantaneous"``), ``gains`` and ``delays_samples`` (``"mc_anechoic"``),
        ``instruments`` and ``training`` (``"instruments"``).  A fresh copy each call.

    Examples
    --------
    >>> import dsp_separate as ds
    >>> info = ds.example_info("repet")
    >>> info["sr"], info["sources"], round(info["repeating_period_s"], 2)
    (22050, ['background', 'foreground'], 2.82)
    """
    return json.loads(json.dumps(_entry(name)))


def example(name: str, *, stems: bool = False, dtype=np.float32):
    """Load a short example recording that ships with the package (offline, no download).

    The clips (name: sampling rate, channels, duration; sources):

    - ``"hpss"``: 22050 Hz, mono, 5 s; harmonic (a Bach chorale on strings), percussive
      (a rock drum groove).
    - ``"repet"``: 22050 Hz, mono, 8.5 s; background (a 2.82 s loop repeated three times),
      foreground (a trumpet melody).
    - ``"instruments"``: 22050 Hz, mono, 4 s; soprano (violin), alto (clarinet), tenor
      (tenor sax), bass (bassoon); training audio of each in :func:`example_training`.
    - ``"speech"``: 16000 Hz, mono, 5 s; speech (a female voice), noise (pink, 0 dB SNR).
    - ``"mc_instantaneous"``: 16000 Hz, 2 channels, 4 s; src0, src1 (two voices mixed by a
      2 x 2 matrix: ICA).
    - ``"mc_anechoic"``: 16000 Hz, 2 channels, 4 s; src0, src1, src2 (three voices, each
      with its own gain and sub-sample delay between the microphones: DUET).
    - ``"mc_convolutive"``: 16000 Hz, 2 channels, 4 s; src0 (a voice), src1 (a flute) in a
      simulated room, RT60 about 0.35 s, microphones 8.8 cm apart (IVA).

    Parameters
    ----------
    name : str
        One of :func:`examples`.
    stems : bool, default False
        Also return the true sources.
    dtype : {np.float32, np.float64}, default np.float32

    Returns
    -------
    y : ndarray, shape (n_samples,) for mono clips, (n_channels, n_samples) otherwise
        The mixture, in [-1, 1].  It is exactly the sum of the stems (all are 16-bit
        integers divided by 32768, so the sum is exact in float32 too).
    stems : dict of str to ndarray, each the shape of ``y``
        Only with ``stems=True``: the true sources in the order of
        ``example_info(name)["sources"]``.  For the multichannel clips these are the source
        *images* (each source as the microphones hear it), as BSS Eval v4 scores them.
    sr : int
        Sampling rate in Hz.

    Notes
    -----
    The music clips were rendered with FluidSynth from the FluidR3_GM SoundFont (MIT
    licence) playing Bach chorales from the music21 corpus (public-domain scores); the
    speech clips were synthesised with Debian's festival / flite / espeak-ng voices (free
    licences) reading Harvard sentences (IEEE 1969); the room of ``"mc_convolutive"`` was
    simulated with pyroomacoustics.  ``dsp_separate/data/README.md`` has the details and
    :func:`example_info` the provenance of each clip.  Unlike :func:`librosa.ex`, nothing is
    downloaded: the files are part of the package.

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> y, sr = ds.example("hpss")
    >>> y.shape, y.dtype, sr
    ((110250,), dtype('float32'), 22050)
    >>> y, stems, sr = ds.example("mc_anechoic", stems=True)
    >>> y.shape, list(stems)
    ((2, 64000), ['src0', 'src1', 'src2'])
    >>> bool(np.array_equal(y, stems["src0"] + stems["src1"] + stems["src2"]))
    True
    """
    entry = _entry(name)
    if not isinstance(stems, (bool, np.bool_)):
        raise ParameterError(f"stems={stems!r}: must be True or False")
    dtype = _check_dtype(dtype)
    ints = {s: _read_int16(DATA / name / f"{s}.flac") for s in entry["sources"]}
    total = np.sum([x.astype(np.int32) for x in ints.values()], axis=0)
    y = _as_audio(total, dtype)
    sr = int(entry["sr"])
    if not stems:
        return y, sr
    return y, {s: _as_audio(x, dtype) for s, x in ints.items()}, sr


def example_training(name: str = "instruments", *, dtype=np.float32):
    """Isolated training audio for the sources of an example (for supervised NMF).

    Only ``"instruments"`` has some: each instrument of the clip alone, playing the first
    0.18 s of every note of its chromatic scale over its whole range (a different recording
    from the mixture: the same SoundFont instrument, not the same notes).

    Parameters
    ----------
    name : str, default "instruments"
    dtype : {np.float32, np.float64}, default np.float32

    Returns
    -------
    examples : dict of str to ndarray, each shape (n_samples,)
        ``{source name: mono training signal}``, keyed like the clip's stems, so it can be
        passed to :meth:`SupervisedNMF.fit` as it is.
    sr : int
        Sampling rate in Hz (the clip's).

    Examples
    --------
    >>> import dsp_separate as ds
    >>> train, sr = ds.example_training("instruments")
    >>> list(train), sr
    (['soprano', 'alto', 'tenor', 'bass'], 22050)
    """
    entry = _entry(name)
    if "training" not in entry:
        have = [n for n, e in _index().items() if "training" in e]
        raise ParameterError(f"name={name!r}: has no training examples (only "
                             f"{', '.join(have)} has)")
    dtype = _check_dtype(dtype)
    out = {s: _as_audio(_read_int16(DATA / name / "training" / f"{s}.flac"), dtype)
           for s in entry["training"]}
    return out, int(entry["sr"])
