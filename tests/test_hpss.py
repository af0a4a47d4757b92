"""Tests of harmonic-percussive separation (dsp_separate.separators.hpss) and the sliding
median kernel (dsp_separate._kernels.median).

Truths used: the loop median of ``tests/naive.py`` and ``scipy.ndimage.median_filter`` for the
filter, ``librosa.decompose.hpss(..., mask=True)`` for the masks, and a synthesized mixture of
a steady tone and a click train whose two sources are known exactly.
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import scipy.ndimage

from dsp_separate import STFT
from dsp_separate._kernels import median as median_kernels
from dsp_separate.exceptions import ParameterError
from dsp_separate.separators.hpss import HPSS, hpss, hpss_masks, median_filter
from tests import naive


def magnitudes(shape, dtype=np.float64, seed=0, ties=False):
    rng = np.random.default_rng(seed)
    if ties:  # few distinct values: many equal elements inside every window
        return rng.integers(0, 4, size=shape).astype(dtype)
    return np.abs(rng.standard_normal(shape)).astype(dtype)


# --------------------------------------------------------------------------- median filter


@pytest.mark.kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("n", [1, 2, 3, 7, 40])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 8, 31, 100])
def test_median_kernel_matches_naive(dtype, ties, n, k):
    """Odd and even windows, windows longer than the row (k > n, k > 2n), rows of length 1."""
    S = magnitudes((3, n), dtype, seed=n * 1000 + k, ties=ties)
    out = np.empty_like(S)
    median_kernels.median_filter_rows(S, k, out)
    expected = np.stack([naive.median_filter_line(row, k) for row in S])
    np.testing.assert_array_equal(out, expected)


SCIPY_CASES = [
    (axis, F, T, k)
    for axis in (-1, -2)
    for F, T in [(1, 1), (1, 9), (9, 1), (17, 23), (64, 5)]
    for k in (1, 2, 3, 6, 11)
    if k <= 2 * (T if axis == -1 else F) + 1
]


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("axis,F,T,k", SCIPY_CASES)
def test_median_filter_matches_scipy_ndimage(ties, axis, F, T, k):
    """Equal to ``scipy.ndimage.median_filter(mode="reflect")`` with the window on one axis.

    Only windows up to ``2 n + 1`` (``n`` the filtered line's length) are compared with scipy:
    beyond that scipy's own 1-D and 2-D code paths disagree with each other (and the 2-D one
    returns uninitialised values once the window exceeds ~8 n); ``naive.py`` covers those.
    """
    S = magnitudes((F, T), seed=F * T + k, ties=ties)
    size = (1, k) if axis == -1 else (k, 1)
    expected = scipy.ndimage.median_filter(S, size=size, mode="reflect")
    np.testing.assert_array_equal(median_filter(S, k, axis=axis), expected)


@pytest.mark.kernels
@pytest.mark.parametrize("axis", [-1, -2])
def test_median_filter_leading_shapes_and_dtype(axis):
    S = magnitudes((2, 3, 20, 30), np.float32, seed=1)
    out = median_filter(S, 7, axis=axis)
    assert out.shape == S.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out, naive.median_filter(S, 7, axis=axis % 4))
    np.testing.assert_array_equal(out[1, 2], median_filter(S[1, 2], 7, axis=axis))


def test_median_filter_leaves_input_alone():
    S = magnitudes((10, 12))
    S.setflags(write=False)
    copy = S.copy()
    median_filter(S, 5, axis=-1)
    median_filter(S, 5, axis=-2)
    np.testing.assert_array_equal(S, copy)


@pytest.mark.parametrize("call,name", [
    (lambda: median_filter(np.ones(5), 3), "S="),
    (lambda: median_filter(np.ones((3, 3), dtype=int), 3), "S="),
    (lambda: median_filter(np.full((3, 3), np.nan), 3), "S="),
    (lambda: median_filter(np.ones((3, 3)), 0), "kernel_size=0"),
    (lambda: median_filter(np.ones((2, 3, 3)), 3, axis=0), "axis=0"),  # a channel axis
])
def test_median_filter_errors(call, name):
    with pytest.raises(ParameterError, match=name):
        call()


# --------------------------------------------------------------------------- masks vs librosa


MASK_CASES = [
    # kernel_size, power, margin
    (31, 2.0, 1.0),
    ((17, 9), 1.0, 1.0),
    ((5, 40), 0.5, 1.0),
    (31, 2.0, 2.0),
    ((17, 9), 1.0, (1.0, 3.0)),
    (9, 2.0, (2.5, 1.0)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel_size,power,margin", MASK_CASES)
def test_soft_masks_match_librosa(dtype, kernel_size, power, margin):
    S = magnitudes((2, 257, 150), dtype, seed=2)
    S[..., :40] = 0.0  # a silent stretch longer than any window: the 0/0 rule must match
    m_h, m_p = hpss_masks(S, kernel_size=kernel_size, power=power, margin=margin)
    r_h, r_p = librosa.decompose.hpss(S, kernel_size=kernel_size, power=power, margin=margin,
                                      mask=True)
    assert m_h.dtype == m_p.dtype == dtype
    assert np.max(np.abs(m_h - r_h)) < 1e-5
    assert np.max(np.abs(m_p - r_p)) < 1e-5
    if margin == 1.0:
        np.testing.assert_allclose(m_h + m_p, 1.0, atol=1e-6)
        assert m_h[..., 0].min() == m_h[..., 0].max() == 0.5  # silence split evenly


@pytest.mark.parametrize("margin", [2.0, (1.0, 3.0)])
def test_binary_masks_with_margin_match_librosa(margin):
    S = magnitudes((257, 150), seed=3, ties=True)
    m_h, m_p = hpss_masks(S, kernel_size=(17, 9), mask="binary", margin=margin)
    r_h, r_p = librosa.decompose.hpss(S, kernel_size=(17, 9), power=np.inf, margin=margin,
                                      mask=True)
    np.testing.assert_array_equal(m_h, r_h)
    np.testing.assert_array_equal(m_p, r_p)
    assert (m_h + m_p).max() <= 1.0


def test_binary_masks_margin_one_ties_go_to_harmonic():
    """The documented deviation: where H == P librosa gives 0 to both masks; we give the bin
    to the harmonic mask so that the two still sum to one.  Elsewhere they are equal."""
    S = magnitudes((257, 150), seed=4, ties=True)
    m_h, m_p = hpss_masks(S, kernel_size=(17, 9), mask="binary")
    r_h, r_p = librosa.decompose.hpss(S, kernel_size=(17, 9), power=np.inf, mask=True)
    H = scipy.ndimage.median_filter(S, size=(1, 17), mode="reflect")
    P = scipy.ndimage.median_filter(S, size=(9, 1), mode="reflect")
    tie = H == P
    assert tie.sum() > 1000  # the test data really has ties
    np.testing.assert_array_equal(m_h[~tie], r_h[~tie])
    np.testing.assert_array_equal(m_p, r_p)  # percussive is strict (P > H) in both
    assert np.all(m_h[tie] == 1) and np.all(m_p[tie] == 0)
    np.testing.assert_array_equal(m_h + m_p, 1.0)
    # power=np.inf with mask="soft" is the same binary rule
    np.testing.assert_array_equal(hpss_masks(S, kernel_size=(17, 9), power=np.inf)[0], m_h)


def test_masks_of_complex_input_use_the_magnitude():
    X = STFT(512, 128).forward(np.random.default_rng(5).standard_normal(8000))
    a = hpss_masks(X, kernel_size=9)
    b = hpss_masks(np.abs(X), kernel_size=9)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_masks_example_lines():
    S = np.zeros((64, 64))
    S[20, :] = 1.0
    S[:, 40] = 1.0
    m_h, m_p = hpss_masks(S, kernel_size=9)
    assert m_h[20, 10] == 1.0 and m_p[5, 40] == 1.0
    assert m_p[20, 10] == 0.0 and m_h[5, 40] == 0.0


@pytest.mark.parametrize("kwargs,name", [
    (dict(kernel_size=0), "kernel_size=0"),
    (dict(kernel_size=(3, 4, 5)), "kernel_size="),
    (dict(margin=0.5), "margin=0.5"),
    (dict(margin=np.inf), "margin=inf"),
    (dict(mask="ratio"), "mask='ratio'"),
    (dict(power=0.0), "power=0.0"),
])
def test_mask_parameter_errors(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        hpss_masks(magnitudes((10, 10)), **kwargs)


@pytest.mark.parametrize("S", [-np.ones((4, 4)), np.full((4, 4), np.nan), np.ones(4),
                               np.ones((0, 4))])
def test_mask_input_errors(S):
    with pytest.raises(ParameterError, match="S="):
        hpss_masks(S)


# --------------------------------------------------------------------------- separation


SR = 16000


def tone_and_clicks(seconds=2.0, sr=SR):
    """A three-partial tone and a train of decaying noise clicks at equal energy (0 dB)."""
    n = int(seconds * sr)
    t = np.arange(n) / sr
    tone = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.15 * np.sin(2 * np.pi * 660 * t + 1)
            + 0.1 * np.sin(2 * np.pi * 1320 * t))
    clicks = np.zeros(n)
    clicks[sr // 8 :: sr // 4] = 1.0
    rng = np.random.default_rng(0)
    clicks = np.convolve(clicks, rng.standard_normal(64) * np.exp(-np.arange(64) / 8))[:n]
    clicks *= np.sqrt(np.mean(tone**2) / np.mean(clicks**2))
    return tone, clicks


# SI-SDR measured on this mixture (0 dB each in the mixture): harmonic / percussive
# default (2 s x 500 Hz) 19.0 / 18.9, binary 19.2 / 19.1, margin 2 17.7 / 18.7 (kernel 31:
# 19.1 / 18.9).  Floors sit 3 dB below.
@pytest.mark.parametrize("params,floor_h,floor_p", [
    (dict(), 16.0, 16.0),
    (dict(mask="binary"), 16.0, 16.0),
    (dict(margin=2.0), 14.5, 15.5),
])
def test_separates_tone_from_clicks(params, floor_h, floor_p):
    tone, clicks = tone_and_clicks()
    y = (tone + clicks).astype(np.float32)
    assert abs(naive.si_sdr(tone, y)) < 0.5  # the mixture itself: about 0 dB
    result = HPSS(**params).separate(y, SR)
    assert result["harmonic"].dtype == np.float32 and result["harmonic"].shape == y.shape
    assert naive.si_sdr(tone, result["harmonic"]) > floor_h
    assert naive.si_sdr(clicks, result["percussive"]) > floor_p


def test_stereo_separation_is_per_channel():
    tone, clicks = tone_and_clicks(1.0)
    y = np.stack([tone + clicks, 0.5 * (tone + clicks)])
    harmonic, percussive = hpss(y, SR)  # arrays, like librosa.effects.hpss
    assert harmonic.shape == (2, SR)
    np.testing.assert_allclose(harmonic[1], 0.5 * harmonic[0], atol=1e-12)
    np.testing.assert_allclose(harmonic + percussive, y, atol=1e-9)
    assert naive.si_sdr(tone, harmonic[0]) > 15


def test_margin_adds_a_residual_that_grows_with_the_margin():
    tone, clicks = tone_and_clicks()
    y = (tone + clicks).astype(np.float32)
    plain = HPSS().separate(y, SR)
    assert plain.names == ("harmonic", "percussive")
    residual_rms = []
    for margin in (2.0, 3.0):
        result = HPSS(margin=margin).separate(y, SR, keep="masks")
        assert result.names == ("harmonic", "percussive", "residual")
        total = result["harmonic"] + result["percussive"] + result["residual"]
        np.testing.assert_allclose(total, y, atol=1e-5)
        masks = result.masks
        assert (masks["harmonic"] + masks["percussive"]).max() <= 1.0 + 1e-6
        residual_rms.append(np.sqrt(np.mean(result["residual"] ** 2)))
    mix_rms = np.sqrt(np.mean(y**2))
    # measured: 0.055 and 0.092 of the mixture's RMS
    assert 0.02 * mix_rms < residual_rms[0] < residual_rms[1] < 0.2 * mix_rms


def test_kernel_sizes_from_seconds_and_hz():
    sep = HPSS(harmonic_seconds=0.5, percussive_hz=500.0)
    # default transform n_fft=2048, hop=512: 0.5 s = 21.5 hops, 500 Hz = 46.4 bins, each to
    # the nearest odd number (a centred window)
    assert sep.kernel_sizes(22050) == (21, 47)
    small = STFT(1024, 256)
    assert sep.kernel_sizes(22050, small) == (43, 23)
    # kernel_size wins where it gives a number; None leaves that axis to the physical unit
    assert HPSS(kernel_size=(7, 9), percussive_hz=1000.0).kernel_sizes(16000) == (7, 9)
    assert HPSS(kernel_size=(7, None), percussive_hz=1000.0).kernel_sizes(16000) == (7, 127)
    assert HPSS(kernel_size=(None, 9), harmonic_seconds=1.0).kernel_sizes(16000) == (31, 9)
    # and separate() uses exactly those windows
    tone, clicks = tone_and_clicks(1.0, 22050)
    y = tone + clicks
    result = HPSS(harmonic_seconds=0.5, percussive_hz=500.0, stft=small).separate(
        y, 22050, keep="masks")
    m_h, m_p = hpss_masks(np.abs(small.forward(y)), kernel_size=(43, 23))
    np.testing.assert_array_equal(result.masks["harmonic"], m_h)
    np.testing.assert_array_equal(result.masks["percussive"], m_p)


@pytest.mark.parametrize("sr,n_fft,hop,expected", [
    (44100, 2048, 512, (173, 23)),   # 172.3 hops, 23.2 bins
    (22050, 2048, 512, (87, 47)),    # 86.1 hops, 46.4 bins
    (16000, 2048, 512, (63, 63)),    # 62.5 hops, 64.0 bins (tie: downward)
    (16000, 1024, 256, (125, 31)),   # 125.0 hops, 32.0 bins: the hop, not the rate, counts
    (8000, 512, 128, (125, 31)),
])
def test_default_windows_are_two_seconds_by_500_hz(sr, n_fft, hop, expected):
    """The documented defaults: 2 s and 500 Hz in frames and bins, odd, for any sr and hop."""
    stft = STFT(n_fft, hop)
    k_h, k_p = HPSS().kernel_sizes(sr, stft)
    assert (k_h, k_p) == expected
    assert k_h % 2 == 1 and k_p % 2 == 1
    assert abs(k_h * hop / sr - 2.0) <= hop / sr      # within one hop of 2 s
    assert abs(k_p * sr / n_fft - 500.0) <= sr / n_fft  # within one bin of 500 Hz
    # and HPSS(stft=...) uses its own transform for them
    assert HPSS(stft=stft).kernel_sizes(sr) == expected


def test_default_is_used_by_separate_and_kernel_31_is_librosa():
    tone, clicks = tone_and_clicks(3.0)
    y = tone + clicks
    S = np.abs(STFT(2048, 512).forward(y))
    default = HPSS().separate(y, SR, keep="masks")
    m_h, _ = hpss_masks(S, kernel_size=(63, 63))  # 2 s and 500 Hz at 16 kHz, hop 512
    np.testing.assert_array_equal(default.masks["harmonic"], m_h)
    old = HPSS(kernel_size=31).separate(y, SR, keep="masks")
    r_h, _ = librosa.decompose.hpss(S, kernel_size=31, mask=True)
    np.testing.assert_allclose(old.masks["harmonic"], r_h, atol=1e-5)
    assert not np.allclose(default.masks["harmonic"], old.masks["harmonic"], atol=1e-3)


def test_separate_leaves_input_alone_and_is_repeatable():
    tone, clicks = tone_and_clicks(0.5)
    y = (tone + clicks).astype(np.float32)
    y.setflags(write=False)
    copy = y.copy()
    sep = HPSS(kernel_size=17)
    a = sep.separate(y, SR)
    b = sep.separate(y, SR)
    np.testing.assert_array_equal(y, copy)
    np.testing.assert_array_equal(a["percussive"], b["percussive"])


@pytest.mark.parametrize("params,name", [
    (dict(kernel_size=0), "kernel_size=0"),
    (dict(margin=0.9), "margin=0.9"),
    (dict(harmonic_seconds=-1.0), "harmonic_seconds=-1.0"),
    (dict(percussive_hz=0), "percussive_hz=0"),
    (dict(mask="hard"), "mask='hard'"),
])
def test_separator_parameter_errors(params, name):
    with pytest.raises(ParameterError, match=name):
        HPSS(**params).separate(np.zeros(4000, dtype=np.float32), SR)


def test_review_regressions_kernel_bounds_float16_and_sr():
    S = np.abs(np.random.default_rng(0).standard_normal((65, 20))).astype(np.float16)
    out = median_filter(S, 5)
    assert out.dtype == np.float32 and out.shape == S.shape
    m_h, m_p = hpss_masks(S, kernel_size=5)
    np.testing.assert_allclose(m_h + m_p, 1.0, atol=1e-6)
    with pytest.raises(ParameterError, match=r"kernel_size=42: longer than 2 \* 20 \+ 1"):
        median_filter(S.astype(np.float32), 42)
    with pytest.raises(ParameterError, match="percussive, along frequency"):
        hpss_masks(S.astype(np.float32), kernel_size=(5, 1000))
    with pytest.raises(ParameterError, match="sr=0"):
        HPSS(percussive_hz=100.0).kernel_sizes(0)


def test_short_clip_with_default_kernels_and_nyquist_rule():
    y = np.random.default_rng(1).standard_normal(4000).astype(np.float32)  # 8 frames
    # the default 2 s is 31 frames > 2 * 8 + 1: shortened, not refused (500 Hz = 127 bins)
    result = HPSS().separate(y, 8000)
    expected = HPSS(kernel_size=(17, 127)).separate(y, 8000)
    np.testing.assert_array_equal(result["harmonic"], expected["harmonic"])
    with pytest.raises(ParameterError, match="percussive_hz=1000000000.0: must be at most"):
        HPSS(percussive_hz=1e9).separate(y, 8000)


def test_reference_version_equals_the_fast_one():
    """The ten-line numpy/scipy version a student reads equals the numba one."""
    from dsp_separate.separators.hpss import hpss_reference

    rng = np.random.default_rng(0)
    S = rng.gamma(0.5, size=(129, 80))
    S[:, 10] = 0.0  # a silent frame
    for k in [(31, 31), (17, 9), (8, 6)]:
        ref_h, ref_p = hpss_reference(S, k, power=2.0)
        m_h, m_p = hpss_masks(S, kernel_size=k, power=2.0)
        np.testing.assert_allclose(m_h, ref_h, atol=1e-12)
        np.testing.assert_allclose(m_p, ref_p, atol=1e-12)


def test_separate_validates_the_input_once(monkeypatch):
    """The shared stage calls unchecked cores: the audio is checked once per call (its
    extremes: finite and within the amplitude bound), and no full-size finiteness pass
    follows."""
    import dsp_separate._stft as stft_module
    import dsp_separate._validation as validation
    import dsp_separate.base as base

    y = np.random.default_rng(0).standard_normal((2, 20000)).astype(np.float32)
    sep = HPSS(kernel_size=17)
    sep.separate(y, SR)  # compile first
    checks, passes = [], []
    real_check, real_isfinite = validation.check_audio, np.isfinite

    def counting_check(a, *args, **kwargs):
        checks.append(np.shape(a))
        return real_check(a, *args, **kwargs)

    def counting_isfinite(a, *args, **kwargs):
        if np.size(a) >= y.size // 2:
            passes.append(np.shape(a))
        return real_isfinite(a, *args, **kwargs)

    for module in (validation, base, stft_module):
        if hasattr(module, "check_audio"):
            monkeypatch.setattr(module, "check_audio", counting_check)
    monkeypatch.setattr(np, "isfinite", counting_isfinite)
    sep.separate(y, SR)
    assert checks == [y.shape]
    assert passes == []


def test_result_keeps_only_the_sources_by_default():
    y = np.random.default_rng(0).standard_normal((2, 20000)).astype(np.float32)
    lean = HPSS().separate(y, SR)
    assert lean.masks is None and lean._stfts is None
    full = HPSS().separate(y, SR, keep="all")
    assert set(full.masks) == {"harmonic", "percussive"}
    for name in full.names:
        np.testing.assert_array_equal(full[name], lean[name])
    with pytest.raises(ParameterError, match="keep="):
        HPSS().separate(y, SR, keep="everything")


# SD-SDR measured on harmonic_percussive_mixture(seconds=4, seed=0), one-second chords:
# harmonic / percussive with 1 s x 700 Hz: 20.2 / 11.0 at 16 kHz, 16.5 / 8.1 at 44.1 kHz;
# with 2.5 s x 700 Hz: 11.0 / 2.5 and 9.5 / 1.9.  Floors and the gap sit 3 dB inside.
@pytest.mark.parametrize("sr,floor_h,floor_p", [(16000, 17.0, 8.0), (44100, 13.5, 5.0)])
def test_harmonic_window_below_twice_the_note_length(sr, floor_h, floor_p):
    """The documented rule, in seconds at two rates: a window of 2.5 s breaks 1 s chords."""
    from dsp_separate.metrics import sd_sdr
    from dsp_separate.synth import harmonic_percussive_mixture

    y, truth = harmonic_percussive_mixture(sr=sr, seconds=4.0, seed=0)
    scores = {}
    for seconds in (1.0, 2.5):
        result = HPSS(harmonic_seconds=seconds, percussive_hz=700.0).separate(y, sr)
        scores[seconds] = [float(sd_sdr(truth[n].astype(np.float64),
                                        result[n].astype(np.float64))) for n in truth]
    assert scores[1.0][0] > floor_h and scores[1.0][1] > floor_p
    assert scores[1.0][0] > scores[2.5][0] + 3 and scores[1.0][1] > scores[2.5][1] + 3
