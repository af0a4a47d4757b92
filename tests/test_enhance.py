"""Noise reduction / speech enhancement (issue 10): gain rules, trackers, separators, streaming.

The generic battery (tests/test_separator_contract.py) already runs the six methods through
the contract; this file checks what is particular to them, on synthetic signals whose clean
speech and noise are known (a voiced vowel sequence, white / pink / hum noise).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sp
from scipy.signal import lfilter

import dsp_separate as ds
from dsp_separate import metrics
from dsp_separate.separators import enhance as en

METHODS = ("spectral_subtraction", "wiener_dd", "mmse_stsa", "log_mmse", "omlsa",
           "spectral_gating")
SR = 16000

# (F1, F2, F3) of five vowels (Peterson & Barney averages, male speakers)
VOWELS = [(730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480),
          (570, 840, 2410)]


def vowels(sr, seconds, seed=0):
    """A voiced vowel sequence: jittered glottal pulses through three formant resonators,
    syllables of 150-350 ms separated by 50-200 ms pauses; unit RMS."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = np.zeros(n)
    pos = int(0.3 * sr)
    while pos < n:
        dur = int(rng.uniform(0.15, 0.35) * sr)
        m = min(dur, n - pos)
        f0 = rng.uniform(100, 220) * (1 + 0.1 * np.linspace(-1, 1, m) * rng.choice([-1, 1]))
        pulses = np.diff(np.floor(np.cumsum(f0 / sr)), prepend=0.0)
        src = lfilter([1.0], [1.0, -0.95], pulses)
        for fc, bw in zip(VOWELS[rng.integers(len(VOWELS))], (80, 100, 120)):
            r = np.exp(-np.pi * bw / sr)
            src = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * fc / sr), r * r], src)
        out[pos:pos + m] = src * np.sin(np.pi * np.arange(m) / m) ** 0.5 * rng.uniform(0.5, 1)
        pos += dur + int(rng.uniform(0.05, 0.2) * sr)
    return out / np.sqrt(np.mean(out ** 2))


def make_noise(kind, sr, n, seed=1):
    """Unit-RMS white, pink (1/f power) or mains hum (50 Hz + harmonics, a little hiss)."""
    rng = np.random.default_rng(seed)
    if kind == "white":
        x = rng.standard_normal(n)
    elif kind == "pink":
        f = np.maximum(np.fft.rfftfreq(n, 1 / sr), 20.0)
        x = np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) / np.sqrt(f), n)
    else:
        t = np.arange(n) / sr
        x = sum(np.sin(2 * np.pi * 50 * k * t + k) / k for k in range(1, 8))
        x = x + 0.05 * rng.standard_normal(n)
    return x / np.sqrt(np.mean(x ** 2))


# ---------------------------------------------------------------------------- gain rules
XI = np.array([1e-3, 0.01, 0.1, 0.3162, 1.0, 3.162, 10.0, 100.0, 1e4])
GAMMA = np.array([1e-3, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 31.62, 100.0, 1e3, 1e4])


def test_mmse_stsa_gain_equals_the_closed_form_of_the_paper():
    """Ephraim & Malah 1984 eq. 7, with scipy's exponentially scaled Bessel functions."""
    xi, gamma = np.meshgrid(XI, GAMMA)
    v = xi * gamma / (1 + xi)
    expected = (np.sqrt(np.pi) / 2 * np.sqrt(v) / gamma
                * ((1 + v) * sp.i0e(v / 2) + v * sp.i1e(v / 2)))
    got = en.mmse_stsa_gain(xi, gamma)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    # the large-v limit is the Wiener gain
    assert abs(float(en.mmse_stsa_gain(1e4, 1e4)) - 1e4 / (1 + 1e4)) < 1e-4
    # the doctest value (scipy, computed once)
    assert abs(float(en.mmse_stsa_gain(1.0, 2.0)) - 0.6409597882804283) < 1e-9


def test_log_mmse_gain_equals_the_closed_form_of_the_paper():
    """Ephraim & Malah 1985 eq. 20, with scipy's exponential integral."""
    xi, gamma = np.meshgrid(XI, GAMMA)
    v = xi * gamma / (1 + xi)
    expected = xi / (1 + xi) * np.exp(0.5 * sp.exp1(v))
    np.testing.assert_allclose(en.log_mmse_gain(xi, gamma), expected, rtol=1e-6)


def test_special_functions_of_the_kernels_match_scipy():
    """Series / continued fraction / asymptotic branches all within 1e-12 relative."""
    from dsp_separate._kernels import enhance as k

    x = np.concatenate([np.geomspace(1e-8, 1, 40), np.linspace(1, 60, 120),
                        np.geomspace(60, 690, 20)])
    out = np.empty_like(x)
    k.exp1_map(x, out)
    np.testing.assert_allclose(out, sp.exp1(x), rtol=1e-12)
    k.bessel_map(0, x, out)
    np.testing.assert_allclose(out, sp.i0e(x), rtol=1e-12)
    k.bessel_map(1, x, out)
    np.testing.assert_allclose(out, sp.i1e(x), rtol=1e-12)


def test_lsa_factor_matches_scipy_on_every_branch():
    """exp(E1(v) / 2) of the log-MMSE gain: polynomial below 1/16, Chebyshev segments to 4,
    Taylor of exp to 34, 1 beyond; a wrong table or segment index is far above 1e-12."""
    from dsp_separate._kernels import enhance as k

    edges = np.array([1 / 16, 1 / 4, 1.0, 2.0, 4.0, 34.0])
    v = np.concatenate([np.geomspace(1e-8, 100, 400), edges * (1 - 1e-12), edges,
                        edges * (1 + 1e-12)])
    out = np.array([k.lsa_factor(x) for x in v])
    np.testing.assert_allclose(out, np.exp(0.5 * sp.exp1(v)), rtol=1e-12)
    assert k.lsa_factor(0.0) == np.inf and k.lsa_factor(40.0) == 1.0


@pytest.mark.parametrize("channels", [1, 2])
def test_chunks_and_threads_equal_one_serial_pass(monkeypatch, channels):
    """The power / noise / gain chain in chunks, the lines in threads and the pipelines of a
    single line (three stages: IMCRA's two halves and the gains; or the noise, the gains and
    the mask) give the bits of one serial pass over all frames."""
    rng = np.random.default_rng(3)
    y = (vowels(SR, 2.0) + rng.standard_normal(2 * SR)).astype(np.float32)
    y = np.stack([y, np.roll(y, 99)]) if channels == 2 else y
    for method, params in (("log_mmse", {}), ("omlsa", {}),
                           ("spectral_subtraction", {"per_channel": False}),
                           ("wiener_dd", {"noise": "minimum_statistics"}),
                           ("log_mmse", {"xi_estimator": "cepstral",
                                         "harmonic_regeneration": True})):
        monkeypatch.setattr(en, "_CHUNK", 10 ** 6)
        monkeypatch.setattr(en, "_THREAD_MIN", 10 ** 12)
        serial = ds.get_separator(method)(**params).separate(y, SR)["signal"]
        monkeypatch.setattr(en, "_CHUNK", 16)
        monkeypatch.setattr(en, "_THREAD_MIN", 1)
        chunked = ds.get_separator(method)(**params).separate(y, SR)["signal"]
        np.testing.assert_array_equal(chunked, serial)


@pytest.mark.parametrize("channels", [1, 2])
def test_stft_stored_frame_by_frame_gives_the_same_bits(monkeypatch, channels):
    """``separate`` hands the recursions an STFT stored frame by frame (read as rows, and
    read back as rows by the inverse STFT); a block runner's STFT is column-ordered.  Both
    layouts give the same bits, float32 and float64, with the options that read the complex
    frames (harmonic regeneration)."""
    rng = np.random.default_rng(5)
    y = vowels(SR, 1.5) + rng.standard_normal(int(1.5 * SR))
    y = np.stack([y, np.roll(y, 77)]) if channels == 2 else y
    for dtype in (np.float32, np.float64):
        for method, params in (("log_mmse", {}), ("omlsa", {}),
                               ("spectral_gating", {"per_channel": False}),
                               ("mmse_stsa", {"harmonic_regeneration": True})):
            sep = ds.get_separator(method)(**params)
            rows = sep.separate(y.astype(dtype), SR)
            monkeypatch.setattr(en._Enhancer, "_frame_major", False)
            columns = sep.separate(y.astype(dtype), SR)
            monkeypatch.undo()
            for name in ("signal", "noise"):
                np.testing.assert_array_equal(rows[name], columns[name])


def test_loud_float64_blocks_into_a_float32_stream_are_refused():
    """A float32 runner refuses blocks above float32's amplitude bound (the cast would make
    them inf, and the output NaN), naming the block, its peak and the way out."""
    y = np.random.default_rng(0).standard_normal(4000) * 1e40
    runner = ds.LogMMSE().stream(SR, n_channels=1)
    with pytest.raises(ds.ParameterError, match=r"block=.*peak \d\.\d+e\+40 above 1e\+30"):
        runner.process(y)
    ok = ds.LogMMSE().stream(SR, n_channels=1, dtype=np.float64)
    assert np.isfinite(ok.process(y)["signal"]).all()


def test_kept_stfts_are_c_ordered_and_memmaps_are_not_written():
    """``keep="stfts"`` gives C-ordered arrays (the STFT the recursions read is stored
    frame by frame), and a memmapped input is only read (the last source, the mixture minus
    the others, is a new array)."""
    import tempfile

    rng = np.random.default_rng(8)
    y0 = (vowels(SR, 1.0) + 0.3 * rng.standard_normal(SR)).astype(np.float32)
    result = ds.LogMMSE().separate(y0, SR, keep="stfts")
    for name in ("signal", "noise"):
        assert result.stfts[name].flags.c_contiguous
    with tempfile.TemporaryDirectory() as tmp:
        m = np.memmap(f"{tmp}/y.dat", np.float32, "w+", shape=y0.shape)
        m[:] = y0
        out = ds.LogMMSE().separate(m, SR)
        np.testing.assert_array_equal(np.asarray(m), y0)
        np.testing.assert_allclose(out["signal"] + out["noise"], y0, atol=1e-6)
        del m


@pytest.mark.kernels
def test_power_of_frames_stored_either_way():
    """power_rows (frames as rows) and power_frames (frames as columns): the same bits."""
    k = en._k
    rng = np.random.default_rng(6)
    X = (rng.standard_normal((40, 30)) + 1j * rng.standard_normal((40, 30))).astype(np.complex64)
    a, b = np.empty((12, 40)), np.empty((12, 40))
    k.power_frames(X, 7, a)
    k.power_rows(np.ascontiguousarray(X.T), 7, b)
    np.testing.assert_array_equal(a, b)
    ref = X[:, 7:19].T.astype(np.complex128)
    np.testing.assert_array_equal(a, ref.real ** 2 + ref.imag ** 2)


def test_wiener_subtraction_presence_and_omlsa_gains():
    assert float(en.wiener_gain(3.0)) == 0.75
    # Berouti: max(1 - a / gamma, beta / gamma), sqrt, at most 1
    g = en.spectral_subtraction_gain([0.5, 2.0, 4.0, 100.0], oversubtraction=2.0, floor=0.1)
    np.testing.assert_allclose(g, [np.sqrt(0.2), np.sqrt(0.05), np.sqrt(0.5), np.sqrt(0.98)])
    # speech presence: q = 0 gives 1; large gamma gives ~1; at gamma = 0, 1 / (1 + q/(1-q)(1+xi))
    assert float(en.speech_presence_probability(2.0, 0.0, 0.0)) == 1.0
    assert abs(float(en.speech_presence_probability(1.0, 0.0, 0.5)) - 1 / 3) < 1e-12
    assert float(en.speech_presence_probability(1.0, 1e4, 0.5)) > 0.999
    # OM-LSA: p = 1 is log-MMSE, p = 0 is g_min, p = 1/2 the geometric mean
    lsa = float(en.log_mmse_gain(1.0, 2.0))
    assert abs(float(en.omlsa_gain(1.0, 2.0, 1.0)) - lsa) < 1e-12
    assert abs(float(en.omlsa_gain(1.0, 2.0, 0.5, g_min=0.01)) - np.sqrt(lsa * 0.01)) < 1e-12
    for bad in (dict(xi=-1.0, gamma=1.0), dict(xi=np.nan, gamma=1.0)):
        with pytest.raises(ds.ParameterError, match="xi="):
            en.log_mmse_gain(**bad)
    with pytest.raises(ds.ParameterError, match="q="):
        en.speech_presence_probability(1.0, 1.0, 1.0)


def _omlsa_presence(P, zp_min=1.0, zp_max=10.0):
    from dsp_separate._kernels import enhance as k

    T, F = P.shape
    G, pres, frame = np.empty_like(P), np.empty_like(P), np.zeros(2)
    k.omlsa_gains(P, np.ones_like(P), 0.92, 10 ** -2.5, 10 ** -1.5, 0.7, en._hann_weights(1),
                  en._hann_weights(15), 0.1, 10 ** -0.5, zp_min, zp_max, 1, F, 0.95,
                  np.zeros(F), np.zeros(F), frame, np.zeros(1, np.int64), G, pres)
    return pres, frame


def test_omlsa_frame_term_tracks_the_peak_of_the_frame_snr():
    """Cohen & Berdugo 2001 eqs. 29-31: a steady weak component (a posteriori SNR 3, frame
    SNR about -1.5 dB) is speech when it starts from silence (its first frames set the
    confined peak to about 3 dB),
    but after a loud segment (peak confined to 10 dB) it is more than 10 dB below the peak:
    P_frame = 0 and the presence probability falls to the q_max = 0.95 floor."""
    F, T = 65, 200
    weak = np.full((T, F), 3.0)
    after_loud = weak.copy()
    after_loud[20:50] = 100.0
    p_weak, frame_weak = _omlsa_presence(weak)
    p_after, frame_after = _omlsa_presence(after_loud)
    assert abs(10 * np.log10(frame_after[0]) + 1.45) < 0.5      # zeta_frame, dB
    assert frame_after[1] == 10.0 and 1.0 <= frame_weak[1] < 3.2  # the confined peaks
    assert p_weak[-1, 30] > 0.99
    assert p_after[-1, 30] < 0.15
    assert p_after[21:24, 30].min() > 0.99                      # onset: P_frame = 1
    # without the peak (confined to ~0): the frame term no longer sees the offset
    p_flat, _ = _omlsa_presence(after_loud, zp_min=1e-9, zp_max=1e-9)
    assert p_flat[-1, 30] > 0.99


def test_decision_directed_equals_a_plain_loop():
    rng = np.random.default_rng(0)
    P = rng.exponential(2.0, size=(7, 40))
    N = rng.uniform(0.5, 1.5, size=(7, 40))
    alpha, xi_min = 0.9, 10 ** (-2.5)
    G = en.decision_directed(P, N, gain="mmse_stsa", alpha=alpha, xi_min_db=-25)
    ref = np.empty_like(P)
    prev = None
    for t in range(P.shape[1]):
        gamma = P[:, t] / N[:, t]
        ml = np.maximum(gamma - 1, 0)
        xi = ml if prev is None else alpha * prev + (1 - alpha) * ml
        xi = np.maximum(xi, xi_min)
        g = np.minimum(en.mmse_stsa_gain(xi, gamma), 1.0)
        ref[:, t] = g
        prev = g ** 2 * gamma
    np.testing.assert_allclose(G, ref, rtol=1e-12)


@pytest.mark.kernels
@pytest.mark.parametrize("gain", ["wiener", "log_mmse", "mmse_stsa"])
def test_decision_directed_reaches_every_branch_of_the_gain(gain):
    """The recursion evaluates log-MMSE in passes (the polynomial for every bin, the bins
    with v > 1/16 gathered and put through their Chebyshev segment, then v >= 4): with
    v from 1e-6 to 400 in each frame, in shuffled order, a gathered bin written to the
    wrong place or through the wrong segment is far from the closed form."""
    rng = np.random.default_rng(5)
    gamma = np.geomspace(1e-3, 400.0, 257)
    P = np.stack([rng.permutation(gamma) for _ in range(6)], axis=1)   # (F, T)
    N = rng.uniform(0.8, 1.25, size=P.shape)
    alpha, xi_min = 0.9, 10 ** (-2.5)
    G = en.decision_directed(P, N, gain=gain, alpha=alpha, xi_min_db=-25)
    prev = None
    v_seen = []
    for t in range(P.shape[1]):
        gam = P[:, t] / N[:, t]
        ml = np.maximum(gam - 1, 0)
        xi = np.maximum(ml if prev is None else alpha * prev + (1 - alpha) * ml, xi_min)
        w = xi / (1 + xi)
        v_seen.append(w * gam)
        if gain == "wiener":
            ref = w
        elif gain == "log_mmse":
            ref = w * np.exp(0.5 * sp.exp1(w * gam))
        else:
            ref = en.mmse_stsa_gain(xi, gam)
        ref = np.minimum(ref, 1.0)
        np.testing.assert_allclose(G[:, t], ref, rtol=1e-12)
        prev = ref ** 2 * gam
    v_seen = np.concatenate(v_seen)
    for lo, hi in [(0, 1 / 16), (1 / 16, 1 / 4), (1 / 4, 1), (1, 2), (2, 4), (4, 34), (34, 1e9)]:
        assert np.count_nonzero((v_seen > lo) & (v_seen <= hi)) >= 5


def test_noise_mask_is_one_minus_the_gain():
    """The methods return the gain and let the shared stage form the noise mask ``1 - G``
    (``Masks.complement``): with ``keep`` it is there, and the noise is the mixture minus
    the signal."""
    y = (vowels(SR, 1.0) + make_noise("white", SR, SR)).astype(np.float32)
    for method in ("log_mmse", "omlsa", "spectral_gating"):
        res = ds.get_separator(method)().separate(y, SR, keep="all")
        m_s, m_n = res.masks["signal"], res.masks["noise"]
        assert m_n.dtype == np.float32
        np.testing.assert_array_equal(m_n, np.float32(1.0) - m_s)
        np.testing.assert_allclose(res["signal"] + res["noise"], y, atol=1e-6)
        np.testing.assert_allclose(res.stfts["noise"], m_n * res.stft.forward(y), atol=1e-6)


# ---------------------------------------------------------------------------- noise PSD
def test_noise_psd_initial_and_from_clip():
    P = np.array([[1.0, 3.0, 5.0, 100.0, 0.0]])
    np.testing.assert_allclose(en.noise_psd_initial(P, 3), [[1, 2, 3, 3, 3]])
    tf = ds.STFT(n_fft=256, hop_length=64)
    white = 0.5 * np.random.default_rng(0).standard_normal((2, 32000))
    psd = en.noise_psd_from_clip(white, tf)
    expected = 0.25 * (tf.window ** 2).sum()  # E|X|^2 of white noise of variance 0.25
    assert psd.shape == (2, 129)
    assert abs(np.median(psd[:, 5:-5]) / expected - 1) < 0.05
    with pytest.raises(ds.ParameterError, match="silent"):
        en.noise_psd_from_clip(np.zeros(1000), tf)


@pytest.mark.parametrize("tracker", ["minimum_statistics", "mcra", "imcra"])
def test_trackers_follow_a_10_db_step_within_2_s(tracker):
    """White-noise periodograms (exponential, mean = the PSD) with a +10 dB step at 4 s,
    and back down at 10 s: estimate within 3 dB of the true PSD 2 s after each step."""
    hop_s = 0.008
    rng = np.random.default_rng(1)
    T = int(14 / hop_s)
    t = np.arange(T) * hop_s
    level = np.where((t >= 4) & (t < 10), 10.0, 1.0)
    P = rng.exponential(1.0, size=(129, T)) * level
    N = getattr(en, tracker)(P, hop_s=hop_s)
    assert N.shape == P.shape and np.isfinite(N).all()

    def err_db(at):
        i = int(round(at / hop_s))
        return 10 * np.log10(np.median(N[:, i:i + 10]) / level[i])

    for at in (3.9, 6.0, 9.9, 12.0):  # before the step, 2 s after, before and after the fall
        assert abs(err_db(at)) < 3.0, (tracker, at, err_db(at))


def test_trackers_do_not_follow_speech():
    """On the vowel sequence plus white noise the tracked noise stays near the true level
    (median within 3 dB over the speech bins of the last 3 s)."""
    tf = en.enhancement_stft(SR)
    s = vowels(SR, 6)
    n = make_noise("white", SR, s.size)
    X = tf.forward(s + n)
    P = np.abs(X) ** 2
    true = (np.abs(tf.forward(n)) ** 2).mean(axis=-1, keepdims=True)
    for tracker in ("minimum_statistics", "mcra", "imcra"):
        N = getattr(en, tracker)(P, hop_s=tf.hop_length / SR)
        ratio = 10 * np.log10(np.median(N[20:200, -300:] / true[20:200]))
        assert abs(ratio) < 3.0, (tracker, ratio)


# ---------------------------------------------------------------------------- quality
@pytest.mark.parametrize("noise_kind", ["white", "pink", "hum"])
def test_every_method_improves_si_sdr_by_5_db_at_0_db_snr(noise_kind):
    s = vowels(SR, 6, seed=0)
    n = make_noise(noise_kind, SR, s.size)
    y = (s + n).astype(np.float32)  # 0 dB SNR
    before = metrics.si_sdr(s, y)
    gains = {}
    for method in METHODS:
        out = ds.denoise(y, SR, method=method)
        gains[method] = metrics.si_sdr(s, out) - before
    assert min(gains.values()) >= 5.0, gains


def test_noise_clip_and_initial_seconds():
    s = vowels(SR, 6, seed=2)
    n = make_noise("pink", SR, s.size + SR, seed=3)
    y = s + n[SR:]
    y[: int(0.3 * SR)] = n[SR:SR + int(0.3 * SR)]  # the vowels start at 0.3 s
    before = metrics.si_sdr(s, y)
    for noise in (n[:SR], 0.25):
        for method in ("log_mmse", "spectral_gating", "omlsa"):
            out = ds.denoise(y, SR, method=method, noise=noise)
            assert metrics.si_sdr(s, out) - before > 5.0, (method, noise if np.isscalar(noise)
                                                           else "clip")


@pytest.mark.parametrize("sr", [8000, 44100, 192000])
def test_any_sample_rate(sr):
    """STFT sizes are in milliseconds: the same parameters work from 8 to 192 kHz."""
    s = vowels(sr, 3, seed=4)
    y = s + make_noise("white", sr, s.size)
    out = ds.denoise(y, sr, method="log_mmse")
    assert metrics.si_sdr(s, out) - metrics.si_sdr(s, y) > 5.0
    tf = ds.LogMMSE()._transform(sr)
    assert abs(tf.n_fft / sr - 0.032) < 0.004


def test_multichannel_per_channel_or_one_gain():
    s = vowels(SR, 3, seed=5)
    y = np.stack([s + make_noise("white", SR, s.size, seed=6),
                  0.5 * s + 0.5 * make_noise("white", SR, s.size, seed=7)])
    one = ds.LogMMSE(per_channel=False, stft=ds.STFT(512, 128))
    res = one.separate(y, SR, keep="masks")
    m = res.masks["signal"]
    np.testing.assert_array_equal(m[0], m[1])  # one gain for both channels
    each = ds.LogMMSE(stft=ds.STFT(512, 128)).separate(y, SR, keep="masks").masks["signal"]
    assert np.abs(each[0] - each[1]).max() > 0.1
    for r in (res, ):
        assert metrics.si_sdr(s, r["signal"][0]) > metrics.si_sdr(s, y[0]) + 5


@pytest.mark.parametrize("method, options", [(m, {}) for m in METHODS] + [
    ("log_mmse", {"xi_estimator": "cepstral"}), ("log_mmse", {"harmonic_regeneration": True})])
def test_loud_input_after_digital_silence_stays_finite(method, options):
    """A tracker's noise estimate is 0 after digital silence; int16-scale floats over it
    used to give an a posteriori SNR of inf and NaN for the rest of the signal (the
    recursions carried it).  Finite, summing to the mixture, and still denoising."""
    s = 3000 * vowels(SR, 3, seed=3)
    noise = 3000 * make_noise("white", SR, s.size)
    y = np.concatenate([np.zeros(SR // 2), s + noise]).astype(np.float32)
    res = ds.get_separator(method)(**options).separate(y, SR)
    assert np.isfinite(res["signal"]).all() and np.isfinite(res["noise"]).all()
    np.testing.assert_allclose(res["signal"] + res["noise"], y, atol=1e-3 * np.abs(y).max())
    tail = slice(SR // 2 + SR, None)  # past the trackers' first window
    assert metrics.si_sdr(s[SR:], res["signal"][tail]) > metrics.si_sdr(s[SR:], y[tail]) + 3


# ---------------------------------------------------------------------------- very loud input
# float64 audio near 1e300: bin powers |X|^2 overflowed to inf and inf / inf gave NaN (the
# decision-directed methods, spectral subtraction) or minimum statistics' squared powers
# overflowed (wrong noise estimates).  The gains are functions of power ratios: a line's
# powers are scaled by a power of two, so the output is the scaled-down input's output
# scaled back up.
LOUD = 2.0 ** 990          # times a peak of at most 1: below 1e300 (check_audio's bound)


def loud_cases(method):
    cases = [{}, {"noise": "minimum_statistics"}, {"noise": 0.25}, {"noise": "CLIP"}]
    if method in ("wiener_dd", "mmse_stsa", "log_mmse"):
        cases.append({"xi_estimator": "cepstral", "harmonic_regeneration": True})
    return cases


def noisy_speech(sr, seconds, seed):
    y = vowels(sr, seconds, seed=seed) + make_noise("white", sr, int(seconds * sr), seed=seed)
    return y / np.abs(y).max()


def streamed(sep, y, sr, seed=2):
    """``sep.stream`` over mono ``y`` in random blocks of 1 to 2000 samples (float64)."""
    runner = sep.stream(sr, 1, dtype=np.float64)
    rng = np.random.default_rng(seed)
    parts, i = [], 0
    while i < y.size:
        step = int(rng.integers(1, 2000))
        parts.append(runner.process(y[i:i + step])["signal"])
        i += step
    parts.append(runner.flush()["signal"])
    return np.concatenate(parts)


def assert_scaled(got, ref, scale):
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got / scale, ref, rtol=1e-6, atol=1e-9 * np.abs(ref).max())


@pytest.mark.parametrize("method", METHODS)
def test_very_loud_float64_gives_the_scaled_output(method):
    """Offline (mono, stereo with one gain), with a loud noise clip, and streamed: peak
    ~1e298 gives the output of peak 1 times the scale (it gave NaN)."""
    sr = 8000
    y = noisy_speech(sr, 1.0, seed=4)
    clip = 0.3 * make_noise("white", sr, sr // 2, seed=5)
    cls = ds.get_separator(method)
    for params in loud_cases(method):
        quiet = {k: (clip if v == "CLIP" else v) for k, v in params.items()}
        loud = {k: (clip * LOUD if v == "CLIP" else v) for k, v in params.items()}
        ref = cls(**quiet).separate(y, sr)["signal"]
        assert_scaled(cls(**loud).separate(y * LOUD, sr)["signal"], ref, LOUD)
        assert_scaled(streamed(cls(**loud), y * LOUD, sr), ref, LOUD)
    stereo = np.stack([y, np.roll(y, 41)])
    ref = cls(per_channel=False).separate(stereo, sr)["signal"]
    assert_scaled(cls(per_channel=False).separate(stereo * LOUD, sr)["signal"], ref, LOUD)
    assert_scaled(ds.denoise(y * LOUD, sr, method=method), ds.denoise(y, sr, method=method),
                  LOUD)


@pytest.mark.parametrize("method", METHODS)
def test_a_jump_of_2_to_the_250_mid_signal_rescales_the_state(monkeypatch, method):
    """A line's power scale changes at the first frame 2^200 louder than its scale (here
    mid-signal, inside a chunk, in the pipelined threads and in some block of a stream):
    the trackers' and gains' state is rescaled there, so the output is still that of the
    signal 2^800 quieter, whose powers need no scaling (a missing or early rescale of the
    state was off by up to 100 %)."""
    monkeypatch.setattr(en, "_CHUNK", 16)        # the jump inside a chunk; pipelines
    monkeypatch.setattr(en, "_THREAD_MIN", 1)
    sr = 8000
    y = noisy_speech(sr, 1.0, seed=6)
    y = y * np.where(np.arange(y.size) < y.size // 2, 2.0 ** -100, 2.0 ** 150)
    s = 2.0 ** 800                               # quiet half ~1e210, loud half ~1e286
    cls = ds.get_separator(method)
    for params in loud_cases(method)[:2] + loud_cases(method)[4:]:
        ref = cls(**params).separate(y, sr)["signal"]
        assert_scaled(cls(**params).separate(y * s, sr)["signal"], ref, s)
        assert_scaled(streamed(cls(**params), y * s, sr), ref, s)


@pytest.mark.parametrize("method", METHODS)
def test_a_noise_clip_1e200_louder_than_the_signal_gives_finite_output(method):
    """The clip's PSD does not fit in float64 at the signal's scale: it saturates (an inf
    noise PSD gave NaN in spectral subtraction with a zero floor: 0 * inf)."""
    rng = np.random.default_rng(0)
    y = 0.1 * rng.standard_normal(8000)
    params = {"floor": 0.0} if method == "spectral_subtraction" else {}
    out = ds.get_separator(method)(noise=1e200 * rng.standard_normal(4000), **params)
    res = out.separate(y, 8000)
    assert np.isfinite(res["signal"]).all()
    np.testing.assert_allclose(res["signal"] + res["noise"], y, atol=1e-12)
    if method in ("spectral_subtraction", "spectral_gating"):   # all noise: all removed
        assert not res["signal"].any()


def test_power_functions_are_scale_equivariant_near_the_float64_limit():
    """The functional forms on powers up to ~1e302: minimum statistics' squared powers
    overflowed (its estimate was off by 27x); all now give the scaled result."""
    rng = np.random.default_rng(0)
    P = rng.exponential(1.0, (2, 65, 300)) * (1 + 30 * (rng.random((2, 65, 300)) < 0.1))
    k = 1000
    for fn in (en.minimum_statistics, en.mcra, en.imcra):
        np.testing.assert_allclose(np.ldexp(fn(np.ldexp(P, k), 0.008), -k), fn(P, 0.008),
                                   rtol=1e-12)
    np.testing.assert_allclose(np.ldexp(en.noise_psd_initial(np.ldexp(P, k), 10), -k),
                               en.noise_psd_initial(P, 10), rtol=1e-12)
    N = en.imcra(P, 0.008)
    for gain in ("wiener", "mmse_stsa", "log_mmse"):
        np.testing.assert_allclose(
            en.decision_directed(np.ldexp(P, k), np.ldexp(N, k), gain=gain),
            en.decision_directed(P, N, gain=gain), rtol=1e-12)
    P2 = rng.exponential(1.0, (257, 60))
    np.testing.assert_allclose(en.cepstral_snr(np.ldexp(P2, k), np.full_like(P2, 2.0 ** k), SR),
                               en.cepstral_snr(P2, np.ones_like(P2), SR), rtol=1e-9)
    # a noise clip's PSD: scaled while float64 holds it, refused (not inf) when it cannot
    tf = en.enhancement_stft(SR)
    clip = make_noise("white", SR, SR // 4)
    psd = en.noise_psd_from_clip(clip, tf)
    np.testing.assert_allclose(np.ldexp(en.noise_psd_from_clip(clip * 2.0 ** 400, tf), -800),
                               psd, rtol=1e-12)
    with pytest.raises(ds.ParameterError, match="noise=.*overflows float64"):
        en.noise_psd_from_clip(clip * 1e200, tf)


# ---------------------------------------------------------------------------- streaming
@pytest.mark.parametrize("method", METHODS)
def test_stream_with_random_blocks_from_1_sample_to_10_s_equals_separate(method):
    sr = 8000
    s = vowels(sr, 24, seed=8)
    y = (0.3 * (s + make_noise("pink", sr, s.size))).astype(np.float64)
    assert_stream_equals_separate(ds.get_separator(method)(), y, sr, n_ones=300, longest_s=10)


def assert_stream_equals_separate(sep, y, sr, n_ones, longest_s):
    """Stream mono ``y`` through ``sep.stream``: ``n_ones`` 1-sample blocks first, then
    sizes spread log-uniformly up to ``longest_s`` seconds; the concatenated blocks equal
    ``sep.separate(y, sr)`` (float64, to 1e-9)."""
    whole = sep.separate(y, sr)
    runner = sep.stream(sr, 1, dtype=np.float64)
    rng = np.random.default_rng(9)
    parts, i, k = [], 0, 0
    while i < y.size:
        step = 1 if k < n_ones else int(np.exp(rng.uniform(0, np.log(longest_s * sr))))
        parts.append(runner.process(y[i:i + step]))
        i += step
        k += 1
    parts.append(runner.flush())
    for name in ("signal", "noise"):
        got = np.concatenate([p[name] for p in parts])
        assert got.shape == y.shape
        np.testing.assert_allclose(got, whole[name], atol=1e-9)


def test_stream_latency_is_one_frame():
    sep = ds.LogMMSE()
    runner = sep.stream(SR, 1)
    n_fft = en.enhancement_stft(SR).n_fft
    out = runner.process(np.zeros(n_fft + 64 * n_fft // 4, np.float32))
    emitted = out["signal"].shape[-1]
    assert emitted > 0
    # everything but the last frame's reach is out
    assert n_fft + 64 * n_fft // 4 - emitted <= n_fft


# ---------------------------------------------------------------------------- bad input
def test_bad_input_is_refused_or_gives_finite_output():
    y = np.random.default_rng(0).standard_normal(SR).astype(np.float32)
    for sr in (4000, 200000):
        with pytest.raises(ds.ParameterError, match=f"sr={sr}"):
            ds.denoise(y, sr)
        with pytest.raises(ds.ParameterError, match=f"sr={sr}"):
            ds.LogMMSE().stream(sr, 1)
    with pytest.raises(ds.ParameterError, match="silent"):
        ds.denoise(y, SR, noise=np.zeros(4000, np.float32))
    with pytest.raises(ds.ParameterError, match="noise="):
        ds.denoise(y, SR, noise="vad")
    with pytest.raises(ds.ParameterError, match="3 channels"):
        ds.denoise(np.stack([y, y]), SR, noise=np.ones((3, 4000)))
    with pytest.raises(ds.ParameterError, match="alpha="):
        ds.denoise(y, SR, method="wiener_dd", alpha=1.0)
    with pytest.raises(ds.ParameterError, match="prop_decrease="):
        ds.denoise(y, SR, method="spectral_gating", prop_decrease=2.0)
    with pytest.raises(ds.ParameterError, match="method="):
        ds.denoise(y, SR, method="hpss")
    # all zeros: zeros out, no NaN
    for method in METHODS:
        out = ds.denoise(np.zeros(SR, np.float32), SR, method=method)
        assert np.array_equal(out, np.zeros(SR, np.float32))
    # clipping input, a noise clip longer than the signal, noise_s longer than the signal
    clipped = np.clip(4 * y, -1, 1)
    for kwargs in ({}, {"noise": np.tile(y, 3)}, {"noise": 5.0}):
        out = ds.denoise(clipped, SR, **kwargs)
        assert np.isfinite(out).all() and out.shape == y.shape
    # a block with another channel count mid-stream
    runner = ds.LogMMSE().stream(SR, 2)
    runner.process(np.zeros((2, 1000), np.float32))
    with pytest.raises(ds.ParameterError, match="n_channels=2"):
        runner.process(np.zeros((3, 1000), np.float32))


# ---------------------------------------------------------------------------- command line
def test_cli_denoise_writes_denoised_and_noise_files(tmp_path, capsys, monkeypatch):
    import soundfile as sf

    from dsp_separate import cli

    # only this family's sub-commands (the parser is independent of other methods' options)
    table = cli._method_table()
    monkeypatch.setattr(cli, "_method_table",
                        lambda: {k: v for k, v in table.items() if k in METHODS})

    s = vowels(SR, 4, seed=10)
    n = make_noise("white", SR, s.size + SR, seed=11)
    sf.write(tmp_path / "talk.wav", 0.1 * (s + n[SR:]), SR, subtype="FLOAT")
    sf.write(tmp_path / "room.wav", 0.1 * n[:SR], SR, subtype="FLOAT")
    out = tmp_path / "out"
    code = cli.main(["denoise", str(tmp_path / "talk.wav"), "-o", str(out), "--keep-noise",
                     "--noise-clip", str(tmp_path / "room.wav"), "-q"])
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["talk_denoised.wav", "talk_noise.wav"]
    den, _ = sf.read(out / "talk_denoised.wav")
    noise, _ = sf.read(out / "talk_noise.wav")
    y, _ = sf.read(tmp_path / "talk.wav")
    np.testing.assert_allclose(den + noise, y, atol=1e-6)
    assert metrics.si_sdr(0.1 * s, den) - metrics.si_sdr(0.1 * s, y) > 5.0
    # same as the one-liner with the same clip
    np.testing.assert_allclose(den, ds.denoise(y, SR, noise=0.1 * n[:SR]), atol=1e-5)
    # without --keep-noise only the denoised file; a bad clip is an error, nothing written
    code = cli.main(["denoise", str(tmp_path / "talk.wav"), "-o", str(tmp_path / "o2"),
                     "--method", "omlsa", "-q"])
    assert code == 0 and [p.name for p in (tmp_path / "o2").iterdir()] == ["talk_denoised.wav"]
    sf.write(tmp_path / "silent.wav", np.zeros(SR), SR)
    code = cli.main(["denoise", str(tmp_path / "talk.wav"), "-o", str(tmp_path / "o3"),
                     "--noise-clip", str(tmp_path / "silent.wav"), "-q"])
    assert code == 2 and "silent" in capsys.readouterr().err
    assert not (tmp_path / "o3").exists() or not any((tmp_path / "o3").iterdir())


@pytest.mark.parametrize("value", ["x", -1.0, float("nan"), True])
def test_bad_oversubtraction_names_the_choices(value):
    with pytest.raises(ds.ParameterError, match="oversubtraction=.*'berouti' or a finite"):
        ds.SpectralSubtraction(oversubtraction=value).separate(np.zeros(1600), 16000)


def test_denoise_refuses_a_parameter_the_method_does_not_have():
    with pytest.raises(ds.ParameterError, match=r"foo=1: not a parameter of method='omlsa'"):
        ds.denoise(np.zeros(1600), 16000, foo=1)
