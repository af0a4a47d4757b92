"""Argument checks for the public boundary.

This is the only module that validates.  Kernels in :mod:`dsp_separate._kernels` trust
their inputs; every public function calls the checks below first, so that bad input gets a
:class:`~dsp_separate.exceptions.ParameterError` of the form
``"<name>=<value>: <rule>"`` before any numba code runs.
"""

from __future__ import annotations

import numbers

import numpy as np

from .exceptions import ParameterError

__all__ = [
    "describe",
    "check_audio",
    "check_sr",
    "check_positive_int",
    "check_nonnegative_int",
    "check_positive_float",
    "check_nonnegative_float",
    "check_choice",
    "check_bool",
    "check_stft_matrix",
    "check_nonnegative_array",
    "check_channel_first",
]

#: Shortest signal the layout check accepts as channel-first when the axis before the
#: samples is longer (see :func:`check_channel_first`); the STFT passes its ``n_fft``.
LAYOUT_MIN_SAMPLES = 2048


def describe(value) -> str:
    """Short printable form of ``value`` for an error message."""
    if isinstance(value, np.ndarray):
        return f"<array shape={value.shape} dtype={value.dtype}>"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


#: The largest sample magnitude audio may have, per dtype.  Above it the STFT itself
#: overflows (a frame's sum of n_fft windowed samples: float64 audio from ~2e305 with
#: n_fft = 2048, ~3e306 with 256; float32 from ~3e35 and ~1e36) and every STFT method gives
#: NaN; up to it the methods stay finite (the contract battery checks both sides).
MAX_AMPLITUDE = {np.dtype(np.float32): 1e30, np.dtype(np.float64): 1e300}


def _fail(name: str, value, rule: str) -> ParameterError:
    return ParameterError(f"{name}={describe(value)}: {rule}")


def _first_nonfinite(a: np.ndarray) -> str:
    bad = ~np.isfinite(a)
    count = int(bad.sum())
    index = np.unravel_index(int(np.argmax(bad)), a.shape)
    index = tuple(int(i) for i in index)
    first = a[index].item()  # a Python number: prints as nan, not np.float64(nan)
    return f"{count} non-finite value(s), first {first!r} at index {index}"


def check_audio(y, name: str = "y", *, min_samples: int = 1, cast_to=None) -> np.ndarray:
    """Check an audio array and return it as a float32 or float64 ndarray.

    Channel-first ``(..., n_samples)``.  float32 and float64 are returned as they are (never
    copied); float16 is widened to float32.  Integer, boolean and complex arrays, empty
    arrays, scalars, arrays holding NaN or Inf, and samples above :data:`MAX_AMPLITUDE`
    (1e30 for float32, 1e300 for float64) are refused.  ``cast_to``: the dtype the caller
    will cast the audio to (a float32 stream fed float64 blocks); the smaller of the two
    bounds then applies.
    """
    if not isinstance(y, np.ndarray):
        if isinstance(y, (list, tuple)):
            y = np.asarray(y)
        else:
            raise _fail(name, y, "must be a numpy array of audio samples")
    if y.ndim == 0:
        raise _fail(name, y, "must have at least one dimension (..., n_samples)")
    if np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_:
        raise _fail(
            name,
            y,
            "integer audio is not accepted; convert to floating point in [-1, 1], "
            "e.g. y.astype(np.float32) / 32768 for 16-bit PCM",
        )
    if np.iscomplexobj(y):
        raise _fail(name, y, "must be real-valued audio, not complex (pass an STFT elsewhere)")
    if not np.issubdtype(y.dtype, np.floating):
        raise _fail(name, y, "must be a floating-point array")
    if y.dtype == np.float16:
        y = y.astype(np.float32)
    elif y.dtype not in (np.float32, np.float64):
        y = y.astype(np.float64)
    if y.size == 0 or y.shape[-1] == 0:
        raise _fail(name, y, "must not be empty")
    if y.shape[-1] < min_samples:
        raise _fail(name, y, f"must have at least {min_samples} samples")
    # two reductions, no temporary: NaN and Inf show in the extremes
    high, low = float(y.max()), float(y.min())
    if not (np.isfinite(high) and np.isfinite(low)):
        raise _fail(name, y, f"must be finite, found {_first_nonfinite(y)}")
    bound = y.dtype if cast_to is None else min(y.dtype, np.dtype(cast_to),
                                                 key=lambda d: MAX_AMPLITUDE[d])
    peak, limit = max(high, -low), MAX_AMPLITUDE[bound]
    if peak > float(bound.type(limit)):  # the limit as the dtype holds it
        raise _fail(name, y, f"peak {peak:.3g} above {limit:g}; {bound} audio is accepted "
                    "up to that magnitude (louder audio overflows the spectral transforms): "
                    "scale it down" + ("" if bound == y.dtype else
                                       f" or work in {y.dtype}"))
    return y


def check_sr(sr, name: str = "sr") -> int:
    """Check a sampling rate: a positive whole number of Hz, returned as ``int``."""
    if isinstance(sr, bool) or not isinstance(sr, numbers.Real):
        raise _fail(name, sr, "must be a positive number of samples per second (Hz)")
    if not np.isfinite(sr) or sr <= 0 or float(sr) != int(sr):
        raise _fail(name, sr, "must be a positive whole number of samples per second (Hz)")
    return int(sr)


def check_positive_int(value, name: str) -> int:
    """``value`` must be an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _fail(name, value, "must be a positive integer")
    if value < 1:
        raise _fail(name, value, "must be a positive integer")
    return int(value)


def check_nonnegative_int(value, name: str) -> int:
    """``value`` must be an integer >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise _fail(name, value, "must be a non-negative integer")
    return int(value)


def check_positive_float(value, name: str) -> float:
    """``value`` must be a finite real number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _fail(name, value, "must be a positive number")
    if not np.isfinite(value) or value <= 0:
        raise _fail(name, value, "must be a finite number > 0")
    return float(value)


def check_nonnegative_float(value, name: str) -> float:
    """``value`` must be a finite real number >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _fail(name, value, "must be a non-negative number")
    if not np.isfinite(value) or value < 0:
        raise _fail(name, value, "must be a finite number >= 0")
    return float(value)


def check_choice(value, name: str, choices) -> str:
    """``value`` must be one of ``choices``."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise _fail(name, value, f"must be one of {listed}")
    return value


def check_bool(value, name: str) -> bool:
    """``value`` must be True or False."""
    if not isinstance(value, (bool, np.bool_)):
        raise _fail(name, value, "must be True or False")
    return bool(value)


def check_stft_matrix(X, name: str = "X", *, min_ndim: int = 2) -> np.ndarray:
    """Check a complex STFT ``(..., n_freq, n_frames)``; returns complex64 or complex128."""
    if not isinstance(X, np.ndarray):
        raise _fail(name, X, "must be a numpy array (a complex STFT)")
    if X.ndim < min_ndim:
        raise _fail(name, X, f"must have at least {min_ndim} dimensions (..., n_freq, n_frames)")
    if X.size == 0:
        raise _fail(name, X, "must not be empty")
    if not np.iscomplexobj(X):
        if not np.issubdtype(X.dtype, np.floating):
            raise _fail(name, X, "must be a complex (or real floating) STFT")
        X = X.astype(np.complex64 if X.dtype == np.float32 else np.complex128)
    elif X.dtype not in (np.complex64, np.complex128):
        X = X.astype(np.complex128)
    if not np.isfinite(X).all():
        raise _fail(name, X, f"must be finite, found {_first_nonfinite(X)}")
    return X


def check_nonnegative_array(S, name: str, *, min_ndim: int = 1) -> np.ndarray:
    """Check a real, finite, non-negative array (a spectrogram, a source model, a mask)."""
    if not isinstance(S, np.ndarray):
        raise _fail(name, S, "must be a numpy array")
    if np.iscomplexobj(S) or not (
        np.issubdtype(S.dtype, np.floating) or np.issubdtype(S.dtype, np.integer)
    ):
        raise _fail(name, S, "must be a real non-negative array (take np.abs of an STFT)")
    if S.ndim < min_ndim:
        raise _fail(name, S, f"must have at least {min_ndim} dimensions")
    if S.size == 0:
        raise _fail(name, S, "must not be empty")
    if not np.issubdtype(S.dtype, np.floating):
        S = S.astype(np.float64)
    if not np.isfinite(S).all():
        raise _fail(name, S, f"must be finite, found {_first_nonfinite(S)}")
    if (S < 0).any():
        raise _fail(name, S, f"must be non-negative, found minimum {float(S.min())!r}")
    return S


def check_channel_first(y: np.ndarray, name: str = "y", *, window: int = LAYOUT_MIN_SAMPLES):
    """Refuse audio that looks like soundfile's ``(n_samples, n_channels)`` layout.

    The rule, the same everywhere in the package (separators, the STFT, :func:`save`, the
    metrics): an array with at least two dimensions whose last axis is shorter than
    ``window`` samples (the STFT's ``n_fft``, or 2048 where there is no STFT) while the axis
    before it is at least that long is taken to be channels-last and refused with a
    :class:`ParameterError` that suggests ``y.T``.  A genuinely short channel-first signal
    (both axes short) passes; the STFT then warns that its frames are mostly padding.
    """
    if (
        isinstance(y, np.ndarray)
        and y.ndim >= 2
        and y.shape[-1] < window
        and y.shape[-2] >= window
    ):
        # .T reverses every axis: right for (n_samples, n_channels), wrong for a batch
        fix = f"{name}.T" if y.ndim == 2 else f"np.swapaxes({name}, -1, -2)"
        raise _fail(
            name,
            y,
            f"looks like (n_samples, n_channels) audio ({y.shape[-2]} samples of "
            f"{y.shape[-1]} channel(s)?): dsp_separate is channel-first, (..., n_samples); "
            f"pass {fix} (e.g. for soundfile.read output)",
        )
    return y
