"""β-divergence NMF core and the NMF separators (issue 8)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import dsp_separate as ds
from dsp_separate.exceptions import ConvergenceWarning

SR = 8000
TF = ds.STFT(n_fft=1024, hop_length=256)


def random_v(seed=0, shape=(40, 60), zeros=False):
    rng = np.random.default_rng(seed)
    V = rng.random(shape) ** 2 + 0.01
    if zeros:
        V[rng.random(shape) < 0.2] = 0.0
    return V


# ---------------------------------------------------------------------------- the core
@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 1.5, 2.0])
@pytest.mark.parametrize("zeros", [False, True])
def test_objective_never_increases(beta, zeros):
    V = random_v(1, zeros=zeros)
    W, H, info = ds.nmf(V, 6, beta=beta, max_iter=150, tol=0, random_state=0)
    obj = info["objective"]
    assert obj.shape == (info["n_iter"] + 1,) and info["n_iter"] >= 100
    assert np.all(np.isfinite(obj)) and np.all(np.isfinite(W)) and np.all(np.isfinite(H))
    assert np.all(np.diff(obj) <= 1e-12 * obj[0])
    assert obj[-1] < 0.9 * obj[0]  # it actually descends
    # the recorded objective is the divergence of the returned factors
    assert obj[-1] == pytest.approx(ds.beta_divergence(V, W @ H, beta), rel=1e-10)


@pytest.mark.parametrize("beta", [1.0, 2.0])
def test_agrees_with_scikit_learn_mu_from_the_same_init(beta):
    from sklearn.decomposition import NMF

    V = random_v(2)
    rng = np.random.default_rng(3)
    W0, H0 = rng.random((40, 5)) + 0.1, rng.random((5, 60)) + 0.1
    W, H, _ = ds.nmf(V, 5, beta=beta, W=W0, H=H0, max_iter=60, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = NMF(5, solver="mu", beta_loss=beta, init="custom", max_iter=60, tol=0)
        W_sk = sk.fit_transform(V, W=W0.copy(), H=H0.copy())
    np.testing.assert_allclose(W, W_sk, rtol=1e-4)
    np.testing.assert_allclose(H, sk.components_, rtol=1e-4)


@pytest.mark.parametrize("init", ["random", "nndsvda"])
def test_planted_factorisation_is_recovered(init):
    rng = np.random.default_rng(0)
    W0 = rng.random((30, 3)) * (rng.random((30, 3)) < 0.5)
    W0[:3] = np.eye(3)
    H0 = rng.random((3, 80)) * (rng.random((3, 80)) < 0.5)
    H0[:, :3] = np.eye(3)
    V = W0 @ H0
    W, H, info = ds.nmf(V, 3, beta=1.0, max_iter=1000, tol=0, init=init, random_state=0)
    assert np.linalg.norm(W @ H - V) < 1e-3 * np.linalg.norm(V)
    # the templates themselves, up to order and scale
    Wn, W0n = W / np.linalg.norm(W, axis=0), W0 / np.linalg.norm(W0, axis=0)
    assert np.sort(np.max(Wn.T @ W0n, axis=0)).min() > 0.999


def test_fixed_columns_stay_bit_identical_and_inputs_untouched():
    V = random_v(4)
    rng = np.random.default_rng(5)
    W0, H0 = rng.random((40, 6)) + 0.1, rng.random((6, 60)) + 0.1
    W0c, H0c, Vc = W0.copy(), H0.copy(), V.copy()
    W, H, _ = ds.nmf(V, W=W0, H=H0, fixed_W_columns=[0, 3], max_iter=40, tol=0,
                     normalize_W=True, l1_H=0.01)
    np.testing.assert_array_equal(W[:, [0, 3]], W0[:, [0, 3]])
    assert not np.array_equal(W[:, 1], W0[:, 1])
    np.testing.assert_array_equal(W0, W0c)
    np.testing.assert_array_equal(H0, H0c)
    np.testing.assert_array_equal(V, Vc)
    # the same with a boolean mask; update_W=False keeps every column
    mask = np.zeros(6, bool)
    mask[[0, 3]] = True
    W2, _, _ = ds.nmf(V, W=W0, H=H0, fixed_W_columns=mask, max_iter=40, tol=0,
                      normalize_W=True, l1_H=0.01)
    np.testing.assert_array_equal(W, W2)
    W3, _, _ = ds.nmf(V, W=W0, H=H0, update_W=False, max_iter=10, tol=0)
    np.testing.assert_array_equal(W3, W0)


def reference_mu(V, W, H, beta, n_iter, free, l1_H, l2_W):
    """Plain numpy alternating MU (W from (W, H), then H from the new W), with the floors."""
    from scipy.special import xlogy

    floor = 1e-9 * V.max()
    V = np.maximum(V, floor) if beta == 0 else V
    gamma = 1 / (2 - beta) if beta < 1 else 1.0

    def ratios(L):
        L = L if beta == 2 else np.maximum(L, floor)
        return V * L ** (beta - 2), L ** (beta - 1)

    def div(L):
        L = L if beta == 2 else np.maximum(L, floor)
        if beta == 1:
            return np.sum(xlogy(V, V / L) - V + L)
        if beta == 0:
            return np.sum(V / L - np.log(V / L) - 1)
        return np.sum(V ** beta + (beta - 1) * L ** beta - beta * V * L ** (beta - 1)) / (
            beta * (beta - 1))

    objective = [div(W @ H) + l1_H * H.sum() + 0.5 * l2_W * np.sum(W ** 2)]
    for _ in range(n_iter):
        R, P = ratios(W @ H)
        step = ((R @ H.T) / (P @ H.T + l2_W * W)) ** gamma
        W = W.copy()
        W[:, free] *= step[:, free]
        R, P = ratios(W @ H)
        H = H * ((W.T @ R) / (W.T @ P + l1_H)) ** gamma
        objective.append(div(W @ H) + l1_H * H.sum() + 0.5 * l2_W * np.sum(W ** 2))
    return W, H, np.array(objective)


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 1.5, 2.0])
@pytest.mark.parametrize("blocks", [False, True])
def test_block_sweep_equals_plain_alternating_updates(beta, blocks, monkeypatch):
    # the solver sweeps column blocks of V (H update of a block, then the block's share of
    # the next W update); with tiny blocks (16 frames, a partial last block, two thread
    # groups on two cores) it must still be the plain alternating MU of the whole matrices
    from dsp_separate.separators import nmf as nmf_module

    if blocks:
        monkeypatch.setattr(nmf_module, "_BLOCK_BYTES", 16 * 40 * 8)
        monkeypatch.setattr(nmf_module, "_MIN_BLOCKS_PER_THREAD", 1)
        assert nmf_module._sweep_plan(40, 100, 8)[0] == 16
    V = random_v(13, shape=(40, 100), zeros=True)
    rng = np.random.default_rng(14)
    W0, H0 = rng.random((40, 5)) + 0.1, rng.random((5, 100)) + 0.1
    free = np.array([0, 2, 3, 4])
    W, H, info = ds.nmf(V, W=W0, H=H0, beta=beta, max_iter=7, tol=0, fixed_W_columns=[1],
                        l1_H=0.05, l2_W=0.2)
    Wr, Hr, obj = reference_mu(V, W0, H0, beta, 7, free, 0.05, 0.2)
    np.testing.assert_allclose(W, Wr, rtol=1e-10)
    np.testing.assert_allclose(H, Hr, rtol=1e-10)
    np.testing.assert_allclose(info["objective"], obj, rtol=1e-10)
    np.testing.assert_array_equal(W[:, 1], W0[:, 1])
    # H alone (update_W=False) and W alone (update_H=False)
    _, H1, _ = ds.nmf(V, W=W0, H=H0, beta=beta, max_iter=3, tol=0, update_W=False)
    np.testing.assert_allclose(H1, reference_mu(V, W0, H0, beta, 3, [], 0, 0)[1], rtol=1e-10)
    W2, H2, _ = ds.nmf(V, W=W0, H=H0, beta=beta, max_iter=3, tol=0, update_H=False)
    Wr2 = W0.copy()
    for _ in range(3):
        Wr2 = reference_mu(V, Wr2, H0, beta, 1, np.arange(5), 0, 0)[0]
    np.testing.assert_allclose(W2, Wr2, rtol=1e-10)
    np.testing.assert_array_equal(H2, H0)


def test_float32_is_computed_in_float32_and_close_to_float64():
    V = random_v(6)
    W64, H64, _ = ds.nmf(V, 4, max_iter=50, tol=0, random_state=0)
    W32, H32, info = ds.nmf(V.astype(np.float32), 4, max_iter=50, tol=0, random_state=0)
    assert W32.dtype == np.float32 and H32.dtype == np.float32
    rel = np.linalg.norm(W32 @ H32 - W64 @ H64) / np.linalg.norm(W64 @ H64)
    assert rel < 1e-3


def test_channels_share_templates():
    V = np.stack([random_v(7), random_v(8)])  # (2, F, T)
    W, H, info = ds.nmf(V, 5, max_iter=30, tol=0, random_state=0)
    assert W.shape == (40, 5) and H.shape == (2, 5, 60)
    # the same as factorising the frames side by side
    W2, H2, _ = ds.nmf(np.concatenate(list(V), axis=1), 5, max_iter=30, tol=0, random_state=0)
    np.testing.assert_allclose(W, W2, rtol=1e-12)
    np.testing.assert_allclose(np.concatenate(list(H), axis=1), H2, rtol=1e-12)


def test_itakura_saito_on_zeros_is_finite():
    V = random_v(9, zeros=True)
    V[:5] = 0.0
    W, H, info = ds.nmf(V, 4, beta=0.0, max_iter=50, tol=0, random_state=0)
    assert np.isfinite(info["objective"]).all() and np.isfinite(W @ H).all()


def test_l1_penalty_trades_fit_for_smaller_activations():
    V = random_v(10)
    runs = [ds.nmf(V, 8, max_iter=200, tol=0, random_state=0, normalize_W=True, l1_H=lam)
            for lam in (0.0, 0.5, 2.0)]
    l1 = [H.sum() for _, H, _ in runs]
    fit = [ds.beta_divergence(V, W @ H, 1.0) for W, H, _ in runs]
    assert l1[0] > 1.1 * l1[1] > 1.2 * l1[2]  # measured 213, 181, 134
    assert fit[0] < fit[1] < fit[2]
    for W, _, _ in runs:
        np.testing.assert_allclose(np.linalg.norm(W, axis=0), 1.0, rtol=1e-9)


def test_convergence_warning_and_info():
    V = random_v(11)
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        _, _, info = ds.nmf(V, 4, max_iter=3, tol=1e-12, random_state=0)
    assert info["n_iter"] == 3 and not info["converged"] and info["objective"].shape == (4,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, _, info = ds.nmf(V, 4, max_iter=5000, tol=1e-3, random_state=0)
    assert info["converged"] and info["n_iter"] < 5000


def test_objective_every_gives_the_same_factors_and_a_subset_of_the_objective():
    V = random_v(12)
    W1, H1, full = ds.nmf(V, 4, max_iter=25, tol=0, random_state=0)
    W10, H10, part = ds.nmf(V, 4, max_iter=25, tol=0, random_state=0, objective_every=10)
    np.testing.assert_array_equal(W1, W10)
    np.testing.assert_array_equal(H1, H10)
    np.testing.assert_array_equal(part["objective_iterations"], [0, 10, 20, 25])
    np.testing.assert_array_equal(part["objective"], full["objective"][[0, 10, 20, 25]])
    np.testing.assert_array_equal(full["objective_iterations"], np.arange(26))


@pytest.mark.parametrize("kwargs, match", [
    (dict(V=-np.ones((4, 4))), "V=.*non-negative"),
    (dict(V=np.full((4, 4), np.nan)), "V=.*finite"),
    (dict(beta=2.5), "beta=2.5"),
    (dict(beta=-0.1), "beta=-0.1"),
    (dict(n_components=0), "n_components=0"),
    (dict(n_components=7, init="nndsvda"), "n_components=7"),
    (dict(init="svd"), "init='svd'"),
    (dict(W=np.ones((3, 2))), "W=.*shape"),
    (dict(fixed_W_columns=[0]), "fixed_W_columns"),
    (dict(max_iter=0), "max_iter=0"),
    (dict(l1_H=-1.0), "l1_H=-1.0"),
    (dict(update_H=False), "update_H=False"),
    (dict(objective_every=0), "objective_every=0"),
])
def test_bad_input_is_a_parameter_error(kwargs, match):
    args = dict(V=random_v(0, shape=(6, 5)), n_components=2)
    args.update(kwargs)
    V = args.pop("V")
    k = args.pop("n_components")
    with pytest.raises(ds.ParameterError, match=match):
        ds.nmf(V, k, **args)


# ---------------------------------------------------------------------------- separators
def harmonic_tone(f0, env, n_harmonics, slope, n=2 * SR):
    t = np.arange(n) / SR
    x = sum(np.sin(2 * np.pi * f0 * h * t) * h ** -slope for h in range(1, n_harmonics + 1))
    x = x * env(t)
    return x / np.sqrt(np.mean(x ** 2))


def two_tones():
    """A bright 220 Hz tone that switches on and off, a dull 660 Hz tone that decays."""
    a = harmonic_tone(220, lambda t: 0.2 + 0.8 * (np.sin(2 * np.pi * t) > 0), 12, 0.5)
    b = harmonic_tone(660, lambda t: np.exp(-4 * (t % 0.5)), 2, 2.0)
    return a, b


def best_sdrs(refs, result):
    """SI-SDR of each reference against its best-matching source (greedy, 2 sources)."""
    est = result.stack()
    scores = np.array([[ds.metrics.si_sdr(r, e) for e in est] for r in refs])
    perm = max([(0, 1), (1, 0)], key=lambda p: scores[0, p[0]] + scores[1, p[1]])
    return scores[0, perm[0]], scores[1, perm[1]]


@pytest.mark.parametrize("feature, n_components", [("mfcc", 8), ("activations", 16),
                                                     ("pitch", 8)])
def test_blind_nmf_separates_two_tones(feature, n_components):
    a, b = two_tones()
    sep = ds.BlindNMF(n_components=n_components, feature=feature, random_state=0, stft=TF)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = sep.separate(a + b, SR)
    assert result.names == ("source_0", "source_1")
    sdr_a, sdr_b = best_sdrs((a, b), result)
    assert sdr_a >= 10 and sdr_b >= 10, (sdr_a, sdr_b)


def test_template_pitch_finds_the_fundamental_not_its_octaves():
    from dsp_separate.separators.nmf import template_pitch

    f = np.arange(1025) * 44100 / 2048
    f0s = [65.4, 110.0, 261.6, 880.0]
    W = np.stack([sum(np.exp(-((f - f0 * h) / 15) ** 2) * h ** -0.5 for h in range(1, 12))
                  for f0 in f0s], axis=1)
    W[:, 1] *= np.exp(-((f - 330) / 200) ** 2)  # a strong 3rd partial, a weak fundamental
    est = template_pitch(W, sr=44100, n_fft=2048)
    np.testing.assert_allclose(np.log2(est / f0s), 0, atol=1 / 24)  # within a quarter tone


def fitted_supervised(**params):
    a, b = two_tones()
    ex_a = harmonic_tone(220, lambda t: 1.0 + 0 * t, 12, 0.5, n=SR)
    ex_b = harmonic_tone(660, lambda t: np.exp(-4 * (t % 0.5)), 2, 2.0, n=SR)
    sep = ds.SupervisedNMF(n_components=4, random_state=0, stft=TF, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sep.fit({"bright": ex_a, "dull": [ex_b, 0.5 * ex_b[::-1].copy()]}, sr=SR)
    return sep, a, b


def test_supervised_nmf_separates_two_tones_and_round_trips(tmp_path):
    sep, a, b = fitted_supervised()
    assert sep.dictionaries_.shape == (2, TF.n_freq, 4) and sep.names_ == ["bright", "dull"]
    np.testing.assert_allclose(np.linalg.norm(sep.dictionaries_, axis=1), 1.0, rtol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = sep.separate(a + b, SR)
        assert result.names == ("bright", "dull")
        assert ds.metrics.si_sdr(a, result["bright"]) >= 15
        assert ds.metrics.si_sdr(b, result["dull"]) >= 15
        ds.save_model(sep, tmp_path / "dict.npz")
        again = ds.load_model(tmp_path / "dict.npz").separate(a + b, SR)
    np.testing.assert_array_equal(again["bright"], result["bright"])


def test_supervised_nmf_free_components_are_the_residual():
    sep, a, b = fitted_supervised(n_free=2)
    noise = 0.3 * np.random.default_rng(0).standard_normal(a.size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = sep.separate(a + b + noise, SR)
    assert result.names == ("bright", "dull", "residual")
    np.testing.assert_allclose(result.stack().sum(axis=0), a + b + noise, atol=1e-6)
    assert np.std(result["residual"]) > 0


def test_supervised_nmf_bad_input():
    sep, a, b = fitted_supervised()
    with pytest.raises(ds.ParameterError, match="sr=16000"):
        sep.separate(a + b, 16000)
    fresh = ds.SupervisedNMF(stft=TF)
    with pytest.raises(ds.NotFittedError, match="fit"):
        fresh.separate(a, SR)
    with pytest.raises(ds.ParameterError, match="examples=.*non-empty"):
        fresh.fit({}, sr=SR)
    with pytest.raises(ds.ParameterError, match="silent"):
        fresh.fit({"x": np.zeros(SR)}, sr=SR)
    with pytest.raises(ds.ParameterError, match="finite"):
        fresh.fit({"x": np.full(SR, np.nan)}, sr=SR)
    with pytest.raises(ds.ParameterError, match="sr=None"):
        fresh.fit({"x": a})
    with pytest.raises(ds.ParameterError, match="residual"):
        ds.SupervisedNMF(n_free=1, stft=TF).fit({"residual": a}, sr=SR)
    with pytest.raises(ds.ParameterError, match="n_components=3: must be at least"):
        ds.BlindNMF(n_sources=4, n_components=3).separate(a, SR)


# ---------------------------------------------------------------------------- score-informed
def score_voice(notes, n_harmonics, slope, decay, n=2 * SR):
    """A voice playing ``notes`` (onset_s, offset_s, midi) with decaying harmonic tones."""
    t = np.arange(n) / SR
    x = np.zeros(n)
    for on, off, p in notes:
        f0 = 440.0 * 2 ** ((p - 69) / 12)
        m = (t >= on) & (t < off)
        tt = t[m] - on
        env = np.exp(-decay * tt) * np.minimum(1, tt / 0.01) * np.minimum(1, (off - t[m]) / 0.01)
        x[m] += env * sum(np.sin(2 * np.pi * h * f0 * tt) * h ** -slope
                          for h in range(1, n_harmonics + 1))
    return x / np.sqrt(np.mean(x ** 2))


#: Two voices whose notes overlap in time and share partials (D4's 3rd = A4's 2nd).
NOTES_A = [(0.0, 0.5, 60), (0.5, 1.0, 62), (1.0, 2.0, 65)]
NOTES_B = [(0.25, 1.25, 69), (1.25, 2.0, 67)]


def score_pair():
    return score_voice(NOTES_A, 10, 1.0, 3.0), score_voice(NOTES_B, 4, 2.0, 1.0)


def test_score_nmf_separates_voices_from_their_notes():
    a, b = score_pair()
    sep = ds.ScoreNMF(stft=TF)
    result = sep.separate(a + b, SR, notes={"a": NOTES_A, "b": np.array(NOTES_B)})
    assert result.names == ("a", "b")
    sdr_a, sdr_b = ds.metrics.si_sdr(a, result["a"]), ds.metrics.si_sdr(b, result["b"])
    assert sdr_a >= 15 and sdr_b >= 15, (sdr_a, sdr_b)
    # the score carries the separation: the voices' notes swapped give the other voice
    swapped = sep.separate(a + b, SR, notes={"a": NOTES_B, "b": NOTES_A})
    assert ds.metrics.si_sdr(a, swapped["a"]) < 0 and ds.metrics.si_sdr(b, swapped["b"]) < 0
    # stereo: channels share the templates, each has its own activations
    y = np.stack([a + 0.5 * b, 0.5 * a + b])
    stereo = sep.separate(y, SR, notes={"a": NOTES_A, "b": NOTES_B})
    assert np.all(ds.metrics.si_sdr(np.stack([a, 0.5 * a]), stereo["a"]) >= 15)
    assert np.all(ds.metrics.si_sdr(np.stack([0.5 * b, b]), stereo["b"]) >= 15)


def test_score_nmf_models_are_zero_outside_the_notes():
    """The multiplicative updates keep the score's zeros: no activation outside a note's
    span (plus tolerances), no template energy away from its partials."""
    from dsp_separate.separators.nmf import harmonic_templates, score_nmf_models

    a, b = score_pair()
    S = np.abs(TF.forward(a + b))
    notes = {"a": np.array(NOTES_A, float), "b": np.array(NOTES_B, float)}
    m_a, m_b = score_nmf_models(S, notes, sr=SR, stft=TF, onset_tolerance=0.05,
                                offset_tolerance=0.1, max_iter=50)
    times = TF.frame_times(S.shape[-1], SR)
    silent_b = times < 0.25 - 0.05  # voice b starts at 0.25 s
    assert np.all(m_b[:, silent_b] == 0) and np.all(m_b[:, ~silent_b].sum(axis=0) > 0)
    assert m_a.min() >= 0 and np.all(m_a.sum(axis=0) > 0)  # voice a plays throughout
    # only the partial bands of b's two pitches carry energy
    comb = harmonic_templates([67, 69], TF.bin_frequencies(SR)).sum(axis=1) > 0
    assert np.all(m_b[~comb] == 0) and m_b[comb].sum() > 0


def test_harmonic_templates_and_activations():
    from dsp_separate.separators.nmf import harmonic_templates, score_activations

    freqs = TF.bin_frequencies(SR)  # 7.8125 Hz bins
    W = harmonic_templates([57, 81], freqs, n_harmonics=4, tolerance=0.5)
    np.testing.assert_allclose(np.linalg.norm(W, axis=0), 1.0)
    for k, f0 in enumerate((220.0, 880.0)):
        on = freqs[W[:, k] > 0]
        # every lit bin is within a partial's band; every partial below Nyquist is lit
        dist = np.min(np.abs(on[:, None] - f0 * np.arange(1, 5)[None]), axis=1)
        assert np.all(dist <= np.maximum(f0 * 4 * (2 ** (0.5 / 12) - 1), 7.8125) + 1e-9)
        assert all(np.any(np.abs(on - f0 * h) < 7.8125) for h in range(1, 5) if f0 * h < 4000)
    H = score_activations(np.array([[0.5, 1.0, 57.0], [1.5, 1.6, 57.0]]), np.array([57.0]),
                          np.arange(20) / 10, onset_tolerance=0.1, offset_tolerance=0.2)
    assert np.flatnonzero(H[0]).tolist() == [4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18]


def test_score_nmf_bad_notes():
    a, b = score_pair()
    sep = ds.ScoreNMF(stft=TF)
    for notes, match in [
        (None, "notes=None: ScoreNMF needs the score"),
        ({}, "notes=.*non-empty dict"),
        ([(0, 1, 60)], "notes=.*dict"),
        ({"a": [(0, 1, 60)], 3: [(0, 1, 62)]}, "source name 3"),
        ({"a": [(0, 1)]}, r"notes\['a'\]: has shape \(1, 2\)"),
        ({"a": [(0, np.nan, 60)]}, "finite"),
        ({"a": [(-0.5, 1, 60)]}, "onset -0.5 s < 0"),
        ({"a": [(1.0, 1.0, 60)]}, r"notes\['a'\]\[0\]: offset 1 s must be after"),
        ({"a": [(2.5, 3.0, 60)]}, "onset 2.5 s is outside the signal"),
        ({"a": [(0, 1, 128)]}, "MIDI pitch 128 must be in"),
        ({"a": [(0, 1, 120)]}, "below the Nyquist"),
        ({"a": [("x", 1, 60)]}, "must be numbers"),
    ]:
        with pytest.raises(ds.ParameterError, match=match):
            sep.separate(a + b, SR, notes=notes)
    with pytest.raises(ds.ParameterError, match="takes only notes="):
        sep.separate(a, SR, notes={"a": NOTES_A}, references=[a])
    with pytest.raises(ds.ParameterError, match="pitch_tolerance=0"):
        ds.ScoreNMF(pitch_tolerance=0).separate(a, SR, notes={"a": NOTES_A})
    # offsets past the end are clipped; a voice without notes gets a silent source
    notes = {"a": [(0.0, 9.0, 60)], "rest": np.zeros((0, 3))}
    result = sep.separate(a, SR, notes=notes)
    assert result.names == ("a", "rest") and np.all(np.isfinite(result["rest"]))
    np.testing.assert_allclose(result["a"] + result["rest"], a, atol=1e-9)


def _vlq(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _chunk(tag, body):
    return tag + len(body).to_bytes(4, "big") + body


def test_midi_notes_reads_format_1_with_tempo_changes(tmp_path):
    from dsp_separate.separators.nmf import midi_notes

    # track 0: tempo map, 120 bpm, then 60 bpm from tick 960 (2 quarters at 480 ticks)
    tempo = (_vlq(0) + b"\xff\x51\x03" + (500000).to_bytes(3, "big")
             + _vlq(960) + b"\xff\x51\x03" + (1000000).to_bytes(3, "big")
             + _vlq(0) + b"\xff\x2f\x00")
    # track 1: C4 0-480, running-status E4 480-1440 (note-on velocity 0 as note-off),
    # a sysex and a program change in between, channel 1 G4 960 to the end of the track
    notes = (_vlq(0) + b"\xc0\x28" + _vlq(0) + b"\x90\x3c\x64" + _vlq(480) + b"\x80\x3c\x00"
             + _vlq(0) + b"\x90\x40\x50" + _vlq(0) + b"\xf0\x02\x7e\xf7"
             + _vlq(480) + b"\x91\x43\x40" + _vlq(480) + b"\x90\x40\x00"
             + _vlq(480) + b"\xff\x2f\x00")
    header = _chunk(b"MThd", (1).to_bytes(2, "big") + (2).to_bytes(2, "big")
                    + (480).to_bytes(2, "big"))
    path = tmp_path / "score.mid"
    path.write_bytes(header + _chunk(b"MTrk", tempo) + _chunk(b"MTrk", notes))
    # ticks -> s: 0.5 s per quarter up to tick 960 (1 s), then 1 s per quarter
    np.testing.assert_allclose(midi_notes(path), [[0.0, 0.5, 60], [0.5, 2.0, 64],
                                                   [1.0, 3.0, 67]])
    np.testing.assert_allclose(midi_notes(path, channel=1), [[1.0, 3.0, 67]])
    assert midi_notes(path, track=0).shape == (0, 3)
    with pytest.raises(ds.ParameterError, match="track=2"):
        midi_notes(path, track=2)
    with pytest.raises(ds.ParameterError, match="channel=16"):
        midi_notes(path, channel=16)
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"RIFF....WAVE")
    with pytest.raises(ds.AudioFileError, match="bad.mid: not a standard MIDI file"):
        midi_notes(bad)
    with pytest.raises(ds.AudioFileError, match="no such MIDI file"):
        midi_notes(tmp_path / "missing.mid")


# ---------------------------------------------------------------------------- NMFD
def drum_pair():
    """A falling-pitch 'kick' and a noisy 'hi-hat' struck at known times (8 kHz, 2 s)."""
    rng = np.random.default_rng(0)
    n = 2 * SR
    tt = np.arange(int(0.15 * SR)) / SR
    kick = np.sin(2 * np.pi * (150 * tt - 300 * tt ** 2)) * np.exp(-25 * tt)
    hat = np.convolve(rng.standard_normal(tt.size), [1, -1], "same") * np.exp(-60 * tt)

    def strike(times, shape):
        x = np.zeros(n)
        for t0 in times:
            i = int(t0 * SR)
            m = min(shape.size, n - i)
            x[i:i + m] += shape[:m]
        return x / np.sqrt(np.mean(x ** 2))

    return (strike([0.0, 0.5, 1.0, 1.25, 1.5], kick),
            strike([0.25, 0.75, 1.0, 1.5, 1.75, 1.875], hat))


def test_nmfd_objective_never_increases_and_templates_are_unit_norm():
    a, b = drum_pair()
    V = np.abs(ds.STFT(n_fft=512, hop_length=128).forward(a + b))
    V_copy = V.copy()
    W, H, info = ds.nmfd(V, 2, 6, max_iter=60, tol=0, random_state=0)
    obj = info["objective"]
    assert W.shape == (6, V.shape[0], 2) and H.shape == (2, V.shape[1])
    assert info["n_iter"] == 60 and np.all(np.diff(obj) <= 1e-12 * obj[0])
    assert obj[-1] < 0.05 * obj[0]
    np.testing.assert_allclose(np.sqrt(np.square(W).sum(axis=(0, 1))), 1.0)
    np.testing.assert_array_equal(V, V_copy)
    # a template of one frame is plain KL-NMF: the same objective as ds.nmf's
    W1, H1, _ = ds.nmfd(V, 2, 1, max_iter=30, tol=0, random_state=0)
    assert ds.beta_divergence(V, W1[0] @ H1, 1.0) == pytest.approx(
        ds.nmfd(V, 2, 1, max_iter=30, tol=0, random_state=0)[2]["objective"][-1], rel=1e-9)


def test_nmfd_separates_two_drums():
    a, b = drum_pair()
    sep = ds.NMFD(n_sources=2, n_template_frames=8, random_state=0,
                  stft=ds.STFT(n_fft=512, hop_length=128))
    result = sep.separate(a + b, SR)
    assert result.names == ("source_0", "source_1")
    sdr_a, sdr_b = best_sdrs((a, b), result)
    assert sdr_a >= 15 and sdr_b >= 15, (sdr_a, sdr_b)
    # source_0 is the lower (kick), by spectral centroid
    assert ds.metrics.si_sdr(a, result["source_0"]) == pytest.approx(sdr_a)


def test_nmfd_bad_input():
    V = np.ones((8, 10))
    with pytest.raises(ds.ParameterError, match="n_template_frames=0"):
        ds.nmfd(V, 2, 0)
    with pytest.raises(ds.ParameterError, match="V"):
        ds.nmfd(-V, 2, 3)
    with pytest.raises(ds.ParameterError, match=r"W=.*\(3, 8, 2\)"):
        ds.nmfd(V, 2, 3, W=np.ones((3, 8, 3)))
    with pytest.raises(ds.ParameterError, match="n_sources=0"):
        ds.NMFD(n_sources=0).separate(np.zeros(4000), SR)
    with pytest.warns(ConvergenceWarning, match="nmfd stopped at max_iter=2"):
        ds.nmfd(np.random.default_rng(0).random((8, 10)), 2, 3, max_iter=2, random_state=0)


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 1.5, 2.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_all_zero_input_stays_finite(beta, dtype):
    # all-zero V: with a floor of the dtype's tiny, beta < 1 overflowed (H inf, NaN masks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ds.ConvergenceWarning)
        W, H, info = ds.nmf(np.zeros((10, 5), dtype), 2, beta=beta, max_iter=300, tol=0,
                            random_state=0)
    assert np.isfinite(W).all() and np.isfinite(H).all()
    assert np.isfinite(info["objective"]).all()
    r = ds.BlindNMF(beta=beta, n_components=4, max_iter=5, random_state=0).separate(
        np.zeros(8000, dtype), 8000)
    assert all(np.array_equal(v, np.zeros(8000, dtype)) for v in r.values())
