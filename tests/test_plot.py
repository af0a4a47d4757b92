"""ds.plot under matplotlib's Agg backend: each function draws what it says, on small input."""

import os
import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")  # the test extra installs it
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PolyCollection, QuadMesh  # noqa: E402

import dsp_separate as ds  # noqa: E402
from dsp_separate import ParameterError  # noqa: E402
from dsp_separate.synth import harmonic_percussive_mixture  # noqa: E402

SR = 8000
TF = ds.STFT(n_fft=256, hop_length=64)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def tone(freq=1000.0, seconds=0.5, sr=SR):
    return (0.5 * np.sin(2 * np.pi * freq * np.arange(int(seconds * sr)) / sr)).astype(
        np.float32)


@pytest.fixture(scope="module")
def hp():
    y, truth = harmonic_percussive_mixture(sr=SR, seconds=1.0, seed=1)
    result = ds.HPSS(kernel_size=9, stft=TF).separate(y, SR, keep="masks")
    return y, truth, result


def test_import_is_light_and_matplotlib_loads_on_first_plot():
    code = ("import sys, dsp_separate as ds; m = ds.plot; print('matplotlib' in sys.modules); "
            "import numpy as np; m.objective([3.0, 2.0]); print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=dict(os.environ, MPLBACKEND="Agg")).stdout.split()
    assert out == ["False", "True"]


def test_without_matplotlib_the_error_names_the_extra():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'matplotlib' or name.startswith('matplotlib.'):\n"
        "            raise ImportError('blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import dsp_separate as ds\n"
        "try:\n"
        "    ds.plot.objective([1.0, 0.5])\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert 'pip install "dsp_separate[plot]"' in out and "matplotlib" in out


# ----------------------------------------------------------------------------- spectrogram
def test_spectrogram_axes_scales_and_values():
    y = tone(1000.0)
    ax = ds.plot.spectrogram(y, SR, stft=TF, db_range=60)
    fig = ax.figure
    assert len(fig.axes) == 2  # the spectrogram and its colour bar
    assert fig.axes[1].get_ylabel() == "dB"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("time (s)", "frequency (Hz)")
    assert len(ax.images) == 1
    img = ax.images[0].get_array()
    n_frames = 1 + y.size // TF.hop_length
    assert img.shape == (TF.n_freq, n_frames)
    assert img.max() == pytest.approx(0.0) and img.min() == pytest.approx(-60.0)
    left, right, bottom, top = ax.images[0].get_extent()
    hop_s = TF.hop_length / SR
    assert left == pytest.approx(-hop_s / 2) and right == pytest.approx((n_frames - 0.5) * hop_s)
    assert bottom == 0.0 and top == SR / 2
    # the tone's row: bin 1000 Hz * 256 / 8000 = 32
    assert int(np.argmax(img[:, n_frames // 2])) == 32


def test_spectrogram_from_stft_equals_from_audio_and_draws_on_given_axes():
    y = tone(700.0)
    fig, (a, b) = plt.subplots(1, 2)
    ax1 = ds.plot.spectrogram(y, SR, stft=TF, ax=a, colorbar=False, title="audio")
    ax2 = ds.plot.spectrogram(S=TF.forward(y), sr=SR, stft=TF, ax=b, colorbar=False)
    assert ax1 is a and ax2 is b and len(fig.axes) == 2 and plt.get_fignums() == [fig.number]
    assert a.get_title() == "audio"
    np.testing.assert_allclose(a.images[0].get_array(), b.images[0].get_array(), atol=1e-5)


def test_spectrogram_log_frequency():
    ax = ds.plot.spectrogram(tone(500.0), SR, stft=TF, log_freq=True, colorbar=False)
    assert ax.get_yscale() == "log"
    assert len(ax.images) == 0 and len(ax.collections) == 1
    assert isinstance(ax.collections[0], QuadMesh)
    lo, hi = ax.get_ylim()
    assert lo >= 20.0 and hi == pytest.approx(SR / 2)
    # the 0 Hz bin is left out: bins 1..128 are drawn
    assert ax.collections[0].get_array().size == (TF.n_freq - 1) * (1 + 4000 // 64)


def test_spectrogram_channels():
    y = np.stack([tone(500.0), np.zeros(4000, np.float32)])
    both = ds.plot.spectrogram(y, SR, stft=TF, colorbar=False, ref=1.0).images[0].get_array()
    left = ds.plot.spectrogram(y, SR, stft=TF, colorbar=False, ref=1.0,
                               channel=0).images[0].get_array()
    # RMS over two channels, one silent: 1/sqrt(2) of the left channel, -3.01 dB
    assert float(np.max(left) - np.max(both)) == pytest.approx(3.0103, abs=1e-3)


def test_spectrogram_bad_input():
    with pytest.raises(ParameterError, match="give exactly one"):
        ds.plot.spectrogram(tone(), SR, S=np.ones((129, 4)), stft=TF)
    with pytest.raises(ParameterError, match="has 100 frequency bins"):
        ds.plot.spectrogram(S=np.ones((100, 4)), sr=SR, stft=TF)
    with pytest.raises(ParameterError, match=r"channel=2: must be None or an int in \[0, 2\)"):
        ds.plot.spectrogram(np.zeros((2, 800), np.float32), SR, stft=TF, channel=2)
    with pytest.raises(ParameterError, match="db_range=0"):
        ds.plot.spectrogram(tone(), SR, stft=TF, db_range=0)
    with pytest.raises(ParameterError, match="ax="):
        ds.plot.spectrogram(tone(), SR, stft=TF, ax="left")


# ----------------------------------------------------------------------------- masks
def test_mask_values_and_colour_limits():
    M = np.random.default_rng(0).random((2, TF.n_freq, 20))
    ax = ds.plot.mask(M, SR, stft=TF, title="m")
    assert len(ax.figure.axes) == 2 and ax.get_title() == "m"
    assert ax.images[0].get_clim() == (0.0, 1.0)
    np.testing.assert_allclose(ax.images[0].get_array(), M.mean(axis=0))
    ax = ds.plot.mask(M, SR, stft=TF, channel=1, colorbar=False)
    np.testing.assert_allclose(ax.images[0].get_array(), M[1])
    with pytest.raises(ParameterError, match="has 20 frequency bins"):
        ds.plot.mask(np.ones((20, 5)), SR, stft=TF)


# ----------------------------------------------------------------------------- separation
def test_separation_rows_and_titles(hp):
    y, truth, result = hp
    fig = ds.plot.separation(result, mixture=y, colorbar=False)
    assert [ax.get_title() for ax in fig.axes] == [
        "mixture", "harmonic", "percussive", "harmonic mask", "percussive mask"]
    assert all(len(ax.images) == 1 for ax in fig.axes)
    np.testing.assert_allclose(fig.axes[3].images[0].get_array(), result.masks["harmonic"])
    # every spectrogram is on the mixture's scale: the mixture reaches 0 dB, sources not above
    tops = [float(ax.images[0].get_array().max()) for ax in fig.axes[:3]]
    assert tops[0] == pytest.approx(0.0) and max(tops[1:]) <= 1e-6
    # labels only on the outer panels: the percussive mask (bottom row) has x, not y labels
    assert fig.axes[4].get_xlabel() == "time (s)" and fig.axes[4].get_ylabel() == ""
    assert fig.axes[1].get_xlabel() == ""
    # colour bars: the empty cell under the mixture holds a dB bar and a mask bar
    fig = ds.plot.separation(result, mixture=y)
    assert len(fig.axes) == 5 + 1
    key = fig.axes[5]
    assert key.get_subplotspec().rowspan == range(1, 2)
    assert key.get_subplotspec().colspan == range(0, 1) and not key.axison
    bars = key.child_axes
    assert [ax.get_xlabel() for ax in bars] == [
        "dB (0 = the mixture's peak)", "mask (1 = all of the bin)"]
    assert bars[0].get_xlim() == (-80.0, 0.0) and bars[1].get_xlim() == (0.0, 1.0)


def test_separation_with_references_reports_si_sdr(hp):
    y, truth, result = hp
    fig = ds.plot.separation(result, references=truth, masks=False)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 5 + 1  # panels, the key cell (rows 2-3) holding the dB bar
    assert len(fig.axes[5].child_axes) == 1
    assert titles[:3] == ["mixture", "harmonic", "percussive"]
    score = float(ds.metrics.si_sdr(truth["harmonic"].astype(np.float64),
                                    result["harmonic"].astype(np.float64)))
    assert titles[3] == f"true harmonic (SI-SDR {score:.1f} dB)"
    assert titles[4].startswith("true percussive (SI-SDR ")
    assert score > 3.0  # a separation worth drawing


def test_separation_method_and_errors(hp):
    y, truth, result = hp
    fig = result.plot(masks=True, references={"harmonic": truth["harmonic"]})
    assert len(fig.axes) == 3 + 2 + 1 + 1
    assert fig.axes[6].get_subplotspec().rowspan == range(1, 3)
    no_masks = ds.HPSS(kernel_size=9, stft=TF).separate(y, SR)
    assert len(no_masks.plot().axes) == 3 + 1  # one row: a dB bar beside it
    assert len(no_masks.plot(colorbar=False).axes) == 3
    with pytest.raises(ParameterError, match="masks=True: this Separation holds no masks"):
        no_masks.plot(masks=True)
    with pytest.raises(ParameterError, match="result=.*must be a Separation"):
        ds.plot.separation({"a": y})
    with pytest.raises(ParameterError, match=r"references\['harmonic'\]=.*must have"):
        ds.plot.separation(result, references={"harmonic": y[:100]})
    with pytest.raises(ParameterError, match="masks='yes'"):
        ds.plot.separation(result, masks="yes")
    # references that name no source (a blind method's source_0 against the example's src0)
    # are refused: a silent plot without the reference row would look like a bug in the
    # reader's code
    with pytest.raises(ParameterError, match=r"references=\{'src0', 'src1'\}: no key names "
                                             r"a source of this separation \(harmonic, "
                                             r"percussive\)"):
        ds.plot.separation(result, references={"src0": y, "src1": y})
    # one key that names no source (the example's "speech" against a denoiser's "signal")
    with pytest.warns(UserWarning, match=r"references: 'speech' name no source .*not drawn"):
        fig = ds.plot.separation(result, references={"speech": y, "harmonic": truth["harmonic"]})
    assert sum(ax.get_title().startswith("true ") for ax in fig.axes) == 1


def test_mask_and_objective_refuse_non_numbers():
    M = np.full((TF.n_freq, 5), 0.5)
    M[3, 2] = np.nan
    with pytest.raises(ParameterError, match="M=.*must be finite"):
        ds.plot.mask(M, SR, stft=TF)
    with pytest.raises(ParameterError, match="values='abc': must be a non-empty 1-D"):
        ds.plot.objective("abc")
    with pytest.raises(ParameterError, match=r"values\['a'\]=.*must be a non-empty 1-D"):
        ds.plot.objective({"a": ["x", 1.0]})


def test_separation_stereo(hp):
    y, truth, _ = hp
    y2 = np.stack([y, 0.5 * y])
    result = ds.HPSS(kernel_size=9, stft=TF).separate(y2, SR, keep="masks")
    fig = ds.plot.separation(result, channel=1, log_freq=True, colorbar=False)
    assert len(fig.axes) == 5 and all(ax.get_yscale() == "log" for ax in fig.axes)


# ----------------------------------------------------------------------------- REPET
def test_beat_spectrum_period_lines_in_seconds():
    S = np.tile(np.random.default_rng(0).random((32, 10)), 6)
    b = ds.beat_spectrum(S)
    period = ds.repeating_period(b)
    assert period == 10
    ax = ds.plot.beat_spectrum(b, SR, hop_length=64, period=period)
    assert len(ax.lines) == 1 + 5  # the curve, the period, multiples 2..5 (lags < 60)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), b)
    assert ax.lines[1].get_xdata()[0] == pytest.approx(10 * 64 / SR)
    assert ax.lines[5].get_xdata()[0] == pytest.approx(50 * 64 / SR)
    assert ax.get_xlabel() == "lag (s)"
    assert [t.get_text() for t in ax.get_legend().get_texts()][1] == "period 0.08 s"
    ax = ds.plot.beat_spectrum(np.stack([b, b]), period=10, n_multiples=2)
    assert len(ax.lines) == 3 and ax.get_xlabel() == "lag (frames)"
    assert len(ds.plot.beat_spectrum(b).lines) == 1
    with pytest.raises(ParameterError, match=r"period=60: must be an int in \[1, 60\)"):
        ds.plot.beat_spectrum(b, period=60)


def test_similarity_matrix():
    S = np.tile(np.random.default_rng(0).random((16, 5)), 3)
    C = ds.similarity_matrix(S)
    ax = ds.plot.similarity_matrix(C, SR, hop_length=80)
    assert len(ax.figure.axes) == 2 and ax.images[0].get_array().shape == (15, 15)
    assert ax.images[0].get_extent()[1] == pytest.approx(14.5 * 80 / SR)
    assert ax.get_xlabel() == ax.get_ylabel() == "time (s)"
    with pytest.raises(ParameterError, match="must be square"):
        ds.plot.similarity_matrix(np.ones((3, 4)))


# ----------------------------------------------------------------------------- NMF
def test_nmf_templates_and_activations():
    rng = np.random.default_rng(0)
    W, H = rng.random((TF.n_freq, 3)), rng.random((3, 40))
    fig = ds.plot.nmf(W, H, SR, n_fft=TF.n_fft, hop_length=TF.hop_length)
    assert len(fig.axes) == 4  # templates, activations, two colour bars
    ax_w, ax_h = fig.axes[0], fig.axes[1]
    assert (ax_w.get_title(), ax_h.get_title()) == ("templates W", "activations H")
    img_w = ax_w.images[0].get_array()
    assert img_w.shape == W.shape and np.allclose(img_w.max(axis=0), 0.0)  # dB per template
    np.testing.assert_allclose(ax_h.images[0].get_array(), H)
    assert list(ax_h.get_yticks()) == [0, 1, 2]
    assert ax_h.images[0].get_extent()[1] == pytest.approx(39.5 * 64 / SR)
    lin = ds.plot.templates(W, SR, n_fft=256, db=False, log_freq=True)
    assert lin.get_yscale() == "log" and isinstance(lin.collections[0], QuadMesh)


def test_nmf_bad_input():
    W = np.ones((TF.n_freq, 3))
    with pytest.raises(ParameterError, match="W has 3 components, H 2"):
        ds.plot.nmf(W, np.ones((2, 5)), SR, n_fft=256)
    with pytest.raises(ParameterError, match="n_fft=512 makes 257"):
        ds.plot.templates(W, SR, n_fft=512)
    with pytest.raises(ParameterError, match="must be finite and non-negative"):
        ds.plot.activations(-np.ones((2, 5)))
    with pytest.raises(ParameterError, match="pick one channel"):
        ds.plot.activations(np.ones((2, 2, 5)))


# ----------------------------------------------------------------------------- DUET
def test_duet_histogram_with_peaks():
    alpha, delta = np.linspace(-1, 1, 11), np.linspace(-2, 2, 21)
    A, D = np.meshgrid(alpha, delta, indexing="ij")
    hist = np.exp(-((A - 0.4) ** 2 + (D + 1) ** 2) / 0.05) + np.exp(-(A**2 + D**2) / 0.05)
    ax = ds.plot.duet_histogram(hist, alpha, delta, peaks=[(0.4, -1.0), (0.0, 0.0)])
    assert len(ax.figure.axes) == 2
    mesh = ax.collections[0]
    assert isinstance(mesh, QuadMesh) and mesh.get_array().size == hist.size
    assert len(ax.lines) == 1 and len(ax.texts) == 2
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [-1.0, 0.0])  # x = delay
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.4, 0.0])   # y = attenuation
    assert ax.get_xlim() == pytest.approx((-2.1, 2.1))
    assert ax.get_ylim() == pytest.approx((-1.1, 1.1))
    # what ds.duet_histogram returns: an object with hist, alpha and delay
    from types import SimpleNamespace

    ax = ds.plot.duet_histogram(SimpleNamespace(hist=hist, alpha=alpha, delay=delta),
                                colorbar=False)
    np.testing.assert_allclose(ax.collections[0].get_array().reshape(hist.shape), hist)
    assert len(ax.figure.axes) == 1 and len(ax.lines) == 0
    with pytest.raises(ParameterError, match="alpha, delta: give the bin centres"):
        ds.plot.duet_histogram(hist)
    with pytest.raises(ParameterError, match="alpha=.*must be 11 increasing"):
        ds.plot.duet_histogram(hist, alpha[::-1], delta)
    with pytest.raises(ParameterError, match=r"peaks=.*shape \(n_sources, 2\)"):
        ds.plot.duet_histogram(hist, alpha, delta, peaks=[1.0, 2.0])


# ----------------------------------------------------------------------------- objective, gain
def test_objective_curves():
    ax = ds.plot.objective([5.0, 3.0, 2.5], iterations=[0, 10, 20])
    assert len(ax.lines) == 1 and ax.get_yscale() == "log" and ax.get_legend() is None
    assert list(ax.lines[0].get_xdata()) == [0, 10, 20]
    ax = ds.plot.objective({"a": [1.0, -1.0], "b": [2.0, 1.0, 0.5]})
    assert len(ax.lines) == 2 and ax.get_yscale() == "linear"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    with pytest.raises(ParameterError, match="log=True: the objective has values <= 0"):
        ds.plot.objective([1.0, 0.0], log=True)
    with pytest.raises(ParameterError, match="must be a non-empty 1-D sequence"):
        ds.plot.objective([1.0, np.nan])


def test_gain_over_time():
    G = np.ones((TF.n_freq, 10))
    G[:, 5:] = 0.1
    G[TF.n_freq // 2:, :5] = 0.0  # upper half muted in the first frames
    ax = ds.plot.gain_over_time(G, SR, stft=TF, floor_db=-40)
    mean = ax.lines[0].get_ydata()
    n_low = TF.n_freq // 2
    want0 = (n_low * 0.0 + (TF.n_freq - n_low) * -40.0) / TF.n_freq
    assert mean[0] == pytest.approx(want0) and mean[-1] == pytest.approx(-20.0)
    assert ax.lines[0].get_xdata()[1] == pytest.approx(TF.hop_length / SR)
    assert isinstance(ax.collections[0], PolyCollection)
    ax = ds.plot.gain_over_time(G, SR, stft=TF, freq_range=(0, 1000))  # lower bins only
    assert ax.lines[0].get_ydata()[0] == pytest.approx(0.0)
    with pytest.raises(ParameterError, match="freq_range=.*low < high"):
        ds.plot.gain_over_time(G, SR, stft=TF, freq_range=(3000, 1000))
    with pytest.raises(ParameterError, match="floor_db=0.0: must be a negative"):
        ds.plot.gain_over_time(G, SR, stft=TF, floor_db=0)


def test_multi_panel_functions_draw_into_a_given_figure(hp):
    _, _, result = hp
    fig = plt.figure()
    assert ds.plot.separation(result, fig=fig, colorbar=False) is fig and len(fig.axes) == 5
    fig2 = plt.figure()
    W, H = np.ones((TF.n_freq, 2)), np.ones((2, 7))
    assert ds.plot.nmf(W, H, SR, n_fft=256, hop_length=64, fig=fig2) is fig2
    assert len(fig2.axes) == 4
    assert sorted(plt.get_fignums()) == [fig.number, fig2.number]  # no other figure opened
