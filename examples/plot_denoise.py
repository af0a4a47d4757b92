"""
Denoising speech, step by step
==============================

A noisy recording is the sum of speech and noise, ``y = s + n``.  The classical enhancers
estimate, in every STFT bin, the noise power (here tracked during the speech by IMCRA,
Cohen 2003) and the a priori SNR (the decision-directed rule, Ephraim & Malah 1984), and
turn them into a gain in [0, 1].  This example synthesises a vowel sequence in pink noise
at 0 dB, tracks the noise, compares the tracked noise PSD with the true one, denoises with
each method, checks that block-by-block streaming gives the same output, and draws the
spectrograms and the OM-LSA gain.

With :math:`\\gamma = |Y|^2 / \\lambda_n` the a posteriori SNR, the decision-directed a
priori SNR and the Wiener gain are

.. math::

   \\hat\\xi_t = \\alpha \\frac{|\\hat S_{t-1}|^2}{\\lambda_{n}}
   + (1 - \\alpha)\\max(\\gamma_t - 1, 0),
   \\qquad G = \\frac{\\hat\\xi}{1 + \\hat\\xi}.

Run:  python examples/plot_denoise.py  (writes denoise.png; set DSP_SEPARATE_EXAMPLES_OUT)
"""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.signal import lfilter  # noqa: E402

import dsp_separate as ds  # noqa: E402
from dsp_separate.separators import enhance as en  # noqa: E402

sr = 16000
rng = np.random.default_rng(0)

# 1. "Speech": glottal pulses at a gliding pitch through three formant resonators (vowels),
#    in syllables with pauses.  Noise: pink (power falling as 1/f).
formants = [(730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480)]
s = np.zeros(4 * sr)
pos = int(0.3 * sr)
while pos < s.size:
    m = min(int(rng.uniform(0.15, 0.35) * sr), s.size - pos)
    f0 = rng.uniform(100, 200) * (1 + 0.1 * np.linspace(-1, 1, m))
    x = lfilter([1.0], [1.0, -0.95], np.diff(np.floor(np.cumsum(f0 / sr)), prepend=0.0))
    for fc, bw in zip(formants[rng.integers(len(formants))], (80, 100, 120)):
        r = np.exp(-np.pi * bw / sr)
        x = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * fc / sr), r * r], x)
    s[pos:pos + m] = x * np.sin(np.pi * np.arange(m) / m)
    pos += m + int(rng.uniform(0.05, 0.2) * sr)
s /= np.sqrt(np.mean(s**2))
f = np.maximum(np.fft.rfftfreq(s.size, 1 / sr), 20.0)
n = np.fft.irfft(np.fft.rfft(rng.standard_normal(s.size)) / np.sqrt(f), s.size)
n /= np.sqrt(np.mean(n**2))
y = (0.1 * (s + n)).astype(np.float32)  # 0 dB SNR
s, n = 0.1 * s, 0.1 * n

# 2. The STFT in milliseconds (32 ms frames, 8 ms hop) and the noise trackers.
tf = en.enhancement_stft(sr)
P = np.abs(tf.forward(y.astype(np.float64))) ** 2
true_psd = (np.abs(tf.forward(n)) ** 2).mean(axis=-1)
hop_s = tf.hop_length / sr
for tracker in ("minimum_statistics", "mcra", "imcra"):
    N = getattr(en, tracker)(P, hop_s)
    err = 10 * np.log10(np.median(N[10:200, -100:].mean(axis=-1) / true_psd[10:200]))
    print(f"{tracker:19s} noise PSD at the end: {err:+.1f} dB from the true one")

# 3. Each method, scored by SI-SDR against the clean speech.
base = ds.metrics.si_sdr(s, y)
print(f"noisy input        SI-SDR {base:6.2f} dB")
for method in ("spectral_subtraction", "wiener_dd", "mmse_stsa", "log_mmse", "omlsa",
               "spectral_gating"):
    out = ds.denoise(y, sr, method=method)
    print(f"{method:19s} SI-SDR {ds.metrics.si_sdr(s, out):6.2f} dB")

# 4. Streaming: 20 ms blocks through the block runner give the offline output.
sep = ds.OMLSA()
runner = sep.stream(sr, n_channels=1)
block = sr // 50
parts = [runner.process(y[i:i + block])["signal"] for i in range(0, y.size, block)]
parts.append(runner.flush()["signal"])
streamed = np.concatenate(parts)
offline = sep.separate(y, sr, keep="masks")
print(f"streamed vs offline: max difference {np.abs(streamed - offline['signal']).max():.1e}")

# 5. Pictures: noisy, clean and denoised spectrograms, and the OM-LSA gain.
S_y = np.abs(tf.forward(y))
times = tf.frame_times(S_y.shape[-1], sr)
extent = [times[0], times[-1], 0, sr / 2000]


def db(a):
    return 20 * np.log10(np.maximum(np.abs(a), 1e-6) / S_y.max())


panels = [
    ("noisy |Y|", db(S_y), "magma", (-70, 0)),
    ("clean speech", db(tf.forward(s)), "magma", (-70, 0)),
    ("OM-LSA output", db(tf.forward(offline["signal"])), "magma", (-70, 0)),
    ("OM-LSA gain", offline.masks["signal"], "gray", (0, 1)),
]
fig, axes = plt.subplots(2, 2, figsize=(11, 6), sharex=True, sharey=True)
for ax, (title, img, cmap, (lo, hi)) in zip(axes.flat, panels):
    ax.imshow(img, origin="lower", aspect="auto", extent=extent, cmap=cmap, vmin=lo, vmax=hi)
    ax.set_title(title)
for ax in axes[1]:
    ax.set_xlabel("time (s)")
for ax in axes[:, 0]:
    ax.set_ylabel("frequency (kHz)")
fig.tight_layout()
out_path = Path(os.environ.get("DSP_SEPARATE_EXAMPLES_OUT", ".")) / "denoise.png"
fig.savefig(out_path, dpi=80)
print(f"wrote {out_path}")
