"""load/save: shapes, resampling, atomic writes, clear errors naming the file."""

import os

import numpy as np
import pytest
import soundfile as sf

import dsp_separate as ds


def test_round_trip_stereo_float32(tmp_path, rng):
    y = (0.5 * rng.standard_normal((2, 1000))).clip(-1, 1).astype(np.float32)
    path = tmp_path / "x.wav"
    ds.save(path, y, 16000, subtype="FLOAT")
    z, sr = ds.load(path)
    assert sr == 16000 and z.shape == (2, 1000) and z.dtype == np.float32
    np.testing.assert_array_equal(z, y)
    mono, _ = ds.load(path, mono=True)
    np.testing.assert_allclose(mono, y.mean(axis=0), atol=1e-7)


def test_pcm16_quantisation_and_mono_file(tmp_path):
    y = np.linspace(-0.5, 0.5, 801, dtype=np.float32)
    path = tmp_path / "m.flac"
    ds.save(path, y, 8000)
    z, sr = ds.load(path)
    assert z.shape == (1, 801)
    assert np.max(np.abs(z[0] - y)) <= 1 / 32768


def test_resampling_through_librosa(tmp_path):
    sr = 16000
    t = np.arange(sr) / sr
    path = tmp_path / "tone.wav"
    ds.save(path, (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sr, subtype="FLOAT")
    z, new_sr = ds.load(path, sr=8000, mono=True)
    assert new_sr == 8000 and z.shape == (8000,)
    spectrum = np.abs(np.fft.rfft(z))
    assert abs(spectrum.argmax() - 440) <= 1  # 1 Hz bins over 1 s


def test_missing_empty_corrupt_files_name_the_file(tmp_path):
    with pytest.raises(ds.AudioFileError, match="nope.wav: no such file"):
        ds.load(tmp_path / "nope.wav")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(ds.AudioFileError, match="empty.wav: the file is empty"):
        ds.load(empty)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF not really a wave file" * 10)
    with pytest.raises(ds.AudioFileError, match="corrupt.wav: cannot be read"):
        ds.load(corrupt)
    with pytest.raises(ds.AudioFileError, match="is a folder"):
        ds.load(tmp_path)


def test_save_rejects_bad_targets_and_leaves_nothing_behind(tmp_path):
    y = np.zeros(100, np.float32)
    with pytest.raises(ds.ParameterError, match="extension '.mp4'"):
        ds.save(tmp_path / "x.mp4", y, 8000)
    with pytest.raises(ds.AudioFileError, match="does not exist"):
        ds.save(tmp_path / "no" / "x.wav", y, 8000)
    with pytest.raises(ds.ParameterError, match="sr=0"):
        ds.save(tmp_path / "x.wav", y, 0)
    with pytest.raises(ds.ParameterError, match="integer"):
        ds.save(tmp_path / "x.wav", np.zeros(10, np.int16), 8000)
    # a failing write (libsndfile refuses 3 channels of this subtype? use an impossible subtype)
    with pytest.raises(ds.AudioFileError, match="could not be written"):
        ds.save(tmp_path / "x.wav", y, 8000, subtype="VORBIS")
    assert os.listdir(tmp_path) == []


def test_existing_file_is_replaced_only_when_complete(tmp_path):
    path = tmp_path / "keep.wav"
    ds.save(path, np.full(50, 0.25, np.float32), 8000, subtype="FLOAT")
    with pytest.raises(ds.AudioFileError):
        ds.save(path, np.zeros(50, np.float32), 8000, subtype="VORBIS")
    np.testing.assert_array_equal(sf.read(path, dtype="float32")[0], 0.25)
    assert sorted(os.listdir(tmp_path)) == ["keep.wav"]
