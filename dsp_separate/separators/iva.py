r"""The IVA family: auxiliary-function independent vector analysis (AuxIVA) and ILRMA.

A convolutive mixture of :math:`K` sources at :math:`M` microphones is, per STFT bin, an
instantaneous mixture :math:`x_{ft} = A_f s_{ft}`.  Both methods find demixing matrices
:math:`W_f` (row :math:`k` is :math:`w_{kf}^H`) so that :math:`y_{kft} = w_{kf}^H x_{ft}`
are independent, with a source model that ties the bins of one source together (so that the
per-bin permutation problem of frequency-domain ICA does not arise).  They minimise the
negative log-likelihood

.. math::

    J(W) = \frac{1}{T}\sum_{k,t} G_k(y_{k\cdot t}) - c\sum_f \log|\det W_f|

by majorisation-minimisation: the source model gives a weighted covariance per source and
bin, :math:`V_{kf} = \frac{1}{T}\sum_t \varphi_{kft}\, x_{ft}x_{ft}^H`, and each
:math:`w_{kf}` is updated in closed form (iterative projection, IP) or all rows at once by a
rank-1 update per source (iterative source steering, ISS).

* :func:`auxiva` / :class:`AuxIVA` (Ono 2011; ISS: Scheibler & Ono 2020): a spherical
  source model shared by all bins — Laplace, :math:`G(r) = r` with :math:`r_{kt} =
  \lVert y_{k\cdot t}\rVert_2` (weights :math:`\varphi = 1/r`), or time-varying Gauss,
  :math:`G(r) = F\log r` (weights :math:`\varphi = 1/\lambda_{kt}`,
  :math:`\lambda_{kt} = r_{kt}^2 / F`); :math:`c = 1`.
* :func:`ilrma` / :class:`ILRMA` (Kitamura, Ono, Sawada, Kameoka & Saruwatari 2016): a
  low-rank (NMF) variance per source, :math:`y_{kft} \sim \mathcal{N}_c(0, r_{kft})`,
  :math:`r_{kft} = \sum_l t_{kfl} v_{klt}`, updated by IS-NMF majorisation steps;
  :math:`c = 2`, weights :math:`\varphi_{kft} = 1 / r_{kft}`.

Robustness (what the reference implementations lack): the mixture STFT is scaled to unit
mean power before iterating (and the scale given back afterwards), every weighted covariance
is regularised by a fixed ridge :math:`\delta_f I` (stated in each function), and the
source model has a floor, so that band-limited sources, silent sources or channels, digital
silence and DC give finite output; nothing is ever added to the input.  The separators refuse
a rank-deficient mixture (identical, proportional or silent channels) with a
:class:`~dsp_separate.exceptions.ParameterError`, since a determined method cannot find
more sources than the mixture has independent channels.

Scale and order (``docs/separation.md``, "Blind methods"): every source is returned as its
image at every channel (projection back through :math:`W_f^{-1}`,
:func:`dsp_separate._bss.images_from_demixing`), so the images sum to the mixture in the
determined case.  Initialisation is deterministic (:math:`W_f = I`), so source ``k`` is the
one steered from channel ``k``'s start; ILRMA's NMF initialisation is drawn from
``random_state``.

With more channels than sources (``n_sources < n_channels``) both methods first reduce each
bin to its ``n_sources`` principal components (PCA, whitened), separate those, and project
the sources back onto every channel; the images then sum to the mixture's projection on
that subspace.  Fewer channels than sources is a ``ParameterError``.

References
----------
.. [1] N. Ono, "Stable and fast update rules for independent vector analysis based on
   auxiliary function technique", IEEE WASPAA 2011, pp. 189-192.
.. [2] R. Scheibler and N. Ono, "Fast and stable blind source separation with rank-1
   updates", IEEE ICASSP 2020, pp. 236-240.
.. [3] D. Kitamura, N. Ono, H. Sawada, H. Kameoka and H. Saruwatari, "Determined blind
   source separation unifying independent vector analysis and nonnegative matrix
   factorization", IEEE/ACM TASLP 24(9), 2016, pp. 1626-1641.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._bss import callback_for_item, images_from_demixing, stop_requested
from .._kernels import iva as _k
from .._validation import (
    check_choice,
    check_positive_float,
    check_positive_int,
    check_stft_matrix,
    describe,
)
from ..base import Images, Separator, Tags
from ..exceptions import ParameterError

__all__ = ["auxiva", "ilrma", "AuxIVA", "ILRMA", "check_mixture_rank"]

UPDATES = ("ip", "iss")
MODELS = ("laplace", "gauss")

#: Floor of AuxIVA's source model (r or lambda), relative to its mean at initialisation.
R_FLOOR = 1e-6
#: Floor of ILRMA's NMF variance, relative to the unit mean power the normalisation fixes.
ILRMA_FLOOR = 1e-10
#: ILRMA's scale normalisation divides no source by less than this x the loudest one's.
LAM_FLOOR = 1e-4
#: Per-bin ridge: a bin's regulariser also gets this fraction of the mean bin's power.
BIN_FLOOR = 1e-3
#: Relative eigenvalue below which the channels count as linearly dependent.
RANK_TOL = 1e-9


# ---------------------------------------------------------------------------- validation
def _check_eps(eps):
    return check_positive_float(eps, "eps")


def _check_n_sources(n_sources, n_channels=None):
    if n_sources is None:
        return n_channels
    if isinstance(n_sources, bool) or not isinstance(n_sources, numbers.Integral) \
            or n_sources < 1:
        raise ParameterError(f"n_sources={describe(n_sources)}: must be None (one source per "
                             "channel) or a positive integer")
    if n_channels is not None and n_sources > n_channels:
        raise ParameterError(
            f"n_sources={n_sources}: more sources than the {n_channels} channels; the IVA "
            "family is determined (or overdetermined): it needs at least as many channels "
            "as sources")
    return int(n_sources)


def _check_callback(callback):
    if callback is not None and not callable(callback):
        raise ParameterError(f"callback={describe(callback)}: must be None or a callable "
                             "callback(iteration, state)")
    return callback


def _check_mixture_stft(X, n_sources):
    X = check_stft_matrix(X, "X", min_ndim=3)
    if X.ndim != 3:
        raise ParameterError(f"X: has shape {X.shape}; give one mixture STFT "
                             "(n_channels, n_freq, n_frames)")
    M = X.shape[0]
    if M < 2:
        raise ParameterError(f"X: has {M} channel; the IVA family needs at least 2 channels")
    return X, _check_n_sources(n_sources, M)


def check_mixture_rank(y: np.ndarray, n_sources: int, method: str = "the method") -> None:
    r"""Refuse a mixture whose channels cannot hold ``n_sources`` independent sources.

    The rank is that of the channels' correlation matrix, computed in float64 on the
    waveform with each channel's mean removed (a DC offset is not a source): eigenvalues
    below ``RANK_TOL`` (1e-9) times the largest count as zero.  A silent (or constant)
    channel, two identical channels or one channel a multiple of another make it
    rank-deficient.  A mixture that is entirely silent or constant passes (there is
    nothing to separate; the methods return silence or the constant).

    Parameters
    ----------
    y : ndarray, shape (n_channels, n_samples)
    n_sources : int
    method : str
        Named in the message.

    Raises
    ------
    ParameterError
        Saying which channels are silent, or the rank found.

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate.separators.iva import check_mixture_rank
    >>> s = np.random.default_rng(0).standard_normal((2, 1000))
    >>> check_mixture_rank(np.stack([s[0] + s[1], s[0] - s[1]]), 2)
    >>> check_mixture_rank(np.stack([s[0], s[0]]), 2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dsp_separate.exceptions.ParameterError: y: the 2 channels are linearly dependent (rank 1: ...
    """
    y64 = np.asarray(y, dtype=np.float64)
    peak = float(np.abs(y64).max()) if y64.size else 0.0
    if not peak > 0.0:
        return
    yc = y64 / peak
    yc = yc - yc.mean(axis=-1, keepdims=True)
    C = (yc @ yc.T) / yc.shape[-1]
    d = np.diag(C).copy()
    top = float(d.max())
    if not top > 0.0:
        return  # constant (DC) everywhere: nothing to separate
    M = C.shape[0]
    silent = np.flatnonzero(d <= RANK_TOL * top)
    if silent.size and M - silent.size < n_sources:
        raise ParameterError(
            f"y: channel(s) {', '.join(map(str, silent))} of {M} are silent (or constant): "
            f"a rank-deficient mixture; {method} cannot separate {n_sources} sources from "
            f"{M - silent.size} live channel(s): use n_sources <= {M - silent.size}")
    scale = np.sqrt(np.maximum(d, RANK_TOL * top))
    corr = C / scale[:, None] / scale[None, :]
    eig = np.linalg.eigvalsh(corr)
    rank = int(np.sum(eig > RANK_TOL * eig.max()))
    if rank < n_sources:
        raise ParameterError(
            f"y: the {M} channels are linearly dependent (rank {rank}: e.g. identical or "
            f"proportional channels, a dual-mono file); {method} separates at most {rank} "
            f"source(s) from them: use n_sources <= {rank} or a single-channel method")


# ---------------------------------------------------------------------------- shared steps
def _prepare(X, K):
    """Normalised (F, M', T) complex128 data for the kernels, its scale and projection.

    Returns ``Z, scale, proj``: ``Z = proj X / scale`` per bin, with ``proj`` (F, K, M) the
    whitening PCA onto the ``K`` principal components when ``K < M``, else ``None``.
    """
    M, F, T = X.shape
    Xf = np.ascontiguousarray(np.transpose(X, (1, 0, 2)), dtype=np.complex128)
    power = float(np.vdot(Xf, Xf).real) / max(Xf.size, 1)  # BLAS: no temporaries
    if power > 0.0 and np.isfinite(power) and power > np.finfo(np.float64).tiny * 1e20:
        scale = np.sqrt(power)
    else:  # silent, subnormal or underflowing input: divide by the peak first
        peak = float(np.abs(Xf).max()) if Xf.size else 0.0
        if not peak > 0.0:
            return None, 0.0, None
        Xf /= peak
        scale = peak * np.sqrt(np.mean(Xf.real ** 2 + Xf.imag ** 2))
        Xf *= peak / scale
        return _project(Xf, K, scale)
    Xf /= scale
    return _project(Xf, K, scale)


def _project(Xf, K, scale):
    F, M, T = Xf.shape
    if K == M:
        return Xf, scale, None
    C = np.einsum("fmt,fnt->fmn", Xf, Xf.conj()) / T
    evals, evecs = np.linalg.eigh(C)  # ascending
    evals = evals[:, ::-1][:, :K]
    evecs = evecs[:, :, ::-1][:, :, :K]  # (F, M, K)
    floor = max(float(evals.max()) * 1e-12, 1e-300)
    proj = np.conj(np.swapaxes(evecs, 1, 2)) / np.sqrt(np.maximum(evals, floor))[:, :, None]
    Z = np.ascontiguousarray(proj @ Xf)
    return Z, scale, np.ascontiguousarray(proj)


def _ridge(Z, eps, typical_weight):
    """Per-bin ridge delta_f = eps * w * (c_f + BIN_FLOOR * mean_f c_f), c_f the bin's mean
    channel power and w the typical source-model weight."""
    c = np.array([np.vdot(z, z).real for z in Z]) / (Z.shape[1] * Z.shape[2])
    return eps * typical_weight * (c + BIN_FLOOR * float(c.mean()))


def _finish(W, Y, scale, proj):
    """(Y (K, F, T) on the normalised scale, W (F, K, M) mapping the normalised mixture)."""
    Wout = W if proj is None else W @ proj
    return np.ascontiguousarray(np.transpose(Y, (1, 0, 2))), Wout, scale


def _identity_demixing(F, K, M):
    """Demixing matrices (F, K, M) that pass channel k to source k: the starting point."""
    W = np.zeros((F, K, M), dtype=np.complex128)
    W[:, np.arange(K), np.arange(K)] = 1.0
    return W


def _silent_result(X, K):
    M, F, T = X.shape
    return np.zeros((K, F, T), dtype=np.complex128), _identity_demixing(F, K, M), 1.0


def _public(Y, W, scale):
    """What the pure functions return: Y on the input's scale and W with Y = W X.

    With ``Z = proj X / scale`` and ``Y_n = W_n Z``: ``Y_n * scale = (W_n proj) X``, so the
    returned demixing matrices need no division by the scale (no overflow for subnormal
    input)."""
    with np.errstate(under="ignore"):
        return Y * scale, W


def _notify(callback, iteration, objective, W, proj):
    if callback is None:
        return False
    Wout = W if proj is None else W @ proj
    return stop_requested(callback(iteration, {"objective": objective, "W": Wout}))


# ---------------------------------------------------------------------------- AuxIVA
def _auxiva_objective(P, logdet, W, delta, model, r_min, F, T):
    if model == "laplace":
        r = np.sqrt(P)
        G = np.maximum(r, r_min) + (np.minimum(P, r_min * r_min) - r_min * r_min) / (2 * r_min)
    else:
        lam_min = r_min * r_min / F
        G = F * np.log(np.sqrt(np.maximum(P, r_min * r_min))) + (
            np.minimum(P, r_min * r_min) - r_min * r_min) / (2 * lam_min)
    penalty = 0.5 * float(np.sum(delta[:, None, None] * (W.real ** 2 + W.imag ** 2)))
    return float(G.sum() / T + penalty - logdet)


def _auxiva_weights(P, model, r_min, F):
    if model == "laplace":
        return 1.0 / np.maximum(np.sqrt(P), r_min)
    return F / np.maximum(P, r_min * r_min)


def _auxiva(X, K, n_iter, update, model, eps, callback):
    """Unchecked AuxIVA on one (M, F, T) STFT.

    Returns ``Y_n`` (K, F, T), ``W`` (F, K, M), ``scale`` and the objective list, with
    ``Y_n * scale = W X`` (underflow to zero is harmless here and not reported).
    """
    with np.errstate(under="ignore"):
        return _auxiva_run(X, K, n_iter, update, model, eps, callback)


def _auxiva_run(X, K, n_iter, update, model, eps, callback):
    M, F, T = X.shape
    Z, scale, proj = _prepare(X, K)
    if Z is None:
        return _silent_result(X, K) + ([],)
    W = _identity_demixing(F, K, K)
    Y = np.empty((F, K, T), dtype=np.complex128)
    P = np.empty((K, T))
    logdet = _k.demix(Z, W, Y, P, True)
    r0 = np.sqrt(P)
    if model == "laplace":
        r_min = R_FLOOR * float(r0.mean())
        typical = 1.0 / float(r0.mean())
    else:
        r_min = np.sqrt(R_FLOOR) * float(np.sqrt(np.mean(P)))  # lambda floor R_FLOOR x mean
        typical = F / float(np.mean(P))
    r_min = max(r_min, 1e-300)
    delta = _ridge(Z, eps, typical)
    objective = []
    for it in range(1, n_iter + 1):
        # C-contiguous like ILRMA's per-bin weights: one compiled signature for both
        phi = np.ascontiguousarray(_auxiva_weights(P, model, r_min, F)[:, None, :])
        if update == "ip":
            _k.ip_update(Z, W, phi, delta, 0.0)
        else:
            _k.iss_update(Y, W, phi, delta)
        # IP needs only P per iteration; Y is made once at the end
        stored = update == "iss" or it == n_iter
        logdet = _k.demix(Z, W, Y, P, stored)
        objective.append(_auxiva_objective(P, logdet, W, delta, model, r_min, F, T))
        if _notify(callback, it, objective[-1], W, proj):
            if not stored:
                _k.demix(Z, W, Y, P, True)
            break
    return _finish(W, Y, scale, proj) + (objective,)


def auxiva(X: np.ndarray, n_iter: int = 50, update: str = "ip", source_model: str = "gauss",
           *,
           n_sources: int | None = None, eps: float = 1e-6, callback=None):
    r"""Auxiliary-function independent vector analysis (AuxIVA) of one multichannel STFT.

    Minimises, over the demixing matrices :math:`W_f` (rows :math:`w_{kf}^H`),

    .. math::

        J(W) = \frac{1}{T}\sum_{k,t} G(r_{kt}) - \sum_f \log|\det W_f|
        + \sum_{f,k} \frac{\delta_f}{2}\lVert w_{kf}\rVert^2,\qquad
        r_{kt} = \Big(\sum_f |w_{kf}^H x_{ft}|^2\Big)^{1/2}

    with a spherical source model: ``"laplace"`` :math:`G(r) = r`, or ``"gauss"`` (time-varying
    variance :math:`\lambda_{kt} = r_{kt}^2/F`) :math:`G(r) = F \log r`, each made quadratic
    below a floor :math:`r_{min}` (a Huber-like :math:`G`, so that silent frames get a
    bounded weight :math:`\varphi(r) = G'(r)/r = 1/\max(r, r_{min})`, resp.
    :math:`F/\max(r^2, r_{min}^2)`).  Each iteration computes the weights from the current
    :math:`r`, the weighted covariances

    .. math:: V_{kf} = \frac{1}{T}\sum_t \varphi(r_{kt})\, x_{ft} x_{ft}^H + \delta_f I

    and updates, per bin and source in order, by iterative projection (Ono 2011, eq. 16-17)

    .. math:: u = (W_f V_{kf})^{-1} e_k,\qquad w_{kf} = u / \sqrt{u^H V_{kf} u}

    or by iterative source steering (Scheibler & Ono 2020, eq. 9-10): for each :math:`k`,
    :math:`W_f \leftarrow W_f - v\, w_{kf}^H` with

    .. math::

        v_m = \frac{w_{mf}^H V_{mf} w_{kf}}{w_{kf}^H V_{mf} w_{kf}}\ (m \ne k),\qquad
        v_k = 1 - (w_{kf}^H V_{kf} w_{kf})^{-1/2}.

    Both are majorisation-minimisation steps of :math:`J`, which therefore does not increase
    (up to rounding).  :math:`W_f = I` at the start.  This function does not check the
    mixture's rank (the :class:`AuxIVA` separator does, :func:`check_mixture_rank`): on
    linearly dependent channels it returns finite but meaningless sources.

    Regularisation (fixed before the first iteration): the mixture is scaled to unit mean
    power; :math:`\delta_f = \varepsilon\, \bar\varphi\,(c_f + 10^{-3}\,\bar c)`, with
    :math:`c_f` the mean channel power of bin :math:`f`, :math:`\bar c` its mean over bins
    and :math:`\bar\varphi` the typical weight (:math:`1/\bar r`, resp.
    :math:`1/\bar\lambda`, at :math:`W = I`); :math:`r_{min} = 10^{-6}\,\bar r` (Laplace) or
    :math:`\lambda_{min} = 10^{-6}\,\bar\lambda` (Gauss).  The ridge is the
    :math:`\delta_f` term of :math:`J`, so the monotonicity holds for the objective
    reported.

    Parameters
    ----------
    X : ndarray, shape (n_channels, n_freq, n_frames), complex
        Mixture STFT, ``n_channels >= 2``.  Not modified.
    n_iter : int, default 50
        Iterations.
    update : {"ip", "iss"}, default "ip"
        Iterative projection (one M x M solve per source and bin) or iterative source
        steering (no solve; rank-1 updates).
    source_model : {"gauss", "laplace"}, default "gauss"
        Time-varying Gauss or spherical Laplace source model.  Gauss is the default because
        it measured better on the dev corpus with the same STFT (median SDR 8.4 against
        7.2 dB on ``mc_convolutive``, 17.4 against 0.4 dB on ``mc_instantaneous``, where
        pyroomacoustics' Laplace AuxIVA gives the same as ours on the same STFT).
    n_sources : int, optional
        Default: one per channel.  Fewer: each bin is first reduced to its ``n_sources``
        principal components (whitening PCA), and ``W`` maps the channels to the sources.
    eps : float, default 1e-6
        Relative size of the ridge :math:`\delta_f`.
    callback : callable, optional
        ``callback(iteration, state)`` after every iteration (``iteration`` = 1, 2, ...),
        ``state = {"objective": float, "W": (n_freq, n_sources, n_channels) array}``;
        returning True stops the iterations.

    Returns
    -------
    Y : ndarray, shape (n_sources, n_freq, n_frames), complex128
        Demixed signals, :math:`y_{kft} = \sum_m W[f, k, m]\, x_{mft}` (arbitrary scale per
        bin: use :func:`dsp_separate._bss.images_from_demixing` or the :class:`AuxIVA`
        separator for source images).
    W : ndarray, shape (n_freq, n_sources, n_channels), complex128
        Demixing matrices for ``X`` as given.
    info : dict
        ``"objective"``: :math:`J` after each iteration (list of float; empty for a silent
        mixture, which returns zeros); ``"n_iter"``: iterations run; ``"converged"``:
        ``None`` (no tolerance: the iterations run ``n_iter`` times or until the callback
        stops them).

    References
    ----------
    .. [1] N. Ono, "Stable and fast update rules for independent vector analysis based on
       auxiliary function technique", IEEE WASPAA 2011.
    .. [2] R. Scheibler and N. Ono, "Fast and stable blind source separation with rank-1
       updates", IEEE ICASSP 2020.

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> from dsp_separate.separators.iva import auxiva
    >>> rng = np.random.default_rng(0)
    >>> s = rng.laplace(size=(2, 16000)) * np.abs(np.sin(np.arange(16000) / [[900], [1300]]))
    >>> x = np.stack([s[0] + 0.6 * s[1], 0.5 * s[0] + s[1]])
    >>> X = ds.STFT(512, 128).forward(x)
    >>> Y, W, info = auxiva(X, n_iter=20)
    >>> Y.shape, W.shape, len(info["objective"])
    ((2, 257, 126), (257, 2, 2), 20)
    >>> bool(np.all(np.diff(info["objective"]) <= 1e-9 * np.abs(info["objective"][0])))
    True
    """
    X, K = _check_mixture_stft(X, n_sources)
    n_iter = check_positive_int(n_iter, "n_iter")
    update = check_choice(update, "update", UPDATES)
    model = check_choice(source_model, "source_model", MODELS)
    eps = _check_eps(eps)
    callback = _check_callback(callback)
    Y, W, scale, objective = _auxiva(X, K, n_iter, update, model, eps, callback)
    Y, W = _public(Y, W, scale)
    return Y, W, {"objective": objective, "n_iter": len(objective), "converged": None}


# ---------------------------------------------------------------------------- ILRMA
def _ilrma(X, K, n_components, n_iter, eps, rng, callback):
    """Unchecked ILRMA on one (M, F, T) STFT; returns as ``_auxiva``."""
    with np.errstate(under="ignore"):
        return _ilrma_run(X, K, n_components, n_iter, eps, rng, callback)


def _ilrma_run(X, K, n_components, n_iter, eps, rng, callback):
    M, F, T = X.shape
    Z, scale, proj = _prepare(X, K)
    if Z is None:
        return _silent_result(X, K) + ([],)
    W = _identity_demixing(F, K, K)
    Y = np.empty((F, K, T), dtype=np.complex128)
    P = np.empty((K, T))
    Tb = rng.uniform(0.1, 1.0, size=(K, F, n_components))
    Vb = rng.uniform(0.1, 1.0, size=(K, n_components, T))
    Rinv = np.empty((K, F, T))
    logdet = _k.demix(Z, W, Y, P, True)
    base = _ridge(Z, eps, 1.0)  # (F,) from the mixture covariance, as AuxIVA's
    Zpow = np.einsum("fmt,fmt->ft", Z, Z.conj()).real  # sum_m |z_mft|^2
    C = np.einsum("fmt,fnt->fmn", Z, Z.conj()) / T  # mixture covariance per bin (IV-D)
    ones = np.ones(F)
    D = None  # (K, F) ridge delta_kf, fixed after the first NMF step (see ilrma())
    objective = []
    pending = None  # (log-determinant, ridge penalty) after the previous iteration
    stopped = False
    for it in range(1, n_iter + 1):
        # the NMF step's first pass gives the cost of the state the last iteration left,
        # so the objective of iteration it - 1 is known here without a pass of its own
        cost = _k.ilrma_nmf(Y, Tb, Vb, Rinv, ILRMA_FLOOR, True)
        if pending is not None:
            objective.append(float(cost / T - 2.0 * pending[0] + pending[1]))
            if _notify(callback, it - 1, objective[-1], W, proj):
                stopped = True  # W, Y are those of iteration it - 1
                break
        if D is None:
            # eps tr(U_kf)/M of the first model (the weights 1/r span many decades, so the
            # ridge follows the weighted covariance's own size) plus the mixture's ridge
            D = eps * np.einsum("kft,ft->kf", Rinv, Zpow) / (T * M) + base[None, :]
        # IP with U_kf + D_kf I: the kernel takes one ridge per bin, so it gets the weights
        # 1/(r D_kf) and ridge 1, i.e. V/D_kf, whose IP solution is sqrt(D_kf) w_kf (the
        # normalised IP row does not depend on the other rows' scales)
        Rinv /= D[:, :, None]
        _k.ip_update(Z, W, Rinv, ones, 0.0)
        W /= np.sqrt(D.T)[:, :, None]
        # Kitamura et al. 2016, sec. IV-D: unit mean power per source, model rescaled with
        # it; the power of y_k is (1/F) sum_f w_kf^H C_f w_kf, so W is scaled before y is made
        # (a quadratic form of a PSD matrix: clipped at 0 against rounding)
        lam = np.sqrt(np.maximum(np.einsum("fkm,fmn,fkn->k", W, C, W.conj()).real / F, 0.0))
        # a (nearly) silent source (below LAM_FLOOR x the loudest) is not rescaled at all:
        # blown up to unit power it would make W_f ill-conditioned, and its model sits on
        # the floor of r, where the rescaling below would not leave J unchanged
        top = float(lam.max())
        lam = np.where(lam >= LAM_FLOOR * top, lam, 1.0) if top > 0.0 else np.ones_like(lam)
        W /= lam[None, :, None]
        Tb /= (lam * lam)[:, None, None]
        # (W, T, D) -> (W / lam, T / lam^2, D lam^2) leaves J unchanged, ridge term included:
        # the normalised run is the unnormalised one with a fixed ridge, in other units
        D *= (lam * lam)[:, None]
        logdet = _k.demix(Z, W, Y, P, True)
        pending = (logdet, float(np.sum(D.T[:, :, None] * (W.real ** 2 + W.imag ** 2))))
    if not stopped and pending is not None:
        cost = _k.ilrma_nmf(Y, Tb, Vb, Rinv, ILRMA_FLOOR, False)
        objective.append(float(cost / T - 2.0 * pending[0] + pending[1]))
        _notify(callback, n_iter, objective[-1], W, proj)
    return _finish(W, Y, scale, proj) + (objective,)


def _rng(random_state):
    if random_state is None or isinstance(random_state, (numbers.Integral, np.random.Generator,
                                                         np.random.SeedSequence)):
        if isinstance(random_state, bool):
            raise ParameterError(f"random_state={random_state!r}: must be None, an integer or "
                                 "a numpy Generator")
        return np.random.default_rng(random_state)
    raise ParameterError(f"random_state={describe(random_state)}: must be None, an integer "
                         "or a numpy Generator")


def ilrma(X: np.ndarray, n_components: int = 2, n_iter: int = 100, *,
          n_sources: int | None = None, eps: float = 1e-6, random_state=0, callback=None):
    r"""Independent low-rank matrix analysis (ILRMA) of one multichannel STFT.

    Each source is a zero-mean complex Gaussian with an NMF variance,
    :math:`y_{kft} = w_{kf}^H x_{ft} \sim \mathcal{N}_c(0, r_{kft})`,
    :math:`r_{kft} = \sum_{l=1}^{L} t_{kfl} v_{klt}` (:math:`L` = ``n_components``), and
    ILRMA minimises the negative log-likelihood (Kitamura et al. 2016, eq. 19)

    .. math::

        J = \frac{1}{T}\sum_{k,f,t}\Big(\frac{|y_{kft}|^2}{r_{kft}} + \log r_{kft}\Big)
        - 2\sum_f \log|\det W_f| + \sum_{f,k}\delta_f \lVert w_{kf}\rVert^2 .

    Each iteration: (1) for each source, one IS-NMF majorisation step on
    :math:`p_{kft} = |y_{kft}|^2` (eq. 34-35),

    .. math::

        t_{kfl} \leftarrow t_{kfl}\sqrt{\frac{\sum_t p_{kft} v_{klt} r_{kft}^{-2}}
        {\sum_t v_{klt} r_{kft}^{-1}}},\qquad
        v_{klt} \leftarrow v_{klt}\sqrt{\frac{\sum_f p_{kft} t_{kfl} r_{kft}^{-2}}
        {\sum_f t_{kfl} r_{kft}^{-1}}};

    (2) iterative projection with :math:`U_{kf} = \frac{1}{T}\sum_t x_{ft}x_{ft}^H /
    r_{kft} + \delta_f I`: :math:`u = (W_f U_{kf})^{-1} e_k`, :math:`w_{kf} = u/\sqrt{u^H
    U_{kf} u}` (eq. 27-28); (3) :math:`y = W x`; (4) the scale normalisation of sec. IV-D,
    :math:`\lambda_k = (\frac{1}{FT}\sum_{f,t}|y_{kft}|^2)^{1/2}`, :math:`w_{kf} \leftarrow
    w_{kf}/\lambda_k`, :math:`y_k \leftarrow y_k/\lambda_k`, :math:`t_{kfl} \leftarrow
    t_{kfl}/\lambda_k^2` (which leaves the likelihood unchanged), except that a source with
    :math:`\lambda_k < 10^{-4} \max_j \lambda_j` is not rescaled (:math:`\lambda_k = 1`), so
    that a silent source is not blown up.

    Regularisation: the mixture is scaled to unit mean power; :math:`r_{kft}` is floored at
    :math:`10^{-10}` (the normalisation keeps each source at unit mean power), and
    :math:`U_{kf}` gets a ridge :math:`\delta_{kf} I` fixed for the whole run,
    :math:`\delta_{kf} = \varepsilon\,(c_f + 10^{-3}\,\bar c) + \varepsilon
    \operatorname{tr}(U^{(1)}_{kf})/M` (:math:`c_f` the bin's mean channel power,
    :math:`\bar c` its mean over bins, :math:`U^{(1)}_{kf}` the weighted covariance of the
    first NMF model: the weights :math:`1/r` span many decades, so the ridge follows the
    covariance's own size, and its condition number starts below about :math:`M/\varepsilon`).
    The ridge is the :math:`\delta` term of :math:`J` (with :math:`\delta_{kf}` in place of
    :math:`\delta_f`), and the scale normalisation maps :math:`(w_{kf}, t_{kfl},
    \delta_{kf}) \to (w_{kf}/\lambda_k, t_{kfl}/\lambda_k^2, \lambda_k^2\delta_{kf})`, which
    leaves :math:`J` unchanged, ridge term included (it is the unnormalised run with a fixed
    ridge, in other units).  Every step is then a majorisation-minimisation step or an exact
    reparametrisation, so the reported :math:`J` does not increase (to float rounding).

    Parameters
    ----------
    X : ndarray, shape (n_channels, n_freq, n_frames), complex
        Mixture STFT, ``n_channels >= 2``.  Not modified.
    n_components : int, default 2
        NMF bases per source (the paper's :math:`L`).
    n_iter : int, default 100
    n_sources : int, optional
        Default: one per channel; fewer: PCA reduction first (as :func:`auxiva`).
    eps : float, default 1e-6
        Relative size of the ridge :math:`\delta_{kf}`.
    random_state : None, int or numpy.random.Generator, default 0
        Seeds the NMF initialisation (uniform in [0.1, 1)); :math:`W_f = I` at the start.
    callback : callable, optional
        ``callback(iteration, state)`` after every iteration, ``state = {"objective",
        "W"}``; returning True stops the iterations.

    Returns
    -------
    Y : ndarray, shape (n_sources, n_freq, n_frames), complex128
    W : ndarray, shape (n_freq, n_sources, n_channels), complex128
    info : dict
        ``"objective"`` (:math:`J` after each iteration), ``"n_iter"`` and ``"converged"``
        (``None``: no tolerance, as :func:`auxiva`).

    References
    ----------
    .. [1] D. Kitamura, N. Ono, H. Sawada, H. Kameoka and H. Saruwatari, "Determined blind
       source separation unifying independent vector analysis and nonnegative matrix
       factorization", IEEE/ACM TASLP 24(9), 2016.

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> from dsp_separate.separators.iva import ilrma
    >>> rng = np.random.default_rng(0)
    >>> s = rng.laplace(size=(2, 16000)) * np.abs(np.sin(np.arange(16000) / [[900], [1300]]))
    >>> X = ds.STFT(512, 128).forward(np.stack([s[0] + 0.6 * s[1], 0.5 * s[0] + s[1]]))
    >>> Y, W, info = ilrma(X, n_iter=10)
    >>> Y.shape, info["n_iter"]
    ((2, 257, 126), 10)
    """
    X, K = _check_mixture_stft(X, n_sources)
    n_components = check_positive_int(n_components, "n_components")
    n_iter = check_positive_int(n_iter, "n_iter")
    eps = _check_eps(eps)
    rng = _rng(random_state)
    callback = _check_callback(callback)
    Y, W, scale, objective = _ilrma(X, K, n_components, n_iter, eps, rng, callback)
    Y, W = _public(Y, W, scale)
    return Y, W, {"objective": objective, "n_iter": len(objective), "converged": None}


# ---------------------------------------------------------------------------- separators
class _IVABase(Separator):
    tags = Tags(kind="filter", n_sources="parameter", min_channels=2, streaming="offline")

    def source_names(self, n_channels=None, references=None):
        if self.n_sources is None:
            if n_channels is None:
                raise ParameterError(f"n_channels=None: {type(self).__name__} with "
                                     "n_sources=None has one source per channel; give the "
                                     "channel count")
            return tuple(f"source_{i}" for i in range(int(n_channels)))
        return tuple(f"source_{i}" for i in range(int(self.n_sources)))

    def _transform(self, sr=None):
        """Default transform: a window of about 256 ms (``n_fft`` the nearest power of two
        to 0.256 s, hop a quarter of it): 4096 / 1024 at 16 kHz, 2048 / 512 at 8 kHz.

        Reverberant rooms need a window longer than the important part of the impulse
        responses for the per-bin instantaneous model to hold; on the dev corpus's
        convolutive task (RT60 0.3-0.4 s, 16 kHz) 4096 / 1024 gave AuxIVA (Laplace) 7.2 dB
        and ILRMA 9.9 dB median SDR against 5.3 and 6.5 dB with 2048 / 512
        (``benchmarks/RESULTS.md``; the default Gauss AuxIVA: 8.4 dB).
        """
        if self.stft is None and sr is not None:
            from .._stft import STFT

            n_fft = int(2 ** round(np.log2(0.256 * sr)))
            n_fft = max(n_fft, 16)
            return STFT(n_fft=n_fft, hop_length=n_fft // 4)
        return super()._transform(sr)

    def _validate_common(self):
        _check_n_sources(self.n_sources)
        check_positive_int(self.n_iter, "n_iter")
        _check_eps(self.eps)
        _check_callback(self.callback)

    def _run(self, X, K, item, rng):  # pragma: no cover - overridden
        raise NotImplementedError

    def _make_rng(self):
        return None

    def _estimate(self, X, *, y, sr, stft):
        M, F, T = X.shape[-3:]
        K = _check_n_sources(self.n_sources, M)
        lead = X.shape[:-3]
        Xs = X.reshape((-1, M, F, T))
        ys = None if y is None else y.reshape((-1,) + y.shape[-2:])
        images = np.empty((K, Xs.shape[0], M, F, T), dtype=X.dtype)
        objectives, n_iters = [], []
        for i, Xi in enumerate(Xs):
            if ys is not None:
                check_mixture_rank(ys[i], K, type(self).__name__)
            # a generator per item from an integer seed, so that a batch item gives what the
            # item alone gives; a Generator passed as random_state is drawn from in order
            rng = self._make_rng()
            Y, W, scale, objective = self._run(Xi, K, i if len(Xs) > 1 else None, rng)
            with np.errstate(under="ignore"):
                images[:, i] = images_from_demixing(Y, W) * scale
            objectives.append(objective)
            n_iters.append(len(objective))
        values = {f"source_{k}": images[k].reshape(lead + (M, F, T)) for k in range(K)}
        # no tolerance: a fixed number of iterations, so "converged" is None (not known)
        info = {"objective": objectives[0] if len(Xs) == 1 else objectives,
                "n_iter": n_iters[0] if len(Xs) == 1 else n_iters,
                "converged": None if len(Xs) == 1 else [None] * len(Xs)}
        return Images(values, info=info)


class AuxIVA(_IVABase):
    r"""Auxiliary-function IVA (Ono 2011; ISS updates: Scheibler & Ono 2020).

    Sources ``source_0``, ..., ``source_{K-1}`` (``K = n_sources``, default the channel
    count), each the source's image at every channel (projection back through
    :math:`W_f^{-1}`), so that in the determined case they sum to the mixture.  The
    algorithm, its regularisation and update equations are in :func:`auxiva`.  More
    channels than sources: whitening PCA to ``n_sources`` per bin first.  A rank-deficient
    mixture (identical, proportional or silent channels) is refused
    (:func:`check_mixture_rank`).  ``result.info["objective"]`` holds :math:`J` per
    iteration (a list per item for batched input).

    Parameters
    ----------
    n_sources : int, optional
        Default: one per channel.
    n_iter : int, default 50
    update : {"ip", "iss"}, default "ip"
    source_model : {"gauss", "laplace"}, default "gauss"
        Source model (:func:`auxiva` says why Gauss is the default).
    eps : float, default 1e-6
        Relative ridge of the weighted covariances.
    stft : STFT or dict, optional
        Transform; default: a window of about 256 ms with a quarter hop (4096 / 1024 at
        16 kHz, 2048 / 512 at 8 kHz; see ``_transform``).  For reverberant rooms the window
        should be longer than the impulse responses' important part.
    callback : callable, optional
        ``callback(iteration, state)`` after every iteration (``state``: ``"objective"``,
        ``"W"``, and ``"item"`` for batched input); returning True stops early.

    References
    ----------
    .. [1] N. Ono, "Stable and fast update rules for independent vector analysis based on
       auxiliary function technique", IEEE WASPAA 2011.
    .. [2] R. Scheibler and N. Ono, "Fast and stable blind source separation with rank-1
       updates", IEEE ICASSP 2020.

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> sr = 8000
    >>> rng = np.random.default_rng(0)
    >>> s = rng.laplace(size=(2, 2 * sr)) * np.abs(np.sin(np.arange(2 * sr) / [[900], [1300]]))
    >>> y = np.stack([s[0] + 0.6 * s[1], 0.5 * s[0] + s[1]])
    >>> result = ds.AuxIVA(n_iter=20, stft={"n_fft": 512, "hop_length": 128}).separate(y, sr)
    >>> result.names
    ('source_0', 'source_1')
    >>> bool(np.allclose(result["source_0"] + result["source_1"], y, atol=1e-8))
    True
    """

    name = "auxiva"
    summary = "auxiliary-function independent vector analysis, IP or ISS updates (Ono 2011)"
    param_choices = {"update": UPDATES, "source_model": MODELS}

    def __init__(self, n_sources=None, n_iter=50, update="ip", source_model="gauss", eps=1e-6,
                 stft=None, callback=None):
        self.n_sources = n_sources
        self.n_iter = n_iter
        self.update = update
        self.source_model = source_model
        self.eps = eps
        self.stft = stft
        self.callback = callback

    def _validate_params(self):
        self._validate_common()
        check_choice(self.update, "update", UPDATES)
        check_choice(self.source_model, "source_model", MODELS)

    def _run(self, X, K, item, rng):
        return _auxiva(X, K, int(self.n_iter), self.update, self.source_model,
                       float(self.eps),
                       callback_for_item(self.callback, item))


class ILRMA(_IVABase):
    r"""Independent low-rank matrix analysis (Kitamura et al. 2016).

    Sources ``source_0``, ... as :class:`AuxIVA` (images at every channel, summing to the
    mixture in the determined case); the source model is an NMF of each source's power
    with ``n_components`` bases, updated with the demixing matrices (:func:`ilrma`).  The
    NMF initialisation is drawn from ``random_state`` (the result is the same for the same
    seed).  A rank-deficient mixture is refused (:func:`check_mixture_rank`).

    Parameters
    ----------
    n_sources : int, optional
        Default: one per channel; fewer: whitening PCA per bin first.
    n_components : int, default 2
        NMF bases per source (the paper's :math:`L`).
    n_iter : int, default 100
    eps : float, default 1e-6
        Relative ridge of the weighted covariances.
    random_state : None, int or numpy.random.Generator, default 0
    stft : STFT or dict, optional
        Transform; default: a window of about 256 ms with a quarter hop (as
        :class:`AuxIVA`).
    callback : callable, optional
        ``callback(iteration, state)`` after every iteration; returning True stops early.

    References
    ----------
    .. [1] D. Kitamura, N. Ono, H. Sawada, H. Kameoka and H. Saruwatari, "Determined blind
       source separation unifying independent vector analysis and nonnegative matrix
       factorization", IEEE/ACM TASLP 24(9), 2016.

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> sr = 8000
    >>> rng = np.random.default_rng(0)
    >>> s = rng.laplace(size=(2, 2 * sr)) * np.abs(np.sin(np.arange(2 * sr) / [[900], [1300]]))
    >>> y = np.stack([s[0] + 0.6 * s[1], 0.5 * s[0] + s[1]])
    >>> sep = ds.ILRMA(n_iter=20, stft={"n_fft": 512, "hop_length": 128})
    >>> result = sep.separate(y, sr)
    >>> len(result.info["objective"])
    20
    """

    name = "ilrma"
    summary = "independent low-rank matrix analysis: IVA with NMF source models (Kitamura 2016)"

    def __init__(self, n_sources=None, n_components=2, n_iter=100, eps=1e-6, random_state=0,
                 stft=None, callback=None):
        self.n_sources = n_sources
        self.n_components = n_components
        self.n_iter = n_iter
        self.eps = eps
        self.random_state = random_state
        self.stft = stft
        self.callback = callback

    def _validate_params(self):
        self._validate_common()
        check_positive_int(self.n_components, "n_components")
        _rng(self.random_state)

    def _make_rng(self):
        return _rng(self.random_state)

    def _run(self, X, K, item, rng):
        return _ilrma(X, K, int(self.n_components), int(self.n_iter), float(self.eps), rng,
                      callback_for_item(self.callback, item))
