"""Numba kernels: running median along the last axis of a 2-D array.

The window for output ``i`` covers input samples ``i - k//2 .. i - k//2 + k - 1`` and the
output is the element of rank ``k // 2`` (the median for odd ``k``, the upper median for
even ``k``), with half-sample symmetric ("reflect": d c b a | a b c d | d c b a) extension
at the edges: the conventions of ``scipy.ndimage.median_filter(mode="reflect")``.

A sorted copy of the window is kept and updated as it slides.  Each step counts, in one
branch-free (vectorised) pass, how many window elements are below the sample that leaves
(its position ``p``) and below the one that enters (its position ``q`` once the leaving one
is removed); a second branch-free pass writes the updated sorted window into a second buffer:
elements between ``p`` and ``q`` move by one place and the entering sample lands at ``q``.
That is O(k) per output but free of the unpredictable branches of a binary search plus a
shift loop, and about 1.5-2x faster for the window sizes HPSS uses.
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
def _rebuild(old, new, k, p, q, entering):
    """``new[1 : k + 1]``: the sorted window ``old[1 : k + 1]`` with its element at ``p``
    removed and ``entering`` inserted at ``q``.  ``old[0]`` and ``old[k + 1]`` are guards
    (read, never selected), so that every load is unconditional and the loop vectorises."""
    for j in range(k):
        here = old[j + 1]
        after = old[j + 2]
        before = old[j]
        v = after if (p <= j and j < q) else here  # shifted down by one
        v = before if (q < j and j <= p) else v  # shifted up by one
        v = entering if j == q else v
        new[j + 1] = v


@jit
def _median_line(x, k, padded, a, b, out):
    """Running median of one line ``x``; ``padded``, ``a``, ``b`` are scratch buffers of
    ``n + k - 1``, ``k + 2`` and ``k + 2`` samples."""
    n = x.shape[0]
    half = k // 2
    for i in range(n + k - 1):
        padded[i] = x[_reflect(i - half, n)]
    window = a[1 : k + 1]
    for i in range(k):
        window[i] = padded[i]
    window.sort()
    a[0] = window[0]
    a[k + 1] = window[k - 1]
    b[0] = window[0]
    b[k + 1] = window[k - 1]
    out[0] = window[half]
    for i in range(1, n):
        old = a if i % 2 == 1 else b
        new = b if i % 2 == 1 else a
        leaving = padded[i - 1]
        entering = padded[i - 1 + k]
        # p: index of the first copy of ``leaving``; q: where ``entering`` goes once it is gone
        p = 0
        q = 0
        for j in range(k):
            w = old[j + 1]
            p += np.int64(w < leaving)
            q += np.int64(w < entering)
        q -= np.int64(leaving < entering)
        _rebuild(old, new, k, p, q, entering)
        out[i] = new[half + 1]


@jit(parallel=True)
def median_filter_rows(S, k, out):
    """``out[r] = running median of S[r]`` over windows of ``k`` samples (see module doc).

    S, out : (R, n) float arrays.
    """
    n_rows, n = S.shape
    for r in prange(n_rows):
        padded = np.empty(n + k - 1, dtype=S.dtype)
        a = np.empty(k + 2, dtype=S.dtype)
        b = np.empty(k + 2, dtype=S.dtype)
        _median_line(S[r], k, padded, a, b, out[r])
