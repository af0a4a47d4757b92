r"""The separation contract: a separator is a function from a mixture STFT to source estimates.

A subclass implements one method, :meth:`Separator._estimate`, which receives the mixture STFT
and returns one of

* :class:`Models` — non-negative source models (magnitude or power spectrograms); the shared
  stage turns them into masks (``mask="soft"`` with ``power``, or ``"binary"``);
* :class:`Masks` — masks in [0, 1] made by the method itself (e.g. HPSS with a margin); if
  they sum to less than one, the remainder becomes a ``"residual"`` source;
* :class:`Images` — complex source STFT images (filter methods: multichannel Wiener, ICA/IVA),
  never squeezed through a real mask.

Everything else happens once, here: validation, the STFT, masks, optional multichannel
Wiener refinement (``wiener_iterations``), inverse STFT to the input's exact length and dtype,
and the :class:`~dsp_separate.result.Separation` result.  Nothing about a signal is stored on
the separator, so one instance can be reused, cloned and shared between threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from ._stft import STFT
from ._validation import (
    check_audio,
    check_choice,
    check_nonnegative_int,
    check_sr,
    describe,
)
from .exceptions import ParameterError
from .masks import MASK_TYPES, _check_power, apply_masks, binary_masks, ratio_masks
from .result import Separation

__all__ = ["Separator", "Models", "Masks", "Images", "RESIDUAL", "DEFAULT_STFT"]

#: Name of the source that holds what a method's masks leave over.
RESIDUAL = "residual"

#: Transform used when a separator's ``stft`` parameter is None.
DEFAULT_STFT = dict(n_fft=2048, hop_length=512)


@dataclass(frozen=True)
class Models:
    """Non-negative source models, name -> array shaped like the mixture STFT."""

    values: dict


@dataclass(frozen=True)
class Masks:
    """Masks in [0, 1], name -> array shaped like the mixture STFT; sum <= 1."""

    values: dict


@dataclass(frozen=True)
class Images:
    """Complex source images, name -> array shaped like the mixture STFT."""

    values: dict


class Separator(BaseEstimator):
    """Base class of every separator.

    Subclasses define ``__init__`` storing hyperparameters only (scikit-learn's rule: one
    attribute per argument, unchanged, no validation there), and :meth:`_estimate`.
    Hyperparameters are validated at the start of every :meth:`separate` call.

    Class attributes read by the registry, the command line and the test battery: ``name``
    (e.g. ``"hpss"``), ``summary`` (one line), ``kind`` (``"mask"`` or ``"filter"``),
    ``needs_references`` (oracle separators, whose :meth:`separate` takes ``references=``)
    and ``sums_to_mixture`` (False only for baselines that do not split the mixture).
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    kind: ClassVar[str] = "mask"
    needs_references: ClassVar[bool] = False
    sums_to_mixture: ClassVar[bool] = True

    # -------------------------------------------------------------- to be overridden
    def _validate_params(self) -> None:
        """Check the method's own hyperparameters; raise ParameterError."""

    def _estimate(self, X: np.ndarray, *, sr: int, stft: STFT, **kwargs):
        """Return :class:`Models`, :class:`Masks` or :class:`Images` for mixture STFT ``X``."""
        raise NotImplementedError

    # -------------------------------------------------------------- shared stage
    def _transform(self) -> STFT:
        stft = getattr(self, "stft", None)
        if stft is None:
            return STFT(**DEFAULT_STFT)
        if isinstance(stft, STFT):
            return stft
        if isinstance(stft, dict):
            try:
                return STFT(**stft)
            except TypeError as exc:
                raise ParameterError(f"stft={stft!r}: {exc}") from None
        raise ParameterError(f"stft={describe(stft)}: must be an STFT, a dict of its "
                             "parameters, or None")

    def _validate_common(self) -> None:
        if hasattr(self, "mask"):
            check_choice(self.mask, "mask", MASK_TYPES)
        if hasattr(self, "power"):
            _check_power(self.power)
        check_nonnegative_int(getattr(self, "wiener_iterations", 0), "wiener_iterations")

    def check_params(self) -> None:
        """Validate the hyperparameters; raise ParameterError naming the bad one."""
        self._validate_common()
        self._validate_params()
        transform = self._transform()
        if not transform.invertible:
            raise ParameterError(
                f"stft={transform!r}: hop_length={transform.hop_length} violates the nonzero "
                "overlap-add (NOLA) condition for this window, so the sources could not be "
                "resynthesised; use a smaller hop_length"
            )

    def separate(self, y: np.ndarray, sr: int, **kwargs) -> Separation:
        """Separate a mixture into sources.

        Parameters
        ----------
        y : ndarray, shape (..., n_samples), float32 or float64
            The mixture, channel-first: ``(n_samples,)`` mono, ``(n_channels, n_samples)``,
            or ``(batch, n_channels, n_samples)``.  Not modified.
        sr : int
            Sampling rate in Hz.
        **kwargs
            Method-specific inputs, e.g. ``references=`` for oracle separators.

        Returns
        -------
        Separation
            Sources with the shape, length and dtype of ``y``.
        """
        self.check_params()
        y = check_audio(y, "y")
        sr = check_sr(sr)
        transform = self._transform()
        X = transform.forward(y)
        estimate = self._estimate(X, sr=sr, stft=transform, **kwargs)
        return self._resynthesize(y, X, estimate, transform, sr)

    def _masks_from(self, estimate, X) -> dict:
        if isinstance(estimate, Models):
            names = list(estimate.values)
            stack = np.stack([estimate.values[n] for n in names])
            if getattr(self, "mask", "soft") == "binary":
                masks = binary_masks(stack)
            else:
                masks = ratio_masks(stack, power=getattr(self, "power", 1.0))
            return dict(zip(names, masks))
        masks = dict(estimate.values)
        real = np.float32 if X.dtype == np.complex64 else np.float64
        total = sum(m for m in masks.values())
        leftover = np.clip(1.0 - total, 0.0, 1.0).astype(real, copy=False)
        if RESIDUAL not in masks and (
            getattr(self, "_always_residual", False) or leftover.max() > 1e-6
        ):
            masks[RESIDUAL] = leftover
        return {k: np.asarray(v, dtype=real) for k, v in masks.items()}

    def _resynthesize(self, y, X, estimate, transform, sr) -> Separation:
        if not isinstance(estimate, (Models, Masks, Images)):
            raise TypeError(
                f"{type(self).__name__}._estimate returned {type(estimate).__name__}; "
                "expected Models, Masks or Images"
            )
        if isinstance(estimate, Images):
            masks = None
            names = list(estimate.values)
            images = np.stack([estimate.values[n] for n in names]).astype(X.dtype, copy=False)
        else:
            masks = self._masks_from(estimate, X)
            names = list(masks)
            images = apply_masks(X, np.stack([masks[n] for n in names]))
        k = getattr(self, "wiener_iterations", 0)
        if k:
            from ._wiener import wiener

            images = wiener(X, np.abs(images), iterations=k)
            masks = None  # the images are Wiener filters of the mixture, not these masks
        signals = transform.inverse(images, length=y.shape[-1]).astype(y.dtype, copy=False)
        return Separation(
            dict(zip(names, signals)),
            sr=sr,
            stft=transform,
            stfts=dict(zip(names, images)),
            masks=masks,
            method=repr(self),
        )
