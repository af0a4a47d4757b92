"""DUET and spatial clustering: quality on anechoic stereo mixtures, histogram, robustness."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import dsp_separate as ds
from dsp_separate import metrics
from dsp_separate.separators import spatial as S

SR = 8000
PERMUTE = False  # the order is deterministic: the estimates come in the true order


def speechlike(n, sr, f0, rate, seed, fmax=None):
    """A sparse speech-like source: a vibrato harmonic tone switched on and off like syllables."""
    r = np.random.default_rng(seed)
    t = np.arange(n) / sr
    env = np.clip(np.sin(2 * np.pi * rate * t + r.uniform(0, 6)), 0, None) ** 3
    f = f0 * (1 + 0.06 * np.sin(2 * np.pi * 0.9 * t + seed))
    phase = 2 * np.pi * np.cumsum(f) / sr
    top = 0.9 * sr / 2 if fmax is None else fmax
    return env * sum(np.sin(h * phase) / h for h in range(1, 40) if h * f0 * 1.1 < top)


def frac_delay(x, d):
    """``x`` delayed by ``d`` samples (FFT phase ramp on a zero-padded copy)."""
    n = len(x)
    X = np.fft.rfft(x, 2 * n)
    w = 2 * np.pi * np.arange(len(X)) / (2 * n)
    return np.fft.irfft(X * np.exp(-1j * w * d), 2 * n)[:n]


def anechoic(n=2 * SR, gains=(0.5, 1.0, 1.8), delays=(-0.7, 0.3, 1.0),
             f0s=(110, 170, 260), rates=(1.7, 2.3, 3.1)):
    """(stereo mixture, images (3, 2, n)): x1 = sum s_j, x2 = sum g_j s_j(t - d_j)."""
    s = [speechlike(n, SR, f, r, i) for i, (f, r) in enumerate(zip(f0s, rates))]
    images = np.stack([np.stack([s[j], g * frac_delay(s[j], d)])
                       for j, (g, d) in enumerate(zip(gains, delays))])
    return images.sum(axis=0), images


def sdr(images, result, permutation=PERMUTE):
    """BSS Eval image SDR with 32-tap distortion filters (512 costs ~25 s here; fewer taps
    only lower the figure, so the thresholds are conservative)."""
    return bss(images, result.stack(), permutation=permutation).sdr


def bss(images, estimates, permutation=PERMUTE):
    return metrics.bss_eval_images(images, np.asarray(estimates, dtype=np.float64),
                                   permutation=permutation, filter_len=32)


# ---------------------------------------------------------------------------- DUET
@pytest.mark.parametrize("mask", ["binary", "soft"])
def test_duet_three_sources_in_stereo(mask):
    y, images = anechoic()
    result = ds.DUET(n_sources=3, mask=mask).separate(y, SR)
    scores = sdr(images, result)  # in the true order: no permutation search
    # measured: 17.4 / 14.6 / 19.5 dB (binary), 17.4 / 15.3 / 20.5 dB (soft)
    assert scores.min() >= 10.0, scores
    np.testing.assert_allclose(result.stack().sum(axis=0), y, atol=1e-9)
    # peaks at the true positions, in order of increasing symmetric attenuation
    peaks = result.info["peaks"]
    g = np.array([0.5, 1.0, 1.8])
    np.testing.assert_allclose(peaks[:, 0], g - 1 / g, atol=0.1)
    np.testing.assert_allclose(peaks[:, 1], [-0.7, 0.3, 1.0], atol=0.1)
    assert result.info["peaks_found"] == 3 and result.info["n_peaks_auto"] == 3


def test_duet_histogram_is_a_pure_function_with_its_peaks():
    y, _ = anechoic()
    X = ds.STFT(2048, 512).forward(y)
    h = ds.duet_histogram(X, SR)
    assert h.hist.shape == (81, 81) and abs(h.hist.sum() - 1) < 1e-9 and h.hist.min() >= 0
    peaks, found = ds.duet_peaks(h)  # automatic count
    assert found == 3 and peaks.shape == (3, 2)
    peaks2, found2 = ds.duet_peaks(h, 5)  # more than exist: placeholders, flagged
    assert found2 >= 3 and peaks2.shape == (5, 2)
    # the weighting matters: q = 2 moves the weight to high frequencies but keeps the peaks
    h2 = ds.duet_histogram(X, SR, p=2.0, q=2.0)
    assert not np.allclose(h.hist, h2.hist)


def test_duet_one_source_histogram_position():
    s = speechlike(SR, SR, 150, 2.0, 0)
    y = np.stack([s, 0.5 * frac_delay(s, 0.4)])
    h = ds.duet_histogram(ds.STFT(512, 128).forward(y), SR)
    i, j = np.unravel_index(np.argmax(h.hist), h.hist.shape)
    assert abs(h.alpha[i] - (0.5 - 2.0)) <= 0.06 and abs(h.delay[j] - 0.4) <= 0.06


def test_duet_refuses_other_channel_counts_and_bad_params():
    y, _ = anechoic()
    with pytest.raises(ds.ParameterError, match="needs exactly 2"):
        ds.DUET().separate(np.stack([y[0], y[1], y[0]]), SR)
    for sep, word in [(ds.DUET(n_sources=0), "n_sources=0"), (ds.DUET(mask="x"), "mask='x'"),
                      (ds.DUET(n_bins=2), "n_bins=2"), (ds.DUET(p=-1.0), "p=-1.0")]:
        with pytest.raises(ds.ParameterError, match=word):
            sep.separate(y, SR)


# ---------------------------------------------------------------------------- clustering
@pytest.mark.parametrize("clusterer,mask", [("gmm", "soft"), ("gmm", "binary"),
                                        ("kmeans", "binary")])
def test_spatial_clustering_three_sources_in_stereo(clusterer, mask):
    y, images = anechoic()
    result = ds.SpatialClustering(n_sources=3, clusterer=clusterer, mask=mask).separate(y, SR)
    scores = sdr(images, result)
    # measured: gmm soft 16.6 / 13.6 / 18.6 dB, gmm binary 16.6 / 13.5 / 18.4 dB, k-means
    # binary 15.1 / 14.0 / 19.7 dB
    assert scores.min() >= 10.0, scores
    np.testing.assert_allclose(result.stack().sum(axis=0), y, atol=1e-9)
    means = result.info["means"]
    assert np.all(np.diff(means[:, 0]) > 0)  # order: by level difference


def test_spatial_clustering_four_mics():
    """More channels than needed: features of every channel against the first."""
    y, images = anechoic()
    y4 = np.concatenate([y, 0.8 * y[::-1]])
    img4 = np.concatenate([images, 0.8 * images[:, ::-1]], axis=1)
    result = ds.SpatialClustering(n_sources=3).separate(y4, SR)
    assert result["source_0"].shape == (4, y.shape[-1])
    assert sdr(img4, result).min() >= 10.0


@pytest.mark.parametrize("name", ["duet", "spatial_clustering"])
def test_spatial_robust_inputs(name):
    cls = ds.get_separator(name)
    y, _ = anechoic(n=SR)
    s = speechlike(SR, SR, 150, 2.0, 0, fmax=1000)
    cases = {
        "identical_channels": np.stack([y[0], y[0]]),
        "silent_channel": np.stack([y[0], 0 * y[0]]),
        "silence": np.zeros((2, SR)),
        "dc": np.full((2, SR), 0.3),
        "dc_offset": y + 0.2,
        "band_limited_one_source": np.stack([s, 0.5 * s]),
        "float32": y.astype(np.float32),
        "batch": np.stack([y, y[::-1]]),
    }
    for case, x in cases.items():
        with np.errstate(divide="ignore", invalid="raise"):
            result = cls(n_sources=3).separate(x, SR)
        out = result.stack()
        assert np.isfinite(out).all(), case
        assert out.dtype == x.dtype and out.shape == (3,) + x.shape, case
        np.testing.assert_allclose(out.astype(np.float64).sum(axis=0), x,
                                   atol=1e-5 * max(1.0, np.abs(x).max()), err_msg=case)


@pytest.mark.parametrize("name", ["duet", "spatial_clustering"])
def test_long_signal(name):
    n = 30 * SR
    y, _ = anechoic(n=n)
    result = ds.get_separator(name)(n_sources=3).separate(y.astype(np.float32), SR)
    assert np.isfinite(result.stack()).all()


def test_spatial_features_values():
    s = speechlike(SR, SR, 150, 2.0, 0)
    y = np.stack([s, 0.5 * frac_delay(s, 0.3)])
    X = ds.STFT(512, 128).forward(y)
    f = S.spatial_features(X, level_scale=6.0)
    power = np.abs(X[0]) ** 2
    loud = power > 1e-3 * power.max()
    loud[:5] = False
    np.testing.assert_allclose(np.median(f[loud][:, 0]) * 6.0, 20 * np.log10(0.5), atol=0.05)
    np.testing.assert_allclose(np.median(f[loud][:, 1]), 0.3, atol=0.02)


def test_parameters_checked_against_each_other_and_the_sampling_rate():
    # review of issue 9: max_points < n_sources reached scikit-learn's ValueError, a
    # min_hz at or above Nyquist silently gave equal masks, and threshold > 1 was accepted
    y = np.random.default_rng(0).standard_normal((2, 4000))
    with pytest.raises(ds.ParameterError, match=r"max_points=1: must be at least n_sources=2"):
        ds.SpatialClustering(max_points=1).separate(y, 8000)
    with pytest.raises(ds.ParameterError, match=r"min_hz=5000.*Nyquist"):
        ds.SpatialClustering(min_hz=5000).separate(y, 8000)
    with pytest.raises(ds.ParameterError, match=r"threshold=2: must be in \(0, 1\]"):
        ds.DUET(threshold=2).separate(y, 8000)
    out = ds.SpatialClustering(max_points=2, n_init=1).separate(y, 8000).stack()
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out.sum(axis=0), y, atol=1e-12)


@pytest.mark.parametrize("name", ["duet", "spatial_clustering"])
def test_very_loud_input_does_not_overflow(name):
    # review of issue 9: at a peak of 1e200 the bin powers overflowed (spatial clustering
    # raised numpy's "Probabilities contain NaN"; DUET warned of overflow)
    y, _ = anechoic()
    sep = ds.get_separator(name)(n_sources=3)
    ref = sep.separate(y, SR).stack()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = sep.separate(y * 1e200, SR).stack()
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out / 1e200, ref, rtol=1e-6, atol=1e-9 * np.abs(ref).max())


def test_spatial_clustering_accepts_a_generator_seed():
    y, _ = anechoic()
    a = ds.SpatialClustering(n_sources=3, random_state=np.random.default_rng(4)).separate(y, SR)
    b = ds.SpatialClustering(n_sources=3, random_state=np.random.default_rng(4)).separate(y, SR)
    np.testing.assert_array_equal(a["source_0"], b["source_0"])
    with pytest.raises(ds.ParameterError, match="numpy Generator"):
        ds.SpatialClustering(n_sources=3, random_state="x").separate(y, SR)
