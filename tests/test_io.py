"""load/save: shapes, resampling, atomic writes, clear errors naming the file."""

import os
import stat
import warnings

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
    with pytest.raises(ds.ParameterError, match="subtype='VORBIS'.*PCM_24"):
        ds.save(tmp_path / "x.wav", y, 8000, subtype="VORBIS")
    # a failing write: FLAC does not support this sampling rate
    with pytest.raises(ds.AudioFileError, match="x.flac: could not be written"):
        ds.save(tmp_path / "x.flac", y, 1_000_000)
    assert os.listdir(tmp_path) == []


def test_existing_file_is_replaced_only_when_complete(tmp_path):
    path = tmp_path / "keep.wav"
    ds.save(path, np.full(50, 0.25, np.float32), 8000, subtype="FLOAT")
    flac = tmp_path / "keep.flac"
    ds.save(flac, np.full(50, 0.25, np.float32), 8000)
    with pytest.raises(ds.AudioFileError):
        ds.save(flac, np.zeros(50, np.float32), 1_000_000)
    np.testing.assert_array_equal(sf.read(path, dtype="float32")[0], 0.25)
    np.testing.assert_allclose(sf.read(flac, dtype="float32")[0], 0.25, atol=1 / 32768)
    assert sorted(os.listdir(tmp_path)) == ["keep.flac", "keep.wav"]


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_new_files_get_the_umask_mode(tmp_path, umask):
    # old code: tempfile.mkstemp made every output 0600 whatever the umask
    old = os.umask(umask)
    try:
        for name in ("a.wav", "b.flac"):
            ds.save(tmp_path / name, np.zeros(100, np.float32), 8000)
            assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o666 & ~umask
    finally:
        os.umask(old)


def test_loud_float_is_written_as_float_with_a_warning(tmp_path):
    # old code: clipped to +-1 in the 16-bit file, silently
    y = np.array([0.5, 8.0, -3.0, 0.25] * 100, np.float32)
    path = tmp_path / "loud.wav"
    with pytest.warns(ds.io.ClippingWarning, match=r"loud.wav: peak 8 .*FLOAT"):
        ds.save(path, y, 8000)
    assert sf.info(path).subtype == "FLOAT"
    np.testing.assert_array_equal(ds.load(path)[0][0], y)
    # FLAC has no float subtype: scaled by 1/peak, said so, nothing clipped
    flac = tmp_path / "loud.flac"
    with pytest.warns(ds.io.ClippingWarning, match=r"scaled by 0.125"):
        ds.save(flac, y, 8000, subtype="PCM_24")
    np.testing.assert_allclose(ds.load(flac)[0][0], y / 8, atol=2 ** -23)
    assert y[1] == 8.0  # input untouched


def test_quiet_audio_keeps_the_integer_subtype_without_warning(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds.save(tmp_path / "q.wav", np.full(100, 1.0, np.float32), 8000, subtype="PCM_24")
    assert sf.info(tmp_path / "q.wav").subtype == "PCM_24"


@pytest.mark.parametrize(
    "fmt, given, expected",
    [("wav", "PCM_24", "PCM_24"), ("wav", "FLOAT", "FLOAT"), ("flac", "FLOAT", "PCM_24"),
     ("flac", "PCM_24", "PCM_24"), ("wav", "MPEG_LAYER_III", "PCM_16"), ("ogg", "PCM_24",
     "VORBIS"), ("aiff", "DOUBLE", "DOUBLE"), ("flac", "DOUBLE", "PCM_24"), ("wav", None,
     "PCM_16"), ("flac", "PCM_U8", "PCM_16")],
)
def test_matching_subtype(fmt, given, expected):
    assert ds.io.matching_subtype(fmt, given) == expected


def test_nan_in_a_file_names_the_file_and_the_place(tmp_path):
    # old code: an error about an internal array ("y=...: must be finite") from the separator
    y = np.zeros((2, 8000), np.float32)
    y[1, 4000] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, y.T, 8000, subtype="FLOAT")
    with pytest.raises(ds.AudioFileError,
                       match=r"nan.wav: holds 1 NaN or infinite sample\(s\), the first at "
                             r"0.500 s \(sample 4000\) in channel 1"):
        ds.load(path)


def test_device_is_refused_precisely():
    if not os.path.exists("/dev/null"):
        pytest.skip("no /dev/null on this system")
    with pytest.raises(ds.AudioFileError, match="/dev/null: is a device, not an audio file"):
        ds.load("/dev/null")


def test_subtype_table_matches_libsndfile():
    for fmt, subtypes in ds.io.SUBTYPES.items():
        assert subtypes[0] == sf.default_subtype(fmt.upper())
        for subtype in subtypes:
            assert sf.check_format(fmt.upper(), subtype), (fmt, subtype)


def test_channels_last_audio_is_refused_by_save(tmp_path):
    """The package's one layout rule: (n_samples, n_channels) is refused, not written as
    thousands of channels (libsndfile's "Format not recognised" before)."""
    y = np.zeros((44100, 2), np.float32)
    with pytest.raises(ds.ParameterError, match=r"n_samples, n_channels.*y\.T"):
        ds.save(tmp_path / "x.wav", y, 44100)
    assert not list(tmp_path.iterdir())
