"""Reading and writing audio files through soundfile.

Arrays are channel-first: :func:`load` returns ``(n_channels, n_samples)`` float32 (1-D when
``mono=True``), and :func:`save` takes ``(n_samples,)`` or ``(n_channels, n_samples)``.
Files are written to a temporary file in the target folder and renamed into place, so an
interrupted write never leaves a half-written file behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from ._validation import check_audio, check_bool, check_sr, describe
from .exceptions import AudioFileError, ParameterError

__all__ = ["load", "save", "FORMATS"]

#: File extensions :func:`save` can write (soundfile major formats).
FORMATS = ("wav", "flac", "ogg", "aiff")


def load(path, sr: int | None = None, mono: bool = False, dtype=np.float32):
    """Read an audio file.

    Parameters
    ----------
    path : str or os.PathLike
        Any format libsndfile reads (WAV, FLAC, OGG/Vorbis, AIFF, MP3 with libsndfile >= 1.1).
    sr : int, optional
        Resample to this rate (with :func:`librosa.resample`, soxr high quality).  Default:
        keep the file's rate.
    mono : bool, default False
        Average the channels and return a 1-D array.
    dtype : {np.float32, np.float64}, default np.float32

    Returns
    -------
    y : ndarray, shape (n_channels, n_samples), or (n_samples,) when ``mono``
        Samples in [-1, 1].
    sr : int
        Sampling rate of ``y`` in Hz.

    Raises
    ------
    AudioFileError
        The file is missing, empty, corrupt or in a format libsndfile does not read; the
        message names the file.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> import dsp_separate as ds
    >>> path = os.path.join(tempfile.mkdtemp(), "tone.wav")
    >>> ds.save(path, np.zeros((2, 800), dtype=np.float32), 8000)
    >>> y, sr = ds.load(path)
    >>> y.shape, y.dtype, sr
    ((2, 800), dtype('float32'), 8000)
    """
    import soundfile as sf

    mono = check_bool(mono, "mono")
    if sr is not None:
        sr = check_sr(sr)
    try:
        kind = np.dtype(dtype).type
    except TypeError:
        kind = None
    if kind not in (np.float32, np.float64):
        raise ParameterError(f"dtype={dtype!r}: must be np.float32 or np.float64")
    dtype = kind
    path = Path(path)
    if not path.exists():
        raise AudioFileError(f"{path}: no such file")
    if path.is_dir():
        raise AudioFileError(f"{path}: is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioFileError(f"{path}: the file is empty")
    try:
        data, file_sr = sf.read(str(path), dtype=np.dtype(dtype).name, always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioFileError(
            f"{path}: cannot be read as audio ({exc}); is it a corrupt or unsupported file?"
        ) from None
    if data.shape[0] == 0:
        raise AudioFileError(f"{path}: contains no samples")
    y = np.ascontiguousarray(data.T)
    if mono:
        y = y.mean(axis=0).astype(dtype, copy=False)
    if sr is not None and sr != file_sr:
        import librosa

        y = librosa.resample(y, orig_sr=file_sr, target_sr=sr, res_type="soxr_hq", axis=-1)
        y = y.astype(dtype, copy=False)
        file_sr = sr
    return y, int(file_sr)


def save(path, y, sr: int, *, subtype: str | None = None) -> None:
    """Write audio to a file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Target file; its extension picks the format (one of :data:`FORMATS`).  The folder
        must exist.  An existing file is replaced only once the new one is complete.
    y : ndarray, shape (n_samples,) or (n_channels, n_samples), float
        Audio in [-1, 1] (values outside are clipped by integer formats).
    sr : int
        Sampling rate in Hz.
    subtype : str, optional
        soundfile subtype, e.g. ``"PCM_16"`` or ``"FLOAT"``; default: soundfile's default for
        the format (16-bit PCM for WAV and FLAC).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> import dsp_separate as ds
    >>> path = os.path.join(tempfile.mkdtemp(), "silence.flac")
    >>> ds.save(path, np.zeros(1600, dtype=np.float32), 16000)
    >>> os.path.exists(path)
    True
    """
    import soundfile as sf

    y = check_audio(y, "y")
    sr = check_sr(sr)
    if y.ndim > 2:
        raise ParameterError(
            f"y={describe(y)}: a file holds (n_samples,) or (n_channels, n_samples)"
        )
    path = Path(path)
    ext = path.suffix.lower().lstrip(".")
    if ext == "aif":
        ext = "aiff"
    if ext not in FORMATS:
        raise ParameterError(
            f"path={str(path)!r}: extension {path.suffix or '(none)'!r} is not one of "
            + ", ".join("." + f for f in FORMATS)
        )
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise AudioFileError(f"{path}: the folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".part.{ext}", dir=folder)
    os.close(fd)
    try:
        sf.write(tmp, y.T, sr, subtype=subtype, format=ext.upper())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, (sf.LibsndfileError, RuntimeError, TypeError, ValueError)):
            raise AudioFileError(f"{path}: could not be written ({exc})") from None
        raise
