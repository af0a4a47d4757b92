r"""The separation contract: every separator is a function from a mixture to source estimates.

A subclass implements :meth:`Separator._estimate`, which receives the mixture STFT ``X``
(``None`` for time-domain methods) *and* the waveform ``y``, and returns one of four
*estimate kinds*, each carrying its own settings:

* :class:`Models` — non-negative source models (magnitude or power spectrograms) with the
  ``mask`` kind (``"soft"`` / ``"binary"``) and ``power`` that turn them into masks;
* :class:`Masks` — masks in [0, 1] made by the method itself (e.g. HPSS with a margin) and
  whether their remainder ``1 - sum`` is returned as a ``"residual"`` source;
* :class:`Images` — complex source STFT images (filter methods: multichannel Wiener, IVA);
* :class:`SignalImages` — time-domain source images shaped like the input (FastICA).

Every estimate also carries ``info``, a dict of what the method wants to report (the
objective per iteration of an iterative method, the DUET histogram, the detected period),
which becomes :attr:`Separation.info <dsp_separate.result.Separation.info>`.

Everything else happens once, here (the *shared stage*, see ``docs/separation.md`` for a
diagram): validation at the public boundary, the forward STFT, masks, optional multichannel
Wiener refinement (``wiener_iterations`` on the estimate), resynthesis of one source at a time
to the input's exact length and dtype, and the :class:`~dsp_separate.result.Separation`.

What a method is, is said once, in its class-level :class:`Tags` (``Separator.tags``), and
read by the base, the registry, the command line and the generic test battery: whether it
needs ``fit``, which channel counts it accepts, how its number of sources is set, and whether
it can run block by block (:meth:`Separator.stream`, :meth:`Separator.separate_file`).

Nothing about a signal is stored on a separator: one instance can be reused, cloned and shared
between threads.  What ``fit`` learns from training examples is stored in attributes whose
names end in ``_`` (scikit-learn's convention).
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ._config import in_threads
from ._stft import STFT
from ._validation import (
    check_audio,
    check_channel_first,
    check_choice,
    check_nonnegative_int,
    check_sr,
    describe,
)
from .exceptions import NotFittedError, ParameterError
from .masks import MASK_TYPES, _binary_masks, _check_power, _ratio_masks_of
from .result import Separation

__all__ = [
    "Separator",
    "Tags",
    "Models",
    "Masks",
    "Images",
    "SignalImages",
    "RESIDUAL",
    "DEFAULT_STFT",
    "KEEP",
]

#: Name of the source that holds what a method's masks leave over.
RESIDUAL = "residual"

#: Transform used when a separator's ``stft`` parameter is None.
DEFAULT_STFT = dict(n_fft=2048, hop_length=512)

#: What :meth:`Separator.separate` can keep besides the sources (``keep=``).
KEEP = ("stfts", "masks")


# ---------------------------------------------------------------------------- the estimates
@dataclass(frozen=True)
class Models:
    """Non-negative source models, name -> array shaped like the mixture STFT.

    ``mask`` and ``power`` say how the shared stage turns them into masks
    (:func:`~dsp_separate.masks.ratio_masks` with ``power``, or binary masks);
    ``wiener_iterations > 0`` refines the masked sources by multichannel Wiener EM.
    ``scratch=True`` says the arrays are the method's own temporaries: the shared stage may
    then write the masks over them (for two sources, no mask-sized array at all).
    """

    values: dict
    mask: str = "soft"
    power: float = 1.0
    wiener_iterations: int = 0
    info: dict = field(default_factory=dict)
    scratch: bool = False


@dataclass(frozen=True)
class Masks:
    """Masks in [0, 1], name -> array shaped like the mixture STFT; their sum is at most 1.

    With ``residual=True`` the remainder ``1 - sum`` is returned as the ``"residual"``
    source (always, so the source names do not depend on the input); with
    ``residual=False`` the masks must sum to one.

    ``complement``: the name of one more source, after those of ``values``, whose mask is
    ``1 - sum`` and is not given (for masks that sum to one by construction, e.g. a gain
    ``G`` and ``1 - G``).  The shared stage then skips its sum-to-one check and forms that
    mask only where it is needed (``keep="masks"`` or ``"stfts"``, Wiener refinement, block
    by block, or a transform where the last source cannot be the mixture minus the
    others).  Not with ``residual=True``.
    """

    values: dict
    residual: bool = False
    wiener_iterations: int = 0
    info: dict = field(default_factory=dict)
    complement: str | None = None

    def __post_init__(self):
        if self.complement is not None and (self.residual or self.complement in self.values):
            raise ParameterError(f"complement={self.complement!r}: not with residual=True "
                                 "nor the name of a given mask")


@dataclass(frozen=True)
class Images:
    """Complex source STFT images, name -> array shaped like the mixture STFT."""

    values: dict
    wiener_iterations: int = 0
    info: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SignalImages:
    """Time-domain source images, name -> array shaped like the input ``y``.

    For methods that never go through an STFT (time-domain ICA).  The result still has
    ``stfts`` on request (computed from the sources) and everything else.
    """

    values: dict
    info: dict = field(default_factory=dict)


_ESTIMATES = (Models, Masks, Images, SignalImages)


# ---------------------------------------------------------------------------- the tags
@dataclass(frozen=True)
class Tags:
    """What a separator is, read in one place by the base, registry, CLI and test battery.

    Attributes
    ----------
    kind : {"mask", "filter", "time"}
        ``"mask"``: real masks of the mixture STFT (:class:`Models` or :class:`Masks`);
        ``"filter"``: complex source images (:class:`Images`); ``"time"``: time-domain
        images (:class:`SignalImages`), no STFT needed.
    requires_fit : bool
        :meth:`Separator.fit` must be called (on training examples) before separating.
    needs_references : bool
        An oracle: :meth:`Separator.separate` takes the true sources as ``references=``.
    needs_score : bool
        Score-informed: :meth:`Separator.separate` takes the score as ``notes=`` (a dict
        source name -> notes) and the sources are named by its keys
        (``source_names(notes=...)``).
    sums_to_mixture : bool
        The sources add up to the mixture (False only for baselines).
    min_channels, max_channels : int, int or None
        Accepted channel counts (``y.shape[-2]``; 1 for mono input); ``None``: no limit.
    n_sources : {"fixed", "parameter", "channels", "references"}
        How the number (and names) of sources is set: by the method and its parameters
        (e.g. HPSS's margin adds a residual), by an ``n_sources`` parameter (``source_0``,
        ...), by the channel count, or by the ``references`` of an oracle.
    streaming : {"causal", "bounded", "offline"}
        ``"causal"``: block by block with carried state, no look-ahead; ``"bounded"``: block
        by block with a context of :meth:`Separator.context_frames` frames; ``"offline"``:
        needs the whole signal (:meth:`Separator.stream` refuses).
    """

    kind: str = "mask"
    requires_fit: bool = False
    needs_references: bool = False
    needs_score: bool = False
    sums_to_mixture: bool = True
    min_channels: int = 1
    max_channels: int | None = None
    n_sources: str = "fixed"
    streaming: str = "offline"

    def __post_init__(self):
        check_choice(self.kind, "kind", ("mask", "filter", "time"))
        check_choice(self.n_sources, "n_sources", ("fixed", "parameter", "channels",
                                                   "references"))
        check_choice(self.streaming, "streaming", ("causal", "bounded", "offline"))

    def replace(self, **changes) -> Tags:
        """A copy with some tags changed (for subclasses: ``tags = Parent.tags.replace(...)``)."""
        return dataclasses.replace(self, **changes)


def _sum_to_one(masks: dict) -> bool:
    """Whether the masks sum to one in every bin, to a few ulps of their dtype."""
    it = iter(masks.values())
    total = np.array(next(it), copy=True)
    for m in it:
        total += m
    total -= 1.0
    np.abs(total, out=total)
    return bool(total.max() <= 8 * np.finfo(total.dtype).eps)


def _complement_mask(masks: dict) -> np.ndarray:
    """``1 - sum(masks)`` clipped to [0, 1], in the masks' dtype."""
    it = iter(masks.values())
    total = np.array(next(it), copy=True)
    for m in it:
        total += m
    np.subtract(1.0, total, out=total)
    return np.clip(total, 0.0, 1.0, out=total)


def _minus(a: np.ndarray, b: np.ndarray, out=None) -> np.ndarray:
    """``a - b`` (C-contiguous, same shape and dtype) into ``out`` (default: over ``a``),
    in the package's threads: one pass over long signals."""
    out = a if out is None else out
    fa, fb, fo = a.reshape(-1), b.reshape(-1), out.reshape(-1)
    in_threads(lambda lo, hi: np.subtract(fa[lo:hi], fb[lo:hi], out=fo[lo:hi]), fa.size,
               1 << 18)
    return out


def n_channels_of(y: np.ndarray) -> int:
    """Channel count of channel-first audio: 1 for ``(n,)``, else ``y.shape[-2]``."""
    return 1 if y.ndim == 1 else int(y.shape[-2])


def _check_keep(keep) -> frozenset:
    if keep is None:
        return frozenset()
    if isinstance(keep, str):
        keep = ("stfts", "masks") if keep == "all" else (keep,)
    try:
        items = frozenset(keep)
    except TypeError:
        items = None
    if items is None or not items <= set(KEEP):
        raise ParameterError(
            f"keep={describe(keep)}: must be None, 'stfts', 'masks', 'all' or a tuple of "
            "'stfts' and 'masks'"
        )
    return items


class _Params:
    """scikit-learn's hyperparameter protocol without importing scikit-learn.

    ``get_params`` / ``set_params`` (with ``deep`` nesting as ``inner__param``) and a
    ``repr`` that shows the parameters that differ from their defaults, so that
    :func:`sklearn.base.clone` and :class:`sklearn.model_selection.GridSearchCV`-style code
    work.  Written here because importing ``sklearn.base`` costs about half a second at
    start-up (it pulls in ``scipy.stats``), paid by every command-line call.
    """

    @classmethod
    def _param_names(cls) -> list:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self, deep: bool = True) -> dict:
        """The constructor parameters, ``{name: value}`` (nested ones as ``name__param``)."""
        out = {}
        for name in self._param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                for key, inner in value.get_params(deep=True).items():
                    out[f"{name}__{key}"] = inner
            out[name] = value
        return out

    def set_params(self, **params):
        """Set constructor parameters (``name__param`` reaches a nested separator)."""
        valid = self._param_names()
        nested = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ParameterError(
                    f"{name}={describe(value)}: not a parameter of {type(self).__name__}; "
                    f"its parameters are {', '.join(valid)}"
                )
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__).parameters
        parts = []
        for name in self._param_names():
            value = getattr(self, name)
            default = sig[name].default
            if default is not inspect.Parameter.empty and repr(value) == repr(default):
                continue
            parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


class Separator(_Params):
    """Base class of every separator.

    Subclasses define ``__init__`` storing hyperparameters only (scikit-learn's rule: one
    attribute per argument, unchanged, no validation there), :meth:`_validate_params`,
    :meth:`_estimate`, and, for fixed source names, :meth:`source_names`.  Hyperparameters
    are validated at the start of every :meth:`separate` call.

    Class attributes: ``name`` (registry name, e.g. ``"hpss"``), ``summary`` (one line),
    ``tags`` (a :class:`Tags`), ``param_choices`` (parameter -> allowed values, for the
    command line's help) and ``fitted_attributes`` (names set by :meth:`fit`).
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    tags: ClassVar[Tags] = Tags()
    param_choices: ClassVar[dict] = {}
    fitted_attributes: ClassVar[tuple] = ()

    # -------------------------------------------------------------- to be overridden
    def _validate_params(self) -> None:
        """Check the method's own hyperparameters; raise ParameterError."""

    def _estimate(self, X, *, y, sr: int, stft: STFT, **kwargs):
        """Source estimates for the mixture STFT ``X`` (``None`` for ``kind="time"``).

        Parameters
        ----------
        X : ndarray, shape (..., n_freq, n_frames), complex, or None
            The mixture STFT (checked, finite).
        y : ndarray, shape (..., n_samples), float32 or float64
            The mixture waveform (checked, finite).  Not to be modified.
        sr : int
        stft : STFT
        **kwargs
            Method-specific inputs (``references=`` for oracles).

        Returns
        -------
        Models, Masks, Images or SignalImages
        """
        raise NotImplementedError

    def source_names(self, n_channels: int | None = None, references=None) -> tuple:
        """The names of the sources :meth:`separate` returns, fixed by the parameters.

        Parameters
        ----------
        n_channels : int, optional
            Needed where the number of sources is the channel count.
        references : sequence of str, optional
            The reference names, for oracles.
        """
        how = self.tags.n_sources
        if how == "parameter":
            return tuple(f"source_{i}" for i in range(int(self.n_sources)))
        if how == "channels":
            if n_channels is None:
                raise ParameterError(
                    f"n_channels=None: {type(self).__name__} has one source per channel; "
                    "give the channel count"
                )
            return tuple(f"source_{i}" for i in range(int(n_channels)))
        if how == "references":
            if references is None:
                raise ParameterError(
                    f"references=None: {type(self).__name__} names its sources after the "
                    "references"
                )
            return tuple(references)
        raise NotImplementedError(f"{type(self).__name__} must define source_names()")

    def context_frames(self, sr: int) -> tuple[int, int]:
        """STFT frames of context (before, after) one output frame depends on.

        Only for ``tags.streaming`` ``"bounded"`` or ``"causal"`` (after = 0) methods.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot run block by block")

    def streaming_mode(self) -> str:
        """``tags.streaming``, or ``"offline"`` when the parameters need the whole signal.

        Multichannel Wiener refinement (a ``wiener_iterations > 0`` parameter) estimates
        spatial covariances over every frame, so it makes any method offline.
        """
        if self.get_params(deep=False).get("wiener_iterations"):
            return "offline"
        return self.tags.streaming

    def _estimate_block(self, X, *, sr: int, stft: STFT, state):
        """Estimate for a block of frames with its context; returns ``(estimate, state)``.

        The block runner (:meth:`stream`) calls this on ``X`` of shape ``(n_channels, n_freq,
        before + n + after)``.  The default calls :meth:`_estimate` with no state (enough
        for bounded-context methods); causal methods override it to carry state.
        """
        return self._estimate(X, y=None, sr=sr, stft=stft), state

    # -------------------------------------------------------------- training
    def fit(self, examples=None, sr=None, **kwargs):
        """Learn from training examples; a no-op for methods that do not train.

        Methods tagged ``requires_fit`` override :meth:`_fit` and store what they learn in
        attributes ending in ``_`` (listed in ``fitted_attributes``).

        Returns
        -------
        self
        """
        if not self.tags.requires_fit:
            return self
        self.check_params()
        self._fit(examples, sr=sr, **kwargs)
        return self

    def _fit(self, examples, *, sr, **kwargs) -> None:
        raise NotImplementedError

    def is_fitted(self) -> bool:
        """Whether every fitted attribute exists (always True for untrained methods)."""
        return all(hasattr(self, a) for a in self.fitted_attributes)

    def _check_fitted(self) -> None:
        if self.tags.requires_fit and not self.is_fitted():
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet: call fit(...) with training "
                "examples (or load a trained model with dsp_separate.load_model) before "
                "separating"
            )

    # -------------------------------------------------------------- checks
    def _transform(self, sr: int | None = None) -> STFT:
        """The STFT of the ``stft`` parameter (default: 2048 / 512).

        ``sr`` is the sampling rate when it is known (``separate``, ``stream``), so that a
        method whose default transform depends on it (sizes in milliseconds) can override
        this one method; ``None`` when only the parameters are being checked.
        """
        stft = self.get_params(deep=False).get("stft")
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

    def check_params(self) -> None:
        """Validate the hyperparameters; raise ParameterError naming the bad one."""
        self._validate_params()
        transform = self._transform()
        if not transform.invertible:
            raise ParameterError(
                f"stft={transform!r}: hop_length={transform.hop_length} violates the nonzero "
                "overlap-add (NOLA) condition for this window, so the sources could not be "
                "resynthesised; use a smaller hop_length"
            )

    def _check_signal(self, y: np.ndarray, sr: int, transform) -> None:
        """Refuse parameters that this signal cannot take (e.g. a period longer than half
        the signal), with a ParameterError, before any transform runs.  ``y`` is checked
        audio; the default accepts everything."""

    def _check_channels(self, n_channels: int) -> None:
        tags = self.tags
        low, high = tags.min_channels, tags.max_channels
        if n_channels < low or (high is not None and n_channels > high):
            rule = (f"exactly {low}" if low == high else
                    f"at least {low}" if high is None else f"{low} to {high}")
            raise ParameterError(
                f"y: has {n_channels} channel(s); {type(self).__name__} needs {rule} "
                "channels (audio is channel-first: (n_channels, n_samples))"
            )

    # -------------------------------------------------------------- the shared stage
    def separate(self, y: np.ndarray, sr: int, *, keep=None, **kwargs) -> Separation:
        """Separate a mixture into sources.

        Parameters
        ----------
        y : ndarray, shape (..., n_samples), float16, float32 or float64
            The mixture, channel-first: ``(n_samples,)`` mono, ``(n_channels, n_samples)``,
            or ``(batch, n_channels, n_samples)``.  Not modified.
        sr : int
            Sampling rate in Hz.
        keep : {None, "stfts", "masks", "all"} or tuple, default None
            Keep each source's STFT image and/or mask on the result (memory: each is one
            spectrogram per source).  By default only the sources are kept;
            :attr:`Separation.stfts` then recomputes the STFTs of the sources on first access.
            Only mask methods have masks: methods that estimate images (``tags.kind`` of
            ``"filter"`` or ``"time"``, e.g. AuxIVA, FastICA) and Wiener-refined results
            (``wiener_iterations > 0``) leave :attr:`Separation.masks` as ``None``.
        **kwargs
            Method-specific inputs, e.g. ``references=`` for oracle separators.

        Returns
        -------
        Separation
            Sources with the shape, length and dtype of ``y``, named
            :meth:`source_names`.
        """
        self.check_params()
        self._check_fitted()
        keep = _check_keep(keep)
        in_dtype = y.dtype if isinstance(y, np.ndarray) else None
        y = check_audio(y, "y")
        sr = check_sr(sr)
        transform = self._transform(sr)
        check_channel_first(y, "y", window=transform.n_fft)
        self._check_channels(n_channels_of(y))
        self._check_signal(y, sr, transform)
        if self.tags.kind == "time":
            X = None
            estimate = self._estimate(None, y=y, sr=sr, stft=transform, **kwargs)
        elif self._magnitude_path():
            # the STFT stored frame by frame and |X| made in the same pass (see
            # _magnitude_path)
            X, S = transform._forward(y, frame_major=True, magnitude=True)
            estimate = self._estimate_magnitude(S, y=y, sr=sr, stft=transform, **kwargs)
            del S
        else:
            X = transform._forward(y, frame_major=self._frame_major)
            estimate = self._estimate(X, y=y, sr=sr, stft=transform, **kwargs)
        out_dtype = in_dtype if in_dtype == np.float16 else y.dtype
        return self._resynthesize(y, X, estimate, transform, sr, keep, out_dtype,
                                  self._expected_names(y, kwargs))

    #: A method whose estimate reads only the magnitudes ``np.abs(X)`` defines
    #: ``_estimate_magnitude(S, *, y, sr, stft, **kwargs)``, which returns what
    #: ``_estimate`` returns for ``X`` with ``np.abs(X) == S`` (see :meth:`_magnitude_path`).
    _estimate_magnitude = None

    #: True for a method that reads the STFT frame by frame (the enhancement recursions):
    #: ``separate`` then hands it an STFT stored frame by frame (the usual (..., F, T)
    #: shape, a view of a (..., T, F) array), which its kernels read as rows.
    _frame_major = False

    def _magnitude_path(self) -> bool:
        """Whether ``separate`` estimates from the magnitudes made with the STFT: the method
        defines ``_estimate_magnitude`` and no Wiener refinement follows.

        The forward STFT then stores the frames as they come out of the FFTs (no
        transpose) and writes ``|X|`` (F, T) from each chunk while it is in cache; the
        inverse STFT reads the frames back as rows.  On long signals this is about a tenth
        faster than a transposed STFT, a separate ``np.abs`` pass and a transposing inverse.
        ``|X|`` is ``sqrt(re^2 + im^2)`` in float64, within 2 ulps of :func:`numpy.abs`.
        """
        if self._estimate_magnitude is None:
            return False
        mro = type(self).__mro__

        def owner(name):
            return next(i for i, cls in enumerate(mro) if name in cls.__dict__)

        # a subclass that overrides _estimate below the class that gives
        # _estimate_magnitude has its own _estimate called
        if owner("_estimate") < owner("_estimate_magnitude"):
            return False
        return not self.get_params(deep=False).get("wiener_iterations")

    def _masks_of(self, estimate, X, complement: bool = True) -> dict:
        """The masks of a :class:`Models` or :class:`Masks` estimate (unchecked cores);
        ``complement=False``: without the mask of ``Masks.complement``."""
        real = np.float32 if X.dtype == np.complex64 else np.float64
        if isinstance(estimate, Models):
            names = list(estimate.values)
            values = [np.asarray(estimate.values[n], dtype=real) for n in names]
            if estimate.mask == "binary":
                masks = _binary_masks(np.stack(values))
            else:
                # two models: no stack; scratch models: the masks are written over them
                masks = _ratio_masks_of(values, estimate.power, overwrite=estimate.scratch)
            return dict(zip(names, masks))
        masks = {k: np.asarray(v, dtype=real) for k, v in estimate.values.items()}
        if estimate.residual:
            masks[RESIDUAL] = _complement_mask(masks)
        if estimate.complement is not None and complement:
            masks[estimate.complement] = _complement_mask(masks)
        return masks

    def _check_estimate(self, estimate, expected) -> None:
        if not isinstance(estimate, _ESTIMATES):
            raise TypeError(
                f"{type(self).__name__}._estimate returned {type(estimate).__name__}; "
                "expected Models, Masks, Images or SignalImages"
            )
        if isinstance(estimate, Models):
            check_choice(estimate.mask, "mask", MASK_TYPES)
            _check_power(estimate.power)
        if not isinstance(estimate, SignalImages):
            check_nonnegative_int(estimate.wiener_iterations, "wiener_iterations")
        names = tuple(estimate.values)
        if isinstance(estimate, Masks) and estimate.residual:
            names += (RESIDUAL,)
        if isinstance(estimate, Masks) and estimate.complement is not None:
            names += (estimate.complement,)
        if expected is not None and names != tuple(expected):
            raise RuntimeError(
                f"{type(self).__name__}._estimate returned sources {names}, but "
                f"source_names() says {tuple(expected)}"
            )

    def _expected_names(self, y, kwargs):
        refs = kwargs.get("references")
        try:
            if self.tags.needs_score:
                return self.source_names(n_channels_of(y), notes=kwargs.get("notes"))
            return self.source_names(n_channels_of(y), references=refs)
        except NotImplementedError:
            return None

    def _resynthesize(self, y, X, estimate, transform, sr, keep, out_dtype,
                      expected=None) -> Separation:
        self._check_estimate(estimate, expected)
        n = y.shape[-1]
        masks = images = None
        kept = {}
        if isinstance(estimate, SignalImages):
            sources = {k: np.asarray(v).astype(out_dtype, copy=False)
                       for k, v in estimate.values.items()}
            if "stfts" in keep:
                kept = {k: transform._forward(np.asarray(v, dtype=y.dtype))
                        for k, v in estimate.values.items()}
        else:
            if isinstance(estimate, Images):
                names = list(estimate.values)
                images = [np.asarray(estimate.values[k]).astype(X.dtype, copy=False)
                          for k in names]
            else:
                # a complement's mask is formed below, only if it is needed
                lazy = isinstance(estimate, Masks) and estimate.complement is not None
                masks = self._masks_of(estimate, X, complement=not lazy)
                names = list(masks) + ([estimate.complement] if lazy else [])
                if lazy and estimate.wiener_iterations:
                    masks[estimate.complement] = _complement_mask(masks)
            k = estimate.wiener_iterations
            if k:
                from ._wiener import _wiener

                if images is None:
                    models = np.stack([np.abs(masks[nm] * X) for nm in names])
                else:
                    models = np.abs(np.stack(images))
                images = list(_wiener(X, models, k))
                del models
                masks = None  # the images are Wiener filters of the mixture, not these masks
            # Masks that sum to one give sources that sum to the mixture, and the inverse
            # STFT is linear and reconstructs ``y`` exactly (centred, NOLA): the last source
            # is then ``y`` minus the others, equal to its own inverse STFT to float
            # precision relative to the mixture, and one inverse STFT cheaper (a third of a
            # 2-source separation).
            # Not for oracles: their sources are upper bounds, where a last source far below
            # the mixture must not carry the mixture's rounding error.  hop <= win / 2: the
            # last frame then reaches the end of the signal (librosa's framing otherwise
            # drops the tail, which would go to the last source).
            by_remainder = (
                masks is not None and len(names) > 1 and not self.tags.needs_references
                and transform._center and transform.invertible
                and 2 * transform._hop <= transform._win_length
                and (isinstance(estimate, Models) or estimate.complement is not None
                     or _sum_to_one(masks))
            )
            if masks is not None and names[-1] not in masks and (not by_remainder or keep):
                masks[names[-1]] = _complement_mask(masks)
            # y minus the sources so far, a new array from the first source on (y is only
            # read: a memmap or a view shares its memory under another object)
            rest = None
            y_c = np.ascontiguousarray(y, dtype=X.real.dtype) if by_remainder else None
            sources = {}
            for i, nm in enumerate(names):
                if by_remainder and i == len(names) - 1:
                    sig = rest
                    if "stfts" in keep:
                        kept[nm] = np.ascontiguousarray(masks[nm] * X)  # C order
                elif images is not None:
                    img = images[i]
                    sig = transform._inverse(img, n)
                    if "stfts" in keep:
                        kept[nm] = img
                    images[i] = None  # free each image once it is resynthesised
                else:
                    sig = transform._inverse(X, n, gain=masks[nm])
                    if "stfts" in keep:
                        kept[nm] = np.ascontiguousarray(masks[nm] * X)  # C order
                    if by_remainder:
                        rest = (_minus(y_c, sig, np.empty_like(sig)) if rest is None
                                else _minus(rest, sig))
                sources[nm] = sig.astype(out_dtype, copy=False)
        return Separation(
            sources,
            sr=sr,
            stft=transform,
            stfts=kept if "stfts" in keep else None,
            masks=masks if "masks" in keep else None,
            method=repr(self),
            info=estimate.info,
        )

    # -------------------------------------------------------------- block by block
    def stream(self, sr: int, n_channels: int, *, dtype=np.float32):
        """A block runner: feed audio block by block, get the separated blocks back.

        Only for methods tagged ``streaming="bounded"`` or ``"causal"``.  The output is the
        same as :meth:`separate` on the whole signal (to float rounding), delayed by the
        method's look-ahead.

        Parameters
        ----------
        sr : int
            Sampling rate in Hz.
        n_channels : int
            Channels of every block (blocks are ``(n_channels, n)`` or ``(n,)`` for mono).
        dtype : {np.float32, np.float64}, default np.float32
            Working and output dtype.

        Returns
        -------
        BlockRunner
            With ``process(block) -> dict`` (the samples that are final so far, per source)
            and ``flush() -> dict`` (the rest, at the end of the signal).

        Examples
        --------
        >>> import numpy as np
        >>> import dsp_separate as ds
        >>> y = np.random.default_rng(0).standard_normal((2, 40000)).astype(np.float32)
        >>> sep = ds.HPSS(kernel_size=17)
        >>> runner = sep.stream(16000, n_channels=2)
        >>> parts = [runner.process(y[:, i:i + 4096]) for i in range(0, 40000, 4096)]
        >>> parts.append(runner.flush())
        >>> harmonic = np.concatenate([p["harmonic"] for p in parts], axis=-1)
        >>> whole = sep.separate(y, 16000)["harmonic"]
        >>> bool(np.allclose(harmonic, whole, atol=1e-5))
        True
        """
        from ._stream import BlockRunner

        return BlockRunner(self, sr, n_channels, dtype=dtype)

    def separate_file(self, in_path, out_dir, *, format=None, subtype=None, prefix=None,
                      block_seconds: float = 10.0, progress=None) -> list:
        """Separate an audio file into one file per source, with bounded memory.

        Methods tagged ``streaming`` ``"bounded"`` or ``"causal"`` read, separate and write
        the file block by block (memory does not grow with its length); others read it
        whole.  Outputs are written to temporary files and renamed when complete, so an
        error never leaves a half-written file.

        Parameters
        ----------
        in_path : str or os.PathLike
            Input audio file (anything soundfile reads).
        out_dir : str or os.PathLike
            Output folder (created if missing).
        format : str, optional
            Output format (``"wav"``, ``"flac"``, ...); default: the input's.
        subtype : str, optional
            soundfile subtype; default: the input's (24-bit in, 24-bit out).  Where an
            integer subtype would clip a source, a warning says so and the file is written
            as float instead.
        prefix : str, optional
            Put before each source name; default ``"<input stem>_"``.
        block_seconds : float, default 10.0
            Length of the blocks read at a time.
        progress : callable, optional
            Called as ``progress(seconds_done, seconds_total)`` after each block.

        Returns
        -------
        paths : list of pathlib.Path
            The files written, in source order.
        """
        from ._stream import separate_file

        return separate_file(self, in_path, out_dir, format=format, subtype=subtype,
                             prefix=prefix, block_seconds=block_seconds, progress=progress)


# ---------------------------------------------------------------------------- trained models
def _encode_param(value, name):
    """A hyperparameter as JSON-able data (tuples, STFTs and nested separators tagged)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, (tuple, list)):
        items = [_encode_param(v, name) for v in value]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if isinstance(value, dict):
        return {"__dict__": {str(k): _encode_param(v, name) for k, v in value.items()}}
    if isinstance(value, STFT):
        params = value.to_dict()
        if isinstance(params["window"], np.ndarray) or callable(params["window"]):
            raise ParameterError(f"{name}: an STFT with an array or callable window cannot "
                                 "be saved; use a window name such as 'hann'")
        return {"__stft__": _encode_param(params, name)}
    raise ParameterError(f"{name}={describe(value)}: cannot be saved in a model file")


def _decode_param(value):
    if isinstance(value, list):
        return [_decode_param(v) for v in value]
    if isinstance(value, dict):
        if "__tuple__" in value:
            return tuple(_decode_param(v) for v in value["__tuple__"])
        if "__dict__" in value:
            return {k: _decode_param(v) for k, v in value["__dict__"].items()}
        if "__stft__" in value:
            return STFT(**_decode_param(value["__stft__"]))
    return value


def _describe_separator(sep, arrays: dict, prefix: str = "") -> dict:
    """Class, hyperparameters and fitted attributes of ``sep`` (and of the separators among
    its parameters, e.g. a trained model inside ``MultichannelWiener``) as JSON-able data;
    fitted arrays go into ``arrays`` under ``fitted:<prefix><name>``."""
    cls = type(sep)
    params = {}
    for key, value in sep.get_params(deep=False).items():
        if isinstance(value, Separator):
            params[key] = {"__separator__": _describe_separator(value, arrays,
                                                                f"{prefix}{key}.")}
        else:
            params[key] = _encode_param(value, key)
    fitted = {}
    for attr in sep.fitted_attributes:
        value = getattr(sep, attr, None)
        if value is None:
            continue
        if isinstance(value, np.ndarray):
            arrays[f"fitted:{prefix}{attr}"] = value
            fitted[attr] = {"__array__": f"fitted:{prefix}{attr}"}
        else:
            fitted[attr] = _encode_param(value, attr)
    return {"class": f"{cls.__module__}:{cls.__qualname__}", "params": params,
            "fitted": fitted}


def _build_separator(desc: dict, arrays: dict):
    import importlib
    import sys

    module, _, qualname = desc["class"].partition(":")
    # only the package's own modules are imported; another class must already be loaded
    if module.startswith("dsp_separate."):
        obj = importlib.import_module(module)
    elif module in sys.modules:
        obj = sys.modules[module]
    else:
        raise ParameterError(f"model class {desc['class']!r}: not a dsp_separate separator "
                             "(import the module that defines it first)")
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not (isinstance(obj, type) and issubclass(obj, Separator)):
        raise ParameterError(f"model class {desc['class']!r}: not a Separator")
    params = {}
    for key, value in desc["params"].items():
        if isinstance(value, dict) and "__separator__" in value:
            params[key] = _build_separator(value["__separator__"], arrays)
        else:
            params[key] = _decode_param(value)
    sep = obj(**params)
    for attr, value in desc.get("fitted", {}).items():
        if isinstance(value, dict) and "__array__" in value:
            setattr(sep, attr, arrays[value["__array__"]])
        else:
            setattr(sep, attr, _decode_param(value))
    return sep


def save_model(separator, path) -> None:
    """Write a (fitted) separator to a ``.npz`` file: its parameters and fitted arrays.

    No pickle: the file holds JSON for the class and hyperparameters and plain arrays for
    the fitted attributes, so loading it runs no code from the file.  The command line
    reads it with ``--model FILE``.

    Parameters
    ----------
    separator : Separator
        Fitted if its tags say it needs ``fit``.
    path : str or os.PathLike
        Output file (``.npz``); written atomically.

    Examples
    --------
    >>> import os, tempfile
    >>> import dsp_separate as ds
    >>> path = os.path.join(tempfile.mkdtemp(), "hpss.npz")
    >>> ds.save_model(ds.HPSS(margin=2.0), path)
    >>> ds.load_model(path)
    HPSS(margin=2.0)
    """
    import json
    import os
    import tempfile
    from pathlib import Path

    if not isinstance(separator, Separator):
        raise ParameterError(f"separator={describe(separator)}: must be a Separator")
    separator._check_fitted()
    arrays = {}
    meta = _describe_separator(separator, arrays)
    meta["format"] = 2
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".npz", dir=path.parent or ".")
    os.close(fd)
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, __meta__=np.array(json.dumps(meta)), **arrays)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_model(path):
    """Read a separator written by :func:`save_model`.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Separator
        With its hyperparameters and fitted attributes restored.
    """
    import json
    from pathlib import Path

    from .exceptions import AudioFileError

    if not Path(path).is_file():
        raise AudioFileError(f"{path}: no such model file")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["__meta__"]))
            arrays = {k: data[k] for k in data.files if k.startswith("fitted:")}
    except (OSError, KeyError, ValueError, EOFError):
        raise AudioFileError(
            f"{path}: not a dsp_separate model file (write one with dsp_separate.save_model)"
        ) from None
    return _build_separator(meta, arrays)
