"""Masks from source models: values, edge cases, errors."""

import numpy as np
import pytest

import dsp_separate as ds


def test_ratio_masks_values_and_sum(rng):
    models = rng.random((3, 4, 5, 6))
    for p in (0.5, 1.0, 2.0, 7.0):
        masks = ds.ratio_masks(models, power=p)
        expected = models**p / (models**p).sum(axis=0)
        np.testing.assert_allclose(masks, expected, rtol=1e-12)
        np.testing.assert_allclose(masks.sum(axis=0), 1.0, rtol=1e-12)


def test_ratio_masks_large_power_does_not_overflow():
    models = np.array([[1e200, 1.0], [1e199, 2.0]])
    with np.errstate(all="raise"):
        masks = ds.ratio_masks(models, power=50)
    np.testing.assert_allclose(masks[:, 0], [1.0, 1e-50], rtol=1e-9, atol=0)
    np.testing.assert_allclose(masks[:, 1], [1 / (1 + 2.0**50), 2.0**50 / (1 + 2.0**50)])


def test_ratio_masks_split_silent_bins_evenly():
    models = np.zeros((4, 2, 3), dtype=np.float32)
    models[1, 0, 0] = 2.0
    with np.errstate(all="raise"):
        masks = ds.ratio_masks(models)
    assert masks.dtype == np.float32
    assert masks[1, 0, 0] == 1.0 and masks[0, 0, 0] == 0.0
    np.testing.assert_array_equal(masks[:, 1, 2], [0.25] * 4)


def test_binary_masks_and_inf_power(rng):
    models = rng.random((3, 10, 10))
    masks = ds.binary_masks(models)
    assert set(np.unique(masks)) == {0.0, 1.0}
    np.testing.assert_array_equal(masks.sum(axis=0), 1.0)
    np.testing.assert_array_equal(masks.argmax(axis=0), models.argmax(axis=0))
    np.testing.assert_array_equal(ds.ratio_masks(models, power=np.inf), masks)
    ties = ds.binary_masks(np.ones((2, 3)))
    np.testing.assert_array_equal(ties, [[1, 1, 1], [0, 0, 0]])


def test_softmask_matches_formula_and_zero_rules():
    X = np.array([3.0, 0.0, 1.0])
    R = np.array([1.0, 0.0, 1.0])
    np.testing.assert_allclose(ds.softmask(X, R, 2.0), [0.9, 0.0, 0.5])
    np.testing.assert_allclose(ds.softmask(X, R, 2.0, split_zeros=True), [0.9, 0.5, 0.5])
    np.testing.assert_array_equal(ds.softmask(X, R, np.inf), [1.0, 0.0, 0.0])


def test_apply_masks_broadcasts_and_keeps_dtype(rng):
    X = (rng.standard_normal((2, 5, 7)) + 1j * rng.standard_normal((2, 5, 7))).astype(
        np.complex64
    )
    masks = ds.ratio_masks(rng.random((3, 2, 5, 7)).astype(np.float32))
    images = ds.apply_masks(X, masks)
    assert images.shape == (3, 2, 5, 7) and images.dtype == np.complex64
    np.testing.assert_allclose(images.sum(axis=0), X, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: ds.ratio_masks(np.array([[-1.0, 1.0]])), "non-negative"),
        (lambda: ds.ratio_masks(np.array([[np.nan, 1.0]])), "finite"),
        (lambda: ds.ratio_masks(np.ones((2, 2)), power=0), "power=0"),
        (lambda: ds.ratio_masks(np.ones((2, 2)) + 0j), "real"),
        (lambda: ds.ratio_masks([np.ones(2), np.ones(3)]), "differ in shape"),
        (lambda: ds.softmask(np.ones(2), np.ones(3)), "shape"),
        (lambda: ds.apply_masks(np.ones((4, 4), complex), np.ones((2, 3, 4))), "broadcastable"),
    ],
)
def test_errors_name_the_argument(call, match):
    with pytest.raises(ds.ParameterError, match=match):
        call()


def test_inputs_are_not_modified(rng):
    models = rng.random((2, 3, 4))
    keep = models.copy()
    ds.ratio_masks(models, power=2)
    ds.binary_masks(models)
    np.testing.assert_array_equal(models, keep)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("power", [0.5, 1.0, 2.0, 3.0])
def test_two_source_fast_path_equals_general_rule(rng, dtype, power):
    # the 2-source kernel path against the general per-bin rule (ratio_gain), reached by
    # adding a third, all-zero model (its term is 0, so the first two masks are unchanged)
    models = (rng.random((2, 3, 40, 50)) * 10.0 ** rng.uniform(-30, 30, (2, 3, 40, 50)))
    models[:, 0, :5] = 0.0  # silent bins
    models[0, 1, :5] = 0.0  # one model zero
    models[:, 1, 5:10] = 7.0  # ties
    models = models.astype(dtype)
    fast = ds.ratio_masks(models, power=power)
    general = ds.ratio_masks(np.concatenate([models, np.zeros_like(models[:1])]), power=power)
    assert fast.dtype == dtype and general.dtype == dtype
    loud = models.max(axis=0) > 0
    ulps = 4 * np.finfo(dtype).eps
    np.testing.assert_allclose(fast[:, loud], general[:2, loud], rtol=ulps, atol=ulps)
    np.testing.assert_array_equal(fast[:, ~loud], 0.5)  # silent bins split 0.5 / 0.5
    np.testing.assert_array_equal(fast[0, 1, :5], 0.0)  # the zero model gets nothing
    np.testing.assert_allclose(fast[1, 1, :5], 1.0, rtol=0, atol=ulps)
    np.testing.assert_allclose(fast[:, 1, 5:10], 0.5, rtol=0, atol=ulps)
    np.testing.assert_allclose(fast.sum(axis=0), 1.0, rtol=0, atol=ulps)


def test_two_source_fast_path_threads_cover_every_bin(rng):
    # large enough for the shared thread pool: every column must be written
    models = rng.random((2, 1 << 18)).astype(np.float32)
    masks = ds.ratio_masks(models, power=2)
    expected = models.astype(np.float64) ** 2 / (models.astype(np.float64) ** 2).sum(axis=0)
    np.testing.assert_allclose(masks, expected, rtol=1e-6)


def test_unstacked_two_source_masks_equal_the_stacked_rule(rng):
    # the path for a caller that holds two models (no stack): same masks as ratio_masks
    from dsp_separate.masks import _ratio_masks_of

    for dtype in (np.float32, np.float64):
        a, b = rng.random((2, 3, 70, 80)).astype(dtype)
        a[0, :3] = 0.0
        b[0, :3] = 0.0
        for p in (1.0, 2.0, 0.7, np.inf):
            masks = _ratio_masks_of([a, b], p)
            assert masks.dtype == dtype and masks.shape == (2, 3, 70, 80)
            expected = ds.ratio_masks(np.stack([a, b]), power=p)
            np.testing.assert_array_equal(masks, expected)
            a2, b2 = a.copy(), b.copy()
            over = _ratio_masks_of([a2, b2], p, overwrite=True)
            np.testing.assert_array_equal(np.stack(list(over)), expected)
            if not np.isinf(p):  # written over the models themselves
                assert over[0] is a2 and over[1] is b2
