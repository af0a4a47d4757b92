"""The dsp-separate command: demo, list, a method, and exit status 2 on bad input."""

import subprocess
import sys

import numpy as np
import pytest

import dsp_separate as ds
from dsp_separate.cli import main


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
        (["hpss"], "required"),
        (["nomethod"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, argv, match, capsys):
    src = tmp_path / "ok.wav"
    ds.save(src, np.zeros(4000, np.float32), 8000)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"garbage" * 20)
    argv = [a.format(src=src, out=tmp_path / "o", bad=bad) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if "error" in line]
    assert len(errors) == 1 and match in errors[0]
    assert not any("Traceback" in line for line in err)


def test_console_script_entry_point(tmp_path):
    out = subprocess.run([sys.executable, "-m", "dsp_separate.cli", "hpss", "nofile.wav",
                          "-o", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "nofile.wav" in out.stderr


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
