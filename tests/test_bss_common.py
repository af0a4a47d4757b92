"""Projection back (dsp_separate._bss), shared by the blind separators, and Separation.info."""

import numpy as np
import pytest

import dsp_separate as ds
from dsp_separate._bss import images_from_demixing, least_squares_images


def test_least_squares_images_undo_an_instantaneous_mixture():
    rng = np.random.default_rng(0)
    S = rng.laplace(size=(2, 2000))
    A = np.array([[1.0, 0.6], [0.4, 1.0]])
    X = A @ S
    # any scaling/permutation of the true demixing gives the true images back
    W = np.diag([3.0, -0.5]) @ np.linalg.inv(A)[::-1]
    images = least_squares_images(W @ X, X)
    assert images.shape == (2, 2, 2000)
    np.testing.assert_allclose(images.sum(axis=0), X, atol=1e-10)
    np.testing.assert_allclose(images[1], np.outer(A[:, 0], S[0]), atol=1e-10)
    np.testing.assert_allclose(images[0], np.outer(A[:, 1], S[1]), atol=1e-10)


def test_least_squares_images_zero_component_gets_zero_image():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((2, 500))
    Y = np.stack([X[0] + X[1], np.zeros(500)])
    images = least_squares_images(Y, X)
    assert np.all(np.isfinite(images))
    assert np.abs(images[1]).max() == 0.0


@pytest.mark.parametrize("n_src, n_ch", [(2, 2), (2, 3)])
def test_images_from_demixing_per_bin(n_src, n_ch):
    rng = np.random.default_rng(2)
    F, T = 4, 300
    X = rng.standard_normal((n_ch, F, T)) + 1j * rng.standard_normal((n_ch, F, T))
    W = rng.standard_normal((F, n_src, n_ch)) + 1j * rng.standard_normal((F, n_src, n_ch))
    Y = np.einsum("fkm,mft->kft", W, X)
    images = images_from_demixing(Y, W)
    assert images.shape == (n_src, n_ch, F, T)
    # each image is a rank-one copy of its component: channel m = a_mk * y_k
    ratio = images[0, 1] / images[0, 0]
    np.testing.assert_allclose(ratio, ratio[:, :1] * np.ones((1, T)), rtol=1e-8)
    if n_src == n_ch:
        np.testing.assert_allclose(images.sum(axis=0), X, atol=1e-10)
        np.testing.assert_allclose(images, least_squares_images(Y, X), atol=1e-9)


def test_separation_info_defaults_to_empty_dict():
    y = np.random.default_rng(3).standard_normal(8000).astype(np.float32)
    result = ds.HPSS(kernel_size=17).separate(y, 8000)
    assert result.info == {}


@pytest.mark.parametrize("answer, stops", [(True, True), (np.True_, True), (None, False),
                                           (False, False), (1, False), (-3.5, False),
                                           ("yes", False)])
def test_only_true_stops_the_iterations(answer, stops):
    from dsp_separate._bss import stop_requested

    assert stop_requested(answer) is stops


def test_callback_returning_a_number_does_not_stop_auxiva():
    rng = np.random.default_rng(4)
    y = rng.laplace(size=(2, 8000))
    y = np.array([[1.0, 0.5], [0.3, 1.0]]) @ y
    seen = []

    def callback(iteration, state):
        seen.append(iteration)
        return state["objective"]  # a float: not a request to stop

    ds.AuxIVA(n_iter=4, callback=callback).separate(y, 8000)
    assert seen == [1, 2, 3, 4]


def test_nonfinite_message_prints_a_plain_number():
    y = np.zeros(100)
    y[7] = np.nan
    with pytest.raises(ds.ParameterError, match=r"first nan at index \(7,\)"):
        ds.HPSS().separate(y, 8000)
