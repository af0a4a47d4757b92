"""Numba kernels of the masks: the package's one ratio-mask rule, and the HPSS masks.

No validation (see ``dsp_separate.masks.ratio_masks`` and
``dsp_separate.separators.hpss.hpss_masks``).
"""

import numpy as np
from numba import prange

from .._config import jit


@jit
def _pair_mask(x, ref, power, split_zeros, tiny):
    """x**p / (x**p + ref**p), scaled by max(x, ref) so nothing overflows; 0/0 -> 0.5 or 0."""
    z = max(x, ref)
    if z < tiny:
        return 0.5 if split_zeros else 0.0
    a = x / z
    r = ref / z
    if power == 2.0:
        a = a * a
        r = r * r
    elif power != 1.0:
        a = a**power
        r = r**power
    return a / (a + r)


@jit(nogil=True)
def hpss_masks(H, P, beta_h, beta_p, power, binary, tiny, m_h, m_p):
    """Harmonic and percussive masks of rows of H and P (2-D, same shape), written to m_h, m_p.

    soft: ``m_h = H^p / (H^p + (beta_h P)^p)``, ``m_p = P^p / (P^p + (beta_p H)^p)``, with
    bins where both are ~0 split 0.5 / 0.5 when both margins are 1 (else 0).
    binary with both margins 1: ``m_h = [H >= P]``, ``m_p = 1 - m_h``; binary otherwise:
    ``m_h = [H > beta_h P]``, ``m_p = [P > beta_p H]``.
    """
    n_rows, n = H.shape
    split = beta_h == 1.0 and beta_p == 1.0
    for r in prange(n_rows):
        h_row = H[r]
        p_row = P[r]
        mh = m_h[r]
        mp = m_p[r]
        for i in range(n):
            h = h_row[i]
            p = p_row[i]
            if binary:
                if split:
                    mh[i] = 1.0 if h >= p else 0.0
                    mp[i] = 1.0 - mh[i]
                else:
                    mh[i] = 1.0 if h > beta_h * p else 0.0
                    mp[i] = 1.0 if p > beta_p * h else 0.0
            else:
                mh[i] = _pair_mask(h, beta_h * p, power, split, tiny)
                mp[i] = _pair_mask(p, beta_p * h, power, split, tiny)


@jit
def ratio_gain(values, power, tiny, out):
    """THE ratio-mask rule, for one bin: ``out[j] = (v_j / z)^p / sum_k (v_k / z)^p``.

    ``z = max_k v_k`` keeps every power <= 1 (no overflow); where ``z < tiny`` (all zero or
    subnormal) every source gets ``1 / J``.  Used by :func:`ratio_masks_cols` (hence
    ``dsp_separate.ratio_masks``) and by the initialisation of the Wiener EM kernel.
    Powers 1 and 2 are exact products (no ``pow`` call).
    """
    n = values.shape[0]
    z = 0.0
    for j in range(n):
        v = np.float64(values[j])
        if v > z:
            z = v
    if z < tiny:
        for j in range(n):
            out[j] = 1.0 / n
        return
    total = 0.0
    for j in range(n):
        r = np.float64(values[j]) / z
        if power == 2.0:
            r = r * r
        elif power != 1.0:
            r = r**power
        out[j] = r
        total += r
    for j in range(n):
        out[j] /= total


@jit(nogil=True)
def ratio_masks_pair(a_row, b_row, power, tiny, lo, hi, o_a, o_b):
    r"""The ratio-mask rule for two sources, elements ``lo:hi`` of the 1-D models ``a_row``,
    ``b_row``, written to ``o_a``, ``o_b``: one branch-free pass that the compiler
    vectorises, with the rule of :func:`ratio_gain` (bins whose larger model is below
    ``tiny`` get 0.5 / 0.5):

    * ``p = 1``: :math:`m_a = a' / (a' + b')` with :math:`a' = a / 2, b' = b / 2` (the
      halves cannot overflow), one division per bin;
    * ``p = 2``: both divided by :math:`z = \max(a, b)`, squared, then normalised (no
      ``pow``);
    * other ``p``: :math:`r = (\min / \max)^p`, masks :math:`1 / (1 + r)` and
      :math:`r / (1 + r)`.

    They equal the general path to a few ulps of float64 (the arithmetic is float64 whatever
    the dtype of the outputs).
    """
    if power == 1.0:
        for i in range(lo, hi):
            a = np.float64(a_row[i])
            b = np.float64(b_row[i])
            silent = max(a, b) < tiny
            a = 0.5 * a
            b = 0.5 * b
            inv = 1.0 / (1.0 if silent else a + b)
            o_a[i] = 0.5 if silent else a * inv
            o_b[i] = 0.5 if silent else b * inv
    elif power == 2.0:
        for i in range(lo, hi):
            a = np.float64(a_row[i])
            b = np.float64(b_row[i])
            z = max(a, b)
            silent = z < tiny
            inv = 1.0 / (1.0 if silent else z)
            a = a * inv
            b = b * inv
            a = a * a
            b = b * b
            inv = 1.0 / (1.0 if silent else a + b)
            o_a[i] = 0.5 if silent else a * inv
            o_b[i] = 0.5 if silent else b * inv
    else:
        for i in range(lo, hi):
            a = np.float64(a_row[i])
            b = np.float64(b_row[i])
            big = max(a, b)
            if big < tiny:
                o_a[i] = 0.5
                o_b[i] = 0.5
                continue
            r = (min(a, b) / big) ** power
            m_big = 1.0 / (1.0 + r)
            m_small = r * m_big
            o_a[i] = m_big if a >= b else m_small
            o_b[i] = m_small if a >= b else m_big


@jit(nogil=True)
def ratio_masks_cols(models, power, tiny, lo, hi, out):
    """The ratio-mask rule for columns ``lo:hi`` of ``models`` (J, N), written to ``out``.

    Two sources take :func:`ratio_masks_pair`; other counts call :func:`ratio_gain` per bin.
    """
    n_src = models.shape[0]
    if n_src == 2:
        ratio_masks_pair(models[0], models[1], power, tiny, lo, hi, out[0], out[1])
        return
    g = np.empty(n_src)
    for i in range(lo, hi):
        ratio_gain(models[:, i], power, tiny, g)
        for j in range(n_src):
            out[j, i] = g[j]
