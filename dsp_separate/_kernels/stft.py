"""Numba kernels of the STFT: framing + windowing, window sum-square, overlap-add.

Arrays in, preallocated arrays out; no validation (see ``dsp_separate._stft``).
Shapes use ``B`` for the flattened leading (batch/channel) axes.

The STFT's kernels are serial and release the GIL: ``dsp_separate._stft`` runs one chunk of
frames per thread (framing, FFT, transpose or overlap-add all in that thread), which keeps
each thread's working set in its own cache and needs no synchronisation per chunk.
``transpose_last2`` is the parallel version used on whole arrays (HPSS).
"""

from numba import prange

from .._config import jit


@jit(nogil=True)
def frame_windowed(x, window, hop, out):
    """``out[b, t, i] = x[b, t * hop + i] * window[i]``.

    x : (B, L) padded signal; window : (n_fft,); out : (B, n_frames, n_fft).
    """
    n_batch, n_frames, n_fft = out.shape
    for job in range(n_batch * n_frames):
        b = job // n_frames
        t = job - b * n_frames
        # 1-D slices indexed by a range variable: no negative-index checks, so the loop
        # vectorises (indexing x[b, t * hop + i] directly is ~2x slower)
        src = x[b, t * hop : t * hop + n_fft]
        dst = out[b, t]
        for i in range(n_fft):
            dst[i] = src[i] * window[i]


@jit
def window_sumsquare(window, hop, n_frames, start, out):
    """``out[n] = sum_t window[start + n - t * hop] ** 2`` over the frames that cover it.

    ``start`` is the padded-signal index of ``out[0]``.
    """
    n_fft = window.shape[0]
    length = out.shape[0]
    out[:] = 0.0
    for t in range(n_frames):
        lo = max(t * hop, start)
        hi = min(t * hop + n_fft, start + length)
        if hi <= lo:
            continue
        w = window[lo - t * hop : hi - t * hop]
        dst = out[lo - start : hi - start]
        for j in range(hi - lo):
            dst[j] += w[j] * w[j]


@jit(nogil=True)
def overlap_add(frames, window, hop, first_frame, start, own_lo, own_hi, out):
    """Add windowed frames into ``out`` (overlap-add, without normalisation).

    frames : (B, n_chunk, n_fft) inverse FFTs of frames ``first_frame .. first_frame +
    n_chunk - 1``; window : (n_fft,); out : (B, length) holds samples ``start .. start +
    length - 1`` of the padded signal and is accumulated into (call once per chunk of
    frames, then :func:`divide_where`).  Only samples ``own_lo .. own_hi - 1`` (padded
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
def divide_where(out, wss, tiny):
    """``out[b, m] /= wss[m]`` where ``wss[m] > tiny`` (elsewhere left as it is)."""
    n_batch, length = out.shape
    for b in range(n_batch):
        row = out[b]
        for m in range(length):
            s = wss[m]
            if s > tiny:
                row[m] /= s


@jit(nogil=True)
def transpose_tiles(a, out):
    """Serial :func:`transpose_last2` (for callers that run it in their own threads)."""
    n_batch, n_rows = a.shape[0], a.shape[1]
    n_cols = out.shape[1]
    tile = 32
    for b in range(n_batch):
        for c0 in range(0, n_cols, tile):
            c1 = min(c0 + tile, n_cols)
            for r0 in range(0, n_rows, tile):
                r1 = min(r0 + tile, n_rows)
                for c in range(c0, c1):
                    for r in range(r0, r1):
                        out[b, c, r] = a[b, r, c]


@jit(parallel=True)
def transpose_last2(a, out):
    """``out[b] = a[b, :, :C].T`` for ``a`` of shape (B, R, >= C) and ``out`` of shape
    (B, C, R): the first ``C`` columns of ``a`` (all of them when the shapes match),
    transposed in cache-sized tiles, in parallel."""
    n_batch, n_rows = a.shape[0], a.shape[1]
    n_cols = out.shape[1]
    tile = 32
    n_tr = (n_rows + tile - 1) // tile
    n_tc = (n_cols + tile - 1) // tile
    for job in prange(n_batch * n_tc):
        b = job // n_tc
        c0 = (job - b * n_tc) * tile
        c1 = min(c0 + tile, n_cols)
        for tr in range(n_tr):
            r0 = tr * tile
            r1 = min(r0 + tile, n_rows)
            for c in range(c0, c1):
                for r in range(r0, r1):
                    out[b, c, r] = a[b, r, c]
