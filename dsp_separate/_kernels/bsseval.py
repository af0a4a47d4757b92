"""Numba kernels of BSS Eval: block-Toeplitz solves (block Levinson), spectra, frame energies.

Arrays in, preallocated arrays out; no validation (see ``dsp_separate.metrics``).

The systems are ``sum_b R[a - b] x[b] = d[a]`` for ``a, b = 0 .. F - 1`` with
``F x m x m`` blocks stored lag-major: ``R[F - 1 + tau]`` is the ``m x m`` block at lag
``tau`` (``|tau| < F``) and ``R[-tau] = R[tau].T``, so the whole matrix is symmetric.
"""

import numpy as np
from numba import prange

from .._config import jit


@jit
def _invert_small(a, out):
    """``out = inv(a)`` by Gauss-Jordan with partial pivoting; False if ``a`` is singular."""
    m = a.shape[0]
    work = a.copy()
    for i in range(m):
        for j in range(m):
            out[i, j] = 1.0 if i == j else 0.0
    for col in range(m):
        piv = col
        best = abs(work[col, col])
        for i in range(col + 1, m):
            if abs(work[i, col]) > best:
                best = abs(work[i, col])
                piv = i
        if not best > 0.0:
            return False
        if piv != col:
            for j in range(m):
                t = work[col, j]
                work[col, j] = work[piv, j]
                work[piv, j] = t
                t = out[col, j]
                out[col, j] = out[piv, j]
                out[piv, j] = t
        inv_p = 1.0 / work[col, col]
        for j in range(m):
            work[col, j] *= inv_p
            out[col, j] *= inv_p
        for i in range(m):
            if i != col:
                f = work[i, col]
                if f != 0.0:
                    for j in range(m):
                        work[i, j] -= f * work[col, j]
                        out[i, j] -= f * out[col, j]
    return True


@jit
def block_levinson_factor(R, bwd_all):
    """Backward vectors of every order of a symmetric block-Toeplitz matrix.

    R : (2F - 1, m, m) lag-major blocks; bwd_all : (F (F + 1) / 2, m, m) out: the blocks
    of ``B_n`` (the last block column of the inverse of the leading ``(n + 1) x (n + 1)``
    block section) for ``n = 0 .. F - 1``, ``B_n`` starting at block ``n (n + 1) / 2``.

    Block Levinson recursion (Whittle; Wiggins and Robinson 1965): the first (``F_n``) and
    last (``B_n``) block columns of the section inverses are extended by one block per
    step; about ``3 m^3 F^2`` flops.  Returns False if a leading section is singular.
    """
    n_lags = R.shape[0]
    m = R.shape[1]
    n_blocks = (n_lags + 1) // 2
    c = n_blocks - 1  # index of lag 0 in R
    fwd = np.zeros((n_blocks, m, m))
    ef = np.zeros((m, m))
    eb = np.zeros((m, m))
    tmp = np.zeros((m, m))
    alpha = np.zeros((m, m))
    beta = np.zeros((m, m))
    gamma = np.zeros((m, m))
    delta = np.zeros((m, m))
    inv0 = np.zeros((m, m))
    if not _invert_small(R[c], inv0):
        return False
    fwd[0] = inv0
    bwd_all[0] = inv0
    for n in range(n_blocks - 1):
        old = n * (n + 1) // 2  # B_n
        new = old + n + 1  # B_{n+1}
        # errors of the extended vectors: ef = sum_b R[n+1-b] F_n[b], eb = sum_b R[-(b+1)] B_n[b]
        ef[:] = 0.0
        eb[:] = 0.0
        for b in range(n + 1):
            rf = R[c + n + 1 - b]
            rb = R[c - b - 1]
            for i in range(m):
                for k in range(m):
                    vf = rf[i, k]
                    vb = rb[i, k]
                    for j in range(m):
                        ef[i, j] += vf * fwd[b, k, j]
                        eb[i, j] += vb * bwd_all[old + b, k, j]
        # alpha = inv(I - eb ef), delta = inv(I - ef eb), beta = -ef alpha, gamma = -eb delta
        for i in range(m):
            for j in range(m):
                s = 0.0
                for k in range(m):
                    s += eb[i, k] * ef[k, j]
                tmp[i, j] = (1.0 if i == j else 0.0) - s
        if not _invert_small(tmp, alpha):
            return False
        for i in range(m):
            for j in range(m):
                s = 0.0
                for k in range(m):
                    s += ef[i, k] * eb[k, j]
                tmp[i, j] = (1.0 if i == j else 0.0) - s
        if not _invert_small(tmp, delta):
            return False
        for i in range(m):
            for j in range(m):
                sb = 0.0
                sg = 0.0
                for k in range(m):
                    sb += ef[i, k] * alpha[k, j]
                    sg += eb[i, k] * delta[k, j]
                beta[i, j] = -sb
                gamma[i, j] = -sg
        # B_{n+1} = [F_n; 0] gamma + [0; B_n] delta, then F_{n+1} = [F_n; 0] alpha + [0; B_n] beta
        for b in range(n + 2):
            for i in range(m):
                for j in range(m):
                    s = 0.0
                    if b <= n:
                        for k in range(m):
                            s += fwd[b, i, k] * gamma[k, j]
                    if b >= 1:
                        for k in range(m):
                            s += bwd_all[old + b - 1, i, k] * delta[k, j]
                    bwd_all[new + b, i, j] = s
        for b in range(n + 1, -1, -1):  # in place, last block first
            for i in range(m):
                for j in range(m):
                    s = 0.0
                    if b <= n:
                        for k in range(m):
                            s += fwd[b, i, k] * alpha[k, j]
                    if b >= 1:
                        for k in range(m):
                            s += bwd_all[old + b - 1, i, k] * beta[k, j]
                    tmp[i, j] = s
            for i in range(m):
                for j in range(m):
                    fwd[b, i, j] = tmp[i, j]
    return True


@jit(parallel=True)
def block_levinson_solve(R, bwd_all, d, x):
    """Solve ``sum_b R[a - b] x[b] = d[a]`` with the factor of :func:`block_levinson_factor`.

    d : (F, m, q); x : (F, m, q) out.  Order by order,
    ``x_{n+1} = [x_n; 0] + B_{n+1} (d[n+1] - sum_b R[n+1-b] x_n[b])``; ``2 m^2 q F^2``
    flops, one right-hand side per task.
    """
    n_blocks = d.shape[0]
    m = d.shape[1]
    q = d.shape[2]
    c = n_blocks - 1
    for col in prange(q):
        theta = np.zeros(m)
        for i in range(m):
            s = 0.0
            for k in range(m):
                s += bwd_all[0, i, k] * d[0, k, col]
            x[0, i, col] = s
        for n in range(n_blocks - 1):
            new = (n + 1) * (n + 2) // 2
            theta[:] = 0.0
            for b in range(n + 1):
                rf = R[c + n + 1 - b]
                for i in range(m):
                    s = 0.0
                    for k in range(m):
                        s += rf[i, k] * x[b, k, col]
                    theta[i] += s
            for i in range(m):
                theta[i] = d[n + 1, i, col] - theta[i]
            for i in range(m):
                x[n + 1, i, col] = 0.0
            for b in range(n + 2):
                for i in range(m):
                    s = 0.0
                    for k in range(m):
                        s += bwd_all[new + b, i, k] * theta[k]
                    x[b, i, col] += s


@jit(parallel=True)
def accumulate_cross_spectra(X, Y, acc):
    """``acc[k, q, f] += sum_b conj(X[k, b, f]) * Y[q, b, f]``.

    X : (K, n_blocks, n_freq) complex; Y : (Q, n_blocks, n_freq) complex;
    acc : (K, Q, n_freq) complex, accumulated in place (one pair per task).
    """
    n_x, n_b, n_f = X.shape
    n_y = Y.shape[0]
    for job in prange(n_x * n_y):
        k = job // n_y
        q = job - k * n_y
        for b in range(n_b):
            for f in range(n_f):
                acc[k, q, f] += X[k, b, f].conjugate() * Y[q, b, f]


@jit(parallel=True)
def v4_frame_energies(h_all, h_own, ref_spec, est_spec, frames, weight, pair_ref, pair_est,
                      out):
    """Energies of the BSS Eval v4 components of frames, by Parseval.

    h_all : (J, C, K, nf) spectra of the filters of the projection of estimate channel
    ``(i, c)`` on all ``K = J C`` reference channels; h_own : (P, C, C, nf) spectra of the
    filters of the projection of estimate channel ``(pair_est[p], c)`` on the channels of
    reference ``pair_ref[p]``; ref_spec, est_spec : (K, n_blocks, nf) spectra of the
    framed (zero-padded) references and estimates, channel ``j C + c``; frames : (W,)
    the blocks to score; weight : (nf,) Parseval weights
    (``sum_n x[n]^2 = sum_f weight[f] |X[f]|^2``).

    out : (W, P, 7) energies per frame and pair, summed over channels: ``|s|^2``,
    ``|e - s|^2``, ``|P_j e - s|^2``, ``|P_j e|^2``, ``|P e - P_j e|^2``, ``|P e|^2``,
    ``|e - P e|^2`` (``s`` the reference image, ``e`` the estimate).
    """
    n_k = ref_spec.shape[0]
    n_f = ref_spec.shape[2]
    n_w = frames.shape[0]
    n_chan = h_own.shape[1]
    n_pairs = pair_ref.shape[0]
    for job in prange(n_w * n_pairs):
        w = job // n_pairs
        p = job - w * n_pairs
        t = frames[w]
        j = pair_ref[p]
        i = pair_est[p]
        acc = np.zeros(7)
        for c in range(n_chan):
            for f in range(n_f):
                y_all = 0j
                for k in range(n_k):
                    y_all += h_all[i, c, k, f] * ref_spec[k, t, f]
                y_own = 0j
                for d in range(n_chan):
                    y_own += h_own[p, c, d, f] * ref_spec[j * n_chan + d, t, f]
                s = ref_spec[j * n_chan + c, t, f]
                e = est_spec[i * n_chan + c, t, f]
                g = weight[f]
                acc[0] += g * (s.real * s.real + s.imag * s.imag)
                v = e - s
                acc[1] += g * (v.real * v.real + v.imag * v.imag)
                v = y_own - s
                acc[2] += g * (v.real * v.real + v.imag * v.imag)
                acc[3] += g * (y_own.real * y_own.real + y_own.imag * y_own.imag)
                v = y_all - y_own
                acc[4] += g * (v.real * v.real + v.imag * v.imag)
                acc[5] += g * (y_all.real * y_all.real + y_all.imag * y_all.imag)
                v = e - y_all
                acc[6] += g * (v.real * v.real + v.imag * v.imag)
        for m in range(7):
            out[w, p, m] = acc[m]
