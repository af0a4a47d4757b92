"""numba kernels of the REPET family (arrays in, preallocated arrays out, no checks).

* :func:`segment_model` -- REPET's repeating-segment model: for every row and every
  position inside the period, the median of the period-aligned values, then the minimum
  with the mixture (Rafii & Pardo 2013).
* :func:`local_period_model` -- adaptive REPET's model: per frame, the median of the frames
  one local period apart (Liutkus et al. 2012).
* :func:`topk_similar` -- REPET-SIM's selection: for each row of a block of the cosine
  similarity matrix, its ``k`` highest local maxima (each above every other value within
  ``min_distance`` frames) at or above ``threshold`` (monotonic queues and a min-heap).
* :func:`neighbour_model` -- REPET-SIM's model: per frame, the median of the selected frames,
  then the minimum with the mixture.

Medians follow numpy's convention (the mean of the two middle values for an even count).
"""

from __future__ import annotations

import numpy as np

from .._config import jit


@jit(nogil=True)
def _median_inplace(buf, m):
    """Median of ``buf[:m]`` (reorders ``buf``); insertion sort for small ``m``, else select."""
    if m <= 24:
        for i in range(1, m):
            v = buf[i]
            j = i - 1
            while j >= 0 and buf[j] > v:
                buf[j + 1] = buf[j]
                j -= 1
            buf[j + 1] = v
        if m % 2 == 1:
            return buf[m // 2]
        return 0.5 * (buf[m // 2 - 1] + buf[m // 2])
    hi_val = _select(buf, m, m // 2)
    if m % 2 == 1:
        return hi_val
    # the largest value below position m // 2 is the other middle value
    lo_val = buf[0]
    for i in range(1, m // 2):
        if buf[i] > lo_val:
            lo_val = buf[i]
    return 0.5 * (lo_val + hi_val)


@jit(nogil=True)
def _select(buf, m, kth):
    """Hoare quickselect: put the ``kth`` smallest of ``buf[:m]`` at ``kth``, smaller before."""
    lo = 0
    hi = m - 1
    while hi > lo:
        mid = (lo + hi) // 2
        # median of three as the pivot
        a, b, c = buf[lo], buf[mid], buf[hi]
        if a > b:
            a, b = b, a
        if b > c:
            b = c
            if a > b:
                b = a
        pivot = b
        i = lo
        j = hi
        while i <= j:
            while buf[i] < pivot:
                i += 1
            while buf[j] > pivot:
                j -= 1
            if i <= j:
                t = buf[i]
                buf[i] = buf[j]
                buf[j] = t
                i += 1
                j -= 1
        if kth <= j:
            hi = j
        elif kth >= i:
            lo = i
        else:
            break
    return buf[kth]


@jit(nogil=True)
def segment_model(S, period, cut, out):
    """REPET model of every row of ``S`` (R, T) for ``period`` frames, written to ``out``.

    ``out[r, t] = min(median_j S[r, (t % period) + j * period], S[r, t])`` over the segments
    ``j`` that reach that position (the last segment may be partial); without the minimum
    when ``cut`` is False (KAM's periodic kernel).
    """
    R, T = S.shape
    n_seg = (T + period - 1) // period
    buf = np.empty(n_seg, dtype=S.dtype)
    for r in range(R):
        for t in range(min(period, T)):
            m = 0
            for j in range(t, T, period):
                buf[m] = S[r, j]
                m += 1
            med = _median_inplace(buf, m)
            for j in range(t, T, period):
                v = S[r, j]
                out[r, j] = med if (med < v or not cut) else v


@jit(nogil=True)
def local_period_model(S, periods, reach, out):
    """Adaptive REPET model: ``out[r, t] = min(median_j S[r, t + j p_t], S[r, t])``.

    ``periods`` (T,) int: the local period of each frame.  The median runs over the frames
    ``t + j p_t`` (``t`` itself included) inside the window ``[t - reach, t + reach]``,
    shifted inwards at the signal's ends so that it keeps its length where it can.
    """
    R, T = S.shape
    buf = np.empty(2 * T + 1, dtype=S.dtype)
    for t in range(T):
        p = periods[t]
        w_lo = t - reach
        if w_lo > T - 1 - 2 * reach:
            w_lo = T - 1 - 2 * reach
        if w_lo < 0:
            w_lo = 0
        w_hi = w_lo + 2 * reach
        if w_hi > T - 1:
            w_hi = T - 1
        first = t - ((t - w_lo) // p) * p
        for r in range(R):
            m = 0
            j = first
            while j <= w_hi:
                buf[m] = S[r, j]
                m += 1
                j += p
            med = _median_inplace(buf, m)
            v = S[r, t]
            out[r, t] = med if med < v else v


@jit(nogil=True)
def topk_similar(G, min_distance, threshold, k, idx, count):
    """REPET-SIM's repeating frames for each row of a similarity block ``G`` (B, T).

    The candidates of a row are its *local maxima*: columns ``c`` with
    ``G[b, c] >= threshold`` and ``G[b, c]`` strictly above every other value within
    ``min_distance`` columns; the ``k`` largest are kept (a min-heap of size ``k``).
    ``idx[b, :count[b]]`` receives them (in heap order), ``count[b]`` how many there are.
    The window maxima on each side come from monotonic queues: O(T) per row.
    """
    B, T = G.shape
    d = min_distance
    heap_v = np.empty(k, dtype=G.dtype)
    heap_i = np.empty(k, dtype=np.int64)
    left = np.empty(T, dtype=G.dtype)
    queue = np.empty(T, dtype=np.int64)
    for b in range(B):
        row = G[b]
        # left[c] = max(row[c - d : c]) (-inf when empty)
        head = 0
        tail = 0
        for c in range(T):
            while tail > head and queue[head] < c - d:
                head += 1
            left[c] = row[queue[head]] if tail > head else -np.inf
            while tail > head and row[queue[tail - 1]] <= row[c]:
                tail -= 1
            queue[tail] = c
            tail += 1
        n = 0
        head = 0
        tail = 0
        for c in range(T - 1, -1, -1):
            # right = max(row[c + 1 : c + d + 1])
            while tail > head and queue[head] > c + d:
                head += 1
            right = row[queue[head]] if tail > head else -np.inf
            while tail > head and row[queue[tail - 1]] <= row[c]:
                tail -= 1
            queue[tail] = c
            tail += 1
            v = row[c]
            if not (v >= threshold and v > left[c] and v > right):
                continue
            if n < k:
                i = n  # push and sift up
                n += 1
                while i > 0:
                    parent = (i - 1) // 2
                    if heap_v[parent] <= v:
                        break
                    heap_v[i] = heap_v[parent]
                    heap_i[i] = heap_i[parent]
                    i = parent
                heap_v[i] = v
                heap_i[i] = c
            elif v > heap_v[0]:
                i = 0  # replace the smallest and sift down
                while True:
                    child = 2 * i + 1
                    if child >= k:
                        break
                    if child + 1 < k and heap_v[child + 1] < heap_v[child]:
                        child += 1
                    if heap_v[child] >= v:
                        break
                    heap_v[i] = heap_v[child]
                    heap_i[i] = heap_i[child]
                    i = child
                heap_v[i] = v
                heap_i[i] = c
        count[b] = n
        for i in range(n):
            idx[b, i] = heap_i[i]


@jit(nogil=True)
def neighbour_model(VT, idx, count, lo, hi, cut, out):
    """REPET-SIM model of frames ``lo:hi``.

    ``out[t, f] = min(median_i VT[idx[t, i], f], VT[t, f])`` over ``i < count[t]`` (without
    the minimum when ``cut`` is False: KAM's similarity kernel).

    ``VT`` (T, F) is the magnitude spectrogram with frames as rows.  A frame with no
    selected neighbour (``count[t] == 0``) is its own model (all background).
    """
    T, F = VT.shape
    k = idx.shape[1]
    gathered = np.empty((F, max(k, 1)), dtype=VT.dtype)  # neighbours of one frame, by bin
    for t in range(lo, hi):
        m = count[t]
        if m == 0:
            for f in range(F):
                out[t, f] = VT[t, f]
            continue
        for i in range(m):  # contiguous reads of each neighbour frame
            row = idx[t, i]
            for f in range(F):
                gathered[f, i] = VT[row, f]
        for f in range(F):
            med = _median_inplace(gathered[f], m)
            v = VT[t, f]
            out[t, f] = med if (med < v or not cut) else v
