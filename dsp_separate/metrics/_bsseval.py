"""BSS Eval: v3 sources, v3/v4 images (Vincent et al. 2006; Stöter et al. 2018).

:func:`bss_eval_sources` (sources ``(n_src, n_samples)``: SDR, SIR, SAR) and
:func:`bss_eval_images` (images ``(n_src, n_chan, n_samples)``: SDR, ISR, SIR, SAR), on the
whole signal or on frames (``frame_samples``/``hop_samples``).  Both follow the definitions
of the BSS Eval toolbox with a 512-tap distortion filter and give the figures of mir_eval
(v3) and museval (v4) to well within 0.01 dB.  The numba kernels are in
:mod:`dsp_separate._kernels.bsseval`.

How BSS Eval is computed here
-----------------------------
The estimate is projected on the span of the delayed references
(:math:`r_k[n - d]`, ``0 <= d < filter_len``).  The Gram matrix of that span is block
Toeplitz, so it is built from the auto- and cross-correlations of the references at
``|lag| < filter_len`` only; these and the estimate/reference correlations are computed
blockwise with FFTs (spectra of blocks multiplied and summed in the frequency domain, one
small inverse FFT per pair).  The normal equations are solved by the block Levinson
recursion (``O(m^3 F^2)`` for ``m`` reference channels and ``F = filter_len``, against
``O(m^3 F^3)`` for a dense solver), checked by iterative refinement, with a dense
Cholesky solve as the fallback.  Because the projections are orthogonal, every
whole-signal energy is a quadratic form of the solution: no projected signal is rebuilt.
Framewise v4 scores (museval: filters fitted once on the whole signal, energies per frame)
are computed from the spectra of the frames by Parseval's theorem.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import scipy.fft
import scipy.linalg

from .._validation import check_bool, check_positive_int, describe
from ..exceptions import ParameterError
from ._common import _best_perm, _check_pair, _ratio_db, _sanitize_for_assignment

__all__ = ["SourcesScores", "ImagesScores", "bss_eval_sources", "bss_eval_images"]


class SourcesScores(NamedTuple):
    """Result of :func:`bss_eval_sources`; every field is in reference order.

    Attributes
    ----------
    sdr, sir, sar : np.ndarray, float64, shape ``(n_src,)`` or ``(n_src, n_frames)``
        Source to distortion, interference and artifacts ratios in dB.
    perm : np.ndarray, int64, same shape
        ``perm[j]`` (``perm[j, t]``) is the estimate matched to reference ``j`` (in frame
        ``t``); ``-1`` in frames that were not scored.
    """

    sdr: np.ndarray
    sir: np.ndarray
    sar: np.ndarray
    perm: np.ndarray


class ImagesScores(NamedTuple):
    """Result of :func:`bss_eval_images`; every field is in reference order.

    Attributes
    ----------
    sdr, isr, sir, sar : np.ndarray, float64, shape ``(n_src,)`` or ``(n_src, n_frames)``
        Source to distortion, image to spatial distortion, source to interference and
        sources to artifacts ratios in dB.
    perm : np.ndarray, int64, same shape
        ``perm[j]`` (``perm[j, t]``) is the estimate matched to reference ``j`` (in frame
        ``t``); ``-1`` in frames that were not scored.
    """

    sdr: np.ndarray
    isr: np.ndarray
    sir: np.ndarray
    sar: np.ndarray
    perm: np.ndarray


# ----------------------------------------------------------------------------------------
# BSS Eval: correlations, Gram matrices, projections

_FFT_BLOCK = 8192  # FFT length of the blockwise correlations
_BLOCKS_PER_PASS = 32  # blocks transformed at once (bounds the memory)
_WORKERS = -1  # threads of the long batches of FFTs (all cores)


def _fill_rows(out, parts, lo, hi, offset):
    """``out[rows, offset : offset + hi - lo] = part[:, lo:hi]``, parts stacked by rows."""
    row = 0
    for part in parts:
        out[row : row + part.shape[0], offset : offset + hi - lo] = part[:, lo:hi]
        row += part.shape[0]


def _xcorr(xs, ys, max_lag, block=None, keep_spectra=False):
    """Linear cross-correlations at small lags, blockwise.

    ``out[k, q, max_lag + tau] = sum_n x[k, n] * y[q, n + tau]`` for ``|tau| <= max_lag``
    (signals are zero outside ``0 .. N-1``), ``x`` (``y``) the rows of the arrays ``xs``
    (``ys``) stacked, each ``(rows, N)``.

    ``x`` is cut into blocks of ``block`` samples; block ``b`` is correlated with the
    stretch of ``y`` that reaches ``max_lag`` samples beyond it on both sides, and the
    products of spectra are summed over blocks (numba) before one inverse FFT per pair.
    With ``keep_spectra`` also returns the spectra of the zero-padded blocks of ``x``
    (``(K, n_blocks, n_fft // 2 + 1)``) and ``n_fft``.
    """
    from .._kernels.bsseval import accumulate_cross_spectra

    n = xs[0].shape[-1]
    n_x = sum(x.shape[0] for x in xs)
    n_y = sum(y.shape[0] for y in ys)
    two_l = 2 * max_lag
    if block is not None:
        n_fft = scipy.fft.next_fast_len(block + two_l, real=True)
    elif n + two_l <= _FFT_BLOCK:
        n_fft = scipy.fft.next_fast_len(n + two_l, real=True)
        block = n
    else:
        n_fft = _FFT_BLOCK
        while n_fft < 4 * two_l:
            n_fft *= 2
        block = n_fft - two_l
    n_blocks = -(-n // block)
    n_freq = n_fft // 2 + 1
    acc = np.zeros((n_x, n_y, n_freq), dtype=np.complex128)
    kept = np.empty((n_x, n_blocks, n_freq), dtype=np.complex128) if keep_spectra else None
    per_pass = max(1, _BLOCKS_PER_PASS * _FFT_BLOCK // n_fft)
    for b0 in range(0, n_blocks, per_pass):
        b1 = min(b0 + per_pass, n_blocks)
        # blocks b0 .. b1-1 of x, and the same stretches of y widened by max_lag each side
        x_chunk = np.zeros((n_x, (b1 - b0) * block))
        lo, hi = b0 * block, min(b1 * block, n)
        _fill_rows(x_chunk, xs, lo, hi, 0)
        y_chunk = np.zeros((n_y, (b1 - b0) * block + two_l))
        y_lo, y_hi = max(lo - max_lag, 0), min(b1 * block + max_lag, n)
        _fill_rows(y_chunk, ys, y_lo, y_hi, y_lo - (lo - max_lag))
        x_f = scipy.fft.rfft(x_chunk.reshape(n_x, b1 - b0, block), n=n_fft, axis=-1,
                             workers=_WORKERS)
        y_segs = np.lib.stride_tricks.sliding_window_view(y_chunk, block + two_l,
                                                          axis=-1)[:, ::block]
        y_f = scipy.fft.rfft(y_segs, n=n_fft, axis=-1, workers=_WORKERS)
        accumulate_cross_spectra(x_f, y_f, acc)  # acc += sum over blocks of conj(X) Y
        if keep_spectra:
            kept[:, b0:b1] = x_f
    corr = scipy.fft.irfft(acc, n=n_fft, axis=-1)[..., : two_l + 1]
    return (corr, kept, n_fft) if keep_spectra else corr


def _dense_gram(R):
    """Dense matrix of the block-Toeplitz system: entry ``(a m + k, b m + l)`` is
    ``R[F - 1 + a - b][k, l]`` (``R``: ``(2F - 1, m, m)`` lag-major blocks)."""
    n_lags, m, _ = R.shape
    F = (n_lags + 1) // 2
    a = np.arange(F)
    g = R[(F - 1) + a[:, None] - a[None, :]]  # (F, F, m, m)
    return g.transpose(0, 2, 1, 3).reshape(F * m, F * m)


def _solve_psd(gram, rhs):
    """Solve ``gram @ x = rhs`` for a symmetric positive (semi)definite ``gram``.

    Cholesky factorisation.  A Gram matrix that is not numerically positive definite
    (linearly dependent references, e.g. identical channels) is loaded on its diagonal
    with ``1e-12`` of its mean diagonal (then 1e-9, 1e-6) so that the solve picks the
    nearly minimum-norm solution; the projection energies then change by a relative
    amount of that order.
    """
    n = gram.shape[0]
    load_scale = float(np.trace(gram)) / max(n, 1)
    for load in (0.0, 1e-12, 1e-9, 1e-6):
        a = np.array(gram, order="F", copy=True)
        if load:
            a.flat[:: n + 1] += load * load_scale
        try:
            factor = scipy.linalg.cho_factor(a, lower=True, overwrite_a=True,
                                             check_finite=False)
        except np.linalg.LinAlgError:
            continue
        return scipy.linalg.cho_solve(factor, rhs, check_finite=False)
    return scipy.linalg.lstsq(gram, rhs, check_finite=False)[0]


#: a block-Toeplitz solution is accepted when its last refinement step changed every
#: projection energy by at most this fraction of the energy of the projected signal
_SOLVE_TOL = 1e-9
#: diagonal load (relative to the mean diagonal) of the retry for singular systems
_LEVINSON_LOAD = 1e-10


def _toeplitz_matvec(R):
    """``x -> [sum_b R[a - b] x[b]]_a`` for ``x`` of shape ``(F, m, q)``, by FFT."""
    n_lags, m, _ = R.shape
    F = (n_lags + 1) // 2
    n_fft = scipy.fft.next_fast_len(n_lags + F - 1, real=True)
    R_f = scipy.fft.rfft(R, n=n_fft, axis=0)  # (nf, m, m)

    def matvec(x):
        y = scipy.fft.irfft(np.matmul(R_f, scipy.fft.rfft(x, n=n_fft, axis=0)), n=n_fft, axis=0)
        return y[F - 1 : 2 * F - 1]

    return matvec


def _levinson_refined(R, d, energy, load, n_refine):
    """Block Levinson on ``R`` (lag-0 block loaded by ``load``) + iterative refinement.

    Returns the solution, or None if the recursion broke down or the refinement did not
    bring the energy changes below ``_SOLVE_TOL * energy``.  With a load, refinement
    against the unloaded system is iterated Tikhonov regularisation: it converges to the
    (minimum-norm) solution of a singular but consistent system.
    """
    from .._kernels.bsseval import block_levinson_factor, block_levinson_solve

    F, m, q = d.shape
    R_fact = R
    if load:
        R_fact = R.copy()
        R_fact[F - 1] += load * np.trace(R[F - 1]) / m * np.eye(m)
    bwd = np.empty((F * (F + 1) // 2, m, m))
    if not block_levinson_factor(R_fact, bwd):
        return None
    x = np.empty_like(d)
    block_levinson_solve(R_fact, bwd, d, x)
    step = np.empty_like(d)
    matvec = _toeplitz_matvec(R)
    for _ in range(n_refine):
        if not np.isfinite(x).all():
            return None
        block_levinson_solve(R_fact, bwd, matvec(x) - d, step)
        x -= step
        change = np.abs(np.einsum("amq,amq->q", d, step))
        if np.all(change <= _SOLVE_TOL * energy):
            return x
    return None


def _solve_block_toeplitz(R, d, energy):
    """Solve ``sum_b R[a - b] x[b] = d[a]``; ``R``: ``(2F - 1, m, m)``, ``d``: ``(F, m, q)``.

    Block Levinson (``O(m^3 F^2)``, numba) with iterative refinement; if that fails
    (singular or badly conditioned references), again with a small diagonal load; last,
    the dense system by Cholesky.  ``energy[q]`` is the energy of the signal behind
    ``d[..., q]`` (the accuracy target).
    """
    R = np.ascontiguousarray(R)
    d = np.ascontiguousarray(d)
    F, m, q = d.shape
    for load, n_refine in ((0.0, 3), (_LEVINSON_LOAD, 20)):
        x = _levinson_refined(R, d, energy, load, n_refine)
        if x is not None:
            return x
    return _solve_psd(_dense_gram(R), d.reshape(F * m, q)).reshape(F, m, q)


def _independent_channels(corr0, n_chan, active):
    """Keep, within each source, only channels that are not a fixed combination of the
    channels kept before them (lag-0 residual energy above 1e-10 of their own).

    ``corr0``: ``(K, K)`` lag-0 Gram of the unit-energy active basis; returns a boolean
    mask over the active basis.  Identical or proportional channels (a panned mono
    source) add nothing to the span but would make the Gram matrix singular.
    """
    keep = np.zeros(active.size, dtype=bool)
    owner = active // n_chan
    for j in np.unique(owner):
        kept = []
        for k in np.flatnonzero(owner == j):
            if kept:
                g = corr0[np.ix_(kept, kept)]
                v = corr0[kept, k]
                resid = corr0[k, k] - v @ np.linalg.lstsq(g, v, rcond=None)[0]
                if resid <= 1e-10 * corr0[k, k]:
                    continue
            kept.append(k)
            keep[k] = True
    return keep


class _Fit(NamedTuple):
    """Projection energies (and filters) of every estimate channel on reference spans."""

    energy_all: np.ndarray  # (J, C): ||P_all e[i, c]||^2
    energy_own: np.ndarray  # (J, J, C): ||P_j e[i, c]||^2 (NaN where not computed)
    filters_all: np.ndarray | None  # (J, C, J, C, F): P_all e[i, c] = sum h * r[j, c']
    filters_own: np.ndarray | None  # (J, J, C, C, F): P_j e[i, c] = sum h * r[j, c']
    spectra: np.ndarray | None  # (2 J C, n_blocks, nf): blocks of refs then ests
    n_fft: int


def _fit(refs, ests, filter_len, all_pairs, keep_filters, block=None):
    """Least-squares projections of each estimate channel.

    ``refs``, ``ests``: float64 ``(J, C, N)``.  The basis is every non-silent reference
    channel ``r[j, c]`` delayed by ``0 .. filter_len - 1`` samples (minus channels that are
    fixed combinations of the other channels of their source).  ``P_all`` projects on the
    whole basis, ``P_j`` on the channels of reference ``j``; ``all_pairs`` asks for
    ``P_j e[i]`` for every ``(j, i)``, otherwise only ``j == i``.  With ``block``, the
    correlations use blocks of that many samples and the block spectra of the references
    and estimates are kept (for framewise energies).
    """
    n_src, n_chan, n = refs.shape
    F = filter_len
    n_ch = n_src * n_chan
    refs_flat = refs.reshape(n_ch, n)
    ests_flat = ests.reshape(n_ch, n)
    norms = np.sqrt(np.einsum("kn,kn->k", refs_flat, refs_flat))
    target_energy = np.einsum("qn,qn->q", ests_flat, ests_flat)

    # corr[x, y, F - 1 + tau] = sum_n x[n] y[n + tau], x over refs then ests, y over refs
    out = _xcorr([refs_flat, ests_flat], [refs_flat], F - 1, block=block,
                 keep_spectra=block is not None)
    corr, spectra, n_fft = out if block is not None else (out, None, 0)
    active = np.flatnonzero(norms > 0)
    scale = 1.0 / norms[active]
    # as if every basis channel had unit energy: better conditioned, same span
    gram = corr[np.ix_(active, active)] * (scale[:, None] * scale[None, :])[..., None]
    keep = _independent_channels(gram[:, :, F - 1], n_chan, active)
    active, scale, gram = active[keep], scale[keep], gram[np.ix_(keep, keep)]
    n_basis = active.size
    owner = active // n_chan
    # R[F - 1 + tau][k, l] = <r_k, r_l shifted by tau>
    R = gram.transpose(2, 0, 1)
    # rhs[a, k, q] = <r_k delayed a, e_q> = sum_n e_q[n] r_k[n - a] = corr[e_q, r_k, F-1-a]
    rhs = corr[n_ch:, active, : F][:, :, ::-1].transpose(2, 1, 0) * scale[None, :, None]
    coef = _solve_block_toeplitz(R, rhs, target_energy)
    energy_all = np.einsum("akq,akq->q", rhs, coef).reshape(n_src, n_chan)
    energy_own = np.full((n_src, n_src, n_chan), np.nan)
    filters_all = filters_own = None
    if keep_filters:
        filters_all = np.zeros((n_src, n_chan, n_ch, F))
        c = coef.reshape(F, n_basis, n_src, n_chan).transpose(2, 3, 1, 0)
        filters_all[:, :, active, :] = c * scale[:, None]
        filters_all = filters_all.reshape(n_src, n_chan, n_src, n_chan, F)
        filters_own = np.zeros((n_src, n_src, n_chan, n_chan, F))
    for j in range(n_src):
        mine = np.flatnonzero(owner == j)
        if mine.size == 0:
            continue
        cols = np.arange(n_src) if all_pairs else np.array([j])
        tcols = (cols[:, None] * n_chan + np.arange(n_chan)).ravel()
        sub_rhs = rhs[:, mine][:, :, tcols]
        sub_coef = _solve_block_toeplitz(R[:, mine][:, :, mine], sub_rhs,
                                         target_energy[tcols])
        energy_own[j, cols] = np.einsum("akq,akq->q", sub_rhs, sub_coef).reshape(
            cols.size, n_chan
        )
        if keep_filters:
            h = sub_coef.reshape(F, mine.size, cols.size, n_chan).transpose(2, 3, 1, 0)
            chans = active[mine] - j * n_chan
            filters_own[j, cols[:, None, None], np.arange(n_chan)[None, :, None], chans] = (
                h * scale[mine][:, None]
            )
    return _Fit(energy_all, energy_own, filters_all, filters_own, spectra, n_fft)


def _whole_scores(refs, ests, filter_len, images, permutation):
    """BSS Eval on one segment (the whole signal or a v3 frame).

    Returns ``(sdr, isr, sir, sar, perm)``, each ``(J,)`` (``isr`` is NaN for sources).
    """
    n_src = refs.shape[0]
    fit = _fit(refs, ests, filter_len, permutation, keep_filters=False)
    # pairwise[j, i]: reference j, estimate i
    est_energy = np.einsum("icn,icn->i", ests, ests)
    a = fit.energy_own.sum(axis=-1)  # (J, J)
    b = fit.energy_all.sum(axis=-1)[None, :]  # (1, J)
    sir = _ratio_db(a, b - a)
    sar = np.broadcast_to(_ratio_db(b, est_energy[None, :] - b), (n_src, n_src))
    if images:
        ref_energy = np.einsum("jcn,jcn->j", refs, refs)[:, None]
        pairs = [(j, i) for j in range(n_src) for i in (range(n_src) if permutation else [j])]
        sdr = np.full((n_src, n_src), np.nan)
        isr = np.full((n_src, n_src), np.nan)
        for j, i in pairs:
            diff = ests[i] - refs[j]
            sdr[j, i] = _ratio_db(ref_energy[j, 0], np.vdot(diff, diff))
            cross = np.vdot(refs[j], ests[i])
            isr[j, i] = _ratio_db(ref_energy[j, 0], a[j, i] - 2.0 * cross + ref_energy[j, 0])
    else:
        sdr = _ratio_db(a, est_energy[None, :] - a)
        isr = np.full((n_src, n_src), np.nan)
    perm = _best_perm(sir) if permutation else np.arange(n_src)
    j = np.arange(n_src)
    return sdr[j, perm], isr[j, perm], sir[j, perm], sar[j, perm], perm


def _frame_starts(n_samples, frame_samples, hop_samples):
    """Start of every frame ``[s, s + frame_samples)`` and the frame length; one frame of
    everything if a frame is longer than the signal."""
    if frame_samples >= n_samples:
        return np.array([0]), n_samples
    return np.arange(1 + (n_samples - frame_samples) // hop_samples) * hop_samples, frame_samples


def _silent_frames(x, starts, length):
    """``(n_frames,)``: True where any source of ``x`` ``(J, C, N)`` is all zeros."""
    return np.array([not np.all(np.any(x[:, :, s : s + length] != 0, axis=(1, 2)))
                     for s in starts], dtype=bool)


def _v3_frames(refs, ests, filter_len, images, permutation, starts, length):
    """v3: everything (filters included) recomputed on every frame."""
    n_src = refs.shape[0]
    out = np.full((4, n_src, starts.size), np.nan)
    perm = np.full((n_src, starts.size), -1, dtype=np.int64)
    silent = _silent_frames(refs, starts, length) | _silent_frames(ests, starts, length)
    for t, s in enumerate(starts):
        if silent[t]:
            continue
        seg = slice(s, s + length)
        *scores, p = _whole_scores(refs[..., seg], ests[..., seg], filter_len, images,
                                   permutation)
        out[:, :, t] = scores
        perm[:, t] = p
    return out, perm


#: keep the block spectra of the whole signal for v4 frames below this many bytes
_KEEP_SPECTRA_BYTES = 256e6


def _v4_frames(refs, ests, filter_len, permutation, starts, length):
    """v4 (museval): filters fitted on the whole signal, energies per frame.

    In frame ``[s, s + L)`` the projections are the framed references (zero outside the
    frame) convolved with the global filters, kept over ``L + filter_len - 1`` samples,
    as are the framed reference and estimate (zero-padded); their energies come from the
    spectra of the frames by Parseval.  When the frames tile the signal
    (``hop_samples == frame_samples``), the correlations for the global filters are
    computed on the frames as blocks and their spectra are used again; otherwise the
    frames are transformed anew.
    """
    from .._kernels.bsseval import v4_frame_energies

    n_src, n_chan, n = refs.shape
    n_ch = n_src * n_chan
    F = filter_len
    n_frames = starts.size
    silent = _silent_frames(refs, starts, length) | _silent_frames(ests, starts, length)
    frame_idx = np.flatnonzero(~silent)
    if frame_idx.size == 0:  # (also when a source is silent throughout)
        return np.full((4, n_src, n_frames), np.nan), np.full((n_src, n_frames), -1)
    tiling = n_frames == 1 or starts[1] - starts[0] == length
    n_fft_blocks = scipy.fft.next_fast_len(length + 2 * (F - 1), real=True)
    keep = tiling and 2 * n_ch * (-(-n // length)) * (n_fft_blocks // 2 + 1) * 16 \
        <= _KEEP_SPECTRA_BYTES
    fit = _fit(refs, ests, F, permutation, keep_filters=True,
               block=length if keep else None)
    n_fft = fit.n_fft if keep else scipy.fft.next_fast_len(length + F - 1, real=True)
    n_freq = n_fft // 2 + 1

    pairs = np.array([(j, i) for j in range(n_src) for i in (range(n_src) if permutation
                                                              else [j])])
    h_all = scipy.fft.rfft(fit.filters_all, n=n_fft, axis=-1).reshape(
        n_src, n_chan, n_ch, n_freq)
    h_own = scipy.fft.rfft(fit.filters_own[pairs[:, 0], pairs[:, 1]], n=n_fft, axis=-1)
    weight = np.full(n_freq, 2.0 / n_fft)
    weight[0] = 1.0 / n_fft
    if n_fft % 2 == 0:
        weight[-1] = 1.0 / n_fft
    pair_ref = np.ascontiguousarray(pairs[:, 0])
    pair_est = np.ascontiguousarray(pairs[:, 1])
    energy = np.empty((frame_idx.size, len(pairs), 7))
    if keep:  # frame t is block t
        v4_frame_energies(h_all, h_own, fit.spectra[:n_ch], fit.spectra[n_ch:], frame_idx,
                          weight, pair_ref, pair_est, energy)
    else:
        refs_flat = refs.reshape(n_ch, n)
        ests_flat = ests.reshape(n_ch, n)
        chunk = max(1, int(64e6 // (2 * n_ch * n_freq * 16)))
        for c0 in range(0, frame_idx.size, chunk):
            ts = frame_idx[c0 : c0 + chunk]
            spec = [
                scipy.fft.rfft(
                    np.lib.stride_tricks.sliding_window_view(x, length, axis=-1)[:, starts[ts]],
                    n=n_fft, axis=-1, workers=_WORKERS)
                for x in (refs_flat, ests_flat)
            ]  # (K, W, nf)
            v4_frame_energies(h_all, h_own, spec[0], spec[1], np.arange(ts.size), weight,
                              pair_ref, pair_est, energy[c0 : c0 + chunk])
    stats = np.full((4, n_src, n_src, n_frames), np.nan)  # sdr, isr, sir, sar [j, i, t]
    ref_e, dist, spat, own, interf, proj, art = np.moveaxis(energy, -1, 0)  # (W, P)
    for p, (j, i) in enumerate(pairs):
        stats[0, j, i, frame_idx] = _ratio_db(ref_e[:, p], dist[:, p])
        stats[1, j, i, frame_idx] = _ratio_db(ref_e[:, p], spat[:, p])
        stats[2, j, i, frame_idx] = _ratio_db(own[:, p], interf[:, p])
        stats[3, j, i, frame_idx] = _ratio_db(proj[:, p], art[:, p])
    if permutation:
        # one pairing for all frames: best mean SIR over the scored frames
        p = _best_perm(_sanitize_for_assignment(stats[2][:, :, frame_idx]).mean(axis=-1))
    else:
        p = np.arange(n_src)
    j = np.arange(n_src)
    out = stats[:, j, p, :]  # (4, J, T)
    perm = np.repeat(p[:, None], n_frames, axis=1)
    perm[:, silent] = -1
    return out, perm


# ----------------------------------------------------------------------------------------
# BSS Eval: public functions


class _Unset:
    """Default of the deprecated ``window``/``hop`` keywords (None is a meaningful value)."""

    def __repr__(self):
        return "<deprecated>"


_UNSET = _Unset()


def _renamed(func, frame_samples, hop_samples, window, hop):
    """Map the deprecated ``window``/``hop`` (names up to 0.1.0) to the new keywords.

    Both were frame lengths in samples; ``window`` now means only the STFT's taper.
    Returns ``(frame_samples, hop_samples)``; warns with a :class:`FutureWarning` naming the
    new keyword.
    """
    out = {"frame_samples": frame_samples, "hop_samples": hop_samples}
    for old, new, value in (("window", "frame_samples", window), ("hop", "hop_samples", hop)):
        if value is _UNSET:
            continue
        if out[new] is not None:
            raise ParameterError(f"{old}={describe(value)}: deprecated name of {new}, which "
                                 f"is also given; pass only {new}")
        warnings.warn(
            f"{func}({old}=...) is deprecated: the frame length in samples is now called "
            f"{new}= ({old}= stops working in dsp_separate 0.3)",
            FutureWarning, stacklevel=3,
        )
        out[new] = value
    return out["frame_samples"], out["hop_samples"]


def _check_bss_args(refs, ests, frame_samples, hop_samples, permutation, filter_len):
    """Shared checks; returns ``(frame_samples, hop_samples, permutation, filter_len)``."""
    filter_len = check_positive_int(filter_len, "filter_len")
    if frame_samples is not None:
        frame_samples = check_positive_int(frame_samples, "frame_samples")
        hop_samples = (frame_samples if hop_samples is None
                       else check_positive_int(hop_samples, "hop_samples"))
    elif hop_samples is not None:
        raise ParameterError(f"hop_samples={describe(hop_samples)}: needs frame_samples "
                             "(frame_samples=None scores the whole signal)")
    if permutation is None:
        permutation = frame_samples is None
    permutation = check_bool(permutation, "permutation")
    if frame_samples is None:
        for name, x in (("reference", refs), ("estimate", ests)):
            silent = np.flatnonzero(~np.any(x != 0, axis=(1, 2)))
            if silent.size:
                raise ParameterError(
                    f"{name}={describe(x)}: source {int(silent[0])} is silent (all zeros); "
                    "BSS Eval needs every reference and estimate to have some signal"
                )
    return frame_samples, hop_samples, permutation, filter_len


def bss_eval_sources(reference, estimate, *, frame_samples=None, hop_samples=None,
                     permutation=None, filter_len=512, window=_UNSET, hop=_UNSET):
    r"""BSS Eval v3 ``bss_eval_sources``: SDR, SIR and SAR of single-channel sources.

    Each estimate :math:`\hat s` is split into a filtered version of its reference, the
    interference of the other references, and artifacts, by least-squares projections
    on the references delayed by ``0 .. filter_len - 1`` samples.

    Parameters
    ----------
    reference : np.ndarray, float, shape ``(n_src, n_samples)`` or ``(n_samples,)``
        True sources (one source for 1-D input).  No source may be all zeros (when
        scoring the whole signal).
    estimate : np.ndarray, float, same shape as ``reference``
        Estimated sources.
    frame_samples : int or None
        Frame length in samples for framewise scores (e.g. ``sr`` for 1 s frames, as
        museval does); None scores the whole signal.  Frames are ``[t H, t H + L)`` with
        ``L = frame_samples``, ``H = hop_samples``, for ``t = 0 .. (n_samples - L) // H``;
        samples after the last whole frame are not scored; a frame longer than the signal
        gives one frame of everything (mir_eval also scores the whole signal when only one
        frame fits).  Each frame is scored on its own, with its own filters (v3).
    hop_samples : int or None
        Hop between frame starts in samples (default ``frame_samples``).
    permutation : bool or None
        Match estimates to references by the best mean SIR (in each frame, for
        framewise scores).  None (default): True for the whole signal (as the BSS Eval
        toolbox and mir_eval do), False for frames (so that the pairing cannot change
        from frame to frame, as in mir_eval's ``bss_eval_sources_framewise``).
    filter_len : int
        Length of the allowed distortion filter in samples (512 in BSS Eval).
    window, hop : int or None
        Deprecated names of ``frame_samples`` and ``hop_samples`` (a
        :class:`FutureWarning`; removed in 0.3).

    Returns
    -------
    SourcesScores
        ``(sdr, sir, sar, perm)``, each ``(n_src,)``, or ``(n_src, n_frames)`` when
        ``frame_samples`` is given; scores in dB, float64, in reference order.  Frames where a
        reference or an estimate is all zeros are NaN for every source (``perm`` is -1
        there), as in mir_eval and museval.

    Notes
    -----
    With :math:`P_j` the orthogonal projection on the delayed copies of reference
    :math:`j` and :math:`P` the projection on the delayed copies of all references,

    .. math::

        s_\text{target} = P_j \hat s,\quad e_\text{interf} = P \hat s - P_j \hat s,\quad
        e_\text{artif} = \hat s - P \hat s,

        \text{SDR} = 10\log_{10}\frac{\lVert s_\text{target}\rVert^2}
            {\lVert e_\text{interf} + e_\text{artif}\rVert^2},\quad
        \text{SIR} = 10\log_{10}\frac{\lVert s_\text{target}\rVert^2}
            {\lVert e_\text{interf}\rVert^2},\quad
        \text{SAR} = 10\log_{10}\frac{\lVert s_\text{target} + e_\text{interf}\rVert^2}
            {\lVert e_\text{artif}\rVert^2}.

    Because the projections are orthogonal, every energy follows from
    :math:`\lVert P\hat s\rVert^2 = d^\top G^{-1} d` (:math:`G` the block-Toeplitz Gram
    matrix of the delayed references, :math:`d` their correlations with the estimate),
    solved by block Levinson.  An error energy that is zero to rounding gives a very large
    score or ``+inf`` (scores above about 120 dB only mean "exact").  The figures agree
    with mir_eval 0.8 to far better than 0.01 dB (about 1e-8 dB on its test data).  Cost:
    FFTs linear in ``n_samples`` plus :math:`n_\text{src}^3\,\text{filter\_len}^2`.

    References
    ----------
    .. [1] E. Vincent, R. Gribonval and C. Févotte, "Performance measurement in blind
       audio source separation", IEEE Trans. Audio, Speech and Language Processing,
       14(4), pp. 1462-1469, 2006.

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate.metrics import bss_eval_sources
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.standard_normal((2, 8000))
    >>> est = ref[::-1] + 0.1 * ref + 0.01 * rng.standard_normal((2, 8000))
    >>> res = bss_eval_sources(ref, est)
    >>> res.perm.tolist(), np.round(res.sir).tolist()   # leakage at -20 dB
    ([1, 0], [20.0, 20.0])
    """
    frame_samples, hop_samples = _renamed("bss_eval_sources", frame_samples, hop_samples,
                                          window, hop)
    reference, estimate = _check_pair(reference, estimate, max_ndim=2,
                                      what="(n_src, n_samples) or (n_samples,)")
    refs = np.atleast_2d(reference)[:, None, :]
    ests = np.atleast_2d(estimate)[:, None, :]
    frame_samples, hop_samples, permutation, filter_len = _check_bss_args(
        refs, ests, frame_samples, hop_samples, permutation, filter_len)
    if frame_samples is None:
        sdr, _, sir, sar, perm = _whole_scores(refs, ests, filter_len, False, permutation)
        return SourcesScores(sdr, sir, sar, perm)
    starts, length = _frame_starts(refs.shape[-1], frame_samples, hop_samples)
    out, perm = _v3_frames(refs, ests, filter_len, False, permutation, starts, length)
    return SourcesScores(out[0], out[2], out[3], perm)


def bss_eval_images(reference, estimate, *, frame_samples=None, hop_samples=None,
                    permutation=None, framewise_filters=False, filter_len=512,
                    window=_UNSET, hop=_UNSET):
    r"""BSS Eval images: SDR, ISR, SIR and SAR of multichannel source images (v4 / v3).

    The estimated image of each source is split into the true image, a spatial (filter)
    distortion, interference and artifacts, by least-squares projections of every
    estimated channel on all reference channels delayed by ``0 .. filter_len - 1``
    samples.  Framewise scores follow museval (BSS Eval v4, the SiSEC 2018 figures): the
    distortion filters are fitted once on the whole signal and the energies are measured
    per frame; ``framewise_filters=True`` refits them on every frame (v3, mir_eval's
    ``bss_eval_images_framewise``).

    Parameters
    ----------
    reference : np.ndarray, float, shape ``(n_src, n_chan, n_samples)``
        True source images; ``(n_src, n_samples)`` is read as mono images.  No source may
        be all zeros in every channel.
    estimate : np.ndarray, float, same shape as ``reference``
        Estimated source images.
    frame_samples : int or None
        Frame length in samples (museval uses 1 s: ``frame_samples=sr``); None scores the
        whole signal.  Frames are ``[t H, t H + L)`` with ``L = frame_samples``, ``H =
        hop_samples``, for ``t = 0 .. (n_samples - L) // H``; samples after the last whole
        frame are not scored; a frame longer than the signal gives one frame of everything.
    hop_samples : int or None
        Hop between frame starts in samples (default ``frame_samples``).
    permutation : bool or None
        Match estimates to references by the best mean SIR.  None (default): True for the
        whole signal (as mir_eval's ``bss_eval_images``), False for frames (as
        ``museval.evaluate``).  With v4 frames one pairing is chosen for all frames (best
        SIR averaged over the scored frames); with v3 frames, one per frame.
    framewise_filters : bool
        Refit the distortion filters on every frame (v3) instead of once (v4).
    filter_len : int
        Length of the allowed distortion filters in samples (512 in BSS Eval).
    window, hop : int or None
        Deprecated names of ``frame_samples`` and ``hop_samples`` (a
        :class:`FutureWarning`; removed in 0.3).

    Returns
    -------
    ImagesScores
        ``(sdr, isr, sir, sar, perm)``, each ``(n_src,)``, or ``(n_src, n_frames)`` when
        ``frame_samples`` is given; dB, float64, reference order.  Frames where a reference or an
        estimate is all zeros (every channel) are NaN for every source and figure, as
        museval reports them; ``perm`` is -1 there.

    Notes
    -----
    With :math:`s_j` the true image, :math:`P_j` the projection (channel by channel) on
    the delayed channels of reference :math:`j` and :math:`P` on those of all references:

    .. math::

        e_\text{spat} = P_j \hat s - s_j,\quad e_\text{interf} = P\hat s - P_j \hat s,
        \quad e_\text{artif} = \hat s - P\hat s,

        \text{SDR} = 10\log_{10}\frac{\lVert s_j\rVert^2}{\lVert \hat s - s_j\rVert^2},\quad
        \text{ISR} = 10\log_{10}\frac{\lVert s_j\rVert^2}{\lVert e_\text{spat}\rVert^2},

        \text{SIR} = 10\log_{10}\frac{\lVert s_j + e_\text{spat}\rVert^2}
            {\lVert e_\text{interf}\rVert^2},\quad
        \text{SAR} = 10\log_{10}\frac{\lVert s_j + e_\text{spat} + e_\text{interf}\rVert^2}
            {\lVert e_\text{artif}\rVert^2},

    energies summed over channels.  For v4 frames the components are the framed
    references filtered by the global filters, over ``frame_samples + filter_len - 1`` samples.
    Whole-signal figures come from quadratic forms of the Gram matrix; framewise v4 figures
    from the spectra of the frames.  The figures agree with mir_eval 0.8 and museval 0.4 to
    far better than 0.01 dB, with two documented exceptions:

    * reference channels that are filtered copies of one another (a mono source through
      two short filters, with nothing else in either channel) make the distortion filters
      non-unique.  Whole-signal figures do not depend on the choice; v4 frame figures do.
      Here the (nearly) minimum-norm filters are used; museval's figures then depend on
      rounding and can differ by many dB.  Channels that are exact multiples of others of
      their source (to 1e-10 of their energy) are left out of the basis: they add nothing.
    * museval calls a source silent when the sum of its channels is zero; here, when every
      channel is zero.

    Framing follows museval: when only one whole frame fits in a longer signal, mir_eval
    scores the whole signal instead.

    References
    ----------
    .. [1] E. Vincent, R. Gribonval and C. Févotte, "Performance measurement in blind
       audio source separation", IEEE Trans. Audio, Speech and Language Processing,
       14(4), pp. 1462-1469, 2006.
    .. [2] F.-R. Stöter, A. Liutkus and N. Ito, "The 2018 Signal Separation Evaluation
       Campaign", Proc. LVA/ICA, pp. 293-305, 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate.metrics import bss_eval_images
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.standard_normal((2, 2, 16000))            # 2 stereo sources
    >>> est = ref + 0.1 * ref[::-1] + 0.05 * rng.standard_normal(ref.shape)
    >>> res = bss_eval_images(ref, est)
    >>> np.round(res.sir).tolist(), res.perm.tolist()   # leakage at -20 dB
    ([20.0, 20.0], [0, 1])
    >>> frames = bss_eval_images(ref, est, frame_samples=4000)   # v4, 4 frames
    >>> frames.sdr.shape
    (2, 4)
    """
    frame_samples, hop_samples = _renamed("bss_eval_images", frame_samples, hop_samples,
                                          window, hop)
    reference, estimate = _check_pair(reference, estimate, min_ndim=2, max_ndim=3,
                                      what="(n_src, n_chan, n_samples) or (n_src, n_samples)")
    refs = reference if reference.ndim == 3 else reference[:, None, :]
    ests = estimate if estimate.ndim == 3 else estimate[:, None, :]
    framewise_filters = check_bool(framewise_filters, "framewise_filters")
    frame_samples, hop_samples, permutation, filter_len = _check_bss_args(
        refs, ests, frame_samples, hop_samples, permutation, filter_len)
    if frame_samples is None:
        return ImagesScores(*_whole_scores(refs, ests, filter_len, True, permutation))
    starts, length = _frame_starts(refs.shape[-1], frame_samples, hop_samples)
    if framewise_filters or length == refs.shape[-1]:
        # v3, or a single frame holding the whole signal (where v3 and v4 coincide)
        out, perm = _v3_frames(refs, ests, filter_len, True, permutation, starts, length)
    else:
        out, perm = _v4_frames(refs, ests, filter_len, permutation, starts, length)
    return ImagesScores(out[0], out[1], out[2], out[3], perm)
