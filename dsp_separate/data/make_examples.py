"""Cut the shipped example clips from the dev corpus (run once by a maintainer, not at run time).

    python dsp_separate/data/make_examples.py /work/shared/corpus/dev

Writes ``dsp_separate/data/<name>/<stem>.flac`` (16-bit FLAC) and ``dsp_separate/data/
examples.json`` (what each clip is, where it was cut from, its licences).  Every clip keeps the
corpus' exact-sum property: each stem is cut, (down-mixed, resampled,) faded in and out over
10 ms and rounded to int16 on its own, and the mixture is the integer sum of the int16 stems,
so ``mixture == sum(stems)`` holds exactly when read back.  Only the stems are stored; the
mixture is summed when loaded (:func:`dsp_separate.example`), which saves a third of the size.
"""

from __future__ import annotations

import json
import sys
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

HERE = Path(__file__).resolve().parent
FADE_S = 0.01

MUSIC = ("Rendered with FluidSynth from the FluidR3_GM SoundFont (MIT licence); the Bach chorale "
         "score is public domain (music21 corpus, BSD-licensed package).")
SPEECH = ("Speech synthesised with Debian's festival / flite / espeak-ng text-to-speech "
          "voices (free licences, see /usr/share/doc/<package>/copyright on Debian); the "
          "sentences are Harvard sentences (IEEE 1969).")

# name: (task, item, start_s, seconds, sr, mono, description, licence, extra meta keys)
CLIPS = {
    "hpss": ("hpss", "hpss_00_bwv354_rock8", 0.0, 5.0, 22050, True,
             "Bach chorale BWV 354 on strings over a rock drum groove (harmonic + percussive)",
             MUSIC, ("bpm",)),
    "repet": ("repet", "repet_01_bwv113-8_trumpet", 0.0, 8.5, 22050, True,
              "one-bar drums + bass + organ loop repeated verbatim (background) under a "
              "trumpet playing the soprano line of BWV 113/8 (foreground)",
              MUSIC, ("repeating_period_s", "bpm", "bars_per_period")),
    "instruments": ("instruments", "inst_00_bwv336_bach10", 0.0, 4.0, 22050, True,
                    "Bach chorale BWV 336, one instrument per voice: violin (soprano), "
                    "clarinet (alto), tenor sax (tenor), bassoon (bass); mono",
                    MUSIC, ("instruments",)),
    "speech": ("speech", "speech_01_pink_snrp0", 0.5, 5.0, 16000, True,
               "a female voice (flite) reading Harvard sentences in pink noise at 0 dB SNR",
               SPEECH, ("snr_db_actual", "noise_type", "speech_active_s")),
    "mc_instantaneous": ("mc_instantaneous", "inst_00_2src_2ch_sp-sp", 0.0, 4.0, 16000, False,
                         "two voices (flite, male and female) mixed instantaneously onto "
                         "two channels by a 2x2 matrix (ICA)", SPEECH, ("mixing_matrix",)),
    "mc_anechoic": ("mc_anechoic", "anech_00_3src_2ch_sp-sp-sp", 0.0, 4.0, 16000, False,
                    "three voices (flite, festival, espeak-ng) on two microphones, each with "
                    "its own gain and sub-sample delay (DUET)", SPEECH,
                    ("gains", "delays_samples")),
    "mc_convolutive": ("mc_convolutive", "conv_01_2src_2mic_rt321", 0.0, 4.0, 16000, False,
                       "a voice (espeak-ng) and a flute (a chorale bass line) in a simulated "
                       "room (RT60 about 0.35 s) on two microphones 8.8 cm apart (IVA)",
                       SPEECH + " " + MUSIC
                       + " Room simulated with pyroomacoustics (MIT licence).", ()),
}
# the instruments clip also ships a few seconds of each instrument alone, for supervised NMF
TRAINING = {"soprano": "040_violin", "alto": "071_clarinet", "tenor": "066_tenor_sax",
            "bass": "070_bassoon"}
NOTE_S = 0.18  # of each note of the chromatic scale that opens each training file


def _prepare(x, sr_in, sr_out, mono):
    """float64 (channels, n) -> down-mixed, resampled."""
    x = np.atleast_2d(x)
    if mono:
        x = x.mean(axis=0, keepdims=True)
    if sr_out != sr_in:
        g = gcd(sr_in, sr_out)
        x = resample_poly(x, sr_out // g, sr_in // g, axis=-1)
    return x


def _fade(x, sr):
    n = int(FADE_S * sr)
    ramp = np.linspace(0.0, 1.0, n)
    x = x.copy()
    x[..., :n] *= ramp
    x[..., -n:] *= ramp[::-1]
    return x


def _int16(x):
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)


def _write(path, x16, sr):
    path.parent.mkdir(parents=True, exist_ok=True)
    data = x16[0] if x16.shape[0] == 1 else x16.T
    sf.write(path, data, sr, subtype="PCM_16", format="FLAC", compression_level=1.0)


def make(corpus: Path):
    index = {}
    for name, (task, item, start, seconds, sr, mono, desc, lic, keys) in CLIPS.items():
        folder = corpus / task / item
        meta = json.loads((folder / "meta.json").read_text())
        sr_in = meta["sample_rate"]
        i0 = int(round(start * sr_in))
        i1 = meta["n_samples"] if seconds is None else i0 + int(round(seconds * sr_in))
        stems = {}
        for stem in meta["sources"]:
            x, _ = sf.read(folder / "stems" / f"{stem}.flac", dtype="float64", always_2d=True)
            stems[stem] = _fade(_prepare(x[i0:i1].T, sr_in, sr, mono), sr)
        peak = np.abs(sum(stems.values())).max()
        gain = min(1.0, 0.95 / peak)  # the mono down-mix / resampling must not clip the sum
        out = {}
        for stem, x in stems.items():
            out[stem] = _int16(x * gain)
        total = np.sum([v.astype(np.int32) for v in out.values()], axis=0)
        assert np.abs(total).max() < 32767, name
        for stem, x16 in out.items():
            _write(HERE / name / f"{stem}.flac", x16, sr)
        entry = {
            "description": desc,
            "sr": sr,
            "n_channels": int(next(iter(out.values())).shape[0]),
            "n_samples": int(next(iter(out.values())).shape[1]),
            "sources": list(out),
            "provenance": (f"dsp_separate dev corpus v1.0, {task}/{item}, samples {i0}:{i1} "
                           f"at {sr_in} Hz" + (", mono (L+R)/2" if mono and meta["channels"] > 1
                                               else "")
                           + (f", resampled to {sr} Hz" if sr != sr_in else "")
                           + f", gain {gain:.4f}, 10 ms fades"),
            "licence": lic,
        }
        for k in keys:
            value = meta.get(k, meta.get("made_with", {}).get(k))
            if value is not None:
                entry[k] = value
        index[name] = entry
    # training examples of the instruments clip
    train = {}
    inst_sr = CLIPS["instruments"][4]
    info = {Path(e["path"]).stem: e for e in
            json.loads((corpus / "instruments" / "training" / "training.json").read_text())}
    for stem, stem_file in TRAINING.items():
        x, sr_in = sf.read(corpus / "instruments" / "training" / f"{stem_file}.flac",
                           dtype="float64", always_2d=True)
        lo, hi = info[stem_file]["pitch_range"]
        onsets = [n[0] for n in info[stem_file]["notes"][: hi - lo + 1]]  # the chromatic scale
        parts = [_fade(_prepare(x[int((t - 0.01) * sr_in): int((t + NOTE_S) * sr_in)].T,
                                sr_in, inst_sr, True), inst_sr) for t in onsets]
        _write(HERE / "instruments" / "training" / f"{stem}.flac",
               _int16(np.concatenate(parts, axis=-1)), inst_sr)
        train[stem] = (f"instruments/training/{stem_file}.flac: the first {NOTE_S:g} s of each "
                       f"note of its chromatic scale (MIDI {lo}-{hi}), concatenated, mono, "
                       f"resampled to {inst_sr} Hz")
    index["instruments"]["training"] = train
    (HERE / "examples.json").write_text(json.dumps(index, indent=1) + "\n")


if __name__ == "__main__":
    make(Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/corpus/dev"))
