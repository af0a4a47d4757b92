"""numba kernels of the REPET family (arrays in, preallocated arrays out, no checks).

* :func:`segment_model` -- REPET's repeating-segment model: for every row and every
  position inside the period, the median of the period-aligned values, then the minimum
  with the mixture (Rafii & Pardo 2013); :func:`segment_split` also writes the rest and,
  on request, the two ratio masks, row by row while the row is in cache.
* :func:`local_period_model` -- adaptive REPET's model: per frame, the median of the frames
  one local period apart (Liutkus et al. 2012).
* :func:`topk_similar` -- REPET-SIM's selection: for each row of a block of the cosine
  similarity matrix, its ``k`` highest local maxima (each above every other value within
  ``min_distance`` frames) at or above ``threshold`` (monotonic queues and a min-heap).
* :func:`neighbour_model` -- REPET-SIM's model: per frame, the median of the selected frames,
  then the minimum with the mixture.
* :func:`rows_max`, :func:`mean_power_rows`, :func:`add_power` -- the passes of REPET's beat
  spectrum around scipy's FFTs: the scale, the power of the channels' mean spectrogram, and
  the sum of the rows' power spectra.

Medians follow numpy's convention (the mean of the two middle values for an even count).
REPET's medians over at most 128 segments come from a pruned sorting network
(:func:`_network_medians`: branch-free min / max over 64 columns at once); REPET's over more
segments and REPET-SIM's are *radix selections* (:func:`_radix_medians`): the
bit patterns of non-negative floats sort like the floats, so the middle value of each of 64
columns is built bit by bit with branch-free counting passes that the compiler vectorises
(31 passes for float32) -- about 4x faster than a quickselect per column for 100 values.
Adaptive REPET keeps the quickselect (:func:`_median_inplace`).
"""

from __future__ import annotations

import numpy as np

from .._config import jit
from .masks import ratio_masks_pair  # compiled into segment_split (see the note below)

# numba's on-disk cache does not notice edits of functions from other files: after editing
# ``ratio_masks_pair`` in masks.py, touch this file (or clear __pycache__) so that
# ``segment_split``, which compiles it in, is rebuilt.


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
def rows_max(A, lo, hi):
    """The largest value of the rows ``lo .. hi - 1`` of ``A`` (R, T); 0 for none."""
    peak = A.dtype.type(0)
    for r in range(lo, hi):
        row = A[r]
        for t in range(A.shape[1]):
            peak = max(peak, row[t])
    return peak


@jit(nogil=True)
def mean_power_rows(S, first, second, lo, hi, out):
    """``out[f - lo, t] = (second * sum_c first * S[c, f, t])^2`` for ``lo <= f < hi``.

    ``S`` (C, F, T) non-negative.  The caller's ``first * second * C`` is about
    ``1 / max S`` (``first`` a power of two, ``second`` one over ``C`` times another): the
    row is then the square of the channels' mean over its peak, at most 1.  Each term
    is scaled by ``first`` before the sum and by ``second`` after, so no intermediate value
    overflows or underflows for peaks from the smallest subnormal to the largest float.
    """
    C, _, T = S.shape
    for f in range(lo, hi):
        row = out[f - lo]
        for t in range(T):
            row[t] = first * S[0, f, t]
        for c in range(1, C):
            for t in range(T):
                row[t] += first * S[c, f, t]
        for t in range(T):
            v = second * row[t]
            row[t] = v * v


@jit(nogil=True)
def add_power(spec, acc):
    """``acc[k] += sum_r |spec[r, k]|^2`` in float64: the rows' power spectra, summed."""
    for r in range(spec.shape[0]):
        row = spec[r]
        for k in range(spec.shape[1]):
            re = np.float64(row[k].real)
            im = np.float64(row[k].imag)
            acc[k] += re * re + im * im


_LANES = 64  # columns per block of the radix medians: m x 64 keys stay in the L1 cache


@jit(nogil=True)
def _radix_medians(keys, m, nb, n_bits, hi_key, lo_key, cnt, cand):
    """Medians of the columns ``0:nb`` of ``keys[:m]``, ``n`` values per column at once.

    ``keys`` (>= m, >= nb) int32 / int64: the bit patterns of non-negative floats, which
    sort like the floats.  For each column the ``kth = m // 2`` smallest key is built bit
    by bit from the top: the largest ``K`` with ``#{keys < K} <= kth`` is that key (one
    vectorised counting pass over the ``m`` rows per bit: ``n_bits`` passes, no branches,
    no reordering, instead of a quickselect per column).  ``hi_key[j]`` receives it; for an
    even ``m``, ``lo_key[j]`` receives the ``kth - 1`` smallest (the key itself if it is
    repeated, else the largest key below it: one more pass).
    """
    kth = m // 2
    one = keys.dtype.type(1)
    for j in range(nb):
        hi_key[j] = 0
    for bit in range(n_bits - 1, -1, -1):
        step = one << bit
        for j in range(nb):
            cand[j] = hi_key[j] | step
            cnt[j] = 0
        for i in range(m):
            row = keys[i]
            for j in range(nb):
                cnt[j] += np.int32(row[j] < cand[j])
        for j in range(nb):
            if cnt[j] <= kth:
                hi_key[j] = cand[j]
    if m % 2 == 0:
        for j in range(nb):
            cnt[j] = 0
            cand[j] = -1
        for i in range(m):
            row = keys[i]
            for j in range(nb):
                v = row[j]
                below = v < hi_key[j]
                cnt[j] += np.int32(below)
                if below and v > cand[j]:
                    cand[j] = v
        for j in range(nb):
            lo_key[j] = hi_key[j] if cnt[j] <= kth - 1 else cand[j]


@jit(nogil=True)
def _net_size(net):
    """Rows a comparator network sorts (0 for none)."""
    size = 0
    for c in range(net.shape[0]):
        size = max(size, net[c, 1] + 1)
    return size


@jit(nogil=True)
def _network_medians(keys, m, nb, net, hi_key, lo_key):
    """:func:`_radix_medians` by a comparator network: the columns ``0:nb`` of
    ``keys[:m]`` padded with the largest key to the network's size, then each comparator
    ``(a, b)``, ``a < b``, puts the smaller key of rows ``a`` and ``b`` in ``a`` and the
    larger in ``b``, 64 columns at once (branch-free min / max that the compiler
    vectorises).  ``net`` must sort the middle rows ``m // 2`` (and ``m // 2 - 1`` for an
    even ``m``) into place (Batcher's odd-even merge sort, pruned to what they need:
    :func:`dsp_separate.separators.repet._median_network`).  Reorders ``keys``.

    For up to a few dozen values this is several times fewer operations than the radix
    selection's one counting pass per bit (31 for float32).
    """
    size = _net_size(net)
    top = keys.dtype.type(np.iinfo(keys.dtype).max)
    for i in range(m, size):
        for j in range(nb):
            keys[i, j] = top
    for c in range(net.shape[0]):
        ra = keys[net[c, 0]]
        rb = keys[net[c, 1]]
        for j in range(nb):
            x = ra[j]
            y = rb[j]
            ra[j] = min(x, y)
            rb[j] = max(x, y)
    kth = m // 2
    for j in range(nb):
        hi_key[j] = keys[kth, j]
    if m % 2 == 0:
        for j in range(nb):
            lo_key[j] = keys[kth - 1, j]


@jit(nogil=True)
def _median_of_keys(hi_val, lo_val, m, j):
    """The median from the middle value(s) (float views of the keys), numpy's convention."""
    if m % 2 == 1:
        return hi_val[j]
    return 0.5 * (lo_val[j] + hi_val[j])


@jit(nogil=True)
def segment_model(S, SI, period, cut, net, hi_val, hi_key, lo_val, lo_key, out):
    """REPET model of every row of ``S`` (R, T) for ``period`` frames, written to ``out``.

    ``out[r, t] = min(median_j S[r, (t % period) + j * period], S[r, t])`` over the segments
    ``j`` that reach that position (the last segment may be partial); without the minimum
    when ``cut`` is False (KAM's periodic kernel).  ``S`` is non-negative and ``SI`` its bit
    patterns (``S.view(int32 / int64)``); the medians of up to ``_LANES`` positions in the
    period are taken together (:func:`_radix_medians`) from the segments' rows.
    ``hi_val``/``lo_val`` (``_LANES``,) float scratch, ``hi_key``/``lo_key`` their views.
    ``net`` (n_comp, 2): a comparator network for the medians of ``n_seg`` and
    ``n_seg - 1`` values (:func:`_network_medians`), or empty: the radix medians.
    """
    n_seg = (S.shape[1] + period - 1) // period
    keys = np.empty((max(n_seg, _net_size(net)), _LANES), dtype=SI.dtype)
    cnt = np.empty(_LANES, dtype=np.int32)
    cand = np.empty(_LANES, dtype=SI.dtype)
    for r in range(S.shape[0]):
        _segment_row(S[r], SI[r], period, cut, net, hi_val, hi_key, lo_val, lo_key, keys,
                     cnt, cand, out[r])


@jit(nogil=True)
def segment_split(S, period, n_freq, low_bins, power, tiny, masks, net, hi_val, hi_key,
                  lo_val, lo_key, first_row, row, row_key, background, foreground):
    """REPET's two sources for the rows of ``S`` (R, T), one row at a time while it is in
    cache: the model ``W`` (:func:`segment_model`, ``cut``), ``W = S`` in the rows of the
    frequencies below ``low_bins`` (row ``first_row + r`` is frequency
    ``(first_row + r) % n_freq``), the rest ``S - W``; with ``masks`` True, both turned into
    the ratio masks of power ``power`` in place (:func:`.masks.ratio_masks_pair`, the shared
    rule, bit for bit).  Writes ``background`` (R, T) and ``foreground`` (R, T); a
    ``foreground`` of one row is scratch (only the background's mask is wanted).
    Each row of ``S`` is copied to ``row`` (T,) (``row_key`` its bit view) first, so
    ``background`` may be ``S`` itself (the spectrogram is then overwritten).
    """
    R, T = S.shape
    n_seg = (T + period - 1) // period
    keys = np.empty((max(n_seg, _net_size(net)), _LANES), dtype=row_key.dtype)
    cnt = np.empty(_LANES, dtype=np.int32)
    cand = np.empty(_LANES, dtype=row_key.dtype)
    for r in range(R):
        src = S[r]
        for t in range(T):
            row[t] = src[t]
        w = background[r]
        f = foreground[r if foreground.shape[0] == R else 0]
        if (first_row + r) % n_freq < low_bins:
            for t in range(T):
                w[t] = row[t]
        else:
            _segment_row(row, row_key, period, True, net, hi_val, hi_key, lo_val, lo_key,
                         keys, cnt, cand, w)
        for t in range(T):
            f[t] = row[t] - w[t]
        if masks:
            ratio_masks_pair(w, f, power, tiny, 0, T, w, f)


@jit(nogil=True)
def _segment_row(s, si, period, cut, net, hi_val, hi_key, lo_val, lo_key, keys, cnt, cand,
                 out):
    """:func:`segment_model` of one row ``s`` (T,) (bits ``si``) into ``out``; ``keys``
    (>= n_seg and >= the network's size, _LANES), ``cnt``, ``cand`` (_LANES,) scratch."""
    T = s.shape[0]
    n_seg = (T + period - 1) // period
    full = T - (n_seg - 1) * period  # positions 0:full are in every segment, the rest one less
    n_bits = si.itemsize * 8 - 1
    p = min(period, T)
    t0 = 0
    while t0 < p:
        t1 = min(t0 + _LANES, p)
        if t0 < full:
            t1 = min(t1, full)
            m = n_seg
        else:
            m = n_seg - 1
        nb = t1 - t0
        for i in range(m):
            base = t0 + i * period
            for j in range(nb):
                keys[i, j] = si[base + j]
        if net.shape[0] > 0:
            _network_medians(keys, m, nb, net, hi_key, lo_key)
        else:
            _radix_medians(keys, m, nb, n_bits, hi_key, lo_key, cnt, cand)
        if m % 2 == 0:
            for j in range(nb):
                hi_val[j] = 0.5 * (lo_val[j] + hi_val[j])
        # segment by segment: runs of nb contiguous frames (vectorised), not a stride of
        # ``period`` frames per position
        for i in range(n_seg):
            base = t0 + i * period
            nj = min(nb, T - base)
            if nj <= 0:
                break
            src = s[base:base + nj]
            dst = out[base:base + nj]
            if cut:
                for j in range(nj):
                    dst[j] = min(hi_val[j], src[j])
            else:
                for j in range(nj):
                    dst[j] = hi_val[j]
        t0 = t1


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
def neighbour_model(VT, VI, idx, count, lo, hi, cut, hi_val, hi_key, lo_val, lo_key, out):
    """REPET-SIM model of frames ``lo:hi``.

    ``out[t, f] = min(median_i VT[idx[t, i], f], VT[t, f])`` over ``i < count[t]`` (without
    the minimum when ``cut`` is False: KAM's similarity kernel).

    ``VT`` (T, F) is the (non-negative) magnitude spectrogram with frames as rows, ``VI``
    its bit patterns (``VT.view(int32 / int64)``).  A frame with no selected neighbour
    (``count[t] == 0``) is its own model (all background).  The medians of ``_LANES``
    bins are taken together (:func:`_radix_medians`, contiguous reads of each neighbour
    frame).  ``hi_val``/``lo_val`` (``_LANES``,) float scratch, ``hi_key``/``lo_key`` their
    integer views.
    """
    T, F = VT.shape
    k = idx.shape[1]
    n_bits = VI.itemsize * 8 - 1
    keys = np.empty((max(k, 1), _LANES), dtype=VI.dtype)
    cnt = np.empty(_LANES, dtype=np.int32)
    cand = np.empty(_LANES, dtype=VI.dtype)
    for t in range(lo, hi):
        m = count[t]
        if m == 0:
            for f in range(F):
                out[t, f] = VT[t, f]
            continue
        for f0 in range(0, F, _LANES):
            nb = min(_LANES, F - f0)
            for i in range(m):
                row = idx[t, i]
                for j in range(nb):
                    keys[i, j] = VI[row, f0 + j]
            _radix_medians(keys, m, nb, n_bits, hi_key, lo_key, cnt, cand)
            for j in range(nb):
                med = _median_of_keys(hi_val, lo_val, m, j)
                v = VT[t, f0 + j]
                out[t, f0 + j] = med if (med < v or not cut) else v
