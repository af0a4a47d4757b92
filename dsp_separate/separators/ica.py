r"""Independent component analysis: time-domain FastICA and frequency-domain ICA.

Both are *determined* blind methods: ``n_sources`` (at most the channel count) sources are
found by making demixed signals statistically independent, then each is returned as its
**image at every input channel** by projection back (``dsp_separate._bss``; Murata, Ikeda &
Ziehe 2001; Matsuoka 2002), so in the determined case (``n_sources == n_channels``) the
sources sum to the mixture and are at the mixture's scale.

* :class:`FastICA` (``"fastica"``) — the instantaneous model :math:`x(t) = A s(t)` on the
  waveform (a studio pan-pot mix, not a room): scikit-learn's FastICA (Hyvärinen 1999) finds
  :math:`W`, the images are the least-squares regression of the mixture on the components.
* :class:`FDICA` (``"fdica"``) — the convolutive model :math:`x_f(t) = A_f s_f(t)` per STFT
  bin: complex FastICA in every bin (Bingham & Hyvärinen 2000), then the *permutation
  problem* (each bin's sources come out in their own order) solved by clustering the bins'
  activity sequences (Sawada, Araki & Makino 2007), then projection back through
  :math:`W_f^{-1}` per bin.

More channels than sources (e.g. 4 microphones, 2 sources): both reduce the mixture to its
``n_sources`` principal components first (FastICA's whitening is that PCA; FDICA does it per
bin), so the images are those of the ``n_sources`` strongest independent directions, and
their sum is the mixture's projection onto that subspace (not the whole mixture).  Fewer
channels than sources, or a mixture of rank lower than ``n_sources`` (two identical
channels, a silent channel), is a :class:`~dsp_separate.exceptions.ParameterError`: the
determined model has no answer there (use :class:`~dsp_separate.separators.spatial.DUET` or
:class:`~dsp_separate.separators.spatial.SpatialClustering`, which are built for it).

References
----------
.. [1] A. Hyvärinen, "Fast and robust fixed-point algorithms for independent component
   analysis," IEEE Trans. Neural Networks 10(3), 1999.
.. [2] E. Bingham and A. Hyvärinen, "A fast fixed-point algorithm for independent component
   analysis of complex valued signals," Int. J. Neural Systems 10(1), 2000.
.. [3] H. Sawada, S. Araki and S. Makino, "Measuring dependence of bin-wise separated
   signals for permutation alignment in frequency-domain BSS," Proc. ISCAS, 2007.
.. [4] H. Sawada, S. Araki and S. Makino, "Underdetermined convolutive blind source
   separation via frequency bin-wise clustering and permutation alignment," IEEE TASLP
   19(3), 2011.
.. [5] N. Murata, S. Ikeda and A. Ziehe, "An approach to blind source separation based on
   temporal structure of speech signals," Neurocomputing 41, 2001.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from .._bss import (
    callback_for_item,
    images_from_demixing,
    least_squares_images,
    stop_requested,
)
from .._validation import check_choice, check_positive_float, check_positive_int, describe
from ..base import Images, Separator, SignalImages, Tags
from ..exceptions import ParameterError

__all__ = [
    "FastICA",
    "FDICA",
    "fastica_images",
    "fdica_demixing",
    "activity_sequences",
    "align_permutations",
    "RANK_TOL",
]

#: A mixture whose ``n_sources``-th principal power is below this fraction of the largest
#: (-100 dB) is rank deficient for the determined methods (ParameterError).
RANK_TOL = 1e-10


# ---------------------------------------------------------------------------- helpers
def _check_n_sources(n_sources, allow_none=True):
    if n_sources is None and allow_none:
        return None
    if isinstance(n_sources, bool) or not isinstance(n_sources, numbers.Integral) \
            or n_sources < 1:
        raise ParameterError(f"n_sources={describe(n_sources)}: must be a positive integer"
                             + (" or None (one source per channel)" if allow_none else ""))
    return int(n_sources)


def _check_random_state(random_state):
    if random_state is None or isinstance(random_state, (np.random.Generator,
                                                         np.random.RandomState)):
        return
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral) \
            or random_state < 0:
        raise ParameterError(f"random_state={describe(random_state)}: must be None, a "
                             "non-negative integer or a numpy Generator")


def _sklearn_seed(random_state):
    """scikit-learn takes None, an int or a RandomState: a Generator gives one int draw."""
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2 ** 31 - 1))
    return random_state


def _generator(random_state):
    """A numpy Generator from None, an int, a Generator (itself) or a legacy RandomState."""
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(2 ** 31 - 1))
    return np.random.default_rng(random_state)


def _resolve_sources(n_sources, n_channels, method):
    k = n_channels if n_sources is None else n_sources
    if k > n_channels:
        raise ParameterError(
            f"n_sources={k}: {method} is a determined method and needs at least as many "
            f"channels as sources (y has {n_channels}); for more sources than channels use "
            "'duet' or 'spatial_clustering'"
        )
    return k


def _check_rank(eigenvalues, k, what):
    """``eigenvalues`` descending (non-negative); raise when the k-th is negligible."""
    top = float(eigenvalues[0])
    kth = float(eigenvalues[k - 1])
    if not kth > RANK_TOL * top:
        rank = int(np.sum(eigenvalues > RANK_TOL * top))
        raise ParameterError(
            f"y: the {what} has rank {rank} (principal powers "
            f"{', '.join(f'{v / top:.2g}' for v in eigenvalues)} of the largest), fewer than "
            f"n_sources={k}: channels that are copies or multiples of each other, or a "
            "silent channel, leave a determined method nothing to separate; lower n_sources "
            "or use 'duet' / 'spatial_clustering'"
        )


def _order_by_energy(images):
    """Indices sorting images ``(K, M, ...)`` by decreasing energy (stable)."""
    energy = np.sum(np.abs(images.reshape(images.shape[0], -1)) ** 2, axis=1)
    return np.argsort(-energy, kind="stable")


# ---------------------------------------------------------------------------- FastICA
def fastica_images(y, n_sources=None, *, random_state=0, fun="logcosh", max_iter=400,
                   tol=1e-4):
    r"""Time-domain FastICA with least-squares projection back, for one ``(M, n)`` mixture.

    The instantaneous model :math:`x(t) = A s(t)`.  scikit-learn's FastICA (parallel
    fixed-point, Hyvärinen 1999) centres and whitens the mixture (``whiten="unit-variance"``:
    PCA to ``n_sources`` components, so more channels than sources is a PCA reduction) and
    finds the demixing :math:`W` (``n_sources x M``).  The components
    :math:`y = W x` (computed on the *uncentred* mixture, so a DC offset follows the demixing)
    are projected back by least squares,

    .. math::

        \hat{A} = \arg\min_A \lVert x - A y \rVert_F^2, \qquad
        \hat{x}_{k}(t) = \hat{a}_{:k}\, y_k(t),

    which is :math:`W^{-1}` in the determined case: the images sum to the mixture exactly and
    are free of ICA's scale and sign ambiguity.  The order is by decreasing image energy.

    Parameters
    ----------
    y : ndarray, shape (n_channels, n_samples), float
        The mixture (finite).  Not modified.
    n_sources : int, optional
        Number of components (default: ``n_channels``); at most ``n_channels``.
    random_state : None, int or numpy.random.Generator, default 0
        Seed of FastICA's initial demixing matrix.
    fun : {"logcosh", "exp", "cube"}, default "logcosh"
        FastICA's contrast function.
    max_iter : int, default 400
    tol : float, default 1e-4
        scikit-learn's convergence tolerance.

    Returns
    -------
    images : ndarray, shape (n_sources, n_channels, n_samples), float64
    info : dict
        ``objective`` (``None``: scikit-learn exposes none), ``n_iter`` (FastICA's
        iterations), ``converged`` (bool), ``mixing`` (the
        ``(n_channels, n_sources)`` least-squares :math:`\hat{A}` of the normalised
        components, in the returned order).

    Raises
    ------
    ParameterError
        More sources than channels, or a mixture of rank below ``n_sources``.

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate.separators.ica import fastica_images
    >>> rng = np.random.default_rng(0)
    >>> s = np.stack([np.sign(np.sin(np.arange(4000) / 7)), rng.laplace(size=4000)])
    >>> x = np.array([[1.0, 0.5], [0.3, 1.0]]) @ s
    >>> images, info = fastica_images(x)
    >>> images.shape, bool(np.allclose(images.sum(axis=0), x))
    ((2, 2, 4000), True)
    """
    from sklearn.decomposition import FastICA as _SkFastICA
    from sklearn.exceptions import ConvergenceWarning

    x = np.asarray(y, dtype=np.float64)
    m, n = x.shape
    k = _resolve_sources(n_sources, m, "FastICA")
    mean = x.mean(axis=-1, keepdims=True)
    xc = x - mean
    scale = float(np.max(np.abs(x))) if x.size else 0.0
    spread = float(np.max(np.abs(xc))) if x.size else 0.0
    if scale == 0.0 or spread <= 1e-12 * scale:
        # silence or a constant: nothing to separate; each source gets an equal share
        images = np.broadcast_to(x / k, (k, m, n)).copy()
        return images, {"objective": None, "n_iter": 0, "converged": True,
                        "mixing": np.zeros((m, k))}
    xn = x / scale
    xcn = xc / scale
    ev = np.linalg.eigvalsh(xcn @ xcn.T / n)[::-1].clip(min=0.0)
    _check_rank(ev, k, "mixture")
    ica = _SkFastICA(n_components=k, whiten="unit-variance", fun=fun, max_iter=max_iter,
                     tol=tol, random_state=_sklearn_seed(random_state),
                     # the rank check above makes the covariance's eigendecomposition safe
                     # (and faster than an SVD of the data) when no PCA reduction is needed
                     whiten_solver="eigh" if k == m else "svd")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        ica.fit(xcn.T)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    for w in caught:
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    W = ica.components_  # (k, m): y = W (x - mean)
    comps = W @ xn  # uncentred: the DC follows the demixing
    images = least_squares_images(comps, xn)  # (k, m, n)
    order = _order_by_energy(images)
    images = images[order] * scale
    # the mixing of unit-power components, for inspection
    cc = comps[order] - comps[order].mean(axis=-1, keepdims=True)
    norms = np.sqrt(np.mean(cc ** 2, axis=-1))
    mixing = np.array([[np.dot(images[j, i] - images[j, i].mean(), cc[j]) / n
                        / max(norms[j], 1e-300) for j in range(k)] for i in range(m)])
    return images, {"objective": None, "n_iter": int(ica.n_iter_), "converged": converged,
                    "mixing": mixing}


class FastICA(Separator):
    r"""Time-domain FastICA with projection back (instantaneous mixtures).

    For mixtures made by *gains only* (pan pots, a studio mix of mono tracks, the
    ``mc_instantaneous`` corpus task): :math:`x(t) = A s(t)` with a fixed
    ``n_channels x n_sources`` matrix :math:`A`.  scikit-learn's FastICA
    (``whiten="unit-variance"``, Hyvärinen 1999) finds the demixing, then each component is
    projected back onto every channel by least squares (:func:`fastica_images`), so each
    source is its image in the mixture; in the determined case the sources sum to the
    mixture.  Sources are named ``source_0``, ... in order of **decreasing image energy**
    (ties keep FastICA's order); the result is the same for the same ``random_state``.

    More channels than sources: the whitening keeps the ``n_sources`` principal components
    (PCA reduction) and the sources sum to the mixture's projection onto them.  Fewer
    channels than sources, or a rank-deficient mixture (identical channels, a silent
    channel), raises a :class:`~dsp_separate.exceptions.ParameterError`; silence or a
    constant returns ``1 / n_sources`` of the mixture per source.  Delays or reverberation
    break the model: use :class:`FDICA` or IVA.  scikit-learn's FastICA exposes no
    per-iteration objective, so unlike the other iterative blind methods this one has no
    ``callback``, and ``result.info["objective"]`` is ``None``.

    Parameters
    ----------
    n_sources : int or None, default None
        Number of sources; ``None``: one per channel.
    fun : {"logcosh", "exp", "cube"}, default "logcosh"
        FastICA's contrast function (``"cube"`` is kurtosis, fast but outlier-sensitive).
    max_iter : int, default 400
        FastICA iterations at most (``result.info["n_iter"]`` says how many ran;
        ``result.info["converged"]`` whether scikit-learn's tolerance was reached).
    tol : float, default 1e-4
        scikit-learn's convergence tolerance.
    random_state : None, int or numpy.random.Generator, default 0
        Seed of the initial demixing matrix.

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> rng = np.random.default_rng(0)
    >>> s = np.stack([np.sign(np.sin(np.arange(8000) / 9)), rng.laplace(size=8000)])
    >>> y = np.array([[1.0, 0.6], [0.4, 1.0]]) @ s
    >>> result = ds.FastICA().separate(y, 8000)
    >>> result.names
    ('source_0', 'source_1')
    >>> bool(np.allclose(result.stack().sum(axis=0), y))
    True
    """

    name = "fastica"
    summary = "time-domain FastICA (instantaneous mixtures) with projection back"
    tags = Tags(kind="time", min_channels=2, n_sources="parameter")
    param_choices = {"fun": ("logcosh", "exp", "cube")}

    def __init__(self, n_sources=None, fun="logcosh", max_iter=400, tol=1e-4,
                 random_state=0):
        self.n_sources = n_sources
        self.fun = fun
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _validate_params(self):
        _check_n_sources(self.n_sources)
        check_choice(self.fun, "fun", ("logcosh", "exp", "cube"))
        check_positive_int(self.max_iter, "max_iter")
        check_positive_float(self.tol, "tol")
        _check_random_state(self.random_state)

    def source_names(self, n_channels=None, references=None):
        if self.n_sources is None:
            if n_channels is None:
                raise ParameterError("n_channels=None: FastICA(n_sources=None) has one "
                                     "source per channel; give the channel count")
            return tuple(f"source_{i}" for i in range(int(n_channels)))
        return tuple(f"source_{i}" for i in range(int(self.n_sources)))

    def _estimate(self, X, *, y, sr, stft):
        lead = y.shape[:-2]
        m, n = y.shape[-2:]
        k = _resolve_sources(self.n_sources, m, "FastICA")
        flat = y.reshape((-1, m, n))
        out = np.empty((k,) + flat.shape, dtype=np.float64)
        infos = []
        for b in range(flat.shape[0]):
            out[:, b], info = fastica_images(flat[b], k, random_state=self.random_state,
                                             fun=self.fun, max_iter=self.max_iter,
                                             tol=self.tol)
            infos.append(info)
        info = infos[0] if len(infos) == 1 else {
            key: [i[key] for i in infos] for key in infos[0]}
        return SignalImages({f"source_{j}": out[j].reshape(lead + (m, n)) for j in range(k)},
                            info=info)


# ---------------------------------------------------------------------------- FDICA
def _hermitian_inv_sqrt(C):
    """``C^{-1/2}`` of Hermitian positive definite matrices ``(..., K, K)``."""
    w, V = np.linalg.eigh(C)
    w = np.maximum(w, np.finfo(np.float64).tiny)
    return (V / np.sqrt(w)[..., None, :]) @ np.conj(np.swapaxes(V, -1, -2))


def _whitening(X, k, floor):
    r"""Per-bin PCA whitening ``V_f`` (``(F, k, M)``) of ``X`` ``(M, F, T)``.

    Eigenvalues of the bin covariance are floored at ``floor`` times the largest of the bin
    plus ``floor`` times the mean bin power of the whole mixture (the regularisation rule).
    """
    m, F, T = X.shape
    Xf = np.moveaxis(X, 1, 0)  # (F, M, T)
    R = Xf @ np.conj(np.swapaxes(Xf, -1, -2)) / T  # (F, M, M)
    w, U = np.linalg.eigh(R)  # ascending
    w, U = w[:, ::-1].clip(min=0.0), U[:, :, ::-1]
    global_power = float(np.mean(w.sum(axis=1)))
    w = np.maximum(w, floor * w[:, :1] + floor * global_power + np.finfo(np.float64).tiny)
    V = np.conj(np.swapaxes(U[:, :, :k], -1, -2)) / np.sqrt(w[:, :k])[..., None]
    return V, Xf


def fdica_demixing(X, n_sources=None, *, max_iter=100, tol=1e-6, alpha=0.1, floor=1e-6,
                   random_state=0, callback=None):
    r"""Complex FastICA in every STFT bin (Bingham & Hyvärinen 2000), before alignment.

    In each bin the mixture :math:`x_{ft}` (``M`` channels) is whitened,
    :math:`z_{ft} = V_f x_{ft}` (PCA to ``K = n_sources`` components; eigenvalues floored at
    ``floor`` times the bin's largest plus ``floor`` times the mean bin power of the
    mixture, so bins holding one source or nothing stay finite), then the rows of the
    unitary :math:`B_f` are updated in parallel by the complex fixed point with
    :math:`G(u) = \log(\alpha + u)`, :math:`g = G'`, :math:`y = B_f z`:

    .. math::

        b_k \leftarrow \mathrm{E}\{g(|y_k|^2)\, y_k\, z^H\}
                     - \mathrm{E}\{g(|y_k|^2) + |y_k|^2 g'(|y_k|^2)\}\, b_k, \qquad
        B_f \leftarrow (B_f B_f^H)^{-1/2} B_f .

    The reported objective is the contrast :math:`\frac{1}{FK}\sum_{f,k}
    \mathrm{E}\{G(|y_{kft}|^2)\}` (smaller is more super-Gaussian, i.e. sparser).  Iterations
    stop when every bin's rows moved less than ``tol``
    (:math:`\max_{f,k} 1 - |b_k^{new} b_k^{old\,H}| < tol`), after ``max_iter``, or when
    ``callback(iteration, state)`` returns True.

    Parameters
    ----------
    X : ndarray, shape (n_channels, n_freq, n_frames), complex
        The mixture STFT.
    n_sources : int, optional
        ``K`` (default ``n_channels``).
    max_iter : int, default 100
    tol : float, default 1e-6
    alpha : float, default 0.1
        The constant of the contrast :math:`\log(\alpha + u)` (unit-variance signals).
    floor : float, default 1e-6
        Relative eigenvalue floor of the whitening (the regularisation rule above).
    random_state : None, int or numpy.random.Generator, default 0
        Seed of the random unitary initial :math:`B_f`.
    callback : callable, optional
        ``callback(iteration, state)`` after each iteration, ``state = {"objective": float,
        "change": float, "W": (F, K, M) demixing}``; returning True stops.

    Returns
    -------
    W : ndarray, shape (n_freq, n_sources, n_channels), complex128
        Demixing matrices :math:`W_f = B_f V_f` (sources in each bin's own order).
    info : dict
        ``objective`` (list, one per iteration), ``n_iter``, ``converged``.

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate.separators.ica import fdica_demixing
    >>> X = np.random.default_rng(0).laplace(size=(2, 5, 200)) + 0j
    >>> W, info = fdica_demixing(X, max_iter=20)
    >>> W.shape, len(info["objective"]) <= 20
    ((5, 2, 2), True)
    """
    X = np.asarray(X)
    m, F, T = X.shape
    k = _resolve_sources(n_sources, m, "FDICA")
    V, Xf = _whitening(X.astype(np.complex128), k, floor)
    Z = V @ Xf  # (F, K, T)
    rng = _generator(random_state)
    B = rng.standard_normal((F, k, k)) + 1j * rng.standard_normal((F, k, k))
    B = _hermitian_inv_sqrt(B @ np.conj(np.swapaxes(B, -1, -2))) @ B
    ZH = np.conj(np.swapaxes(Z, -1, -2))
    objective = []
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        Y = B @ Z
        P = Y.real ** 2 + Y.imag ** 2
        g = 1.0 / (alpha + P)
        dg = -g * g
        Bn = (g * Y) @ ZH / T - np.mean(g + P * dg, axis=-1)[..., None] * B
        Bn = _hermitian_inv_sqrt(Bn @ np.conj(np.swapaxes(Bn, -1, -2))) @ Bn
        change = float(np.max(1.0 - np.abs(np.sum(Bn * np.conj(B), axis=-1))))
        B = Bn
        objective.append(float(np.mean(np.log(alpha + P))))
        stop = False
        if callback is not None:
            stop = stop_requested(callback(it, {"objective": objective[-1],
                                                "change": change, "W": B @ V}))
        if change < tol:
            converged = True
            break
        if stop:
            break
    return B @ V, {"objective": objective, "n_iter": it, "converged": converged}


def activity_sequences(Y, eps=None):
    r"""Normalised activity of each source in each bin: power ratios (Sawada et al. 2007).

    .. math::

        v_{kf}(t) = \frac{|y_{kft}|^2}{\sum_j |y_{jft}|^2}

    computed from the projected-back images when given ``(K, M, F, T)`` (summed over
    channels), which removes each bin's arbitrary scale.

    Parameters
    ----------
    Y : ndarray, shape (n_sources, n_freq, n_frames) or (n_sources, n_channels, n_freq, n_frames)
    eps : float, optional
        Added to the denominator (default: the dtype's ``tiny``).

    Returns
    -------
    ndarray, shape (n_sources, n_freq, n_frames), float64, in [0, 1]
    """
    P = np.abs(np.asarray(Y)) ** 2
    if P.ndim == 4:
        P = P.sum(axis=1)
    P = P.astype(np.float64)
    eps = np.finfo(np.float64).tiny if eps is None else eps
    total = P.sum(axis=0, keepdims=True)
    return P / (total + eps)


def _zscore(v):
    v = v - v.mean(axis=-1, keepdims=True)
    norm = np.sqrt(np.sum(v * v, axis=-1, keepdims=True))
    return np.divide(v, norm, out=np.zeros_like(v), where=norm > 0)


def align_permutations(v, *, n_iter=20):
    r"""Per-bin permutations that make the activity sequences agree across frequency.

    The permutation problem of per-bin ICA: bin :math:`f` returns its sources in an order
    :math:`\pi_f` of its own.  Following Sawada, Araki & Makino (2007), the activity
    sequences :math:`v_{kf}(t)` (:func:`activity_sequences`) of one source are correlated
    across frequency (speech starts and stops in all bins at once), so the bins are aligned
    by clustering: centroids :math:`c_k(t)` start from the bin whose sequences are the most
    distinct (lowest mean correlation between its sources, among bins holding at least a
    tenth of the median bin power), then alternately

    .. math::

        \pi_f = \arg\max_\pi \sum_k \rho\big(v_{\pi(k) f}, c_k\big), \qquad
        c_k = \frac{1}{F}\sum_f v_{\pi_f(k) f}

    (:math:`\rho` the correlation coefficient; the assignment by the Hungarian algorithm,
    ``scipy.optimize.linear_sum_assignment``) until no permutation changes.  Then a local
    fine-tuning (Sawada, Araki & Makino 2011, sec. IV-C): each bin takes the permutation
    that agrees best with its neighbours and harmonics,

    .. math::

        \pi_f = \arg\max_\pi \sum_k \sum_{g \in N(f)}
        \rho\big(v_{\pi(k) f}, v_{\pi_g(k) g}\big),\qquad
        N(f) = \{f \pm 1, f \pm 2, f \pm 3, 2f - 1, 2f, 2f + 1, \lfloor f/2 \rfloor\},

    all bins at once, repeated while the total agreement grows (at most ``n_iter`` rounds;
    inactive bins take part but do not vote).

    Parameters
    ----------
    v : ndarray, shape (n_sources, n_freq, n_frames)
        Activity sequences.
    n_iter : int, default 20
        Maximum number of assignment / centroid rounds.

    Returns
    -------
    perm : ndarray, shape (n_freq, n_sources), int
        ``perm[f, k]`` is the bin-``f`` index of aligned source ``k``: aligned
        ``Y[k, f] = Y[perm[f, k], f]``.

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate.separators.ica import align_permutations
    >>> rng = np.random.default_rng(0)
    >>> env = rng.random((2, 1, 300)) ** 4            # two on/off patterns
    >>> v = np.repeat(env, 8, axis=1)                 # shared by 8 bins
    >>> v[:, 3] = v[::-1, 3]                          # bin 3 is swapped
    >>> align_permutations(v)[3].tolist() == align_permutations(v)[0][::-1].tolist()
    True
    """
    from scipy.optimize import linear_sum_assignment

    v = np.asarray(v, dtype=np.float64)
    k, F, T = v.shape
    perm = np.tile(np.arange(k), (F, 1))
    if k == 1 or F == 0:
        return perm
    zv = _zscore(v)  # (K, F, T)
    power = np.sum(np.abs(v - v.mean(axis=-1, keepdims=True)), axis=(0, 2))
    active = power > 0.1 * np.median(power[power > 0]) if np.any(power > 0) else power > 0
    if not np.any(active):
        return perm
    # starting bin: the most distinct sources (lowest mean pairwise correlation)
    corr = np.einsum("kft,jft->fkj", zv, zv)
    iu = np.triu_indices(k, 1)
    distinct = np.where(active, corr[:, iu[0], iu[1]].mean(axis=-1), np.inf)
    f0 = int(np.argmin(distinct))
    centroids = zv[:, f0, :].copy()
    for _ in range(n_iter):
        score = np.einsum("kt,jft->fkj", _zscore(centroids), zv)  # (F, K centroid, K bin src)
        new = np.empty_like(perm)
        for f in range(F):
            rows, cols = linear_sum_assignment(-score[f])
            new[f, rows] = cols
        changed = not np.array_equal(new, perm)
        perm = new
        aligned = np.take_along_axis(v, perm.T[:, :, None], axis=0)
        centroids = aligned[:, active].mean(axis=1)
        if not changed:
            break
    return _fine_tune(zv, perm, active, n_iter)


def _best_permutations(score):
    """Per bin, the assignment maximising ``score[f, k, j]`` (aligned k takes bin source j)."""
    from scipy.optimize import linear_sum_assignment

    out = np.empty(score.shape[:2], dtype=np.int64)
    for f in range(score.shape[0]):
        rows, cols = linear_sum_assignment(-score[f])
        out[f, rows] = cols
    return out


def _neighbour_sum(zv, perm, active, width=3):
    """Per bin, the sum of the aligned sequences of its active neighbours and harmonics."""
    F = zv.shape[1]
    aligned = np.take_along_axis(zv, perm.T[:, :, None], axis=0) * active[None, :, None]
    S = np.zeros_like(aligned)
    for d in range(1, width + 1):
        S[:, d:] += aligned[:, :-d]
        S[:, :-d] += aligned[:, d:]
    f = np.arange(F)
    for g in (2 * f - 1, 2 * f, 2 * f + 1, f // 2):
        ok = (g >= 0) & (g < F) & (g != f)
        S[:, f[ok]] += aligned[:, g[ok]]
    return S


def _fine_tune(zv, perm, active, n_iter):
    """The neighbour / harmonic fine-tuning of :func:`align_permutations` (Sawada 2011)."""
    def agreement(p):
        S = _neighbour_sum(zv, p, active)
        aligned = np.take_along_axis(zv, p.T[:, :, None], axis=0)
        return float(np.sum(aligned * S)), S

    total, S = agreement(perm)
    for _ in range(n_iter):
        new = _best_permutations(np.einsum("kft,jft->fkj", S, zv))
        if np.array_equal(new, perm):
            break
        new_total, new_S = agreement(new)
        if not new_total > total:  # every bin moves at once: keep a round only if it gains
            break
        perm, total, S = new, new_total, new_S
    return perm


def _apply_permutation(A, perm):
    """``A`` of shape (K, F, ...) reordered per bin: out[k, f] = A[perm[f, k], f]."""
    idx = perm.T.reshape(perm.shape[1], perm.shape[0], *([1] * (A.ndim - 2)))
    return np.take_along_axis(A, idx, axis=0)


class FDICA(Separator):
    r"""Frequency-domain ICA: complex FastICA per bin, permutation alignment, projection back.

    The convolutive mixture (a room) becomes an instantaneous mixture in every STFT bin,
    :math:`x_{ft} = A_f s_{ft}`, when the filters are shorter than the window.  Each bin is
    separated on its own by complex FastICA (:func:`fdica_demixing`; Bingham & Hyvärinen
    2000), the bins' orders are aligned by clustering their activity sequences
    (:func:`activity_sequences`, :func:`align_permutations`; Sawada, Araki & Makino 2007),
    and each source is projected back through :math:`W_f^{-1}` per bin (its image at every
    channel; in the determined case the images sum to the mixture).  Sources are named
    ``source_0``, ... by **decreasing image energy**.  ``result.info`` holds the contrast per
    iteration (``"objective"``), ``"n_iter"``, ``"converged"`` and the per-bin
    ``"permutation"`` applied.

    Regularisation: each bin's covariance eigenvalues are floored at ``floor`` times the
    bin's largest plus ``floor`` times the mean bin power (bins holding one source, or
    nothing, stay finite).  Silence or a constant returns ``1 / n_sources`` of the mixture
    per source.  More channels than sources: per-bin PCA to ``n_sources`` components.
    Fewer channels than sources, or a mixture whose covariance summed over bins has rank
    below ``n_sources`` (identical channels, a silent channel): ParameterError.

    IVA (``auxiva``, ``ilrma``) solves the permutation problem inside the model and is
    usually better; FDICA is here as the classic baseline and for teaching.  It fails when
    the sources overlap in time (activities alike), when the room filters are longer than
    the window, and at low frequencies where the bins are nearly rank one.

    Parameters
    ----------
    n_sources : int or None, default None
        Number of sources; ``None``: one per channel.
    max_iter : int, default 100
        Complex FastICA iterations at most (all bins together).
    tol : float, default 1e-6
        Stop when no bin's demixing rows move more than this.
    floor : float, default 1e-6
        Relative eigenvalue floor of the whitening (see above).
    random_state : None, int or numpy.random.Generator, default 0
        Seed of the initial demixing matrices.
    callback : callable, optional
        ``callback(iteration, state)`` after every iteration (``state``: ``"objective"``,
        ``"change"``, ``"W"``, and ``"item"`` (the batch index) when a batch is separated);
        returning True stops.
    stft : STFT, dict or None
        Transform (default n_fft 2048, hop 512).

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> rng = np.random.default_rng(0)
    >>> s = rng.laplace(size=(2, 16000))
    >>> y = np.stack([s[0] + 0.5 * np.roll(s[1], 1), 0.4 * np.roll(s[0], 2) + s[1]])
    >>> result = ds.FDICA(stft=ds.STFT(512, 128), max_iter=30).separate(y, 8000)
    >>> result.names, len(result.info["objective"]) <= 30
    (('source_0', 'source_1'), True)
    """

    name = "fdica"
    summary = "frequency-domain ICA per bin with permutation alignment and projection back"
    tags = Tags(kind="filter", min_channels=2, n_sources="parameter")

    def __init__(self, n_sources=None, max_iter=100, tol=1e-6, floor=1e-6, random_state=0,
                 callback=None, stft=None):
        self.n_sources = n_sources
        self.max_iter = max_iter
        self.tol = tol
        self.floor = floor
        self.random_state = random_state
        self.callback = callback
        self.stft = stft

    def _validate_params(self):
        _check_n_sources(self.n_sources)
        check_positive_int(self.max_iter, "max_iter")
        check_positive_float(self.tol, "tol")
        check_positive_float(self.floor, "floor")
        _check_random_state(self.random_state)
        if self.callback is not None and not callable(self.callback):
            raise ParameterError(f"callback={describe(self.callback)}: must be callable or "
                                 "None")

    source_names = FastICA.source_names

    def _estimate(self, X, *, y, sr, stft):
        lead = X.shape[:-3]
        m, F, T = X.shape[-3:]
        k = _resolve_sources(self.n_sources, m, "FDICA")
        flat = X.reshape((-1, m, F, T))
        out = np.empty((k,) + flat.shape, dtype=X.dtype)
        infos = []
        ys = None if y is None else y.reshape((-1, m, y.shape[-1]))
        for b in range(flat.shape[0]):
            out[:, b], info = self._one(flat[b], k, None if ys is None else ys[b],
                                        b if flat.shape[0] > 1 else None)
            infos.append(info)
        info = infos[0] if len(infos) == 1 else {
            key: [i[key] for i in infos] for key in infos[0]}
        return Images({f"source_{j}": out[j].reshape(lead + (m, F, T)) for j in range(k)},
                      info=info)

    def _one(self, X, k, y=None, item=None):
        m, F, T = X.shape
        Xd = X.astype(np.complex128)
        # divide by the peak first: the powers of a very loud input (> ~1e150) overflow
        peak = float(np.abs(Xd).max()) if Xd.size else 0.0
        if 0.0 < peak < np.inf:
            Xd = Xd / peak
        else:
            peak = 1.0
        power = np.abs(Xd) ** 2
        scale = float(np.sqrt(np.mean(power))) if power.size else 0.0
        constant = False
        if y is not None and y.size:
            yd = np.asarray(y, dtype=np.float64)
            spread = float(np.max(np.abs(yd - yd.mean(axis=-1, keepdims=True))))
            constant = spread <= 1e-12 * float(np.max(np.abs(yd)))
        if scale == 0.0 or constant:
            # silence or a constant: nothing to separate; each source gets an equal share
            return (np.broadcast_to(X / k, (k,) + X.shape).copy(),
                    {"objective": [], "n_iter": 0, "converged": True,
                     "permutation": np.tile(np.arange(k), (F, 1))})
        Xd = Xd / scale
        Xf = np.moveaxis(Xd, 1, 0)
        R = np.einsum("fmt,fnt->mn", Xf, np.conj(Xf)) / (F * T)
        ev = np.linalg.eigvalsh(R)[::-1].clip(min=0.0)
        _check_rank(ev, k, "mixture covariance summed over bins")
        W, info = fdica_demixing(Xd, k, max_iter=self.max_iter, tol=self.tol,
                                 floor=self.floor, random_state=self.random_state,
                                 callback=callback_for_item(self.callback, item))
        Y = np.einsum("fkm,mft->kft", W, Xd)
        images = images_from_demixing(Y, W)  # (K, M, F, T)
        perm = align_permutations(activity_sequences(images))
        images = _apply_permutation(np.moveaxis(images, 1, 2), perm)  # (K, F, M, T)
        images = np.moveaxis(images, 2, 1)
        order = _order_by_energy(images)
        images = images[order] * scale * peak
        info["permutation"] = perm[:, order]
        return images.astype(X.dtype), info
