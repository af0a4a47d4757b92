r"""Non-negative matrix factorisation with the β-divergence: the core of the NMF separators.

A magnitude (or power) spectrogram :math:`V \in \mathbb{R}_+^{F \times T}` is approximated by
the product of :math:`K` spectral templates :math:`W \in \mathbb{R}_+^{F \times K}` and their
activations :math:`H \in \mathbb{R}_+^{K \times T}`, :math:`V \approx \Lambda = WH`, by
minimising

.. math::

    C(W, H) = D_\beta(V \,|\, WH) + \lambda_1 \sum_{k,t} H_{kt}
              + \frac{\lambda_2}{2} \sum_{f,k} W_{fk}^2,
    \qquad D_\beta(V | \Lambda) = \sum_{f,t} d_\beta(V_{ft} | \Lambda_{ft}),

.. math::

    d_\beta(x | y) = \begin{cases}
        \frac{x}{y} - \log\frac{x}{y} - 1 & \beta = 0 \text{ (Itakura-Saito)} \\
        x \log\frac{x}{y} - x + y & \beta = 1 \text{ (Kullback-Leibler)} \\
        \frac{x^\beta + (\beta - 1) y^\beta - \beta x y^{\beta-1}}{\beta(\beta-1)}
            & \text{otherwise } (\beta = 2: \tfrac12 (x-y)^2).
    \end{cases}

The multiplicative updates of Févotte & Idier (2011) are majorisation-minimisation steps,

.. math::

    H \leftarrow H \odot \left(\frac{W^T (V \odot \Lambda^{\beta-2})}
                                  {W^T \Lambda^{\beta-1} + \lambda_1}\right)^{\gamma(\beta)},
    \qquad
    W \leftarrow W \odot \left(\frac{(V \odot \Lambda^{\beta-2}) H^T}
                                  {\Lambda^{\beta-1} H^T + \lambda_2 W}\right)^{\gamma(\beta)},

with :math:`\Lambda = WH` recomputed before each of the two, and the exponent
:math:`\gamma(\beta) = 1/(2-\beta)` for :math:`\beta < 1`, :math:`1` for
:math:`1 \le \beta \le 2`: with it each update cannot increase :math:`D_\beta` (Févotte &
Idier, Theorem 2; the plain updates, :math:`\gamma = 1`, are not guaranteed to for
:math:`\beta < 1`).  Zeros stay zeros, which is what score-informed NMF relies on.

Implementation: the products go through BLAS (numpy ``matmul``, in float32 when ``V`` is
float32), the element-wise powers, ratios and the divergence are one fused numba pass over
the ``(F, T)`` matrices (:mod:`dsp_separate._kernels.nmf`), with two ``(F, T)`` buffers at
most (one for β = 1, where :math:`\Lambda^{\beta-1} = 1` and :math:`W^T 1`, :math:`1 H^T` are
column and row sums).
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from ._validation import (
    check_bool,
    check_choice,
    check_nonnegative_array,
    check_nonnegative_float,
    check_positive_int,
    describe,
)
from .exceptions import ConvergenceWarning, ParameterError

__all__ = ["nmf", "beta_divergence", "NMF_INITS"]

#: Initialisations :func:`nmf` accepts.
NMF_INITS = ("random", "nndsvda")

#: Relative floor: entries of :math:`WH` (for β < 2) and of :math:`V` (for β = 0) below
#: ``FLOOR * max(V)`` are raised to it.
FLOOR = 1e-9


def _gamma(beta: float) -> float:
    """The MM exponent :math:`\\gamma(\\beta)` of Févotte & Idier (2011), β in [0, 2]."""
    return 1.0 / (2.0 - beta) if beta < 1.0 else 1.0


def _floor_of(V2: np.ndarray) -> float:
    top = float(V2.max()) if V2.size else 0.0
    return FLOOR * top if top > 0 else float(np.finfo(V2.dtype).tiny)


def _check_beta(beta) -> float:
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not np.isfinite(beta):
        raise ParameterError(f"beta={describe(beta)}: must be a number in [0, 2]")
    if not 0.0 <= float(beta) <= 2.0:
        raise ParameterError(f"beta={beta!r}: must be in [0, 2] (0 Itakura-Saito, "
                             "1 Kullback-Leibler, 2 Euclidean)")
    return float(beta)


def _rng_of(random_state) -> np.random.Generator:
    if random_state is None or isinstance(random_state, (numbers.Integral, np.random.Generator)):
        if isinstance(random_state, bool):
            raise ParameterError(f"random_state={random_state!r}: must be None, an integer "
                                 "or a numpy Generator")
        if isinstance(random_state, numbers.Integral) and random_state < 0:
            raise ParameterError(f"random_state={random_state!r}: must be >= 0")
        return np.random.default_rng(random_state)
    raise ParameterError(f"random_state={describe(random_state)}: must be None, an integer or "
                         "a numpy Generator")


# ---------------------------------------------------------------------------- layout
def _to_2d(V: np.ndarray) -> np.ndarray:
    """(..., F, T) -> (F, C T): the frames of every leading index side by side."""
    if V.ndim == 2:
        return np.ascontiguousarray(V)
    F, T = V.shape[-2:]
    return np.ascontiguousarray(np.moveaxis(V.reshape(-1, F, T), 0, 1).reshape(F, -1))


def _from_2d(H2: np.ndarray, lead: tuple, T: int) -> np.ndarray:
    """(K, C T) -> (..., K, T), the inverse of :func:`_to_2d` for activations."""
    if not lead:
        return H2
    K = H2.shape[0]
    return np.ascontiguousarray(np.moveaxis(H2.reshape(K, -1, T), 1, 0).reshape(lead + (K, T)))


# ---------------------------------------------------------------------------- init
def _nndsvda(V2: np.ndarray, k: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """NNDSVD (Boutsidis & Gallopoulos 2008), zeros filled with the mean of ``V``."""
    A = V2.astype(np.float64)
    if k >= min(A.shape) // 2:
        U, s, Vt = np.linalg.svd(A, full_matrices=False)
        U, s, Vt = U[:, :k], s[:k], Vt[:k]
    else:  # randomized range finder (Halko et al. 2011) with two power iterations
        Q = A @ rng.standard_normal((A.shape[1], min(min(A.shape), k + 10)))
        for _ in range(2):
            Q, _ = np.linalg.qr(Q)
            Q, _ = np.linalg.qr(A @ (A.T @ Q))
        Ub, s, Vt = np.linalg.svd(Q.T @ A, full_matrices=False)
        U, s, Vt = (Q @ Ub)[:, :k], s[:k], Vt[:k]
    W = np.zeros((A.shape[0], k))
    H = np.zeros((k, A.shape[1]))
    W[:, 0] = np.sqrt(s[0]) * np.abs(U[:, 0])
    H[0] = np.sqrt(s[0]) * np.abs(Vt[0])
    for j in range(1, k):
        x, y = U[:, j], Vt[j]
        xp, xn = np.maximum(x, 0), np.maximum(-x, 0)
        yp, yn = np.maximum(y, 0), np.maximum(-y, 0)
        nxp, nyp, nxn, nyn = (np.linalg.norm(v) for v in (xp, yp, xn, yn))
        mp, mn = nxp * nyp, nxn * nyn
        if mp >= mn:
            u, v, sigma = xp / max(nxp, 1e-300), yp / max(nyp, 1e-300), mp
        else:
            u, v, sigma = xn / max(nxn, 1e-300), yn / max(nyn, 1e-300), mn
        scale = np.sqrt(s[j] * sigma)
        W[:, j] = scale * u
        H[j] = scale * v
    avg = A.mean()
    W[W < 1e-12 * max(avg, 1e-300)] = avg
    H[H < 1e-12 * max(avg, 1e-300)] = avg
    return W, H


def _init(V2, k, init, rng):
    if init == "nndsvda":
        return _nndsvda(V2, k, rng)
    scale = np.sqrt(max(float(V2.mean(dtype=np.float64)), 0.0) / k)
    if scale == 0:
        scale = 1.0
    W = scale * np.abs(rng.standard_normal((V2.shape[0], k)))
    H = scale * np.abs(rng.standard_normal((k, V2.shape[1])))
    return W, H


# ---------------------------------------------------------------------------- objective
def beta_divergence(V, Lambda, beta=1.0) -> float:
    r"""β-divergence :math:`D_\beta(V | \Lambda)` summed over every entry.

    Parameters
    ----------
    V, Lambda : ndarray, same shape, non-negative
        Data and approximation.  The same floors as :func:`nmf` apply: entries of ``Lambda``
        (for β < 2) and, for β = 0, of ``V`` below ``1e-9 * max(V)`` count as that floor.
    beta : float in [0, 2], default 1.0

    Returns
    -------
    float

    Notes
    -----
    .. math::

        d_\beta(x | y) = \frac{x^\beta + (\beta - 1) y^\beta - \beta x y^{\beta-1}}
                              {\beta(\beta-1)},

    with the limits :math:`x \log(x/y) - x + y` (β = 1) and :math:`x/y - \log(x/y) - 1`
    (β = 0); Févotte & Idier, Neural Computation 23(9), 2011, eq. 2.

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> round(ds.beta_divergence(np.array([[1.0, 2.0]]), np.array([[2.0, 2.0]]), beta=2), 3)
    0.5
    """
    from ._kernels.nmf import beta_ratios

    beta = _check_beta(beta)
    V = check_nonnegative_array(V, "V")
    Lambda = check_nonnegative_array(Lambda, "Lambda")
    if Lambda.shape != V.shape:
        raise ParameterError(f"Lambda={describe(Lambda)}: must have the shape of V {V.shape}")
    V2 = _to_2d(V.astype(np.float64)) if V.ndim != 2 else np.ascontiguousarray(V, np.float64)
    L2 = _to_2d(Lambda.astype(np.float64)) if V.ndim != 2 else np.array(Lambda, np.float64)
    if V.ndim == 1:
        V2, L2 = V2[None], L2[None]
    floor = _floor_of(V2)
    Vf = np.maximum(V2, floor) if beta == 0 else V2
    return float(beta_ratios(Vf, L2, np.empty_like(L2), beta, floor, True))


# ---------------------------------------------------------------------------- the solver
def _solve(V2, W, H, *, beta, max_iter, tol, update_W, update_H, free, l1_H, l2_W,
           normalize_W):
    """Multiplicative updates in place on ``W`` (F, K) and ``H`` (K, N); returns info."""
    from ._kernels.nmf import beta_ratios, mu_update

    floor = _floor_of(V2)
    if beta == 0:
        V2 = np.maximum(V2, V2.dtype.type(floor))
    gamma = _gamma(beta)
    L = np.empty_like(V2)
    A = L if beta in (1.0, 2.0) else np.empty_like(V2)
    # the numerator matrix V * L**(beta-2): the data itself for beta = 2, V / L in L for 1
    num_mat = V2 if beta == 2.0 else (L if beta == 1.0 else A)
    n_free = free.size
    all_free = n_free == W.shape[1]
    objective = []
    n_iter = 0
    converged = False

    def penalty():
        p = 0.0
        if l1_H:
            p += l1_H * float(H.sum(dtype=np.float64))
        if l2_W:
            p += 0.5 * l2_W * float(np.square(W, dtype=np.float64).sum())
        return p

    while True:
        np.matmul(W, H, out=L)
        objective.append(float(beta_ratios(V2, L, A, beta, floor, True)) + penalty())
        if n_iter > 0:
            prev, cur = objective[-2], objective[-1]
            if prev - cur <= tol * abs(prev):
                converged = True
                break
        if n_iter >= max_iter:
            break
        if update_W and n_free:
            Hf = H if all_free else np.ascontiguousarray(H[free])
            num = num_mat @ Hf.T
            if beta == 1.0:
                den = np.broadcast_to(Hf.sum(axis=1), num.shape).copy()
            else:
                den = L @ Hf.T
            Wf = W if all_free else np.ascontiguousarray(W[:, free])
            if l2_W:
                den += l2_W * Wf
            mu_update(Wf, num, den, gamma)
            if normalize_W:
                norms = np.sqrt(np.square(Wf).sum(axis=0))
                ok = norms > 0
                Wf[:, ok] /= norms[ok]
                Hf = H if all_free else H[free]
                Hf[ok] *= norms[ok, None]
                if not all_free:
                    H[free] = Hf
            if not all_free:
                W[:, free] = Wf
            if update_H:
                np.matmul(W, H, out=L)
                beta_ratios(V2, L, A, beta, floor, False)
        if update_H:
            num = W.T @ num_mat
            if beta == 1.0:
                den = np.broadcast_to(W.sum(axis=0)[:, None], num.shape).copy()
            else:
                den = W.T @ L
            if l1_H:
                den += l1_H
            mu_update(H, num, den, gamma)
        n_iter += 1
    return {"objective": np.asarray(objective), "n_iter": n_iter, "converged": converged}


def nmf(V, n_components=None, *, beta=1.0, max_iter=200, tol=1e-4, W=None, H=None,
        update_W=True, update_H=True, fixed_W_columns=None, l1_H=0.0, l2_W=0.0,
        normalize_W=False, init="random", random_state=None):
    r"""Factorise a non-negative matrix, :math:`V \approx WH`, under the β-divergence.

    Parameters
    ----------
    V : ndarray, shape (n_freq, n_frames) or (..., n_freq, n_frames), non-negative
        Typically a magnitude spectrogram.  With leading dimensions (channels, a batch) all
        of them share the templates ``W``; each gets its own activations (their frames are
        factorised side by side).  float32 is computed in float32, anything else in float64.
        Not modified.
    n_components : int, optional
        Number of components :math:`K`; default ``W.shape[1]`` when ``W`` is given.  At most
        ``min(n_freq, total frames)`` for ``init="nndsvda"``.
    beta : float in [0, 2], default 1.0
        0: Itakura-Saito, 1: Kullback-Leibler (magnitude spectrograms), 2: Euclidean.
    max_iter : int, default 200
        At most this many iterations (one W update and one H update each).
    tol : float, default 1e-4
        Stop when one iteration lowers the objective by at most ``tol`` times its value.
    W : ndarray, shape (n_freq, n_components), optional
        Initial (or, with ``update_W=False``, fixed) templates.  Not modified.
    H : ndarray, shape (..., n_components, n_frames), optional
        Initial (or fixed) activations, leading dimensions as in ``V``.  Not modified.
    update_W, update_H : bool, default True
        Whether to update each factor (``False`` needs it given).
    fixed_W_columns : sequence of int or bool mask, optional
        Columns of ``W`` that are never updated (supervised NMF: learned dictionaries); they
        come back bit-identical.  Needs ``W``.
    l1_H : float, default 0.0
        L1 (sparsity) weight :math:`\lambda_1` on ``H``.
    l2_W : float, default 0.0
        L2 weight :math:`\lambda_2` on ``W``.
    normalize_W : bool, default False
        After each W update, scale the updated columns of ``W`` to unit Euclidean norm and
        move the scale into the matching rows of ``H`` (``WH`` unchanged).  Use it with
        ``l1_H > 0``, which otherwise shrinks ``H`` by growing ``W``.
    init : {"random", "nndsvda"}, default "random"
        How to start the factors not given: scaled absolute Gaussian values
        (:math:`\sqrt{\bar V / K}\,|N(0, 1)|`), or NNDSVD with zeros set to the mean of ``V``
        (Boutsidis & Gallopoulos 2008).
    random_state : None, int or numpy Generator

    Returns
    -------
    W : ndarray, shape (n_freq, n_components)
    H : ndarray, shape (..., n_components, n_frames)
    info : dict
        ``"objective"``: :math:`C(W, H)` before the first and after each iteration,
        shape ``(n_iter + 1,)``, float64; ``"n_iter"``; ``"converged"`` (False when
        ``max_iter`` stopped it; then, if ``tol > 0``, a
        :class:`~dsp_separate.exceptions.ConvergenceWarning` is issued — ``tol=0`` asks for
        exactly ``max_iter`` iterations and does not warn).

    Notes
    -----
    The updates (Févotte & Idier 2011, with the MM exponent :math:`\gamma(\beta)`):

    .. math::

        H \leftarrow H \odot \left(\frac{W^T (V \odot (WH)^{\beta-2})}
                                    {W^T (WH)^{\beta-1} + \lambda_1}\right)^{\gamma(\beta)},
        \quad
        W \leftarrow W \odot \left(\frac{(V \odot (WH)^{\beta-2}) H^T}
                                    {(WH)^{\beta-1} H^T + \lambda_2 W}\right)^{\gamma(\beta)},

    :math:`\gamma = 1/(2-\beta)` for :math:`\beta < 1`, else 1.  Without penalties the
    objective never increases.  **Zeros**: for :math:`\beta < 2` the entries of :math:`WH`
    and, for :math:`\beta = 0` (where :math:`d_0(0|y) = \infty`), those of ``V`` below
    ``1e-9 * max(V)`` are raised to that floor — no input is refused for its zeros and no
    NaN appears.  W is updated first, then H, each from a freshly computed :math:`WH` (the
    order of scikit-learn's ``solver="mu"``).

    References
    ----------
    .. [1] C. Févotte and J. Idier, "Algorithms for nonnegative matrix factorization with
       the β-divergence", Neural Computation 23(9), 2011.
    .. [2] D. D. Lee and H. S. Seung, "Algorithms for non-negative matrix factorization",
       NIPS 2000.
    .. [3] C. Boutsidis and E. Gallopoulos, "SVD based initialization: a head start for
       nonnegative matrix factorization", Pattern Recognition 41(4), 2008.

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> rng = np.random.default_rng(0)
    >>> V = rng.random((20, 3)) @ rng.random((3, 50))      # an exact rank-3 factorisation
    >>> W, H, info = ds.nmf(V, 3, beta=2, max_iter=2000, tol=0, random_state=0)
    >>> bool(np.linalg.norm(W @ H - V) < 1e-3 * np.linalg.norm(V))
    True
    >>> bool(np.all(np.diff(info["objective"]) <= 1e-12 * info["objective"][0]))
    True
    """
    beta = _check_beta(beta)
    V = check_nonnegative_array(V, "V", min_ndim=2)
    dtype = np.float32 if V.dtype == np.float32 else np.float64
    F, T = V.shape[-2:]
    lead = V.shape[:-2]
    max_iter = check_positive_int(max_iter, "max_iter")
    tol = check_nonnegative_float(tol, "tol")
    l1_H = check_nonnegative_float(l1_H, "l1_H")
    l2_W = check_nonnegative_float(l2_W, "l2_W")
    update_W = check_bool(update_W, "update_W")
    update_H = check_bool(update_H, "update_H")
    normalize_W = check_bool(normalize_W, "normalize_W")
    check_choice(init, "init", NMF_INITS)
    if n_components is None:
        if W is None:
            raise ParameterError("n_components=None: give n_components or an initial W")
        n_components = np.shape(W)[-1] if np.ndim(W) == 2 else None
        if n_components is None:
            raise ParameterError(f"W={describe(W)}: must be a 2-D array (n_freq, n_components)")
    k = check_positive_int(n_components, "n_components")
    n_cols = int(np.prod(lead, dtype=np.int64)) * T
    if init == "nndsvda" and (W is None or H is None) and k > min(F, n_cols):
        raise ParameterError(f"n_components={k}: must be at most min(n_freq, n_frames) = "
                             f"{min(F, n_cols)} for init='nndsvda'")
    if W is not None:
        W = check_nonnegative_array(W, "W", min_ndim=2)
        if W.shape != (F, k):
            raise ParameterError(f"W={describe(W)}: must have shape (n_freq, n_components) "
                                 f"= {(F, k)}")
    if H is not None:
        H = check_nonnegative_array(H, "H", min_ndim=2)
        if H.shape != lead + (k, T):
            raise ParameterError(f"H={describe(H)}: must have shape (..., n_components, "
                                 f"n_frames) = {lead + (k, T)}")
    if not update_W and W is None:
        raise ParameterError("update_W=False: needs the fixed W")
    if not update_H and H is None:
        raise ParameterError("update_H=False: needs the fixed H")
    free = np.ones(k, dtype=bool)
    if fixed_W_columns is not None:
        if W is None:
            raise ParameterError("fixed_W_columns: needs W (the fixed columns come from it)")
        cols = np.asarray(fixed_W_columns)
        if cols.dtype == np.bool_:
            if cols.shape != (k,):
                raise ParameterError(f"fixed_W_columns={describe(fixed_W_columns)}: a boolean "
                                     f"mask must have n_components = {k} entries")
            free &= ~cols
        else:
            if cols.size and (not np.issubdtype(cols.dtype, np.integer) or cols.ndim != 1
                              or cols.min() < -k or cols.max() >= k):
                raise ParameterError(f"fixed_W_columns={describe(fixed_W_columns)}: must be "
                                     f"column indices in [0, {k})")
            free[cols.astype(np.intp)] = False
    free_idx = np.flatnonzero(free)

    rng = _rng_of(random_state)
    V2 = _to_2d(V.astype(dtype, copy=False))
    if W is None or H is None:
        W0, H0 = _init(V2, k, init, rng)
    W = np.array(W0 if W is None else W, dtype=dtype, order="C", copy=True)
    H = np.array(H0 if H is None else _to_2d(H), dtype=dtype, order="C", copy=True)

    info = _solve(V2, W, H, beta=beta, max_iter=max_iter, tol=tol,
                  update_W=update_W, update_H=update_H, free=free_idx, l1_H=l1_H, l2_W=l2_W,
                  normalize_W=normalize_W)
    if not info["converged"] and tol > 0:
        warnings.warn(f"nmf stopped at max_iter={max_iter} before the objective's relative "
                      f"decrease fell below tol={tol:g}", ConvergenceWarning, stacklevel=2)
    return W, _from_2d(H, lead, T), info
