"""The REPET family (REPET, adaptive REPET, REPET-SIM) and robust PCA.

Every numba kernel is checked against a slow, obvious numpy reference; quality is checked on
synthetic mixtures whose true sources are known (an exactly periodic background and a
non-repeating glide), never on the corpus.
"""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest

import dsp_separate as ds
from dsp_separate.separators import repet as R

SR = 8000
HOP = 128
STFT = {"n_fft": 512, "hop_length": HOP}
LOOP = 4096  # 0.512 s, 32 hops: the true period in frames
PERIOD_FRAMES = LOOP // HOP


def periodic_mixture(reps=8, seed=0, fg_gain=0.5, n=LOOP, sr=SR):
    """An exactly periodic background (tones and noise bursts) and a glide (foreground)."""
    rng = np.random.default_rng(seed)
    tt = np.arange(n) / sr
    loop = np.zeros(n)
    q = n // 4
    for i, f0 in enumerate([220.0, 330.0, 277.0, 392.0]):  # a note per quarter of the loop
        env = np.exp(-np.arange(q) / (0.15 * sr))
        loop[i * q:(i + 1) * q] += 0.4 * env * (np.sin(2 * np.pi * f0 * tt[:q])
                                                + 0.5 * np.sin(4 * np.pi * f0 * tt[:q]))
    for start in range(0, n, n // 8):  # noise bursts on the eighths
        m = min(600, n - start)
        loop[start:start + m] += 0.5 * rng.standard_normal(m) * np.exp(-np.arange(m) / 150)
    bg = np.tile(loop, reps)
    t = np.arange(bg.size) / sr
    fg = fg_gain * np.sin(2 * np.pi * (500 * t + 150 * t ** 2))
    return bg, fg


def sdr(ref, est):
    return float(ds.metrics.sd_sdr(ref, est))


# ---------------------------------------------------------------- slow references
def naive_beat_spectrum(S):
    V = S.astype(float) ** 2
    F, T = V.shape
    acf = np.array([np.mean([np.dot(V[f, :T - l], V[f, l:]) / (T - l) for f in range(F)])
                    for l in range(T)])
    return acf / acf[0]


def naive_repet_model(S, p):
    F, T = S.shape
    n_seg = -(-T // p)
    padded = np.full((F, n_seg * p), np.nan)
    padded[:, :T] = S
    with warnings.catch_warnings():  # columns past the end of a period longer than S
        warnings.simplefilter("ignore", RuntimeWarning)
        segment = np.nanmedian(padded.reshape(F, n_seg, p), axis=1)
    return np.minimum(np.tile(segment, n_seg)[:, :T], S)


def naive_adaptive_model(S, periods, reach):
    F, T = S.shape
    W = np.empty_like(S)
    for t in range(T):
        p = periods[t]
        a = max(0, min(t - reach, T - 1 - 2 * reach))
        b = min(T - 1, a + 2 * reach)
        frames = [u for u in range(a, b + 1) if (u - t) % p == 0]
        W[:, t] = np.minimum(np.median(S[:, frames], axis=1), S[:, t])
    return W


def naive_repet_sim_model(S, k, min_distance, threshold):
    F, T = S.shape
    norms = np.linalg.norm(S, axis=0)
    U = S / np.where(norms > 0, norms, 1)
    C = U.T @ U
    W = np.empty_like(S)
    for t in range(T):
        row = C[t]
        peaks = [u for u in range(T) if row[u] >= threshold and all(
            row[u] > row[v] for v in range(max(0, u - min_distance), min(T, u + min_distance + 1))
            if v != u)]
        ok = sorted(peaks, key=lambda u: -row[u])[:k]
        W[:, t] = S[:, t] if not ok else np.minimum(np.median(S[:, ok], axis=1), S[:, t])
    return W


# ---------------------------------------------------------------- kernels vs references
@pytest.mark.kernels
def test_beat_spectrum_equals_direct_autocorrelation():
    S = np.random.default_rng(0).random((9, 40))
    np.testing.assert_allclose(R.beat_spectrum(S), naive_beat_spectrum(S), atol=1e-12)
    # stereo: one beat spectrum per channel
    assert R.beat_spectrum(np.stack([S, S])).shape == (2, 40)


@pytest.mark.kernels
def test_shared_period_beat_spectrum_is_that_of_the_channel_mean():
    """REPET's period comes from the beat spectrum of the channels' mean magnitude (fused
    passes, FFTs in threads): equal to the direct definition, scale-free (no overflow of the
    fourth powers at 1e30 in float32, no underflow at 1e-30)."""
    rng = np.random.default_rng(3)
    S = rng.random((2, 9, 40))
    expected = naive_beat_spectrum(S.mean(axis=0))
    np.testing.assert_allclose(R._beat_spectrum(S), expected, atol=1e-12)
    np.testing.assert_allclose(R._beat_spectrum(S * 1e250), expected, atol=1e-12)
    for scale in (1e30, 1e-30):
        b32 = R._beat_spectrum((S * scale).astype(np.float32))
        np.testing.assert_allclose(b32, expected, atol=2e-5)
    # subnormal and near-overflow peaks: 1 / peak is not finite in the dtype there
    for scale, dtype in ((1e-42, np.float32), (1e37, np.float32), (1e-312, np.float64),
                         (1e307, np.float64)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no overflow warning either
            b = R._beat_spectrum((S * scale).astype(dtype))
        atol = 1e-12 if dtype == np.float64 and scale > 1 else 1e-2  # subnormals: few bits
        np.testing.assert_allclose(b, expected, atol=atol)
    # a power-of-two scale changes nothing at all
    np.testing.assert_array_equal(R._beat_spectrum(S * 2.0 ** 600), R._beat_spectrum(S))
    assert not R._beat_spectrum(np.zeros((2, 9, 40))).any()


def test_period_search_reads_no_lag_past_lags_read():
    """The separator computes only the lags the period search reads (shorter FFTs): lags
    from ``_lags_read`` on, zeroed or random, never change the period found."""
    rng = np.random.default_rng(7)
    for _ in range(500):
        T = int(rng.integers(8, 300))
        lo = int(rng.integers(1, T // 2))
        hi = int(rng.integers(lo, T // 2 + 1))
        b = rng.random(T)
        n = R._lags_read(T, hi)
        noisy, zeroed = b.copy(), b.copy()
        noisy[n:] = 10 * rng.random(T - n)
        zeroed[n:] = 0.0
        p = R.repeating_period(b, lo, hi)
        assert R.repeating_period(noisy, lo, hi) == p == R.repeating_period(zeroed, lo, hi)
    S = rng.random((2, 9, 40))
    full, short = R._beat_spectrum(S), R._beat_spectrum(S, n_lags=R._lags_read(40, 12))
    np.testing.assert_allclose(short[:R._lags_read(40, 12)], full[:R._lags_read(40, 12)],
                               atol=1e-12)


def test_beat_spectrum_does_not_depend_on_the_number_of_cores(monkeypatch):
    """Blocks of rows are summed on their own and added in block order: 1, 2 or 5 threads
    give the same bits (a near-tie between two periods cannot go different ways on two
    machines)."""
    S = np.random.default_rng(6).random((2, 240, 12000)).astype(np.float32)  # 6 blocks
    from dsp_separate._config import n_threads_for

    results = []
    for cores in (1, 2, 5):
        assert n_threads_for(6, 2, cores) == min(cores, 3)
        monkeypatch.setattr("os.cpu_count", lambda cores=cores: cores)
        results.append(R._beat_spectrum(S))
    for b in results[1:]:
        np.testing.assert_array_equal(b, results[0])


def test_magnitude_in_threads_and_row_peaks_equal_numpy():
    X = ds.stft(np.random.default_rng(4).standard_normal((2, 40000)).astype(np.float32))
    for Z in (X, X[..., ::2]):  # contiguous (threads) or not
        S = R._magnitude(Z)
        np.testing.assert_array_equal(S, np.abs(Z))
        np.testing.assert_array_equal(R._row_peaks(S), np.abs(Z).max(axis=-1))


@pytest.mark.parametrize("name", ["repet", "adaptive_repet", "repet_sim"])
def test_separate_from_magnitudes_equals_the_complex_path(monkeypatch, name):
    """``separate`` estimates the family from ``|X|`` made with a frame-major STFT (no
    separate ``np.abs`` pass); the sources equal those of the transposed STFT and
    ``np.abs`` to float rounding (the magnitudes differ by at most 2 ulps), and keep, the
    masks and Wiener refinement still work."""
    bg, fg = periodic_mixture(reps=6)
    y = np.stack([bg + fg, 0.8 * bg + fg]).astype(np.float32)
    params = {"stft": STFT, **({"k": 8} if name == "repet_sim" else {})}
    sep = ds.get_separator(name)(**params)
    assert sep._magnitude_path()
    fast = sep.separate(y, SR, keep="all")
    monkeypatch.setattr(type(sep), "_magnitude_path", lambda self: False)
    slow = sep.separate(y, SR, keep="all")
    monkeypatch.undo()
    for src in ("background", "foreground"):
        np.testing.assert_allclose(fast[src], slow[src], rtol=0, atol=2e-6 * np.abs(y).max())
        np.testing.assert_allclose(fast.masks[src], slow.masks[src], rtol=0, atol=1e-5)
        np.testing.assert_allclose(fast.stfts[src], slow.stfts[src], rtol=0,
                                   atol=1e-5 * np.abs(slow.stfts[src]).max())
    # Wiener refinement needs the complex STFT: the usual path
    refined = ds.get_separator(name)(**params, wiener_iterations=1)
    assert not refined._magnitude_path()
    out = refined.separate(y, SR).stack()
    np.testing.assert_allclose(out.sum(axis=0), y, atol=1e-5)


def test_magnitude_path_respects_overrides_and_refuses_extra_arguments():
    """A subclass that overrides ``_estimate`` has it called by ``separate`` (the magnitude
    path is the family's own); unknown ``separate`` arguments are a ParameterError."""
    bg, fg = periodic_mixture(reps=4)
    y = (bg + fg).astype(np.float32)
    calls = []

    class Traced(ds.REPET):
        def _estimate(self, X, **kwargs):
            calls.append(X.shape)
            return super()._estimate(X, **kwargs)

    assert not Traced(stft=STFT)._magnitude_path()
    Traced(stft=STFT).separate(y, SR)
    assert len(calls) == 1
    with pytest.raises(ds.ParameterError, match="references"):
        ds.REPET(stft=STFT).separate(y, SR, references=y)


@pytest.mark.parametrize("dtype,scale", [(np.float32, 1e30), (np.float64, 1e300),
                                         (np.float64, 1e-300)])
def test_separate_from_magnitudes_at_extreme_scales(dtype, scale):
    """The magnitude path (no Wiener refinement, which the contract battery's huge-input
    test switches on) stays finite and scale-equivariant at the amplitude bound and at
    tiny float64 levels."""
    bg, fg = periodic_mixture(reps=4)
    y = np.stack([bg + fg, 0.8 * bg + fg]).astype(dtype)
    y /= np.abs(y).max()
    ref = ds.REPET(stft=STFT).separate(y, SR)
    out = ds.REPET(stft=STFT).separate((y * scale).astype(dtype), SR)
    for src in ("background", "foreground"):
        assert np.isfinite(out[src]).all()
        np.testing.assert_allclose(out[src] / scale, ref[src], rtol=0, atol=1e-5)


@pytest.mark.kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("power", [1.0, 2.0, 0.5])
def test_repet_split_equals_model_then_shared_masks(dtype, power):
    """The fused kernel (model, high-pass rows, rest, masks row by row) gives exactly what
    the model, ``S - W`` and the shared stage's ratio-mask rule give, silent bins included."""
    from dsp_separate.masks import _ratio_masks_of

    rng = np.random.default_rng(5)
    S = rng.random((2, 7, 45)).astype(dtype)
    S[:, :, 10:14] = 0.0  # silent frames: 0.5 / 0.5
    low = 2
    W = R.repet_model(S, 9)
    W[:, :low] = S[:, :low]
    bg, fg = np.empty_like(S), np.empty_like(S)
    R._repet_split(S, 9, low, power, False, bg, fg)
    np.testing.assert_array_equal(bg, W)
    np.testing.assert_array_equal(fg, S - W)
    expected = _ratio_masks_of([W, S - W], power)
    R._repet_split(S, 9, low, power, True, bg, fg)
    np.testing.assert_array_equal(bg, expected[0])
    np.testing.assert_array_equal(fg, expected[1])
    # a thread's share of the rows starts at first_row: the high-pass rows follow it
    from dsp_separate._kernels import repet as K

    rows = S.reshape(-1, S.shape[-1])
    part_bg, part_fg = np.empty_like(rows[5:]), np.empty_like(rows[5:])
    row = np.empty(S.shape[-1], dtype=dtype)
    K.segment_split(rows[5:], 9, 7, low, power, float(np.finfo(dtype).tiny), True,
                    R._median_network(5), *R._median_scratch(dtype), 5, row, R._keys(row),
                    part_bg, part_fg)
    np.testing.assert_array_equal(part_bg, expected[0].reshape(rows.shape)[5:])
    np.testing.assert_array_equal(part_fg, expected[1].reshape(rows.shape)[5:])
    only = S.copy()
    R._repet_split(only, 9, low, power, True, only)  # the background's mask alone, in place
    np.testing.assert_array_equal(only, expected[0])
    assert (only[:, :, 10:14] == 0.5).all()
    np.testing.assert_allclose(only[:, :low][S[:, :low] > 0], 1.0, rtol=1e-15)  # high-pass


def test_float32_beat_spectrum_agrees_with_float64():
    """float32 spectrograms take float32 FFTs (sums in float64): same beat spectrum to
    1e-5 of its peak, same period."""
    bg, fg = periodic_mixture()
    S = np.abs(ds.stft(bg + fg, **STFT))
    b64 = R.beat_spectrum(S)
    b32 = R.beat_spectrum(S.astype(np.float32))
    np.testing.assert_allclose(b32, b64, atol=1e-5)
    assert R.repeating_period(b32, 12, 120) == R.repeating_period(b64, 12, 120)


@pytest.mark.kernels
@pytest.mark.parametrize("p", [1, 5, 7, 40, 55])
def test_repet_model_equals_numpy_median(p):
    S = np.random.default_rng(p).random((6, 43)).astype(np.float32)
    np.testing.assert_allclose(R.repet_model(S, p), naive_repet_model(S, p), rtol=1e-6)


@pytest.mark.kernels
def test_repet_model_long_segments_use_selection():
    """More than 24 segments: the quickselect path of the median (even and odd counts)."""
    rng = np.random.default_rng(1)
    for T in (3 * 60, 3 * 61):
        S = rng.random((4, T))
        np.testing.assert_allclose(R.repet_model(S, 3), naive_repet_model(S, 3))


@pytest.mark.kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_radix_medians_equal_numpy_on_hard_values(dtype):
    """The medians are built from the values' bit patterns, 64 columns at a time: more than
    64 bins / positions (partial blocks), ties, zeros, subnormals and values from 1e-30 to
    1e30, even and odd counts -- exactly numpy's median."""
    rng = np.random.default_rng(11)
    S = rng.random((150, 141)) * 10.0 ** rng.integers(-30, 30, (150, 141))
    S[rng.random(S.shape) < 0.2] = 0.0
    S[rng.random(S.shape) < 0.1] = 0.5
    S[:3] = np.finfo(dtype).tiny / 4  # subnormal rows
    S = S.astype(dtype)
    ulp = 2 * np.finfo(dtype).eps  # the mean of the two middle values, rounded in dtype
    for p in (2, 47, 70):  # 71 / 3 segments (odd / even counts), > 64 positions per period
        np.testing.assert_allclose(R.repet_model(S, p), naive_repet_model(S, p), rtol=ulp,
                                   atol=0)
    idx, count = R._similar_frames(S, 9, 2, 0.0)
    W = R._repet_sim_model(S, 9, 2, 0.0, cut=False, neighbours=(idx, count))
    for t in range(S.shape[1]):
        expected = np.median(S[:, idx[t, :count[t]]], axis=1) if count[t] else S[:, t]
        np.testing.assert_allclose(W[:, t], expected, rtol=ulp, atol=0)


def test_oddeven_merge_network_sorts_every_zero_one_input():
    """The 0-1 principle: a comparator network that sorts every 0/1 sequence sorts every
    sequence.  Batcher's known sizes: 19 comparators for 8 items, 63 for 16, 191 for 32."""
    import itertools

    for n, size in ((2, 1), (4, 5), (8, 19), (16, 63), (32, 191)):
        pairs = R._oddeven_merge_pairs(n)
        assert len(pairs) == size
        if n > 16:
            continue
        for bits in itertools.product((0, 1), repeat=n):
            v = list(bits)
            for a, b in pairs:
                if v[a] > v[b]:
                    v[a], v[b] = v[b], v[a]
            assert v == sorted(bits)


@pytest.mark.kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_network_medians_equal_radix_medians(dtype, monkeypatch):
    """Up to NETWORK_MAX segments the medians come from a pruned sorting network: the same
    values, bit for bit, as the radix selection (and numpy), for 2 to 130 segments, both
    parities, ties and zeros."""
    rng = np.random.default_rng(13)
    cases = [(40, 20), (41, 20), (90, 3), (97, 3), (300, 5), (297, 3), (381, 3), (390, 3),
             (130, 1)]  # 2 to 130 segments: networks of 2 to 128 values, then radix
    models = []
    for T, p in cases:
        S = (rng.random((3, T)) * 10.0 ** rng.integers(-5, 5, (3, T))).astype(dtype)
        S[rng.random(S.shape) < 0.2] = 0.25
        S[rng.random(S.shape) < 0.1] = 0.0
        models.append((S, p, R._repet_model(S, p)))
        assert R._median_network(-(-T // p)).shape[0] > 0 or -(-T // p) > R.NETWORK_MAX
    monkeypatch.setattr(R, "NETWORK_MAX", 0)
    R._median_network.cache_clear()
    try:
        for S, p, W in models:
            assert R._median_network(-(-S.shape[1] // p)).shape[0] == 0
            np.testing.assert_array_equal(W, R._repet_model(S, p))
            np.testing.assert_allclose(W, naive_repet_model(S, p), rtol=2 * np.finfo(dtype).eps)
    finally:
        R._median_network.cache_clear()


@pytest.mark.kernels
def test_adaptive_model_equals_reference():
    rng = np.random.default_rng(2)
    S = rng.random((5, 60))
    periods = rng.integers(3, 9, size=60)
    np.testing.assert_allclose(R.adaptive_repet_model(S, periods, 12),
                               naive_adaptive_model(S, periods, 12))


@pytest.mark.kernels
@pytest.mark.parametrize("k, d, thr", [(5, 3, 0.0), (30, 1, 0.0), (4, 0, 0.8), (80, 2, 0.0)])
def test_repet_sim_model_equals_full_similarity_reference(k, d, thr):
    rng = np.random.default_rng(3)
    S = rng.random((12, 70)) ** 3
    S[:, 10] = 0  # a silent frame: similarity 0 with everything
    np.testing.assert_allclose(R.repet_sim_model(S, k, d, thr),
                               naive_repet_sim_model(S, min(k, 70), d, thr), rtol=1e-12)


@pytest.mark.kernels
def test_repet_sim_blocks_do_not_change_the_result(monkeypatch):
    S = np.random.default_rng(4).random((10, 90))
    whole = R.repet_sim_model(S, 7, 2)
    monkeypatch.setattr(R, "_BLOCK_ELEMENTS", 90 * 7)  # 7 rows per block
    np.testing.assert_array_equal(R.repet_sim_model(S, 7, 2), whole)


def test_repet_sim_memory_is_linear_in_frames():
    """12 000 frames: a frames x frames float32 matrix would be 576 MB; we stay far below."""
    S = np.random.default_rng(5).random((16, 12000)).astype(np.float32)
    R.repet_sim_model(S[:, :300], 10, 5)  # compile outside the measurement
    tracemalloc.start()
    R.repet_sim_model(S, 10, 5)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 40e6, peak  # blocks of 2**22 similarities (16 MB) + O(n_frames * k)


# ---------------------------------------------------------------- period
def test_repeating_period_finds_the_loop_within_one_frame():
    bg, fg = periodic_mixture()
    S = np.abs(ds.stft(bg + fg, **STFT))
    p = R.repeating_period(R.beat_spectrum(S), 12, 120)
    assert abs(p - PERIOD_FRAMES) <= 1, p
    sep = ds.REPET(period=(0.2, 1.5))
    assert abs(sep.find_period(S[None], SR, ds.STFT(**STFT)) - PERIOD_FRAMES) <= 1


def test_repeating_period_prefers_the_period_to_its_multiples():
    S = np.tile(np.random.default_rng(0).random((32, 12)), 8)
    assert R.repeating_period(R.beat_spectrum(S), 2, 45) == 12


def test_repeating_period_checks_its_range():
    b = np.linspace(1, 0, 50)
    with pytest.raises(ds.ParameterError, match=r"min_period, max_period\)=\(30, 20\)"):
        R.repeating_period(b, 30, 20)
    with pytest.raises(ds.ParameterError, match="beat spectrum"):
        R.repeating_period(np.ones((2, 5)))


# ---------------------------------------------------------------- separation quality
@pytest.mark.parametrize("sep", [
    ds.REPET(period=(0.2, 1.5), stft=STFT),
    ds.REPET(period=LOOP / SR, stft=STFT),  # a fixed period
    ds.AdaptiveREPET(period=(0.2, 1.5), window_s=3.0, hop_s=0.5, stft=STFT),
    ds.REPETSIM(k=6, min_distance=0.25, stft=STFT),
], ids=["repet", "repet_fixed", "adaptive_repet", "repet_sim"])
def test_periodic_background_and_glide_are_separated(sep):
    bg, fg = periodic_mixture()
    result = sep.separate((bg + fg).astype(np.float32), SR)
    assert sdr(bg, result["background"]) >= 10
    assert sdr(fg, result["foreground"]) >= 10


def test_stereo_shares_the_period_and_models_each_channel():
    bg, fg = periodic_mixture(seed=1)
    y = np.stack([bg + fg, 0.5 * bg + 1.5 * fg]).astype(np.float32)
    sep = ds.REPET(period=(0.2, 1.5), stft=STFT)
    stereo = sep.separate(y, SR)
    swapped = sep.separate(y[::-1].copy(), SR)
    np.testing.assert_allclose(stereo["background"], swapped["background"][::-1], atol=1e-6)
    assert sdr(1.5 * fg, stereo["foreground"][1]) >= 10
    # a batch of two stereo items gives each item's own result
    batch = sep.separate(np.stack([y, y[::-1]]), SR)
    np.testing.assert_allclose(batch["foreground"][0], stereo["foreground"], atol=1e-6)


def test_high_pass_sends_low_frequencies_to_the_background():
    t = np.arange(2 * SR) / SR
    hum = np.sin(2 * np.pi * 50 * t)  # 50 Hz, below the 100 Hz cut-off, not repeating in
    rng = np.random.default_rng(0)  # the sense of the loop: noise does not repeat
    y = (hum + 0.01 * rng.standard_normal(t.size)).astype(np.float32)
    stft = {"n_fft": 1024, "hop_length": 256}
    on = ds.REPETSIM(k=5, min_distance=0.1, stft=stft).separate(y, SR)
    off = ds.REPETSIM(k=5, min_distance=0.1, high_pass=0.0, stft=stft).separate(y, SR)
    assert sdr(hum, on["background"]) > 25
    assert sdr(hum, on["background"]) > sdr(hum, off["background"]) + 3


# ---------------------------------------------------------------- bad input
def test_period_longer_than_half_the_signal_is_refused():
    y = periodic_mixture(reps=2)[0].astype(np.float32)  # 1.02 s
    with pytest.raises(ds.ParameterError, match=r"period=\(0.8, 2.0\): .* longer than half"):
        ds.REPET(period=(0.8, 2.0), stft=STFT).separate(y, SR)
    with pytest.raises(ds.ParameterError, match=r"period=0.6: .*two repetitions"):
        ds.REPET(period=0.6, stft=STFT).separate(y, SR)
    # the default range adapts to a short clip
    assert ds.REPET(stft=STFT).separate(y, SR)["background"].shape == y.shape


@pytest.mark.parametrize("params, match", [
    ({"k": 0}, r"k=0: must be a positive integer"),
    ({"threshold": -0.1}, r"threshold=-0.1: must be a number in \[0, 1\]"),
    ({"threshold": float("nan")}, r"threshold=nan"),
    ({"min_distance": -1.0}, r"min_distance=-1.0"),
    ({"high_pass": float("nan")}, r"high_pass=nan"),
])
def test_repet_sim_bad_parameters(params, match):
    y = np.zeros(SR, np.float32)
    with pytest.raises(ds.ParameterError, match=match):
        ds.REPETSIM(stft=STFT, **params).separate(y, SR)


def test_k_larger_than_the_frames_is_refused():
    y = np.random.default_rng(0).standard_normal(SR // 4).astype(np.float32)
    with pytest.raises(ds.ParameterError, match=r"k=500: more repeating frames than"):
        ds.REPETSIM(k=500, stft=STFT).separate(y, SR)


@pytest.mark.parametrize("params, match", [
    ({"period": (2.0, 1.0)}, r"period=\(2.0, 1.0\): the range's minimum is above"),
    ({"period": -1.0}, r"period=-1.0"),
    ({"period": (1.0, 2.0, 3.0)}, r"period=\(1.0, 2.0, 3.0\)"),
    ({"power": 0}, r"power=0"),
    ({"mask": "hard"}, r"mask='hard'"),
])
def test_repet_bad_parameters(params, match):
    with pytest.raises(ds.ParameterError, match=match):
        ds.REPET(**params).separate(np.zeros(SR, np.float32), SR)


def test_adaptive_repet_refuses_a_single_period():
    with pytest.raises(ds.ParameterError, match=r"period=2.0: give a \(min_s, max_s\)"):
        ds.AdaptiveREPET(period=2.0).separate(np.zeros(SR, np.float32), SR)


@pytest.mark.parametrize("cls", [ds.REPET, ds.AdaptiveREPET, ds.REPETSIM])
def test_silence_is_finite_and_dc_is_background(cls):
    """Silence gives zeros; a constant is below the high-pass cut-off: background (away from
    the ends, where the STFT's padding makes a broadband onset that repeats nowhere)."""
    sep = cls(stft=STFT)
    zero = sep.separate(np.zeros(2 * SR, np.float32), SR)
    for name in zero.names:
        assert np.isfinite(zero[name]).all() and not zero[name].any()
    dc = np.full(2 * SR, 0.5, np.float32)
    result = sep.separate(dc, SR)
    middle = slice(SR // 2, -SR // 2)
    np.testing.assert_allclose(result["background"][middle], dc[middle], atol=1e-4)
    np.testing.assert_allclose(result["background"] + result["foreground"], dc, atol=1e-5)


def test_pure_functions_check_their_input():
    with pytest.raises(ds.ParameterError, match="must be non-negative"):
        R.repet_model(-np.ones((3, 4)), 2)
    with pytest.raises(ds.ParameterError, match="period=0"):
        R.repet_model(np.ones((3, 4)), 0)
    with pytest.raises(ds.ParameterError, match="periods="):
        R.adaptive_repet_model(np.ones((3, 4)), np.zeros(4, int), 2)
    with pytest.raises(ds.ParameterError, match="threshold=2"):
        R.repet_sim_model(np.ones((3, 4)), 2, 1, 2)
    S = np.ones((3, 4))
    R.repet_model(S, 2)
    np.testing.assert_array_equal(S, np.ones((3, 4)))  # input untouched


# ---------------------------------------------------------------- robust PCA
from dsp_separate.separators import rpca as RP  # noqa: E402


def low_rank_plus_spikes(m=120, n=150, rank=2, n_spikes=300, seed=0):
    rng = np.random.default_rng(seed)
    low = rng.random((m, rank)) @ rng.random((rank, n))
    spikes = np.zeros((m, n))
    spikes.flat[rng.choice(m * n, n_spikes, replace=False)] = rng.uniform(2, 6, n_spikes)
    return low, spikes


def test_rpca_recovers_a_rank_2_matrix_and_its_spikes():
    low, spikes = low_rank_plus_spikes()
    L, S, n_iter, residual = ds.rpca(low + spikes)
    assert np.linalg.norm(L - low) / np.linalg.norm(low) < 0.01
    assert np.linalg.norm(S - spikes) / np.linalg.norm(spikes) < 0.01
    assert residual < 1e-7 and n_iter < 100
    assert np.linalg.matrix_rank(L, tol=1e-6 * np.abs(L).max()) == 2


def test_rpca_warns_when_it_stops_on_max_iter():
    low, spikes = low_rank_plus_spikes()
    with pytest.warns(ds.ConvergenceWarning, match=r"max_iter=3 .*relative residual"):
        _, _, n_iter, residual = ds.rpca(low + spikes, max_iter=3)
    assert n_iter == 3 and residual > 1e-7


@pytest.mark.kernels
def test_gram_thresholding_equals_svd_thresholding():
    rng = np.random.default_rng(1)
    for shape in [(40, 70), (70, 40)]:
        A = rng.standard_normal(shape)
        U, s, Vt = np.linalg.svd(A, full_matrices=False)
        tau = s[5] + 1e-3  # keeps 5
        ref = (U[:, :5] * (s[:5] - tau)) @ Vt[:5]
        L, rank = RP._svt_gram(A, tau)
        assert rank == 5
        np.testing.assert_allclose(L, ref, atol=1e-10)
    low, _ = low_rank_plus_spikes(rank=3)
    U, s, Vt = RP._randomized_svd(low, 3, np.random.default_rng(0))
    np.testing.assert_allclose((U * s) @ Vt, low, atol=1e-10)


def test_rpca_of_zeros_and_bad_input():
    L, S, n_iter, residual = ds.rpca(np.zeros((5, 6)))
    assert n_iter == 0 and not L.any() and not S.any()
    for kwargs, match in [({"lam": -1.0}, "lam=-1.0"), ({"tol": 0.0}, "tol=0.0"),
                          ({"max_iter": 0}, "max_iter=0"), ({"random_state": -2},
                                                            "random_state=-2")]:
        with pytest.raises(ds.ParameterError, match=match):
            ds.rpca(np.ones((4, 4)), **kwargs)
    with pytest.raises(ds.ParameterError, match="must be finite"):
        ds.rpca(np.full((3, 3), np.nan))
    with pytest.raises(ds.ParameterError, match="must be real"):
        ds.rpca(np.ones((3, 3), complex))


def test_rpca_separates_a_steady_chord_from_a_glide():
    """A steady chord is low rank in the spectrogram, a glide is sparse (one bin a frame)."""
    t = np.arange(2 * SR) / SR
    chord = np.sin(2 * np.pi * 220 * t) + 0.5 * np.sin(2 * np.pi * 330 * t)
    glide = 0.5 * np.sin(2 * np.pi * (500 * t + 400 * t ** 2))
    y = np.stack([chord + glide, 0.5 * chord + glide]).astype(np.float32)
    result = ds.RPCA(kappa=1.0, stft=STFT).separate(y, SR)
    assert sdr(chord, result["background"][0]) > 20
    assert sdr(glide, result["foreground"][0]) > 15
    assert sdr(glide, result["foreground"][1]) > 20  # one decomposition per channel
    assert len(result.info["n_iter"]) == 2 and max(result.info["residual"]) < 1e-4
    with pytest.warns(ds.ConvergenceWarning):
        ds.RPCA(stft=STFT, max_iter=2).separate(y, SR)


def test_rpca_separates_a_periodic_loop_from_a_glide():
    # measured: 16.0 / 17.0 dB (kappa 1), 5.9 / 9.4 (kappa 0.5), -0.2 / 6.0 (the default 0.3,
    # chosen on the corpus: an exact loop's tones are sparse too)
    bg, fg = periodic_mixture()
    y = np.stack([bg + fg, 0.5 * bg + fg]).astype(np.float32)
    result = ds.RPCA(kappa=1.0, stft=STFT).separate(y, SR)
    assert sdr(bg, result["background"][0]) > 14
    assert sdr(fg, result["foreground"][0]) > 15
    assert sdr(0.5 * bg, result["background"][1]) > 14
    weak = ds.RPCA(kappa=0.5, stft=STFT).separate(y, SR)
    assert sdr(bg, weak["background"][0]) < sdr(bg, result["background"][0]) - 5


def test_rpca_high_pass_puts_the_bass_in_the_background():
    """A sparse 50 Hz bass note is foreground for RPCA; below ``high_pass`` it is not."""
    bg, fg = periodic_mixture(reps=4)
    t = np.arange(bg.size) / SR
    bass = 0.8 * np.sin(2 * np.pi * 50 * t) * ((t > 0.7) & (t < 1.1))
    y = (bg + fg + bass).astype(np.float32)
    low = slice(0, 5)  # bins below 78 Hz (15.6 Hz each)
    energy = {}
    for hp in (0.0, 100.0):
        res = ds.RPCA(kappa=1.0, high_pass=hp, stft=STFT).separate(y, SR)
        F = np.abs(ds.STFT(**STFT).forward(res["foreground"]))
        energy[hp] = float((F[low] ** 2).sum())
    mix = float((np.abs(ds.STFT(**STFT).forward(y))[low] ** 2).sum())
    assert energy[0.0] > 0.3 * mix  # without the cut-off the bass note is "sparse"
    assert energy[100.0] < 1e-3 * mix
    # compression and the binary mask are used: the models differ, the sum is the mixture
    for kwargs in ({"compression": 1.0}, {"mask": "binary", "gain": 2.0}):
        res = ds.RPCA(kappa=1.0, stft=STFT, **kwargs).separate(y, SR)
        np.testing.assert_allclose(res["background"] + res["foreground"], y, atol=1e-5)


def test_rpca_separator_parameters():
    for kwargs, match in [({"kappa": 0.0}, "kappa=0.0"), ({"compression": -1.0},
                                                          "compression=-1.0"),
                          ({"high_pass": -5.0}, "high_pass=-5.0"), ({"gain": 0.0}, "gain=0.0")]:
        with pytest.raises(ds.ParameterError, match=match):
            ds.RPCA(**kwargs).separate(np.zeros(4000), SR)


# ---------------------------------------------------------------- 2DFT
def note_melody(n, sr=SR, seed=1, gain=0.5):
    """Non-repeating foreground: 0.3 s notes at random pitches."""
    rng = np.random.default_rng(seed)
    out = np.zeros(n)
    L = int(0.3 * sr)
    tt = np.arange(L) / sr
    for s in range(0, n - L, L):
        out[s:s + L] = gain * np.sin(2 * np.pi * rng.uniform(400, 1500) * tt) * np.hanning(L)
    return out


def test_ft2d_separates_a_loop_from_a_melody():
    """2DFT is weaker than REPET on short loops (rate peaks 8 bins apart, smeared when the
    frame count is not a whole number of periods): it gains 7 dB here, REPET 20 dB."""
    bg, _ = periodic_mixture()
    fg = note_melody(bg.size)
    y = (bg + fg).astype(np.float32)
    binary = ds.FT2D(stft=STFT, peaks="binary").separate(y, SR)
    assert sdr(bg, binary["background"]) > 6
    assert sdr(fg, binary["foreground"]) > sdr(fg, y) + 7
    soft = ds.FT2D(stft=STFT).separate(y, SR)  # better on the corpus, weaker here
    assert sdr(bg, soft["background"]) > 4
    assert sdr(fg, soft["foreground"]) > sdr(fg, y) + 6


def test_ft2d_models_keep_an_exact_repetition():
    S = np.tile(np.random.default_rng(0).random((64, 32)), 8)  # a whole number of periods
    for peaks in ("soft", "binary"):
        B, G = ds.ft2d_models(S, (1, 3), peaks=peaks)
        assert B.sum() / S.sum() > 0.9
    np.testing.assert_allclose(B + G, S, atol=1e-12)
    with pytest.raises(ds.ParameterError, match=r"neighborhood=5: must be a pair"):
        ds.ft2d_models(S, 5)


# ---------------------------------------------------------------- kernel additive modelling
from dsp_separate.separators import kam as K  # noqa: E402


@pytest.mark.parametrize("kernels", [
    {"background": K.similarity(6, 0.25), "foreground": K.cross(5, 5)},
    {"background": K.periodic(), "foreground": K.cross(5, 5)},
], ids=["similarity", "periodic"])
def test_kam_separates_the_periodic_background_and_glide(kernels):
    bg, fg = periodic_mixture()
    result = ds.KAM(kernels=kernels, stft=STFT).separate((bg + fg).astype(np.float32), SR)
    assert result.names == ("background", "foreground")
    assert sdr(bg, result["background"]) >= 10
    assert sdr(fg, result["foreground"]) >= 10


def test_kam_with_hpss_kernels_matches_the_harmonic_percussive_split():
    t = np.arange(2 * SR) / SR
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    clicks = np.zeros_like(t)
    clicks[::SR // 4] = 1.0
    sep = ds.KAM(kernels={"harmonic": K.horizontal(17), "percussive": K.vertical(17)},
                 stft=STFT, n_iter=0)
    result = sep.separate(tone + clicks, SR)
    # no backfitting: ratio masks of the two medians of |X|^2, i.e. HPSS with power 1 on
    # powers (= power 2 on magnitudes)
    hpss = ds.HPSS(kernel_size=17, power=2.0, stft=STFT).separate(tone + clicks, SR)
    np.testing.assert_allclose(result["harmonic"], hpss["harmonic"], atol=1e-6)
    assert sdr(tone, ds.KAM(kernels=sep.kernels, stft=STFT).separate(tone + clicks, SR)[
        "harmonic"]) > 15


def test_kam_kernels_are_plain_data_and_checked():
    assert K.cross(3, 5) == ("cross", 3, 5)
    sep = ds.KAM(kernels={"a": ["horizontal", 5], "b": ("vertical", 3)})  # JSON lists ok
    assert sep.source_names() == ("a", "b")
    text = ds.KAM(kernels="h=horizontal:17; p=vertical:9;bg=similarity:20:0.5;r=periodic:none")
    assert text._kernels() == {"h": ("horizontal", 17), "p": ("vertical", 9),
                               "bg": ("similarity", 20, 0.5), "r": ("periodic", None)}
    for kernels, match in [({"a": K.horizontal()}, "at least two"),
                           ({"a": ("blur", 3), "b": K.vertical()}, r"kernels\['a'\]"),
                           ({"a": ("horizontal", 0), "b": K.vertical()}, "frames=0")]:
        with pytest.raises(ds.ParameterError, match=match):
            ds.KAM(kernels=kernels).separate(np.zeros(SR, np.float32), SR)


def test_length_checks_come_before_any_transform(monkeypatch):
    """A period or k the signal is too short for is refused before the STFT runs."""
    def boom(self, y):
        raise AssertionError("the STFT ran before the parameter check")

    monkeypatch.setattr(ds.STFT, "_forward", boom)
    y = np.zeros(SR, np.float32)
    with pytest.raises(ds.ParameterError, match="period=0.9"):
        ds.REPET(period=0.9, stft=STFT).separate(y, SR)
    with pytest.raises(ds.ParameterError, match="k=500"):
        ds.REPETSIM(k=500, stft=STFT).separate(y, SR)


def test_negative_zeros_are_zeros_for_the_medians():
    # -0.0 passes the non-negativity check; the radix medians order bit patterns, where
    # -0.0 would be the largest key: the public functions must treat it as +0.0
    S = np.full((3, 8), 5.0)
    S[:, 0] = -0.0
    P = S + 0.0
    np.testing.assert_array_equal(ds.repet_model(S, 4), ds.repet_model(P, 4))
    np.testing.assert_array_equal(ds.repet_sim_model(S, k=3), ds.repet_sim_model(P, k=3))
    assert S[0, 0] == 0 and np.signbit(S[0, 0])  # the input is not modified
