"""Numba kernels of speech enhancement: special functions, gain rules, frame recursions.

No validation (see ``dsp_separate.separators.enhance``).  Every recursion runs over frames
(outer loop) and all frequency bins at once (inner loop) on ``(n_frames, n_freq)`` float64
arrays, and reads / writes its state in arrays the caller owns, so that a stream can stop
after any frame and continue with the next block exactly where it was.
"""

import math

import numpy as np

from .._config import jit

#: Smallest noise power used as a denominator (0 / 0 never happens).
TINY = 1e-300
#: Smallest a posteriori SNR used in the gain rules (their limit at 0 is infinite).
GAMMA_MIN = 1e-10
#: Largest a posteriori SNR: the noise power a frame's power is divided by is at least
#: ``P / GAMMA_MAX``.  A tracker's estimate is 0 after digital silence, and loud input
#: (int16-scale floats) over TINY overflows to inf, whose gain xi / (1 + xi) is NaN, which
#: the recursions would carry to every later frame.
GAMMA_MAX = 1e30
INV_GAMMA_MAX = 1.0 / GAMMA_MAX
EULER = 0.5772156649015329
_LSA_C = math.exp(-0.5 * EULER)

# gain rule codes shared with the Python layer
WIENER, MMSE_STSA, LOG_MMSE = 0, 1, 2


# ---------------------------------------------------------------------------- special functions
# The gain rules evaluate E1 (log-MMSE, OM-LSA, IMCRA) or I0e / I1e (MMSE-STSA) once per bin
# and frame, so they are branch-light fixed-cost approximations, all within 1e-12 relative
# of scipy: a fixed number of power-series terms near 0, Chebyshev interpolants of the
# smooth scaled function on octaves (half-octaves for E1) in the middle, the asymptotic
# series for large arguments.  The Chebyshev coefficients are computed once, at import, by
# interpolating scipy.special at Chebyshev points (``_chebyshev_table``).
def _chebyshev_table(fn, edges, degree):
    from numpy.polynomial import chebyshev

    table = np.empty((len(edges) - 1, degree + 1))
    for i in range(len(edges) - 1):
        a, b = edges[i], edges[i + 1]
        table[i] = chebyshev.chebinterpolate(
            lambda u, a=a, b=b: fn(a + (u + 1.0) * (b - a) / 2.0), degree)
    return table


def _tables():
    import scipy.special as sp

    e1_edges = 2.0 ** (np.arange(13) / 2.0)          # 1 .. 64 in half octaves
    e1 = _chebyshev_table(lambda x: x * np.exp(x) * sp.exp1(x), e1_edges, 12)
    i_edges = 2.0 ** np.arange(1, 7)                 # 2 .. 64 in octaves
    i0 = _chebyshev_table(sp.i0e, i_edges, 16)
    i1 = _chebyshev_table(sp.i1e, i_edges, 16)
    return e1_edges, e1, i_edges, np.stack([i0, i1])


_E1_EDGES, _E1_CHEB, _I_EDGES, _I_CHEB = _tables()
# E1(x) + gamma + ln x = -sum_k (-x)^k / (k k!), k = 1 .. 18 (x <= 1: < 1e-16 left out)
_E1_SERIES = np.array([-(-1.0) ** k / (k * math.factorial(k)) for k in range(1, 19)])
# I_nu(x) = (x/2)^nu sum_k q^k / (k! (k + nu)!), q = x^2 / 4 (x <= 2: 15 terms, < 1e-17)
_I_SERIES = np.array([[1.0 / (math.factorial(k) * math.factorial(k + nu)) for k in range(15)]
                      for nu in (0, 1)])


def _lsa_tables():
    """Interpolants of ``R(v) = exp(s(v) / 2)``, ``s(v) = E1(v) + euler + ln v``, for
    :func:`lsa_factor`: the power series of ``s`` (40 terms, exact to rounding for v <= 4)
    at Chebyshev points; on [0, 1/16] as monomials in ``u = 32 v - 1``."""
    from numpy.polynomial import chebyshev

    k = np.arange(1, 41)
    coef = -(-1.0) ** k / (k * np.array([math.factorial(int(j)) for j in k], dtype=float))

    def r_of(v):
        v = np.asarray(v, dtype=float)
        s = np.zeros_like(v)
        for c in coef[::-1]:
            s = (s + c) * v
        return np.exp(0.5 * s)

    small = chebyshev.cheb2poly(chebyshev.chebinterpolate(lambda u: r_of((u + 1.0) / 32.0),
                                                          6))
    edges = np.array([0.0625, 0.25, 1.0, 2.0, 4.0])
    cheb = _chebyshev_table(r_of, edges, 12)
    return small, edges, cheb


_LSA_SMALL, _LSA_EDGES, _LSA_CHEB = _lsa_tables()


@jit(nogil=True)
def _clenshaw(c, u):
    """sum_j c[j] T_j(u), u in [-1, 1]."""
    b1 = 0.0
    b2 = 0.0
    for j in range(c.shape[0] - 1, 0, -1):
        b0 = c[j] + 2.0 * u * b1 - b2
        b2 = b1
        b1 = b0
    return c[0] + u * b1 - b2


@jit(nogil=True)
def _bessel_ie(nu, x):
    """exp(-x) I_nu(x) for nu in {0, 1}, x >= 0 (within 1e-12 relative of scipy)."""
    if x <= 2.0:
        q = 0.25 * x * x
        c = _I_SERIES[nu]
        total = c[c.shape[0] - 1]
        for k in range(c.shape[0] - 2, -1, -1):
            total = total * q + c[k]
        if nu == 1:
            total *= 0.5 * x
        return total * math.exp(-x)
    if x < 64.0:
        m, e = math.frexp(x)        # x in [2^(e-1), 2^e): octave e - 2 of 2 .. 64
        i = e - 2
        a = _I_EDGES[i]
        return _clenshaw(_I_CHEB[nu, i], (x - 1.5 * a) / (0.5 * a))
    mu = 4.0 * nu * nu
    term = 1.0
    total = 1.0
    for k in range(1, 12):
        odd = 2.0 * k - 1.0
        term *= -(mu - odd * odd) / (k * 8.0 * x)
        total += term
    return total / math.sqrt(2.0 * math.pi * x)


@jit(nogil=True)
def i0e(x):
    """Exponentially scaled modified Bessel function of order 0, ``exp(-x) I0(x)``, x >= 0."""
    return _bessel_ie(0, x)


@jit(nogil=True)
def i1e(x):
    """Exponentially scaled modified Bessel function of order 1, ``exp(-x) I1(x)``, x >= 0."""
    return _bessel_ie(1, x)


@jit(nogil=True)
def exp1(x):
    """Exponential integral E1(x) = int_x^inf exp(-t) / t dt, x > 0 (inf at 0).

    Within 1e-12 relative of ``scipy.special.exp1``: 18 series terms for x <= 1, Chebyshev
    interpolants of ``x e^x E1(x)`` on half octaves from 1 to 64, the asymptotic series
    (12 terms) beyond.
    """
    if x <= 0.0:
        return np.inf
    if x <= 1.0:
        # terms needed for < 1e-16: 6 up to 1/16, 10 up to 1/4, 18 up to 1 (most bins
        # of a noisy spectrogram have v < 0.1: keep their chain short)
        n = 6 if x <= 0.0625 else (10 if x <= 0.25 else 18)
        c = _E1_SERIES
        total = c[n - 1]
        for k in range(n - 2, -1, -1):
            total = total * x + c[k]
        return -EULER - math.log(x) + total * x
    if x < 64.0:
        m, e = math.frexp(x)        # x in [2^(e-1), 2^e)
        i = 2 * (e - 1) + (1 if m >= 0.7071067811865476 else 0)
        a = _E1_EDGES[i]
        b = _E1_EDGES[i + 1]
        g = _clenshaw(_E1_CHEB[i], (2.0 * x - a - b) / (b - a))
        return g * math.exp(-x) / x
    if x > 700.0:
        return 0.0
    # asymptotic series exp(-x) / x sum_k (-1)^k k! / x^k (12 terms: < 1e-12 relative)
    term = 1.0
    total = 1.0
    for k in range(1, 12):
        term *= -k / x
        total += term
    return total * math.exp(-x) / x


# ---------------------------------------------------------------------------- gain rules
@jit(nogil=True)
def gain_of(kind, xi, gamma):
    """Spectral gain of rule ``kind`` (WIENER, MMSE_STSA, LOG_MMSE) at (xi, gamma)."""
    if kind == WIENER:
        return xi / (1.0 + xi)
    gamma = max(gamma, GAMMA_MIN)
    w = xi / (1.0 + xi)
    v = w * gamma
    if kind == MMSE_STSA:
        # (sqrt(pi) / 2) (sqrt(v) / gamma) exp(-v/2) [(1 + v) I0(v/2) + v I1(v/2)]
        h = 0.5 * v
        return 0.8862269254527580 * math.sqrt(v) / gamma * ((1.0 + v) * i0e(h) + v * i1e(h))
    # log-MMSE: xi / (1 + xi) exp(E1(v) / 2)
    return w * lsa_factor(v)


@jit(nogil=True)
def lsa_factor(v):
    """``exp(E1(v) / 2)``, the log-MMSE gain over the Wiener gain, v > 0.

    Within 5e-15 relative of the exact value, and no log or exp below v = 4.  With
    ``E1(v) = -euler - ln v + s(v)`` (``s`` entire, :data:`_E1_SERIES`) the factor is
    ``exp(-euler / 2) R(v) / sqrt(v)`` with ``R = exp(s / 2)`` smooth: a degree-6 polynomial
    on [0, 1/16] (most bins of a noisy spectrogram), Chebyshev interpolants on [1/16, 4]
    (:data:`_LSA_EDGES`).  From 4 to 34, ``e = E1(v) / 2 < 0.0025`` and ``exp(e)`` is its
    Taylor polynomial (6 terms); from 34 on, ``E1(v) / 2 < 1.1e-16`` and the factor is 1.
    """
    if v <= 0.0625:
        if v <= 0.0:
            return np.inf
        u = 32.0 * v - 1.0
        c = _LSA_SMALL
        r = c[6]
        for k in range(5, -1, -1):
            r = r * u + c[k]
        return _LSA_C * r / math.sqrt(v)
    if v < 4.0:
        i = 0 if v < 0.25 else (1 if v < 1.0 else (2 if v < 2.0 else 3))
        a = _LSA_EDGES[i]
        b = _LSA_EDGES[i + 1]
        r = _clenshaw(_LSA_CHEB[i], (2.0 * v - a - b) / (b - a))
        return _LSA_C * r / math.sqrt(v)
    if v >= 34.0:
        return 1.0
    e = 0.5 * exp1(v)
    return 1.0 + e * (1.0 + e * (0.5 + e * (1.0 / 6.0 + e * (1.0 / 24.0 + e / 120.0))))


@jit(nogil=True)
def gain_map(kind, xi, gamma, out):
    """``out[i] = gain_of(kind, xi[i], gamma[i])`` over flat arrays."""
    for i in range(xi.shape[0]):
        out[i] = gain_of(kind, xi[i], gamma[i])


@jit(nogil=True)
def exp1_map(x, out):
    """``out[i] = exp1(x[i])``."""
    for i in range(x.shape[0]):
        out[i] = exp1(x[i])


@jit(nogil=True)
def bessel_map(nu, x, out):
    """``out[i] = exp(-x) I_nu(x[i])``."""
    for i in range(x.shape[0]):
        out[i] = _bessel_ie(nu, x[i])


@jit(nogil=True)
def _smooth_row(x, b, out):
    """Frequency smoothing of one frame with a symmetric window b (edges renormalised).

    ``b`` sums to 1 (the callers' windows do), so the interior needs no division; only the
    ``w`` bins at each edge, where the window is cut, are renormalised.
    """
    F = x.shape[0]
    w = b.shape[0] // 2
    lo = min(w, F)
    hi = max(F - w, lo)
    if w == 1:  # the trackers' 3-point window: a straight-line loop that vectorises
        b0 = b[0]
        b1 = b[1]
        b2 = b[2]
        for f in range(lo, hi):
            out[f] = b0 * x[f - 1] + b1 * x[f] + b2 * x[f + 1]
    else:
        for f in range(lo, hi):
            acc = 0.0
            for i in range(2 * w + 1):
                acc += b[i] * x[f - w + i]
            out[f] = acc
    for part in range(2):
        start, stop = (0, lo) if part == 0 else (hi, F)
        for f in range(start, stop):
            acc = 0.0
            wsum = 0.0
            for i in range(-w, w + 1):
                g = f + i
                if 0 <= g < F:
                    acc += b[i + w] * x[g]
                    wsum += b[i + w]
            out[f] = acc / wsum


@jit(nogil=True)
def power_frames(X, t0, out):
    """``out[t, f] = |X[f, t0 + t]|^2`` in float64: the power of frames ``t0 ..
    t0 + len(out) - 1`` of one (F, T) STFT, frames outer.

    A tiled transpose (8 frames, one cache line of ``X``, at a time), no temporaries.
    """
    F = X.shape[0]
    T = out.shape[0]
    for s0 in range(0, T, 8):
        s1 = min(s0 + 8, T)
        for f in range(F):
            for t in range(s0, s1):
                v = X[f, t0 + t]
                re = np.float64(v.real)
                im = np.float64(v.imag)
                out[t, f] = re * re + im * im


@jit(nogil=True)
def power_rows(X, t0, out):
    """``out[t, f] = |X[t0 + t, f]|^2`` in float64: :func:`power_frames` of an STFT stored
    frame by frame, (T, F) (the same values; its frames are read as rows)."""
    F = out.shape[1]
    for t in range(out.shape[0]):
        src = X[t0 + t]
        dst = out[t]
        for f in range(F):
            v = src[f]
            re = np.float64(v.real)
            im = np.float64(v.imag)
            dst[f] = re * re + im * im


@jit(nogil=True)
def posterior_snr(p, n):
    """The a posteriori SNR ``gamma = p / n`` of one bin, within [GAMMA_MIN, GAMMA_MAX]
    (a noise power of 0, or below TINY, is never divided by)."""
    return max(p / max(n, p * INV_GAMMA_MAX, TINY), GAMMA_MIN)


# ---------------------------------------------------------------------------- decision-directed
@jit(nogil=True)
def _dd_xi_gamma(p_row, n_row, alpha, xi_min, prev, started, gamma, xi):
    """One frame of the decision-directed rule: ``gamma = P / N`` (at least GAMMA_MIN) and
    ``xi = max(alpha prev + (1 - alpha) max(gamma - 1, 0), xi_min)`` (``prev`` unused before
    the first frame) into the row buffers ``gamma``, ``xi``; branch-free, vectorises."""
    beta = 1.0 - alpha
    if started:
        for f in range(p_row.shape[0]):
            p = p_row[f]
            g = posterior_snr(p, n_row[f])
            gamma[f] = g
            xi[f] = max(alpha * prev[f] + beta * max(g - 1.0, 0.0), xi_min)
    else:
        for f in range(p_row.shape[0]):
            p = p_row[f]
            g = posterior_snr(p, n_row[f])
            gamma[f] = g
            xi[f] = max(max(g - 1.0, 0.0), xi_min)


@jit(nogil=True)
def _lsa_gain_row(xi, gamma, v_row, idx, out):
    """``out[f] = gain_of(LOG_MMSE, xi[f], gamma[f])`` for one frame (``gamma >= GAMMA_MIN``).

    :func:`lsa_factor` reorganised so that the loops have no branches and vectorise: every
    bin through its polynomial branch (v <= 1/16: most bins of a noisy spectrogram); the
    indices of the other bins gathered into ``idx``; those through the Chebyshev branch
    (v clamped to [1/16, 4], the interval's coefficients by index); the few left (v >= 4,
    or v <= 0) through :func:`lsa_factor` itself.  ``v_row`` (F,), ``idx`` (F,) int64:
    scratch.
    """
    c = _LSA_SMALL
    F = xi.shape[0]
    for f in range(F):
        w = xi[f] / (1.0 + xi[f])
        v = w * gamma[f]
        v_row[f] = v
        u = 32.0 * min(v, 0.0625) - 1.0
        r = (((((c[6] * u + c[5]) * u + c[4]) * u + c[3]) * u + c[2]) * u + c[1]) * u + c[0]
        out[f] = w * (_LSA_C * r / math.sqrt(v))
    n = 0
    for f in range(F):
        idx[n] = f
        n += 1 - (int(v_row[f] > 0.0) & int(v_row[f] <= 0.0625))
    cheb = _LSA_CHEB
    edges = _LSA_EDGES
    for j in range(n):
        f = idx[j]
        v = min(max(v_row[f], 0.0625), 4.0)
        i = int(v >= 0.25) + int(v >= 1.0) + int(v >= 2.0)
        a = edges[i]
        b = edges[i + 1]
        u2 = 2.0 * (2.0 * v - a - b) / (b - a)
        b1 = 0.0
        b2 = 0.0
        for k in range(cheb.shape[1] - 1, 0, -1):
            b0 = cheb[i, k] + u2 * b1 - b2
            b2 = b1
            b1 = b0
        r = cheb[i, 0] + 0.5 * u2 * b1 - b2
        out[f] = xi[f] / (1.0 + xi[f]) * (_LSA_C * r / math.sqrt(v))
    for j in range(n):
        f = idx[j]
        v = v_row[f]
        if not (0.0625 < v < 4.0):
            out[f] = xi[f] / (1.0 + xi[f]) * lsa_factor(v)


@jit(nogil=True)
def dd_gains(P, N, kind, alpha, xi_min, g_min, prev, started, G):
    """Decision-directed a priori SNR (Ephraim & Malah 1984) and gain rule ``kind``.

    ``P``, ``N``: (T, F) noisy and noise power; ``prev`` (F,): last frame's
    ``G^2 gamma``; ``started`` (1,) int64, 0 before the first frame.  Writes ``G`` (T, F)
    clipped to [g_min, 1]; updates ``prev`` and ``started``.  Per frame three passes over
    the bins: gamma and xi (:func:`_dd_xi_gamma`), the gain rule, the clip and ``prev``.
    """
    T, F = P.shape
    gamma = np.empty(F)
    xi = np.empty(F)
    scratch = np.empty(F)
    idx = np.empty(F, np.int64)
    for t in range(T):
        _dd_xi_gamma(P[t], N[t], alpha, xi_min, prev, started[0], gamma, xi)
        started[0] = 1
        g_row = G[t]
        if kind == LOG_MMSE:
            _lsa_gain_row(xi, gamma, scratch, idx, g_row)
        elif kind == WIENER:
            for f in range(F):
                g_row[f] = xi[f] / (1.0 + xi[f])
        else:
            for f in range(F):
                g_row[f] = gain_of(kind, xi[f], gamma[f])
        for f in range(F):
            g = min(max(g_row[f], g_min), 1.0)
            g_row[f] = g
            prev[f] = g * g * gamma[f]


@jit(nogil=True)
def spectral_subtraction_gains(P, N, alpha0, slope, alpha_lo, alpha_hi, beta, G):
    """Power spectral subtraction with over-subtraction and floor (Berouti et al. 1979).

    Per frame, ``alpha = clip(alpha0 - slope * SNR_dB, alpha_lo, alpha_hi)`` with the frame's
    a posteriori SNR; ``|S|^2 = |Y|^2 - alpha N`` where above ``beta N``, else ``beta N``;
    ``G = sqrt(|S|^2 / |Y|^2)`` clipped to [0, 1].  Memoryless: no state.
    """
    T, F = P.shape
    for t in range(T):
        sp = 0.0
        sn = 0.0
        for f in range(F):
            sp += P[t, f]
            sn += N[t, f]
        ratio = sp / max(sn, TINY) - 1.0
        snr_db = 10.0 * math.log10(ratio) if ratio > 1e-30 else -300.0
        a = min(max(alpha0 - slope * snr_db, alpha_lo), alpha_hi)
        for f in range(F):
            p = P[t, f]
            n = N[t, f]
            d = p - a * n
            s = d if d > beta * n else beta * n
            if p <= TINY:
                G[t, f] = 1.0 if n <= TINY else 0.0
            else:
                G[t, f] = min(math.sqrt(max(s, 0.0) / p), 1.0)


@jit(nogil=True)
def _log_linear(z, z_min, z_max, lz):
    """0 at or below ``z_min``, 1 at or above ``z_max``, log-linear between."""
    if z <= z_min:
        return 0.0
    if z >= z_max:
        return 1.0
    return math.log(z / z_min) / lz


@jit(nogil=True)
def omlsa_gains(P, N, alpha, xi_min, g_min, beta, b_local, b_global, z_min, z_max,
                zp_min, zp_max, k_lo, k_hi, q_max, prev, zeta, frame, started, G, Pres):
    """OM-LSA gains (Cohen & Berdugo 2001) with the a priori speech absence probability.

    ``q = 1 - P_local P_global P_frame`` (bounded by ``q_max``) from the recursively
    averaged a priori SNR ``zeta`` (smoothing ``beta``, eq. 26) of the previous frames:
    ``P_local`` and ``P_global`` from ``zeta`` smoothed over a local and a global frequency
    window (``b_local``, ``b_global``), each 0 below ``z_min``, 1 above ``z_max`` and
    log-linear between (eqs. 27-28); ``P_frame`` from the mean ``zeta_frame`` over bins
    ``k_lo .. k_hi - 1`` (eqs. 29-31): 0 at or below ``z_min``; 1 while ``zeta_frame``
    rises, when the peak ``zeta_peak`` is also set to ``zeta_frame`` confined to
    [``zp_min``, ``zp_max``]; otherwise log-linear between ``zeta_peak z_min`` and
    ``zeta_peak z_max`` (the speech-onset / speech-offset rule).  Then
    ``p = 1 / (1 + q / (1 - q) (1 + xi) exp(-v))`` (eq. 16) and
    ``G = G_H1^p g_min^(1 - p)`` (eq. 12), ``G_H1`` the log-MMSE gain, which also drives the
    decision-directed recursion (eq. 24).  State: ``prev`` (F,), ``zeta`` (F,), ``frame``
    (2,) = (previous ``zeta_frame``, ``zeta_peak``), ``started`` (1,).  Writes ``G`` and
    the speech presence probability ``Pres`` (T, F).
    """
    T, F = P.shape
    loc = np.empty(F)
    glob = np.empty(F)
    xi_row = np.empty(F)
    lz = math.log(z_max / z_min)
    n_band = max(k_hi - k_lo, 1)
    for t in range(T):
        # q from the smoothed a priori SNR of the previous frames
        p_frame = 1.0
        if started[0]:
            _smooth_row(zeta, b_local, loc)
            _smooth_row(zeta, b_global, glob)
            zf = 0.0
            for f in range(k_lo, k_hi):
                zf += zeta[f]
            zf /= n_band
            if zf <= z_min:
                p_frame = 0.0
            elif zf > frame[0]:                      # rising: speech onset, track the peak
                frame[1] = min(max(zf, zp_min), zp_max)
                p_frame = 1.0
            else:
                p_frame = _log_linear(zf / frame[1], z_min, z_max, lz)
            frame[0] = zf
        for f in range(F):
            p = P[t, f]
            gamma = posterior_snr(p, N[t, f])
            ml = max(gamma - 1.0, 0.0)
            if started[0]:
                xi = alpha * prev[f] + (1.0 - alpha) * ml
            else:
                xi = ml
            xi = max(xi, xi_min)
            xi_row[f] = xi
            g1 = min(gain_of(LOG_MMSE, xi, gamma), 1.0)
            if started[0]:
                pl = _log_linear(loc[f], z_min, z_max, lz)
                pg = _log_linear(glob[f], z_min, z_max, lz)
                q = min(1.0 - pl * pg * p_frame, q_max)
            else:
                q = q_max
            v = xi * gamma / (1.0 + xi)
            # p = 1 / (1 + q / (1 - q) (1 + xi) exp(-v)), written to avoid overflow
            r = q / (1.0 - q) * (1.0 + xi)
            p = 1.0 / (1.0 + r * math.exp(-v)) if v < 700.0 else 1.0
            Pres[t, f] = p
            g = (g1 ** p) * (g_min ** (1.0 - p)) if g1 > 0.0 else 0.0
            G[t, f] = min(max(g, g_min), 1.0)
            prev[f] = g1 * g1 * gamma
        for f in range(F):
            zeta[f] = beta * zeta[f] + (1.0 - beta) * xi_row[f] if started[0] else xi_row[f]
        started[0] = 1


# ---------------------------------------------------------------------------- noise trackers
@jit(nogil=True)
def running_mean_noise(P, n_init, acc, count, N):
    """Noise PSD from the first ``n_init`` frames, causally: running mean until then, frozen.

    State: ``acc`` (F,) sum of the frames so far, ``count`` (1,) int64.
    """
    T, F = P.shape
    for t in range(T):
        if count[0] < n_init:
            for f in range(F):
                acc[f] += P[t, f]
            count[0] += 1
        c = float(count[0])
        for f in range(F):
            N[t, f] = acc[f] / c


@jit(nogil=True)
def minimum_statistics(P, D, V, m_d, m_v, alpha_max, alpha_min, beta_max, av, n_init, acc,
                       cnt, smooth, sigma, pbar, psq, actmin, actmin_sub, pmin_u, lmin_flag,
                       buf, ints, alpha_c, N):
    """Minimum statistics noise tracking with optimal smoothing (Martin 2001), all bins.

    ``D = U V`` frames of search window in ``U`` sub-windows of ``V`` frames; ``m_d``,
    ``m_v`` the paper's M(D), M(V) for the bias of the minimum.  State (F,) arrays: the
    smoothed power ``smooth``, noise PSD ``sigma``, first and second moments ``pbar``,
    ``psq``, the running minima ``actmin``, ``actmin_sub``, the sub-window minimum
    ``pmin_u``, ``lmin_flag`` (0/1), the (U, F) minima buffer ``buf``; ``ints`` (3,) int64
    = (started, sub-window counter, buffer position); ``alpha_c`` (1,).
    """
    T, F = P.shape
    U = buf.shape[0]
    big = 1e300
    bmin = np.empty(F)
    bmin_sub = np.empty(F)
    for t in range(T):
        if cnt[0] < n_init:  # start: the running mean of the first frames is the noise
            cnt[0] += 1
            for f in range(F):
                acc[f] += P[t, f]
                m = acc[f] / cnt[0]
                smooth[f] = m
                sigma[f] = m
                pbar[f] = m
                psq[f] = m * m
                N[t, f] = m
                actmin[f] = big
                actmin_sub[f] = big
                pmin_u[f] = big
                lmin_flag[f] = 0
                for u in range(U):
                    buf[u, f] = big
            ints[0] = 1
            ints[1] = 1
            ints[2] = 0
            alpha_c[0] = 1.0
            continue
        # global smoothing correction alpha_c
        s_prev = 0.0
        s_now = 0.0
        for f in range(F):
            s_prev += smooth[f]
            s_now += P[t, f]
        r = s_prev / max(s_now, TINY) - 1.0
        ac_tilde = 1.0 / (1.0 + r * r) if abs(r) < 1e150 else 0.0
        alpha_c[0] = 0.7 * alpha_c[0] + 0.3 * max(ac_tilde, 0.7)
        qsum = 0.0
        for f in range(F):
            ratio = smooth[f] / max(sigma[f], TINY) - 1.0
            a = alpha_max * alpha_c[0] / (1.0 + ratio * ratio) if abs(ratio) < 1e150 else 0.0
            a = max(a, alpha_min)
            smooth[f] = a * smooth[f] + (1.0 - a) * P[t, f]
            b = min(a * a, beta_max)
            pbar[f] = b * pbar[f] + (1.0 - b) * smooth[f]
            psq[f] = b * psq[f] + (1.0 - b) * smooth[f] * smooth[f]
            var = psq[f] - pbar[f] * pbar[f]
            den = 2.0 * sigma[f] * sigma[f]
            qinv = var / den if (var > 0.0 and den > 0.0) else 0.0
            if not qinv < 0.5:
                qinv = 0.5
            qsum += qinv
            # bias of the minimum (Martin 2001, eqs. 13-17), via M(D) and M(V)
            if qinv > 0.0:
                q_eq = 1.0 / qinv
                qd = max((q_eq - 2.0 * m_d) / (1.0 - m_d), 1e-10)
                qv = max((q_eq - 2.0 * m_v) / (1.0 - m_v), 1e-10)
                bmin[f] = 1.0 + (D - 1) * 2.0 / qd
                bmin_sub[f] = 1.0 + (V - 1) * 2.0 / qv
            else:
                bmin[f] = 1.0
                bmin_sub[f] = 1.0
        qmean = qsum / F
        bc = 1.0 + av * math.sqrt(qmean)
        slope = 8.0 if qmean < 0.03 else (4.0 if qmean < 0.05 else (2.0 if qmean < 0.06
                                                                     else 1.2))
        sub_full = ints[1] == V
        for f in range(F):
            cand = smooth[f] * bmin[f] * bc
            k_mod = cand < actmin[f]
            if k_mod:
                actmin[f] = cand
                actmin_sub[f] = smooth[f] * bmin_sub[f] * bc
            if sub_full:
                if k_mod:
                    lmin_flag[f] = 0
                buf[ints[2], f] = actmin[f]
                m = big
                for u in range(U):
                    m = min(m, buf[u, f])
                pmin_u[f] = m
                if (lmin_flag[f] == 1 and actmin_sub[f] < slope * pmin_u[f]
                        and actmin_sub[f] > pmin_u[f]):
                    pmin_u[f] = actmin_sub[f]
                    for u in range(U):
                        buf[u, f] = actmin_sub[f]
                lmin_flag[f] = 0
                actmin[f] = big
                actmin_sub[f] = big
            else:
                if ints[1] > 1:
                    if k_mod:
                        lmin_flag[f] = 1
                    pmin_u[f] = min(actmin_sub[f], pmin_u[f])
            if pmin_u[f] < big:
                sigma[f] = pmin_u[f]
            N[t, f] = sigma[f]
        if sub_full:
            ints[1] = 1
            ints[2] = (ints[2] + 1) % U
        else:
            ints[1] += 1


@jit(nogil=True)
def mcra(P, b, alpha_s, alpha_d, alpha_p, delta, L, n_init, acc, cnt, S, smin, stmp, prob,
         lam, ints, N):
    """MCRA noise tracking (Cohen & Berdugo 2002), all bins.

    Smoothed power ``S`` (frequency window ``b``, time constant ``alpha_s``), minimum over
    windows of ``L`` frames (``smin``, ``stmp``), speech presence ``prob`` from the ratio
    ``S / smin > delta`` (smoothing ``alpha_p``), and the noise PSD ``lam`` averaged with
    ``alpha_d + (1 - alpha_d) prob``.  ``ints`` (2,) int64 = (started, frame counter).
    """
    T, F = P.shape
    sf = np.empty(F)
    mean = np.empty(F)
    for t in range(T):
        if cnt[0] < n_init:  # start: the running mean of the first frames is the noise
            cnt[0] += 1
            for f in range(F):
                acc[f] += P[t, f]
                mean[f] = acc[f] / cnt[0]
            _smooth_row(mean, b, sf)
            for f in range(F):
                S[f] = sf[f]
                smin[f] = sf[f]
                stmp[f] = sf[f]
                prob[f] = 0.0
                lam[f] = mean[f]
                N[t, f] = mean[f]
            ints[0] = 1
            ints[1] = 0
            continue
        _smooth_row(P[t], b, sf)
        for f in range(F):
            S[f] = alpha_s * S[f] + (1.0 - alpha_s) * sf[f]
        ints[1] += 1
        if ints[1] >= L:
            for f in range(F):
                smin[f] = min(stmp[f], S[f])
                stmp[f] = S[f]
            ints[1] = 0
        else:
            for f in range(F):
                smin[f] = min(smin[f], S[f])
                stmp[f] = min(stmp[f], S[f])
        for f in range(F):
            ind = 1.0 if S[f] > delta * smin[f] else 0.0
            prob[f] = alpha_p * prob[f] + (1.0 - alpha_p) * ind
            ad = alpha_d + (1.0 - alpha_d) * prob[f]
            lam[f] = ad * lam[f] + (1.0 - ad) * P[t, f]
            N[t, f] = lam[f]


@jit(nogil=True)
def _start_minima(row, b, acc, cnt, mean, sf, S, smin, smin_sw, buf, ints):
    """IMCRA's first frames: the running mean of the frames so far (``mean``), smoothed over
    frequency (``sf``), is the smoothed power ``S`` and both of its minima (the sub-window
    buffer ``buf`` too).  Shared by both iterations of :func:`imcra_first` /
    :func:`imcra_second`."""
    cnt[0] += 1
    for f in range(row.shape[0]):
        acc[f] += row[f]
        mean[f] = acc[f] / cnt[0]
    _smooth_row(mean, b, sf)
    for f in range(row.shape[0]):
        S[f] = sf[f]
        smin[f] = sf[f]
        smin_sw[f] = sf[f]
        for u in range(buf.shape[0]):
            buf[u, f] = sf[f]
    ints[0] = 1
    ints[1] = 0
    ints[2] = 0


@jit(nogil=True)
def _next_subwindow(S, smin, smin_sw, buf, ints, V):
    """End of a frame of IMCRA's minimum tracking: after ``V`` frames the sub-window's
    minimum goes into the ring ``buf`` (U, F), the minimum is the ring's, and a new
    sub-window starts from ``S``.  ``ints`` = (started, frame counter, ring position)."""
    ints[1] += 1
    if ints[1] >= V:
        pos = ints[2]
        U = buf.shape[0]
        for f in range(S.shape[0]):
            buf[pos, f] = smin_sw[f]
            m = buf[0, f]
            for u in range(1, U):
                m = min(m, buf[u, f])
            smin[f] = m
            smin_sw[f] = S[f]
        ints[1] = 0
        ints[2] = (pos + 1) % U


@jit(nogil=True)
def imcra_first(P, b, alpha_s, V, bmin, gamma0, zeta0, n_init, acc, cnt, S, smin, smin_sw,
                buf, ints, S_out, num_out, ind_out):
    """IMCRA (Cohen 2003), first iteration, all bins: smoothing over time and frequency
    (``S``), minimum tracking over ``U`` sub-windows of ``V`` frames (buffer ``buf`` (U, F)),
    the rough speech / noise indicator of each bin.  Writes, per frame, ``S_out`` (``S``),
    and the power and the indicator of the noise-like bins smoothed over frequency
    (``num_out``, ``ind_out``) for :func:`imcra_second`, which can run on another core one
    chunk behind.  ``ints`` (3,) int64 = (started, sub-window counter, buffer position).
    """
    T, F = P.shape
    sf = np.empty(F)
    ind = np.empty(F)
    num = np.empty(F)
    for t in range(T):
        row = P[t]
        if cnt[0] < n_init:  # start: the running mean of the first frames is the noise
            _start_minima(row, b, acc, cnt, num, sf, S, smin, smin_sw, buf, ints)
            continue
        _smooth_row(row, b, sf)
        # one reciprocal per bin instead of two divisions, no branch
        for f in range(F):
            s_f = alpha_s * S[f] + (1.0 - alpha_s) * sf[f]
            S[f] = s_f
            S_out[t, f] = s_f
            sm = min(smin[f], s_f)
            smin[f] = sm
            smin_sw[f] = min(smin_sw[f], s_f)
            inv = 1.0 / max(bmin * sm, TINY)
            noise_like = (row[f] * inv < gamma0) & (s_f * inv < zeta0)
            ind[f] = np.float64(noise_like)
            num[f] = row[f] * ind[f]
        _smooth_row(num, b, num_out[t])
        _smooth_row(ind, b, ind_out[t])
        _next_subwindow(S, smin, smin_sw, buf, ints, V)


@jit(nogil=True)
def imcra_second(P, S_in, num_in, ind_in, b, alpha_s, alpha_d, beta, V, bmin, gamma1,
                 zeta0, alpha_dd, xi_min, n_init, acc, cnt, St, stmin, stmin_sw, buft, lam_t,
                 lam, prev, ints, N):
    """IMCRA (Cohen 2003), second iteration and noise update, all bins.

    From :func:`imcra_first`'s frames: ``St`` (smoothed over the noise-like bins) and its
    minimum over ``U`` sub-windows of ``V`` frames (``buft`` (U, F)) give the a priori
    speech absence probability ``q``; with the decision-directed a priori SNR
    (``alpha_dd``, log-MMSE gain, state ``prev``) it gives the speech presence probability
    ``p`` and the noise PSD ``lam = beta * lam_t``, ``lam_t`` averaged with
    ``alpha_d + (1 - alpha_d) p``.  ``ints`` (3,) int64 = (started, sub-window counter,
    buffer position), its own copy (the two halves may run on two cores).
    """
    T, F = P.shape
    sf = np.empty(F)
    mean = np.empty(F)
    qa = np.empty(F)
    ga = np.empty(F)
    xa = np.empty(F)
    va = np.empty(F)
    g1a = np.empty(F)
    pa = np.empty(F)
    idx = np.empty(F, np.int64)
    for t in range(T):
        row = P[t]
        if cnt[0] < n_init:  # start: the running mean of the first frames is the noise
            _start_minima(row, b, acc, cnt, mean, sf, St, stmin, stmin_sw, buft, ints)
            for f in range(F):
                lam_t[f] = mean[f] / beta
                lam[f] = mean[f]
                prev[f] = 1.0
                N[t, f] = mean[f]
            continue
        num = num_in[t]
        den = ind_in[t]
        # the minimum tracking, q, gamma and xi of every bin (no calls: vectorises) ...
        for f in range(F):
            val = num[f] / den[f] if den[f] > 0.0 else St[f]
            st_f = alpha_s * St[f] + (1.0 - alpha_s) * val
            St[f] = st_f
            stm = min(stmin[f], st_f)
            stmin[f] = stm
            stmin_sw[f] = min(stmin_sw[f], st_f)
            # a priori speech absence probability from the second iteration's minimum
            inv = 1.0 / max(bmin * stm, TINY)
            gt = row[f] * inv
            qf = min(max((gamma1 - gt) / (gamma1 - 1.0), 0.0), 1.0)
            qa[f] = qf if S_in[t, f] * inv < zeta0 else 0.0
            # decision-directed a priori SNR with the previous noise estimate
            gamma = posterior_snr(row[f], lam[f])
            ga[f] = gamma
            xa[f] = max(alpha_dd * prev[f] + (1.0 - alpha_dd) * max(gamma - 1.0, 0.0),
                        xi_min)
        # ... then the log-MMSE gain (in passes, :func:`_lsa_gain_row`) ...
        _lsa_gain_row(xa, ga, va, idx, g1a)
        # ... and the speech presence probability: 0 where q >= 1, 1 where q <= 0 (or
        # v >= 700), else 1 / (1 + q / (1 - q) (1 + xi) exp(-v)) for the bins gathered
        n = 0
        for f in range(F):
            q = qa[f]
            g1 = min(g1a[f], 1.0)
            prev[f] = g1 * g1 * ga[f]
            pa[f] = 0.0 if q >= 1.0 else 1.0
            idx[n] = f
            n += int(q > 0.0) & int(q < 1.0) & int(va[f] < 700.0)
        for j in range(n):
            f = idx[j]
            q = qa[f]
            r = q / (1.0 - q) * (1.0 + xa[f])
            pa[f] = 1.0 / (1.0 + r * math.exp(-va[f]))
        for f in range(F):
            ad = alpha_d + (1.0 - alpha_d) * pa[f]
            lt = ad * lam_t[f] + (1.0 - ad) * row[f]
            lam_t[f] = lt
            lam[f] = beta * lt
            N[t, f] = beta * lt
        _next_subwindow(St, stmin, stmin_sw, buft, ints, V)


# ---------------------------------------------------------------------------- spectral gating
@jit(nogil=True)
def gate_masks(P, N, thresh, b_freq, w_time, prop, ring, ints, M):
    """Spectral gating: open where ``P > thresh * N``, smoothed over frequency (window
    ``b_freq``) and causally over time (weights ``w_time``, newest first, over the frames
    kept in ``ring`` (K, F)); ``M = 1 - prop (1 - smoothed)``.  ``ints`` (2,) int64 =
    (frames seen, ring position).
    """
    T, F = P.shape
    K = ring.shape[0]
    raw = np.empty(F)
    sm = np.empty(F)
    slot = np.empty(K, np.int64)
    wj = np.empty(K)
    for t in range(T):
        for f in range(F):
            raw[f] = 1.0 if P[t, f] > thresh * N[t, f] else 0.0
        _smooth_row(raw, b_freq, sm)
        pos = ints[1]
        for f in range(F):
            ring[pos, f] = sm[f]
        ints[0] += 1
        n_have = min(ints[0], K)
        wsum = 0.0
        for j in range(n_have):
            wsum += w_time[j]
            slot[j] = (pos - j) % K       # ring row of the frame j frames back
            wj[j] = w_time[j]
        inv = 1.0 / wsum
        for f in range(F):
            acc = 0.0
            for j in range(n_have):
                acc += wj[j] * ring[slot[j], f]
            M[t, f] = 1.0 - prop * (1.0 - acc * inv)
        ints[1] = (pos + 1) % K
