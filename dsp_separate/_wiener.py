"""Multichannel Wiener refinement: EM over source power spectra and spatial covariances.

:func:`wiener` turns rough non-negative source models (magnitude spectrograms, e.g.
``np.abs(mask * X)``) into complex source images that use the spatial (inter-channel)
structure of the mixture.  Every separator's ``wiener_iterations=k`` calls it.
"""

from __future__ import annotations

import numpy as np

from ._kernels.wiener import wiener_em
from ._validation import (
    check_nonnegative_array,
    check_nonnegative_int,
    check_positive_float,
    check_stft_matrix,
    describe,
)
from .exceptions import ParameterError

__all__ = ["wiener"]

#: Smallest default regularisation: below it, the float64 algebra of bins whose mixture
#: covariance is nearly singular (e.g. identical channels) loses digits.
_EPS_FLOOR = 1e-8


def _default_eps(dtype: np.dtype) -> float:
    return max(float(np.finfo(dtype).eps), _EPS_FLOOR)


#: Binary exponent of the largest |Re|, |Im| of a batch item above which the EM runs on the
#: item times 2^-k (k that exponent): the powers of float64 STFTs from ~1e60 on would reach
#: the squares the covariances hold (overflow from ~1e154, NaN images from audio at 1e200).
_SHIFT_LIMIT = 200


def _peak(a: np.ndarray) -> float:
    """Largest |Re|, |Im| of a complex array: two reductions, no temporary."""
    v = a.view(a.real.dtype) if a.flags.c_contiguous else np.concatenate([a.real, a.imag])
    return max(float(v.max()), -float(v.min())) if v.size else 0.0


def _ldexp_complex(a: np.ndarray, k: int) -> None:
    """``a *= 2^k`` in place, exactly."""
    a.real = np.ldexp(a.real, k)
    a.imag = np.ldexp(a.imag, k)


def _item_shifts(X4: np.ndarray, images=None) -> list:
    """The exponent ``k`` of each batch item of ``X4`` (B, I, F, T) (and of the images
    (J, B, ...), if given): 0 unless its largest |Re|, |Im| reaches 2^_SHIFT_LIMIT."""
    peak = _peak(X4) if images is None else max(_peak(X4), _peak(images))
    if np.frexp(peak)[1] <= _SHIFT_LIMIT:
        return [0] * X4.shape[0]
    out = []
    for b in range(X4.shape[0]):
        p = _peak(X4[b]) if images is None else max(_peak(X4[b]), _peak(images[:, b]))
        k = int(np.frexp(p)[1])
        out.append(k if k > _SHIFT_LIMIT else 0)
    return out


def wiener(X, models, iterations=1, *, eps=None):
    r"""Multichannel Wiener filtering of a mixture STFT, refined by EM.

    Each source image :math:`\mathbf{y}_j(f,t) \in \mathbb{C}^I` (``I`` channels) is
    modelled as a zero-mean complex Gaussian with covariance
    :math:`v_j(f,t)\,\mathbf{R}_j(f)`: a power spectral density times a time-invariant
    spatial covariance matrix (the local Gaussian model of Duong et al. [1]_).  Starting
    from a ratio mask built from ``models``, each EM iteration re-estimates
    :math:`v_j, \mathbf{R}_j` from the current images and replaces the images with their
    posterior means (the multichannel Wiener filter), as in Nugraha et al. [2]_.

    Parameters
    ----------
    X : np.ndarray, complex, shape ``(..., n_chan, n_freq, n_frames)`` or ``(n_freq, n_frames)``
        Mixture STFT.  A 2-D array is one channel.  complex64 input gives complex64 output,
        complex128 gives complex128 (the per-bin algebra runs in double precision either way).
    models : np.ndarray, real, shape ``(n_src, ..., n_chan, n_freq, n_frames)``
        Non-negative magnitude estimates of each source's image, source axis first; the
        other axes equal ``X.shape``, except that the channel axis may be 1 (one model
        shared by all channels).  For a 2-D ``X`` the shape is ``(n_src, n_freq, n_frames)``.
        Only the ratios between sources matter, so any common scale works.
    iterations : int >= 0
        Number of EM iterations.  ``0`` returns the ratio-mask initialisation.
    eps : float > 0 or None
        Relative regularisation: every source image is modelled as also containing
        isotropic white noise whose power in each bin is ``eps`` times :math:`P(f)`, the mean
        power of ``X`` over channels and frames at that frequency (per batch item).  It keeps
        every :math:`\mathbf{R}_j` positive definite and every :math:`v_j` positive, so the
        filters exist in silent bins, and makes the result invariant to the scale of ``X``.
        ``None`` (default) uses the machine epsilon of ``X``'s real dtype, but not less than
        ``1e-8``: ``1.19e-7`` for complex64 and ``1e-8`` for complex128.  Larger values pull
        each filter towards an even split in bins where all sources are weak.

    Returns
    -------
    images : np.ndarray, shape ``(n_src,) + X.shape``, dtype of ``X``
        Complex STFTs of the source images.  ``images.sum(axis=0)`` equals ``X`` to float
        precision for every ``iterations``.

    Notes
    -----
    Initialisation (``iterations=0``), per channel :math:`c` with models :math:`m_j`:

    .. math::

        \mathbf{y}_{jc}(f,t) = \frac{m_{jc}(f,t)}{\sum_k m_{kc}(f,t)}\, x_c(f,t),

    where a bin with :math:`\sum_k m_{kc} = 0` is split evenly (:math:`1/J` each).

    One EM iteration, from the current images :math:`\mathbf{y}_j`, with
    :math:`\varepsilon_f = \texttt{eps}\cdot P(f)`:

    .. math::

        v_j(f,t) &= \tfrac{1}{I}\,\|\mathbf{y}_j(f,t)\|^2 + \varepsilon_f, \\
        \mathbf{R}_j(f) &= \frac{\sum_t \left(\mathbf{y}_j(f,t)\,\mathbf{y}_j(f,t)^H
            + \varepsilon_f \mathbf{I}\right)}{\sum_t v_j(f,t)}, \\
        \mathbf{C}_x(f,t) &= \sum_j v_j(f,t)\,\mathbf{R}_j(f), \\
        \mathbf{y}_j(f,t) &\leftarrow v_j(f,t)\,\mathbf{R}_j(f)\,\mathbf{C}_x(f,t)^{-1}
            \mathbf{x}(f,t).

    :math:`\operatorname{tr}\mathbf{R}_j = I`.  Because the regularisation is put into every
    source's :math:`v_j` and :math:`\mathbf{R}_j` (not added to :math:`\mathbf{C}_x` alone),
    the gains :math:`\mathbf{G}_j = v_j \mathbf{R}_j \mathbf{C}_x^{-1}` sum to the identity
    exactly, so the images sum to the mixture; the rounding-level remainder
    :math:`\mathbf{x} - \sum_j \mathbf{y}_j` is handed back to the sources in proportion to
    :math:`v_j`.  The M step is the simplified one of [2]_ (empirical covariance of the
    current estimates, not the exact posterior second moments of [1]_).

    The per-bin algebra is closed form for one and two channels and a Cholesky solve for
    more.  Memory: the output plus a few ``n_src x n_chan x n_chan`` matrices per thread.

    References
    ----------
    .. [1] N. Q. K. Duong, E. Vincent and R. Gribonval, "Under-determined reverberant audio
       source separation using a full-rank spatial covariance model," IEEE Transactions on
       Audio, Speech, and Language Processing, 18(7), pp. 1830-1840, 2010.
    .. [2] A. A. Nugraha, A. Liutkus and E. Vincent, "Multichannel audio source separation
       with deep neural networks," IEEE/ACM Transactions on Audio, Speech, and Language
       Processing, 24(9), pp. 1652-1664, 2016.

    Examples
    --------
    Two sources panned to different sides of a stereo mixture, separated from their true
    magnitudes (an oracle):

    >>> import numpy as np
    >>> from dsp_separate import wiener
    >>> rng = np.random.default_rng(0)
    >>> shape = (257, 100)
    >>> power = rng.gamma(0.3, size=(2,) + shape)  # sparse, different spectrograms
    >>> s = np.sqrt(power) * (rng.standard_normal((2,) + shape)
    ...                       + 1j * rng.standard_normal((2,) + shape))
    >>> pan = np.array([[0.9, 0.3], [0.2, 0.8]])  # [source, channel] gains
    >>> images = pan[:, :, None, None] * s[:, None]  # (2 sources, 2 channels, 257, 100)
    >>> X = images.sum(axis=0)
    >>> estimates = wiener(X, np.abs(images), iterations=1)
    >>> estimates.shape
    (2, 2, 257, 100)
    >>> bool(np.allclose(estimates.sum(axis=0), X))
    True
    >>> def sdr(ref, est):
    ...     return 10 * np.log10(np.sum(np.abs(ref) ** 2) / np.sum(np.abs(ref - est) ** 2))
    >>> masked = wiener(X, np.abs(images), iterations=0)
    >>> bool(sdr(images, estimates) > sdr(images, masked) + 3)
    True
    """
    X = check_stft_matrix(X, "X", min_ndim=2)
    models = check_nonnegative_array(models, "models", min_ndim=3)
    iterations = check_nonnegative_int(iterations, "iterations")
    real_dtype = np.float32 if X.dtype == np.complex64 else np.float64
    eps = _default_eps(real_dtype) if eps is None else check_positive_float(eps, "eps")

    # --- shapes: models is (n_src,) + X.shape, the channel axis possibly 1
    expected = "(n_src,) + X.shape" + (", its channel axis (-3) n_chan or 1" if X.ndim > 2 else "")
    if models.ndim != X.ndim + 1:
        raise ParameterError(
            f"models={describe(models)}: must have shape {expected}, i.e. {X.ndim + 1} "
            f"dimensions for X.shape={X.shape}"
        )
    model_shape = models.shape[1:]
    if X.ndim == 2:
        compatible = model_shape == X.shape
    else:
        compatible = (
            model_shape[:-3] == X.shape[:-3]
            and model_shape[-2:] == X.shape[-2:]
            and model_shape[-3] in (1, X.shape[-3])
        )
    if not compatible:
        raise ParameterError(
            f"models={describe(models)}: must have shape {expected}; got models.shape[1:]="
            f"{model_shape} for X.shape={X.shape}"
        )
    return _wiener(X, models, iterations, eps)


def _wiener(X, models, iterations, eps=None, *, init_images=None):
    """:func:`wiener` without the checks (shapes already compatible, arrays finite).

    With ``init_images`` (``(n_src,) + X.shape``), EM starts from these images instead of
    the ratio-mask initialisation (``models`` is then ignored): one iteration from the true
    source images is the oracle multichannel Wiener filter.
    """
    real_dtype = np.float32 if X.dtype == np.complex64 else np.float64
    eps = _default_eps(real_dtype) if eps is None else eps
    n_src = (init_images if init_images is not None else models).shape[0]
    # --- flatten to the kernel's (B, I, F, T) and (J, B, M, F, T)
    if X.ndim == 2:
        X4 = X[None, None]
    else:
        X4 = X.reshape((-1,) + X.shape[-3:])
    X4 = np.ascontiguousarray(X4)
    out = np.empty((n_src,) + X4.shape, dtype=X.dtype)
    if init_images is None:
        if models.dtype not in (np.float32, np.float64) or X.dtype == np.complex128:
            models = models.astype(np.float64, copy=False)  # exact widening only
        tiny = float(np.finfo(models.dtype).tiny)
        if X.ndim == 2:
            M5 = models[:, None, None]
        else:
            M5 = models.reshape((n_src, -1) + models.shape[-3:])
        M5 = np.ascontiguousarray(M5)
    else:
        out[...] = init_images.reshape(out.shape)
        M5 = np.zeros((n_src, 1, 1, 1, 1), dtype=real_dtype)  # unused
        tiny = float(np.finfo(real_dtype).tiny)
    # a very loud item runs on the item times 2^-k, its images times 2^k after: exact, and
    # the filter is scale-equivariant (eps is relative to the data, the models enter as
    # ratios only)
    shifts = _item_shifts(X4, None if init_images is None else out)
    if any(shifts):
        X4 = X4.copy()
        for b, k in enumerate(shifts):
            if k:
                _ldexp_complex(X4[b], -k)
                if init_images is not None:
                    _ldexp_complex(out[:, b], -k)
    # the initialisation applies the package's one ratio-mask rule (numba, per bin)
    wiener_em(X4, M5, tiny, iterations, eps, init_images is None, out)
    for b, k in enumerate(shifts):
        if k:
            _ldexp_complex(out[:, b], k)
    return out.reshape((n_src,) + X.shape)
