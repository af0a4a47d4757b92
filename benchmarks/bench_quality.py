"""Separation quality on the dev corpus: every separator, the oracles, and the peers.

Median BSS Eval SDR (images for stereo, sources for mono; whole-signal, dB) per task and
source over the items of ``../shared/corpus/dev/`` (the folder beside this repository, or
``$DSP_SEPARATE_CORPUS``).  Skipped with a message when the corpus is absent.

* ``hpss`` task: our HPSS (default parameters, and with one multichannel Wiener iteration),
  the peer ``librosa.decompose.hpss`` (librosa's own STFT, masks and inverse STFT), and the
  oracles.
* other tasks: no method of the package targets them yet, so only the oracle upper bounds
  and the mixture-as-estimate baseline are listed (the floors later families must beat).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

ORACLES = ("mixture", "irm", "ibm", "psm", "oracle_wiener")


def corpus_root() -> Path | None:
    env = os.environ.get("DSP_SEPARATE_CORPUS")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve().parents[1]
    candidates += [here.parent / "shared" / "corpus" / "dev", here / "shared" / "corpus" / "dev"]
    for c in candidates:
        if (c / "manifest.json").is_file():
            return c
    return None


def _librosa_hpss_separator():
    """The peer: librosa's STFT, HPSS masks and inverse STFT, behind our Separator API."""
    import librosa

    from dsp_separate.base import Separator
    from dsp_separate.result import Separation

    class LibrosaHPSS(Separator):
        name = ""  # not registered
        summary = "librosa.decompose.hpss (peer)"

        def __init__(self, kernel_size=31, n_fft=2048, hop_length=512):
            self.kernel_size = kernel_size
            self.n_fft = n_fft
            self.hop_length = hop_length

        def __repr__(self):
            return "librosa_hpss"

        def separate(self, y, sr, **kwargs):
            X = librosa.stft(y, n_fft=self.n_fft, hop_length=self.hop_length)
            m_h, m_p = librosa.decompose.hpss(X, kernel_size=self.kernel_size, mask=True)
            out = {
                name: librosa.istft(m * X, n_fft=self.n_fft, hop_length=self.hop_length,
                                    length=y.shape[-1])
                for name, m in (("harmonic", m_h), ("percussive", m_p))
            }
            return Separation(out, sr=sr, stft=None, method="librosa_hpss")

    LibrosaHPSS.name = "librosa_hpss"
    return LibrosaHPSS()


def _table(rows: dict, sources: list) -> str:
    lines = ["| method | " + " | ".join(sources) + " |",
             "|---|" + "---:|" * len(sources)]
    for method, values in rows.items():
        cells = [f"{values[s]:.2f}" if s in values and np.isfinite(values[s]) else "-"
                 for s in sources]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def quality(quick: bool = False) -> str:
    import dsp_separate as ds
    from dsp_separate.datasets import ManifestDataset
    from dsp_separate.evaluation import evaluate

    root = corpus_root()
    if root is None:
        msg = ("quality benchmark skipped: no corpus at ../shared/corpus/dev "
               "(set DSP_SEPARATE_CORPUS)")
        print(msg, file=sys.stderr)
        return f"## Quality\n\n{msg}\n"
    manifest = root / "manifest.json"
    import json

    tasks = list(json.loads(manifest.read_text())["tasks"])
    if quick:
        tasks = ["hpss"]
    out = ["## Quality (median SDR in dB over the dev corpus items, BSS Eval whole-signal)\n"]
    for task in tasks:
        data = ManifestDataset(manifest, task=task)
        tracks = list(data)[:1] if quick else list(data)
        sources = list(tracks[0].stem_names)
        methods: list = []
        if task == "hpss":
            methods += [ds.HPSS(), ds.HPSS(wiener_iterations=1), _librosa_hpss_separator()]
        methods += list(ORACLES)
        print(f"# quality: {task} ({len(tracks)} items)", file=sys.stderr, flush=True)
        table = evaluate(methods, tracks, metrics=("sdr",), progress=False)
        rows: dict = {}
        for r in table:
            if r["track"] == "(median)" and r["metric"] == "sdr":
                rows.setdefault(r["method"], {})[r["source"]] = r["value"]
        n = len(tracks)
        out.append(f"### {task} ({n} item{'s' if n != 1 else ''})\n\n" + _table(rows, sources))
    return "\n\n".join(out) + "\n"


if __name__ == "__main__":
    print(quality(quick="--quick" in sys.argv))
