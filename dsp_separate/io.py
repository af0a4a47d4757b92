"""Reading and writing audio files through soundfile.

Arrays are channel-first: :func:`load` returns ``(n_channels, n_samples)`` float32 (1-D when
``mono=True``), and :func:`save` takes ``(n_samples,)`` or ``(n_channels, n_samples)``.
Files are written to a temporary file in the target folder and renamed into place, so an
interrupted write never leaves a half-written file behind; the new file gets the mode the
process's umask gives any new file (0644 under umask 022).

Integer formats (16- and 24-bit PCM, ...) hold samples in [-1, 1] only.  :func:`save` never
clips silently: a signal louder than that is written as 32-bit float where the format has it
(WAV, AIFF), or scaled down to fit where it does not (FLAC), with a :class:`ClippingWarning`
saying so.
"""

from __future__ import annotations

import os
import secrets
import stat
import warnings
from pathlib import Path

import numpy as np

from ._formats import FORMATS, SUBTYPES
from ._validation import check_audio, check_bool, check_channel_first, check_sr, describe
from .exceptions import AudioFileError, ParameterError

__all__ = ["load", "save", "matching_subtype", "ClippingWarning", "FORMATS", "SUBTYPES"]


# subtypes whose samples are not confined to [-1, 1]
_FLOAT_SUBTYPES = ("FLOAT", "DOUBLE", "VORBIS", "OPUS")


class ClippingWarning(UserWarning):
    """:func:`save` changed the subtype or the level so that nothing is clipped."""


def matching_subtype(format: str, input_subtype: str | None) -> str:
    """The subtype to write a ``format`` file with so that it keeps an input's resolution.

    24-bit in gives 24-bit out, float in gives float out (24-bit PCM for FLAC, which has no
    float subtype), and anything the format cannot hold (MP3, ADPCM, ...) gives the format's
    default (16-bit PCM; Vorbis for OGG).

    Parameters
    ----------
    format : {"wav", "flac", "ogg", "aiff"}
        Output format.
    input_subtype : str or None
        The input file's subtype, e.g. ``soundfile.info(path).subtype``.

    Returns
    -------
    subtype : str
        One of ``SUBTYPES[format]``.

    Examples
    --------
    >>> from dsp_separate.io import matching_subtype
    >>> matching_subtype("wav", "PCM_24"), matching_subtype("flac", "FLOAT")
    ('PCM_24', 'PCM_24')
    >>> matching_subtype("wav", "MPEG_LAYER_III")
    'PCM_16'
    """
    fmt = _check_format(format)
    allowed = SUBTYPES[fmt]
    subtype = (input_subtype or "").upper()
    if subtype in allowed:
        return subtype
    if subtype in ("FLOAT", "DOUBLE") or subtype == "PCM_32":
        for wider in ("FLOAT", "PCM_24"):
            if wider in allowed:
                return wider
    if subtype in ("PCM_U8", "PCM_S8") and "PCM_16" in allowed:
        return "PCM_16"
    return allowed[0]


def _check_format(format) -> str:
    fmt = str(format).lower().lstrip(".")
    fmt = "aiff" if fmt == "aif" else fmt
    if fmt not in FORMATS:
        raise ParameterError(f"format={format!r}: must be one of {', '.join(FORMATS)}")
    return fmt


def _check_subtype(subtype, fmt: str, path) -> str:
    if subtype is None:
        return SUBTYPES[fmt][0]
    name = str(subtype).upper()
    if name not in SUBTYPES[fmt]:
        raise ParameterError(
            f"subtype={subtype!r}: {path} is a .{fmt} file, which takes "
            + ", ".join(SUBTYPES[fmt])
        )
    return name


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
        Samples as stored: in [-1, 1] for integer files; float files may go beyond.
    sr : int
        Sampling rate of ``y`` in Hz.

    Raises
    ------
    AudioFileError
        The file is missing, a folder or a device, empty, corrupt, in a format libsndfile
        does not read, or holds NaN or infinite samples; the message names the file.

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
    mode = path.stat().st_mode
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        raise AudioFileError(f"{path}: is a device, not an audio file")
    if stat.S_ISREG(mode) and path.stat().st_size == 0:
        raise AudioFileError(f"{path}: the file is empty")
    try:
        data, file_sr = sf.read(str(path), dtype=np.dtype(dtype).name, always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioFileError(
            f"{path}: cannot be read as audio ({exc}); is it a corrupt or unsupported file?"
        ) from None
    if data.shape[0] == 0:
        raise AudioFileError(f"{path}: contains no samples")
    _check_finite_samples(path, data, file_sr)
    y = np.ascontiguousarray(data.T)
    if mono:
        y = y.mean(axis=0).astype(dtype, copy=False)
    if sr is not None and sr != file_sr:
        import librosa

        y = librosa.resample(y, orig_sr=file_sr, target_sr=sr, res_type="soxr_hq", axis=-1)
        y = y.astype(dtype, copy=False)
        file_sr = sr
    return y, int(file_sr)


def _check_finite_samples(path, data: np.ndarray, sr: int, offset: int = 0,
                          partial: bool = False) -> None:
    """Raise AudioFileError naming the file if ``data`` (n_samples, n_channels) holds NaN/Inf.

    ``offset`` is the file position of ``data[0]`` (block-wise readers); with ``partial``
    the count is of the block read so far, and the message says so.
    """
    finite = np.isfinite(data)
    if not finite.all():
        bad = ~finite
        sample, channel = np.unravel_index(int(np.argmax(bad)), bad.shape)
        sample += offset
        where = " in the part read so far" if partial else ""
        raise AudioFileError(
            f"{path}: holds {int(bad.sum())} NaN or infinite sample(s){where}, the first at "
            f"{sample / sr:.3f} s (sample {sample}) in channel {channel}; a float file "
            "must hold finite numbers"
        )


def save(path, y, sr: int, *, subtype: str | None = None) -> None:
    """Write audio to a file, atomically, without clipping.

    Parameters
    ----------
    path : str or os.PathLike
        Target file; its extension picks the format (one of :data:`FORMATS`).  The folder
        must exist.  An existing file is replaced only once the new one is complete.  A new
        file gets the mode the umask gives (0644 under umask 022).
    y : ndarray, shape (n_samples,) or (n_channels, n_samples), float
        Audio; integer subtypes hold [-1, 1] (see Warns).  Not modified.
    sr : int
        Sampling rate in Hz.
    subtype : str, optional
        soundfile subtype, one of ``SUBTYPES[format]``, e.g. ``"PCM_24"`` or ``"FLOAT"``;
        default: 16-bit PCM for WAV, FLAC and AIFF, Vorbis for OGG.

    Warns
    -----
    ClippingWarning
        ``y`` reaches beyond [-1, 1] and the subtype is an integer one, which would clip: the
        file is written as ``"FLOAT"`` instead (WAV, AIFF), or, for FLAC, which has no float
        subtype, ``y`` is scaled by ``1 / peak``.  The message names the file.

    Raises
    ------
    ParameterError
        Bad ``y``, ``sr``, extension or subtype.
    AudioFileError
        The folder does not exist, or the file could not be written; the message names it.

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
    check_channel_first(y, "y")
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
    subtype = _check_subtype(subtype, ext, path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise AudioFileError(f"{path}: the folder {folder} does not exist")
    if subtype not in _FLOAT_SUBTYPES:
        peak = float(np.max(np.abs(y)))
        if peak > 1.0:
            if "FLOAT" in SUBTYPES[ext]:
                warnings.warn(
                    f"{path}: peak {peak:.3g} is beyond the [-1, 1] range of {subtype}, "
                    "which would clip; written as FLOAT instead",
                    ClippingWarning, stacklevel=2,
                )
                subtype = "FLOAT"
            else:
                warnings.warn(
                    f"{path}: peak {peak:.3g} is beyond the [-1, 1] range of {subtype}, "
                    f"which would clip, and .{ext} has no float subtype; scaled by "
                    f"{1 / peak:.6g} instead",
                    ClippingWarning, stacklevel=2,
                )
                y = y / peak
    tmp = _new_temporary(folder, path.name, ext)
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
        if isinstance(exc, OSError) and not isinstance(exc, AudioFileError):
            raise AudioFileError(f"{path}: could not be written ({exc.strerror or exc})") from None
        raise


def _new_temporary(folder: Path, name: str, ext: str) -> str:
    """Create an empty file next to the target; the umask sets its mode, as for any new file.

    (``tempfile.mkstemp`` would create it with mode 0600, which the rename would keep.)
    """
    for _ in range(100):
        tmp = folder / f".{name}.{secrets.token_hex(4)}.part.{ext}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise AudioFileError(
                f"{folder / name}: could not be written ({exc.strerror or exc})"
            ) from None
        os.close(fd)
        return str(tmp)
    raise AudioFileError(f"{folder / name}: could not create a temporary file in {folder}")
