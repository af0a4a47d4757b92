"""Datasets: folder (MUSDB18-HQ) and manifest layouts, built in tmp_path with soundfile."""

import json

import numpy as np
import pytest
import soundfile as sf

from dsp_separate.datasets import FolderDataset, ManifestDataset, Track, open_dataset
from dsp_separate.exceptions import AudioFileError, ParameterError

SR = 8000
MUSDB = ("vocals", "drums", "bass", "other")


def _write(path, x, sr=SR):
    path.parent.mkdir(parents=True, exist_ok=True)
    subtype = "PCM_24" if path.suffix == ".flac" else "FLOAT"  # FLAC has no float subtype
    sf.write(str(path), np.asarray(x).T, sr, subtype=subtype)


def _musdb(root, n_tracks=2, n=2000, seed=0, ext="wav"):
    """MUSDB18-HQ-like folders; returns {track: {stem: array}} (mixture under 'mixture')."""
    rng = np.random.default_rng(seed)
    truth = {}
    for i in range(n_tracks):
        folder = root / f"Artist {i} - Song"
        stems = {s: (0.1 * rng.standard_normal((2, n))).astype(np.float32) for s in MUSDB}
        for s, x in stems.items():
            _write(folder / f"{s}.{ext}", x)
        mixture = sum(stems.values())
        _write(folder / f"mixture.{ext}", mixture)
        truth[folder.name] = dict(stems, mixture=mixture)
    return truth


def test_folder_dataset_reads_musdb_layout(tmp_path):
    truth = _musdb(tmp_path)
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "notes").mkdir()  # no audio: skipped
    (tmp_path / "notes" / "readme.txt").write_text("x")
    data = FolderDataset(tmp_path)
    assert len(data) == 2 and data.names == tuple(sorted(truth))
    track = data["Artist 1 - Song"]
    assert track is data[1]
    assert track.stem_names == tuple(sorted(MUSDB))  # alphabetical by default
    mixture, stems, sr = track.load()
    assert sr == SR and mixture.dtype == np.float32 and mixture.shape == (2, 2000)
    np.testing.assert_array_equal(mixture, truth[track.name]["mixture"])
    for s in MUSDB:
        np.testing.assert_array_equal(stems[s], truth[track.name][s])


def test_stem_selection_order_and_derived_accompaniment(tmp_path):
    truth = _musdb(tmp_path, n_tracks=1)
    name = next(iter(truth))
    expected_acc = truth[name]["drums"] + truth[name]["bass"] + truth[name]["other"]
    data = FolderDataset(tmp_path, stems=["vocals", "accompaniment"])
    assert data[0].stem_names == ("vocals", "accompaniment")
    mixture, stems, _ = data[0].load()
    assert list(stems) == ["vocals", "accompaniment"]
    np.testing.assert_allclose(stems["accompaniment"], expected_acc, atol=1e-7)
    np.testing.assert_allclose(stems["vocals"] + stems["accompaniment"], mixture, atol=1e-6)
    # accompaniment=True appends it after every file stem
    data = FolderDataset(tmp_path, accompaniment=True)
    assert data[0].stem_names == ("bass", "drums", "other", "vocals", "accompaniment")
    # explicit order is kept
    data = FolderDataset(tmp_path, stems=("drums", "vocals"))
    assert list(data[0].load()[1]) == ["drums", "vocals"]
    # an accompaniment file, when present, is used as it is
    _write(tmp_path / name / "accompaniment.wav", np.zeros((2, 2000), np.float32))
    _, stems, _ = FolderDataset(tmp_path, stems=["vocals", "accompaniment"])[0].load()
    assert np.all(stems["accompaniment"] == 0)


def test_stems_subfolder_layout(tmp_path):
    x = np.linspace(-0.5, 0.5, 1000, dtype=np.float32)[None]
    _write(tmp_path / "item" / "mixture.flac", 2 * x)
    _write(tmp_path / "item" / "stems" / "speech.wav", x)
    _write(tmp_path / "item" / "stems" / "noise.wav", x)
    (tmp_path / "item" / "meta.json").write_text("{}")
    data = FolderDataset(tmp_path)
    assert data[0].stem_names == ("noise", "speech")
    _, stems, _ = data[0].load()
    assert stems["speech"].shape == (1, 1000)


def test_folder_errors_name_the_file(tmp_path):
    with pytest.raises(AudioFileError, match="no such folder"):
        FolderDataset(tmp_path / "nope")
    with pytest.raises(AudioFileError, match="no track folders.*train/ or test/"):
        FolderDataset(tmp_path)
    _musdb(tmp_path / "musdb", n_tracks=1)
    with pytest.raises(AudioFileError, match="no track folders"):
        FolderDataset(tmp_path / "musdb" / "..")  # tracks one level deeper: none here
    _write(tmp_path / "lonely" / "only" / "mixture.wav", np.zeros((1, 10), np.float32))
    with pytest.raises(AudioFileError, match=r"only: has mixture\.wav but no stem files"):
        FolderDataset(tmp_path / "lonely")
    (tmp_path / "musdb" / "Artist 0 - Song" / "mixture.wav").unlink()
    with pytest.raises(AudioFileError, match=r"Artist 0 - Song/mixture\.<wav\|flac"):
        FolderDataset(tmp_path / "musdb")


def test_missing_stem_and_inconsistent_tracks(tmp_path):
    truth = _musdb(tmp_path)
    first, second = sorted(truth)
    with pytest.raises(AudioFileError, match=r"Song/piano\.<ext>: missing"):
        FolderDataset(tmp_path, stems=["vocals", "piano"])
    (tmp_path / second / "bass.wav").unlink()
    with pytest.raises(AudioFileError, match="differ from those of the first track"):
        FolderDataset(tmp_path)
    with pytest.raises(AudioFileError, match=rf"{second}/bass\.<ext>: missing"):
        FolderDataset(tmp_path, stems=["bass"])
    _write(tmp_path / first / "vocals.flac", truth[first]["vocals"])
    with pytest.raises(AudioFileError, match="two files for 'vocals'"):
        FolderDataset(tmp_path, stems=["vocals"])


@pytest.mark.parametrize(
    "bad, rule",
    [
        (lambda p: _write(p, np.zeros((2, 1999), np.float32)), "length 1999 samples"),
        (lambda p: _write(p, np.zeros((2, 2000), np.float32), sr=16000), "sampling rate 16000"),
        (lambda p: _write(p, np.zeros((1, 2000), np.float32)), "channel count 1"),
    ],
)
def test_mismatched_stems_get_an_error_naming_the_file(tmp_path, bad, rule):
    truth = _musdb(tmp_path, n_tracks=1)
    name = next(iter(truth))
    bad(tmp_path / name / "drums.wav")
    data = FolderDataset(tmp_path)  # headers are read at load (or check), not here
    with pytest.raises(AudioFileError, match=rf"drums\.wav: stem 'drums' .* {rule}"):
        data[0].load()
    with pytest.raises(AudioFileError, match=r"drums\.wav"):
        data.check()
    # a derived stem checks the files it sums
    with pytest.raises(AudioFileError, match=r"drums\.wav: stem 'accompaniment'"):
        FolderDataset(tmp_path, stems=["accompaniment"])[0].load()


def _corpus(root):
    """A tiny copy of the dev corpus layout and manifest."""
    rng = np.random.default_rng(1)
    tasks = {}
    for task, sources, ch in [("hpss", ["harmonic", "percussive"], 2),
                              ("speech", ["speech", "noise"], 1)]:
        items = []
        for k in range(2):
            item = f"{task}_{k:02d}"
            stems = {s: (0.1 * rng.standard_normal((ch, 1600))).astype(np.float32)
                     for s in sources}
            files = {"stems": {}}
            for s, x in stems.items():
                rel = f"{task}/{item}/stems/{s}.flac"
                _write(root / rel, x)
                files["stems"][s] = {"path": rel, "channels": ch}
            rel = f"{task}/{item}/mixture.flac"
            _write(root / rel, sum(stems.values()))
            files["mixture"] = {"path": rel}
            items.append({"task": task, "id": item, "sources": sources, "files": files,
                          "sample_rate": SR})
        tasks[task] = {"description": task, "n_items": 2, "items": items}
    (root / "manifest.json").write_text(json.dumps({"split": "dev", "tasks": tasks}))
    return root / "manifest.json"


def test_manifest_dataset_corpus_layout(tmp_path):
    manifest = _corpus(tmp_path / "corpus")
    data = ManifestDataset(manifest)
    assert data.names == ("hpss_00", "hpss_01", "speech_00", "speech_01")
    hpss = ManifestDataset(manifest, task="hpss")
    assert hpss.names == ("hpss_00", "hpss_01")
    track = hpss["hpss_01"]
    assert track.stem_names == ("harmonic", "percussive")
    assert track.meta["sample_rate"] == SR
    assert track.mixture == tmp_path / "corpus" / "hpss" / "hpss_01" / "mixture.flac"
    mixture, stems, sr = track.load()
    assert sr == SR and mixture.shape == (2, 1600)
    np.testing.assert_allclose(stems["harmonic"] + stems["percussive"], mixture, atol=1e-6)
    assert ManifestDataset(manifest, task=["speech"], stems=["noise"])[0].stem_names == ("noise",)
    with pytest.raises(ParameterError, match="task='drums': not in .*tasks: hpss, speech"):
        ManifestDataset(manifest, task="drums")
    with pytest.raises(AudioFileError, match="track 'hpss_00' has no stem 'vocals'"):
        ManifestDataset(manifest, stems=["vocals"])
    # a dataset over the manifest's folder
    assert type(open_dataset(tmp_path / "corpus", task="speech")) is ManifestDataset
    assert len(open_dataset(manifest)) == 4


def test_manifest_plain_list_and_errors(tmp_path):
    x = np.zeros((1, 800), np.float32)
    for n in ["m", "a", "b"]:
        _write(tmp_path / "audio" / f"{n}.wav", x)
    tracks = [{"name": "t", "mixture": "audio/m.wav",
               "stems": {"a": "audio/a.wav", "b": {"path": "audio/b.wav"}}}]
    (tmp_path / "list.json").write_text(json.dumps(tracks))
    (tmp_path / "dict.json").write_text(json.dumps({"tracks": tracks}))
    for name in ["list.json", "dict.json"]:
        data = ManifestDataset(tmp_path / name)
        assert data.names == ("t",) and data[0].stem_names == ("a", "b")
        assert data[0].stems["b"] == tmp_path / "audio" / "b.wav"
    with pytest.raises(ParameterError, match="task='x'.*no 'tasks'"):
        ManifestDataset(tmp_path / "list.json", task="x")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(AudioFileError, match=r"bad\.json: not a readable JSON manifest"):
        ManifestDataset(tmp_path / "bad.json")
    with pytest.raises(AudioFileError, match=r"missing\.json: no such file"):
        ManifestDataset(tmp_path / "missing.json")
    (tmp_path / "nomix.json").write_text(json.dumps([{"name": "t", "stems": {"a": "a.wav"}}]))
    with pytest.raises(AudioFileError, match="track 't' lists no mixture"):
        ManifestDataset(tmp_path / "nomix.json")
    (tmp_path / "gone.json").write_text(json.dumps(
        [{"name": "t", "mixture": "audio/m.wav", "stems": {"a": "audio/zzz.wav"}}]))
    with pytest.raises(AudioFileError, match=r"audio/zzz\.wav: no such file \(track 't'\)"):
        ManifestDataset(tmp_path / "gone.json")[0].load()


def test_track_by_hand_and_open_dataset_checks(tmp_path):
    x = np.full((1, 400), 0.5, np.float32)
    _write(tmp_path / "m.wav", x)
    _write(tmp_path / "s.wav", x)
    track = Track("hand", tmp_path / "m.wav", {"s": tmp_path / "s.wav",
                                               "twice": (tmp_path / "s.wav", tmp_path / "s.wav")})
    assert track.check() == {"sr": SR, "channels": 1, "n_samples": 400}
    _, stems, _ = track.load()
    np.testing.assert_array_equal(stems["twice"], 2 * x)
    _musdb(tmp_path / "folder", n_tracks=1)
    with pytest.raises(ParameterError, match="task='hpss': only manifest datasets"):
        open_dataset(tmp_path / "folder", task="hpss")
    with pytest.raises(ParameterError, match="stems=.*names repeat"):
        FolderDataset(tmp_path / "folder", stems=["bass", "bass"])
