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


@pytest.mark.parametrize("feature, n_components", [("mfcc", 8), ("activations", 16)])
def test_blind_nmf_separates_two_tones(feature, n_components):
    a, b = two_tones()
    sep = ds.BlindNMF(n_components=n_components, feature=feature, random_state=0, stft=TF)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = sep.separate(a + b, SR)
    assert result.names == ("source_0", "source_1")
    sdr_a, sdr_b = best_sdrs((a, b), result)
    assert sdr_a >= 10 and sdr_b >= 10, (sdr_a, sdr_b)


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
