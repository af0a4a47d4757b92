"""The dsp-separate command: demo, list, a method, and exit status 2 on bad input."""

import inspect
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import dsp_separate as ds
from dsp_separate import cli
from dsp_separate.cli import main

REPO = Path(__file__).resolve().parents[1]
PACKAGE_ROOT = Path(ds.__file__).resolve().parents[1]  # where the tested dsp_separate lives
QUICK = ["--n-fft", "512", "--hop-length", "128", "--kernel-size", "17,9", "-q"]


def _mixture(seconds=1.0, sr=8000, seed=0, n_channels=1):
    from dsp_separate.synth import harmonic_percussive_mixture

    y, _ = harmonic_percussive_mixture(sr=sr, seconds=seconds, seed=seed, n_channels=n_channels)
    return y


def test_demo_writes_files_and_prints_si_sdr(tmp_path, capsys):
    assert main(["demo", "-o", str(tmp_path), "--seconds", "3", "-q"]) == 0
    out = capsys.readouterr().out
    rows = {line.split("|")[1].strip(): line for line in out.splitlines() if "| harm" in line
            or "| perc" in line}
    assert set(rows) == {"harmonic", "percussive"}
    for line in rows.values():
        si_sdr, base, gain = (float(v) for v in line.split("|")[2:5])
        assert si_sdr > 10 and gain > 10
    for name in ("mixture", "true_harmonic", "estimate_harmonic", "estimate_percussive"):
        assert (tmp_path / f"{name}.wav").exists()


def test_list_has_one_line_per_method(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(ds.available_separators())
    assert any(line.startswith("hpss ") for line in lines)


def test_method_writes_stem_named_files(tmp_path, capsys):
    from dsp_separate.synth import harmonic_percussive_mixture

    y, _ = harmonic_percussive_mixture(sr=8000, seconds=2.0, n_channels=2)
    src = tmp_path / "song.wav"
    ds.save(src, y, 8000, subtype="FLOAT")
    out = tmp_path / "out"
    code = main(["hpss", str(src), "-o", str(out), "--margin", "2", "--kernel-size", "17,9",
                 "--n-fft", "512", "--hop-length", "128", "-q"])
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["song_harmonic.wav", "song_percussive.wav", "song_residual.wav"]
    parts = [ds.load(out / n)[0] for n in names]
    assert all(p.shape == (2, 16000) for p in parts)
    expected = ds.HPSS(margin=2, kernel_size=(17, 9),
                       stft=ds.STFT(512, 128)).separate(y, 8000)
    np.testing.assert_allclose(parts[0], expected["harmonic"], atol=2 / 32768)


@pytest.mark.parametrize(
    "argv, match",
    [
        (["hpss", "missing.wav", "-o", "x"], "missing.wav: no such file"),
        (["hpss", "{src}", "-o", "{out}", "--margin", "0.5"], "margin=0.5"),
        (["hpss", "{src}", "-o", "{out}", "--hop-length", "0"], "hop_length=0"),
        (["hpss", "{bad}", "-o", "{out}"], "bad.wav: cannot be read"),
        (["hpss", "{nan}", "-o", "{out}"], "nan.wav: holds 1 NaN"),
        (["hpss", "{folder}", "-o", "{out}"], "folder: is a folder, not an audio file"),
        (["hpss", "/dev/null", "-o", "{out}"], "/dev/null: is a device"),
        (["hpss", "{src}", "{src}", "-o", "{out}"], "given twice"),
        (["hpss", "{src}", "-o", "{out}", "--format", "flac", "--subtype", "float"],
         "--subtype FLOAT: not available for --format flac"),
        (["hpss", "{src}", "-o", "{src}/sub"], "cannot be created: "),
        (["hpss"], "required"),
        (["nomethod"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, argv, match, capsys):
    src = tmp_path / "ok.wav"
    ds.save(src, np.zeros(4000, np.float32), 8000)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"garbage" * 20)
    nan = tmp_path / "nan.wav"
    sf.write(nan, np.where(np.arange(4000) == 99, np.nan, 0.0), 8000, subtype="FLOAT")
    (tmp_path / "folder").mkdir()
    argv = [a.format(src=src, out=tmp_path / "o", bad=bad, nan=nan, folder=tmp_path / "folder")
            for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if "error" in line]
    assert len(errors) == 1 and match in errors[0]
    assert not any("Traceback" in line for line in err)
    assert not (tmp_path / "o").exists()  # refused before any work


def test_console_script_entry_point(tmp_path):
    out = subprocess.run([sys.executable, "-m", "dsp_separate.cli", "hpss", "nofile.wav",
                          "-o", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "nofile.wav" in out.stderr


@pytest.mark.slow  # BSS Eval over a small dataset with the oracles: ~35 s
def test_evaluate_prints_medians_and_writes_csv(tmp_path, capsys):
    from dsp_separate.synth import harmonic_percussive_mixture

    for i in range(2):
        folder = tmp_path / "data" / f"track{i}"
        folder.mkdir(parents=True)
        y, truth = harmonic_percussive_mixture(sr=8000, seconds=2.0, seed=i)
        ds.save(folder / "mixture.wav", y, 8000, subtype="FLOAT")
        for name, audio in truth.items():
            ds.save(folder / f"{name}.wav", audio, 8000, subtype="FLOAT")
    csv = tmp_path / "scores.csv"
    code = main(["evaluate", "hpss", str(tmp_path / "data"), "--oracle", "--metrics", "sdr",
                 "si_sdr", "-o", str(csv), "-q"])
    assert code == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "median over 2 tracks"
    table = {tuple(line.split()[:2]): [float(v) for v in line.split()[2:]] for line in out[2:]}
    # oracle ratio masks beat HPSS, which beats the mixture itself, on both sources
    for source in ("harmonic", "percussive"):
        assert table[("irm", source)][0] > table[("hpss", source)][0]
        assert table[("hpss", source)][0] > table[("mixture", source)][0] + 3
    lines = csv.read_text().splitlines()
    assert lines[0].startswith("method,track,source,metric,value")
    assert len(lines) > 2 * 6 * 2 * 2  # tracks x methods x sources x metrics, + medians


def test_evaluate_bad_dataset_exits_2(tmp_path, capsys):
    assert main(["evaluate", "hpss", str(tmp_path / "none")]) == 2
    assert "none" in capsys.readouterr().err


def test_outputs_never_overwrite_inputs(tmp_path, capsys):
    first = tmp_path / "song.wav"
    second = tmp_path / "song_harmonic.wav"
    for path in (first, second):
        ds.save(path, np.zeros(8000, np.float32), 8000)
    before = second.read_bytes()
    code = main(["hpss", str(first), str(second), "-o", str(tmp_path), "-q"])
    assert code == 2
    assert "could overwrite this input" in capsys.readouterr().err
    assert second.read_bytes() == before


def test_outdir_that_is_a_file_and_bad_stft_fail_before_work(tmp_path, capsys):
    src = tmp_path / "ok.wav"
    ds.save(src, np.zeros(8000, np.float32), 8000)
    assert main(["hpss", str(src), "-o", str(src)]) == 2
    assert "must be a folder" in capsys.readouterr().err
    assert main(["hpss", str(src), "-o", str(tmp_path / "o"), "--hop-length", "4096"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "NOLA" in err[0]  # refused before reading the file
    assert not (tmp_path / "o").exists()
    assert main(["demo", "--seconds", "0", "-o", str(tmp_path / "d")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


# --------------------------------------------------------------------------- issue 6, item 2
def test_same_stem_inputs_get_distinct_outputs(tmp_path, capsys):
    # old code: both inputs wrote out/mixture_<source>.wav, the second overwrote the first
    mixes = {}
    for i, folder in enumerate(("a", "b")):
        (tmp_path / folder).mkdir()
        mixes[folder] = _mixture(seed=i)
        ds.save(tmp_path / folder / "mixture.wav", mixes[folder], 8000, subtype="FLOAT")
    out = tmp_path / "out"
    code = main(["hpss", str(tmp_path / "a" / "mixture.wav"), str(tmp_path / "b" / "mixture.wav"),
                 "-o", str(out), *QUICK])
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "a_mixture_harmonic.wav", "a_mixture_percussive.wav",
        "b_mixture_harmonic.wav", "b_mixture_percussive.wav"]
    for folder, y in mixes.items():
        total = sum(ds.load(out / f"{folder}_mixture_{n}.wav")[0][0]
                    for n in ("harmonic", "percussive"))
        np.testing.assert_allclose(total, y, atol=1e-4)
    assert len(capsys.readouterr().out.splitlines()) == 4


def test_output_labels_are_distinct_and_short():
    labels = cli._output_labels([Path("x/a/mix.wav"), Path("y/a/mix.wav"), Path("z/song.wav"),
                                 Path("z/song.flac"), Path("solo.wav")])
    assert labels == ["x_a_mix", "y_a_mix", "song_wav", "song_flac", "solo"]


def test_outputs_get_the_umask_mode(tmp_path):
    # old code: every output file was 0600 (temporary file renamed without fixing the mode)
    src = tmp_path / "s.wav"
    ds.save(src, _mixture(), 8000)
    old = os.umask(0o022)
    try:
        assert main(["hpss", str(src), "-o", str(tmp_path / "o"), *QUICK]) == 0
    finally:
        os.umask(old)
    modes = {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "o").iterdir()}
    assert modes == {0o644}


@pytest.mark.parametrize("given, expected", [("PCM_24", "PCM_24"), ("FLOAT", "FLOAT"),
                                             ("PCM_16", "PCM_16")])
def test_output_subtype_follows_the_input(tmp_path, given, expected):
    # old code: always 16-bit
    src = tmp_path / "s.wav"
    ds.save(src, 0.5 * _mixture(), 8000, subtype=given)
    assert main(["hpss", str(src), "-o", str(tmp_path / "o"), *QUICK]) == 0
    assert {sf.info(p).subtype for p in (tmp_path / "o").iterdir()} == {expected}
    # --subtype chooses; FLAC has no float, so float input gives 24-bit FLAC
    assert main(["hpss", str(src), "-o", str(tmp_path / "p"), "--subtype", "pcm_24", *QUICK]) == 0
    assert {sf.info(p).subtype for p in (tmp_path / "p").iterdir()} == {"PCM_24"}
    assert main(["hpss", str(src), "-o", str(tmp_path / "f"), "--format", "flac", *QUICK]) == 0
    flac = {"PCM_16": "PCM_16"}.get(given, "PCM_24")
    assert {sf.info(p).subtype for p in (tmp_path / "f").iterdir()} == {flac}


def test_loud_float_input_is_never_clipped(tmp_path, capsys):
    # old code: clipped at +-1 in 16-bit files, silently; sources no longer summed to the mix
    y = 8 * _mixture() / np.max(np.abs(_mixture()))
    src = tmp_path / "loud.wav"
    ds.save(src, y, 8000, subtype="FLOAT")
    # asked for 16-bit: one warning line, written as float, sums to the mixture
    assert main(["hpss", str(src), "-o", str(tmp_path / "o"), "--subtype", "PCM_16",
                 *QUICK]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "warning" in err[0] and "loud.wav" in err[0] and "FLOAT" in err[0]
    parts = [ds.load(p)[0] for p in sorted((tmp_path / "o").iterdir())]
    assert {sf.info(p).subtype for p in (tmp_path / "o").iterdir()} == {"FLOAT"}
    np.testing.assert_allclose(sum(parts)[0], y, atol=1e-4)
    # FLAC has no float: every source scaled by the same factor, said once
    assert main(["hpss", str(src), "-o", str(tmp_path / "f"), "--format", "flac",
                 *QUICK]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "scaled by" in err[0]
    factor = float(err[0].split("scaled by ")[1].split()[0])
    assert 0.1 < factor < 0.2
    parts = [ds.load(p)[0] for p in sorted((tmp_path / "f").iterdir())]
    assert max(np.max(np.abs(p)) for p in parts) <= 1.0
    np.testing.assert_allclose(sum(parts)[0], factor * y, atol=1e-4)


def test_batch_goes_on_past_bad_files_and_exits_2(tmp_path, capsys):
    # old code: the first bad file stopped the batch
    good = [tmp_path / "good1.wav", tmp_path / "good2.wav"]
    for path in good:
        ds.save(path, _mixture(), 8000)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF" + b"x" * 100)
    nan = tmp_path / "nan.wav"
    sf.write(nan, np.where(np.arange(8000) == 10, np.inf, 0.0), 8000, subtype="FLOAT")
    out = tmp_path / "o"
    code = main(["hpss", str(good[0]), str(corrupt), str(nan), str(good[1]), "-o", str(out),
                 *QUICK])
    assert code == 2
    assert sorted(p.name for p in out.iterdir()) == [
        "good1_harmonic.wav", "good1_percussive.wav", "good2_harmonic.wav",
        "good2_percussive.wav"]
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if "error:" in line]
    assert len(errors) == 2
    assert "corrupt.wav: cannot be read" in errors[0]
    assert "nan.wav: holds 1 NaN or infinite sample(s)" in errors[1]
    assert err[-1] == "dsp-separate: 2 of 4 inputs failed (see above)"


def test_broken_pipe_exits_quietly():
    # old code: "[Errno 32] Broken pipe" on stderr and a non-zero exit
    proc = subprocess.Popen([sys.executable, "-m", "dsp_separate.cli", "list"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=PACKAGE_ROOT)
    proc.stdout.close()  # the reader goes away before anything is written
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0
    assert err == b""


def test_unwritable_outdir_is_refused_before_work(tmp_path, capsys):
    src = tmp_path / "s.wav"
    ds.save(src, _mixture(), 8000)
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        target = locked / "out"
    elif os.path.isdir("/proc/self") and not os.access("/proc/self", os.W_OK):
        target = Path("/proc/self/out")  # not writable even for root
    else:
        pytest.skip("running as root without a read-only folder to try")
    assert main(["hpss", str(src), "-o", str(target), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not writable" in err[0] and str(target) in err[0]


def test_progress_for_inputs_longer_than_a_minute(tmp_path, capsys, monkeypatch):
    # old code: nothing on stderr between "read" and "done", 88 s on a 30-minute file
    sr = 1000
    src = tmp_path / "long.wav"
    ds.save(src, 0.1 * np.sin(np.arange(61 * sr) * 0.3).astype(np.float32), sr)
    original = ds.HPSS.separate

    def slow(self, y, sr, **kwargs):
        time.sleep(0.5)
        return original(self, y, sr, **kwargs)

    monkeypatch.setattr(ds.HPSS, "separate", slow)
    monkeypatch.setattr(cli, "HEARTBEAT_SECONDS", 0.1)
    # a method that needs the whole signal (Wiener refinement): a heartbeat while it runs
    assert main(["hpss", str(src), "-o", str(tmp_path / "o"), "--n-fft", "256",
                 "--hop-length", "64", "--wiener-iterations", "1"]) == 0
    err = capsys.readouterr().err
    assert "reading 1.0 min" in err
    assert err.count("still running") >= 2
    assert "wrote 2 of 2" in err
    # a method that runs block by block: one line per block read (10 s blocks)
    assert main(["hpss", str(src), "-o", str(tmp_path / "b"), "--n-fft", "256",
                 "--hop-length", "64"]) == 0
    err = capsys.readouterr().err
    assert "block by block" in err
    assert [line.split(": hpss: ")[1] for line in err.splitlines() if ": hpss: " in line] == [
        "10 of 61 s", "20 of 61 s", "30 of 61 s", "40 of 61 s", "50 of 61 s", "60 of 61 s",
        "61 of 61 s"]
    # and none for short inputs
    short = tmp_path / "short.wav"
    ds.save(short, np.zeros(2 * sr, np.float32), sr)
    assert main(["hpss", str(short), "-o", str(tmp_path / "p"), "--n-fft", "256",
                 "--hop-length", "64"]) == 0
    assert "still running" not in capsys.readouterr().err


def _is_oracle(cls) -> bool:
    return bool(getattr(getattr(cls, "tags", cls), "needs_references", False))


@pytest.mark.parametrize("name", [n for n, c in ds.available_separators().items()
                                  if not _is_oracle(c)])
def test_help_is_plain_words_with_choices_and_defaults(name, capsys):
    # old code: ":math:`\\beta \\ge 1`", "``power``", and --mask without its choices
    with pytest.raises(SystemExit) as stop:
        main([name, "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    for markup in ("`", ":math:", ":func:", ":class:", "\\", "{\"", ":meth:"):
        assert markup not in text, markup
    assert text.count("default:") >= len(inspect.signature(
        ds.get_separator(name).__init__).parameters) - 2  # self, stft
    if name == "hpss":
        assert "--mask {soft,binary}" in text
        assert "choices: soft, binary; default: soft" in text
        assert "beta >= 1" in text
    if name == "log_mmse":  # TeX fonts and literal braces: "mathrmIDFTG Y" before
        assert "IDFT(G Y)" in " ".join(text.split()) and "mathrm" not in text


def test_method_table_read_from_source_matches_the_registry():
    table = cli._method_table()
    registry = ds.available_separators()
    assert set(table) == set(registry)
    for name, cls in registry.items():
        info = table[name]
        assert info.summary == cls.summary
        assert info.needs_references == _is_oracle(cls)
        assert info.params == tuple(inspect.signature(cls.__init__).parameters)[1:]


WRAPPER = textwrap.dedent("""
    import sys, time
    t0 = time.perf_counter()
    from dsp_separate.cli import main
    code = main(sys.argv[1:])
    took = time.perf_counter() - t0
    heavy = [m for m in ("numpy", "scipy", "numba", "sklearn", "librosa", "soundfile")
             if m in sys.modules]
    print(",".join(heavy) or "-", f"{took:.3f}")
    sys.exit(code)
""")


@pytest.mark.parametrize("argv", [
    ["hpss", "missing.wav", "-o", "out"],
    ["hpss", "/dev/null", "-o", "out"],
    ["hpss", ".", "-o", "out"],
    ["hpss", "x.wav", "-o", "out", "--format", "flac", "--subtype", "FLOAT"],
    ["hpss", "--no-such-option", "x.wav", "-o", "out"],
    ["hpss", "x.wav", "-o", "out", "--mask", "foo"],
    ["hpss", "x.wav", "-o", "out", "--sr", "0"],
    ["demo", "-o", "x.wav"],
    ["demo", "--seconds", "0"],
    ["nomethod", "x.wav"],
])
def test_usage_errors_import_nothing_heavy(tmp_path, argv):
    # old code: building the parser imported every separator (numpy, scipy, numba, sklearn):
    # 1.6-3.7 s for an immediate error
    (tmp_path / "x.wav").write_bytes(b"RIFF")
    script = tmp_path / "wrapper.py"
    script.write_text(WRAPPER)
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT))
    out = subprocess.run([sys.executable, str(script), *argv], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path, env=env)
    assert out.returncode == 2
    heavy, took = out.stdout.split()
    assert heavy == "-", f"imported {heavy} before refusing the arguments"
    assert float(took) < 1.0  # about 0.05 s; generous for a busy machine
    assert len(out.stderr.strip().splitlines()) == 1


def test_out_of_memory_is_one_line_with_what_fits(tmp_path, capsys, monkeypatch):
    # old code: a raw MemoryError traceback, exit status 1 and an empty output folder
    src = tmp_path / "s.wav"
    ds.save(src, _mixture(n_channels=2), 8000)

    def no_memory(self, y, sr, **kwargs):
        raise MemoryError

    monkeypatch.setattr(ds.HPSS, "separate", no_memory)
    # HPSS with Wiener refinement needs the whole signal (without, it runs block by block)
    assert main(["hpss", str(src), "-o", str(tmp_path / "o"), "-q",
                 "--wiener-iterations", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    line = err[0]
    assert line.startswith("dsp-separate: error: ") and "s.wav: out of memory" in line
    assert "2-channel audio at 8000 Hz" in line
    available = cli._memory_available()
    if available:
        value, unit = line.split("inputs up to about ")[1].split()[:2]
        seconds = float(value) * (60 if unit == "min" else 1)
        expected = available / (cli.MEMORY_FACTORS["hpss"] * 4 * 2 * 8000)
        assert seconds == pytest.approx(expected, rel=0.2)
    assert not (tmp_path / "o").exists()  # no empty output folder left behind


def test_demo_folder_is_ignored_by_git():
    # old code: .gitignore did not list dsp_separate_demo/
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", "check-ignore", "-q", "dsp_separate_demo/mixture.wav"],
                         cwd=REPO, capture_output=True)
    assert out.returncode == 0


def test_installed_console_script(tmp_path):
    # old code: the tests only ran `python -m dsp_separate.cli`, never the installed script
    src = tmp_path / "song.wav"
    ds.save(src, _mixture(), 8000, subtype="PCM_24")
    script = shutil.which("dsp-separate")
    if script is None:
        command = [sys.executable, "-m", "dsp_separate.cli"]
    else:
        command = [script]
    out = subprocess.run([*command, "hpss", str(src), "-o", str(tmp_path / "o"), *QUICK],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(tmp_path / "o" / f"song_{n}.wav")
                                  for n in ("harmonic", "percussive")]
    assert {sf.info(p).subtype for p in (tmp_path / "o").iterdir()} == {"PCM_24"}
    bad = subprocess.run([*command, "hpss", "nofile.wav", "-o", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr == "dsp-separate: error: nofile.wav: no such file\n"
    if script is None:
        pytest.skip("the dsp-separate script is not installed (pip install .); "
                    "ran python -m dsp_separate.cli instead")


def test_model_file_gives_the_trained_separator(tmp_path, capsys, monkeypatch):
    """--model loads a separator written by save_model; options override its parameters."""
    src = tmp_path / "s.wav"
    ds.save(src, _mixture(n_channels=2), 8000)
    model = tmp_path / "hpss.npz"
    ds.save_model(ds.HPSS(margin=2.0, kernel_size=17), model)
    assert main(["hpss", str(src), "-o", str(tmp_path / "o"), "-q", "--model", str(model)]) == 0
    out = capsys.readouterr().out.split()
    assert [Path(p).name for p in out] == ["s_harmonic.wav", "s_percussive.wav", "s_residual.wav"]
    # an option given on the command line wins over the model's value
    assert main(["hpss", str(src), "-o", str(tmp_path / "p"), "-q", "--model", str(model),
                 "--margin", "1.0"]) == 0
    assert len(capsys.readouterr().out.split()) == 2
    # a model of another method, and a method that needs one but gets none
    ds.save_model(ds.MultichannelWiener(), tmp_path / "w.npz")
    assert main(["hpss", str(src), "-o", str(tmp_path / "q"), "--model",
                 str(tmp_path / "w.npz")]) == 2
    assert "not a HPSS" in capsys.readouterr().err
    from dsp_separate.base import Tags

    monkeypatch.setattr(ds.HPSS, "tags", Tags(requires_fit=True, streaming="bounded"))
    assert main(["hpss", str(src), "-o", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--model FILE" in err[0]
    assert not (tmp_path / "r").exists()


def test_every_registered_method_builds_its_sub_command():
    """A method parameter that shadows a shared option (e.g. the STFT's --window) would
    make argparse fail for every command: build each method's full parser."""
    for name, cls in ds.available_separators().items():
        if cls.tags.needs_references:
            continue
        parser = cli.build_parser(name)
        with pytest.raises(SystemExit) as exc:
            parser.parse_args([name, "--help"])
        assert exc.value.code == 0, name


def test_model_file_with_stft_options_uses_them(tmp_path, capsys):
    """STFT options given with --model override the model's transform (they were ignored)."""
    src = tmp_path / "s.wav"
    ds.save(src, _mixture(n_channels=2), 8000, subtype="FLOAT")
    model = tmp_path / "h.npz"
    ds.save_model(ds.HPSS(margin=3.0), model)
    assert main(["hpss", str(src), "-o", str(tmp_path / "a"), "-q", "--model", str(model)]) == 0
    assert main(["hpss", str(src), "-o", str(tmp_path / "b"), "-q", "--model", str(model),
                 "--n-fft", "256", "--hop-length", "64"]) == 0
    capsys.readouterr()
    a, _ = ds.load(tmp_path / "a" / "s_harmonic.wav")
    b, _ = ds.load(tmp_path / "b" / "s_harmonic.wav")
    expected = ds.HPSS(margin=3.0, stft=dict(n_fft=256, hop_length=64)).separate(
        ds.load(src)[0], 8000)["harmonic"]
    np.testing.assert_allclose(b, expected, atol=1e-6)
    assert np.abs(a - b).max() > 1e-3


def test_failed_run_leaves_no_folder_it_created(tmp_path, capsys):
    """-o a/b/c on a failing input: none of a, a/b, a/b/c is left behind."""
    bad = tmp_path / "nan.wav"
    import soundfile as sf

    sf.write(bad, np.full(800, np.nan, np.float32), 8000, subtype="FLOAT")
    assert main(["hpss", str(bad), "-o", str(tmp_path / "a" / "b" / "c"), "-q"]) == 2
    assert "nan.wav" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()


def _two_voices(sr=8000):
    """Two harmonic voices, A3 in the first half and E5 in the second, and their score."""
    t = np.arange(2 * sr) / sr
    low = sum(np.sin(2 * np.pi * 220 * h * t) / h for h in range(1, 5)) * (t < 1.0)
    high = sum(np.sin(2 * np.pi * 659.26 * h * t) / h for h in range(1, 4)) * (t >= 1.0)
    return 0.2 * low, 0.2 * high


def test_score_informed_method_takes_score_file(tmp_path, capsys):
    from dsp_separate.metrics import si_sdr

    low, high = _two_voices()
    src = tmp_path / "duet.wav"
    sf.write(src, (low + high).astype(np.float32), 8000, subtype="FLOAT")
    score = tmp_path / "duet.csv"
    score.write_text("source,onset_s,offset_s,midi_pitch\n"
                     "low,0.0,1.0,57  # A3\n"
                     "high,1.0,2.0,76\n")
    out = tmp_path / "out"
    code = main(["score_nmf", str(src), "--score", str(score), "-o", str(out), "-q",
                 "--n-fft", "512", "--hop-length", "128"])
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["duet_high.wav", "duet_low.wav"]
    est_low, _ = sf.read(out / "duet_low.wav")
    est_high, _ = sf.read(out / "duet_high.wav")
    assert float(si_sdr(low, est_low)) > 15.0
    assert float(si_sdr(high, est_high)) > 15.0


@pytest.mark.parametrize("text, match", [
    (None, "--score .*missing.csv: no such file"),
    ("low,0.0,one,57\n", "line 1: .* is not source,onset_s,offset_s,midi_pitch"),
    ("# nothing\n", "holds no notes"),
])
def test_score_problems_exit_2_with_one_line(tmp_path, capsys, text, match):
    src = tmp_path / "duet.wav"
    sf.write(src, np.zeros(8000, dtype=np.float32), 8000)
    score = tmp_path / "missing.csv"
    if text is not None:
        score.write_text(text)
    assert main(["score_nmf", str(src), "--score", str(score), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    import re

    assert re.search(match, err), err


def test_score_informed_method_requires_score(tmp_path, capsys):
    src = tmp_path / "duet.wav"
    sf.write(src, np.zeros(8000, dtype=np.float32), 8000)
    assert main(["score_nmf", str(src), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--score" in err and len(err.splitlines()) == 1


def test_no_method_parameter_reuses_a_common_option():
    # a method parameter named like a common option (--model, --sr, ...) breaks argparse
    # for every sub-command; the parser names the method and the parameter instead
    import inspect

    from dsp_separate import cli
    from dsp_separate.separators import available_separators, get_separator

    for name in available_separators():
        cls = get_separator(name)
        params = set(inspect.signature(cls.__init__).parameters) - {"self"}
        assert not params & cli._RESERVED, (name, params & cli._RESERVED)
    with pytest.raises(RuntimeError, match="'demo_method' has a parameter 'model'"):
        cli._check_param_name("demo_method", "model")


def _one_note_midi(path, pitch):
    """A format-0 MIDI file of one half-second note (480 ticks at 120 bpm)."""
    track = bytes([0, 0x90, pitch, 100, 0x83, 0x60, 0x80, pitch, 0, 0, 0xFF, 0x2F, 0])
    path.write_bytes(b"MThd" + bytes([0, 0, 0, 6, 0, 0, 0, 1, 1, 0xE0])
                     + b"MTrk" + len(track).to_bytes(4, "big") + track)
    return path


def test_one_midi_file_per_source_names_the_sources(tmp_path):
    files = [_one_note_midi(tmp_path / "flute.mid", 72),
             _one_note_midi(tmp_path / "cello.mid", 48)]
    notes = cli._read_scores(files)
    assert list(notes) == ["flute", "cello"]
    np.testing.assert_allclose(notes["cello"], [[0.0, 0.5, 48.0]])
    notes = cli._read_scores(files[:1])  # a single MIDI file: one source per track
    assert list(notes) == ["track_0"]
    with pytest.raises(cli._UsageError, match="same name"):
        cli._read_scores([files[0], files[0]])


def test_stft_options_only_when_given():
    # without STFT options a method keeps its own default STFT (IVA's ~256 ms, the
    # enhancement methods' milliseconds); given ones fill the rest from n_fft
    parser = cli.build_parser()
    args = parser.parse_args(["auxiva", "x.wav", "-o", "out"])
    assert not cli._stft_given(args)
    args = parser.parse_args(["auxiva", "x.wav", "-o", "out", "--n-fft", "512"])
    assert cli._stft_given(args)
    stft = cli._stft_from_args(args)
    assert (stft.n_fft, stft.hop_length, stft.win_length) == (512, 128, 512)


@pytest.mark.parametrize("command", [["denoise"], ["hpss", *QUICK]])
def test_audio_above_the_amplitude_bound_exits_2_naming_the_file(tmp_path, capsys, command):
    """A float WAV louder than float32's bound: status 2, one error line naming the file
    and its audio's peak (not the runner's internal block), and no output folder left."""
    loud = tmp_path / "loud.wav"
    noise = np.random.default_rng(0).standard_normal((8000, 2)) * 1e31
    sf.write(loud, noise.astype(np.float32), 8000, subtype="FLOAT")
    out = tmp_path / "out" / "deep"
    assert main([command[0], str(loud), "-o", str(out), *command[1:]]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1
    assert str(loud) in errors[0] and "peak" in errors[0] and "above 1e+30" in errors[0]
    assert "block=" not in errors[0]
    assert not (tmp_path / "out").exists()
