"""Separation._repr_html_: a table with an HTML5 audio player per source, size-capped."""

import base64
import io
from html.parser import HTMLParser

import numpy as np
import pytest
import soundfile as sf

import dsp_separate as ds
from dsp_separate.result import Separation

SR = 8000


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.audio = 0
        self.sources = []
        self.rows = []
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "audio":
            self.audio += 1
            assert "controls" in attrs
        elif tag == "source":
            self.sources.append(attrs["src"])
        elif tag == "tr":
            self.rows.append([])
        elif tag == "td":
            self._cell = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag == "td":
            self.rows[-1].append(self._cell)
            self._cell = None


def parse(result):
    page = Page()
    page.feed(result._repr_html_())
    page.close()
    return page


def wav_of(src):
    prefix = "data:audio/wav;base64,"
    assert src.startswith(prefix)
    data, sr = sf.read(io.BytesIO(base64.b64decode(src[len(prefix):])), dtype="float64",
                       always_2d=True)
    return data.T, sr


def separation(sources):
    return Separation(sources, sr=SR, stft=ds.STFT(n_fft=256, hop_length=64), method="test()")


def test_one_player_per_source_and_the_audio_round_trips():
    t = np.arange(SR) / SR
    a = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    b = np.stack([a * 0.25, -a * 0.1])
    page = parse(separation({"tone": a, "stereo": b}))
    assert page.audio == 2 and len(page.sources) == 2
    assert [r[0] for r in page.rows[1:]] == ["tone", "stereo"]  # header row first
    x, sr = wav_of(page.sources[0])
    assert sr == SR and x.shape == (1, SR)
    np.testing.assert_allclose(x[0], a, atol=1 / 32768)
    x, sr = wav_of(page.sources[1])
    assert x.shape == (2, SR)
    np.testing.assert_allclose(x, b, atol=1 / 32768)
    tone_row = page.rows[1]
    assert tone_row[1] == "(8000,)" and tone_row[2] == "1.00 s"
    assert tone_row[3] == f"{20 * np.log10(0.5):.1f}"   # peak -6.0 dBFS
    assert tone_row[4] == f"{20 * np.log10(0.5 / np.sqrt(2)):.1f}"  # RMS -9.0 dBFS


def test_the_cap_stops_embedding_and_says_so():
    x = np.full(SR, 0.1, dtype=np.float32)  # 16 044 bytes of WAV each
    result = separation({"a": x, "b": x, "c": x})
    result.html_max_bytes = 40_000  # room for two
    page = parse(result)
    assert page.audio == 2
    note = page.rows[3][5]
    assert note.startswith("not embedded:") and "cap" in note and "html_max_bytes" in note
    result.html_max_bytes = 0
    assert parse(result).audio == 0
    assert Separation.html_max_bytes == 8 * 2**20  # the instance setting did not leak


def test_loud_silent_many_channel_and_batch_sources():
    loud = np.full(800, 2.0, dtype=np.float32)
    page = parse(separation({"loud": loud, "quiet": np.zeros(800, np.float32)}))
    assert page.audio == 2
    assert "scaled by -6.0 dB to play" in page.rows[1][5]
    assert page.rows[2][3] == "silent" and page.rows[2][4] == "silent"
    x, _ = wav_of(page.sources[0])
    assert np.abs(x).max() == pytest.approx(1.0, abs=1e-4)  # not wrapped around
    page = parse(separation({"three": np.zeros((3, 800), np.float32),
                             "batch": np.zeros((2, 2, 800), np.float32)}))
    assert page.audio == 0
    assert "3 channels" in page.rows[1][5] and "batch" in page.rows[2][5]


def test_names_and_method_are_escaped():
    result = Separation({"<b>x</b>": np.zeros(80, np.float32)}, sr=SR,
                        stft=ds.STFT(n_fft=64, hop_length=16), method="A<script>")
    html = result._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;x" in html


def test_a_real_separation_is_playable():
    y = np.random.default_rng(0).standard_normal(4000).astype(np.float32) * 0.1
    result = ds.HPSS(kernel_size=9, stft=ds.STFT(n_fft=256, hop_length=64)).separate(y, SR)
    page = parse(result)
    assert page.audio == 2
    x, _ = wav_of(page.sources[1])
    np.testing.assert_allclose(x[0], result["percussive"], atol=1 / 32768)
