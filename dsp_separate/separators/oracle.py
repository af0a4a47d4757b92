r"""Oracle separators: upper bounds computed from the true sources.

An oracle separator is told the answer — the true source signals :math:`s_j` — and builds
the best estimate its family of filters allows.  Its score on a mixture is what a method of
that family could reach with perfect source models, so oracles serve as upper bounds in
evaluations, as ground truth in tests, and as teaching material (what does a binary mask
cost compared with a ratio mask?).  They are ordinary :class:`~dsp_separate.base.Separator`
objects, except that :meth:`~_OracleSeparator.separate` takes ``references=``.

With :math:`X(f, t)` the mixture STFT and :math:`S_j(f, t)` the STFT of source :math:`j`
(each channel on its own for the masks):

Ideal binary mask (IBM, Wang 2005)
    :math:`m_j = 1` where :math:`|S_j|` is the largest of all sources, else 0.
Ideal ratio mask (IRM)
    :math:`m_j = |S_j|^p / \sum_k |S_k|^p`; ``power=1`` is the magnitude ratio mask,
    ``power=2`` the single-channel Wiener gain (Liutkus & Badeau 2015).
Phase-sensitive mask (PSM, Erdogan et al. 2015)
    :math:`\tilde m_j = \operatorname{Re}(S_j X^*) / |X|^2 = |S_j| / |X| \cos(\angle S_j -
    \angle X)`, the real mask that minimises :math:`|m_j X - S_j|^2` in every bin.  Here it is
    truncated to [0, 1] and renormalised so that the masks sum to one (see
    :func:`phase_sensitive_masks`).
Oracle multichannel Wiener filter
    The multichannel Wiener filter of the local Gaussian model (Duong et al. 2010) with the
    source variances and spatial covariance matrices measured on the true source images
    (see :func:`oracle_wiener`); it is not a real mask and can use inter-channel phase.
Mixture as estimate
    Every source is estimated by the mixture itself: the baseline a method has to beat
    (its SDR is the "input SDR" from which SDR improvements are counted).

References
----------
.. [1] E. Vincent, R. Gribonval and M. D. Plumbley, "Oracle estimators for the benchmarking
   of source separation algorithms", Signal Processing 87(8), pp. 1933-1950, 2007.
.. [2] D. Wang, "On ideal binary mask as the computational goal of auditory scene
   analysis", in Speech Separation by Humans and Machines, Springer, 2005.
.. [3] A. Liutkus and R. Badeau, "Generalized Wiener filtering with fractional power
   spectrograms", Proc. IEEE ICASSP, 2015.
.. [4] H. Erdogan, J. R. Hershey, S. Watanabe and J. Le Roux, "Phase-sensitive and
   recognition-boosted speech separation using deep recurrent neural networks", Proc. IEEE
   ICASSP, 2015.
.. [5] N. Q. K. Duong, E. Vincent and R. Gribonval, "Under-determined reverberant audio
   source separation using a full-rank spatial covariance model", IEEE Trans. Audio,
   Speech, and Language Processing 18(7), pp. 1830-1840, 2010.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_audio, check_positive_float, check_stft_matrix, describe
from .._wiener import _wiener
from ..base import Images, Masks, Separator, Tags
from ..exceptions import ParameterError
from ..masks import _binary_masks, _check_power, _ratio_masks

__all__ = [
    "phase_sensitive_masks",
    "oracle_wiener",
    "IdealBinaryMask",
    "IdealRatioMask",
    "PhaseSensitiveMask",
    "OracleWiener",
    "MixtureAsEstimate",
]


# ----------------------------------------------------------------------------------------
# the algorithms, on STFTs


def _check_images(X: np.ndarray, S, name: str = "S") -> np.ndarray:
    """``S`` must be a complex array shaped ``(n_src,) + X.shape``."""
    S = check_stft_matrix(S, name, min_ndim=X.ndim + 1)
    if S.ndim != X.ndim + 1 or S.shape[1:] != X.shape:
        raise ParameterError(
            f"{name}={describe(S)}: must have shape (n_src,) + X.shape = (n_src,) + {X.shape}"
        )
    return S


def phase_sensitive_masks(X, S) -> np.ndarray:
    r"""Truncated phase-sensitive masks, renormalised to sum to one.

    Parameters
    ----------
    X : ndarray, shape (..., n_freq, n_frames), complex
        Mixture STFT.  Not modified.
    S : ndarray, shape (n_src, ..., n_freq, n_frames), complex
        STFTs of the true sources (same transform as ``X``).  Not modified.

    Returns
    -------
    masks : ndarray, shape of ``S``, float32 for complex64 input else float64
        In [0, 1], summing to one over the sources in every bin.

    Notes
    -----
    The phase-sensitive mask of source :math:`j` is the real gain that brings the masked
    mixture closest to the source, :math:`\tilde m_j = \arg\min_m |m X - S_j|^2`:

    .. math::

        \tilde m_j = \frac{\operatorname{Re}(S_j X^*)}{|X|^2}
                   = \frac{|S_j|}{|X|}\cos(\angle S_j - \angle X).

    When the sources sum to the mixture, :math:`\sum_j \tilde m_j = 1` exactly, but single
    masks can be negative (a source in antiphase with the mixture) or exceed one.  The masks
    returned are truncated to [0, 1] and then divided by their sum,

    .. math::

        c_j = \min(\max(\tilde m_j, 0), 1), \qquad m_j = \frac{c_j}{\sum_k c_k},

    so they stay in [0, 1] (each :math:`c_j \le \sum_k c_k`) and still sum to one, hence the
    masked sources sum to the mixture.  In bins where no truncation happens the division is
    by 1 and :math:`m_j = \tilde m_j`.  Bins where :math:`X = 0`, or where every truncated
    mask is 0 (possible only when the sources do not sum to the mixture), are split evenly.

    References
    ----------
    .. [1] H. Erdogan, J. R. Hershey, S. Watanabe and J. Le Roux, "Phase-sensitive and
       recognition-boosted speech separation using deep recurrent neural networks", Proc.
       IEEE ICASSP, 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate.separators.oracle import phase_sensitive_masks
    >>> S = np.array([[[3 + 0j]], [[1j]]])        # 2 sources, one bin, 90 degrees apart
    >>> X = S.sum(axis=0)
    >>> np.round(phase_sensitive_masks(X, S)[:, 0, 0], 3)
    array([0.9, 0.1])
    """
    X = check_stft_matrix(X, "X", min_ndim=1)
    S = _check_images(X, S)
    return _phase_sensitive_masks(X, S)


def _phase_sensitive_masks(X, S) -> np.ndarray:
    """:func:`phase_sensitive_masks` without the checks."""
    from .._wiener import _SHIFT_LIMIT, _peak

    real = np.float32 if X.dtype == np.complex64 and S.dtype == np.complex64 else np.float64
    # very loud STFTs (float64 above 2^200, whose powers overflow): the masks are ratios, so
    # X and S are taken times 2^-k (exact)
    k = int(np.frexp(max(_peak(X), _peak(S)))[1])
    if k > _SHIFT_LIMIT:
        X = np.ldexp(X.real, -k) + 1j * np.ldexp(X.imag, -k)
        S = np.ldexp(S.real, -k) + 1j * np.ldexp(S.imag, -k)
    power = X.real.astype(np.float64) ** 2 + X.imag.astype(np.float64) ** 2
    silent = power <= np.finfo(np.float64).tiny
    # Re(S_j conj(X)), broadcast over sources, in float64 (complex64 products overflow)
    cross = (S.real.astype(np.float64) * X.real.astype(np.float64)
             + S.imag.astype(np.float64) * X.imag.astype(np.float64))
    masks = cross / np.where(silent, 1.0, power)
    np.clip(masks, 0.0, 1.0, out=masks)
    total = masks.sum(axis=0)
    even = silent | (total <= 0.0)
    masks /= np.where(even, 1.0, total)
    masks[:, even] = 1.0 / S.shape[0]
    return masks.astype(real, copy=False)


def oracle_wiener(X, S, *, eps=None) -> np.ndarray:
    r"""Multichannel Wiener filter with the statistics of the true source images.

    Parameters
    ----------
    X : ndarray, shape (..., n_chan, n_freq, n_frames) or (n_freq, n_frames), complex
        Mixture STFT; a 2-D array is one channel.  Not modified.
    S : ndarray, shape (n_src,) + X.shape, complex
        STFTs of the true source images (same transform as ``X``).  Not modified.
    eps : float > 0, optional
        Relative regularisation (default, as in :func:`dsp_separate.wiener`: the machine
        epsilon of ``X``'s real dtype, at least ``1e-8``): every source is modelled as also holding
        white noise of power ``eps`` times :math:`P(f)`, the mean power of ``X`` at frequency
        :math:`f` (over channels and frames, per batch item).  It keeps every covariance
        invertible in silent bins and makes the filter independent of the scale of ``X``.

    Returns
    -------
    images : ndarray, shape (n_src,) + X.shape, dtype of ``X``
        Estimated source images; they sum to ``X`` to float precision.

    Notes
    -----
    Each source image :math:`\mathbf{s}_j(f,t) \in \mathbb{C}^I` is modelled as a zero-mean
    Gaussian with covariance :math:`v_j(f,t) \mathbf{R}_j(f)` (Duong et al. 2010), whose
    parameters are here measured on the true images, with :math:`\varepsilon_f =
    \texttt{eps}\cdot P(f)`:

    .. math::

        v_j(f,t) &= \tfrac{1}{I}\lVert\mathbf{s}_j(f,t)\rVert^2 + \varepsilon_f, \qquad
        \mathbf{R}_j(f) = \frac{\sum_t \mathbf{s}_j(f,t)\mathbf{s}_j(f,t)^H
            + \varepsilon_f \mathbf{I}}{\sum_t v_j(f,t)}, \\
        \hat{\mathbf{s}}_j(f,t) &= v_j(f,t)\mathbf{R}_j(f)
            \Big(\sum_k v_k(f,t)\mathbf{R}_k(f)\Big)^{-1} \mathbf{x}(f,t).

    The gains :math:`v_j\mathbf{R}_j(\sum_k v_k\mathbf{R}_k)^{-1}` sum to the identity, so
    the estimates sum to the mixture; the rounding-level remainder is handed back to the
    sources in proportion to :math:`v_j`.  With one channel the filter is the power ratio
    mask :math:`v_j / \sum_k v_k`, i.e. ``IdealRatioMask(power=2)`` up to ``eps``.  The
    algebra is the numba kernel of :func:`dsp_separate.wiener` (one EM iteration started
    from the true images), in float64, band by band.

    References
    ----------
    .. [1] N. Q. K. Duong, E. Vincent and R. Gribonval, "Under-determined reverberant audio
       source separation using a full-rank spatial covariance model", IEEE Trans. Audio,
       Speech, and Language Processing 18(7), pp. 1830-1840, 2010.
    .. [2] E. Vincent, R. Gribonval and M. D. Plumbley, "Oracle estimators for the
       benchmarking of source separation algorithms", Signal Processing 87(8), 2007.

    Examples
    --------
    Two sources that overlap completely in time and frequency but come from different
    directions (fixed gains: rank-one spatial covariances) are recovered exactly by the
    spatial filter, which no mask can do:

    >>> import numpy as np
    >>> from dsp_separate.separators.oracle import oracle_wiener
    >>> rng = np.random.default_rng(0)
    >>> s = rng.standard_normal((2, 65, 40)) + 1j * rng.standard_normal((2, 65, 40))
    >>> pan = np.array([[1.0, 0.2], [0.3, 1.0]])               # [source, channel]
    >>> S = pan[:, :, None, None] * s[:, None]                 # (2 src, 2 ch, 65, 40)
    >>> X = S.sum(axis=0)
    >>> est = oracle_wiener(X, S)
    >>> err = np.sum(np.abs(est - S) ** 2) / np.sum(np.abs(S) ** 2)
    >>> bool(err < 1e-10), bool(np.allclose(est.sum(axis=0), X))
    (True, True)
    """
    X = check_stft_matrix(X, "X", min_ndim=2)
    S = _check_images(X, S)
    eps = None if eps is None else check_positive_float(eps, "eps")
    return _oracle_wiener(X, S, eps)


def _oracle_wiener(X, S, eps=None):
    """:func:`oracle_wiener` without the checks: one EM iteration of
    :func:`dsp_separate.wiener` started from the true images (the same numba kernel)."""
    return _wiener(X, None, 1, eps, init_images=S.astype(X.dtype, copy=False))


# ----------------------------------------------------------------------------------------
# the separators


class _OracleSeparator(Separator):
    """Shared part of the oracle separators: checking and transforming ``references``."""

    tags = Tags(needs_references=True, n_sources="references")

    def separate(self, y, sr, *, references=None, keep=None, **kwargs):
        """Separate a mixture, knowing its true sources.

        Parameters
        ----------
        y : ndarray, shape (..., n_samples), float32 or float64
            The mixture, channel-first.  Not modified.
        sr : int
            Sampling rate in Hz.
        references : dict of str to ndarray, or ndarray
            The true sources (source images for multichannel input), each shaped like
            ``y``: a dict ``{name: signal}`` (the names become the source names, in order),
            or an array ``(n_src,) + y.shape`` (sources named ``"source_0"``, ...).
            Not modified.
        keep : {None, "stfts", "masks", "all"}, optional
            See :meth:`Separator.separate`.

        Returns
        -------
        Separation
            One source per reference, with the shape, length and dtype of ``y``.
        """
        if kwargs:
            raise ParameterError(
                f"{sorted(kwargs)}: {type(self).__name__}.separate takes only references= "
                "and keep="
            )
        return super().separate(y, sr, keep=keep, references=references)

    def source_names(self, n_channels=None, references=None) -> tuple:
        if isinstance(references, dict):
            return tuple(references)
        if references is None:
            return super().source_names(n_channels, references)
        return tuple(f"source_{j}" for j in range(len(references)))

    def _estimate(self, X, *, y, sr, stft, references=None):
        refs = _check_references(references, y, type(self).__name__)
        names = list(refs)
        S = stft._forward(np.stack([refs[n] for n in names]))
        return self._from_references(X, S, names)

    def _from_references(self, X, S, names):
        raise NotImplementedError


def _check_references(references, y: np.ndarray, owner: str) -> dict:
    """``references`` as ``{name: array shaped like y, dtype of y}``."""
    if references is None:
        raise ParameterError(
            f"references=None: {owner} is an oracle and needs the true sources, "
            "separate(y, sr, references=...)"
        )
    if isinstance(references, dict):
        if not references:
            raise ParameterError("references={}: needs at least one source")
        items = list(references.items())
        for name, _ in items:
            if not isinstance(name, str) or not name:
                raise ParameterError(
                    f"references: source name {name!r} must be a non-empty string"
                )
    elif isinstance(references, (np.ndarray, list, tuple)):
        stack = check_audio(np.asarray(references), "references")
        if stack.ndim != y.ndim + 1:
            raise ParameterError(
                f"references={describe(stack)}: must have shape (n_src,) + y.shape = "
                f"(n_src,) + {y.shape}"
            )
        items = [(f"source_{j}", stack[j]) for j in range(stack.shape[0])]
    else:
        raise ParameterError(
            f"references={describe(references)}: must be a dict {{name: signal}} or an "
            "array (n_src,) + y.shape"
        )
    refs = {}
    for name, signal in items:
        signal = check_audio(signal, f"references[{name!r}]")
        if signal.shape != y.shape:
            raise ParameterError(
                f"references[{name!r}]={describe(signal)}: must have the shape of the "
                f"mixture y {y.shape}"
            )
        refs[name] = signal.astype(y.dtype, copy=False)
    return refs


class IdealBinaryMask(_OracleSeparator):
    """Ideal binary mask: each time-frequency bin goes wholly to the loudest true source.

    :math:`m_j(f, t) = 1` if :math:`|S_j(f, t)| \\ge |S_k(f, t)|` for every :math:`k`
    (ties to the first source), else 0, channel by channel.  The masks sum to one, so the
    sources sum to the mixture.

    Parameters
    ----------
    stft : STFT or dict, optional
        Transform; default ``STFT(n_fft=2048, hop_length=512)``.

    See Also
    --------
    IdealRatioMask : soft masks; ``IdealRatioMask(power=np.inf)`` is the same separator.

    References
    ----------
    .. [1] D. Wang, "On ideal binary mask as the computational goal of auditory scene
       analysis", in Speech Separation by Humans and Machines, Springer, 2005.

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> from dsp_separate.separators.oracle import IdealBinaryMask
    >>> sr = 16000
    >>> t = np.arange(sr) / sr
    >>> refs = {"low": np.sin(2 * np.pi * 300 * t), "high": np.sin(2 * np.pi * 3000 * t)}
    >>> y = refs["low"] + refs["high"]
    >>> result = IdealBinaryMask().separate(y, sr, references=refs)
    >>> result.names
    ('low', 'high')
    >>> bool(ds.metrics.si_sdr(refs["low"], result["low"]) > 30)
    True
    """

    name = "ibm"
    summary = "oracle: ideal binary mask from the true sources (Wang 2005)"

    def __init__(self, stft=None):
        self.stft = stft

    def _from_references(self, X, S, names):
        masks = _binary_masks(np.abs(S))
        return Masks(dict(zip(names, masks, strict=True)))


class IdealRatioMask(_OracleSeparator):
    r"""Ideal ratio mask from the true source magnitudes.

    .. math::

        m_j(f, t) = \frac{|S_j(f, t)|^p}{\sum_k |S_k(f, t)|^p}

    channel by channel; ``power=1`` is the magnitude ratio mask, ``power=2`` the
    single-channel Wiener gain.  The masks sum to one, so the sources sum to the mixture.

    Parameters
    ----------
    power : float, default 2.0
        Exponent :math:`p > 0`; ``np.inf`` gives the ideal binary mask.  The default is the
        power (Wiener-like) mask, usually the tighter of the two bounds.
    stft : STFT or dict, optional
        Transform; default ``STFT(n_fft=2048, hop_length=512)``.

    References
    ----------
    .. [1] A. Liutkus and R. Badeau, "Generalized Wiener filtering with fractional power
       spectrograms", Proc. IEEE ICASSP, 2015.
    .. [2] E. Vincent, R. Gribonval and M. D. Plumbley, "Oracle estimators for the
       benchmarking of source separation algorithms", Signal Processing 87(8), 2007.

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> from dsp_separate.separators.oracle import IdealRatioMask
    >>> rng = np.random.default_rng(0)
    >>> refs = np.stack([np.sin(np.arange(16000) * 0.1), 0.3 * rng.standard_normal(16000)])
    >>> result = IdealRatioMask(power=2).separate(refs.sum(axis=0), 16000, references=refs)
    >>> result.names
    ('source_0', 'source_1')
    >>> bool(ds.metrics.si_sdr(refs[0], result["source_0"]) > 20)
    True
    """

    name = "irm"
    summary = "oracle: ideal ratio mask |S_j|^p / sum |S_k|^p from the true sources"

    def __init__(self, power=2.0, stft=None):
        self.power = power
        self.stft = stft

    def _validate_params(self):
        _check_power(self.power)

    def _from_references(self, X, S, names):
        masks = _ratio_masks(np.abs(S), self.power)
        return Masks(dict(zip(names, masks, strict=True)))


class PhaseSensitiveMask(_OracleSeparator):
    r"""Truncated phase-sensitive mask from the true sources (Erdogan et al. 2015).

    :math:`\tilde m_j = |S_j| / |X| \cos(\angle S_j - \angle X)`, truncated to [0, 1] and
    renormalised to sum to one (see :func:`phase_sensitive_masks`), channel by channel.
    Where no truncation is needed, this is the real mask closest to the source in every
    bin.

    Parameters
    ----------
    stft : STFT or dict, optional
        Transform; default ``STFT(n_fft=2048, hop_length=512)``.

    References
    ----------
    .. [1] H. Erdogan, J. R. Hershey, S. Watanabe and J. Le Roux, "Phase-sensitive and
       recognition-boosted speech separation using deep recurrent neural networks", Proc.
       IEEE ICASSP, 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate.separators.oracle import PhaseSensitiveMask
    >>> rng = np.random.default_rng(1)
    >>> refs = rng.standard_normal((3, 2, 8000)).astype(np.float32)   # 3 stereo sources
    >>> result = PhaseSensitiveMask().separate(refs.sum(axis=0), 8000, references=refs,
    ...                                       keep="masks")
    >>> masks = np.stack(list(result.masks.values()))
    >>> bool(masks.min() >= 0 and masks.max() <= 1), bool(np.allclose(masks.sum(axis=0), 1))
    (True, True)
    """

    name = "psm"
    summary = "oracle: truncated phase-sensitive mask from the true sources (Erdogan 2015)"

    def __init__(self, stft=None):
        self.stft = stft

    def _from_references(self, X, S, names):
        masks = _phase_sensitive_masks(X, S)
        return Masks(dict(zip(names, masks, strict=True)))


class OracleWiener(_OracleSeparator):
    r"""Multichannel Wiener filter with the true source images' statistics.

    Source variances :math:`v_j(f, t)` and spatial covariance matrices
    :math:`\mathbf{R}_j(f)` are measured on the true source images, and each image is
    estimated as :math:`v_j \mathbf{R}_j (\sum_k v_k \mathbf{R}_k)^{-1} \mathbf{x}`
    (:func:`oracle_wiener`).  On multichannel mixtures it uses the direction of each source
    and so beats every mask; on mono input it is ``IdealRatioMask(power=2)``.

    Parameters
    ----------
    eps : float, optional
        Relative regularisation of the covariances (default ``1e-8``, see
        :func:`oracle_wiener`).
    stft : STFT or dict, optional
        Transform; default ``STFT(n_fft=2048, hop_length=512)``.

    References
    ----------
    .. [1] N. Q. K. Duong, E. Vincent and R. Gribonval, "Under-determined reverberant audio
       source separation using a full-rank spatial covariance model", IEEE Trans. Audio,
       Speech, and Language Processing 18(7), pp. 1830-1840, 2010.
    .. [2] F.-R. Stöter, A. Liutkus and N. Ito, "The 2018 Signal Separation Evaluation
       Campaign", Proc. LVA/ICA, 2018 (its "MWF" oracle).

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> from dsp_separate.separators.oracle import OracleWiener
    >>> rng = np.random.default_rng(0)
    >>> dry = rng.standard_normal((2, 16000))                  # two noises, fully overlapping
    >>> pan = np.array([[1.0, 0.2], [0.3, 1.0]])               # [source, channel]
    >>> refs = {"a": pan[0][:, None] * dry[0], "b": pan[1][:, None] * dry[1]}
    >>> y = refs["a"] + refs["b"]
    >>> result = OracleWiener().separate(y, 16000, references=refs)
    >>> bool(ds.metrics.si_sdr(refs["a"].ravel(), result["a"].ravel()) > 20)
    True
    """

    name = "oracle_wiener"
    summary = "oracle: multichannel Wiener filter with the true images' statistics"
    tags = _OracleSeparator.tags.replace(kind="filter")

    def __init__(self, eps=None, stft=None):
        self.eps = eps
        self.stft = stft

    def _validate_params(self):
        if self.eps is not None:
            check_positive_float(self.eps, "eps")

    def _from_references(self, X, S, names):
        images = _oracle_wiener(X, S, self.eps)
        return Images(dict(zip(names, images, strict=True)))


class MixtureAsEstimate(_OracleSeparator):
    """The trivial baseline: the mixture itself is the estimate of every source.

    Its scores are the "input" scores of a mixture (e.g. the input SDR from which an SDR
    improvement is counted); a method that does not beat it has not separated anything.
    The mixture itself, not ``mixture / n_src``, is returned: scale-invariant scores (BSS
    Eval SDR, SI-SDR) are the same for both, and the unscaled mixture is the convention of
    evaluation campaigns.  Consequently the estimates do **not** sum to the mixture
    (``tags.sums_to_mixture`` is False); the references only give the names and number of the
    sources.

    Parameters
    ----------
    stft : STFT or dict, optional
        Transform used to pass the mixture through the shared stage (its inverse returns the
        mixture to float precision); default ``STFT(n_fft=2048, hop_length=512)``.

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate.separators.oracle import MixtureAsEstimate
    >>> refs = np.random.default_rng(0).standard_normal((2, 8000)).astype(np.float32)
    >>> y = refs.sum(axis=0)
    >>> result = MixtureAsEstimate().separate(y, 8000, references=refs)
    >>> bool(np.allclose(result["source_0"], y, atol=1e-5)), result.masks is None
    (True, True)
    """

    name = "mixture"
    summary = "baseline: the mixture itself as the estimate of every source"
    tags = _OracleSeparator.tags.replace(kind="filter", sums_to_mixture=False)

    def __init__(self, stft=None):
        self.stft = stft

    def _from_references(self, X, S, names):
        return Images({name: X.copy() for name in names})
