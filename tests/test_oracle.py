"""Oracle separators: masks, the oracle Wiener filter, and the orderings theory predicts."""

import numpy as np
import pytest
from sklearn.base import clone

import dsp_separate as ds
from dsp_separate import metrics
from dsp_separate.exceptions import ParameterError
from dsp_separate.separators.oracle import (
    IdealBinaryMask,
    IdealRatioMask,
    MixtureAsEstimate,
    OracleWiener,
    PhaseSensitiveMask,
    oracle_wiener,
    phase_sensitive_masks,
)

SR = 16000
ORACLES = [IdealBinaryMask, IdealRatioMask, PhaseSensitiveMask, OracleWiener, MixtureAsEstimate]


def _three_sources(seconds=3.0, seed=0):
    """Stereo images (3, 2, n) of a harmonic tone (left), noise bursts (right), a chirp
    (centre), float32 at 16 kHz."""
    rng = np.random.default_rng(seed)
    n = int(SR * seconds)
    t = np.arange(n) / SR
    f0 = np.where(t < seconds / 2, 220.0, 330.0)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    tone = sum(0.5 / k * np.sin(k * phase) for k in range(1, 9))
    env = np.zeros(n)
    burst = int(0.15 * SR)
    for start in np.arange(0.1, seconds, 0.4):
        i = int(start * SR)
        m = min(burst, n - i)
        env[i : i + m] = np.exp(-np.arange(m) / (0.04 * SR))
    noise = 0.8 * env * rng.standard_normal(n)
    freq = 300 * (4000 / 300) ** (t / seconds)
    chirp = 0.4 * np.sin(2 * np.pi * np.cumsum(freq) / SR)
    dry = np.stack([tone, noise, chirp])
    pans = np.array([[0.9, 0.3], [0.25, 0.95], [0.6, 0.6]])  # [source, channel]
    return (pans[:, :, None] * dry[:, None, :]).astype(np.float32)


@pytest.fixture(scope="module")
def stereo():
    images = _three_sources()
    names = ["tone", "noise", "chirp"]
    return images, dict(zip(names, images, strict=True)), images.sum(axis=0)


def _sdr(images, result, names):
    """Image SDR per source: ||s||^2 / ||s_hat - s||^2 over both channels, in dB."""
    est = np.stack([result[n] for n in names])
    return metrics.snr(images.reshape(len(names), -1), est.reshape(len(names), -1))


# ----------------------------------------------------------------------------------------
# theory


@pytest.mark.slow  # BSS Eval of five oracles on stereo: ~25 s
def test_orderings_on_a_stereo_mixture_of_known_sources(stereo):
    images, refs, y = stereo
    names = list(refs)
    sdr = {
        key: _sdr(images, sep.separate(y, SR, references=refs), names)
        for key, sep in [
            ("mixture", MixtureAsEstimate()),
            ("ibm", IdealBinaryMask()),
            ("irm1", IdealRatioMask(power=1)),
            ("irm2", IdealRatioMask(power=2)),
            ("psm", PhaseSensitiveMask()),
            ("mwf", OracleWiener()),
        ]
    }
    # measured (dB, tone/noise/chirp): mixture 2.8/-8.4/-5.5, irm1 21.3/15.2/16.4,
    # irm2 22.5/16.7/17.7, psm 23.1/17.6/18.4, ibm 22.4/16.6/17.5, mwf 38.9/32.8/29.7
    assert np.all(sdr["mixture"] < 3.0)
    assert np.all(sdr["irm1"] > sdr["mixture"] + 10)
    assert np.all(sdr["irm2"] > sdr["irm1"] + 0.5)
    assert np.all(sdr["mwf"] > sdr["irm2"] + 8)  # the spatial filter separates overlaps
    assert np.all(sdr["psm"] > sdr["irm2"] + 0.3)
    assert np.all(sdr["ibm"] > sdr["mixture"] + 10)
    assert np.all(sdr["irm1"] > 14) and np.all(sdr["mwf"] > 28)
    # the same ordering with SI-SDR
    si = {
        key: metrics.si_sdr(
            images.reshape(3, -1),
            sep.separate(y, SR, references=refs).stack().reshape(3, -1),
        )
        for key, sep in [("irm1", IdealRatioMask(power=1)), ("irm2", IdealRatioMask()),
                         ("mwf", OracleWiener())]
    }
    assert np.all(si["irm2"] > si["irm1"]) and np.all(si["mwf"] > si["irm2"] + 8)


def test_oracle_wiener_on_mono_is_the_power_ratio_mask(stereo):
    images, _, _ = stereo
    refs = images[:, 0, :]
    y = refs.sum(axis=0)
    a = OracleWiener().separate(y, SR, references=refs).stack()
    b = IdealRatioMask(power=2).separate(y, SR, references=refs).stack()
    assert np.max(np.abs(a - b)) < 1e-4  # measured 6.9e-6 (float32, eps=1e-8)


def test_oracle_wiener_recovers_rank_one_images_exactly():
    rng = np.random.default_rng(3)
    s = rng.standard_normal((2, 129, 50)) + 1j * rng.standard_normal((2, 129, 50))
    pan = np.array([[1.0, 0.4], [0.5, 1.0]])
    S = pan[:, :, None, None] * s[:, None]
    X = S.sum(axis=0)
    est = oracle_wiener(X, S)
    assert est.shape == S.shape and est.dtype == np.complex128
    assert np.sum(np.abs(est - S) ** 2) / np.sum(np.abs(S) ** 2) < 1e-10
    # a ratio mask of the same sources is far from exact
    masks = ds.ratio_masks(np.abs(S), power=2)
    assert np.sum(np.abs(masks * X - S) ** 2) / np.sum(np.abs(S) ** 2) > 0.05
    est32 = oracle_wiener(X.astype(np.complex64), S.astype(np.complex64))
    assert est32.dtype == np.complex64
    assert np.allclose(est32.sum(axis=0), X, atol=1e-5)


def test_oracle_wiener_three_channels_and_batch():
    rng = np.random.default_rng(4)
    s = rng.standard_normal((3, 2, 33, 20)) + 1j * rng.standard_normal((3, 2, 33, 20))
    mix = rng.uniform(0.2, 1.0, size=(3, 3))  # [source, channel], well conditioned
    S = mix[:, None, :, None, None] * s[:, :, None]  # (3 src, 2 batch, 3 ch, 33, 20)
    X = S.sum(axis=0)
    est = oracle_wiener(X, S)
    assert est.shape == (3, 2, 3, 33, 20)
    assert np.sum(np.abs(est - S) ** 2) / np.sum(np.abs(S) ** 2) < 1e-8
    assert np.allclose(est.sum(axis=0), X, atol=1e-12)


# ----------------------------------------------------------------------------------------
# masks


def test_phase_sensitive_masks_truncation_and_renormalisation():
    # raw PSM: [2, -1] -> truncated [1, 0] (sum 1); [2/3, 2/3, -1/3] -> [1/2, 1/2, 0]
    S = np.array([[[2.0 + 0j, 1.0]], [[-1.0, 1.0]], [[0.0, -0.5]]])  # 3 src, 1 x 2 bins
    X = S.sum(axis=0)
    m = phase_sensitive_masks(X, S)
    np.testing.assert_allclose(m[:, 0, 0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(m[:, 0, 1], [0.5, 0.5, 0.0])
    # no truncation needed: the raw mask Re(S X*) / |X|^2
    S2 = np.array([[[3.0 + 0j]], [[1j]]])
    np.testing.assert_allclose(phase_sensitive_masks(S2.sum(axis=0), S2)[:, 0, 0], [0.9, 0.1])
    # a silent bin is split evenly
    np.testing.assert_allclose(
        phase_sensitive_masks(np.zeros((1, 1), complex), np.zeros((2, 1, 1), complex))[:, 0, 0],
        [0.5, 0.5],
    )
    with pytest.raises(ParameterError, match="S=.*n_src"):
        phase_sensitive_masks(X, S[:, :, :1])


def test_mask_oracles_give_masks_in_unit_interval_summing_to_one(stereo):
    _, refs, y = stereo
    seps = [IdealBinaryMask(), IdealRatioMask(power=1), IdealRatioMask(), PhaseSensitiveMask()]
    for sep in seps:
        result = sep.separate(y, SR, references=refs, keep="masks")
        masks = np.stack([result.masks[n] for n in refs])
        assert result.names == tuple(refs)
        assert masks.min() >= 0 and masks.max() <= 1
        np.testing.assert_allclose(masks.sum(axis=0), 1.0, atol=1e-6)
    ibm = IdealBinaryMask().separate(y, SR, references=refs, keep="masks")
    assert set(np.unique(np.stack(list(ibm.masks.values())))) == {0.0, 1.0}
    inf = IdealRatioMask(power=np.inf).separate(y, SR, references=refs, keep="masks")
    for n in refs:
        np.testing.assert_array_equal(ibm.masks[n], inf.masks[n])


@pytest.mark.parametrize("cls", ORACLES)
def test_sources_sum_to_the_mixture_unless_declared(cls, stereo):
    _, refs, y = stereo
    result = cls().separate(y, SR, references=refs)
    assert result.names == tuple(refs)
    for n in refs:
        assert result[n].shape == y.shape and result[n].dtype == np.float32
    total = result.stack().sum(axis=0)
    if cls.tags.sums_to_mixture:
        np.testing.assert_allclose(total, y, atol=2e-5)
    else:
        assert cls is MixtureAsEstimate
        for n in refs:
            np.testing.assert_allclose(result[n], y, atol=2e-5)
        np.testing.assert_allclose(total, 3 * y, atol=5e-5)


# ----------------------------------------------------------------------------------------
# the separator contract


@pytest.mark.parametrize("cls", ORACLES)
def test_registry_params_and_reference_forms(cls):
    registry = ds.available_separators()
    assert registry[cls.name] is cls and cls.tags.needs_references and cls.summary
    sep = cls()
    assert clone(sep).get_params() == sep.get_params()
    rng = np.random.default_rng(5)
    refs = rng.standard_normal((2, 2, 4000))  # float64 references
    y = refs.sum(axis=0).astype(np.float32)
    before = refs.copy(), y.copy()
    result = sep.separate(y, 8000, references=refs)
    assert result.names == ("source_0", "source_1")
    assert result["source_0"].dtype == np.float32
    np.testing.assert_array_equal(refs, before[0])
    np.testing.assert_array_equal(y, before[1])


@pytest.mark.parametrize("cls", ORACLES)
def test_bad_references_are_refused(cls):
    y = np.zeros((2, 1000), dtype=np.float32)
    sep = cls()
    with pytest.raises(ParameterError, match="references=None"):
        sep.separate(y, 8000)
    with pytest.raises(ParameterError, match=r"references=.*\(n_src,\) \+ y.shape"):
        sep.separate(y, 8000, references=np.zeros((2, 1000)))
    with pytest.raises(ParameterError, match=r"references\['b'\].*shape of the mixture"):
        sep.separate(y, 8000, references={"a": y, "b": y[:, :500]})
    with pytest.raises(ParameterError, match=r"references\['a'\].*finite"):
        sep.separate(y, 8000, references={"a": np.full_like(y, np.nan)})
    with pytest.raises(ParameterError, match="takes only references"):
        sep.separate(y, 8000, references={"a": y}, bogus=1)


@pytest.mark.parametrize("cls", ORACLES)
def test_silence_and_batches(cls):
    zeros = np.zeros((2, 2, 3000), dtype=np.float32)  # (batch, channel, samples)
    result = cls().separate(zeros, 8000, references=np.zeros((3,) + zeros.shape))
    out = result.stack()
    assert out.shape == (3, 2, 2, 3000) and np.all(out == 0)
    rng = np.random.default_rng(6)
    refs = rng.standard_normal((3, 2, 2, 3000)).astype(np.float32)
    y = refs.sum(axis=0)
    res = cls().separate(y, 8000, references=refs)
    assert res.stack().shape == (3, 2, 2, 3000) and np.isfinite(res.stack()).all()
    if cls.tags.sums_to_mixture:
        np.testing.assert_allclose(res.stack().sum(axis=0), y, atol=5e-5)


def test_parameters_are_checked():
    y = np.zeros(1000, dtype=np.float32)
    with pytest.raises(ParameterError, match="power=0"):
        IdealRatioMask(power=0).separate(y, 8000, references=[y])
    with pytest.raises(ParameterError, match="eps=-1"):
        OracleWiener(eps=-1.0).separate(y, 8000, references=[y])
    with pytest.raises(ParameterError, match="references=.*dict"):
        IdealBinaryMask().separate(y, 8000, references="vocals")
