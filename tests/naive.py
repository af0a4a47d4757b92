"""Slow, obviously correct references for the fast kernels (plain loops and numpy).

Each function here does the textbook thing one sample at a time, so that a test can compare a
numba kernel against something whose correctness can be checked by reading it.  None of them
is meant to be fast; keep the inputs small.
"""

from __future__ import annotations

import numpy as np


def reflect_index(i: int, n: int) -> int:
    """Index into a line of ``n`` samples for any integer ``i``, half-sample symmetric.

    The line is extended as ``... d c b a | a b c d | d c b a | a b ...`` (period ``2 n``),
    which is ``scipy.ndimage``'s ``mode="reflect"``.
    """
    j = i % (2 * n)
    return j if j < n else 2 * n - 1 - j


def frame_windowed(x: np.ndarray, window: np.ndarray, hop: int) -> np.ndarray:
    """``out[b, t, i] = x[b, t * hop + i] * window[i]`` for every frame that fits in ``x``."""
    n_batch, length = x.shape
    n_fft = len(window)
    n_frames = 1 + (length - n_fft) // hop
    out = np.zeros((n_batch, n_frames, n_fft), dtype=x.dtype)
    for b in range(n_batch):
        for t in range(n_frames):
            for i in range(n_fft):
                out[b, t, i] = x[b, t * hop + i] * window[i]
    return out


def stft(y: np.ndarray, window: np.ndarray, hop: int, center: bool, pad_mode: str):
    """STFT of a 1-D signal, one frame and one ``np.fft.rfft`` at a time, float64.

    ``window`` already has ``n_fft`` samples.  Returns ``(1 + n_fft // 2, n_frames)``.
    """
    n_fft = len(window)
    x = np.asarray(y, dtype=np.float64)
    if center:
        x = np.pad(x, n_fft // 2, mode=pad_mode)
    n_frames = 1 + (len(x) - n_fft) // hop
    out = np.zeros((1 + n_fft // 2, n_frames), dtype=np.complex128)
    for t in range(n_frames):
        out[:, t] = np.fft.rfft(x[t * hop : t * hop + n_fft] * window)
    return out


def window_sumsquare(window: np.ndarray, hop: int, n_frames: int, start: int, length: int):
    """``out[n] = sum over frames t of window[start + n - t * hop] ** 2`` (0 where none).

    Frame ``t`` covers samples ``t * hop .. t * hop + n_fft - 1`` of the padded signal; the
    output is the slice ``start .. start + length - 1`` of the accumulated squares, float64.
    """
    n_fft = len(window)
    w2 = np.asarray(window, dtype=np.float64) ** 2
    total = np.zeros(max(start + length, (n_frames - 1) * hop + n_fft))
    for t in range(n_frames):
        total[t * hop : t * hop + n_fft] += w2
    return total[start : start + length]


def overlap_add(frames, window, hop, start, length, tiny):
    """Windowed overlap-add of ``frames`` (B, n_frames, n_fft), divided by the window
    sum-square wherever that exceeds ``tiny``; output samples ``start .. start+length-1``."""
    n_batch, n_frames, n_fft = frames.shape
    w = np.asarray(window, dtype=np.float64)
    total = np.zeros((n_batch, max(start + length, (n_frames - 1) * hop + n_fft)))
    for t in range(n_frames):
        total[:, t * hop : t * hop + n_fft] += frames[:, t, :].astype(np.float64) * w
    out = total[:, start : start + length]
    wss = window_sumsquare(window, hop, n_frames, start, length)
    covered = wss > tiny
    out[:, covered] /= wss[covered]
    return out


def transpose_last2(a: np.ndarray) -> np.ndarray:
    """``out[b, c, r] = a[b, r, c]``, element by element."""
    n_batch, n_rows, n_cols = a.shape
    out = np.empty((n_batch, n_cols, n_rows), dtype=a.dtype)
    for b in range(n_batch):
        for r in range(n_rows):
            for c in range(n_cols):
                out[b, c, r] = a[b, r, c]
    return out


def median_filter_line(x: np.ndarray, k: int) -> np.ndarray:
    """Running median of a 1-D line: output ``i`` is the element of rank ``k // 2`` of
    ``x[i - k//2 .. i - k//2 + k - 1]`` (indices reflected with :func:`reflect_index`)."""
    n = len(x)
    out = np.empty(n, dtype=x.dtype)
    for i in range(n):
        window = sorted(x[reflect_index(i - k // 2 + j, n)] for j in range(k))
        out[i] = window[k // 2]
    return out


def median_filter(S: np.ndarray, k: int, axis: int) -> np.ndarray:
    """:func:`median_filter_line` applied to every line of ``S`` along ``axis``."""
    return np.apply_along_axis(median_filter_line, axis, S, k)


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant SDR in dB of a 1-D estimate (Le Roux et al. 2019), float64."""
    s = np.asarray(reference, dtype=np.float64)
    e = np.asarray(estimate, dtype=np.float64)
    target = (e @ s) / (s @ s) * s
    noise = e - target
    return float(10 * np.log10((target @ target) / (noise @ noise)))


def divide_where(out: np.ndarray, wss: np.ndarray, tiny) -> None:
    """``out[b, m] /= wss[m]`` where ``wss[m] > tiny``; elsewhere ``out`` is left as it is."""
    for b in range(out.shape[0]):
        for m in range(out.shape[1]):
            if wss[m] > tiny:
                out[b, m] /= wss[m]
