r"""Fused element-wise kernels of the β-divergence multiplicative updates.

The matrix products (:math:`WH`, :math:`W^T A`, :math:`A H^T`) go through BLAS (numpy
``matmul``); what is left of an iteration is element-wise, done here in one pass over a
block of frames (the solver sweeps column blocks of ``V`` whose buffers stay in cache):

* :func:`beta_ratios` turns the approximation :math:`\Lambda = WH` of frames
  ``lo .. lo + n`` into, in place, :math:`\Lambda^{\beta-1}` and writes
  :math:`A = V \odot \Lambda^{\beta-2}` into a second buffer (for β = 1 only
  :math:`A = V / \Lambda`, in place, since :math:`\Lambda^0 = 1`), returning the
  β-divergence :math:`D_\beta(V | \Lambda)` of the same pass when asked;
* :func:`mu_update` applies :math:`X \leftarrow X \odot (N / D)^\gamma` to a factor.

Serial ``nogil`` kernels (the solver runs them in the package's thread pool); each compiles
once per dtype (float32, float64).
"""

from __future__ import annotations

import math

import numpy as np

from .._config import jit


@jit(nogil=True)
def beta_ratios(V, lo, L, A, beta, floor, want_div):  # pragma: no cover - compiled
    """In place: ``L <- max(L, floor)**(beta-1)``, ``A <- V * max(L, floor)**(beta-2)``.

    ``L`` and ``A`` are ``(n_freq, n)`` and hold frames ``lo .. lo + n`` of ``V``
    (``(n_freq, n_frames)``; ``V[:, lo + t]`` pairs with ``L[:, t]``).  For ``beta == 1``
    ``A`` is not touched and ``L`` becomes ``V / max(L, floor)`` (the only matrix the KL
    updates need); for ``beta == 2`` nothing is written (``L**1 = L``, ``V * L**0 = V``).
    Returns the β-divergence sum (float64) of those frames of ``V`` from the approximation
    as it was on entry when ``want_div`` is true, else 0.  The caller floors ``V`` for
    ``beta == 0``.
    """
    n_f, n_t = L.shape
    total = 0.0
    one = L.dtype.type(1.0)
    fl = L.dtype.type(floor)
    # row slices (contiguous) and the divergence in separate loops: both vectorise
    if beta == 1.0:
        for f in range(n_f):
            Vr = V[f, lo:lo + n_t]
            Lr = L[f]
            if want_div:
                for t in range(n_t):
                    x = Vr[t]
                    y = max(Lr[t], fl)
                    if x > 0:
                        total += x * math.log(x / y) - x + y
                    else:
                        total += y
            for t in range(n_t):
                Lr[t] = Vr[t] / max(Lr[t], fl)
    elif beta == 2.0:  # L**1 = L and V * L**0 = V: nothing to write
        if want_div:
            for f in range(n_f):
                Vr = V[f, lo:lo + n_t]
                Lr = L[f]
                for t in range(n_t):
                    d = Vr[t] - Lr[t]
                    total += 0.5 * d * d
    elif beta == 0.0:
        for f in range(n_f):
            Vr = V[f, lo:lo + n_t]
            Lr = L[f]
            Ar = A[f]
            if want_div:
                for t in range(n_t):
                    r = Vr[t] / max(Lr[t], fl)
                    total += r - math.log(r) - 1.0
            for t in range(n_t):
                inv = one / max(Lr[t], fl)
                r = Vr[t] * inv
                Ar[t] = r * inv
                Lr[t] = inv
    else:
        c = 1.0 / (beta * (beta - 1.0))
        bm2 = beta - 2.0
        for f in range(n_f):
            Vr = V[f, lo:lo + n_t]
            Lr = L[f]
            Ar = A[f]
            for t in range(n_t):
                x = Vr[t]
                y = max(Lr[t], fl)
                p = math.exp(bm2 * math.log(y))  # y**(beta-2)
                b = y * p  # y**(beta-1)
                if want_div:
                    xb = math.exp(beta * math.log(x)) if x > 0 else 0.0
                    total += c * (xb + (beta - 1.0) * y * b - beta * x * b)
                Ar[t] = x * p
                Lr[t] = b
    return total


@jit(nogil=True)
def mu_update(X, num, den, gamma):  # pragma: no cover - compiled
    """In place ``X <- X * (num / den)**gamma``; entries with ``den <= 0`` are left alone."""
    n_a, n_b = X.shape
    if gamma == 1.0:
        for i in range(n_a):
            for j in range(n_b):
                d = den[i, j]
                if d > 0:
                    X[i, j] = X[i, j] * (num[i, j] / d)
    else:
        for i in range(n_a):
            for j in range(n_b):
                d = den[i, j]
                r = num[i, j]
                if d > 0 and r > 0:
                    X[i, j] = X[i, j] * math.exp(gamma * math.log(r / d))
                elif d > 0:
                    X[i, j] = 0.0


def warm_up() -> None:
    """Compile both kernels for float32 and float64 (used by benchmarks only)."""
    for dt in (np.float32, np.float64):
        V = np.ones((2, 2), dt)
        beta_ratios(V, 0, V.copy(), V.copy(), 1.0, dt(1e-9), True)
        mu_update(V.copy(), V, V, 1.0)
