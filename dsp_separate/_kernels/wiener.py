"""Numba kernels of the multichannel Wiener refinement (see ``dsp_separate._wiener``).

Arrays in, preallocated arrays out; no validation.  Shapes:

* ``X``      : (B, I, F, T) complex mixture STFT (B flattened leading axes, I channels)
* ``models`` : (J, B, M, F, T) non-negative source models, ``M`` is 1 or ``I``
* ``out``    : (J, B, I, F, T) complex source images (also the EM's working estimate)

Every frequency band ``(b, f)`` is independent: the spatial statistics of a band are sums over
its frames only, so one parallel job runs the masked initialisation and all EM iterations
of one band.  Per-bin algebra is done in float64 / complex128 whatever the storage dtype.
Powers are expressed in units of the band's mean mixture power ``ref`` so that ``eps`` is
relative and nothing overflows or underflows for very loud or very quiet bands.

One and two channels have fast paths (closed-form inverses; the two-channel E step is written
to vectorise over frames); any other channel count goes through the generic path (Cholesky
solve).
"""

import numpy as np
from numba import prange

from .._config import jit
from .masks import ratio_gain


@jit
def _masked_band(X, models, tiny, b, f, out):
    """Initialisation of band ``(b, f)``: ``out_j = g_j * x`` with ``g`` the package's one
    ratio-mask rule (:func:`dsp_separate._kernels.masks.ratio_gain`) of the models."""
    n_src = out.shape[0]
    n_chan = out.shape[2]
    n_frames = out.shape[4]
    n_model_chan = models.shape[2]
    m = np.empty(n_src)
    g = np.empty(n_src)
    for c in range(n_chan):
        mc = c if n_model_chan > 1 else 0
        for t in range(n_frames):
            for j in range(n_src):
                m[j] = models[j, b, mc, f, t]
            ratio_gain(m, 1.0, tiny, g)
            x = np.complex128(X[b, c, f, t])
            for j in range(n_src):
                out[j, b, c, f, t] = complex(x.real * g[j], x.imag * g[j])


@jit
def _band_power(X, b, f):
    """Mean ``|x|^2`` of band ``(b, f)`` over channels and frames, at least 1e-200."""
    n_chan = X.shape[1]
    n_frames = X.shape[3]
    ref = 0.0
    for c in range(n_chan):
        for t in range(n_frames):
            xc = np.complex128(X[b, c, f, t])
            ref += xc.real * xc.real + xc.imag * xc.imag
    ref /= n_chan * n_frames
    # a silent (or absurdly quiet) band: its images are ~zero whatever the scale, and the
    # floor keeps 1 / ref finite
    return max(ref, 1e-200)


# ----------------------------------------------------------------------------- 2 channels
# Complex arithmetic is spelled out on real and imaginary parts: without the ``nnan``/``ninf``
# fastmath flags LLVM cannot drop the zero imaginary part of a real factor, and a real times
# complex product would cost a full complex multiplication.


@jit
def _outer_2ch(y0, y1):
    """``sum_t y y^H`` of one source's two channel rows: ``(s00, s11, re s01, im s01)``."""
    s00 = 0.0
    s11 = 0.0
    s01r = 0.0
    s01i = 0.0
    for t in range(y0.shape[0]):
        a0 = y0[t]
        a1 = y1[t]
        a0r = np.float64(a0.real)
        a0i = np.float64(a0.imag)
        a1r = np.float64(a1.real)
        a1i = np.float64(a1.imag)
        s00 += a0r * a0r + a0i * a0i
        s11 += a1r * a1r + a1i * a1i
        s01r += a0r * a1r + a0i * a1i  # a0 * conj(a1)
        s01i += a0i * a1r - a0r * a1i
    return s00, s11, s01r, s01i


@jit
def _mstep_2ch(out, b, f, ref, eps, r00, r01r, r01i, r11):
    """Spatial covariances of band ``(b, f)``.

    ``R_j = sum_t (y y^H / ref + eps I) / sum_t v_j``, stored as its real diagonal ``r00``,
    ``r11`` and the real and imaginary parts of the upper off-diagonal entry.
    """
    n_src = out.shape[0]
    n_frames = out.shape[4]
    reg = n_frames * eps
    inv_ref = 1.0 / ref
    for j in range(n_src):
        s00, s11, s01r, s01i = _outer_2ch(out[j, b, 0, f], out[j, b, 1, f])
        scale = 1.0 / ((s00 + s11) * (0.5 * inv_ref) + reg)  # 1 / sum_t v_j
        r00[j] = (s00 * inv_ref + reg) * scale
        r11[j] = (s11 * inv_ref + reg) * scale
        r01r[j] = s01r * inv_ref * scale
        r01i[j] = s01i * inv_ref * scale


# The E step works on blocks of _BLOCK frames in four passes over 1-D arrays, each a simple
# loop that LLVM vectorises: (a) v_j and C_x, (b) z = C_x^{-1} x, (c) y_j = v_j R_j z,
# (d) hand back the rounding residual and store.  Divisions use np.divide, which (unlike the
# ``/`` operator under numba's Python error model) has no zero check to block vectorisation;
# the divisors are positive by construction.

_BLOCK = 256


@jit
def _mix_2ch(y0, y1, n, inv_norm, eps, q00, q11, qr, qi, v, v_sum, c00, c11, c01r, c01i):
    """Pass (a) for one source: ``v = |y|^2 / norm + eps``; add ``v`` and ``v R_j`` to the sums."""
    for k in range(n):
        a0 = y0[k]
        a1 = y1[k]
        a0r = np.float64(a0.real)
        a0i = np.float64(a0.imag)
        a1r = np.float64(a1.real)
        a1i = np.float64(a1.imag)
        vk = (a0r * a0r + a0i * a0i + a1r * a1r + a1i * a1i) * inv_norm + eps
        v[k] = vk
        v_sum[k] += vk
        c00[k] += vk * q00
        c11[k] += vk * q11
        c01r[k] += vk * qr
        c01i[k] += vk * qi


@jit
def _solve_2ch(x0, x1, n, v_sum, c00, c11, c01r, c01i, z0r, z0i, z1r, z1i, d0r, d0i, d1r, d1i,
               w):
    """Pass (b): ``z = C_x^{-1} x`` in closed form, ``d = x`` (the residual before any source
    is subtracted) and ``w = 1 / sum_j v_j``."""
    for k in range(n):
        xa = x0[k]
        xb = x1[k]
        x0r = np.float64(xa.real)
        x0i = np.float64(xa.imag)
        x1r = np.float64(xb.real)
        x1i = np.float64(xb.imag)
        a = c00[k]
        d = c11[k]
        cr = c01r[k]
        ci = c01i[k]
        det = a * d - (cr * cr + ci * ci)
        # C_x is positive definite; the floor only guards against rounding
        det = max(det, 1e-15 * a * d)
        inv = np.divide(1.0, det * v_sum[k])  # one division for 1 / det and 1 / sum v
        inv_det = inv * v_sum[k]
        w[k] = inv * det
        # C_x^{-1} = [[c11, -c01], [-conj(c01), c00]] / det
        z0r[k] = (d * x0r - (cr * x1r - ci * x1i)) * inv_det
        z0i[k] = (d * x0i - (cr * x1i + ci * x1r)) * inv_det
        z1r[k] = (a * x1r - (cr * x0r + ci * x0i)) * inv_det
        z1i[k] = (a * x1i - (cr * x0i - ci * x0r)) * inv_det
        d0r[k] = x0r
        d0i[k] = x0i
        d1r[k] = x1r
        d1i[k] = x1i


@jit
def _image_2ch(n, q00, q11, qr, qi, v, z0r, z0i, z1r, z1i, e0r, e0i, e1r, e1i, d0r, d0i, d1r,
               d1i):
    """Pass (c) for one source: ``e = v R_j z`` with ``R_j = [[q00, q01], [conj(q01), q11]]``;
    subtract ``e`` from the residual ``d``."""
    for k in range(n):
        vk = v[k]
        p0r = vk * (q00 * z0r[k] + qr * z1r[k] - qi * z1i[k])
        p0i = vk * (q00 * z0i[k] + qr * z1i[k] + qi * z1r[k])
        p1r = vk * (qr * z0r[k] + qi * z0i[k] + q11 * z1r[k])
        p1i = vk * (qr * z0i[k] - qi * z0r[k] + q11 * z1i[k])
        e0r[k] = p0r
        e0i[k] = p0i
        e1r[k] = p1r
        e1i[k] = p1i
        d0r[k] -= p0r
        d0i[k] -= p0i
        d1r[k] -= p1r
        d1i[k] -= p1i


@jit
def _store_2ch(n, v, w, e0r, e0i, e1r, e1i, d0r, d0i, d1r, d1i, y0, y1):
    """Pass (d) for one source: ``y = e + d v / sum v`` (the rounding residual ``d`` shared
    in proportion to ``v``)."""
    for k in range(n):
        share = v[k] * w[k]
        y0[k] = complex(e0r[k] + d0r[k] * share, e0i[k] + d0i[k] * share)
        y1[k] = complex(e1r[k] + d1r[k] * share, e1i[k] + d1i[k] * share)


@jit
def _estep_2ch(X, b, f, ref, eps, r00, r01r, r01i, r11, out):
    """Posterior means ``y_j = v_j R_j C_x^{-1} x`` of band ``(b, f)``, closed-form 2x2.

    ``sum_j G_j = I`` holds exactly only in exact arithmetic: the rounding-level residual
    ``x - sum_j y_j`` is handed back to the sources in proportion to ``v_j``.
    """
    n_src = out.shape[0]
    n_frames = out.shape[4]
    inv_norm = np.divide(0.5, ref)
    nb = min(_BLOCK, n_frames)
    V = np.empty((n_src, nb))
    E = np.empty((4 * n_src, nb))
    v_sum = np.empty(nb)
    c00 = np.empty(nb)
    c11 = np.empty(nb)
    c01r = np.empty(nb)
    c01i = np.empty(nb)
    z0r = np.empty(nb)
    z0i = np.empty(nb)
    z1r = np.empty(nb)
    z1i = np.empty(nb)
    d0r = np.empty(nb)
    d0i = np.empty(nb)
    d1r = np.empty(nb)
    d1i = np.empty(nb)
    w = np.empty(nb)
    for t0 in range(0, n_frames, nb):
        t1 = min(t0 + nb, n_frames)
        n = t1 - t0
        v_sum[:] = 0.0
        c00[:] = 0.0
        c11[:] = 0.0
        c01r[:] = 0.0
        c01i[:] = 0.0
        for j in range(n_src):
            _mix_2ch(out[j, b, 0, f, t0:t1], out[j, b, 1, f, t0:t1], n, inv_norm, eps,
                     r00[j], r11[j], r01r[j], r01i[j], V[j], v_sum, c00, c11, c01r, c01i)
        _solve_2ch(X[b, 0, f, t0:t1], X[b, 1, f, t0:t1], n, v_sum, c00, c11, c01r, c01i,
                   z0r, z0i, z1r, z1i, d0r, d0i, d1r, d1i, w)
        for j in range(n_src):
            _image_2ch(n, r00[j], r11[j], r01r[j], r01i[j], V[j], z0r, z0i, z1r, z1i,
                       E[4 * j], E[4 * j + 1], E[4 * j + 2], E[4 * j + 3], d0r, d0i, d1r, d1i)
        for j in range(n_src):
            _store_2ch(n, V[j], w, E[4 * j], E[4 * j + 1], E[4 * j + 2], E[4 * j + 3],
                       d0r, d0i, d1r, d1i, out[j, b, 0, f, t0:t1], out[j, b, 1, f, t0:t1])


@jit
def _em_band_2ch(X, b, f, iterations, eps, out):
    n_src = out.shape[0]
    ref = _band_power(X, b, f)
    r00 = np.empty(n_src)
    r11 = np.empty(n_src)
    r01r = np.empty(n_src)
    r01i = np.empty(n_src)
    for _ in range(iterations):
        _mstep_2ch(out, b, f, ref, eps, r00, r01r, r01i, r11)
        _estep_2ch(X, b, f, ref, eps, r00, r01r, r01i, r11, out)


# ----------------------------------------------------------------------------- 1 channel


@jit
def _em_band_1ch(X, b, f, iterations, eps, out):
    """Mono EM of band ``(b, f)``: ``R_j = 1``, so each update is ``y_j = v_j / sum_k v_k x``."""
    n_src = out.shape[0]
    n_frames = out.shape[4]
    inv_ref = 1.0 / _band_power(X, b, f)
    v = np.empty(n_src)
    for _ in range(iterations):
        for t in range(n_frames):
            xc = X[b, 0, f, t]
            xr = np.float64(xc.real)
            xi = np.float64(xc.imag)
            v_sum = 0.0
            for j in range(n_src):
                a = out[j, b, 0, f, t]
                ar = np.float64(a.real)
                ai = np.float64(a.imag)
                vj = (ar * ar + ai * ai) * inv_ref + eps
                v[j] = vj
                v_sum += vj
            inv_v_sum = 1.0 / v_sum
            for j in range(n_src):
                g = v[j] * inv_v_sum
                out[j, b, 0, f, t] = complex(xr * g, xi * g)


# ----------------------------------------------------------------------------- any channels


@jit
def _solve_hermitian(C, x, L, z):
    """``z = C^{-1} x`` for a Hermitian positive definite ``C`` by Cholesky ``C = L L^H``."""
    n = C.shape[0]
    for k in range(n):
        d = C[k, k].real
        for m in range(k):
            lkm = L[k, m]
            d -= lkm.real * lkm.real + lkm.imag * lkm.imag
        floor = 1e-15 * C[k, k].real
        if d < floor:  # only reachable through rounding: C is positive definite
            d = floor
        lkk = np.sqrt(d)
        L[k, k] = lkk
        inv_lkk = 1.0 / lkk
        for i in range(k + 1, n):
            acc = C[i, k]
            for m in range(k):
                acc -= L[i, m] * L[k, m].conjugate()
            L[i, k] = acc * inv_lkk
    for i in range(n):  # forward: L w = x (w kept in z)
        acc = x[i]
        for m in range(i):
            acc -= L[i, m] * z[m]
        z[i] = acc / L[i, i].real
    for i in range(n - 1, -1, -1):  # backward: L^H z = w
        acc = z[i]
        for m in range(i + 1, n):
            acc -= L[m, i].conjugate() * z[m]
        z[i] = acc / L[i, i].real


@jit
def _em_band_any(X, b, f, iterations, eps, out):
    """Generic-channel EM of band ``(b, f)`` (reads and rewrites ``out[:, b, :, f, :]``)."""
    n_src = out.shape[0]
    n_chan = out.shape[2]
    n_frames = out.shape[4]
    ref = _band_power(X, b, f)
    norm = n_chan * ref  # v = |y|^2 / norm is the per-channel mean power in units of ref
    reg = n_frames * eps

    R = np.empty((n_src, n_chan, n_chan), dtype=np.complex128)
    v = np.empty(n_src)
    C = np.empty((n_chan, n_chan), dtype=np.complex128)
    L = np.zeros((n_chan, n_chan), dtype=np.complex128)
    x = np.empty(n_chan, dtype=np.complex128)
    z = np.empty(n_chan, dtype=np.complex128)
    a = np.empty(n_chan, dtype=np.complex128)
    y = np.empty((n_src, n_chan), dtype=np.complex128)

    for _ in range(iterations):
        # -- M step: R_j = sum_t (y y^H / ref + eps I) / sum_t v_j
        for j in range(n_src):
            R[j] = 0.0
            for t in range(n_frames):
                for c in range(n_chan):
                    a[c] = out[j, b, c, f, t]
                for c1 in range(n_chan):
                    for c2 in range(c1, n_chan):
                        R[j, c1, c2] += a[c1] * a[c2].conjugate()
            trace = 0.0
            for c in range(n_chan):
                trace += R[j, c, c].real
            scale = 1.0 / (trace / norm + reg)  # 1 / sum_t v_j
            for c1 in range(n_chan):
                R[j, c1, c1] = (R[j, c1, c1].real / ref + reg) * scale
                for c2 in range(c1 + 1, n_chan):
                    R[j, c1, c2] = R[j, c1, c2] / ref * scale
                    R[j, c2, c1] = R[j, c1, c2].conjugate()

        # -- E step, frame by frame: v_j, C_x = sum_j v_j R_j, y_j = v_j R_j C_x^{-1} x
        for t in range(n_frames):
            for c in range(n_chan):
                x[c] = X[b, c, f, t]
            v_sum = 0.0
            for j in range(n_src):
                p = 0.0
                for c in range(n_chan):
                    yc = np.complex128(out[j, b, c, f, t])
                    p += yc.real * yc.real + yc.imag * yc.imag
                v[j] = p / norm + eps
                v_sum += v[j]
            C[:] = 0.0
            for j in range(n_src):
                for c1 in range(n_chan):
                    for c2 in range(c1, n_chan):
                        C[c1, c2] += v[j] * R[j, c1, c2]
            for c1 in range(n_chan):
                for c2 in range(c1 + 1, n_chan):
                    C[c2, c1] = C[c1, c2].conjugate()
            _solve_hermitian(C, x, L, z)
            for j in range(n_src):
                for c1 in range(n_chan):
                    acc = 0j
                    for c2 in range(n_chan):
                        acc += R[j, c1, c2] * z[c2]
                    y[j, c1] = v[j] * acc
            # hand the rounding-level residual back, as in the two-channel path
            inv_v_sum = 1.0 / v_sum
            for c in range(n_chan):
                r = x[c]
                for j in range(n_src):
                    r -= y[j, c]
                r *= inv_v_sum
                for j in range(n_src):
                    out[j, b, c, f, t] = y[j, c] + r * v[j]


# ----------------------------------------------------------------------------- entry point


@jit(parallel=True)
def wiener_em(X, models, tiny, iterations, eps, init, out):
    """Masked initialisation then ``iterations`` EM updates, one parallel job per band.

    ``models`` (J, B, M, F, T) give the ratio masks of the initialisation (``tiny``: the
    models' dtype's smallest normal number); with ``init=False`` they are ignored and
    ``out`` already holds the initial images (the oracle Wiener filter starts from the true
    images).  ``eps`` is the relative regularisation (isotropic noise power per source and
    bin, in units of the band's mean mixture power).
    """
    n_batch = X.shape[0]
    n_chan = X.shape[1]
    n_freq = X.shape[2]
    for job in prange(n_batch * n_freq):
        b = job // n_freq
        f = job - b * n_freq
        if init:
            _masked_band(X, models, tiny, b, f, out)
        if iterations > 0:
            if n_chan == 2:
                _em_band_2ch(X, b, f, iterations, eps, out)
            elif n_chan == 1:
                _em_band_1ch(X, b, f, iterations, eps, out)
            else:
                _em_band_any(X, b, f, iterations, eps, out)
