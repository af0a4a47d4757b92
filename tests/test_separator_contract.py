"""The generic battery: every registered separator honours the separation contract.

A new separator module in ``dsp_separate/separators/`` is picked up by the registry and runs
through every check here without further work (scikit-learn's ``estimator_checks`` idea).
The checks read the class's :class:`~dsp_separate.base.Tags` — channel counts, whether it
needs ``fit``, whether it can run block by block — instead of special-casing methods.  A
small trainable separator defined here (:class:`MeanSpectrum`) runs through the battery too,
so the ``fit`` path is exercised before the first real trained method lands.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import soundfile as sf
from sklearn.base import clone

import dsp_separate as ds
from dsp_separate import STFT
from dsp_separate._validation import MAX_AMPLITUDE
from dsp_separate.base import Masks, Models, Separator, Tags

from .conftest import two_sources

SR = 8000
SMALL_STFT = STFT(n_fft=256, hop_length=64)


class MeanSpectrum(Separator):
    """Test-only trained separator: each source's model is its mean training spectrum."""

    name = ""  # not registered
    summary = "test: ratio masks from mean training spectra"
    tags = Tags(kind="mask", requires_fit=True, streaming="bounded")
    fitted_attributes = ("templates_", "names_")

    def __init__(self, stft=None):
        self.stft = stft

    def _fit(self, examples, *, sr):
        if not isinstance(examples, dict) or not examples:
            raise ds.ParameterError("examples: must be a dict {source name: signal}")
        tf = self._transform()
        self.names_ = list(examples)
        self.templates_ = np.stack([
            np.abs(tf.forward(np.asarray(examples[n], dtype=np.float64))).reshape(
                -1, tf.n_freq, tf.num_frames(np.shape(examples[n])[-1])).mean(axis=(0, 2))
            for n in self.names_
        ])

    def source_names(self, n_channels=None, references=None):
        return tuple(self.names_)

    def context_frames(self, sr):
        return 0, 0

    def _estimate(self, X, *, y, sr, stft):
        S = np.abs(X)
        return Models({n: self.templates_[j][:, None] * S
                       for j, n in enumerate(self.names_)}, power=2.0)


class PanSplit(Separator):
    """Test-only stereo-only separator: each bin goes to the louder channel's source."""

    name = ""  # not registered
    summary = "test: left / right by inter-channel level"
    tags = Tags(kind="mask", min_channels=2, max_channels=2, streaming="bounded")

    def __init__(self, stft=None):
        self.stft = stft

    def source_names(self, n_channels=None, references=None):
        return ("left", "right")

    def context_frames(self, sr):
        return 0, 0

    def _estimate(self, X, *, y, sr, stft):
        S = np.abs(X)
        shape = S.shape
        return Models({"left": np.broadcast_to(S[..., :1, :, :], shape),
                       "right": np.broadcast_to(S[..., 1:, :, :], shape)}, power=2.0)


REGISTRY = ds.available_separators()
CLASSES = dict(REGISTRY, _mean_spectrum=MeanSpectrum, _pan_split=PanSplit)
NAMES = sorted(CLASSES)


def training_examples():
    tone, clicks = two_sources(n=SR, sr=SR, seed=3)
    return {"tone": tone, "clicks": clicks}


def make(cls, **params):
    """An instance with a small STFT (fast tests), fitted on generated examples if needed."""
    sig = cls().get_params()
    if "stft" in sig:
        params.setdefault("stft", SMALL_STFT)
    if "random_state" in sig:
        params.setdefault("random_state", 0)
    sep = cls(**params)
    if cls.tags.requires_fit:
        sep.fit(training_examples(), sr=SR)
    return sep


def accepts(cls, n_channels):
    t = cls.tags
    return t.min_channels <= n_channels and (t.max_channels is None
                                             or n_channels <= t.max_channels)


def leads(cls):
    """Input shapes the class accepts: mono (), stereo (2,), batch of stereo (2, 2)."""
    out = []
    for lead, n_ch in [((), 1), ((2,), 2), ((2, 2), 2)]:
        if accepts(cls, n_ch):
            out.append(lead)
    return out


def mixture(shape_lead=(), dtype=np.float64, seed=0):
    """(mixture, references) with references of shape (2,) + mixture.shape."""
    refs = two_sources(n=SR, sr=SR, seed=seed)  # (2, n)
    # each source has its own channel gains, so that a multichannel mixture has full rank
    # (equal gains would make every channel a multiple of one signal: a rank-deficient
    # mixture that the determined blind methods rightly refuse)
    g = np.linspace(0.6, 1.0, int(np.prod(shape_lead)) or 1)
    gains = np.stack([g, g[::-1]]).reshape((2,) + tuple(shape_lead))
    refs = refs.reshape((2,) + (1,) * len(shape_lead) + (-1,)) * gains[..., None]
    refs = np.ascontiguousarray(np.broadcast_to(refs, (2,) + tuple(shape_lead) + (SR,)))
    refs = refs.astype(dtype)
    return refs.sum(axis=0).astype(dtype), refs


#: The score of ``mixture()`` for score-informed methods (tags.needs_score): the tone's
#: fundamental is 330 Hz (MIDI 64); the clicks get a low note that covers every frame.
NOTES = {"tone": np.array([[0.0, 1.0, 64.0]]), "clicks": np.array([[0.0, 1.0, 45.0]])}


def side_inputs(cls, refs=None):
    """The per-call inputs a method's tags ask for: ``references=`` (oracles), ``notes=``."""
    if cls.tags.needs_references:
        return {"references": refs}
    if cls.tags.needs_score:
        return {"notes": NOTES}
    return {}


def run(sep, y, refs=None, **kw):
    return sep.separate(y, SR, **side_inputs(type(sep), refs), **kw)


def default_lead(cls):
    return (2,) if (2,) in leads(cls) else leads(cls)[0]


@pytest.fixture(params=NAMES)
def cls(request):
    return CLASSES[request.param]


def test_registry_is_not_empty_and_well_formed():
    assert "hpss" in REGISTRY and "wiener" in REGISTRY
    assert MeanSpectrum not in REGISTRY.values()
    for name, cls in REGISTRY.items():
        assert cls.name == name
        assert cls.summary and "\n" not in cls.summary
        assert isinstance(cls.tags, Tags)
        assert cls.tags.kind in ("mask", "filter", "time")
        assert leads(cls), f"{name} accepts none of the battery's channel counts"
        for param, choices in cls.param_choices.items():
            assert param in cls().get_params() and len(choices) >= 2


@pytest.mark.parametrize("lead", [(), (2,), (2, 2)], ids=["mono", "stereo", "batch"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shapes_dtypes_sum_and_masks(cls, lead, dtype):
    if lead not in leads(cls):
        pytest.skip(f"{cls.__name__} does not take {len(lead) and lead[-1] or 1} channel(s)")
    y, refs = mixture(lead, dtype)
    sep = make(cls)
    result = run(sep, y, refs, keep="all")
    names_of = ({"notes": NOTES} if cls.tags.needs_score else
                {"references": refs} if cls.tags.needs_references else {})
    assert result.names == sep.source_names(1 if not lead else lead[-1], **names_of)
    assert list(result) == list(result.names)
    for name in result.names:
        src = result[name]
        assert src.shape == y.shape and src.dtype == y.dtype
        assert np.isfinite(src).all()
        assert result.stfts[name].shape[:-2] == y.shape[:-1]
    if cls.tags.sums_to_mixture:
        total = result.stack().astype(np.float64).sum(axis=0)
        tol = 1e-4 if dtype == np.float32 else 1e-9
        assert np.max(np.abs(total - y)) <= tol * max(1.0, np.abs(y).max())
    if cls.tags.kind == "mask":
        assert result.masks is not None and set(result.masks) == set(result.names)
        stacked = np.stack([result.masks[n] for n in result.names])
        assert stacked.min() >= 0.0 and stacked.max() <= 1.0 + 1e-6
        if cls.tags.sums_to_mixture:
            np.testing.assert_allclose(stacked.sum(axis=0), 1.0, atol=1e-5)
    else:
        assert result.masks is None


def test_only_sources_are_kept_by_default(cls):
    y, refs = mixture(default_lead(cls), np.float32)
    result = run(make(cls), y, refs)
    assert result.masks is None and result._stfts is None
    # STFTs on request: computed from the sources
    X = result.stfts[result.names[0]]
    np.testing.assert_allclose(X, result.stft.forward(result[result.names[0]]), atol=1e-6)


def test_names_do_not_depend_on_the_input(cls):
    """Silence, noise and music give the same list of sources (fixed by the parameters)."""
    lead = default_lead(cls)
    y, refs = mixture(lead, np.float32)
    sep = make(cls)
    names = run(sep, y, refs).names
    for other in (np.zeros_like(y), np.random.default_rng(1).standard_normal(y.shape)):
        assert run(sep, other.astype(np.float32), refs).names == names


def test_float16_in_float16_out(cls):
    y, refs = mixture(default_lead(cls), np.float32)
    result = run(make(cls), y.astype(np.float16), refs.astype(np.float16))
    for name in result.names:
        assert result[name].dtype == np.float16


def test_input_is_not_modified(cls):
    y, refs = mixture(default_lead(cls), np.float32)
    y_copy, refs_copy = y.copy(), refs.copy()
    run(make(cls), y, refs)
    np.testing.assert_array_equal(y, y_copy)
    np.testing.assert_array_equal(refs, refs_copy)


@pytest.mark.parametrize("kind", ["silence", "dc"])
def test_silence_and_dc_give_finite_output(cls, kind):
    shape = default_lead(cls) + (SR,)
    y = np.zeros(shape, np.float32) if kind == "silence" else np.full(shape, 0.5, np.float32)
    refs = np.stack([y * 0.25, y * 0.75])
    with np.errstate(all="raise"):  # no 0/0 or overflow anywhere on the way
        result = run(make(cls), y, refs)
    for name in result.names:
        assert np.isfinite(result[name]).all()
    if cls.tags.sums_to_mixture:
        np.testing.assert_allclose(result.stack().sum(axis=0), y, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", ["subnormal", "huge"])
def test_subnormal_and_huge_input(cls, dtype, scale):
    """Every mask and Wiener path stays finite and sums to the mixture at extreme scales."""
    info = np.finfo(dtype)
    # subnormal: below the smallest normal number; huge: 1e30 (float32) / 1e100 (float64)
    factor = float(info.tiny) / 8 if scale == "subnormal" else (1e30 if dtype == np.float32
                                                                  else 1e100)
    y, refs = mixture(default_lead(cls), np.float64)
    y = (y / np.abs(y).max() * factor).astype(dtype)
    refs = (refs / np.abs(refs).max() * factor).astype(dtype)
    params = {}
    if "wiener_iterations" in cls().get_params():
        params["wiener_iterations"] = 1
    result = run(make(cls, **params), y, refs)
    for name in result.names:
        assert np.isfinite(result[name]).all(), name
    if cls.tags.sums_to_mixture:
        total = result.stack().astype(np.float64).sum(axis=0)
        assert np.max(np.abs(total - y)) <= 1e-3 * np.abs(y.astype(np.float64)).max() + 1e-300


def test_float64_at_the_amplitude_bound_is_finite(cls):
    """float64 audio at check_audio's bound (1e300): every output finite, never NaN (from
    1e200 on the enhancement methods, the Wiener refinement, the oracle Wiener filter and
    the phase-sensitive mask gave NaN, their bin powers overflowing)."""
    bound = MAX_AMPLITUDE[np.dtype(np.float64)]
    y, refs = mixture(default_lead(cls), np.float64)
    y, refs = y / np.abs(y).max() * bound, refs / np.abs(refs).max() * bound
    params = {"wiener_iterations": 1} if "wiener_iterations" in cls().get_params() else {}
    result = run(make(cls, **params), y, refs)
    for name in result.names:
        assert np.isfinite(result[name]).all(), name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_audio_above_the_amplitude_bound_is_refused(cls, dtype):
    """Above the bound the STFT itself overflows (NaN in nearly every method): refused,
    the message naming the argument, its peak and the bound."""
    bound = MAX_AMPLITUDE[np.dtype(dtype)]
    y, refs = mixture(default_lead(cls), np.float64)
    y = (y / np.abs(y).max() * 2 * bound).astype(dtype)
    refs = (refs / np.abs(refs).max() * bound).astype(dtype)
    e = 30 if dtype == np.float32 else 300
    with pytest.raises(ds.ParameterError, match=rf"^y=.*: peak 2e\+{e} above 1e\+{e}; "):
        run(make(cls), y, refs)


def test_same_seed_same_result_and_reuse(cls):
    y, refs = mixture(default_lead(cls))
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
    if cls.tags.requires_fit:
        assert not cloned.is_fitted()
        cloned.fit(training_examples(), sr=SR)
    y, refs = mixture(default_lead(cls))
    a, b = run(sep, y, refs), run(cloned, y, refs)
    for name in a.names:
        np.testing.assert_array_equal(a[name], b[name])


def test_model_file_round_trip(cls, tmp_path):
    sep = make(cls)
    path = tmp_path / "model.npz"
    ds.save_model(sep, path)
    loaded = ds.load_model(path)
    assert type(loaded) is cls and repr(loaded) == repr(sep)
    y, refs = mixture(default_lead(cls))
    a, b = run(sep, y, refs), run(loaded, y, refs)
    for name in a.names:
        np.testing.assert_array_equal(a[name], b[name])


def test_shared_between_threads(cls):
    sep = make(cls)
    y, refs = mixture(default_lead(cls))
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
    "name", [n for n in NAMES if "wiener_iterations" in CLASSES[n]().get_params()]
)
def test_wiener_refinement_keeps_the_contract(name):
    cls = CLASSES[name]
    y, refs = mixture(default_lead(cls), np.float32)
    result = run(make(cls, wiener_iterations=1), y, refs)
    for name in result.names:
        assert result[name].shape == y.shape and result[name].dtype == np.float32
    if cls.tags.sums_to_mixture:
        np.testing.assert_allclose(result.stack().sum(axis=0), y, atol=1e-4)


def test_bad_audio_is_a_parameter_error(cls):
    sep = make(cls)
    y, refs = mixture(default_lead(cls))
    for bad, word in [
        (np.array([0.0, np.nan, 0.0] * 100), "finite"),
        (np.zeros(0), "empty"),
        ((y * 1000).astype(np.int16), "integer"),
    ]:
        with pytest.raises(ds.ParameterError, match=word):
            run(sep, bad, refs)
    kwargs = side_inputs(cls, refs)
    with pytest.raises(ds.ParameterError, match="sr="):
        sep.separate(y, 0, **kwargs)


def test_channels_last_audio_is_refused(cls):
    """soundfile's (n_samples, n_channels) layout is refused, not split into 2-sample rows."""
    y, refs = mixture((2,), np.float32)
    kwargs = side_inputs(cls, np.swapaxes(refs, -1, -2))
    with pytest.raises(ds.ParameterError, match=r"n_samples, n_channels"):
        make(cls).separate(y.T, SR, **kwargs)


def test_wrong_channel_count_is_refused(cls):
    refused = [n for n in (1, 2, 3) if not accepts(cls, n)]
    if not refused:
        pytest.skip(f"{cls.__name__} takes any channel count")
    for n_ch in refused:
        y = np.zeros((n_ch, SR), np.float32) if n_ch > 1 else np.zeros(SR, np.float32)
        with pytest.raises(ds.ParameterError, match=r"has \d channel\(s\); .* needs"):
            run(make(cls), y, np.stack([y, y]))
        if cls.tags.streaming != "offline":
            with pytest.raises(ds.ParameterError, match="channel"):
                make(cls).stream(SR, n_ch)


def test_not_fitted_is_a_clear_error(cls):
    if not cls.tags.requires_fit:
        assert cls().fit() is not None  # a no-op that returns the separator
        return
    sep = cls(stft=SMALL_STFT) if "stft" in cls().get_params() else cls()
    y, refs = mixture(default_lead(cls))
    with pytest.raises(ds.NotFittedError, match="fit"):
        run(sep, y, refs)


def test_block_runner_equals_whole_signal(cls):
    if cls.tags.streaming == "offline":
        with pytest.raises(ds.ParameterError, match="whole signal"):
            make(cls).stream(SR, 2)
        return
    rng = np.random.default_rng(7)
    for lead in leads(cls):
        if lead == (2, 2):
            continue  # the runner takes (n_channels, n) blocks
        y, _ = mixture(lead, np.float32)
        y = np.concatenate([y, y[..., ::-1], 0.3 * y], axis=-1)  # 3 s
        sep = make(cls)
        whole = sep.separate(y, SR)
        runner = sep.stream(SR, 1 if not lead else lead[0])
        parts, i = [], 0
        while i < y.shape[-1]:
            step = int(rng.integers(1, 3000))
            parts.append(runner.process(y[..., i:i + step]))
            i += step
        parts.append(runner.flush())
        for name in whole.names:
            got = np.concatenate([p[name] for p in parts], axis=-1)
            assert got.shape == y.shape
            np.testing.assert_allclose(got, whole[name], atol=1e-5)


def test_separate_file_equals_separate(cls, tmp_path):
    if cls.tags.needs_references or cls.tags.needs_score:
        pytest.skip("oracles and score-informed methods need per-call inputs (references, "
                    "notes); they have no file interface")
    lead = default_lead(cls)
    y, _ = mixture(lead, np.float32)
    y = 0.5 * y / np.abs(y).max()
    path = tmp_path / "mix.wav"
    sf.write(path, y.T if y.ndim == 2 else y, SR, subtype="FLOAT")
    sep = make(cls)
    written = sep.separate_file(path, tmp_path / "out", block_seconds=0.3)
    whole = sep.separate(y, SR)
    assert [p.name for p in written] == [f"mix_{n}.wav" for n in whole.names]
    for p, name in zip(written, whole.names):
        data, sr = sf.read(p, dtype="float32", always_2d=True)
        assert sr == SR and sf.info(p).subtype == "FLOAT"
        np.testing.assert_allclose(data.T.reshape(y.shape), whole[name], atol=1e-5)
    assert sorted(x.name for x in (tmp_path / "out").iterdir()) == sorted(p.name for p in written)


def test_set_params_refuses_unknown_names_and_reaches_nested_separators():
    sep = ds.MultichannelWiener(ds.HPSS())
    sep.set_params(separator__margin=2.0, wiener_iterations=3)
    assert sep.separator.margin == 2.0 and sep.wiener_iterations == 3
    assert sep.get_params()["separator__margin"] == 2.0
    with pytest.raises(ds.ParameterError, match="not a parameter of HPSS"):
        ds.HPSS().set_params(kernel=3)


def test_separating_does_not_import_scikit_learn():
    """The hyperparameter protocol is ours: a command-line call does not pay for sklearn."""
    import subprocess
    import sys

    code = ("import numpy as np, sys, dsp_separate as ds; "
            "ds.HPSS(kernel_size=9).separate(np.zeros((2, 4000), np.float32), 8000); "
            "print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", [n for n in NAMES if CLASSES[n].tags.streaming == "causal"])
def test_causal_methods_stream_with_one_window_of_latency(name):
    """A causal method returns every sample as soon as no later frame can change it: the
    output lags the input by at most one window plus one hop, whatever the block size."""
    cls = CLASSES[name]
    y, _ = mixture((), np.float32)
    runner = make(cls).stream(SR, 1)
    lag = runner.stft.n_fft + runner.stft.hop_length
    fed = out = 0
    for i in range(0, y.shape[-1], SR // 100):  # 10 ms blocks
        block = y[i:i + SR // 100]
        fed += block.shape[-1]
        out += next(iter(runner.process(block).values())).shape[-1]
        assert fed - out <= lag, (fed, out, lag)


def test_model_file_keeps_a_trained_separator_inside_another(tmp_path):
    """save_model writes the fitted arrays of separators nested in the parameters too."""
    inner = make(MeanSpectrum)
    outer = ds.MultichannelWiener(separator=inner, stft=SMALL_STFT)
    y, _ = mixture((2,))
    path = tmp_path / "w.npz"
    ds.save_model(outer, path)
    loaded = ds.load_model(path)
    np.testing.assert_array_equal(loaded.separator.templates_, inner.templates_)
    a, b = outer.separate(y, SR), loaded.separate(y, SR)
    for name in a.names:
        np.testing.assert_array_equal(a[name], b[name])
    # an untrained inner separator is a clear error, not an AttributeError from inside
    with pytest.raises(ds.NotFittedError, match="MeanSpectrum is not fitted"):
        ds.MultichannelWiener(separator=MeanSpectrum(stft=SMALL_STFT)).separate(y, SR)


def test_load_model_errors_name_the_file(tmp_path):
    with pytest.raises(ds.AudioFileError, match="nope.npz: no such model file"):
        ds.load_model(tmp_path / "nope.npz")
    other = tmp_path / "audio.wav"
    sf.write(other, np.zeros(800, np.float32), SR)
    with pytest.raises(ds.AudioFileError, match="audio.wav: not a dsp_separate model file"):
        ds.load_model(other)


def test_block_runner_takes_empty_blocks_and_separate_file_refuses_empty_files(tmp_path):
    runner = ds.HPSS(stft=SMALL_STFT).stream(SR, 2)
    assert runner.process(np.zeros((2, 0), np.float32))["harmonic"].shape == (2, 0)
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros((0, 2), np.float32), SR)
    with pytest.raises(ds.AudioFileError, match="empty.wav: contains no samples"):
        ds.HPSS().separate_file(empty, tmp_path / "out")
    with pytest.raises(ds.AudioFileError, match="no such file"):
        ds.HPSS().separate_file(tmp_path / "missing.wav", tmp_path / "out")
    # float in, FLAC out: 24-bit, the same rule as the command line
    y, _ = mixture((2,), np.float32)
    src = tmp_path / "f.wav"
    sf.write(src, (0.4 * y / np.abs(y).max()).T, SR, subtype="FLOAT")
    out = ds.HPSS(stft=SMALL_STFT).separate_file(src, tmp_path / "o", format="flac")
    assert {sf.info(p).subtype for p in out} == {"PCM_24"}


@pytest.mark.parametrize("name,center", [("hpss", True), ("repet", True), ("hpss", False),
                                         ("irm", True)])
def test_last_source_equals_its_own_inverse_stft(name, center):
    # The base resynthesises the last of a set of masks that sum to one as the mixture
    # minus the others (one inverse STFT fewer).  It must equal the inverse STFT of that
    # source's masked STFT to float precision, and not be used where the STFT cannot
    # reconstruct the mixture (center=False loses the edges).
    refs = two_sources(n=22050, sr=22050)
    y = refs.sum(axis=0)
    stft = STFT(n_fft=1024, hop_length=256, center=center)
    sep = ds.get_separator(name)(stft=stft)
    kwargs = {"references": refs} if name == "irm" else {}
    res = sep.separate(y, 22050, keep="stfts", **kwargs)
    last = list(res)[-1]
    direct = stft.inverse(res.stfts[last], length=y.shape[-1])
    err = np.abs(direct - res[last]).max() / np.abs(y).max()
    assert err < 1e-6
    if not center:
        # no shortcut: the sources do not sum to the mixture at the uncovered edges
        total = sum(res.values())
        assert np.abs(total - y)[..., :8].max() > 1e-3


def test_no_remainder_shortcut_for_oracles_or_unframed_tails():
    # an oracle's silent source stays exactly silent (no rounding of the mixture in it)
    y = 0.5 * np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    res = ds.IdealBinaryMask().separate(y, 16000, references=np.stack([y, np.zeros_like(y)]))
    assert not np.any(res["source_1"])
    # hop > win / 2 leaves the tail unframed: the sources do not recover it, and the last
    # source is still its own inverse STFT
    stft = STFT(n_fft=512, hop_length=511)
    res = ds.HPSS(stft=stft).separate(y, 16000, keep="stfts")
    last = list(res)[-1]
    direct = stft.inverse(res.stfts[last], length=y.shape[-1])
    assert np.abs(direct - res[last]).max() < 1e-6


class GainSplit(Separator):
    """Test-only: a gain and its complement, given as ``Masks.complement`` or written out."""

    name = ""  # not registered
    summary = "test: a gain G and 1 - G"
    tags = Tags(kind="mask", streaming="bounded")

    def __init__(self, stft=None, complement=True, wiener_iterations=0):
        self.stft = stft
        self.complement = complement
        self.wiener_iterations = wiener_iterations

    def source_names(self, n_channels=None, references=None):
        return ("loud", "rest")

    def context_frames(self, sr):
        return 0, 0

    def _estimate(self, X, *, y, sr, stft):
        S = np.abs(X)
        G = (S / (S + S.mean() + 1e-30)).astype(S.dtype)
        k = self.wiener_iterations
        if self.complement:
            return Masks({"loud": G}, complement="rest", wiener_iterations=k)
        return Masks({"loud": G, "rest": 1 - G}, wiener_iterations=k)


@pytest.mark.parametrize("stft", [STFT(n_fft=256, hop_length=64),
                                  STFT(n_fft=256, hop_length=64, center=False),
                                  STFT(n_fft=256, hop_length=200)],
                         ids=["remainder", "uncentred", "hop-above-half"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_complement_mask_gives_the_same_result_as_writing_it_out(stft, dtype):
    # ``Masks.complement``: the shared stage forms ``1 - sum`` only where it is needed
    # (kept masks or STFTs, a transform without the remainder shortcut, Wiener refinement,
    # block by block); the result equals that of a method that writes the mask itself.
    y = two_sources(n=SR, sr=SR).astype(dtype)  # two channels
    eps = 1e-5 if dtype == np.float32 else 1e-12
    for keep, k in ((None, 0), ("all", 0), (None, 1)):
        a = GainSplit(stft=stft, wiener_iterations=k).separate(y, SR, keep=keep)
        b = GainSplit(stft=stft, complement=False, wiener_iterations=k).separate(
            y, SR, keep=keep)
        assert list(a) == ["loud", "rest"]
        for nm in ("loud", "rest"):
            assert a[nm].dtype == dtype
            np.testing.assert_allclose(a[nm], b[nm], rtol=0, atol=eps)
        if keep == "all":
            np.testing.assert_array_equal(a.masks["rest"], 1 - a.masks["loud"])
            np.testing.assert_allclose(a.stfts["rest"], b.stfts["rest"], rtol=0, atol=eps)
    for sep in (GainSplit(stft=stft), GainSplit(stft=stft, complement=False)):
        runner = sep.stream(SR, 2, dtype=dtype)
        parts = [runner.process(y[:, i:i + 1500]) for i in range(0, SR, 1500)]
        parts.append(runner.flush())
        if sep.complement:
            first = {nm: np.concatenate([p[nm] for p in parts], axis=-1)
                     for nm in ("loud", "rest")}
        else:
            for nm in ("loud", "rest"):
                np.testing.assert_allclose(
                    np.concatenate([p[nm] for p in parts], axis=-1), first[nm], rtol=0, atol=eps)


def test_a_complement_is_not_a_residual_nor_a_given_mask():
    with pytest.raises(ds.ParameterError, match="complement='rest'"):
        Masks({"loud": np.ones((3, 2))}, residual=True, complement="rest")
    with pytest.raises(ds.ParameterError, match="complement='loud'"):
        Masks({"loud": np.ones((3, 2))}, complement="loud")
