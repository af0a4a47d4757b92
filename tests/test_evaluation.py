"""evaluate(): one row per track, source and metric, medians, streaming, progress."""

import csv
import io
import sys

import numpy as np
import pytest
import soundfile as sf

import dsp_separate as ds
from dsp_separate import metrics
from dsp_separate.base import Masks, Separator
from dsp_separate.datasets import FolderDataset, Track
from dsp_separate.evaluation import (
    FIELDS,
    MEDIAN,
    evaluate,
    median_table,
    medians,
    to_csv,
)
from dsp_separate.exceptions import ParameterError
from dsp_separate.separators.oracle import IdealRatioMask, MixtureAsEstimate

SR = 8000
N = 6000


def _write(path, x):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.asarray(x, dtype=np.float32).T, SR, subtype="FLOAT")


def _tone_clicks(k, channels=2):
    """A tone (harmonic) panned left and clicks (percussive) panned right."""
    rng = np.random.default_rng(k)
    t = np.arange(N) / SR
    tone = 0.3 * np.sin(2 * np.pi * (300 + 100 * k) * t + rng.uniform(0, 6))
    clicks = np.zeros(N)
    clicks[rng.integers(200, 600) :: SR // 6] = 0.7
    clicks = np.convolve(clicks, np.exp(-np.arange(40) / 5.0))[:N]
    if channels == 1:
        return {"tone": tone[None], "clicks": clicks[None]}
    # panned, plus a little independent noise per channel so that the two channels of an
    # image are not exact multiples (as in recordings; keeps BSS Eval well conditioned)
    hiss = 0.02 * rng.standard_normal((4, N))
    return {"tone": np.stack([tone, 0.4 * tone]) + hiss[:2],
            "clicks": np.stack([0.5 * clicks, clicks]) + hiss[2:]}


def _dataset(root, n_tracks=2, channels=2):
    truth = {}
    for k in range(n_tracks):
        stems = {n: x.astype(np.float32) for n, x in _tone_clicks(k, channels).items()}
        for n, x in stems.items():
            _write(root / f"track{k}" / f"{n}.wav", x)
        _write(root / f"track{k}" / "mixture.wav", stems["tone"] + stems["clicks"])
        truth[f"track{k}"] = stems
    return FolderDataset(root), truth


@pytest.fixture(scope="module")
def stereo_data(tmp_path_factory):
    return _dataset(tmp_path_factory.mktemp("stereo"))


def _value(table, method, track, source, metric):
    hits = [r["value"] for r in table if (r["method"], r["track"], r["source"], r["metric"])
            == (method, track, source, metric)]
    assert len(hits) == 1, hits
    return hits[0]


def test_records_are_the_metrics_of_the_separated_sources(stereo_data):
    data, truth = stereo_data
    hpss = ds.HPSS(kernel_size=17)
    table = evaluate(hpss, data, metrics=("sdr", "sir", "sar", "isr", "si_sdr"),
                     stem_map={"harmonic": "tone", "percussive": "clicks"},
                     progress=False, as_frame=False)
    assert all(tuple(r) == FIELDS for r in table)
    per_track = [r for r in table if r["track"] != MEDIAN]
    assert len(per_track) == 2 * 2 * 5 and len(table) == len(per_track) + 2 * 5
    for name in ["track0", "track1"]:
        mixture, stems, _ = data[name].load()
        result = hpss.separate(mixture, SR)
        refs = np.stack([stems["tone"], stems["clicks"]]).astype(np.float64)
        ests = np.stack([result["harmonic"], result["percussive"]]).astype(np.float64)
        bss = metrics.bss_eval_images(refs, ests, permutation=False)
        si = metrics.si_sdr(refs.reshape(2, -1), ests.reshape(2, -1))
        for j, stem in enumerate(["tone", "clicks"]):
            for metric, expected in [("sdr", bss.sdr), ("sir", bss.sir), ("sar", bss.sar),
                                     ("isr", bss.isr), ("si_sdr", si)]:
                got = _value(table, "hpss", name, stem, metric)
                assert got == pytest.approx(float(expected[j]), abs=1e-9)
    # HPSS separates this material: tone SDR well above the clicks' leakage
    assert _value(table, "hpss", MEDIAN, "tone", "sdr") > 10
    med = np.median([_value(table, "hpss", t, "clicks", "si_sdr") for t in ["track0", "track1"]])
    assert _value(table, "hpss", MEDIAN, "clicks", "si_sdr") == pytest.approx(med)


def test_oracles_get_the_stems_and_rank_above_the_mixture(stereo_data):
    data, truth = stereo_data
    table = evaluate([MixtureAsEstimate(), IdealRatioMask()], data, metrics=["snr", "si_sdr"],
                     progress=False, as_frame=False)
    # input SDR of the mixture as estimate, checked by hand on track0
    refs = np.stack([truth["track0"]["tone"], truth["track0"]["clicks"]]).astype(np.float64)
    mix = refs.sum(axis=0)
    expected = metrics.si_sdr(refs.reshape(2, -1), np.stack([mix, mix]).reshape(2, -1))
    assert _value(table, "mixture", "track0", "tone", "si_sdr") == pytest.approx(
        expected[0], abs=1e-4)
    for stem in ["tone", "clicks"]:
        for metric in ["snr", "si_sdr"]:  # snr of an image = its BSS Eval images SDR
            irm = _value(table, "irm", MEDIAN, stem, metric)
            base = _value(table, "mixture", MEDIAN, stem, metric)
            assert irm > base + 7 and irm > 7  # measured: clicks 8.1 / 7.5, tone 21.7
    # with a stem_map the oracle is scored on the mapped stems only
    one = evaluate(IdealRatioMask(), data, metrics="si_sdr", stem_map={"x": "tone"},
                   progress=False, as_frame=False, medians=False)
    assert {r["source"] for r in one} == {"tone"} and len(one) == 2


def test_mono_tracks_use_bss_eval_sources(tmp_path):
    data, truth = _dataset(tmp_path, n_tracks=1, channels=1)
    table = evaluate("irm", data, metrics=("sdr", "sir", "sar", "isr"), progress=False,
                     as_frame=False, medians=False)
    assert {r["metric"] for r in table} == {"sdr", "sir", "sar"}  # no ISR for mono
    mixture, stems, _ = data[0].load()
    result = IdealRatioMask().separate(mixture, SR, references=stems)
    bss = metrics.bss_eval_sources(
        np.stack([stems["tone"][0], stems["clicks"][0]]).astype(np.float64),
        np.stack([result["tone"][0], result["clicks"][0]]).astype(np.float64),
        permutation=False,
    )
    assert _value(table, "irm", "track0", "clicks", "sir") == pytest.approx(bss.sir[1])


def test_framewise_scores_take_the_median_over_frames(stereo_data):
    data, _ = stereo_data
    table = evaluate("irm", [data[0]], metrics=["sdr"], frame_seconds=0.25, progress=False,
                     medians=False)
    mixture, stems, _ = data[0].load()
    result = IdealRatioMask().separate(mixture, SR, references=stems)
    refs = np.stack([stems["tone"], stems["clicks"]]).astype(np.float64)
    ests = np.stack([result["tone"], result["clicks"]]).astype(np.float64)
    frames = metrics.bss_eval_images(refs, ests, frame_samples=SR // 4,
                                     permutation=False).sdr
    assert frames.shape == (2, 3)
    assert _value(table, "irm", "track0", "clicks", "sdr") == pytest.approx(
        np.nanmedian(frames[1]))


def test_silent_stem_gives_nan_and_a_warning(tmp_path):
    stems = {n: x.astype(np.float32) for n, x in _tone_clicks(0).items()}
    stems["silence"] = np.zeros_like(stems["tone"])
    for n, x in stems.items():
        _write(tmp_path / "t" / f"{n}.wav", x)
    _write(tmp_path / "t" / "mixture.wav", stems["tone"] + stems["clicks"])
    with pytest.warns(UserWarning, match="track 't': silence silent"):
        table = evaluate("irm", FolderDataset(tmp_path), metrics=["sdr", "si_sdr"],
                         progress=False, as_frame=False)
    assert np.isnan(_value(table, "irm", "t", "silence", "sdr"))
    assert np.isnan(_value(table, "irm", "t", "silence", "si_sdr"))
    assert np.isnan(_value(table, "irm", MEDIAN, "silence", "sdr"))
    assert _value(table, "irm", "t", "tone", "sdr") > 15  # the others are still scored


def test_streams_one_track_at_a_time_and_reports_progress(stereo_data):
    data, _ = stereo_data
    log = []

    class Logged(Track):
        def load(self):
            log.append(f"load {self.name}")
            return super().load()

    class Probe(Separator):
        def __init__(self, stft=None):
            self.stft = stft

        def source_names(self, n_channels=None, references=None):
            return ("tone", "clicks")

        def _estimate(self, X, *, y, sr, stft):
            log.append("separate")
            return Masks({"tone": np.full(X.shape, 0.5), "clicks": np.full(X.shape, 0.5)})

    tracks = (Logged(t.name, t.mixture, t.stems) for t in data)  # a generator: no len()
    stream = io.StringIO()
    table = evaluate(Probe(), tracks, metrics=["si_sdr"], progress=stream, as_frame=False)
    assert log == ["load track0", "separate", "load track1", "separate"]
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("[1] track0 Probe: si_sdr clicks ") and " s)" in lines[0]
    # a 0.5 mask is half the mixture: the SI-SDR of the mixture itself
    mixture, stems, _ = data["track1"].load()
    expected = metrics.si_sdr(stems["tone"].ravel(), mixture.ravel())
    assert _value(table, "Probe", "track1", "tone", "si_sdr") == pytest.approx(expected, abs=1e-3)


def test_progress_goes_to_stderr_and_can_be_silenced(stereo_data, capsys):
    data, _ = stereo_data
    evaluate("mixture", data, metrics=["snr"], as_frame=False)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert err[1].startswith("[2/2] track1 mixture: snr clicks -13.52, tone 13.52")
    evaluate("mixture", data, metrics=["snr"], as_frame=False, progress=False)
    assert capsys.readouterr().err == ""


def test_a_list_by_default_and_a_dataframe_with_as_frame(stereo_data, monkeypatch):
    # like scikit-learn's as_frame: the type returned is chosen by the caller, never by
    # whether pandas happens to be installed
    pd = pytest.importorskip("pandas")
    data, truth = stereo_data
    records = evaluate("mixture", data, metrics=["snr"], progress=False)
    assert isinstance(records, list) and len(records) == 2 * 2 + 2
    assert [records[0][f] for f in FIELDS[:4]] == ["mixture", "track0", "clicks", "snr"]
    stems = truth["track0"]
    mix = (stems["tone"] + stems["clicks"]).astype(np.float64)
    assert records[0]["value"] == pytest.approx(
        float(metrics.snr(stems["clicks"].ravel(), mix.ravel())), abs=1e-4)
    frame = evaluate("mixture", data, metrics=["snr"], progress=False, as_frame=True)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == list(FIELDS)
    assert frame.to_dict("records") == records
    assert frame["value"].dtype == np.float64


def test_as_frame_without_pandas_fails_before_any_work(stereo_data, monkeypatch):
    data, _ = stereo_data
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    records = evaluate("mixture", data, metrics=["snr"], progress=False)
    assert isinstance(records, list) and len(records) == 6  # the default needs no pandas
    stream = io.StringIO()
    with pytest.raises(ParameterError, match=r"as_frame=True: needs pandas, which is not "
                       r"installed \(pip install pandas\)"):
        evaluate("mixture", data, metrics=["snr"], progress=stream, as_frame=True)
    assert stream.getvalue() == ""  # no track was separated


def test_bad_arguments(stereo_data):
    data, _ = stereo_data
    hpss = ds.HPSS(kernel_size=17)
    with pytest.raises(ParameterError, match="unknown metric 'pesq'"):
        evaluate(hpss, data, metrics=["sdr", "pesq"])
    with pytest.raises(ParameterError, match="no name is shared, pass stem_map"):
        evaluate(hpss, data, progress=False)
    with pytest.raises(ParameterError, match="hpss has no source 'vocals'"):
        evaluate(hpss, data, stem_map={"vocals": "tone"}, progress=False)
    with pytest.raises(ParameterError, match="track 'track0' has no stem 'drums'"):
        evaluate(hpss, data, stem_map={"percussive": "drums"}, progress=False)
    with pytest.raises(ParameterError, match="two sources map to the same stem"):
        evaluate(hpss, data, stem_map={"harmonic": "tone", "percussive": "tone"})
    with pytest.raises(ParameterError, match="method='nope': unknown"):
        evaluate("nope", data)
    with pytest.raises(ParameterError, match="frame_seconds=0"):
        evaluate(hpss, data, frame_seconds=0)
    with pytest.raises(ParameterError, match="as_frame=None: must be True or False"):
        evaluate(hpss, data, as_frame=None)


def test_median_table_and_csv(tmp_path):
    rows = [dict(method=m, track=t, source="voice", metric=k, value=v)
            for m, t, k, v in [("a", "x", "sdr", 1.0), ("a", "y", "sdr", 3.0),
                               ("a", "z", "sdr", float("nan")), ("a", "x", "sir", -2.5),
                               ("oracle", "x", "sdr", 20.0), ("oracle", "y", "sdr", 10.0),
                               ("a", "z", "sdr", 5.0)]]
    rows[-1]["source"] = "drums"  # a source only some tracks have comes after the others
    rows.append(dict(method="a", track=MEDIAN, source="voice", metric="sdr", value=99.0))
    assert [r["value"] for r in medians(rows)] == [2.0, -2.5, 15.0, 5.0]  # median rows ignored
    text = median_table(rows, digits=1)
    assert text.splitlines() == [
        "median over 3 tracks",
        "method  source   sdr   sir",
        "a       voice    2.0  -2.5",
        "a       drums    5.0",
        "oracle  voice   15.0",
    ]
    path = tmp_path / "results.csv"
    to_csv(rows, path)
    with open(path, newline="") as f:
        back = list(csv.DictReader(f))
    assert len(back) == len(rows) and back[0] == {"method": "a", "track": "x", "source": "voice",
                                                  "metric": "sdr", "value": "1.0"}
    with pytest.raises(ParameterError, match="records"):
        median_table([{"track": "x"}])


def test_dataset_given_as_a_path(stereo_data):
    data, _ = stereo_data
    table = evaluate("mixture", str(data.root), metrics="snr", progress=False, as_frame=False,
                     medians=False)
    assert [r["track"] for r in table] == ["track0", "track0", "track1", "track1"]


# ----------------------------------------------------------------------------------------
# the `dsp-separate evaluate` command


@pytest.mark.parametrize("where", ["a folder", "missing folder", "under a file"])
def test_cli_unwritable_output_fails_before_any_work(stereo_data, tmp_path, capsys, where):
    from dsp_separate.cli import main

    data, _ = stereo_data
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file")
    output = {"a folder": tmp_path, "missing folder": tmp_path / "nope" / "scores.csv",
              "under a file": blocker / "scores.csv"}[where]
    code = main(["evaluate", "mixture", str(data.root), "--metrics", "snr", "-o", str(output)])
    captured = capsys.readouterr()
    assert code == 2
    # one line naming -o and the reason; no progress line, no median table: nothing ran
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith(f"dsp-separate: error: -o {output}: ")
    reason = {"a folder": "is a folder", "missing folder": "does not exist",
              "under a file": "is a file, not a folder"}[where]
    assert reason in captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_cli_frame_seconds_gives_the_framewise_medians(stereo_data, tmp_path, capsys):
    from dsp_separate.cli import main

    data, _ = stereo_data
    csv_path = tmp_path / "scores.csv"
    code = main(["evaluate", "hpss", str(data.root), "--map", "harmonic=tone",
                 "percussive=clicks", "--metrics", "sdr", "--frame-seconds", "0.25", "-q",
                 "-o", str(csv_path)])
    assert code == 0
    with open(csv_path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["track"] != MEDIAN]
    expected = evaluate(ds.HPSS(), data, metrics=["sdr"], progress=False, medians=False,
                        stem_map={"harmonic": "tone", "percussive": "clicks"},
                        frame_seconds=0.25)
    whole = evaluate(ds.HPSS(), data, metrics=["sdr"], progress=False, medians=False,
                     stem_map={"harmonic": "tone", "percussive": "clicks"})
    assert len(rows) == len(expected) == 4
    for row, want, other in zip(rows, expected, whole, strict=True):
        assert (row["track"], row["source"]) == (want["track"], want["source"])
        assert float(row["value"]) == pytest.approx(want["value"], abs=1e-9)
        assert abs(want["value"] - other["value"]) > 1e-3  # framewise differs from whole
    capsys.readouterr()
    assert main(["evaluate", "hpss", str(data.root), "--window", "0.25"]) == 2
    assert "--window" in capsys.readouterr().err
