"""Numba kernels: running median along the last axis of a 2-D array.

The window for output ``i`` covers input samples ``i - k//2 .. i - k//2 + k - 1`` and the
output is the element of rank ``k // 2`` (the median for odd ``k``, the upper median for
even ``k``), with half-sample symmetric ("reflect": d c b a | a b c d | d c b a) extension
at the edges: the conventions of ``scipy.ndimage.median_filter(mode="reflect")``.

A sorted copy of the window is kept and updated as it slides: each step removes the sample
that leaves (binary search) and inserts the one that enters by shifting the elements between
the two positions, O(log k + distance) per output instead of O(k log k).
"""

import numpy as np
from numba import prange

from .._config import jit


@jit
def _reflect(i, n):
    """Index into a length-n line for any integer i, half-sample symmetric, period 2n."""
    period = 2 * n
    j = i % period
    if j < 0:
        j += period
    if j >= n:
        j = period - 1 - j
    return j


@jit
def _median_line(x, k, padded, window, out):
    n = x.shape[0]
    half = k // 2
    for i in range(n + k - 1):
        padded[i] = x[_reflect(i - half, n)]
    for i in range(k):
        window[i] = padded[i]
    window.sort()
    out[0] = window[half]
    for i in range(1, n):
        leaving = padded[i - 1]
        entering = padded[i - 1 + k]
        # position of the leaving value (binary search, leftmost)
        lo = 0
        hi = k
        while lo < hi:
            mid = (lo + hi) // 2
            if window[mid] < leaving:
                lo = mid + 1
            else:
                hi = mid
        j = lo
        if entering >= leaving:
            while j + 1 < k and window[j + 1] < entering:
                window[j] = window[j + 1]
                j += 1
        else:
            while j > 0 and window[j - 1] > entering:
                window[j] = window[j - 1]
                j -= 1
        window[j] = entering
        out[i] = window[half]


@jit(parallel=True)
def median_filter_rows(S, k, out):
    """``out[r] = running median of S[r]`` over windows of ``k`` samples (see module doc).

    S, out : (R, n) float arrays.
    """
    n_rows, n = S.shape
    for r in prange(n_rows):
        padded = np.empty(n + k - 1, dtype=S.dtype)
        window = np.empty(k, dtype=S.dtype)
        _median_line(S[r], k, padded, window, out[r])

