r"""Component-based separation by non-negative matrix factorisation (NMF).

The magnitude spectrogram of the mixture is factorised, :math:`|X| \approx WH`
(:func:`dsp_separate.nmf`, β-divergence multiplicative updates), and the components are
grouped into sources: source :math:`j` is modelled by the product of its own templates and
activations, :math:`\hat S_j = W_j H_j`, and the shared stage turns the models into soft
masks :math:`\hat S_j^p / \sum_i \hat S_i^p` (``power`` :math:`p`, 1 by default: the
classical NMF "Wiener-like" mask).  The separators differ in how the groups are found:

* :class:`SupervisedNMF` (``supervised_nmf``) learns one dictionary per source from isolated
  examples (:meth:`~SupervisedNMF.fit`) and keeps it fixed on the mixture; ``n_free``
  extra free components absorb what no dictionary explains and become the ``"residual"``
  source (semi-supervised NMF, Smaragdis, Raj & Shashanka 2007).
* :class:`BlindNMF` (``nmf``) factorises the mixture alone and clusters the components
  by the MFCCs of their templates (Spiertz & Gnann 2009) or by the correlation of their
  activations, with k-means.

Channels and batches: the channels of one signal share the templates (their frames are
factorised side by side, each channel has its own activations); the items of a batch are
factorised separately.

The factorisation
-----------------
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

Implementation: one iteration is one sweep over column blocks of ``V`` whose buffers stay
in cache (see :func:`_solve`): each block gets its exact H update, then its share of the
next W update is summed — the same alternating updates, with no ``(F, T)`` temporary and
``V`` read once per iteration.  The products go through BLAS (numpy ``matmul``, in float32
when ``V`` is float32), the element-wise powers, ratios and the divergence are one fused
numba pass per block (:mod:`dsp_separate._kernels.nmf`).

References
----------
.. [1] C. Févotte and J. Idier, "Algorithms for nonnegative matrix factorization with the
   β-divergence", Neural Computation 23(9), 2011.
.. [2] P. Smaragdis, B. Raj and M. Shashanka, "Supervised and semi-supervised separation of
   sounds from single-channel mixtures", ICA 2007.
.. [3] M. Spiertz and V. Gnann, "Source-filter based clustering for monaural blind source
   separation", DAFx 2009.
"""

from __future__ import annotations

import contextlib
import numbers
import os
import threading
import warnings

import numpy as np

from .._validation import (
    check_audio,
    check_bool,
    check_choice,
    check_nonnegative_array,
    check_nonnegative_float,
    check_nonnegative_int,
    check_positive_float,
    check_positive_int,
    check_sr,
    describe,
)
from ..base import RESIDUAL, Models, Separator, Tags
from ..exceptions import ConvergenceWarning, ParameterError
from ..masks import MASK_TYPES, _check_power

__all__ = [
    "nmf",
    "beta_divergence",
    "NMF_INITS",
    "SupervisedNMF",
    "BlindNMF",
    "learn_dictionary",
    "supervised_nmf_models",
    "cluster_components",
    "template_pitch",
    "blind_nmf_models",
    "CLUSTER_FEATURES",
    "ScoreNMF",
    "score_nmf_models",
    "harmonic_templates",
    "score_activations",
    "check_notes",
    "midi_notes",
    "nmfd",
    "nmfd_models",
    "NMFD",
]

#: Initialisations :func:`nmf` accepts.
NMF_INITS = ("random", "nndsvda")

#: Relative floor: entries of :math:`WH` (for β < 2) and of :math:`V` (for β = 0) below
#: ``FLOOR * max(V)`` are raised to it.
FLOOR = 1e-9


def _gamma(beta: float) -> float:
    """The MM exponent :math:`\\gamma(\\beta)` of Févotte & Idier (2011), β in [0, 2]."""
    return 1.0 / (2.0 - beta) if beta < 1.0 else 1.0


def _floor_of(V2: np.ndarray) -> float:
    # at least the dtype's smallest normal number: the kernels compare and divide in the
    # working dtype, where a smaller floor (subnormal input) would round to zero
    top = float(V2.max()) if V2.size else 0.0
    if top == 0.0:
        # all zeros: the floor of a unit-scale V.  With ``tiny`` the β < 1 ratios
        # V / Λ^(2-β) of a collapsing Λ overflow (β = 0 gave inf in H, then NaN masks)
        top = 1.0
    return max(FLOOR * top, float(np.finfo(V2.dtype).tiny))


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
    from .._kernels.nmf import beta_ratios

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
    return float(beta_ratios(Vf, 0, L2, np.empty_like(L2), beta, floor, True))


# ---------------------------------------------------------------------------- the solver
#: Serialises the factorisations of one process (re-entrant: separators hold it around
#: their whole estimate, and :func:`nmf` inside takes it again).  BLAS already uses every
#: core; two concurrent calls make it split the products differently, which changes the
#: last bits of the result, so without the lock a separator shared between threads would
#: not give bit-identical results (the generic battery checks that it does).
_SOLVER_LOCK = threading.RLock()


#: Target size in bytes of one ``(n_freq, block)`` buffer of the column-block sweep (the
#: buffers of a thread stay in cache; 4 MB measured faster than 0.5-2 MB at 1025 bins).
_BLOCK_BYTES = 1 << 22

#: Fewest column blocks per thread before a sweep is split over threads.
_MIN_BLOCKS_PER_THREAD = 4


def _sweep_plan(F: int, N: int, itemsize: int) -> tuple[int, list]:
    """Block width and the (first, stop) frames of each group of blocks (one per thread)."""
    from .._config import n_threads_for

    nb = int(min(N, max(16, _BLOCK_BYTES // (F * itemsize))))
    n_blocks = -(-N // nb)
    n_groups = n_threads_for(n_blocks, _MIN_BLOCKS_PER_THREAD)
    edges = [min(N, nb * (n_blocks * g // n_groups)) for g in range(n_groups + 1)]
    return nb, list(zip(edges[:-1], edges[1:]))


def _solve(V2, W, H, *, beta, max_iter, tol, update_W, update_H, free, l1_H, l2_W,
           normalize_W, every=1):
    r"""Multiplicative updates in place on ``W`` (F, K) and ``H`` (K, N); returns info.

    One iteration is one sweep over column blocks of ``V`` (``nb`` frames each, their
    buffers in cache; the groups of blocks run in the package's threads, BLAS limited to one
    thread each).  Iteration :math:`n` first updates ``W`` from the sums the previous sweep
    accumulated, :math:`W_n = W_{n-1} \odot (\sum_b R_b H_b^T / \sum_b P_b H_b^T)^\gamma`
    with :math:`R_b, P_b` the ratio matrices of :math:`(W_{n-1}, H_{n-1})` on block
    :math:`b`, then sweeps: for each block, :math:`\Lambda_b = W_n H_{n-1,b}`, its ratios
    give the exact H update of the block's columns :math:`H_{n,b}` (they depend on no other
    column), then :math:`\Lambda_b = W_n H_{n,b}` again, whose ratios are summed into the
    numerator and denominator of the next W update, and whose divergence (when wanted) is
    that of the iterate :math:`(W_n, H_n)`.  This is exactly the alternating update of
    scikit-learn's ``solver="mu"`` (W from :math:`(W_{n-1}, H_{n-1})`, then H from
    :math:`(W_n, H_{n-1})`) — only the summation order of the W sums differs — with no
    ``(F, N)`` temporary: each iteration reads ``V`` once.  For β = 2 the denominators are
    :math:`W^T W H_b` and :math:`W (H H^T)` and no ratio matrix is formed.
    """
    from .._config import in_threads, one_blas_thread
    from .._kernels.nmf import beta_ratios, mu_update

    floor = _floor_of(V2)
    if beta == 0:
        V2 = np.maximum(V2, V2.dtype.type(floor))
    gamma = _gamma(beta)
    dt = V2.dtype
    F, N = V2.shape
    K = W.shape[1]
    nb, groups = _sweep_plan(F, N, dt.itemsize)
    three = beta not in (1.0, 2.0)  # a second ratio buffer
    bufs = [(np.empty(F * nb, dt), np.empty(F * nb, dt) if three else None) for _ in groups]
    n_free = free.size
    all_free = n_free == K
    objective = []
    at = []  # the iterations whose objective was computed
    n_iter = 0
    converged = False

    def penalty():
        p = 0.0
        if l1_H:
            p += l1_H * float(H.sum(dtype=np.float64))
        if l2_W:
            p += 0.5 * l2_W * float(np.square(W, dtype=np.float64).sum())
        return p

    def sweep(h_step, accumulate, want):
        """One pass over the blocks; returns (divergence, numerator sum, denominator sum)."""
        if not (h_step or accumulate or want):
            return 0.0, None, None
        if h_step:
            if beta == 1.0:
                den_col = W.sum(axis=0)[:, None] + l1_H
            elif beta == 2.0:
                WtW = W.T @ W
        out = [None] * len(groups)

        def work(g0, g1):
            for g in range(g0, g1):
                first, stop = groups[g]
                Lflat, Aflat = bufs[g]
                div = 0.0
                num = np.zeros((F, K)) if accumulate else None
                # KL: row sums of H; beta = 2: H H^T; else P H^T
                den = (np.zeros(K) if beta == 1.0 else np.zeros((K, K)) if beta == 2.0
                       else np.zeros((F, K))) if accumulate else None
                for lo in range(first, stop, nb):
                    hi = min(lo + nb, stop)
                    n = hi - lo
                    L = Lflat[:F * n].reshape(F, n)
                    A = Aflat[:F * n].reshape(F, n) if three else L
                    Hb = np.array(H[:, lo:hi])  # contiguous copy
                    if h_step:
                        if beta == 2.0:
                            numH = W.T @ V2[:, lo:hi]
                            denH = WtW @ Hb
                        else:
                            np.matmul(W, Hb, out=L)
                            beta_ratios(V2, lo, L, A, beta, floor, False)
                            numH = W.T @ A
                            denH = (np.repeat(den_col, n, axis=1) if beta == 1.0
                                    else W.T @ L)
                        if l1_H and beta != 1.0:
                            denH += l1_H
                        mu_update(Hb, numH, denH, gamma)
                        H[:, lo:hi] = Hb
                    if want or (accumulate and beta != 2.0):
                        np.matmul(W, Hb, out=L)
                        div += beta_ratios(V2, lo, L, A, beta, floor, want)
                    if accumulate:
                        if beta == 1.0:
                            num += L @ Hb.T
                            den += Hb.sum(axis=1)
                        elif beta == 2.0:
                            num += V2[:, lo:hi] @ Hb.T
                            den += Hb @ Hb.T
                        else:
                            num += A @ Hb.T
                            den += L @ Hb.T
                out[g] = (div, num, den)

        in_threads(work, len(groups), 1, len(groups))
        div = sum(o[0] for o in out)
        if not accumulate:
            return div, None, None
        num, den = out[0][1], out[0][2]
        for o in out[1:]:
            num += o[1]
            den += o[2]
        return div, num, den

    def update_w(num, den):
        num = num if all_free else num[:, free]
        if beta == 1.0:
            den = np.broadcast_to(den[free], num.shape)
        elif beta == 2.0:
            den = W @ den[:, free]
        elif not all_free:
            den = den[:, free]
        Wf = W if all_free else np.ascontiguousarray(W[:, free])
        den = np.array(den, dtype=dt)  # contiguous, in the working dtype
        if l2_W:
            den += l2_W * Wf
        mu_update(Wf, np.ascontiguousarray(num, dtype=dt), den, gamma)
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

    # one BLAS thread per sweep thread
    limit = one_blas_thread() if len(groups) > 1 else contextlib.nullcontext()
    with limit:
        learn_W = update_W and n_free > 0
        div, num, den = sweep(False, learn_W, True)
        objective.append(div + penalty())
        at.append(0)
        while n_iter < max_iter:
            if learn_W:
                update_w(num, den)
            n_iter += 1
            want = n_iter % every == 0 or n_iter >= max_iter
            div, num, den = sweep(update_H, learn_W and n_iter < max_iter, want)
            if want:
                objective.append(div + penalty())
                at.append(n_iter)
                prev, cur = objective[-2], objective[-1]
                if prev - cur <= tol * abs(prev):
                    converged = True
                    break
    return {"objective": np.asarray(objective), "objective_iterations": np.asarray(at),
            "n_iter": n_iter, "converged": converged}


def nmf(V, n_components=None, *, beta=1.0, max_iter=200, tol=1e-4, W=None, H=None,
        update_W=True, update_H=True, fixed_W_columns=None, l1_H=0.0, l2_W=0.0,
        normalize_W=False, init="random", random_state=None, objective_every=1):
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
    objective_every : int, default 1
        Compute the objective (and test convergence) every this many iterations, and after
        the last.  The objective costs one logarithm per entry of ``V`` for β < 2, about
        half the time of a KL iteration; 10 (scikit-learn's choice) makes it negligible.

    Returns
    -------
    W : ndarray, shape (n_freq, n_components)
    H : ndarray, shape (..., n_components, n_frames)
    info : dict
        ``"objective"``: :math:`C(W, H)` before the first and after each iteration,
        shape ``(n_iter + 1,)``, float64 (with ``objective_every > 1``: at the iterations
        listed in ``"objective_iterations"``, the last one included); ``"n_iter"``;
        ``"converged"`` (False when ``max_iter`` stopped it; then, if ``tol > 0``, a
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
    ``1e-9 * max(V)`` (at least the dtype's smallest normal number) are raised to that
    floor — no input is refused for its zeros and no NaN appears.  W is updated first, then
    H, each from a freshly computed :math:`WH` (the order of scikit-learn's
    ``solver="mu"``).

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
    >>> W0 = rng.random((30, 3)) * (rng.random((30, 3)) < 0.5); W0[:3] = np.eye(3)
    >>> H0 = rng.random((3, 60)) * (rng.random((3, 60)) < 0.5); H0[:, :3] = np.eye(3)
    >>> V = W0 @ H0                                         # an exact rank-3 factorisation
    >>> W, H, info = ds.nmf(V, 3, beta=1, max_iter=500, tol=0, random_state=0)
    >>> bool(np.linalg.norm(W @ H - V) < 1e-6 * np.linalg.norm(V))
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
    every = check_positive_int(objective_every, "objective_every")
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

    with np.errstate(under="ignore"), _SOLVER_LOCK:  # underflow to 0 is harmless
        info = _solve(V2, W, H, beta=beta, max_iter=max_iter, tol=tol,
                      update_W=update_W, update_H=update_H, free=free_idx, l1_H=l1_H,
                      l2_W=l2_W, normalize_W=normalize_W, every=every)
    if not info["converged"] and tol > 0:
        warnings.warn(f"nmf stopped at max_iter={max_iter} before the objective's relative "
                      f"decrease fell below tol={tol:g}", ConvergenceWarning, stacklevel=2)
    return W, _from_2d(H, lead, T), info


#: The separators test convergence every this many iterations (the objective's logarithms
#: cost about as much as the rest of a KL iteration).
_EVERY = 10

#: Dynamic range (dB) of the template spectra the MFCC clustering feature sees.
_TOP_DB = 40.0

#: Mel bands of the MFCC clustering feature: few enough that the mel spectrum of a
#: harmonic template is its envelope (timbre), not its partials (pitch) -- the source-filter
#: view of Spiertz & Gnann; 26 is the HTK / ETSI front-end's count (dev corpus, four
#: chorale voices, mean of three seeds: -0.5 dB against -1.6 with 64 bands).
_N_MELS = 26

#: How :class:`BlindNMF` groups components into sources.
CLUSTER_FEATURES = ("mfcc", "activations", "pitch")


def _items(S: np.ndarray) -> tuple[np.ndarray, tuple]:
    """(..., F, T) -> (n_items, n_channels, F, T) and the leading shape; mono is 1 channel."""
    if S.ndim == 2:
        return S[None, None], ()
    return S.reshape((-1,) + S.shape[-3:]), S.shape[:-2]


def _flush_tiny(models: list, mask: str, power: float) -> list:
    """Zero the model entries too small against their bin's largest model to matter.

    The shared ratio-mask rule divides by the bin's peak and raises to ``power``; NMF
    models span hundreds of decades (activations decay towards zero), and such ratios would
    underflow.  Entries below ``peak * (1e3 * tiny) ** (1 / power)`` get a mask below
    ``1e3 * tiny`` anyway; setting them to zero changes no mask by more than that.
    """
    if mask == "binary" or not models:
        return models
    dtype = models[0].dtype
    peak = models[0].copy()
    for m in models[1:]:
        np.maximum(peak, m, out=peak)
    # the threshold in float64: in float32 it would underflow for peaks below ~1e-3
    peak = peak.astype(np.float64) * (1e3 * np.finfo(dtype).tiny) ** (1.0 / max(power, 1.0))
    for m in models:
        m[m < peak] = 0
    return models


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31 - 1))


# ---------------------------------------------------------------------------- supervised
def learn_dictionary(S, n_components, *, beta=1.0, max_iter=200, tol=1e-4, l1_H=0.0,
                     init="nndsvda", random_state=None):
    r"""Spectral templates of one source from its magnitude spectrogram(s).

    Parameters
    ----------
    S : ndarray, shape (n_freq, n_frames) or (..., n_freq, n_frames), non-negative
        Magnitude spectrogram of isolated examples of the source (leading dimensions,
        e.g. channels or several clips of equal length, are pooled).
    n_components : int
        Templates to learn; at most the number of bins and of frames for ``"nndsvda"``.
    beta, max_iter, tol, l1_H, random_state
        As in :func:`dsp_separate.nmf`.
    init : {"nndsvda", "random"}, default "nndsvda"
        Initialisation (:func:`dsp_separate.nmf`).  NNDSVD starts the templates from the
        examples' leading singular vectors; on the dev corpus's instrument dictionaries
        (24 templates, at most 500 iterations) they separate better than dictionaries
        from a random start (200 iterations): 5.9 against 5.2 dB mean SDR on the mono task.

    Returns
    -------
    W : ndarray, shape (n_freq, n_components), float64
        Columns of unit Euclidean norm (the scale goes into the activations, which are
        discarded).

    Notes
    -----
    :math:`S \approx W H` by :func:`dsp_separate.nmf` with ``normalize_W=True``; the
    supervised step of Smaragdis, Raj & Shashanka (2007).

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate.separators.nmf import learn_dictionary
    >>> S = np.outer(np.hanning(16), np.ones(40))          # one spectral shape
    >>> W = learn_dictionary(S, 1, random_state=0)
    >>> bool(np.allclose(W[:, 0], np.hanning(16) / np.linalg.norm(np.hanning(16)), atol=1e-3))
    True
    """
    W, _, _ = nmf(S, n_components, beta=beta, max_iter=max_iter, tol=tol, l1_H=l1_H,
                  init=init, normalize_W=True, random_state=random_state,
                  objective_every=_EVERY)
    W = W.astype(np.float64)
    with np.errstate(under="ignore"):
        norms = np.linalg.norm(W, axis=0)
        W[:, norms > 0] /= norms[norms > 0]
    return W


def supervised_nmf_models(S, dictionaries, *, n_free=0, beta=1.0, max_iter=200, tol=1e-4,
                          l1_H=0.0, random_state=None):
    r"""Source models from fixed per-source dictionaries (plus free components).

    Parameters
    ----------
    S : ndarray, shape (..., n_freq, n_frames), non-negative
        Mixture magnitude spectrogram; ``(..., n_channels, n_freq, n_frames)``: the channels
        of each item share the free templates, every channel has its own activations.
    dictionaries : sequence of ndarray, each (n_freq, k_j)
        One dictionary per source, kept fixed.
    n_free : int, default 0
        Free components learned on the mixture; their model is returned last.
    beta, max_iter, tol, l1_H, random_state
        As in :func:`dsp_separate.nmf`.

    Returns
    -------
    list of ndarray, each shaped like ``S``
        :math:`W_j H_j` for each dictionary, then the free part if ``n_free > 0``.

    Notes
    -----
    :math:`S \approx [W_1, \dots, W_J, W_f]\,[H_1; \dots; H_J; H_f]` with the :math:`W_j`
    fixed (``fixed_W_columns``) and :math:`W_f`, all :math:`H` updated by the β-divergence
    multiplicative updates (Smaragdis, Raj & Shashanka 2007).

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate.separators.nmf import supervised_nmf_models
    >>> a, b = np.eye(6)[:, :1] + 0.01, np.eye(6)[:, 3:4] + 0.01
    >>> S = a @ np.ones((1, 10)) + b @ np.linspace(0, 1, 10)[None]
    >>> m_a, m_b = supervised_nmf_models(S, [a, b], max_iter=500, tol=0, random_state=0)
    >>> bool(np.allclose(m_a + m_b, S, atol=1e-4))
    True
    """
    items, lead = _items(S)
    dtype = items.dtype
    Ws = [np.asarray(D, dtype=dtype) for D in dictionaries]
    sizes = [D.shape[1] for D in Ws] + ([n_free] if n_free else [])
    bounds = np.cumsum([0] + sizes)
    n_fixed = int(bounds[len(Ws)])
    rng = _rng_of(random_state)
    out = [np.empty_like(items) for _ in sizes]
    for i, item in enumerate(items):
        W0 = np.concatenate(Ws + ([np.zeros((item.shape[-2], n_free), dtype)] if n_free else []),
                            axis=1)
        if n_free:
            scale = np.sqrt(max(float(item.mean()), 1e-30) / W0.shape[1])
            W0[:, n_fixed:] = scale * np.abs(rng.standard_normal((W0.shape[0], n_free)))
        scale = max(float(item.mean()), 1e-30) / max(float(W0.sum(axis=0).mean()), 1e-30)
        H0 = scale * np.abs(rng.standard_normal((item.shape[0], W0.shape[1], item.shape[-1])))
        W, H, _ = nmf(item, W=W0, H=H0.astype(dtype), beta=beta, max_iter=max_iter, tol=tol,
                      l1_H=l1_H, update_W=n_free > 0, fixed_W_columns=np.arange(n_fixed),
                      normalize_W=n_free > 0, objective_every=_EVERY)
        for j in range(len(sizes)):
            lo, hi = bounds[j], bounds[j + 1]
            np.matmul(W[:, lo:hi], H[:, lo:hi], out=out[j][i])
    return [o.reshape(S.shape) for o in out]


def _load_example(x, sr, where):
    if isinstance(x, (str, os.PathLike)):
        from ..io import load

        y, _ = load(x, sr=sr, dtype=np.float64)  # resampled to sr (librosa, soxr)
        return y
    return check_audio(x, where)


class SupervisedNMF(Separator):
    r"""Supervised (and semi-supervised) NMF: dictionaries learned from isolated examples.

    :meth:`fit` learns ``n_components`` spectral templates per source from examples of that
    source alone (:func:`learn_dictionary`); :meth:`separate` keeps them fixed, learns the
    activations (and ``n_free`` free templates) on the mixture
    (:func:`supervised_nmf_models`) and masks with :math:`(W_jH_j)^p / \sum_i (W_iH_i)^p`.

    Sources: the keys of the training examples, then ``"residual"`` if ``n_free > 0``.

    Parameters
    ----------
    n_components : int, default 16
        Templates per source.
    n_free : int, default 0
        Free components learned on the mixture (semi-supervised); their model is the
        ``"residual"`` source.
    beta : float in [0, 2], default 1.0
        β-divergence (1: Kullback-Leibler on magnitudes).
    max_iter : int, default 200
        Iterations, for fitting and for separating.
    tol : float, default 1e-4
        Relative objective decrease that stops the iterations.
    l1_H : float, default 0.0
        Sparsity weight on the activations.
    init : {"nndsvda", "random"}, default "nndsvda"
        How :meth:`fit` starts each dictionary (see :func:`learn_dictionary`).
    power : float, default 1.0
        Soft-mask exponent.
    mask : {"soft", "binary"}, default "soft"
    random_state : None or int, default None
        Seeds the initial activations (and free templates).
    stft : STFT or dict, optional
        Transform; default ``STFT(n_fft=2048, hop_length=512)``.  Fitting and separating
        must use the same one (and the same sampling rate).
    wiener_iterations : int, default 0
        Multichannel Wiener EM iterations on the masked sources.

    Attributes
    ----------
    dictionaries_ : ndarray, shape (n_sources, n_freq, n_components)
        One dictionary per source, columns of unit norm.
    names_ : list of str
        The sources, in the order of ``dictionaries_``.
    sr_ : int
        Sampling rate of the training examples.

    References
    ----------
    .. [1] P. Smaragdis, B. Raj and M. Shashanka, "Supervised and semi-supervised separation
       of sounds from single-channel mixtures", ICA 2007.
    .. [2] C. Févotte and J. Idier, Neural Computation 23(9), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> sr = 8000
    >>> t = np.arange(sr) / sr
    >>> low = np.sin(2 * np.pi * 220 * t) * np.exp(-2 * t)
    >>> high = np.sin(2 * np.pi * 1320 * t) * (t > 0.5)
    >>> tf = ds.STFT(n_fft=512, hop_length=128)
    >>> sep = ds.SupervisedNMF(n_components=1, random_state=0, stft=tf)
    >>> sep = sep.fit({"low": np.sin(2 * np.pi * 220 * t),
    ...                "high": np.sin(2 * np.pi * 1320 * t)}, sr=sr)
    >>> result = sep.separate(low + high, sr)
    >>> result.names
    ('low', 'high')
    >>> bool(ds.metrics.si_sdr(low, result["low"]) > 15)
    True
    """

    name = "supervised_nmf"
    summary = "supervised / semi-supervised NMF with per-source dictionaries (Smaragdis 2007)"
    tags = Tags(kind="mask", requires_fit=True)
    param_choices = {"mask": MASK_TYPES, "init": NMF_INITS}
    fitted_attributes = ("dictionaries_", "names_", "sr_")

    def __init__(self, n_components=16, n_free=0, beta=1.0, max_iter=200, tol=1e-4, l1_H=0.0,
                 init="nndsvda", power=1.0, mask="soft", random_state=None, stft=None,
                 wiener_iterations=0):
        self.n_components = n_components
        self.n_free = n_free
        self.beta = beta
        self.max_iter = max_iter
        self.tol = tol
        self.l1_H = l1_H
        self.init = init
        self.power = power
        self.mask = mask
        self.random_state = random_state
        self.stft = stft
        self.wiener_iterations = wiener_iterations

    def _validate_params(self):
        check_positive_int(self.n_components, "n_components")
        check_nonnegative_int(self.n_free, "n_free")
        _check_beta(self.beta)
        check_positive_int(self.max_iter, "max_iter")
        check_nonnegative_float(self.tol, "tol")
        check_nonnegative_float(self.l1_H, "l1_H")
        check_choice(self.init, "init", NMF_INITS)
        _check_power(self.power)
        check_choice(self.mask, "mask", MASK_TYPES)
        _rng_of(self.random_state)
        check_nonnegative_int(self.wiener_iterations, "wiener_iterations")

    def _fit(self, examples, *, sr, **kwargs):
        if kwargs:
            raise ParameterError(f"{sorted(kwargs)}: SupervisedNMF.fit takes no extra arguments")
        if sr is None:
            raise ParameterError("sr=None: give the sampling rate of the examples")
        sr = check_sr(sr)
        if not isinstance(examples, dict) or not examples:
            raise ParameterError(f"examples={describe(examples)}: must be a non-empty dict "
                                 "{source name: signal or list of signals}")
        if self.n_free and RESIDUAL in examples:
            raise ParameterError(f"examples: a source named {RESIDUAL!r} clashes with the "
                                 "residual of the free components (n_free > 0)")
        tf = self._transform()
        rng = _rng_of(self.random_state)
        names, dictionaries = [], []
        for name, value in examples.items():
            if not isinstance(name, str) or not name:
                raise ParameterError(f"examples: source name {name!r} must be a non-empty str")
            clips = list(value) if isinstance(value, (list, tuple)) else [value]
            if not clips:
                raise ParameterError(f"examples[{name!r}]=[]: needs at least one example")
            frames = []
            for i, clip in enumerate(clips):
                y = _load_example(clip, sr, f"examples[{name!r}][{i}]")
                if not np.abs(y).max() > 0:
                    raise ParameterError(f"examples[{name!r}][{i}]: silent example (all "
                                         "zeros); it holds nothing to learn")
                S = np.abs(tf.forward(y.astype(np.float64)))
                frames.append(S.reshape(-1, S.shape[-2], S.shape[-1]))
            S = np.concatenate([np.concatenate(list(f), axis=-1) for f in frames], axis=-1)
            names.append(name)
            dictionaries.append(learn_dictionary(
                S, int(self.n_components), beta=float(self.beta), max_iter=int(self.max_iter),
                tol=float(self.tol), l1_H=float(self.l1_H), init=self.init,
                random_state=_seed(rng)))
        self.dictionaries_ = np.stack(dictionaries)
        self.names_ = names
        self.sr_ = sr

    def source_names(self, n_channels=None, references=None):
        """The training sources' names, then ``"residual"`` when ``n_free > 0``."""
        self._check_fitted()
        return tuple(self.names_) + ((RESIDUAL,) if self.n_free else ())

    def _estimate(self, X, *, y=None, sr, stft, **kwargs):
        if kwargs:
            raise ParameterError(f"{sorted(kwargs)}: SupervisedNMF.separate takes no extra "
                                 "arguments")
        if int(sr) != int(self.sr_):
            raise ParameterError(f"sr={sr}: the dictionaries were learned at sr={self.sr_}; "
                                 "resample the mixture (ds.load(path, sr=...)) or refit")
        if self.dictionaries_.shape[1] != X.shape[-2]:
            raise ParameterError(f"stft={stft!r}: gives {X.shape[-2]} bins but the "
                                 f"dictionaries have {self.dictionaries_.shape[1]}; separate "
                                 "with the STFT used for fit")
        with np.errstate(under="ignore"), _SOLVER_LOCK:
            models = supervised_nmf_models(
                np.abs(X), list(self.dictionaries_), n_free=int(self.n_free),
                beta=float(self.beta), max_iter=int(self.max_iter), tol=float(self.tol),
                l1_H=float(self.l1_H), random_state=self.random_state)
        models = _flush_tiny(models, self.mask, float(self.power))
        return Models(dict(zip(self.source_names(), models)), mask=self.mask,
                      power=self.power, wiener_iterations=self.wiener_iterations)


# ---------------------------------------------------------------------------- blind
def cluster_components(W, H, n_sources, *, feature="mfcc", sr=22050, n_fft=2048,
                       n_mfcc=13, random_state=None):
    r"""Group NMF components into sources by k-means.

    Parameters
    ----------
    W : ndarray, shape (n_freq, n_components)
        Spectral templates (magnitudes).
    H : ndarray, shape (..., n_components, n_frames)
        Activations.
    n_sources : int
        Number of clusters, at most ``n_components``.
    feature : {"mfcc", "activations", "pitch"}, default "mfcc"
        ``"mfcc"``: the MFCCs (coefficients 1 to ``n_mfcc - 1``; the 0th, the level, is
        left out) of each template's mel power spectrum (Spiertz & Gnann 2009).
        ``"activations"``: each component's activations over all frames, standardised
        (Euclidean distance between standardised rows is a function of their correlation).
        ``"pitch"``: the log fundamental of each template (:func:`template_pitch`), i.e.
        the components are grouped into pitch registers (voices of a chorale).
    sr, n_fft : int
        Sampling rate and FFT size of the spectrogram (for the mel filters).
    n_mfcc : int, default 13
    random_state : None or int
        Seeds k-means (10 restarts).

    Returns
    -------
    labels : ndarray of int, shape (n_components,)
        Cluster of each component, numbered by increasing spectral centroid of the cluster's
        total energy (so ``source_0`` is the lowest-sounding).

    Notes
    -----
    MFCC of a template :math:`w`: :math:`\mathrm{DCT}(\log(M w^2))` with :math:`M` the mel
    filterbank (librosa; 26 bands, fewer for short FFTs: the envelope, not the partials);
    k-means minimises
    :math:`\sum_j \sum_{k \in C_j} \|x_k - \mu_j\|^2` (scikit-learn ``KMeans``).

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate.separators.nmf import cluster_components
    >>> f = np.arange(129)[:, None]
    >>> W = np.hstack([np.exp(-((f - c) / 3.0) ** 2) for c in (10, 12, 90, 95)]) + 1e-3
    >>> cluster_components(W, np.ones((4, 5)), 2, sr=8000, n_fft=256, random_state=0).tolist()
    [0, 0, 1, 1]
    """
    with np.errstate(under="ignore"):
        return _cluster(np.asarray(W, dtype=np.float64), np.asarray(H, dtype=np.float64),
                        n_sources, feature, sr, n_fft, n_mfcc, random_state)


def template_pitch(W, *, sr, n_fft, fmin=40.0, fmax=2000.0, n_harmonics=10,
                   bins_per_octave=48) -> np.ndarray:
    r"""Fundamental frequency of each spectral template by subharmonic summation.

    Parameters
    ----------
    W : ndarray, shape (n_freq, n_components), non-negative
        Magnitude templates of an STFT with ``n_fft`` points at ``sr`` Hz.
    sr, n_fft : int
    fmin, fmax : float
        Range of the candidate fundamentals (Hz), ``bins_per_octave`` per octave.
    n_harmonics : int

    Returns
    -------
    ndarray, shape (n_components,)
        The candidate :math:`f_0` that maximises
        :math:`\sum_{h=1}^{N} 0.84^{h-1}\, \tilde w(h f_0)`, with :math:`\tilde w` the
        template normalised to unit maximum and linearly interpolated between bins; the
        decaying weights make the sub-octave :math:`f_0 / 2`, which
        collects only the even partials, lose to :math:`f_0` (Hermes, JASA 83(1), 1988).

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate.separators.nmf import template_pitch
    >>> f = np.arange(1025) * 44100 / 2048
    >>> w = sum(np.exp(-((f - 220 * h) / 15) ** 2) / h for h in range(1, 8))
    >>> round(float(template_pitch(w[:, None], sr=44100, n_fft=2048)[0]))
    220
    """
    W = np.asarray(W, dtype=np.float64)
    F = W.shape[0]
    top = W.max(axis=0, keepdims=True)
    Wn = W / np.where(top > 0, top, 1.0)
    n_cand = int(np.floor(np.log2(fmax / fmin) * bins_per_octave)) + 1
    f0 = fmin * 2.0 ** (np.arange(n_cand) / bins_per_octave)
    h = np.arange(1, n_harmonics + 1)
    pos = f0[:, None] * h[None, :] * (n_fft / sr)  # fractional bins, (C, N)
    lo = np.minimum(np.floor(pos).astype(np.intp), F - 2)
    frac = np.clip(pos - lo, 0.0, 1.0)[..., None]
    weight = np.where(pos <= F - 1, 0.84 ** (h - 1.0), 0.0)
    at = (1.0 - frac) * Wn[lo] + frac * Wn[lo + 1]  # linear interpolation, (C, N, K)
    score = np.einsum("cn,cnk->ck", weight, at)
    return f0[np.argmax(score, axis=0)]


def _cluster(W, H2, n_sources, feature, sr, n_fft, n_mfcc, random_state):
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning as SkConvergenceWarning

    from .._config import fork_safe_openmp

    k = W.shape[1]
    H2 = np.moveaxis(H2.reshape((-1,) + H2.shape[-2:]), 1, 0).reshape(k, -1)
    if feature == "mfcc":
        import librosa

        n_mels = max(8, min(_N_MELS, W.shape[0] // 3))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # empty mel filters at small n_fft
            mel = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)
        P = mel @ (W * W)
        # each template's mel power in dB, floored TOP_DB below its own peak: the
        # floor keeps the empty bands of sparse (harmonic) templates from dominating
        db = 10.0 * np.log10(np.maximum(P, 1e-300))
        db = np.maximum(db, db.max(axis=0, keepdims=True) - _TOP_DB)
        import scipy.fft

        feats = scipy.fft.dct(db, type=2, norm="ortho", axis=0)[1:n_mfcc].T
    elif feature == "pitch":
        feats = np.log2(template_pitch(W, sr=sr, n_fft=n_fft))[:, None]
    else:
        mu = H2.mean(axis=1, keepdims=True)
        sd = H2.std(axis=1, keepdims=True)
        feats = np.where(sd > 0, (H2 - mu) / np.where(sd > 0, sd, 1.0), 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkConvergenceWarning)  # fewer distinct points than k
        with fork_safe_openmp():  # KMeans's OpenMP hangs in a forked child otherwise
            labels = KMeans(n_clusters=n_sources, n_init=10,
                            random_state=random_state).fit(feats).labels_
    energy = W * H2.sum(axis=1)[None, :]  # (F, K)
    freqs = np.arange(W.shape[0], dtype=np.float64)
    centroid = np.full(n_sources, np.inf)
    for j in range(n_sources):
        e = energy[:, labels == j].sum(axis=1)
        if e.sum() > 0:
            centroid[j] = (freqs * e).sum() / e.sum()
        elif np.any(labels == j):
            centroid[j] = 1e300 + j
    order = np.argsort(centroid, kind="stable")
    rank = np.empty(n_sources, dtype=np.intp)
    rank[order] = np.arange(n_sources)
    return rank[labels]


def blind_nmf_models(S, n_sources, n_components, *, feature="mfcc", sr=22050, n_fft=2048,
                     beta=1.0, max_iter=200, tol=1e-4, init="random", random_state=None):
    r"""Blind NMF separation: factorise, cluster the components, one model per cluster.

    Parameters
    ----------
    S : ndarray, shape (..., n_freq, n_frames), non-negative
        Mixture magnitude spectrogram; ``(..., n_channels, n_freq, n_frames)``: the
        channels of an item share the templates (and so the clustering).
    n_sources, n_components : int
    feature : {"mfcc", "activations", "pitch"}
        See :func:`cluster_components`.
    sr, n_fft : int
        For the mel filters of the MFCC feature.
    beta, max_iter, tol, init, random_state
        As in :func:`dsp_separate.nmf`, with the objective (and the ``tol`` test) every 10
        iterations (``objective_every=10``, as scikit-learn): ``tol`` bounds the relative
        decrease over 10 iterations.

    Returns
    -------
    list of ndarray, each shaped like ``S``
        :math:`W_{C_j} H_{C_j}` for each cluster :math:`C_j`, lowest spectral centroid first.

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate.separators.nmf import blind_nmf_models
    >>> rng = np.random.default_rng(0)
    >>> S = rng.random((129, 40))
    >>> models = blind_nmf_models(S, 2, 6, sr=8000, n_fft=256, max_iter=200, tol=1e-2,
    ...                           random_state=0)
    >>> len(models), models[0].shape
    (2, (129, 40))
    """
    items, _ = _items(S)
    rng = _rng_of(random_state)
    out = [np.empty_like(items) for _ in range(n_sources)]
    for i, item in enumerate(items):
        W, H, _ = nmf(item, n_components, beta=beta, max_iter=max_iter, tol=tol,
                      init=init, normalize_W=True, random_state=rng, objective_every=_EVERY)
        labels = cluster_components(W, H, n_sources, feature=feature, sr=sr, n_fft=n_fft,
                                    random_state=_seed(rng))
        for j in range(n_sources):
            sel = np.flatnonzero(labels == j)
            np.matmul(W[:, sel], H[:, sel], out=out[j][i])
    return [o.reshape(S.shape) for o in out]


class BlindNMF(Separator):
    r"""Blind NMF separation: components clustered into sources (NMF-MFCC).

    The mixture's magnitude spectrogram is factorised with ``n_components`` components
    (:func:`dsp_separate.nmf`), the components are clustered into ``n_sources`` groups by the
    MFCCs of their templates or by their activations (:func:`cluster_components`), and each
    group's :math:`W_j H_j` is a source model for soft masks.

    Sources: ``source_0``, ``source_1``, ... in increasing spectral centroid.

    Parameters
    ----------
    n_sources : int, default 2
    n_components : int, default 32
        NMF components; at least ``n_sources``.
    feature : {"mfcc", "activations", "pitch"}, default "mfcc"
        Clustering feature: the templates' MFCCs (timbre), the activations' correlation,
        or the templates' fundamental (pitch register); see :func:`cluster_components`.
    beta : float in [0, 2], default 1.0
    max_iter : int, default 200
    tol : float, default 1e-4
    init : {"random", "nndsvda"}, default "random"
    power : float, default 1.0
        Soft-mask exponent.
    mask : {"soft", "binary"}, default "soft"
    random_state : None or int, default None
        Seeds the NMF initialisation and k-means.
    stft : STFT or dict, optional
        Default ``STFT(n_fft=2048, hop_length=512)``.
    wiener_iterations : int, default 0

    References
    ----------
    .. [1] M. Spiertz and V. Gnann, "Source-filter based clustering for monaural blind source
       separation", DAFx 2009.
    .. [2] C. Févotte and J. Idier, Neural Computation 23(9), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> sr = 8000
    >>> t = np.arange(sr) / sr
    >>> y = np.sin(2 * np.pi * 220 * t) + np.sin(2 * np.pi * 1760 * t) * (t > 0.5)
    >>> result = ds.BlindNMF(n_components=4, tol=1e-3, random_state=0).separate(y, sr)
    >>> result.names
    ('source_0', 'source_1')
    """

    name = "nmf"
    summary = "blind NMF, components clustered by timbre (MFCCs), activations or pitch"
    tags = Tags(kind="mask", n_sources="parameter")
    param_choices = {"mask": MASK_TYPES, "feature": CLUSTER_FEATURES, "init": NMF_INITS}

    def __init__(self, n_sources=2, n_components=32, feature="mfcc", beta=1.0, max_iter=200,
                 tol=1e-4, init="random", power=1.0, mask="soft", random_state=None,
                 stft=None, wiener_iterations=0):
        self.n_sources = n_sources
        self.n_components = n_components
        self.feature = feature
        self.beta = beta
        self.max_iter = max_iter
        self.tol = tol
        self.init = init
        self.power = power
        self.mask = mask
        self.random_state = random_state
        self.stft = stft
        self.wiener_iterations = wiener_iterations

    def _validate_params(self):
        n = check_positive_int(self.n_sources, "n_sources")
        k = check_positive_int(self.n_components, "n_components")
        if k < n:
            raise ParameterError(f"n_components={k}: must be at least n_sources={n}")
        check_choice(self.feature, "feature", CLUSTER_FEATURES)
        _check_beta(self.beta)
        check_positive_int(self.max_iter, "max_iter")
        check_nonnegative_float(self.tol, "tol")
        check_choice(self.init, "init", NMF_INITS)
        _check_power(self.power)
        check_choice(self.mask, "mask", MASK_TYPES)
        _rng_of(self.random_state)
        check_nonnegative_int(self.wiener_iterations, "wiener_iterations")

    def _estimate(self, X, *, y=None, sr, stft, **kwargs):
        if kwargs:
            raise ParameterError(f"{sorted(kwargs)}: BlindNMF.separate takes no extra "
                                 "arguments")
        with np.errstate(under="ignore"), _SOLVER_LOCK:
            models = blind_nmf_models(
                np.abs(X), int(self.n_sources), int(self.n_components), feature=self.feature,
                sr=sr, n_fft=stft.n_fft, beta=float(self.beta),
                max_iter=int(self.max_iter), tol=float(self.tol), init=self.init,
                random_state=self.random_state)
        models = _flush_tiny(models, self.mask, float(self.power))
        return Models(dict(zip(self.source_names(), models)), mask=self.mask,
                      power=self.power, wiener_iterations=self.wiener_iterations)


# ---------------------------------------------------------------------------- score-informed
def check_notes(notes, duration=None, *, nyquist=None) -> dict:
    """Validate a score: ``{source name: (n_notes, 3) array of (onset_s, offset_s, pitch)}``.

    Returns a new dict of float64 arrays (the input is not modified).  Offsets beyond
    ``duration`` are clipped to it; onsets must fall inside the signal.
    """
    if not isinstance(notes, dict) or not notes:
        raise ParameterError(f"notes={describe(notes)}: must be a non-empty dict {{source name: "
                             "array of (onset_s, offset_s, midi_pitch) rows}}")
    out = {}
    for name, value in notes.items():
        where = f"notes[{name!r}]"
        if not isinstance(name, str) or not name:
            raise ParameterError(f"notes: source name {name!r} must be a non-empty str")
        try:
            a = np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ParameterError(f"{where}={describe(value)}: must be numbers, rows of "
                                 "(onset_s, offset_s, midi_pitch)") from None
        if a.size == 0:
            a = a.reshape(0, 3)
        if a.ndim == 1 and a.shape[0] == 3:
            a = a[None]
        if a.ndim != 2 or a.shape[1] != 3:
            raise ParameterError(f"{where}: has shape {a.shape}; must be (n_notes, 3) rows of "
                                 "(onset_s, offset_s, midi_pitch)")
        if not np.isfinite(a).all():
            raise ParameterError(f"{where}: must be finite (found NaN or inf)")
        on, off, pitch = a.T
        if np.any(on < 0):
            raise ParameterError(f"{where}: onset {on.min():g} s < 0; notes must lie inside "
                                 "the signal")
        if np.any(off <= on):
            i = int(np.flatnonzero(off <= on)[0])
            raise ParameterError(f"{where}[{i}]: offset {off[i]:g} s must be after its onset "
                                 f"{on[i]:g} s")
        if np.any((pitch < 0) | (pitch > 127)):
            raise ParameterError(f"{where}: MIDI pitch {pitch[(pitch < 0) | (pitch > 127)][0]:g} "
                                 "must be in [0, 127]")
        if nyquist is not None and np.any(_midi_hz(pitch) >= nyquist):
            raise ParameterError(f"{where}: MIDI pitch {pitch.max():g} "
                                 f"({_midi_hz(pitch.max()):.0f} Hz) must be below the Nyquist "
                                 f"frequency {nyquist:g} Hz")
        if duration is not None:
            if np.any(on >= duration):
                raise ParameterError(f"{where}: onset {on.max():g} s is outside the signal "
                                     f"({duration:g} s long)")
            a[:, 1] = np.minimum(off, duration)
        out[name] = a
    return out


def _midi_hz(pitch):
    return 440.0 * 2.0 ** ((np.asarray(pitch, dtype=np.float64) - 69.0) / 12.0)


def harmonic_templates(pitches, freqs, *, n_harmonics=20, tolerance=0.5) -> np.ndarray:
    r"""Harmonic comb templates, one per pitch (score-informed NMF initialisation).

    Parameters
    ----------
    pitches : array_like, shape (n_pitches,)
        MIDI pitches (69 = A4 = 440 Hz; fractional values allowed).
    freqs : ndarray, shape (n_freq,)
        Centre frequency of each bin in Hz (``STFT.bin_frequencies(sr)``).
    n_harmonics : int, default 20
        Partials per template (those above the last bin are left out).
    tolerance : float, default 0.5
        Half-width of each partial's band in semitones; at least one bin (the main lobe
        of the analysis window spreads a partial over neighbouring bins).

    Returns
    -------
    W : ndarray, shape (n_freq, n_pitches), float64
        :math:`W_{f,k} = 1/h` where :math:`|f - h f_k| \le \max(h f_k (2^{\tau/12} - 1),
        \Delta f)` for a partial :math:`h` (the lowest one where bands overlap), else 0;
        columns of unit Euclidean norm.  The multiplicative updates keep the zeros, so each
        template can only learn its partials' shape (Ewert & Müller 2012).

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate.separators.nmf import harmonic_templates
    >>> freqs = np.arange(129) * 31.25                     # sr 8000, n_fft 256
    >>> W = harmonic_templates([69], freqs, n_harmonics=3, tolerance=0.3)
    >>> np.flatnonzero(W[:, 0]).tolist()       # bins within 31.25 Hz of 440, 880, 1320 Hz
    [14, 15, 28, 29, 42, 43]
    """
    freqs = np.asarray(freqs, dtype=np.float64)
    f0 = _midi_hz(pitches)
    df = freqs[1] - freqs[0] if freqs.size > 1 else 1.0
    W = np.zeros((freqs.size, f0.size))
    ratio = 2.0 ** (float(tolerance) / 12.0) - 1.0
    for k, f in enumerate(f0):
        for h in range(int(n_harmonics), 0, -1):  # lowest partial written last wins overlaps
            fh = h * f
            half = max(fh * ratio, df)
            band = np.abs(freqs - fh) <= half
            W[band, k] = 1.0 / h
    norms = np.linalg.norm(W, axis=0)
    W[:, norms > 0] /= norms[norms > 0]
    return W


def score_activations(notes, pitches, times, *, onset_tolerance=0.1, offset_tolerance=0.2):
    """Activation support: 1 where the score lets component ``k`` sound, else 0.

    Parameters
    ----------
    notes : ndarray, shape (n_notes, 3)
        (onset_s, offset_s, midi_pitch) rows of one source.
    pitches : ndarray, shape (n_pitches,)
        The pitch of each component (row of the result).
    times : ndarray, shape (n_frames,)
        Frame centres in seconds.
    onset_tolerance, offset_tolerance : float
        Seconds added before each onset and after each offset.

    Returns
    -------
    ndarray, shape (n_pitches, n_frames), float64 of 0 and 1

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate.separators.nmf import score_activations
    >>> score_activations(np.array([[0.2, 0.4, 60]]), np.array([60, 62]), np.arange(6) / 10,
    ...                   onset_tolerance=0.0, offset_tolerance=0.1).astype(int).tolist()
    [[0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]]
    """
    H = np.zeros((len(pitches), len(times)))
    index = {float(p): k for k, p in enumerate(pitches)}
    for on, off, p in np.asarray(notes, dtype=np.float64).reshape(-1, 3):
        k = index[float(p)]
        H[k, (times >= on - onset_tolerance) & (times <= off + offset_tolerance)] = 1.0
    return H


def score_nmf_models(S, notes, *, sr, stft, n_harmonics=20, pitch_tolerance=0.5,
                     onset_tolerance=0.1, offset_tolerance=0.2, beta=1.0, max_iter=100,
                     tol=1e-4):
    r"""Score-informed NMF: harmonic templates at the score's pitches, activations inside
    its notes (Ewert & Müller 2012).

    Parameters
    ----------
    S : ndarray, shape (..., n_freq, n_frames), non-negative
        Mixture magnitude spectrogram; ``(..., n_channels, n_freq, n_frames)``: the channels
        of an item share the templates, each has its own activations.
    notes : dict
        ``{source name: ndarray (n_notes, 3) of (onset_s, offset_s, midi_pitch)}``, checked
        (:func:`check_notes`).
    sr : int
        Sampling rate in Hz.
    stft : STFT
        The transform of ``S`` (bin frequencies and frame times).
    n_harmonics, pitch_tolerance
        See :func:`harmonic_templates` (``tolerance``, in semitones).
    onset_tolerance, offset_tolerance : float
        Seconds; see :func:`score_activations`.
    beta, max_iter, tol
        As in :func:`dsp_separate.nmf`.

    Returns
    -------
    list of ndarray, each shaped like ``S``
        :math:`W_j H_j` for each source, in the order of ``notes`` (zeros for a source
        without notes).

    Notes
    -----
    Component :math:`k` is one (source, pitch) pair: :math:`W_{:,k}` starts as a harmonic
    comb at the pitch (:func:`harmonic_templates`) and :math:`H_{k,t}` as 1 where a note of
    that source and pitch sounds (with the tolerances), 0 elsewhere.  The β-divergence
    multiplicative updates of :func:`dsp_separate.nmf` multiply, so every zero stays zero:
    the templates only refine the partials' amplitudes and the activations only the notes'
    envelopes.  Source :math:`j`'s model is :math:`W_j H_j` over its components.

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> from dsp_separate.separators.nmf import score_nmf_models
    >>> tf = ds.STFT(n_fft=256, hop_length=64)
    >>> S = np.abs(tf.forward(np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)))
    >>> notes = {"a": np.array([[0.0, 1.0, 69]]), "b": np.array([[0.0, 0.5, 76]])}
    >>> m_a, m_b = score_nmf_models(S, notes, sr=8000, stft=tf, max_iter=30)
    >>> bool(m_a.sum() > 100 * m_b.sum())
    True
    """
    items, _ = _items(S)
    F, T = items.shape[-2:]
    freqs = stft.bin_frequencies(sr)
    times = stft.frame_times(T, sr)
    names = list(notes)
    blocks_W, blocks_H, sizes = [], [], []
    for name in names:
        a = np.asarray(notes[name], dtype=np.float64).reshape(-1, 3)
        pitches = np.unique(a[:, 2])
        H = score_activations(a, pitches, times, onset_tolerance=onset_tolerance,
                              offset_tolerance=offset_tolerance)
        keep = H.any(axis=1)  # a note that lies between frames has no support
        blocks_W.append(harmonic_templates(pitches[keep], freqs, n_harmonics=n_harmonics,
                                           tolerance=pitch_tolerance))
        blocks_H.append(H[keep])
        sizes.append(int(keep.sum()))
    out = [np.zeros_like(items) for _ in names]
    if sum(sizes) == 0:
        return [o.reshape(S.shape) for o in out]
    dtype = items.dtype
    W0 = np.concatenate(blocks_W, axis=1).astype(dtype)
    support = np.concatenate(blocks_H, axis=0)
    bounds = np.cumsum([0] + sizes)
    approx = float((W0.astype(np.float64) @ support).mean())
    for i, item in enumerate(items):
        # factorise item / max(item): the templates' exact zeros make WH reach the floor,
        # where V / WH times H would overflow float32 for loud (1e30) input
        top = float(item.max())
        if not top > 0:
            continue  # silence: every model is zero
        item = item / dtype.type(top)
        # start at the data's level: W0 H0 has the mean of the item where notes sound
        level = max(float(item.mean(dtype=np.float64)), 1e-30)
        H0 = np.broadcast_to(support * (level / max(approx, 1e-300)),
                             (item.shape[0],) + support.shape).astype(dtype)
        W, H, _ = nmf(item, W=W0, H=H0, beta=beta, max_iter=max_iter, tol=tol,
                      normalize_W=True, objective_every=_EVERY)
        for j in range(len(names)):
            lo, hi = bounds[j], bounds[j + 1]
            if hi > lo:
                np.matmul(W[:, lo:hi], H[:, lo:hi], out=out[j][i])
                out[j][i] *= top
    return [o.reshape(S.shape) for o in out]


class ScoreNMF(Separator):
    r"""Score-informed NMF: the score's notes constrain templates and activations.

    :meth:`separate` takes the score as ``notes={source name: rows of (onset_s, offset_s,
    midi_pitch)}`` (read a MIDI file with :func:`midi_notes`).  Each (source, pitch) pair
    is one NMF component: its template starts as a harmonic comb at the pitch, its
    activations as ones inside the notes of that pitch (widened by the tolerances) and zeros
    elsewhere; the multiplicative updates keep the zeros (Ewert & Müller 2012), and each
    source's :math:`W_jH_j` is its model for soft masks (:func:`score_nmf_models`).

    Sources: the keys of ``notes``, in their order.

    Parameters
    ----------
    n_harmonics : int, default 20
        Partials per harmonic template.
    pitch_tolerance : float, default 0.5
        Half-width of each partial's band, in semitones (vibrato, detuning).
    onset_tolerance : float, default 0.1
        Seconds a note may start before its score onset.
    offset_tolerance : float, default 0.2
        Seconds a note may ring after its score offset (release, reverb).
    beta : float in [0, 2], default 1.0
        Beta-divergence (1: Kullback-Leibler on magnitudes).
    max_iter : int, default 100
    tol : float, default 1e-4
    power : float, default 2.0
        Soft-mask exponent.
    mask : {"soft", "binary"}, default "soft"
    stft : STFT or dict, optional
        Default ``STFT(n_fft=2048, hop_length=512)``.
    wiener_iterations : int, default 0

    References
    ----------
    .. [1] S. Ewert and M. Müller, "Using score-informed constraints for NMF-based source
       separation", ICASSP 2012.
    .. [2] J. Fritsch and M. D. Plumbley, "Score informed audio source separation using
       constrained nonnegative matrix factorization and score synthesis", ICASSP 2013.

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> sr = 8000
    >>> t = np.arange(sr) / sr
    >>> a = np.sin(2 * np.pi * 440 * t) * (t < 0.6)           # A4 from 0 to 0.6 s
    >>> b = np.sin(2 * np.pi * 659.26 * t) * (t >= 0.4)      # E5 from 0.4 s
    >>> notes = {"a": [(0.0, 0.6, 69)], "b": [(0.4, 1.0, 76)]}
    >>> sep = ds.ScoreNMF(stft=ds.STFT(n_fft=512, hop_length=128))
    >>> result = sep.separate(a + b, sr, notes=notes)
    >>> result.names
    ('a', 'b')
    >>> bool(ds.metrics.si_sdr(a, result["a"]) > 15)
    True
    """

    name = "score_nmf"
    summary = "score-informed NMF, harmonic templates at the notes (Ewert & Muller 2012)"
    tags = Tags(kind="mask", needs_score=True)
    param_choices = {"mask": MASK_TYPES}

    def __init__(self, n_harmonics=20, pitch_tolerance=0.5, onset_tolerance=0.1,
                 offset_tolerance=0.2, beta=1.0, max_iter=100, tol=1e-4, power=2.0,
                 mask="soft", stft=None, wiener_iterations=0):
        self.n_harmonics = n_harmonics
        self.pitch_tolerance = pitch_tolerance
        self.onset_tolerance = onset_tolerance
        self.offset_tolerance = offset_tolerance
        self.beta = beta
        self.max_iter = max_iter
        self.tol = tol
        self.power = power
        self.mask = mask
        self.stft = stft
        self.wiener_iterations = wiener_iterations

    def _validate_params(self):
        check_positive_int(self.n_harmonics, "n_harmonics")
        check_positive_float(self.pitch_tolerance, "pitch_tolerance")
        check_nonnegative_float(self.onset_tolerance, "onset_tolerance")
        check_nonnegative_float(self.offset_tolerance, "offset_tolerance")
        _check_beta(self.beta)
        check_positive_int(self.max_iter, "max_iter")
        check_nonnegative_float(self.tol, "tol")
        _check_power(self.power)
        check_choice(self.mask, "mask", MASK_TYPES)
        check_nonnegative_int(self.wiener_iterations, "wiener_iterations")

    def source_names(self, n_channels=None, references=None, notes=None):
        """The keys of the score ``notes`` (given to :meth:`separate`), in order."""
        if notes is None:
            raise ParameterError(f"notes=None: {type(self).__name__} needs the score, "
                                 "separate(y, sr, notes={source name: rows of (onset_s, "
                                 "offset_s, midi_pitch)})")
        if not isinstance(notes, dict) or not notes:
            raise ParameterError(f"notes={describe(notes)}: must be a non-empty dict "
                                 "{source name: rows of (onset_s, offset_s, midi_pitch)}")
        return tuple(notes)

    def _estimate(self, X, *, y=None, sr, stft, notes=None, **kwargs):
        if kwargs:
            raise ParameterError(f"{sorted(kwargs)}: ScoreNMF.separate takes only notes=")
        names = self.source_names(notes=notes)
        duration = y.shape[-1] / sr if y is not None else X.shape[-1] * stft.hop_length / sr
        score = check_notes(notes, duration, nyquist=sr / 2)
        with np.errstate(under="ignore"), _SOLVER_LOCK:
            models = score_nmf_models(
                np.abs(X), score, sr=sr, stft=stft, n_harmonics=int(self.n_harmonics),
                pitch_tolerance=float(self.pitch_tolerance),
                onset_tolerance=float(self.onset_tolerance),
                offset_tolerance=float(self.offset_tolerance), beta=float(self.beta),
                max_iter=int(self.max_iter), tol=float(self.tol))
        models = _flush_tiny(models, self.mask, float(self.power))
        return Models(dict(zip(names, models)), mask=self.mask, power=self.power,
                      wiener_iterations=self.wiener_iterations)


# ---------------------------------------------------------------------------- MIDI
def _varlen(data: bytes, i: int) -> tuple[int, int]:
    """A MIDI variable-length quantity at ``data[i]``: (value, next index)."""
    value = 0
    for _ in range(4):
        if i >= len(data):
            raise ValueError("truncated variable-length number")
        b = data[i]
        i += 1
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            return value, i
    raise ValueError("variable-length number longer than 4 bytes")


def _midi_track(data: bytes):
    """Events of one track chunk: (tick, kind, channel, a, b) with kind in
    {"on", "off", "tempo"} (``a`` the key or the tempo in µs per quarter)."""
    events, tick, i, status = [], 0, 0, 0
    while i < len(data):
        delta, i = _varlen(data, i)
        tick += delta
        if data[i] & 0x80:
            status = data[i]
            i += 1
        elif status == 0 or status >= 0xF0:
            raise ValueError(f"running status without a channel status at byte {i}")
        if status == 0xFF:  # meta event: type, length, data
            kind = data[i]
            length, i = _varlen(data, i + 1)
            if kind == 0x51 and length == 3:
                events.append((tick, "tempo", 0, int.from_bytes(data[i:i + 3], "big"), 0))
            elif kind == 0x2F:
                events.append((tick, "end", 0, 0, 0))
                break
            i += length
            status = 0  # meta and sysex events cancel running status
        elif status in (0xF0, 0xF7):  # system exclusive: length, data
            length, i = _varlen(data, i)
            i += length
            status = 0
        else:
            high, channel = status & 0xF0, status & 0x0F
            n_data = 1 if high in (0xC0, 0xD0) else 2
            if i + n_data > len(data):
                raise ValueError("truncated channel event")
            a, b = data[i], data[i + 1] if n_data == 2 else 0
            i += n_data
            if high == 0x90 and b > 0:
                events.append((tick, "on", channel, a, b))
            elif high == 0x80 or high == 0x90:  # note-on with velocity 0 is a note-off
                events.append((tick, "off", channel, a, b))
    return events, tick


def midi_notes(path, *, track=None, channel=None) -> np.ndarray:
    """The notes of a standard MIDI file as ``(onset_s, offset_s, midi_pitch)`` rows.

    A small reader of note-on / note-off and tempo events, written here so that the
    score-informed separator needs no MIDI package (the runtime dependencies stay numpy,
    scipy, librosa, scikit-learn, numba and soundfile).  It handles formats 0 and 1,
    running status, tempo changes (from every track) and SMPTE time division; other events
    are skipped.  A note still sounding at the end of its track ends there.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.mid`` file.
    track : int, optional
        Only the notes of this track (0-based); default all tracks.
    channel : int, optional
        Only the notes of this MIDI channel (0 to 15); default all channels.

    Returns
    -------
    ndarray, shape (n_notes, 3), float64
        Onset and offset in seconds and MIDI pitch, sorted by onset; the ``notes=`` rows of
        :class:`ScoreNMF`.

    Examples
    --------
    >>> import os, tempfile
    >>> from dsp_separate.separators.nmf import midi_notes
    >>> track = bytes([0, 0x90, 69, 100, 0x83, 0x60, 0x80, 69, 0, 0, 0xFF, 0x2F, 0])
    >>> data = (b"MThd" + bytes([0, 0, 0, 6, 0, 0, 0, 1, 1, 0xE0])   # 480 ticks / quarter
    ...         + b"MTrk" + len(track).to_bytes(4, "big") + track)
    >>> path = os.path.join(tempfile.mkdtemp(), "a4.mid")
    >>> with open(path, "wb") as fh:
    ...     _ = fh.write(data)
    >>> midi_notes(path).tolist()                      # 480 ticks at 120 bpm: 0.5 s
    [[0.0, 0.5, 69.0]]
    """
    from pathlib import Path

    from ..exceptions import AudioFileError

    p = Path(path)
    if not p.is_file():
        raise AudioFileError(f"{path}: no such MIDI file")
    data = p.read_bytes()
    try:
        if data[:4] != b"MThd" or len(data) < 14:
            raise ValueError("no MThd header")
        hlen = int.from_bytes(data[4:8], "big")
        n_tracks = int.from_bytes(data[10:12], "big")
        division = int.from_bytes(data[12:14], "big")
        i = 8 + hlen
        tracks = []
        while i + 8 <= len(data) and len(tracks) < n_tracks:
            tag, length = data[i:i + 4], int.from_bytes(data[i + 4:i + 8], "big")
            if tag == b"MTrk":
                tracks.append(_midi_track(data[i + 8:i + 8 + length]))
            i += 8 + length
    except (ValueError, IndexError) as exc:
        raise AudioFileError(f"{path}: not a standard MIDI file ({exc})") from None
    if track is not None:
        if isinstance(track, bool) or not isinstance(track, numbers.Integral) or not (
                0 <= track < len(tracks)):
            raise ParameterError(f"track={describe(track)}: must be a track index in "
                                 f"[0, {len(tracks)})")
    if channel is not None:
        if isinstance(channel, bool) or not isinstance(channel, numbers.Integral) or not (
                0 <= channel < 16):
            raise ParameterError(f"channel={describe(channel)}: must be in [0, 15]")
    # ticks -> seconds: piecewise linear through the tempo changes of every track
    if division & 0x8000:  # SMPTE: frames per second and ticks per frame
        fps = 256 - (division >> 8)
        sec_per_tick = 1.0 / (fps * (division & 0xFF))
        change_ticks, change_secs, slopes = np.array([0]), np.array([0.0]), [sec_per_tick]
    else:
        tempos = sorted((e[0], e[3]) for ev, _ in tracks for e in ev if e[1] == "tempo")
        points = [(0, 500000)] + tempos  # 120 bpm until the first tempo event
        change_ticks, change_secs, slopes = [], [], []
        sec = 0.0
        for j, (t, tempo) in enumerate(points):
            if j and t == change_ticks[-1]:  # a later event at the same tick wins
                slopes[-1] = tempo / 1e6 / division
                continue
            if j:
                sec += (t - change_ticks[-1]) * slopes[-1]
            change_ticks.append(t)
            change_secs.append(sec)
            slopes.append(tempo / 1e6 / division)
        change_ticks, change_secs = np.array(change_ticks), np.array(change_secs)

    def seconds(tick):
        j = int(np.searchsorted(change_ticks, tick, side="right")) - 1
        return float(change_secs[j] + (tick - change_ticks[j]) * slopes[j])

    rows = []
    for index, (events, end_tick) in enumerate(tracks):
        if track is not None and index != track:
            continue
        sounding = {}
        for tick, kind, ch, key, _ in events:
            if channel is not None and ch != channel:
                continue
            if kind == "on":
                sounding.setdefault((ch, key), []).append(tick)
            elif kind == "off" and sounding.get((ch, key)):
                start = sounding[(ch, key)].pop(0)  # first on, first off
                if tick > start:
                    rows.append((seconds(start), seconds(tick), float(key)))
        for (_, key), starts in sounding.items():
            rows += [(seconds(s), seconds(end_tick), float(key)) for s in starts
                     if end_tick > s]
    out = np.array(sorted(rows), dtype=np.float64).reshape(-1, 3)
    return out


# ---------------------------------------------------------------------------- NMFD
def _nmfd_approx(W, H, out):
    """``out[..., :, t] = sum_tau W[tau] @ H[..., :, t - tau]`` (zero before the start)."""
    out[...] = 0
    T = H.shape[-1]
    for tau in range(min(W.shape[0], T)):
        out[..., tau:] += np.matmul(W[tau], H[..., :T - tau])
    return out


def nmfd(V, n_components, n_template_frames=8, *, max_iter=200, tol=1e-4, W=None,
         random_state=None):
    r"""Non-negative matrix factor deconvolution (convolutive NMF), Kullback-Leibler.

    Parameters
    ----------
    V : ndarray, shape (n_freq, n_frames) or (..., n_freq, n_frames), non-negative
        Magnitude spectrogram; leading dimensions (channels, items) share the templates and
        each has its own activations.  Computed in float64.  Not modified.
    n_components : int
        Number of spectro-temporal templates :math:`K`.
    n_template_frames : int, default 8
        Length :math:`L` of each template in frames.
    max_iter : int, default 200
    tol : float, default 1e-4
        Stop when an iteration lowers the divergence by at most ``tol`` times its value.
    W : ndarray, shape (n_template_frames, n_freq, n_components), optional
        Initial templates (not modified); default random.
    random_state : None, int or numpy Generator

    Returns
    -------
    W : ndarray, shape (n_template_frames, n_freq, n_components)
        Templates, each of unit Euclidean norm over (frames, frequencies).
    H : ndarray, shape (..., n_components, n_frames)
        Activations (onsets of each template).
    info : dict
        ``"objective"`` (KL divergence before the first and after each iteration),
        ``"n_iter"``, ``"converged"``.

    Notes
    -----
    The model is :math:`\Lambda = \sum_{\tau=0}^{L-1} W_\tau \overset{\tau\rightarrow}{H}`,
    where :math:`\overset{\tau\rightarrow}{H}` shifts the columns of :math:`H` right by
    :math:`\tau` frames (zeros enter), so one activation starts a whole template (Smaragdis
    2004).  With :math:`R = V / \Lambda`, the multiplicative updates

    .. math::

        W_\tau \leftarrow W_\tau \odot
            \frac{R\, (\overset{\tau\rightarrow}{H})^T}
                 {\mathbf 1\, (\overset{\tau\rightarrow}{H})^T},
        \qquad
        H \leftarrow H \odot
            \frac{\sum_\tau W_\tau^T \overset{\leftarrow\tau}{R}}
                 {\sum_\tau W_\tau^T \overset{\leftarrow\tau}{\mathbf 1}}

    (:math:`\overset{\leftarrow\tau}{X}` shifts left) are majorisation-minimisation steps
    for the KL divergence (as for NMF, Lee & Seung 2000): it never increases.  After each W
    update the templates are scaled to unit norm and the scale moved into :math:`H`.
    Entries of :math:`\Lambda` below ``1e-9 * max(V)`` count as that floor.

    References
    ----------
    .. [1] P. Smaragdis, "Non-negative matrix factor deconvolution; extraction of multiple
       sound sources from monophonic inputs", ICA 2004.

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> rng = np.random.default_rng(0)
    >>> V = rng.random((20, 50))
    >>> W, H, info = ds.nmfd(V, 2, 4, max_iter=50, tol=0, random_state=0)
    >>> W.shape, H.shape, bool(np.all(np.diff(info["objective"]) <= 1e-9))
    ((4, 20, 2), (2, 50), True)
    """
    V = check_nonnegative_array(V, "V", min_ndim=2)
    k = check_positive_int(n_components, "n_components")
    n_tau = check_positive_int(n_template_frames, "n_template_frames")
    max_iter = check_positive_int(max_iter, "max_iter")
    tol = check_nonnegative_float(tol, "tol")
    F, T = V.shape[-2:]
    lead = V.shape[:-2]
    V = V.astype(np.float64)
    if W is not None:
        W = check_nonnegative_array(W, "W", min_ndim=3)
        if W.shape != (n_tau, F, k):
            raise ParameterError(f"W={describe(W)}: must have shape (n_template_frames, "
                                 f"n_freq, n_components) = {(n_tau, F, k)}")
    rng = _rng_of(random_state)
    scale = np.sqrt(max(float(V.mean()), 1e-300) / (k * n_tau))
    W = (scale * np.abs(rng.standard_normal((n_tau, F, k))) if W is None
         else np.array(W, dtype=np.float64))
    H = scale * np.abs(rng.standard_normal(lead + (k, T)))
    floor = _floor_of(V.reshape(F, -1)) if V.size else 1.0
    L = np.empty_like(V)
    objective, n_iter, converged = [], 0, False

    def ratio():
        _nmfd_approx(W, H, L)
        np.maximum(L, floor, out=L)
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.where(V > 0, V * np.log(np.where(V > 0, V, 1.0) / L), 0.0)
        div = float((logs - V + L).sum())
        return V / L, div

    with np.errstate(under="ignore"):
        R, div = ratio()
        objective.append(div)
        while n_iter < max_iter:
            # W update, one shift at a time (channels / items pooled)
            for tau in range(min(n_tau, T)):
                # H shifted right by tau is aligned with frames tau..T
                Hs = H[..., :T - tau].reshape(-1, k, T - tau)
                num = np.einsum("cft,ckt->fk", R[..., tau:].reshape(-1, F, T - tau), Hs)
                den = Hs.sum(axis=(0, 2))[None, :]
                W[tau] *= np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
            norms = np.sqrt(np.square(W).sum(axis=(0, 1)))
            ok = norms > 0
            W[:, :, ok] /= norms[ok]
            H[..., ok, :] *= norms[ok, None]
            R, _ = ratio()
            num = np.zeros_like(H)
            den = np.zeros((k, T))
            colsum = W.sum(axis=1)  # (L, K)
            for tau in range(min(n_tau, T)):
                num[..., :T - tau] += np.matmul(W[tau].T, R[..., tau:])
                den[:, :T - tau] += colsum[tau][:, None]
            H *= np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
            R, div = ratio()
            objective.append(div)
            n_iter += 1
            prev = objective[-2]
            if prev - div <= tol * abs(prev):
                converged = True
                break
    if not converged and tol > 0:
        warnings.warn(f"nmfd stopped at max_iter={max_iter} before the objective's relative "
                      f"decrease fell below tol={tol:g}", ConvergenceWarning, stacklevel=2)
    return W, H, {"objective": np.asarray(objective), "n_iter": n_iter,
                  "converged": converged}


def nmfd_models(S, n_sources, n_template_frames=8, *, max_iter=200, tol=1e-4,
                random_state=None):
    r"""Source models from NMFD: one source per spectro-temporal template.

    Parameters
    ----------
    S : ndarray, shape (..., n_freq, n_frames), non-negative
        Mixture magnitude spectrogram; ``(..., n_channels, n_freq, n_frames)``: the channels
        of an item share the templates.
    n_sources, n_template_frames, max_iter, tol, random_state
        As in :func:`nmfd` (``n_components = n_sources``).

    Returns
    -------
    list of ndarray, each shaped like ``S``
        :math:`\sum_\tau W_{\tau,:,k} \overset{\tau\rightarrow}{H_k}` for each template, by
        increasing spectral centroid of the template.

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate.separators.nmf import nmfd_models
    >>> S = np.random.default_rng(0).random((16, 30))
    >>> [m.shape for m in nmfd_models(S, 2, 3, max_iter=20, tol=0, random_state=0)]
    [(16, 30), (16, 30)]
    """
    items, _ = _items(S)
    rng = _rng_of(random_state)
    out = [np.zeros_like(items) for _ in range(n_sources)]
    freqs = np.arange(items.shape[-2], dtype=np.float64)
    for i, item in enumerate(items):
        top = float(item.max())
        if not top > 0:
            continue
        W, H, _ = nmfd(item / top, n_sources, n_template_frames, max_iter=max_iter, tol=tol,
                       random_state=rng)
        energy = W.sum(axis=0)  # (F, K)
        centroid = (freqs @ energy) / np.maximum(energy.sum(axis=0), 1e-300)
        for j, kk in enumerate(np.argsort(centroid, kind="stable")):
            model = _nmfd_approx(W[:, :, kk:kk + 1], H[..., kk:kk + 1, :],
                                 np.empty(item.shape))
            out[j][i] = model * top
    return [o.reshape(S.shape) for o in out]


class NMFD(Separator):
    r"""NMF deconvolution: sources made of repeated spectro-temporal events (drums).

    Each source is one template of ``n_template_frames`` frames (a kick, a snare, a hi-hat
    stroke) and its activations, the times it is struck (:func:`nmfd`, Smaragdis 2004);
    the models :math:`\sum_\tau W_\tau \overset{\tau\rightarrow}{H}` per template make soft
    masks.  Channels share the templates.

    Sources: ``source_0``, ``source_1``, ... by increasing spectral centroid.

    Parameters
    ----------
    n_sources : int, default 3
        Templates (drum instruments).
    n_template_frames : int, default 8
        Length of each template in frames (8 frames of 512 samples: 93 ms at 44.1 kHz).
    max_iter : int, default 100
    tol : float, default 1e-4
    power : float, default 1.0
        Soft-mask exponent.
    mask : {"soft", "binary"}, default "soft"
    random_state : None or int, default None
        Seeds the initial templates and activations.
    stft : STFT or dict, optional
        Default ``STFT(n_fft=2048, hop_length=512)``.
    wiener_iterations : int, default 0

    References
    ----------
    .. [1] P. Smaragdis, "Non-negative matrix factor deconvolution; extraction of multiple
       sound sources from monophonic inputs", ICA 2004.

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> y = np.random.default_rng(0).standard_normal(8000) * 0.1
    >>> result = ds.NMFD(n_sources=2, random_state=0, max_iter=20).separate(y, 8000)
    >>> result.names
    ('source_0', 'source_1')
    """

    name = "nmfd"
    summary = "NMF deconvolution, one spectro-temporal template per drum (Smaragdis 2004)"
    tags = Tags(kind="mask", n_sources="parameter")
    param_choices = {"mask": MASK_TYPES}

    def __init__(self, n_sources=3, n_template_frames=8, max_iter=100, tol=1e-4, power=1.0,
                 mask="soft", random_state=None, stft=None, wiener_iterations=0):
        self.n_sources = n_sources
        self.n_template_frames = n_template_frames
        self.max_iter = max_iter
        self.tol = tol
        self.power = power
        self.mask = mask
        self.random_state = random_state
        self.stft = stft
        self.wiener_iterations = wiener_iterations

    def _validate_params(self):
        check_positive_int(self.n_sources, "n_sources")
        check_positive_int(self.n_template_frames, "n_template_frames")
        check_positive_int(self.max_iter, "max_iter")
        check_nonnegative_float(self.tol, "tol")
        _check_power(self.power)
        check_choice(self.mask, "mask", MASK_TYPES)
        _rng_of(self.random_state)
        check_nonnegative_int(self.wiener_iterations, "wiener_iterations")

    def _estimate(self, X, *, y=None, sr, stft, **kwargs):
        if kwargs:
            raise ParameterError(f"{sorted(kwargs)}: NMFD.separate takes no extra arguments")
        with np.errstate(under="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            models = nmfd_models(np.abs(X).astype(np.float64), int(self.n_sources),
                                 int(self.n_template_frames), max_iter=int(self.max_iter),
                                 tol=float(self.tol), random_state=self.random_state)
            real = np.float32 if X.dtype == np.complex64 else np.float64
            models = _flush_tiny([m.astype(real) for m in models], self.mask,
                                 float(self.power))
        return Models(dict(zip(self.source_names(), models)), mask=self.mask,
                      power=self.power, wiener_iterations=self.wiener_iterations)
