r"""Multichannel Wiener filtering on top of any mask separator (a *filter* method).

The inner separator gives rough source models; :func:`dsp_separate.wiener` turns them into
complex source images by EM over source power spectra and spatial covariance matrices
(Duong, Vincent & Gribonval 2010; Nugraha, Liutkus & Vincent 2016).  Unlike a real mask,
the per-bin complex filters :math:`\mathbf{G}_j(f,t) = v_j \mathbf{R}_j \mathbf{C}_x^{-1}`
can use the phase and level differences between channels.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._validation import check_nonnegative_int, describe
from ..base import Images, Separator, Tags
from ..exceptions import ParameterError

__all__ = ["MultichannelWiener"]


class MultichannelWiener(Separator):
    r"""Multichannel Wiener filter whose source models come from another separator.

    Parameters
    ----------
    separator : Separator or str, default "hpss"
        The mask separator that provides initial source models (an instance, or a registry
        name such as ``"hpss"`` for its defaults).  Its masks are applied to the mixture and
        the magnitudes of the masked STFTs initialise the EM.
    wiener_iterations : int, default 1
        EM iterations (0 returns the inner separator's masked sources as images); the same
        name as the ``wiener_iterations`` of every mask separator.
    iterations : int, optional
        Deprecated spelling of ``wiener_iterations`` (it warns; it will be removed).
    stft : STFT or dict, optional
        Transform; default: the inner separator's.

    Notes
    -----
    A filter method: :attr:`Separation.masks` is None, and the source images are complex
    per-bin filters of the mixture.  They still sum to the mixture.

    References
    ----------
    .. [1] N. Q. K. Duong, E. Vincent and R. Gribonval, "Under-determined reverberant audio
       source separation using a full-rank spatial covariance model", IEEE TASLP 18(7), 2010.
    .. [2] A. A. Nugraha, A. Liutkus and E. Vincent, "Multichannel audio source separation
       with deep neural networks", IEEE/ACM TASLP 24(9), 2016.

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> from dsp_separate.synth import harmonic_percussive_mixture
    >>> y, truth = harmonic_percussive_mixture(sr=16000, seconds=3.0, n_channels=2)
    >>> result = ds.MultichannelWiener("hpss", wiener_iterations=2).separate(y, 16000)
    >>> result.names, result.masks is None
    (('harmonic', 'percussive'), True)
    >>> bool(np.allclose(result["harmonic"] + result["percussive"], y, atol=1e-4))
    True
    """

    name = "wiener"
    summary = "multichannel Wiener EM over another separator's source models (Duong 2010)"
    tags = Tags(kind="filter")

    def __init__(self, separator="hpss", wiener_iterations=1, stft=None, iterations=None):
        self.separator = separator
        self.wiener_iterations = wiener_iterations
        self.stft = stft
        self.iterations = iterations

    def _n_iterations(self) -> int:
        if self.iterations is not None:
            warnings.warn(
                "MultichannelWiener(iterations=...) is deprecated; use wiener_iterations=",
                FutureWarning, stacklevel=4)
            return check_nonnegative_int(self.iterations, "iterations")
        return check_nonnegative_int(self.wiener_iterations, "wiener_iterations")

    def _inner(self) -> Separator:
        inner = self.separator
        if isinstance(inner, str):
            from . import get_separator

            inner = get_separator(inner)()
        if not isinstance(inner, Separator) or inner.tags.needs_references:
            raise ParameterError(
                f"separator={describe(self.separator)}: must be a (non-oracle) Separator or "
                "a registry name such as 'hpss'"
            )
        if isinstance(inner, MultichannelWiener):
            raise ParameterError("separator=MultichannelWiener(...): cannot nest Wiener filters")
        if inner.tags.kind == "time":
            raise ParameterError(
                f"separator={describe(self.separator)}: a time-domain separator gives no "
                "STFT source models to refine"
            )
        inner_k = inner.get_params(deep=False).get("wiener_iterations")
        if inner_k:
            raise ParameterError(
                f"separator={describe(self.separator)}: has wiener_iterations="
                f"{inner_k!r}, which MultichannelWiener would not run; set it "
                "to 0 and set MultichannelWiener's own wiener_iterations"
            )
        return inner

    def _validate_params(self):
        self._n_iterations()
        inner = self._inner()
        inner.check_params()
        inner._check_fitted()  # a trained inner separator must have been fitted (or loaded)

    def source_names(self, n_channels=None, references=None) -> tuple:
        return self._inner().source_names(n_channels, references)

    def _transform(self, sr=None):
        if self.stft is None:
            return self._inner()._transform(sr)
        return super()._transform(sr)

    def _estimate(self, X, *, y, sr, stft, **kwargs):
        from .._wiener import _wiener

        inner = self._inner()
        estimate = inner._estimate(X, y=y, sr=sr, stft=stft, **kwargs)
        if isinstance(estimate, Images):
            names = list(estimate.values)
            models = np.abs(np.stack([estimate.values[n] for n in names]))
        else:
            masks = inner._masks_of(estimate, X)
            names = list(masks)
            models = np.stack([np.abs(masks.pop(n) * X) for n in names])
        images = _wiener(X, models, self._n_iterations())
        return Images(dict(zip(names, images)))
