"""The generic battery: every registered separator honours the separation contract.

A new separator module in ``dsp_separate/separators/`` is picked up by the registry and runs
through every check here without further work (scikit-learn's ``estimator_checks`` idea).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from sklearn.base import clone

import dsp_separate as ds
from dsp_separate import STFT

from .conftest import two_sources

SR = 8000
REGISTRY = ds.available_separators()
NAMES = sorted(REGISTRY)
SMALL_STFT = STFT(n_fft=256, hop_length=64)


def make(cls, **params):
    """An instance with a small STFT (fast tests) where the class takes one."""
    sig = cls().get_params()
    if "stft" in sig:
        params.setdefault("stft", SMALL_STFT)
    if "random_state" in sig:
        params.setdefault("random_state", 0)
    return cls(**params)


def mixture(shape_lead=(), dtype=np.float64, seed=0):
    """(mixture, references) with references of shape (2,) + mixture.shape."""
    refs = two_sources(n=SR, sr=SR, seed=seed)  # (2, n)
    gains = np.linspace(0.6, 1.0, int(np.prod(shape_lead)) or 1).reshape(shape_lead or ())
    refs = refs.reshape((2,) + (1,) * len(shape_lead) + (-1,)) * np.asarray(gains)[..., None]
    refs = np.ascontiguousarray(np.broadcast_to(refs, (2,) + tuple(shape_lead) + (SR,)))
    refs = refs.astype(dtype)
    return refs.sum(axis=0).astype(dtype), refs


def run(sep, y, refs=None):
    if type(sep).needs_references:
        return sep.separate(y, SR, references=refs)
    return sep.separate(y, SR)


def sums_to_mixture(cls) -> bool:
    return cls.sums_to_mixture


@pytest.fixture(params=NAMES)
def cls(request):
    return REGISTRY[request.param]


def test_registry_is_not_empty_and_well_formed():
    assert "hpss" in REGISTRY and "wiener" in REGISTRY
    for name, cls in REGISTRY.items():
        assert cls.name == name
        assert cls.summary and "\n" not in cls.summary
        assert cls.kind in ("mask", "filter")


@pytest.mark.parametrize("lead", [(), (2,), (2, 2)], ids=["mono", "stereo", "batch"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shapes_dtypes_sum_and_masks(cls, lead, dtype):
    y, refs = mixture(lead, dtype)
    result = run(make(cls), y, refs)
    assert len(result.names) >= 1 and list(result) == list(result.names)
    for name in result.names:
        src = result[name]
        assert src.shape == y.shape and src.dtype == y.dtype
        assert np.isfinite(src).all()
        assert result.stfts[name].shape[:-2] == y.shape[:-1]
    if sums_to_mixture(cls):
        total = result.stack().astype(np.float64).sum(axis=0)
        tol = 1e-4 if dtype == np.float32 else 1e-9
        assert np.max(np.abs(total - y)) <= tol * max(1.0, np.abs(y).max())
    if cls.kind == "mask":
        assert result.masks is not None and set(result.masks) == set(result.names)
        stacked = np.stack([result.masks[n] for n in result.names])
        assert stacked.min() >= 0.0 and stacked.max() <= 1.0 + 1e-6
        if sums_to_mixture(cls):
            np.testing.assert_allclose(stacked.sum(axis=0), 1.0, atol=1e-5)
    else:
        assert result.masks is None


def test_input_is_not_modified(cls):
    y, refs = mixture((2,), np.float32)
    y_copy, refs_copy = y.copy(), refs.copy()
    run(make(cls), y, refs)
    np.testing.assert_array_equal(y, y_copy)
    np.testing.assert_array_equal(refs, refs_copy)


@pytest.mark.parametrize("kind", ["silence", "dc"])
def test_silence_and_dc_give_finite_output(cls, kind):
    y = np.zeros((2, SR), np.float32) if kind == "silence" else np.full((2, SR), 0.5, np.float32)
    refs = np.stack([y * 0.25, y * 0.75])
    with np.errstate(all="raise"):  # no 0/0 or overflow anywhere on the way
        result = run(make(cls), y, refs)
    for name in result.names:
        assert np.isfinite(result[name]).all()
    if sums_to_mixture(cls):
        np.testing.assert_allclose(result.stack().sum(axis=0), y, atol=1e-5)


def test_same_seed_same_result_and_reuse(cls):
    y, refs = mixture((2,))
    one = make(cls)
    first = run(one, y, refs)
    second = run(one, y, refs)  # the same instance again: nothing was stored by the first call
    fresh = run(make(cls), y, refs)
    for name in first.names:
        np.testing.assert_array_equal(first[name], second[name])
        np.testing.assert_array_equal(first[name], fresh[name])


def test_get_params_set_params_clone_round_trip(cls):
    sep = make(cls)
    params = sep.get_params()
    other = cls().set_params(**params)
    assert other.get_params().keys() == params.keys()
    assert repr(other) == repr(sep)
    cloned = clone(sep)
    y, refs = mixture()
    a, b = run(sep, y, refs), run(cloned, y, refs)
    for name in a.names:
        np.testing.assert_array_equal(a[name], b[name])


def test_shared_between_threads(cls):
    sep = make(cls)
    y, refs = mixture((2,))
    expected = run(sep, y, refs)
    results = [None, None]

    def work(i):
        results[i] = run(sep, y, refs)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for res in results:
        for name in expected.names:
            np.testing.assert_array_equal(res[name], expected[name])


@pytest.mark.parametrize(
    "name", [n for n in NAMES if "wiener_iterations" in REGISTRY[n]().get_params()]
)
def test_wiener_refinement_keeps_the_contract(name):
    cls = REGISTRY[name]
    y, refs = mixture((2,), np.float32)
    result = run(make(cls, wiener_iterations=1), y, refs)
    for name in result.names:
        assert result[name].shape == y.shape and result[name].dtype == np.float32
    if sums_to_mixture(cls):
        np.testing.assert_allclose(result.stack().sum(axis=0), y, atol=1e-4)


def test_bad_audio_is_a_parameter_error(cls):
    sep = make(cls)
    y, refs = mixture()
    for bad, word in [
        (np.array([0.0, np.nan, 0.0] * 100), "finite"),
        (np.zeros(0), "empty"),
        ((y * 1000).astype(np.int16), "integer"),
    ]:
        with pytest.raises(ds.ParameterError, match=word):
            run(sep, bad, refs)
    kwargs = {"references": refs} if cls.needs_references else {}
    with pytest.raises(ds.ParameterError, match="sr="):
        sep.separate(y, 0, **kwargs)
