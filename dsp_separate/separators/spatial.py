r"""Spatial separators: DUET and spatial clustering of inter-channel differences.

Both assume that in each time-frequency bin **one source dominates** (W-disjoint
orthogonality: speech and most music are sparse in the STFT) and that each source reaches
the microphones with its own level ratio and delay (an anechoic or pan-pot mix).  A bin's
inter-channel level and phase differences then say which source it belongs to, whatever
the number of sources: these methods work with **more sources than channels** (their point),
where the determined methods (:class:`~dsp_separate.separators.ica.FastICA`, IVA) cannot.
Each source is returned as a mask on the multichannel STFT, i.e. its image at every input
channel; the masks sum to one, so the sources sum to the mixture.

* :class:`DUET` (``"duet"``, Rickard 2007): stereo; a weighted 2-D histogram of
  (symmetric attenuation, delay) per bin, smoothed; its ``n_sources`` highest peaks are the
  sources; each bin goes to the peak of highest likelihood (binary masks) or is shared by
  the peaks' posteriors (soft masks).
* :class:`SpatialClustering` (``"spatial_clustering"``): any channel count; the level
  differences (dB) and phase differences divided by frequency (delays) of every channel
  against the first, clustered by scikit-learn's ``GaussianMixture`` (soft masks from the
  posteriors) or ``KMeans``.

Both fail where their assumption fails: reverberation smears each source's cluster, sources
at the same position cannot be told apart, and spacings over half a wavelength at the top
frequency wrap the phase (delays beyond one sample at the sampling rate's Nyquist).

References
----------
.. [1] S. Rickard, "The DUET blind source separation algorithm," in *Blind Speech
   Separation*, S. Makino, T.-W. Lee and H. Sawada (eds.), Springer, 2007, pp. 217-241.
.. [2] O. Yilmaz and S. Rickard, "Blind separation of speech mixtures via time-frequency
   masking," IEEE Trans. Signal Processing 52(7), 2004.
.. [3] M. I. Mandel, R. J. Weiss and D. P. W. Ellis, "Model-based expectation-maximization
   source separation and localization," IEEE TASLP 18(2), 2010 (clustering of interaural
   phase and level differences).
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np

from .._config import fork_safe_openmp
from .._validation import (
    check_choice,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    describe,
)
from ..base import Masks, Separator, Tags
from ..exceptions import ParameterError

__all__ = [
    "DUET",
    "SpatialClustering",
    "DuetHistogram",
    "duet_histogram",
    "duet_peaks",
    "duet_masks",
    "spatial_features",
]

_TINY = np.finfo(np.float64).tiny
_COVARIANCES = ("tied", "full", "diag", "spherical")


def _check_n_sources(n_sources):
    if isinstance(n_sources, bool) or not isinstance(n_sources, numbers.Integral) \
            or n_sources < 1:
        raise ParameterError(f"n_sources={describe(n_sources)}: must be a positive integer")
    return int(n_sources)


def _bin_omegas(n_freq):
    """Angular frequency of each bin in radians per *sample* (onesided, n_fft = 2 (F - 1))."""
    n_fft = 2 * (n_freq - 1)
    return 2 * np.pi * np.arange(n_freq) / max(n_fft, 1)


# ---------------------------------------------------------------------------- DUET
@dataclass(frozen=True)
class DuetHistogram:
    """The DUET histogram and its axes (bin centres).

    Attributes
    ----------
    hist : ndarray, shape (n_alpha, n_delay)
        Smoothed weighted histogram (sums to one unless the input is silent).
    alpha : ndarray, shape (n_alpha,)
        Symmetric attenuation :math:`a - 1/a` at the bin centres.
    delay : ndarray, shape (n_delay,)
        Delay of channel 2 relative to channel 1, in samples, at the bin centres.
    sr : int
        Sampling rate (``delay / sr`` is in seconds).
    """

    hist: np.ndarray
    alpha: np.ndarray
    delay: np.ndarray
    sr: int


def _duet_estimates(X):
    """Per-bin symmetric attenuation, delay (samples) and the bins' magnitudes."""
    X1, X2 = X[0], X[1]
    m1, m2 = np.abs(X1), np.abs(X2)
    ok = (m1 > 0) & (m2 > 0)
    a = np.divide(m2, m1, out=np.ones_like(m1), where=ok)
    alpha = a - 1.0 / a
    omega = _bin_omegas(X.shape[-2])[:, None]
    phase = np.angle(X2 * np.conj(X1))
    delay = np.divide(-phase, omega, out=np.zeros_like(phase),
                      where=(omega > 0) & ok)
    return alpha, delay, m1, m2, ok, omega


def _unit_peak(X):
    """``X`` (complex128) divided by its peak magnitude: the masks are scale-invariant, and
    powers of a very loud input (peaks above ~1e150) would overflow."""
    X = np.asarray(X, dtype=np.complex128)
    peak = float(np.abs(X).max()) if X.size else 0.0
    return X / peak if 0.0 < peak < np.inf else X


def duet_histogram(X, sr, *, p=1.0, q=0.0, max_alpha=2.0, max_delay=2.0, n_alpha=81,
                   n_delay=81, smooth=1.0):
    r"""The DUET weighted (attenuation, delay) histogram of a stereo STFT (Rickard 2007).

    For each bin, with :math:`R = X_2 / X_1` and :math:`\omega` in radians per sample,

    .. math::

        \alpha = |R| - \frac{1}{|R|}, \qquad \delta = -\frac{\angle R}{\omega}

    (the *symmetric* attenuation, 0 for a centred source, and the delay of channel 2 in
    samples).  Each bin adds the weight :math:`|X_1 X_2|^p \omega^q` at
    :math:`(\alpha, \delta)` (Rickard's power weighting: :math:`p = 1, q = 0` is his default;
    :math:`p = 2, q = 2` favours the high-SNR high-frequency bins).  Bins at DC, with a zero
    channel, or outside the ranges add nothing.  The histogram is smoothed by a Gaussian of
    ``smooth`` histogram bins (standard deviation) and normalised to sum to one.  The phase
    is unambiguous for :math:`|\delta| < 1` sample at the top bin (:math:`\pi/\omega`).

    Parameters
    ----------
    X : ndarray, shape (2, n_freq, n_frames), complex
        Stereo STFT (onesided: ``n_fft = 2 (n_freq - 1)``).
    sr : int
        Sampling rate in Hz (only for the axes' units).
    p, q : float, default 1.0, 0.0
        Weight exponents.
    max_alpha : float, default 2.0
        The histogram spans symmetric attenuations in ``[-max_alpha, max_alpha]`` (2.0 is a
        level ratio of 2.4, 7.7 dB).
    max_delay : float, default 2.0
        ... and delays in ``[-max_delay, max_delay]`` samples.
    n_alpha, n_delay : int, default 81
        Histogram bins per axis.
    smooth : float, default 1.0
        Gaussian smoothing (histogram bins); 0 for none.

    Returns
    -------
    DuetHistogram

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> s = np.random.default_rng(0).laplace(size=8000)
    >>> y = np.stack([s, 0.5 * s])                  # one source, panned left
    >>> h = ds.duet_histogram(ds.STFT(512, 128).forward(y), 8000)
    >>> i, j = np.unravel_index(np.argmax(h.hist), h.hist.shape)
    >>> round(float(h.alpha[i]), 1), round(float(h.delay[j]), 1)    # 0.5 - 2 = -1.5, 0
    (-1.5, 0.0)
    """
    from scipy.ndimage import gaussian_filter

    X = np.asarray(X)
    if X.ndim != 3 or X.shape[0] != 2:
        raise ParameterError(f"X={describe(X)}: must be a stereo STFT (2, n_freq, n_frames)")
    alpha, delay, m1, m2, ok, omega = _duet_estimates(X.astype(np.complex128))
    weight = (m1 * m2) ** p * np.broadcast_to(omega, m1.shape) ** q
    weight = np.where(ok & (omega > 0), weight, 0.0)
    a_edges = np.linspace(-max_alpha, max_alpha, n_alpha + 1)
    d_edges = np.linspace(-max_delay, max_delay, n_delay + 1)
    scale = float(weight.max()) if weight.size else 0.0
    if scale > 0:
        weight = weight / scale
    # binning by index arithmetic (np.histogram2d's searchsorted costs 5x more here)
    ia = np.floor((alpha.ravel() + max_alpha) * (n_alpha / (2 * max_alpha)))
    idl = np.floor((delay.ravel() + max_delay) * (n_delay / (2 * max_delay)))
    w = weight.ravel()
    inside = (ia >= 0) & (ia < n_alpha) & (idl >= 0) & (idl < n_delay) & (w > 0)
    flat_index = ia[inside].astype(np.intp) * n_delay + idl[inside].astype(np.intp)
    hist = np.bincount(flat_index, weights=w[inside],
                       minlength=n_alpha * n_delay).reshape(n_alpha, n_delay)
    if smooth > 0:
        hist = gaussian_filter(hist, smooth, mode="constant")
    total = hist.sum()
    if total > 0:
        hist = hist / total
    return DuetHistogram(hist, 0.5 * (a_edges[1:] + a_edges[:-1]),
                         0.5 * (d_edges[1:] + d_edges[:-1]), int(sr))


def duet_peaks(h, n_sources=None, *, neighborhood=5, threshold=0.05):
    r"""Peaks of a DUET histogram: the sources' (symmetric attenuation, delay).

    A peak is a local maximum over a ``neighborhood x neighborhood`` window of histogram
    bins.  With ``n_sources`` given, the ``n_sources`` highest peaks are kept (if fewer
    exist, the missing ones are placed at delay 0, evenly over the attenuation axis, and
    flagged); with ``n_sources=None`` the **automatic count** keeps every peak at least
    ``threshold`` times the highest one.  Peaks are returned in a deterministic order: by
    increasing attenuation (channel 1 loudest first), then delay.

    Parameters
    ----------
    h : DuetHistogram
    n_sources : int or None
    neighborhood : int, default 5
        Odd window size (histogram bins) of the local-maximum test.
    threshold : float, default 0.05
        Relative height of the automatic count.

    Returns
    -------
    peaks : ndarray, shape (n_peaks, 2)
        ``(alpha, delay)`` rows: symmetric attenuation and delay in samples.
    found : int
        How many were real peaks of the histogram (the rest are placeholders).

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> from dsp_separate.separators.spatial import DuetHistogram
    >>> H = np.zeros((9, 9)); H[2, 4] = 1.0; H[6, 7] = 0.5
    >>> h = DuetHistogram(H, np.linspace(-2, 2, 9), np.linspace(-2, 2, 9), 8000)
    >>> peaks, found = ds.duet_peaks(h, neighborhood=3)
    >>> peaks.tolist(), found
    ([[-1.0, 0.0], [1.0, 1.5]], 2)
    """
    from scipy.ndimage import maximum_filter

    H = h.hist
    top = float(H.max()) if H.size else 0.0
    if top > 0:
        local = (H == maximum_filter(H, size=neighborhood, mode="constant")) & (H > 0)
        ii, jj = np.nonzero(local)
        heights = H[ii, jj]
        order = np.lexsort((jj, ii, -heights))  # highest first, ties by position
        ii, jj, heights = ii[order], jj[order], heights[order]
        if n_sources is None:
            keep = heights >= threshold * top
            ii, jj = ii[keep], jj[keep]
        else:
            ii, jj = ii[:n_sources], jj[:n_sources]
        peaks = np.stack([h.alpha[ii], h.delay[jj]], axis=1)
    else:
        peaks = np.zeros((0, 2))
    found = len(peaks)
    if n_sources is not None and found < n_sources:
        missing = n_sources - found
        fill = np.linspace(h.alpha[0], h.alpha[-1], missing + 2)[1:-1]
        peaks = np.concatenate([peaks, np.stack([fill, np.zeros(missing)], axis=1)])
    order = np.lexsort((peaks[:, 1], peaks[:, 0]))
    return peaks[order], found


def duet_masks(X, peaks, *, mask="binary", width=0.01):
    r"""DUET masks of a stereo STFT for given source positions (Rickard 2007).

    Source :math:`j` at symmetric attenuation :math:`\alpha_j` (level ratio
    :math:`a_j = (\alpha_j + \sqrt{\alpha_j^2 + 4}) / 2`) and delay :math:`\delta_j` explains
    bin :math:`(\omega, t)` with the normalised residual

    .. math::

        J_j = \frac{|a_j e^{-i\omega\delta_j} X_1 - X_2|^2}{(1 + a_j^2)\,(|X_1|^2 + |X_2|^2)}
        \in [0, 1].

    ``"binary"``: each bin to the :math:`j` of least :math:`J_j` (Rickard's maximum
    likelihood assignment); ``"soft"``: :math:`m_j \propto \exp(-J_j / \text{width})`.
    Silent bins are shared equally.

    Parameters
    ----------
    X : ndarray, shape (2, n_freq, n_frames), complex
    peaks : ndarray, shape (n_sources, 2)
        ``(alpha, delay in samples)`` rows.
    mask : {"binary", "soft"}
    width : float, default 0.01
        Temperature of the soft masks.

    Returns
    -------
    ndarray, shape (n_sources, n_freq, n_frames), float64
        Masks summing to one in every bin.
    """
    X1 = X[0].astype(np.complex128)
    X2 = X[1].astype(np.complex128)
    peaks = np.asarray(peaks, dtype=np.float64)
    omega = _bin_omegas(X.shape[-2])[:, None]
    energy = np.abs(X1) ** 2 + np.abs(X2) ** 2
    J = np.empty((len(peaks),) + X1.shape)
    for j, (al, de) in enumerate(peaks):
        a = 0.5 * (al + np.sqrt(al * al + 4.0))
        J[j] = np.abs(a * np.exp(-1j * omega * de) * X1 - X2) ** 2 / (1.0 + a * a)
    J = np.divide(J, energy, out=np.zeros_like(J), where=energy > 0)
    if mask == "binary":
        win = np.argmin(J, axis=0)
        out = (np.arange(len(peaks))[:, None, None] == win).astype(np.float64)
    else:
        logits = -(J - J.min(axis=0, keepdims=True)) / width
        out = np.exp(logits)
        out /= out.sum(axis=0, keepdims=True)
    silent = energy <= 0
    if np.any(silent):
        out[:, silent] = 1.0 / len(peaks)
    return out


class DUET(Separator):
    r"""DUET: degenerate unmixing by attenuation and delay histograms (Rickard 2007), stereo.

    Each STFT bin gives a level ratio and a delay between the two channels
    (:func:`duet_histogram`); with one source per bin, the power-weighted histogram of these
    pairs has one peak per source (:func:`duet_peaks`), and each bin goes to the peak that
    explains it best (:func:`duet_masks`).  Works with more sources than channels (3 sources
    in a stereo mix).  The masks are applied to both channels: each source is its stereo
    image, and the sources sum to the mixture.  Sources are named ``source_0``, ... by
    **increasing symmetric attenuation** (the source loudest in channel 1 first), then delay.

    ``result.info`` holds ``"histogram"`` (the :class:`DuetHistogram`), ``"peaks"``
    (``(n_sources, 2)``: symmetric attenuation, delay in samples), ``"peaks_found"`` (real
    histogram peaks among them) and ``"n_peaks_auto"`` (the automatic count: peaks at least
    ``threshold`` of the highest; the separator itself needs a fixed ``n_sources``, since the
    source names are fixed by the parameters — read the count here or from
    :func:`duet_peaks` ``(n_sources=None)`` and set it).  Batches give lists.

    Fails when the sources are not sparse in the STFT, in reverberant rooms (every source
    spreads over the histogram), for sources at the same position, and for microphone
    spacings whose delays exceed one sample at the top frequency (phase wrapping).

    Parameters
    ----------
    n_sources : int, default 2
    mask : {"binary", "soft"}, default "binary"
    p, q : float, default 1.0, 0.0
        Histogram weight :math:`|X_1 X_2|^p \omega^q`.
    max_alpha : float, default 2.0
        Histogram range of the symmetric attenuation.
    max_delay : float, default 2.0
        Histogram range of the delay, in samples.
    n_bins : int, default 81
        Histogram bins per axis.
    smooth : float, default 1.0
        Gaussian smoothing of the histogram, in histogram bins.
    neighborhood : int, default 5
        Window of the peak test, in histogram bins.
    threshold : float, default 0.05
        Relative peak height of the automatic count (reported only).
    width : float, default 0.01
        Temperature of the soft masks.
    stft : STFT, dict or None
        Transform (default n_fft 2048, hop 512).

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> t = np.arange(16000) / 8000
    >>> s = np.stack([np.sin(2 * np.pi * f * t) for f in (300, 700, 1500)])  # disjoint
    >>> y = np.stack([s.sum(0), 2.0 * s[0] + s[1] + 0.5 * s[2]])
    >>> result = ds.DUET(n_sources=3, stft=ds.STFT(512, 128)).separate(y, 8000)
    >>> np.round(result.info["peaks"][:, 0], 1).tolist()      # a - 1/a for a = 0.5, 1, 2
    [-1.5, 0.0, 1.5]
    """

    name = "duet"
    summary = "DUET: stereo attenuation/delay histogram peaks and masks (Rickard 2007)"
    tags = Tags(kind="mask", min_channels=2, max_channels=2, n_sources="parameter")
    param_choices = {"mask": ("binary", "soft")}

    def __init__(self, n_sources=2, mask="binary", p=1.0, q=0.0, max_alpha=2.0,
                 max_delay=2.0, n_bins=81, smooth=1.0, neighborhood=5, threshold=0.05,
                 width=0.01, stft=None):
        self.n_sources = n_sources
        self.mask = mask
        self.p = p
        self.q = q
        self.max_alpha = max_alpha
        self.max_delay = max_delay
        self.n_bins = n_bins
        self.smooth = smooth
        self.neighborhood = neighborhood
        self.threshold = threshold
        self.width = width
        self.stft = stft

    def _validate_params(self):
        _check_n_sources(self.n_sources)
        check_choice(self.mask, "mask", ("binary", "soft"))
        check_nonnegative_float(self.p, "p")
        check_nonnegative_float(self.q, "q")
        check_positive_float(self.max_alpha, "max_alpha")
        check_positive_float(self.max_delay, "max_delay")
        check_positive_int(self.n_bins, "n_bins")
        if self.n_bins < 3:
            raise ParameterError(f"n_bins={self.n_bins}: must be at least 3")
        check_nonnegative_float(self.smooth, "smooth")
        check_positive_int(self.neighborhood, "neighborhood")
        check_positive_float(self.threshold, "threshold")
        if self.threshold > 1:
            raise ParameterError(f"threshold={describe(self.threshold)}: must be in (0, 1], "
                                 "a fraction of the highest peak")
        check_positive_float(self.width, "width")

    def _estimate(self, X, *, y, sr, stft):
        lead = X.shape[:-3]
        flat = X.reshape((-1,) + X.shape[-3:])
        k = int(self.n_sources)
        masks = np.empty((k, flat.shape[0]) + X.shape[-2:])
        infos = []
        for b in range(flat.shape[0]):
            Xb = _unit_peak(flat[b])
            h = duet_histogram(Xb, sr, p=self.p, q=self.q, max_alpha=self.max_alpha,
                               max_delay=self.max_delay, n_alpha=self.n_bins,
                               n_delay=self.n_bins, smooth=self.smooth)
            peaks, found = duet_peaks(h, k, neighborhood=self.neighborhood)
            auto, _ = duet_peaks(h, None, neighborhood=self.neighborhood,
                                 threshold=self.threshold)
            masks[:, b] = duet_masks(Xb, peaks, mask=self.mask, width=self.width)
            infos.append({"histogram": h, "peaks": peaks, "peaks_found": found,
                          "n_peaks_auto": len(auto)})
        info = infos[0] if len(infos) == 1 else {
            key: [i[key] for i in infos] for key in infos[0]}
        shape = X.shape
        return Masks({f"source_{j}": np.broadcast_to(
            masks[j].reshape(lead + (1,) + X.shape[-2:]), shape) for j in range(k)},
            info=info)


# ---------------------------------------------------------------------------- clustering
def spatial_features(X, *, level_scale=6.0, min_hz=0.0, sr=None):
    r"""Inter-channel level and phase-delay features of every bin, against channel 1.

    For channels :math:`m = 2, \dots, M` and bin :math:`(\omega, t)`:

    .. math::

        \text{ILD}_m = \frac{20 \log_{10}(|X_m| / |X_1|)}{\text{level\_scale}}, \qquad
        \text{IPD}_m / \omega = \frac{\angle (X_m X_1^*)}{\omega}

    (the second a delay in samples, unambiguous for delays under one sample at the top
    bin).  Level differences are divided by ``level_scale`` dB so that both features have
    comparable spreads (6 dB ~ one sample).  Zero bins are given zero features; the DC bin
    (and bins under ``min_hz``) a zero delay.

    Parameters
    ----------
    X : ndarray, shape (n_channels, n_freq, n_frames), complex
    level_scale : float, default 6.0
    min_hz : float, default 0.0
        Bins below it get a zero delay feature (their phase is unreliable).
    sr : int, optional
        Needed when ``min_hz > 0``.

    Returns
    -------
    ndarray, shape (n_freq, n_frames, 2 (n_channels - 1)), float64
        Level features then delay features.
    """
    X = np.asarray(X).astype(np.complex128)
    m, F, T = X.shape
    ref = X[0]
    omega = _bin_omegas(F)[:, None]
    valid_w = omega > 0
    if min_hz > 0 and sr is not None:
        valid_w = valid_w & (np.arange(F)[:, None] * sr / max(2 * (F - 1), 1) >= min_hz)
    feats = []
    a0 = np.abs(ref)
    for c in range(1, m):
        ac = np.abs(X[c])
        ok = (a0 > 0) & (ac > 0)
        ratio = np.divide(ac, a0, out=np.ones_like(ac), where=ok)
        feats.append(20 * np.log10(ratio) / level_scale)
    for c in range(1, m):
        ok = (a0 > 0) & (np.abs(X[c]) > 0) & valid_w
        phase = np.angle(X[c] * np.conj(ref))
        feats.append(np.divide(-phase, omega, out=np.zeros_like(phase), where=ok))
    return np.stack(feats, axis=-1)


def _histogram_init(pts, k, max_delay, max_level, n_bins=81):
    """Initial cluster centres for stereo features: the ``k`` highest peaks of their smoothed
    2-D histogram (DUET's peak picking on the fitted points); None for other channel counts
    or when fewer than ``k`` peaks exist."""
    if pts.shape[1] != 2:
        return None
    from scipy.ndimage import gaussian_filter

    a_edges = np.linspace(-max_level, max_level, n_bins + 1)
    d_edges = np.linspace(-max_delay, max_delay, n_bins + 1)
    hist, _, _ = np.histogram2d(pts[:, 0], pts[:, 1], bins=(a_edges, d_edges))
    hist = gaussian_filter(hist, 1.0, mode="constant")
    h = DuetHistogram(hist, 0.5 * (a_edges[1:] + a_edges[:-1]),
                      0.5 * (d_edges[1:] + d_edges[:-1]), 1)
    peaks, found = duet_peaks(h, k)
    return peaks if found >= k else None


class SpatialClustering(Separator):
    r"""Clustering of inter-channel level and phase differences (any channel count).

    Every STFT bin gets the features of :func:`spatial_features` (level differences in
    units of ``level_scale`` dB and phase differences divided by frequency, i.e. delays in
    samples, of every channel against the first).  A source at one position gives one
    cluster (W-disjoint orthogonality; Yilmaz & Rickard 2004; Mandel, Weiss & Ellis 2010).
    The clusters are fitted on the loudest bins (those within ``dynamic_range`` dB of the
    loudest, at most ``max_points`` of them, chosen with ``random_state``), weighted
    towards the loud ones by keeping them, then every bin gets:

    * ``clusterer="gmm"``: scikit-learn's ``GaussianMixture`` (``covariance_type``); soft masks are
      the posteriors :math:`p(k \mid \text{features})`, binary masks their argmax;
    * ``clusterer="kmeans"``: scikit-learn's ``KMeans``; binary masks from the nearest centre,
      soft masks :math:`\propto \exp(-d_k^2 / 2)` (a GMM with unit covariances).

    The masks are applied at every channel (each source is its image) and sum to one.
    Clusters are named ``source_0``, ... by **increasing mean level difference** (the
    source loudest in channel 1 first), then delay.  A mixture with no spatial spread
    (identical or proportional channels, silence) has nothing to cluster: each source gets
    an equal share.  ``result.info`` holds the cluster ``"means"`` (rows: features).

    Parameters
    ----------
    n_sources : int, default 2
    clusterer : {"gmm", "kmeans"}, default "gmm"
    mask : {"soft", "binary"}, default "soft"
    covariance_type : {"tied", "full", "diag", "spherical"}, default "tied"
        Covariance of the ``GaussianMixture`` clusters (``clusterer="gmm"`` only); ``"tied"``
        (one shared covariance: a broad "junk" component cannot swallow the outliers, as the
        others did on our synthetic mixture; ``docs/spatial.md``).
    level_scale : float, default 6.0
        dB of level difference counted as one unit (like one sample of delay).
    dynamic_range : float, default 30.0
        Bins quieter than this many dB below the loudest are not used for fitting.
    min_hz : float, default 100.0
        Bins below it get no delay feature and are not fitted on (their phase difference,
        divided by a small frequency, is mostly noise).
    max_delay : float, default 2.0
        Bins whose delay feature exceeds it (samples), or whose level difference exceeds
        30 dB, are not fitted on.
    max_points : int, default 20000
        Bins drawn for fitting, with replacement, with probabilities proportional to their
        energy (DUET's power weighting).
    n_init : int, default 5
        Initialisations of the clustering (the best likelihood / inertia is kept).
    random_state : None, int or numpy.random.Generator, default 0
    stft : STFT, dict or None
        Transform (default n_fft 2048, hop 512).

    Examples
    --------
    >>> import numpy as np
    >>> import dsp_separate as ds
    >>> t = np.arange(16000) / 8000
    >>> s = np.stack([np.sin(2 * np.pi * f * t) for f in (300, 700, 1500)])  # disjoint
    >>> y = np.stack([s.sum(0), 2.0 * s[0] + s[1] + 0.5 * s[2]])
    >>> sep = ds.SpatialClustering(n_sources=3, stft=ds.STFT(512, 128))
    >>> np.round(sep.separate(y, 8000).info["means"][:, 0] * 6).tolist()  # dB: -6, 0, 6
    [-6.0, 0.0, 6.0]
    """

    name = "spatial_clustering"
    summary = "GMM / k-means clustering of inter-channel level and phase differences"
    tags = Tags(kind="mask", min_channels=2, n_sources="parameter")
    param_choices = {"clusterer": ("gmm", "kmeans"), "mask": ("soft", "binary"),
                     "covariance_type": _COVARIANCES}

    def __init__(self, n_sources=2, clusterer="gmm", mask="soft", covariance_type="tied",
                 level_scale=6.0, dynamic_range=30.0, min_hz=100.0, max_delay=2.0,
                 max_points=20000, n_init=5, random_state=0, stft=None):
        self.n_sources = n_sources
        self.clusterer = clusterer
        self.covariance_type = covariance_type
        self.mask = mask
        self.level_scale = level_scale
        self.dynamic_range = dynamic_range
        self.min_hz = min_hz
        self.max_delay = max_delay
        self.max_points = max_points
        self.n_init = n_init
        self.random_state = random_state
        self.stft = stft

    def _validate_params(self):
        _check_n_sources(self.n_sources)
        check_choice(self.clusterer, "clusterer", ("gmm", "kmeans"))
        check_choice(self.mask, "mask", ("soft", "binary"))
        check_choice(self.covariance_type, "covariance_type", _COVARIANCES)
        check_positive_float(self.level_scale, "level_scale")
        check_positive_float(self.dynamic_range, "dynamic_range")
        check_nonnegative_float(self.min_hz, "min_hz")
        check_positive_float(self.max_delay, "max_delay")
        check_positive_int(self.max_points, "max_points")
        if self.max_points < self.n_sources:
            raise ParameterError(f"max_points={describe(self.max_points)}: must be at least "
                                 f"n_sources={self.n_sources} (one point per cluster)")
        check_positive_int(self.n_init, "n_init")
        rs = self.random_state
        if rs is not None and not isinstance(rs, np.random.Generator) and (
                isinstance(rs, bool) or not isinstance(rs, numbers.Integral) or rs < 0):
            raise ParameterError(f"random_state={describe(rs)}: must be None, a non-negative "
                                 "integer or a numpy Generator")

    def _estimate(self, X, *, y, sr, stft):
        lead = X.shape[:-3]
        flat = X.reshape((-1,) + X.shape[-3:])
        k = int(self.n_sources)
        masks = np.empty((k, flat.shape[0]) + X.shape[-2:])
        infos = []
        for b in range(flat.shape[0]):
            masks[:, b], info = self._one(_unit_peak(flat[b]), sr, k)
            infos.append(info)
        info = infos[0] if len(infos) == 1 else {
            key: [i[key] for i in infos] for key in infos[0]}
        return Masks({f"source_{j}": np.broadcast_to(
            masks[j].reshape(lead + (1,) + X.shape[-2:]), X.shape) for j in range(k)},
            info=info)

    def _one(self, X, sr, k):
        if self.min_hz >= sr / 2:
            raise ParameterError(f"min_hz={describe(self.min_hz)}: must be below the Nyquist "
                                 f"frequency sr/2 = {sr / 2:g} Hz (no bin would be fitted)")
        F, T = X.shape[-2:]
        feats = spatial_features(X, level_scale=self.level_scale, min_hz=self.min_hz, sr=sr)
        d = feats.shape[-1]
        power = np.sum(np.abs(X.astype(np.complex128)) ** 2, axis=0)
        top = float(power.max()) if power.size else 0.0
        equal = np.full((k, F, T), 1.0 / k)
        if top <= 0:
            return equal, {"means": np.zeros((k, d))}
        loud = power >= top * 10.0 ** (-self.dynamic_range / 10)
        # bins without a delay feature (DC, under min_hz) are classified but not fitted on
        freqs = np.arange(F) * sr / max(2 * (F - 1), 1)
        loud &= (freqs >= max(self.min_hz, 1e-12))[:, None]
        # bins whose delay or level difference is beyond any source position are noise
        # (phase noise divided by a small frequency): classified, not fitted on
        half = d // 2
        loud &= np.all(np.abs(feats[..., half:]) <= self.max_delay, axis=-1)
        loud &= np.all(np.abs(feats[..., :half]) * self.level_scale <= 30.0, axis=-1)
        pts = feats[loud]
        spread = pts.std(axis=0).max() if len(pts) else 0.0
        if len(pts) < 2 * k or not spread > 1e-6:
            return equal, {"means": np.zeros((k, d))}
        # power-weighted fit (DUET's weighting, p = 1 on the energy): max_points bins drawn
        # with replacement with probability proportional to their energy
        rng = np.random.default_rng(self.random_state)
        w = power[loud]
        pick = rng.choice(len(pts), self.max_points, replace=True, p=w / w.sum())
        pts = pts[np.sort(pick)]
        # scikit-learn takes None or an int: a Generator gives one draw (items in order)
        rs = self.random_state
        seed = (int(rng.integers(2 ** 31 - 1)) if isinstance(rs, np.random.Generator)
                else None if rs is None else int(rs))
        flat = feats.reshape(-1, d)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # degenerate clusters: handled below
            if self.clusterer == "gmm":
                from sklearn.mixture import GaussianMixture

                init = _histogram_init(pts, k, self.max_delay, 30.0 / self.level_scale)
                gm = GaussianMixture(k, covariance_type=self.covariance_type,
                                     reg_covar=1e-4, random_state=seed,
                                     n_init=1 if init is not None else self.n_init,
                                     means_init=init).fit(pts)
                means = gm.means_
                post = gm.predict_proba(flat)
            else:
                from sklearn.cluster import KMeans

                init = _histogram_init(pts, k, self.max_delay, 30.0 / self.level_scale)
                with fork_safe_openmp():
                    km = KMeans(k, n_init=1 if init is not None else self.n_init,
                                init="k-means++" if init is None else init,
                                random_state=seed).fit(pts)
                means = km.cluster_centers_
                var = max(km.inertia_ / (len(pts) * d), 1e-12)  # within-cluster variance
                d2 = ((flat[:, None, :] - means[None]) ** 2).sum(-1)
                post = np.exp(-0.5 * (d2 - d2.min(axis=1, keepdims=True)) / var)
                post /= post.sum(axis=1, keepdims=True)
        order = np.lexsort(tuple(means[:, c] for c in range(d - 1, -1, -1)))
        means, post = means[order], post[:, order]
        if self.mask == "binary":
            win = np.argmax(post, axis=1)
            post = (np.arange(k)[None] == win[:, None]).astype(np.float64)
        post = np.nan_to_num(post, nan=1.0 / k)
        masks = post.T.reshape(k, F, T)
        return masks, {"means": means}
