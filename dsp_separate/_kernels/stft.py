"""Numba kernels of the STFT: framing + windowing, window sum-square, overlap-add.

Arrays in, preallocated arrays out; no validation (see ``dsp_separate._stft``).
Shapes use ``B`` for the flattened leading (batch/channel) axes.

The kernels are serial and release the GIL: ``dsp_separate._stft`` runs one chunk of
frames per thread of the package's pool (framing, FFT, transpose or overlap-add all in that
thread), which keeps each thread's working set in its own cache and needs no
synchronisation per chunk.  ``transpose_last2`` (whole arrays, HPSS) splits its tiles over
the same pool.  No kernel here is a numba ``parallel=True`` function: those compile several
times slower and run on numba's threading layer, which is neither fork- nor thread-safe
everywhere (see :mod:`dsp_separate._config`).
"""

import numpy as np

from .._config import in_threads, jit


@jit(nogil=True)
def frame_windowed(x, window, hop, first_frame, n_frames, out, offset, row):
    """``out[b, row + t, i] = x[b, (first_frame + t) * hop + offset + i] * window[i]`` for
    ``t < n_frames``.

    x : (B, L) signal (``offset``: the index in ``x`` of padded sample 0, e.g. ``-n_fft //
    2`` for frames read from the unpadded interior of a centred signal); window :
    (n_fft,); out : (B, >= row + n_frames, n_fft), a chunk buffer of which frames ``row ..
    row + n_frames - 1`` are written.  Whole arrays plus offsets (rather than slices) keep
    every argument C-contiguous: one compilation per dtype.
    """
    n_batch = out.shape[0]
    n_fft = out.shape[2]
    for job in range(n_batch * n_frames):
        b = job // n_frames
        t = job - b * n_frames
        # 1-D slices indexed by a range variable: no negative-index checks, so the loop
        # vectorises (indexing x[b, t * hop + i] directly is ~2x slower)
        lo = (first_frame + t) * hop + offset
        src = x[b, lo : lo + n_fft]
        dst = out[b, row + t]
        for i in range(n_fft):
            dst[i] = src[i] * window[i]


@jit(nogil=True)
def _interior(n_fft, hop, n_frames, start, length):
    """``[i_lo, i_hi)``: the indices of an output starting at padded index ``start`` where
    every frame that could cover a sample exists (padded ``n_fft - hop <= m < n_frames *
    hop``); there the window sum-square depends on ``m % hop`` only."""
    i_lo = min(max(n_fft - hop - start, 0), length)
    i_hi = max(min(n_frames * hop - start, length), i_lo)
    return i_lo, i_hi


@jit(nogil=True)
def _period_sumsquare(window, hop, dtype_like):
    """``p[j] = sum_k window[j + k hop] ** 2``, summed in the order of increasing frames
    (decreasing window offsets), as the frame-by-frame sum adds them."""
    n_fft = window.shape[0]
    period = np.zeros(hop, dtype=dtype_like.dtype)
    for j in range(hop):
        k = j + ((n_fft - 1 - j) // hop) * hop
        acc = period[j]
        while k >= 0:
            acc += window[k] * window[k]
            k -= hop
        period[j] = acc
    return period


@jit(nogil=True)
def window_sumsquare(window, hop, n_frames, start, out):
    """``out[n] = sum_t window[start + n - t * hop] ** 2`` over the frames that cover it.

    ``start`` is the padded-signal index of ``out[0]``.  Where every frame that could cover
    a sample exists (:func:`_interior`) the sum depends on ``m % hop`` only: one period is
    summed and repeated, and the frame-by-frame sum runs only over the edges (the same terms
    in the same order: the same values, bit for bit).
    """
    n_fft = window.shape[0]
    length = out.shape[0]
    i_lo, i_hi = _interior(n_fft, hop, n_frames, start, length)
    if i_hi > i_lo:
        period = _period_sumsquare(window, hop, out)
        n = i_lo
        j = (start + n) % hop
        while n < i_hi:  # runs of the period (no division per sample)
            run = min(hop - j, i_hi - n)
            for q in range(run):
                out[n + q] = period[j + q]
            n += run
            j = 0
    for part in range(2):
        e_lo, e_hi = (0, i_lo) if part == 0 else (i_hi, length)
        if e_hi <= e_lo:
            continue
        out[e_lo:e_hi] = 0.0
        # frames that reach the edge [e_lo, e_hi) of out
        t_lo = max(0, (start + e_lo - n_fft) // hop)
        t_hi = min(n_frames, (start + e_hi - 1) // hop + 1)
        for t in range(t_lo, t_hi):
            lo = max(t * hop, start + e_lo)
            hi = min(t * hop + n_fft, start + e_hi)
            if hi <= lo:
                continue
            w = window[lo - t * hop : hi - t * hop]
            dst = out[lo - start : hi - start]
            for j in range(hi - lo):
                dst[j] += w[j] * w[j]


@jit(nogil=True)
def divide_by_sumsquare(out, window, hop, n_frames, start, tiny):
    """``out[b, n] /= wss[n]`` where ``wss[n] > tiny``, ``wss`` the
    :func:`window_sumsquare` of ``out``'s samples (the same values), without a signal-long
    ``wss`` array: the interior divides by the repeated period, the edges by their own
    short sums.  Equals dividing by :func:`window_sumsquare` where it exceeds ``tiny``,
    bit for bit.
    """
    n_batch, length = out.shape
    n_fft = window.shape[0]
    i_lo, i_hi = _interior(n_fft, hop, n_frames, start, length)
    for part in range(2):
        e_lo, e_hi = (0, i_lo) if part == 0 else (i_hi, length)
        if e_hi <= e_lo:
            continue
        edge = np.empty(e_hi - e_lo, dtype=out.dtype)
        window_sumsquare(window, hop, n_frames, start + e_lo, edge)
        for b in range(n_batch):
            row = out[b, e_lo:e_hi]
            for n in range(e_hi - e_lo):
                s = edge[n]
                if s > tiny:
                    row[n] /= s
    if i_hi > i_lo:
        period = _period_sumsquare(window, hop, out)
        for b in range(n_batch):
            n = i_lo
            j = (start + n) % hop
            while n < i_hi:
                run = min(hop - j, i_hi - n)
                row = out[b, n:n + run]
                per = period[j:j + run]
                for q in range(run):
                    s = per[q]
                    if s > tiny:
                        row[q] /= s
                n += run
                j = 0


@jit(nogil=True)
def overlap_add(frames, window, hop, first_frame, start, own_lo, own_hi, out):
    """Add windowed frames into ``out`` (overlap-add, without normalisation).

    frames : (B, n_chunk, n_fft) inverse FFTs of frames ``first_frame .. first_frame +
    n_chunk - 1``; window : (n_fft,); out : (B, length) holds samples ``start .. start +
    length - 1`` of the padded signal and is accumulated into (call once per chunk of
    frames, then :func:`divide_by_sumsquare`).  Only samples ``own_lo .. own_hi - 1`` (padded
    coordinates) are written, so threads that own disjoint ranges never write the same
    sample.  Output samples are grouped in blocks of ``hop`` samples; each block gathers
    from the frames of the chunk that overlap it.
    """
    n_batch, n_chunk, n_fft = frames.shape
    length = out.shape[1]
    last_frame = first_frame + n_chunk - 1
    span_lo = max(first_frame * hop, start, own_lo)
    span_hi = min(last_frame * hop + n_fft, start + length, own_hi)
    if span_hi <= span_lo:
        return
    first_block = span_lo // hop
    n_blocks = (span_hi - 1) // hop - first_block + 1
    for job in range(n_batch * n_blocks):
        b = job // n_blocks
        k = first_block + (job - b * n_blocks)
        m_lo = max(k * hop, span_lo)
        m_hi = min((k + 1) * hop, span_hi)
        # inner loops run over 1-D slices with range indices so that they vectorise
        dst = out[b, m_lo - start : m_hi - start]
        # frames t with t * hop <= m < t * hop + n_fft for some m in the block
        t_lo = max(first_frame, (k * hop - n_fft) // hop + 1)
        t_hi = min(last_frame, k)
        for t in range(t_lo, t_hi + 1):
            off = t * hop
            lo = max(m_lo, off)
            hi = min(m_hi, off + n_fft)
            src = frames[b, t - first_frame, lo - off : hi - off]
            w = window[lo - off : hi - off]
            part = dst[lo - m_lo : hi - m_lo]
            for j in range(hi - lo):
                part[j] += src[j] * w[j]


@jit(nogil=True)
def frames_to_columns(spec, n_frames, out, first_frame):
    """``out[b, f, first_frame + t] = spec[b, t, f]`` for ``t < n_frames`` (forward STFT).

    spec : (B, >= n_frames, F) spectra of a chunk of frames, one per row; out : (B, F, T).
    Transposed in 32 x 32 tiles so that reads and writes both stay in cache.
    """
    n_batch = spec.shape[0]
    n_freq = out.shape[1]
    tile = 32
    for b in range(n_batch):
        for f0 in range(0, n_freq, tile):
            f1 = min(f0 + tile, n_freq)
            for t0 in range(0, n_frames, tile):
                t1 = min(t0 + tile, n_frames)
                for f in range(f0, f1):
                    for t in range(t0, t1):
                        out[b, f, first_frame + t] = spec[b, t, f]


@jit(nogil=True)
def magnitudes_to_columns(spec, n_frames, out, first_frame):
    """``out[b, f, first_frame + t] = |spec[b, t, f]|`` for ``t < n_frames``: the chunk of
    :func:`frames_to_columns` of a magnitude spectrogram, without the complex STFT.

    spec : (B, >= n_frames, F) complex spectra of a chunk of frames; out : (B, F, T) real.
    The magnitude is ``sqrt(re**2 + im**2)`` in float64 (for complex64 spectra: the
    squares are exact, the result within an ulp of the exact value and of
    :func:`numpy.abs`), and ``hypot`` where the squares would overflow or lose precision
    (float64 spectra beyond 1e150 or below 1e-145; numba's ``abs`` is ``hypot`` everywhere,
    several times slower).
    """
    n_batch = spec.shape[0]
    n_freq = out.shape[1]
    tile = 32
    for b in range(n_batch):
        for f0 in range(0, n_freq, tile):
            f1 = min(f0 + tile, n_freq)
            for t0 in range(0, n_frames, tile):
                t1 = min(t0 + tile, n_frames)
                for f in range(f0, f1):
                    for t in range(t0, t1):
                        z = spec[b, t, f]
                        re = np.float64(z.real)
                        im = np.float64(z.imag)
                        a = re * re + im * im
                        if a < 1e300 and (a > 1e-290 or (re == 0.0 and im == 0.0)):
                            out[b, f, first_frame + t] = np.sqrt(a)
                        else:
                            out[b, f, first_frame + t] = np.hypot(re, im)


@jit(nogil=True)
def masked_rows(rows, gain, first_frame, n_frames, out):
    """``out[b, t, f] = rows[b, first_frame + t, f] * gain[b, f, first_frame + t]`` for
    ``t < n_frames``: a chunk of frames of an STFT stored frame by frame, (B, T, F), times a
    gain in the STFT's usual layout, (B, F, T), read in 32 x 32 tiles (the same products as
    :func:`masked_columns_to_frames`); out : (B, >= n_frames, F).
    """
    n_batch = rows.shape[0]
    n_freq = rows.shape[2]
    tile = 32
    for b in range(n_batch):
        for t0 in range(0, n_frames, tile):
            t1 = min(t0 + tile, n_frames)
            for f0 in range(0, n_freq, tile):
                f1 = min(f0 + tile, n_freq)
                for t in range(t0, t1):
                    src = rows[b, first_frame + t]
                    dst = out[b, t]
                    for f in range(f0, f1):
                        dst[f] = src[f] * gain[b, f, first_frame + t]


@jit(nogil=True)
def columns_to_frames(X, first_frame, n_frames, out):
    """``out[b, t, f] = X[b, f, first_frame + t]`` for ``t < n_frames`` (inverse STFT).

    X : (B, F, T) STFT; out : (B, >= n_frames, F) chunk buffer, one frame per row.
    """
    n_batch = X.shape[0]
    n_freq = X.shape[1]
    tile = 32
    for b in range(n_batch):
        for t0 in range(0, n_frames, tile):
            t1 = min(t0 + tile, n_frames)
            for f0 in range(0, n_freq, tile):
                f1 = min(f0 + tile, n_freq)
                for t in range(t0, t1):
                    for f in range(f0, f1):
                        out[b, t, f] = X[b, f, first_frame + t]


@jit(nogil=True)
def masked_columns_to_frames(X, gain, first_frame, n_frames, out, frame_major=False):
    """``out[b, t, f] = gain[b, f, first_frame + t] * X[b, f, first_frame + t]``: the
    chunk of :func:`columns_to_frames` of a masked STFT, without a full-size masked copy.

    X : (B, F, T) complex; gain : (B, F, T) real, or with ``frame_major`` a gain stored
    frame by frame, (B, T, F), read in the order the frames are written (no transpose);
    out : (B, >= n_frames, F).
    """
    n_batch = X.shape[0]
    n_freq = X.shape[1]
    tile = 32
    for b in range(n_batch):
        for t0 in range(0, n_frames, tile):
            t1 = min(t0 + tile, n_frames)
            for f0 in range(0, n_freq, tile):
                f1 = min(f0 + tile, n_freq)
                for t in range(t0, t1):
                    if frame_major:
                        g = gain[b, first_frame + t]
                        for f in range(f0, f1):
                            out[b, t, f] = X[b, f, first_frame + t] * g[f]
                    else:
                        for f in range(f0, f1):
                            out[b, t, f] = X[b, f, first_frame + t] * gain[b, f, first_frame + t]


@jit(nogil=True)
def transpose_range(a, out, lo, hi):
    """Jobs ``lo .. hi - 1`` of :func:`transpose_last2`: job ``j`` is batch ``j // n_tc``,
    column tile ``j % n_tc`` (``n_tc`` tiles of 32 columns)."""
    n_rows = a.shape[1]
    n_cols = out.shape[1]
    tile = 32
    n_tr = (n_rows + tile - 1) // tile
    n_tc = (n_cols + tile - 1) // tile
    for job in range(lo, hi):
        b = job // n_tc
        c0 = (job - b * n_tc) * tile
        c1 = min(c0 + tile, n_cols)
        for tr in range(n_tr):
            r0 = tr * tile
            r1 = min(r0 + tile, n_rows)
            for c in range(c0, c1):
                for r in range(r0, r1):
                    out[b, c, r] = a[b, r, c]


def transpose_last2(a, out):
    """``out[b] = a[b, :, :C].T`` for ``a`` of shape (B, R, >= C) and ``out`` of shape
    (B, C, R): the first ``C`` columns of ``a`` (all of them when the shapes match),
    transposed in cache-sized tiles, in the package's thread pool (HPSS).

    Not a numba function: it splits the tiles over threads that each run
    :func:`transpose_range` (serial, releases the GIL).
    """
    n_batch, n_rows = a.shape[0], a.shape[1]
    n_tc = (out.shape[1] + 31) // 32
    # a thread gets at least ~1 MiB of float32 to move
    min_jobs = max(1, (1 << 18) // max(1, 32 * n_rows))
    in_threads(lambda lo, hi: transpose_range(a, out, lo, hi), n_batch * n_tc, min_jobs)
