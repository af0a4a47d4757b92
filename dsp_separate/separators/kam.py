r"""Kernel additive modelling (KAM): one proximity kernel per source, medians and Wiener.

Liutkus, Fitzgerald, Rafii, Pardo & Daudet (2014) write the methods of this package's
median family in one form.  Each source :math:`j` has a *proximity kernel*
:math:`\mathcal{I}_j(f, t)`: the time-frequency points whose power should resemble the power
at :math:`(f, t)` -- the same bin in neighbouring frames for a harmonic sound (HPSS's
horizontal median), neighbouring bins of the same frame for a percussive one (vertical),
the frames one period apart for a repeating pattern (REPET), the most similar frames
(REPET-SIM).  *Backfitting* alternates a Wiener estimate of every source with a median over
its kernel:

.. math::

    \hat Y_j = \frac{P_j}{\sum_l P_l} X, \qquad
    P_j(f, t) \leftarrow \operatorname{median}\big\{ |\hat Y_j(f', t')|^2 :
    (f', t') \in \mathcal{I}_j(f, t) \big\},

starting from :math:`P_j = |X|^2` filtered by each kernel, for ``n_iter`` iterations; the
final powers give ratio masks.  The kernels of the paper are given by the helpers
:func:`horizontal`, :func:`vertical`, :func:`cross`, :func:`periodic` and
:func:`similarity`, which return plain tuples (so a separator with them can be saved to a
model file and given on the command line).

References
----------
.. [1] A. Liutkus, D. Fitzgerald, Z. Rafii, B. Pardo and L. Daudet, "Kernel additive models
   for source separation", IEEE Transactions on Signal Processing 62(16), 2014.
"""

from __future__ import annotations

import numpy as np

from .._validation import (
    check_choice,
    check_nonnegative_float,
    check_nonnegative_int,
    check_positive_float,
    check_positive_int,
    describe,
)
from ..base import Models, Separator, Tags
from ..exceptions import ParameterError
from ..masks import MASK_TYPES, _check_power
from . import repet as _repet
from .hpss import _median

__all__ = ["horizontal", "vertical", "cross", "periodic", "similarity", "kam", "KAM"]


# ---------------------------------------------------------------------------- kernels
def horizontal(frames: int = 17) -> tuple:
    """Harmonic kernel: the same bin over ``frames`` neighbouring frames (HPSS's time median).

    Examples
    --------
    >>> from dsp_separate.separators.kam import horizontal
    >>> horizontal(17)
    ('horizontal', 17)
    """
    return ("horizontal", check_positive_int(frames, "frames"))


def vertical(bins: int = 17) -> tuple:
    """Percussive kernel: ``bins`` neighbouring bins of the same frame (frequency median).

    Examples
    --------
    >>> from dsp_separate.separators.kam import vertical
    >>> vertical(17)
    ('vertical', 17)
    """
    return ("vertical", check_positive_int(bins, "bins"))


def cross(frames: int = 5, bins: int = 5) -> tuple:
    """Cross-shaped kernel (``frames`` along time and ``bins`` along frequency, one line each).

    Smooth in both directions but not across both at once: the paper's kernel for a voice
    or a melody.

    Examples
    --------
    >>> from dsp_separate.separators.kam import cross
    >>> cross(5, 7)
    ('cross', 5, 7)
    """
    return ("cross", check_positive_int(frames, "frames"), check_positive_int(bins, "bins"))


def periodic(period=None) -> tuple:
    """Repeating kernel: the same bin in the frames a whole number of periods away (REPET).

    ``period`` in seconds, or None: found once in the mixture's beat spectrum
    (:class:`~dsp_separate.separators.repet.REPET`'s search, 1 s to 10 s).

    Examples
    --------
    >>> from dsp_separate.separators.kam import periodic
    >>> periodic(2.5)
    ('periodic', 2.5)
    """
    if period is not None:
        period = check_positive_float(period, "period")
    return ("periodic", period)


def similarity(k: int = 100, min_distance: float = 1.0) -> tuple:
    """Similarity kernel: the ``k`` frames most similar to each frame (REPET-SIM).

    The repeating frames are found once, in the mixture (local maxima of the cosine
    similarity at least ``min_distance`` seconds apart).

    Examples
    --------
    >>> from dsp_separate.separators.kam import similarity
    >>> similarity(20)
    ('similarity', 20, 1.0)
    """
    return ("similarity", check_positive_int(k, "k"),
            check_nonnegative_float(min_distance, "min_distance"))


_ARITY = {"horizontal": 1, "vertical": 1, "cross": 2, "periodic": 1, "similarity": 2}


def _check_kernel(name, spec):
    """A kernel spec (a helper's tuple, or a list after a JSON round trip) -> tuple."""
    if isinstance(spec, list):
        spec = tuple(spec)
    if not isinstance(spec, tuple) or not spec or spec[0] not in _ARITY or (
        len(spec) != 1 + _ARITY[spec[0]]
    ):
        raise ParameterError(
            f"kernels[{name!r}]={describe(spec)}: must be a kernel from horizontal(), "
            "vertical(), cross(), periodic() or similarity()"
        )
    helper = {"horizontal": horizontal, "vertical": vertical, "cross": cross,
              "periodic": periodic, "similarity": similarity}[spec[0]]
    return helper(*spec[1:])


def _parse_kernels(text):
    """``"harmonic=horizontal:17;percussive=vertical:17"`` -> dict (the command line's form)."""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, spec = part.partition("=")
        if not sep:
            raise ParameterError(f"kernels={text!r}: write name=kind:arg:...;name=kind:... "
                                 "e.g. 'harmonic=horizontal:17;percussive=vertical:17'")
        kind, *args = spec.strip().split(":")
        values = []
        for a in args:
            a = a.strip()
            if a.lower() == "none":
                values.append(None)
                continue
            try:
                values.append(int(a))
            except ValueError:
                try:
                    values.append(float(a))
                except ValueError:
                    raise ParameterError(f"kernels={text!r}: {a!r} is not a number") from None
        out[name.strip()] = (kind.strip(),) + tuple(values)
    return out


def _check_kernels(kernels):
    if isinstance(kernels, str):
        kernels = _parse_kernels(kernels)
    if not isinstance(kernels, dict) or len(kernels) < 2:
        raise ParameterError(f"kernels={describe(kernels)}: must be a dict of at least two "
                             "{source name: kernel}")
    out = {}
    for name, spec in kernels.items():
        if not isinstance(name, str) or not name:
            raise ParameterError(f"kernels: source name {name!r} must be a non-empty string")
        out[name] = _check_kernel(name, spec)
    return out


class _Context:
    """What kernels need from the mixture, computed once (period, similar frames)."""

    def __init__(self, mixture_power, sr, stft):
        self.mag = np.sqrt(mixture_power)
        self.sr = sr
        self.stft = stft
        self._period = {}
        self._neighbours = {}

    def period(self, seconds):
        if seconds not in self._period:
            T = self.mag.shape[-1]
            if seconds is None:
                lo, hi = _repet._period_range(None, T, self.sr, self.stft)
                p = lo if lo == hi or T < 4 else _repet._repeating_period(
                    _repet._beat_spectrum(self.mag), lo, hi)
            else:
                p = self.stft.seconds_to_frames(seconds, self.sr)
            self._period[seconds] = max(1, p)
        return self._period[seconds]

    def neighbours(self, k, min_distance):
        key = (k, min_distance)
        if key not in self._neighbours:
            d = int(round(min_distance * self.sr / self.stft.hop_length))
            self._neighbours[key] = _repet._similar_frames(self.mag, min(k, self.mag.shape[-1]),
                                                           d, 0.0)
        return self._neighbours[key]


def _apply_kernel(spec, P, ctx):
    """Median of ``P`` (C, F, T) over the kernel (a new array)."""
    kind = spec[0]
    F, T = P.shape[-2:]
    if kind == "horizontal":
        return _median(P, min(spec[1], 2 * T + 1), along_time=True)
    if kind == "vertical":
        return _median(P, min(spec[1], 2 * F + 1), along_time=False)
    if kind == "cross":
        from scipy.ndimage import median_filter

        frames, bins = min(spec[1], 2 * T + 1), min(spec[2], 2 * F + 1)
        footprint = np.zeros((bins, frames), dtype=bool)
        footprint[bins // 2, :] = True
        footprint[:, frames // 2] = True
        return np.stack([median_filter(p, footprint=footprint, mode="reflect") for p in P])
    if kind == "periodic":
        return _repet._repet_model(P, ctx.period(spec[1]), cut=False)
    return _repet._repet_sim_model(P, 0, 0, 0.0, cut=False,
                                   neighbours=ctx.neighbours(spec[1], spec[2]))


def _kam(X, kernels, n_iter, sr, stft):
    """Backfitting on a (C, F, T) complex STFT; returns {name: power (C, F, T)}."""
    real = np.float32 if X.dtype == np.complex64 else np.float64
    V = np.abs(X).astype(real, copy=False)
    peak = V.max(initial=0.0)
    if peak > 0:
        V /= peak  # powers of huge input stay finite; masks do not depend on the scale
    V *= V
    ctx = _Context(V.mean(axis=0), sr, stft)
    tiny = np.finfo(real).tiny
    P = {name: _apply_kernel(spec, V, ctx) for name, spec in kernels.items()}
    for _ in range(n_iter):
        total = sum(P.values())
        ok = total > tiny
        inv = np.zeros_like(total)
        np.divide(1.0, total, out=inv, where=ok)
        share = 1.0 / len(P)
        for name, spec in kernels.items():
            gain = np.where(ok, P[name] * inv, share)  # Wiener gain of the source
            P[name] = _apply_kernel(spec, gain * gain * V, ctx)
    return P


def kam(X: np.ndarray, kernels: dict, *, n_iter: int = 2, sr: int = 22050, stft=None) -> dict:
    r"""Kernel additive modelling: source powers by kernel medians and Wiener backfitting.

    Parameters
    ----------
    X : ndarray, shape (..., n_freq, n_frames), complex
        Mixture STFT (each channel modelled on its own; the period and the similar frames
        of ``periodic`` / ``similarity`` kernels come from the channel mean).  Not modified.
    kernels : dict
        ``{source name: kernel}`` with kernels from :func:`horizontal`, :func:`vertical`,
        :func:`cross`, :func:`periodic`, :func:`similarity`.
    n_iter : int, default 2
        Backfitting iterations after the initial kernel filtering.
    sr : int, default 22050
        Sampling rate (seconds in the kernels).
    stft : STFT, optional
        The transform of ``X`` (hop for seconds); default ``STFT(n_fft=2048,
        hop_length=512)``.

    Returns
    -------
    dict
        ``{source name: power spectrogram}``, each shaped like ``X`` (real), scaled by one
        common factor; ratio masks are ``P_j / sum_l P_l``.

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> from dsp_separate.separators.kam import kam, horizontal, vertical
    >>> X = np.zeros((65, 40), complex)
    >>> X[20, :] = 1.0          # a tone
    >>> X[:, 30] += 1.0         # a click
    >>> P = kam(X, {"harmonic": horizontal(9), "percussive": vertical(9)}, sr=8000)
    >>> float(P["harmonic"][20, 5] > P["percussive"][20, 5]), float(P["percussive"][5, 30] > 0)
    (1.0, 1.0)
    """
    from .._stft import STFT
    from .._validation import check_sr, check_stft_matrix

    X = check_stft_matrix(X, "X")
    kernels = _check_kernels(kernels)
    n_iter = check_nonnegative_int(n_iter, "n_iter")
    sr = check_sr(sr)
    stft = stft if stft is not None else STFT(n_fft=2048, hop_length=512)
    lead = X.shape[:-2]
    flat = X.reshape((-1,) + X.shape[-2:])
    P = _kam(flat, kernels, n_iter, sr, stft)
    return {name: p.reshape(lead + X.shape[-2:]) for name, p in P.items()}


def _default_kernels():
    return {"background": similarity(), "foreground": cross(5, 5)}


class KAM(Separator):
    r"""Kernel additive modelling: one proximity kernel per source (Liutkus et al. 2014).

    Sources: the keys of ``kernels`` (default ``"background"`` and ``"foreground"``).

    .. math::

        \hat Y_j = \frac{P_j}{\sum_l P_l} X, \qquad
        P_j \leftarrow \operatorname{median}_{\mathcal{I}_j} |\hat Y_j|^2

    (:func:`kam`), for each channel, then ratio masks from the powers ``P_j`` (``power=1``
    on powers: the paper's Wiener masks).  One call makes HPSS + REPET-SIM + a vocal model:
    ``KAM(kernels={"percussive": vertical(17), "harmonic": horizontal(17), "vocals":
    cross(5, 5), "background": similarity(20)})``.  Offline (the similarity and period
    kernels use the whole signal; kernels of bounded extent could stream, which is not
    implemented).

    Parameters
    ----------
    kernels : dict or str, optional
        ``{source name: kernel}``; default ``{"background": similarity(), "foreground":
        cross(5, 5)}`` (REPET-SIM's kernel for the accompaniment, the paper's cross for the
        voice).  At least two sources.  As text (the command line's ``--kernels``):
        ``"harmonic=horizontal:17;percussive=vertical:17;vocals=cross:5:5"``.
    n_iter : int, default 2
        Backfitting iterations.
    mask : {"soft", "binary"}, default "soft"
        Soft (ratio) masks with exponent ``power``, or binary masks.
    power : float, default 1.0
        Exponent applied to the powers in the ratio masks.
    stft : STFT or dict, optional
        Transform; default ``STFT(n_fft=2048, hop_length=512)``.
    wiener_iterations : int, default 0
        Multichannel Wiener EM iterations after the masks.

    References
    ----------
    .. [1] A. Liutkus, D. Fitzgerald, Z. Rafii, B. Pardo and L. Daudet, "Kernel additive
       models for source separation", IEEE TSP 62(16), 2014.

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> from dsp_separate.separators.kam import horizontal, vertical
    >>> sr = 8000
    >>> t = np.arange(2 * sr) / sr
    >>> tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    >>> clicks = np.zeros_like(t); clicks[:: sr // 4] = 1.0
    >>> sep = ds.KAM(kernels={"harmonic": horizontal(17), "percussive": vertical(17)},
    ...              stft={"n_fft": 512, "hop_length": 128})
    >>> result = sep.separate(tone + clicks, sr)
    >>> result.names
    ('harmonic', 'percussive')
    >>> bool(ds.metrics.si_sdr(tone, result["harmonic"]) > 15)
    True
    """

    name = "kam"
    summary = "kernel additive modelling: a median kernel per source (Liutkus et al. 2014)"
    tags = Tags(kind="mask", streaming="offline")
    param_choices = {"mask": MASK_TYPES}

    def __init__(self, kernels=None, n_iter=2, mask="soft", power=1.0, stft=None,
                 wiener_iterations=0):
        self.kernels = kernels
        self.n_iter = n_iter
        self.mask = mask
        self.power = power
        self.stft = stft
        self.wiener_iterations = wiener_iterations

    def _kernels(self):
        return _check_kernels(self.kernels if self.kernels is not None
                              else _default_kernels())

    def _validate_params(self):
        self._kernels()
        check_nonnegative_int(self.n_iter, "n_iter")
        check_choice(self.mask, "mask", MASK_TYPES)
        _check_power(self.power)
        check_nonnegative_int(self.wiener_iterations, "wiener_iterations")

    def source_names(self, n_channels=None, references=None) -> tuple:
        """The keys of ``kernels``."""
        return tuple(self._kernels())

    def _estimate(self, X, *, y=None, sr, stft):
        F, T = X.shape[-2:]
        flat = X.reshape((-1,) + (X.shape[-3:] if X.ndim >= 3 else (1, F, T)))
        kernels = self._kernels()
        out = {name: np.empty(flat.shape, dtype=np.float32 if X.dtype == np.complex64
                              else np.float64) for name in kernels}
        for i, item in enumerate(flat):  # each (C, F, T) item of a batch on its own
            P = _kam(item, kernels, int(self.n_iter), sr, stft)
            for name in kernels:
                out[name][i] = P[name]
        return Models({name: v.reshape(X.shape) for name, v in out.items()}, mask=self.mask,
                      power=self.power, wiener_iterations=self.wiener_iterations,
                      scratch=True)

