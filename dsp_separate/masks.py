r"""Time-frequency masks: from non-negative source models to masks, and masks to sources.

Every mask method in dsp_separate produces non-negative *source models*
:math:`M_j(f, t) \ge 0` (magnitude or power spectrogram estimates, one per source); this
module turns them into masks and applies them.

Ratio ("soft") masks, with an exponent :math:`p`:

.. math::

    m_j(f, t) = \frac{M_j(f, t)^p}{\sum_k M_k(f, t)^p}

``p = 1`` on magnitudes is the classic ratio mask, ``p = 2`` on magnitudes the (single
channel) Wiener gain.  Binary masks give each bin wholly to the largest model (the ideal
binary mask of Wang 2005 when the models are the true sources).  Both sets of masks sum to
one in every bin, so the masked sources sum to the mixture.  Bins where every model is zero
are split equally between the sources (no 0/0).

References
----------
.. [1] D. Wang, "On ideal binary mask as the computational goal of auditory scene analysis",
   in Speech Separation by Humans and Machines, Springer, 2005.
.. [2] A. Liutkus and R. Badeau, "Generalized Wiener filtering with fractional power
   spectrograms", ICASSP 2015.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_nonnegative_array, check_stft_matrix, describe
from .exceptions import ParameterError

__all__ = ["ratio_masks", "binary_masks", "softmask", "apply_masks", "MASK_TYPES"]

#: Values accepted by every separator's ``mask`` parameter.
MASK_TYPES = ("soft", "binary")


def _check_power(power) -> float:
    if isinstance(power, bool) or not isinstance(power, (int, float, np.floating, np.integer)):
        raise ParameterError(f"power={power!r}: must be a positive number (or np.inf)")
    if not power > 0:  # also catches NaN
        raise ParameterError(f"power={power!r}: must be > 0 (np.inf gives binary masks)")
    return float(power)


def _stack(models, name: str) -> np.ndarray:
    if isinstance(models, (list, tuple)):
        if len(models) == 0:
            raise ParameterError(f"{name}=[]: needs at least one source model")
        shapes = {np.shape(m) for m in models}
        if len(shapes) != 1:
            raise ParameterError(f"{name}: source models differ in shape: {sorted(shapes)}")
        models = np.stack([check_nonnegative_array(np.asarray(m), name) for m in models])
    return check_nonnegative_array(models, name, min_ndim=1)


def ratio_masks(models, power: float = 1.0) -> np.ndarray:
    r"""Ratio masks :math:`m_j = M_j^p / \sum_k M_k^p` that sum to one in every bin.

    Parameters
    ----------
    models : ndarray, shape (n_sources, ..., n_freq, n_frames), or a sequence of arrays
        Non-negative source models (magnitudes or powers).  Not modified.
    power : float, default 1.0
        Exponent :math:`p`; ``np.inf`` gives :func:`binary_masks`.

    Returns
    -------
    masks : ndarray, same shape as ``models`` (float32 for float32 models, else float64)
        In [0, 1], summing to one over the first axis.  Bins where every model is zero get
        ``1 / n_sources``.

    Notes
    -----
    Computed as :math:`(M_j / Z)^p / \sum_k (M_k / Z)^p` with :math:`Z = \max_k M_k`, which
    cannot overflow for large ``p``.

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate import ratio_masks
    >>> models = np.array([[[3.0, 0.0]], [[1.0, 0.0]]])   # 2 sources, 1 bin x 2 frames
    >>> ratio_masks(models, power=2)[:, 0, :]
    array([[0.9, 0.5],
           [0.1, 0.5]])
    """
    models = _stack(models, "models")
    power = _check_power(power)
    if models.dtype not in (np.float32, np.float64):
        models = models.astype(np.float64)
    return _ratio_masks(models, power)


def _ratio_masks(models: np.ndarray, power: float) -> np.ndarray:
    """:func:`ratio_masks` without the checks: THE ratio-mask rule of the package.

    ``models`` is float32 or float64, finite and non-negative, shape (n_sources, ...); the
    masks have its dtype (float32 stays float32; the arithmetic is float64).  Bins where the
    largest model is below the dtype's ``tiny`` (zeros and subnormals) are split evenly;
    elsewhere the models are divided by their maximum first, so no power overflows.  The
    rule is ``_kernels.masks.ratio_gain`` (which the Wiener EM kernel also calls for its
    initialisation), with a one-pass path for two sources (``ratio_masks_cols``, powers 1
    and 2 without ``pow``); a contiguous input is not copied, and large inputs are split
    over the cores (the kernel releases the GIL).
    """
    if np.isinf(power):
        return _binary_masks(models)
    from ._config import in_threads
    from ._kernels.masks import ratio_masks_cols

    flat = np.ascontiguousarray(models.reshape(models.shape[0], -1))
    masks = np.empty_like(flat)
    tiny = float(np.finfo(models.dtype).tiny)
    power = float(power)

    def work(lo, hi):
        ratio_masks_cols(flat, power, tiny, lo, hi, masks)

    in_threads(work, flat.shape[1], min_items=1 << 16)
    return masks.reshape(models.shape)


def _ratio_masks_of(values, power: float, overwrite: bool = False):
    """:func:`_ratio_masks` of a sequence of same-shape float32/float64 models (one dtype).

    For two C-contiguous models nothing is stacked: the kernel reads both in place and writes
    the (2, ...) masks, so a caller holding the models needs one mask-sized array more
    instead of two (the stack and the masks).  With ``overwrite=True`` the masks are written
    over the two models themselves (each bin is read before it is written) and the list
    ``[values[0], values[1]]`` is returned: no memory at all, for a caller that owns the
    models and no longer needs them.  Other cases stack and call :func:`_ratio_masks`.
    """
    values = list(values)
    if (len(values) != 2 or np.isinf(power) or values[0].dtype != values[1].dtype
            or values[0].dtype not in (np.float32, np.float64)
            or values[0].shape != values[1].shape
            or not (values[0].flags.c_contiguous and values[1].flags.c_contiguous)
            or (overwrite and not (values[0].flags.writeable and values[1].flags.writeable))
            or np.shares_memory(values[0], values[1])):
        return _ratio_masks(np.stack(values), power)
    from ._config import in_threads
    from ._kernels.masks import ratio_masks_pair

    a, b = (v.reshape(-1) for v in values)
    if overwrite:
        masks = values
        o_a, o_b = a, b
    else:
        masks = np.empty((2,) + values[0].shape, dtype=values[0].dtype)
        o_a, o_b = masks[0].reshape(-1), masks[1].reshape(-1)
    tiny = float(np.finfo(values[0].dtype).tiny)
    power = float(power)

    def work(lo, hi):
        ratio_masks_pair(a, b, power, tiny, lo, hi, o_a, o_b)

    in_threads(work, a.size, min_items=1 << 16)
    return masks


def binary_masks(models) -> np.ndarray:
    """Binary masks: each bin goes wholly to the source with the largest model.

    Parameters
    ----------
    models : ndarray, shape (n_sources, ..., n_freq, n_frames), or a sequence of arrays
        Non-negative source models.  Not modified.

    Returns
    -------
    masks : ndarray, same shape as ``models``, float
        0 or 1, exactly one 1 per bin (ties go to the lowest source index).

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate import binary_masks
    >>> binary_masks(np.array([[1.0, 5.0], [2.0, 5.0]]))
    array([[0., 1.],
           [1., 0.]])
    """
    return _binary_masks(_stack(models, "models"))


def _binary_masks(models: np.ndarray) -> np.ndarray:
    """:func:`binary_masks` without the checks."""
    dtype = np.float32 if models.dtype == np.float32 else np.float64
    winner = models.argmax(axis=0)
    return (np.arange(models.shape[0]).reshape((-1,) + (1,) * winner.ndim) == winner).astype(
        dtype
    )


def softmask(X, X_ref, power: float = 1.0, *, split_zeros: bool = False) -> np.ndarray:
    r"""Pairwise soft mask :math:`X^p / (X^p + X_{ref}^p)`.

    This is the two-model form used with a margin in HPSS (Driedger et al. 2014): the mask of
    ``X`` against a competitor ``X_ref`` that may be scaled by the margin, so that the masks of
    several sources need *not* sum to one.

    Parameters
    ----------
    X, X_ref : ndarray, same shape, non-negative
        The model being masked and its competitor.  Not modified.
    power : float, default 1.0
        Exponent; ``np.inf`` gives the binary mask ``X > X_ref``.
    split_zeros : bool, default False
        Value where both are zero: 0.5 if True, else 0.

    Returns
    -------
    mask : ndarray, same shape as ``X``, values in [0, 1]

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate import softmask
    >>> softmask(np.array([2.0, 0.0]), np.array([1.0, 0.0]), power=2)
    array([0.8, 0. ])
    """
    X = check_nonnegative_array(X, "X")
    X_ref = check_nonnegative_array(X_ref, "X_ref")
    if X.shape != X_ref.shape:
        raise ParameterError(f"X_ref={describe(X_ref)}: must have the shape of X {X.shape}")
    power = _check_power(power)
    dtype = np.result_type(X.dtype, X_ref.dtype)
    if np.isinf(power):
        return (X > X_ref).astype(dtype)
    Z = np.maximum(X, X_ref)
    silent = Z < np.finfo(dtype).tiny
    Z = np.where(silent, 1, Z).astype(dtype, copy=False)
    mask = (X / Z) ** power
    ref = (X_ref / Z) ** power
    denom = mask + ref
    denom[silent] = 1  # both are 0 there; avoids 0/0 (set below)
    mask /= denom
    mask[silent] = 0.5 if split_zeros else 0.0
    return mask


def apply_masks(X, masks) -> np.ndarray:
    """Masked STFTs ``masks[j] * X``.

    Parameters
    ----------
    X : ndarray, shape (..., n_freq, n_frames), complex
        Mixture STFT.  Not modified.
    masks : ndarray, shape (n_sources, ..., n_freq, n_frames)
        Real, finite, non-negative masks (gains) broadcastable against ``X`` after the
        source axis.

    Returns
    -------
    images : ndarray, shape (n_sources, ..., n_freq, n_frames), dtype of ``X``

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate import apply_masks
    >>> apply_masks(np.array([[2 + 2j]]), np.array([[[0.25]], [[0.75]]]))[:, 0, 0]
    array([0.5+0.5j, 1.5+1.5j])
    """
    X = check_stft_matrix(X, "X", min_ndim=1)
    masks = check_nonnegative_array(np.asarray(masks), "masks")
    try:
        shape = np.broadcast_shapes(masks.shape[1:], X.shape)
    except ValueError:
        shape = None
    if masks.ndim < 1 or shape != X.shape:
        raise ParameterError(
            f"masks={describe(masks)}: must be (n_sources,) + a shape broadcastable to X {X.shape}"
        )
    real = np.float32 if X.dtype == np.complex64 else np.float64
    return masks.astype(real, copy=False) * X
