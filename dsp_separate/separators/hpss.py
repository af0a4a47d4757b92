r"""Harmonic-percussive source separation by median filtering (Fitzgerald 2010).

In a magnitude spectrogram :math:`S(f, t)`, harmonic sounds are horizontal ridges (stable in
frequency over time) and percussive sounds are vertical ridges (broadband and short).  A
median filter along time keeps the first and removes the second, one along frequency does the
opposite:

.. math::

    H = \operatorname{median}_{t}\big(S;\ k_h\big), \qquad
    P = \operatorname{median}_{f}\big(S;\ k_p\big)

(windows of :math:`k_h` frames and :math:`k_p` bins).  The masks compare the two with a margin
:math:`\beta \ge 1` (Driedger, Müller & Disch 2014) and an exponent :math:`p`:

.. math::

    m_H = \frac{H^p}{H^p + (\beta P)^p}, \qquad m_P = \frac{P^p}{P^p + (\beta H)^p}

``p = inf`` (``mask="binary"``) gives :math:`m_H = [H > \beta P]`, :math:`m_P = [P > \beta H]`.
With :math:`\beta = 1` the two masks sum to one; with :math:`\beta > 1` they leave a remainder
:math:`1 - m_H - m_P` that is returned as the ``"residual"`` source (neither clearly harmonic
nor clearly percussive: noise, transients of tonal notes, vocals).

References
----------
.. [1] D. Fitzgerald, "Harmonic/percussive separation using median filtering", Proc. DAFx,
   2010.
.. [2] J. Driedger, M. Müller and S. Disch, "Extending harmonic-percussive separation of audio
   signals", Proc. ISMIR, 2014.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._kernels import masks as _kmasks
from .._kernels import median as _kmedian
from .._kernels import stft as _kstft
from .._validation import (
    check_choice,
    check_nonnegative_array,
    check_nonnegative_int,
    check_positive_float,
    check_positive_int,
    check_sr,
    describe,
)
from ..base import Masks, Separator, Tags
from ..exceptions import ParameterError
from ..masks import MASK_TYPES, _check_power

__all__ = ["median_filter", "hpss_masks", "hpss_reference", "HPSS", "hpss"]


def median_filter(S: np.ndarray, kernel_size: int, axis: int = -1) -> np.ndarray:
    """Running median of ``S`` along one axis (numba, parallel over lines).

    Parameters
    ----------
    S : ndarray, shape (..., n_freq, n_frames), real
        Not modified.
    kernel_size : int
        Window length in samples along ``axis``.
    axis : {-1, -2}, default -1
        -1 filters along time (each frequency row), -2 along frequency (each frame).

    Returns
    -------
    ndarray, shape and dtype of ``S``
        Equal to ``scipy.ndimage.median_filter(S, size=..., mode="reflect")`` with the window
        along ``axis`` only (same window alignment, rank ``k // 2`` for even ``k``).

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate import median_filter
    >>> median_filter(np.array([[1.0, 9.0, 2.0, 3.0, 4.0]]), 3)
    array([[1., 2., 3., 3., 4.]])
    """
    if not isinstance(S, np.ndarray) or S.ndim < 2 or not np.issubdtype(S.dtype, np.floating):
        raise ParameterError(
            f"S={describe(S)}: must be a real float array (..., n_freq, n_frames)"
        )
    if not np.isfinite(S).all():
        raise ParameterError(f"S={describe(S)}: must be finite")
    if S.dtype == np.float16:
        S = S.astype(np.float32)
    k = check_positive_int(kernel_size, "kernel_size")
    if axis not in (-1, -2, S.ndim - 1, S.ndim - 2):
        raise ParameterError(f"axis={axis!r}: must be -1 (time) or -2 (frequency)")
    along_time = axis in (-1, S.ndim - 1)
    _check_kernel(k, S.shape[-1 if along_time else -2], "kernel_size",
                  "frames" if along_time else "bins")
    return _median(S, k, along_time)


def _check_kernel(k: int, n: int, name: str, unit: str) -> None:
    """A median window may be at most 2 n + 1 long (the reflected line's period + 1)."""
    if k > 2 * n + 1:
        raise ParameterError(
            f"{name}={k}: longer than 2 * {n} + 1 {unit}, twice the spectrogram's {n} {unit} "
            "plus one; use a smaller kernel (or a longer signal)"
        )


def _median(S: np.ndarray, k: int, along_time: bool) -> np.ndarray:
    """:func:`median_filter` without the checks."""
    lead = S.shape[:-2]
    F, T = S.shape[-2:]
    flat = np.ascontiguousarray(S.reshape(-1, F, T))
    if along_time:
        out = np.empty_like(flat)
        _kmedian.median_filter_rows(flat.reshape(-1, T), k, out.reshape(-1, T))
        return out.reshape(lead + (F, T))
    # along frequency: transpose so each frame is a contiguous row, filter, transpose back
    # into the first buffer (no longer needed), so the peak is three spectrograms, not four
    tr = np.empty((flat.shape[0], T, F), dtype=flat.dtype)
    _kstft.transpose_last2(flat, tr)
    filt = np.empty_like(tr)
    _kmedian.median_filter_rows(tr.reshape(-1, F), k, filt.reshape(-1, F))
    out = tr.reshape(flat.shape)
    _kstft.transpose_last2(filt, out)
    return out.reshape(lead + (F, T))


def _hpss_masks(X_or_S, k_h, k_p, beta_h, beta_p, power):
    """:func:`hpss_masks` without the checks, lean on memory.

    ``X_or_S`` is a complex STFT (its magnitude is taken here, so that the magnitude can be
    freed as soon as both medians exist) or a float32/float64 magnitude spectrogram.  The
    masks are written over the two median-filtered spectrograms: the peak is three
    spectrograms besides the input.
    """
    S = np.abs(X_or_S) if np.iscomplexobj(X_or_S) else X_or_S
    P = _median(S, k_p, along_time=False)
    H = _median(S, k_h, along_time=True)
    del S
    T = H.shape[-1]
    binary = bool(np.isinf(power))
    # the kernel reads H[i] and P[i] before writing the masks: in place is safe
    _kmasks.hpss_masks(
        H.reshape(-1, T), P.reshape(-1, T), beta_h, beta_p,
        1.0 if binary else power, binary, np.finfo(H.dtype).tiny,
        H.reshape(-1, T), P.reshape(-1, T),
    )
    return H, P


def hpss_reference(S, kernel_size=(31, 31), power=2.0):
    """HPSS masks in ten lines of plain numpy/scipy, to read beside the paper.

    The same algorithm as :func:`hpss_masks` with ``margin=1`` and soft masks, without
    numba and without the care for speed and memory: tested equal to it.

    Parameters
    ----------
    S : ndarray, shape (n_freq, n_frames)
        Magnitude spectrogram.
    kernel_size : (int, int)
        Median window (frames along time, bins along frequency).
    power : float
        Mask exponent.

    Returns
    -------
    mask_harmonic, mask_percussive : ndarray, shape of ``S``

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate.separators.hpss import hpss_masks, hpss_reference
    >>> S = np.random.default_rng(0).random((65, 40))
    >>> ref_h, _ = hpss_reference(S, (9, 5))
    >>> fast_h, _ = hpss_masks(S, kernel_size=(9, 5))
    >>> bool(np.allclose(ref_h, fast_h))
    True
    """
    from scipy.ndimage import median_filter as scipy_median

    H = scipy_median(S, size=(1, kernel_size[0]), mode="reflect")  # along time: harmonic
    P = scipy_median(S, size=(kernel_size[1], 1), mode="reflect")  # along frequency
    Hp, Pp = H.astype(float) ** power, P.astype(float) ** power
    total = Hp + Pp
    silent = total == 0  # both medians are zero: split the bin evenly
    mask_h = np.where(silent, 0.5, Hp / np.where(silent, 1, total))
    return mask_h, 1 - mask_h


def _pair(value, name, check):
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ParameterError(f"{name}={value!r}: give one value or a (harmonic, "
                                 "percussive) pair")
        return check(value[0], name), check(value[1], name)
    v = check(value, name)
    return v, v


def _nearest_odd(x: float) -> int:
    """The odd integer nearest to ``x`` (ties downward), at least 1: a centred window."""
    return max(1, 2 * int(np.ceil(x / 2)) - 1)


def _check_window(value, name):
    """A window length in frames or bins, or None (then given in seconds or Hz)."""
    return None if value is None else check_positive_int(value, name)


def _check_margin(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 1:
        raise ParameterError(f"{name}={value!r}: must be a number >= 1 (1 = no residual)")
    if not np.isfinite(value):
        raise ParameterError(f"{name}={value!r}: must be finite")
    return float(value)


def hpss_masks(
    S: np.ndarray,
    *,
    kernel_size=31,
    power: float = 2.0,
    mask: str = "soft",
    margin=1.0,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Harmonic and percussive masks of a magnitude spectrogram.

    Parameters
    ----------
    S : ndarray, shape (..., n_freq, n_frames)
        Magnitude spectrogram (complex input is replaced by its magnitude).  Not modified.
    kernel_size : int or (int, int), default 31
        Median window: frames along time for the harmonic part, bins along frequency for the
        percussive part; one number sets both.  The default is librosa's, for compatibility;
        :class:`HPSS` instead defaults to 2 s by 500 Hz, which it can convert because it
        knows the sampling rate and the transform.
    power : float, default 2.0
        Mask exponent :math:`p` (see module docstring); ``np.inf`` is a binary mask.
    mask : {"soft", "binary"}, default "soft"
        ``"binary"`` is the same as ``power=np.inf``.
    margin : float or (float, float), default 1.0
        Margin :math:`\beta \ge 1` for the harmonic and percussive masks.

    Returns
    -------
    mask_harmonic, mask_percussive : ndarray, shape of ``S``
        In [0, 1].  They sum to one when ``margin == 1`` (bins where both filtered
        spectrograms are 0 are split 0.5 / 0.5; with ``mask="binary"`` bins where
        :math:`H = P` go to the harmonic mask, where librosa gives 0 to both); with a larger
        margin the remainder is the residual's mask.

    Notes
    -----
    For the same parameters the masks equal ``librosa.decompose.hpss(S, mask=True, ...)``
    (tested to 1e-5); the median filters run in numba, in parallel, with a sliding sorted
    window; on a 180 s stereo spectrogram the masks take about 1/20 of librosa's time
    (``benchmarks/RESULTS.md``).  Windows may be at most ``2 n + 1`` long for a line of
    ``n`` frames or bins.

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate import hpss_masks
    >>> S = np.zeros((64, 64))
    >>> S[20, :] = 1.0       # a steady tone: a horizontal line
    >>> S[:, 40] = 1.0       # a click: a vertical line
    >>> m_h, m_p = hpss_masks(S, kernel_size=9)
    >>> float(m_h[20, 10]), float(m_p[5, 40])
    (1.0, 1.0)
    """
    if np.iscomplexobj(S):
        S = np.abs(S)
    S = check_nonnegative_array(S, "S", min_ndim=2)
    if S.dtype == np.float16:
        S = S.astype(np.float32)
    k_h, k_p = _pair(kernel_size, "kernel_size", check_positive_int)
    beta_h, beta_p = _pair(margin, "margin", _check_margin)
    power = _check_power(power)
    if mask not in ("soft", "binary"):
        raise ParameterError(f"mask={mask!r}: must be 'soft' or 'binary'")
    if mask == "binary":
        power = np.inf
    _check_kernel(k_h, S.shape[-1], "kernel_size[0] (harmonic, along time)", "frames")
    _check_kernel(k_p, S.shape[-2], "kernel_size[1] (percussive, along frequency)", "bins")
    return _hpss_masks(S, k_h, k_p, beta_h, beta_p, power)


class HPSS(Separator):
    r"""Harmonic-percussive(-residual) separation by median filtering.

    Sources: ``"harmonic"``, ``"percussive"``, and ``"residual"`` when a margin > 1.

    The median windows are given in physical units by default: :math:`T_h` seconds along
    time and :math:`B_p` Hz along frequency, turned into frames and bins for the sampling
    rate :math:`f_s`, hop :math:`R` and FFT size :math:`N` at hand,

    .. math::

        k_h = \operatorname{odd}(T_h f_s / R), \qquad
        k_p = \operatorname{odd}(B_p N / f_s)

    (:math:`\operatorname{odd}` = the nearest odd integer, ties downward, so that each
    window is centred), so that the same separation is asked for at 16, 22.05 or 44.1 kHz.
    The defaults
    :math:`T_h = 2` s and :math:`B_p = 500` Hz were chosen by measurement on the dev ``hpss``
    task (``docs/hpss.md``): with them ``HPSS()`` is about 1 dB above the best fixed librosa
    kernel tried at 44.1 and 22.05 kHz and equal to it at 16 kHz (where 2 s by 500 Hz *is*
    librosa's 63 by 63), though 1.5 times slower.  Keep the harmonic window below twice the
    note length: a median keeps a partial only if it sounds in more than half the window (on
    music changing chord every second, 1 s by 700 Hz is better).  :func:`hpss_masks`, which
    sees only a spectrogram, keeps librosa's 31 frames by 31 bins, so
    ``HPSS(kernel_size=31)`` (not ``HPSS()``) is the librosa-compatible call.

    Parameters
    ----------
    kernel_size : int or (int, int), optional
        Median window in frames (along time, harmonic part) and bins (along frequency,
        percussive part); one number sets both.  When given it wins over ``harmonic_seconds``
        and ``percussive_hz``; a None inside the pair (e.g. ``(63, None)``) leaves that axis to
        its physical parameter.  Default None: both windows from the physical parameters.
    margin : float or (float, float), default 1.0
        Separation margin :math:`\beta \ge 1` (Driedger et al. 2014); > 1 adds a residual.
    power : float, default 2.0
        Soft-mask exponent.
    mask : {"soft", "binary"}, default "soft"
        Soft masks with exponent ``power``, or binary masks.
    harmonic_seconds : float, default 2.0
        Harmonic window :math:`T_h` in seconds (used unless ``kernel_size`` gives the frames).
        Keep it below twice the duration of the notes to keep: a partial survives the median
        only if it sounds in more than half of the window.
    percussive_hz : float, default 500.0
        Percussive window :math:`B_p` in Hz (used unless ``kernel_size`` gives the bins); at
        most ``sr / 2``.
    stft : STFT or dict, optional
        Transform; default ``STFT(n_fft=2048, hop_length=512)``.
    wiener_iterations : int, default 0
        Multichannel Wiener EM iterations applied to the masked sources
        (:func:`dsp_separate.wiener`); 0 keeps the plain masks.

    Notes
    -----
    On a signal whose spectrogram has fewer than ``(k - 1) / 2`` frames (bins) a window of
    ``k`` is shortened to ``2 n + 1``, the longest :func:`hpss_masks` accepts.  Block by block
    (``stream``) the separator needs half the harmonic window of context on each side: with
    the defaults about one second.

    See Also
    --------
    hpss_masks : the algorithm on a spectrogram.

    References
    ----------
    .. [1] D. Fitzgerald, "Harmonic/percussive separation using median filtering", DAFx 2010.
    .. [2] J. Driedger, M. Müller, S. Disch, "Extending harmonic-percussive separation of
       audio signals", ISMIR 2014.

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> sr = 22050
    >>> t = np.arange(2 * sr) / sr
    >>> tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    >>> clicks = np.zeros_like(t); clicks[:: sr // 4] = 1.0
    >>> y = (tone + clicks).astype(np.float32)
    >>> result = ds.HPSS(margin=2.0).separate(y, sr)
    >>> result.names
    ('harmonic', 'percussive', 'residual')
    >>> bool(ds.metrics.si_sdr(tone, result["harmonic"]) > 15)
    True
    >>> ds.HPSS().kernel_sizes(sr)            # 2 s and 500 Hz at 22.05 kHz, hop 512
    (87, 47)
    >>> ds.HPSS(kernel_size=31).kernel_sizes(sr)   # librosa's fixed kernel
    (31, 31)
    """

    name = "hpss"
    summary = "harmonic / percussive (/ residual) by median filtering (Fitzgerald 2010)"
    tags = Tags(kind="mask", streaming="bounded")
    param_choices = {"mask": MASK_TYPES}

    def __init__(
        self,
        kernel_size=None,
        margin=1.0,
        power=2.0,
        mask="soft",
        harmonic_seconds=2.0,
        percussive_hz=500.0,
        stft=None,
        wiener_iterations=0,
    ):
        self.kernel_size = kernel_size
        self.margin = margin
        self.power = power
        self.mask = mask
        self.harmonic_seconds = harmonic_seconds
        self.percussive_hz = percussive_hz
        self.stft = stft
        self.wiener_iterations = wiener_iterations

    def _validate_params(self):
        if self.kernel_size is not None:
            _pair(self.kernel_size, "kernel_size", _check_window)
        _pair(self.margin, "margin", _check_margin)
        check_choice(self.mask, "mask", MASK_TYPES)
        _check_power(self.power)
        check_nonnegative_int(self.wiener_iterations, "wiener_iterations")
        if self.harmonic_seconds is not None:
            check_positive_float(self.harmonic_seconds, "harmonic_seconds")
        if self.percussive_hz is not None:
            check_positive_float(self.percussive_hz, "percussive_hz")

    def kernel_sizes(self, sr: int, stft=None) -> tuple[int, int]:
        """The (harmonic frames, percussive bins) window for a sampling rate ``sr``.

        ``kernel_size`` wins where it gives a number; an axis without one (``kernel_size``
        None, or None in the pair) takes ``harmonic_seconds`` (frames: round(seconds * sr /
        hop), to the nearest odd number, so that the window is centred) or ``percussive_hz``
        (bins: hz * n_fft / sr, to the nearest odd number).

        Examples
        --------
        >>> import dsp_separate as ds
        >>> ds.HPSS().kernel_sizes(44100), ds.HPSS().kernel_sizes(16000)
        ((173, 23), (63, 63))
        >>> ds.HPSS(kernel_size=31).kernel_sizes(16000)
        (31, 31)
        """
        transform = stft if stft is not None else self._transform()
        sr = check_sr(sr)
        k_h, k_p = (None, None) if self.kernel_size is None else _pair(
            self.kernel_size, "kernel_size", _check_window)
        if k_h is None:
            if self.harmonic_seconds is None:
                raise ParameterError("harmonic_seconds=None: give the harmonic window in "
                                     "seconds or as kernel_size (frames)")
            seconds = check_positive_float(self.harmonic_seconds, "harmonic_seconds")
            k_h = _nearest_odd(seconds * sr / transform.hop_length)
        if k_p is None:
            if self.percussive_hz is None:
                raise ParameterError("percussive_hz=None: give the percussive window in Hz "
                                     "or as kernel_size (bins)")
            hz = check_positive_float(self.percussive_hz, "percussive_hz")
            if hz > sr / 2:
                raise ParameterError(
                    f"percussive_hz={self.percussive_hz!r}: must be at most the Nyquist "
                    f"frequency sr / 2 = {sr / 2:g} Hz"
                )
            k_p = _nearest_odd(hz * transform.n_fft / sr)
        return k_h, k_p

    def source_names(self, n_channels=None, references=None) -> tuple:
        """``("harmonic", "percussive")``, plus ``"residual"`` when a margin is above 1."""
        return ("harmonic", "percussive") + (("residual",) if self._has_residual() else ())

    def _has_residual(self) -> bool:
        return any(b > 1 for b in _pair(self.margin, "margin", _check_margin))

    def context_frames(self, sr: int) -> tuple[int, int]:
        """Half the harmonic window on each side: a frame's masks need no more."""
        k_h, _ = self.kernel_sizes(sr)
        return k_h // 2, k_h // 2

    def _estimate(self, X, *, y=None, sr, stft, **kwargs):
        if kwargs:
            raise ParameterError(
                f"{sorted(kwargs)}: {type(self).__name__}.separate takes no extra arguments"
            )
        k_h, k_p = self.kernel_sizes(sr, stft)
        # A signal too short for the window: use the longest window its spectrogram allows
        # (2 n + 1), rather than refusing short clips under default settings.
        k_h = min(k_h, 2 * X.shape[-1] + 1)
        k_p = min(k_p, 2 * X.shape[-2] + 1)
        beta_h, beta_p = _pair(self.margin, "margin", _check_margin)
        power = np.inf if self.mask == "binary" else float(self.power)
        m_h, m_p = _hpss_masks(X, k_h, k_p, beta_h, beta_p, power)
        return Masks({"harmonic": m_h, "percussive": m_p}, residual=self._has_residual(),
                     wiener_iterations=self.wiener_iterations)


def hpss(y: np.ndarray, sr: int = 22050, **params):
    """Harmonic-percussive separation in one call, returning arrays like librosa.

    ``h, p = ds.hpss(y, sr)`` is ``HPSS(**params).separate(y, sr).values()``: the
    harmonic and percussive signals (and the residual, third, when a margin is above 1), as
    :func:`librosa.effects.hpss` returns them.  Use :class:`HPSS` for the
    :class:`~dsp_separate.result.Separation` object (names, STFTs, masks, ``save``).

    Parameters
    ----------
    y : ndarray, shape (..., n_samples)
        The mixture, channel-first.  Not modified.
    sr : int, default 22050
        Sampling rate in Hz; it sets the default windows (2 s and 500 Hz in frames and
        bins), so pass the true rate, or ``kernel_size=31`` for librosa's fixed kernel.
    **params
        Any :class:`HPSS` parameter.

    Returns
    -------
    harmonic, percussive[, residual] : ndarray, each shape and dtype of ``y``

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> y = np.random.default_rng(0).standard_normal((2, 16000)).astype(np.float32)
    >>> h, p = ds.hpss(y, 16000, kernel_size=17)
    >>> h.shape, p.dtype
    ((2, 16000), dtype('float32'))
    >>> bool(np.allclose(h + p, y, atol=1e-5))
    True
    """
    return tuple(HPSS(**params).separate(y, sr).values())
