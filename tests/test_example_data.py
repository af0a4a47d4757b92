"""The example clips that ship inside the package (ds.example)."""

import configparser
import fnmatch
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import dsp_separate as ds
from dsp_separate import ParameterError

DATA = Path(ds.__file__).parent / "data"
EXPECTED = {  # name: (sr, n_channels, seconds, stems)
    "hpss": (22050, 1, 5.0, ["harmonic", "percussive"]),
    "repet": (22050, 1, 8.5, ["background", "foreground"]),
    "instruments": (22050, 1, 4.0, ["soprano", "alto", "tenor", "bass"]),
    "speech": (16000, 1, 5.0, ["speech", "noise"]),
    "mc_instantaneous": (16000, 2, 4.0, ["src0", "src1"]),
    "mc_anechoic": (16000, 2, 4.0, ["src0", "src1", "src2"]),
    "mc_convolutive": (16000, 2, 4.0, ["src0", "src1"]),
}


def test_names_in_order_with_descriptions():
    names = ds.examples()
    assert list(names) == list(EXPECTED)
    assert all(isinstance(d, str) and len(d) > 20 for d in names.values())


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_clip_is_the_exact_sum_of_its_stems(name):
    sr_want, n_ch, seconds, stem_names = EXPECTED[name]
    y, stems, sr = ds.example(name, stems=True)
    assert sr == sr_want
    shape = (round(seconds * sr),) if n_ch == 1 else (n_ch, round(seconds * sr))
    assert y.shape == shape and y.dtype == np.float32
    assert list(stems) == stem_names
    assert all(s.shape == shape and s.dtype == np.float32 for s in stems.values())
    assert np.array_equal(y, np.sum(list(stems.values()), axis=0))  # exact, by construction
    assert np.isfinite(y).all() and 0.3 < np.abs(y).max() < 1.0
    for s in stems.values():  # every stem is audible in the clip (rms above -40 dBFS)
        assert 20 * np.log10(np.sqrt(np.mean(s.astype(np.float64) ** 2))) > -40
    y2, sr2 = ds.example(name)
    assert sr2 == sr and np.array_equal(y2, y)


def test_float64_and_fresh_copies():
    y64, sr = ds.example("hpss", dtype=np.float64)
    y32, _ = ds.example("hpss")
    assert y64.dtype == np.float64 and np.array_equal(y64, y32.astype(np.float64))
    y32[:] = 0  # the caller owns what it gets: the next call is not affected
    again, _ = ds.example("hpss")
    assert np.array_equal(again, y64.astype(np.float32))
    assert again.flags.writeable


def test_info_matches_the_files_and_is_a_copy():
    info = ds.example_info("repet")
    assert info["sr"] == 22050 and info["sources"] == ["background", "foreground"]
    assert abs(info["repeating_period_s"] - 2.823529) < 1e-6
    assert "repet_01_bwv113-8_trumpet" in info["provenance"]
    assert "FluidR3_GM" in info["licence"] and "MIT" in info["licence"]
    assert "Harvard" in ds.example_info("speech")["licence"]
    info["sources"].append("x")
    assert ds.example_info("repet")["sources"] == ["background", "foreground"]
    assert ds.example_info("mc_instantaneous")["mixing_matrix"][0][0] == pytest.approx(
        -0.28995628)


def test_training_examples_keyed_like_the_stems():
    train, sr = ds.example_training("instruments")
    assert sr == 22050 and list(train) == ["soprano", "alto", "tenor", "bass"]
    for x in train.values():
        assert x.ndim == 1 and x.dtype == np.float32 and 2.5 * sr < x.size < 5 * sr
        assert np.isfinite(x).all() and np.abs(x).max() > 0.1


def test_bad_input():
    with pytest.raises(ParameterError, match=r"name='nope': must be one of hpss, repet"):
        ds.example("nope")
    with pytest.raises(ParameterError, match=r"name=3: must be one of"):
        ds.example_info(3)
    with pytest.raises(ParameterError, match=r"stems='yes': must be True or False"):
        ds.example("hpss", stems="yes")
    with pytest.raises(ParameterError, match=r"dtype=.*int16.*: must be np.float32"):
        ds.example("hpss", dtype=np.int16)
    with pytest.raises(ParameterError, match=r"name='hpss': has no training examples"):
        ds.example_training("hpss")


def test_every_data_file_is_declared_as_package_data():
    """A clip that setup.cfg does not list would be missing from `pip install .`."""
    root = Path(__file__).parents[1]
    cfg = configparser.ConfigParser()
    cfg.read(root / "setup.cfg")
    patterns = [p.strip() for p in cfg["options.package_data"]["dsp_separate"].split(",")]
    source = root / "dsp_separate" / "data"  # the tree's files, whichever copy is imported
    shipped = [p.relative_to(source.parent).as_posix() for p in source.rglob("*")
               if p.is_file() and p.suffix in (".flac", ".json", ".md")]
    assert len(shipped) >= 20
    missing = [f for f in shipped if not any(fnmatch.fnmatchcase(f, p) for p in patterns)]
    assert missing == []
    index = json.loads((DATA / "examples.json").read_text())
    for name, entry in index.items():
        for stem in entry["sources"]:
            assert (DATA / name / f"{stem}.flac").is_file()
    total = sum((DATA / f).stat().st_size for f in
                (p.relative_to(DATA) for p in DATA.rglob("*.flac")))
    assert total < 3_000_000  # the package stays small


def test_loading_examples_keeps_the_import_light():
    code = ("import sys, dsp_separate as ds; ds.example('speech'); "
            "print(sorted(m for m in ('matplotlib', 'librosa', 'numba', 'sklearn') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
