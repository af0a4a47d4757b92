r"""Per-bin kernels of the IVA family (AuxIVA with IP or ISS updates, ILRMA).

Layout: the mixture is ``X[f, m, t]`` (``n_freq, n_channels, n_frames``), the demixed
signals ``Y[f, k, t]`` and the demixing matrices ``W[f, k, m]`` (row :math:`k` of
:math:`W_f` is :math:`w_{kf}^H`, so :math:`y_{kft} = \sum_m W[f, k, m]\, x_{mft}`), all
``complex128``, C-contiguous.  Weights ``phi[k, fi, t]`` are the auxiliary-function weights
:math:`\varphi` (``fi = 0`` for all bins when ``phi.shape[1] == 1``: AuxIVA's weights are
shared by every bin; ILRMA's depend on the bin).  ``delta[f]`` is the per-bin Tikhonov
regulariser added to every weighted covariance.

The M x M algebra per bin (a weighted covariance, a linear solve, a log-determinant) is
written out with partial pivoting for any M; for M = 2 the loops are two long.  Serial
``nogil`` kernels; everything compiles once, for complex128 / float64.
"""

from __future__ import annotations

import math

import numpy as np

from .._config import jit


@jit(nogil=True)
def _solve(A, b):  # pragma: no cover - compiled
    """Solve ``A u = b`` in place (``b`` becomes ``u``) by Gaussian elimination with partial
    pivoting; ``A`` is overwritten.  Returns False (and leaves ``b`` undefined) if singular."""
    M = A.shape[0]
    for c in range(M):
        p = c
        best = abs(A[c, c])
        for r in range(c + 1, M):
            a = abs(A[r, c])
            if a > best:
                best = a
                p = r
        if not best > 0.0:
            return False
        if p != c:
            for j in range(M):
                tmp = A[c, j]
                A[c, j] = A[p, j]
                A[p, j] = tmp
            tmp = b[c]
            b[c] = b[p]
            b[p] = tmp
        inv = 1.0 / A[c, c]
        for r in range(c + 1, M):
            fct = A[r, c] * inv
            if fct != 0:
                for j in range(c, M):
                    A[r, j] -= fct * A[c, j]
                b[r] -= fct * b[c]
    for c in range(M - 1, -1, -1):
        s = b[c]
        for j in range(c + 1, M):
            s -= A[c, j] * b[j]
        b[c] = s / A[c, c]
    return True


@jit(nogil=True)
def _logabsdet(A):  # pragma: no cover - compiled
    """``log|det A|`` by elimination with partial pivoting (``A`` is overwritten)."""
    M = A.shape[0]
    total = 0.0
    for c in range(M):
        p = c
        best = abs(A[c, c])
        for r in range(c + 1, M):
            a = abs(A[r, c])
            if a > best:
                best = a
                p = r
        if not best > 0.0:
            return -math.inf
        total += math.log(best)
        if p != c:
            for j in range(M):
                tmp = A[c, j]
                A[c, j] = A[p, j]
                A[p, j] = tmp
        inv = 1.0 / A[c, c]
        for r in range(c + 1, M):
            fct = A[r, c] * inv
            if fct != 0:
                for j in range(c, M):
                    A[r, j] -= fct * A[c, j]
    return total


@jit(nogil=True)
def demix(X, W, Y, P, store):  # pragma: no cover - compiled
    r"""``Y[f] = W[f] @ X[f]`` for every bin; ``P[k, t] = \sum_f |y_{kft}|^2``.

    With ``store`` false ``Y`` is not written (AuxIVA-IP needs only ``P``; one pass over
    ``X`` instead of a write and a read of ``Y``).  Returns :math:`\sum_f \log|\det W_f|`
    (square ``W`` only; else 0).
    """
    F, M, T = X.shape
    K = W.shape[1]
    P[:, :] = 0.0
    work = np.empty((K, K), dtype=W.dtype)
    row = np.empty(T, dtype=X.dtype)
    logdet = 0.0
    for f in range(F):
        if M == 2 and K == 2:  # both sources in one pass over the frames
            w00 = W[f, 0, 0]
            w01 = W[f, 0, 1]
            w10 = W[f, 1, 0]
            w11 = W[f, 1, 1]
            for t in range(T):
                x0 = X[f, 0, t]
                x1 = X[f, 1, t]
                v = w00 * x0 + w01 * x1
                u = w10 * x0 + w11 * x1
                if store:
                    Y[f, 0, t] = v
                    Y[f, 1, t] = u
                P[0, t] += v.real * v.real + v.imag * v.imag
                P[1, t] += u.real * u.real + u.imag * u.imag
            ad = abs(w00 * w11 - w01 * w10)
            logdet += math.log(ad) if ad > 0.0 else -math.inf
            continue
        if not store:
            for k in range(K):
                # one row of y in a frame-long buffer (cache-resident), vectorised per channel
                w0 = W[f, k, 0]
                for t in range(T):
                    row[t] = w0 * X[f, 0, t]
                for m in range(1, M):
                    w = W[f, k, m]
                    for t in range(T):
                        row[t] += w * X[f, m, t]
                for t in range(T):
                    v = row[t]
                    P[k, t] += v.real * v.real + v.imag * v.imag
            if K == M:
                for i in range(K):
                    for j in range(K):
                        work[i, j] = W[f, i, j]
                logdet += _logabsdet(work)
            continue
        for k in range(K):
            w0 = W[f, k, 0]
            for t in range(T):
                Y[f, k, t] = w0 * X[f, 0, t]
            for m in range(1, M):
                w = W[f, k, m]
                for t in range(T):
                    Y[f, k, t] += w * X[f, m, t]
            for t in range(T):
                v = Y[f, k, t]
                P[k, t] += v.real * v.real + v.imag * v.imag
        if K == M:
            for i in range(K):
                for j in range(K):
                    work[i, j] = W[f, i, j]
            logdet += _logabsdet(work)
    return logdet


@jit(nogil=True)
def ip_update(X, W, phi, delta, rel):  # pragma: no cover - compiled
    r"""Iterative projection (Ono 2011), every source of every bin, in place on ``W``.

    .. math::

        V_{kf} = \frac{1}{T}\sum_t \varphi_{k(f)t}\, x_{ft} x_{ft}^H + \delta_f I,\quad
        u = (W_f V_{kf})^{-1} e_k,\quad
        w_{kf} = u / \sqrt{u^H V_{kf} u}

    and, when ``rel > 0``, a relative ridge on top, :math:`V_{kf} \leftarrow V_{kf} +
    \text{rel}\,\frac{\operatorname{tr} V_{kf}}{M} I` (condition number at most about
    :math:`M/\text{rel}` whatever the weights; ILRMA, whose weights span many decades).
    Sources are updated in order ``k = 0, 1, ...``; a bin whose system is singular keeps
    its row (cannot happen with ``delta > 0`` and a non-singular ``W``).
    """
    F, M, T = X.shape
    K = W.shape[1]
    shared = phi.shape[1] == 1
    V = np.empty((K, M, M), dtype=X.dtype)
    B = np.empty((M, M), dtype=X.dtype)
    u = np.empty(M, dtype=X.dtype)
    Vu = np.empty(M, dtype=X.dtype)
    pr = np.empty(T)
    pi = np.empty(T)
    inv_T = 1.0 / T
    for f in range(F):
        fi = 0 if shared else f
        if M == 2 and K == 2:
            # 2 x 2: both sources' covariances in one pass over the frames, in registers
            a0 = 0.0
            c0 = 0.0
            r0 = 0.0
            i0 = 0.0
            a1 = 0.0
            c1 = 0.0
            r1 = 0.0
            i1 = 0.0
            for t in range(T):
                x0 = X[f, 0, t]
                x1 = X[f, 1, t]
                p00 = x0.real * x0.real + x0.imag * x0.imag
                p11 = x1.real * x1.real + x1.imag * x1.imag
                pre = x0.real * x1.real + x0.imag * x1.imag
                pim = x0.imag * x1.real - x0.real * x1.imag
                g0 = phi[0, fi, t]
                g1 = phi[1, fi, t]
                a0 += g0 * p00
                c0 += g0 * p11
                r0 += g0 * pre
                i0 += g0 * pim
                a1 += g1 * p00
                c1 += g1 * p11
                r1 += g1 * pre
                i1 += g1 * pim
            V[0, 0, 0] = a0 * inv_T + delta[f]
            V[0, 1, 1] = c0 * inv_T + delta[f]
            V[0, 0, 1] = complex(r0 * inv_T, i0 * inv_T)
            V[0, 1, 0] = complex(r0 * inv_T, -i0 * inv_T)
            V[1, 0, 0] = a1 * inv_T + delta[f]
            V[1, 1, 1] = c1 * inv_T + delta[f]
            V[1, 0, 1] = complex(r1 * inv_T, i1 * inv_T)
            V[1, 1, 0] = complex(r1 * inv_T, -i1 * inv_T)
            if rel > 0.0:
                for k in range(K):
                    tr = 0.5 * rel * (V[k, 0, 0].real + V[k, 1, 1].real)
                    V[k, 0, 0] += tr
                    V[k, 1, 1] += tr
        else:
            # each product row x_m x_n^* once, then one weighted sum per source
            for m in range(M):
                for n in range(m, M):
                    for t in range(T):
                        a = X[f, m, t]
                        b = X[f, n, t]
                        pr[t] = a.real * b.real + a.imag * b.imag
                        pi[t] = a.imag * b.real - a.real * b.imag
                    for k in range(K):
                        re = 0.0
                        im = 0.0
                        for t in range(T):
                            c = phi[k, fi, t]
                            re += c * pr[t]
                            im += c * pi[t]
                        if m == n:
                            V[k, m, m] = re * inv_T + delta[f]
                        else:
                            V[k, m, n] = complex(re * inv_T, im * inv_T)
                            V[k, n, m] = complex(re * inv_T, -im * inv_T)
            if rel > 0.0:
                for k in range(K):
                    tr = 0.0
                    for m in range(M):
                        tr += V[k, m, m].real
                    for m in range(M):
                        V[k, m, m] += rel * tr / M
        for k in range(K):
            # B = W_f V_k ; solve B u = e_k
            for i in range(M):
                for j in range(M):
                    s = 0j
                    for q in range(M):
                        s += W[f, i, q] * V[k, q, j]
                    B[i, j] = s
            for i in range(M):
                u[i] = 0.0
            u[k] = 1.0
            if not _solve(B, u):
                continue
            quad = 0.0
            for i in range(M):
                s = 0j
                for j in range(M):
                    s += V[k, i, j] * u[j]
                Vu[i] = s
                quad += (u[i].conjugate() * s).real
            if not quad > 0.0 or not math.isfinite(quad):
                continue
            scale = 1.0 / math.sqrt(quad)
            for m in range(M):
                W[f, k, m] = u[m].conjugate() * scale


@jit(nogil=True)
def iss_update(Y, W, phi, delta):  # pragma: no cover - compiled
    r"""Iterative source steering (Scheibler & Ono 2020), in place on ``Y`` and ``W``.

    For each source :math:`k` in order, per bin, with :math:`\tilde V_{mf} = V_{mf} +
    \delta_f I`:

    .. math::

        v_m = \frac{w_m^H \tilde V_m w_k}{w_k^H \tilde V_m w_k}\ (m \ne k),\qquad
        v_k = 1 - (w_k^H \tilde V_k w_k)^{-1/2},\qquad
        y_m \leftarrow y_m - v_m y_k,\quad w_m^H \leftarrow w_m^H - v_m w_k^H

    where :math:`w_m^H V_m w_k = \frac1T\sum_t \varphi_{mt} y_{mt} y_{kt}^*` is computed
    from ``Y`` directly (no covariance matrix is formed).
    """
    F, K, T = Y.shape
    M = W.shape[2]
    shared = phi.shape[1] == 1
    v = np.empty(K, dtype=Y.dtype)
    wk = np.empty(M, dtype=W.dtype)
    inv_T = 1.0 / T
    for f in range(F):
        fi = 0 if shared else f
        d = delta[f]
        for k in range(K):
            nk = 0.0
            for j in range(M):
                a = W[f, k, j]
                nk += a.real * a.real + a.imag * a.imag
            for m in range(K):
                num = 0j
                den = 0.0
                for t in range(T):
                    yk = Y[f, k, t]
                    c = phi[m, fi, t]
                    num += c * (Y[f, m, t] * yk.conjugate())
                    den += c * (yk.real * yk.real + yk.imag * yk.imag)
                den = den * inv_T + d * nk
                if m == k:
                    v[m] = 1.0 - 1.0 / math.sqrt(den) if den > 0.0 else 0.0
                else:
                    cross = 0j
                    for j in range(M):
                        cross += W[f, m, j] * W[f, k, j].conjugate()
                    v[m] = (num * inv_T + d * cross) / den if den > 0.0 else 0.0
            for t in range(T):
                yk = Y[f, k, t]
                for m in range(K):
                    Y[f, m, t] -= v[m] * yk
            for j in range(M):
                wk[j] = W[f, k, j]
            for m in range(K):
                for j in range(M):
                    W[f, m, j] -= v[m] * wk[j]


@jit(nogil=True)
def ilrma_nmf(Y, Tb, Vb, Rinv, floor, update):  # pragma: no cover - compiled
    r"""ILRMA's source model: one IS-NMF majorisation step per source, and the weights.

    With :math:`p_{kft} = |y_{kft}|^2` and :math:`r_{kft} = \max(\sum_l t_{kfl} v_{klt},
    \text{floor})` (Kitamura et al. 2016, eq. 34-35), when ``update``:

    .. math::

        t_{kfl} \leftarrow t_{kfl}\sqrt{\frac{\sum_t p_{kft} v_{klt} r_{kft}^{-2}}
        {\sum_t v_{klt} r_{kft}^{-1}}},\qquad
        v_{klt} \leftarrow v_{klt}\sqrt{\frac{\sum_f p_{kft} t_{kfl} r_{kft}^{-2}}
        {\sum_f t_{kfl} r_{kft}^{-1}}}

    (``r`` recomputed between the two).  Writes ``Rinv[k, f, t] = 1 / r_{kft}`` of the
    (updated) model and returns :math:`\sum_{kft} (p/r + \log r)` of the model as it was on
    entry (the NMF part of the negative log-likelihood).
    """
    F, K, T = Y.shape
    L = Tb.shape[2]
    R = np.empty(T)
    A = np.empty(T)
    IR = np.empty(T)
    numV = np.empty((L, T))
    denV = np.empty((L, T))
    cost = 0.0
    for k in range(K):
        # pass 1: the cost on entry and the numerators / denominators of the T update
        for f in range(F):
            _model_row(Tb, Vb, k, f, R, floor)
            logs = 0.0
            prod = 1.0
            for t in range(T):
                r = R[t]
                y = Y[f, k, t]
                p = y.real * y.real + y.imag * y.imag
                ir = 1.0 / r
                cost += p * ir
                A[t] = p * ir * ir
                IR[t] = ir
                prod *= r
                if (t & 7) == 7:  # one log per 8 frames (r >= floor keeps the product normal)
                    logs += math.log(prod)
                    prod = 1.0
            cost += logs + math.log(prod)
            if update:
                for l in range(L):
                    num = 0.0
                    den = 0.0
                    for t in range(T):
                        v = Vb[k, l, t]
                        num += A[t] * v
                        den += IR[t] * v
                    if den > 0.0:
                        Tb[k, f, l] *= math.sqrt(num / den)
        if not update:
            continue
        # pass 2: the V update with the new T
        numV[:, :] = 0.0
        denV[:, :] = 0.0
        for f in range(F):
            _model_row(Tb, Vb, k, f, R, floor)
            for t in range(T):
                y = Y[f, k, t]
                ir = 1.0 / R[t]
                A[t] = (y.real * y.real + y.imag * y.imag) * ir * ir
                IR[t] = ir
            for l in range(L):
                c = Tb[k, f, l]
                for t in range(T):
                    numV[l, t] += c * A[t]
                    denV[l, t] += c * IR[t]
        for l in range(L):
            for t in range(T):
                if denV[l, t] > 0.0:
                    Vb[k, l, t] *= math.sqrt(numV[l, t] / denV[l, t])
        # pass 3: the weights of the updated model
        for f in range(F):
            _model_row(Tb, Vb, k, f, R, floor)
            for t in range(T):
                Rinv[k, f, t] = 1.0 / R[t]
    return cost


@jit(nogil=True)
def _model_row(Tb, Vb, k, f, R, floor):  # pragma: no cover - compiled
    """``R[t] = max(sum_l Tb[k, f, l] Vb[k, l, t], floor)``."""
    T = R.shape[0]
    L = Tb.shape[2]
    c = Tb[k, f, 0]
    for t in range(T):
        R[t] = c * Vb[k, 0, t]
    for l in range(1, L):
        c = Tb[k, f, l]
        for t in range(T):
            R[t] += c * Vb[k, l, t]
    for t in range(T):
        R[t] = max(R[t], floor)
