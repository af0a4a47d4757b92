"""
DUET's histogram and the permutation problem of per-bin ICA
===========================================================

Two pictures of blind, multichannel separation on synthetic mixtures (8 kHz, a few seconds):

1. **DUET** (Rickard 2007).  Three speech-like sources (harmonic tones switched on and off
   like syllables) are mixed into *two* channels, each with its own level ratio and
   sub-sample delay.  In every STFT bin one source dominates, so the bins' (symmetric
   attenuation, delay) pairs pile up at one point per source: the peaks of the weighted
   histogram *are* the sources, and each bin goes to its nearest peak.
2. **Frequency-domain ICA.**  A 2x2 convolutive mixture becomes an instantaneous 2x2
   mixture in every bin; complex FastICA separates each bin, but each bin returns its two
   sources in an order of its own.  Rebuilding the signals with the bins' orders scrambled
   (here every other bin swapped) mixes the sources again; aligning the bins by the
   correlation of their activity sequences (Sawada, Araki & Makino 2007) restores them.

DUET's per-bin features, from the two channels' STFTs :math:`X_1, X_2`:

.. math::

   \\alpha(f, t) = \\left|\\frac{X_2}{X_1}\\right| - \\left|\\frac{X_1}{X_2}\\right|,
   \\qquad \\delta(f, t) = -\\frac{1}{\\omega_f} \\angle \\frac{X_2}{X_1}.

Run:  python examples/plot_ica.py  (writes ica.png; set DSP_SEPARATE_EXAMPLES_OUT=folder)
"""

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import dsp_separate as ds  # noqa: E402
from dsp_separate._bss import images_from_demixing  # noqa: E402
from dsp_separate.separators.ica import (  # noqa: E402
    activity_sequences,
    align_permutations,
    fdica_demixing,
)

sr = 8000


def speechlike(n, f0, rate, seed):
    """A harmonic tone with vibrato, on and off like syllables."""
    r = np.random.default_rng(seed)
    t = np.arange(n) / sr
    env = np.clip(np.sin(2 * np.pi * rate * t + r.uniform(0, 6)), 0, None) ** 3
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.06 * np.sin(2 * np.pi * 0.9 * t + seed))) / sr
    return env * sum(np.sin(h * phase) / h for h in range(1, 30) if h * f0 * 1.1 < sr / 2)


def delayed(x, d):
    """``x`` delayed by ``d`` (fractional) samples, by a phase ramp."""
    X = np.fft.rfft(x, 2 * len(x))
    w = np.pi * np.arange(len(X)) / len(x)
    return np.fft.irfft(X * np.exp(-1j * w * d), 2 * len(x))[: len(x)]


# 1. DUET: three sources in stereo.
n = 2 * sr
gains, delays = (0.5, 1.0, 1.8), (-0.7, 0.3, 1.0)
s = [speechlike(n, f0, rate, i) for i, (f0, rate) in enumerate([(110, 1.7), (170, 2.3),
                                                                 (260, 3.1)])]
images = np.stack([np.stack([s[j], g * delayed(s[j], d)])
                   for j, (g, d) in enumerate(zip(gains, delays))])
y = images.sum(axis=0)
result = ds.DUET(n_sources=3).separate(y, sr)
h, peaks = result.info["histogram"], result.info["peaks"]
for j, name in enumerate(result.names):
    sdr = ds.metrics.sd_sdr(images[j], result[name]).mean()
    print(f"DUET {name}: peak alpha {peaks[j, 0]:+.2f}, delay {peaks[j, 1]:+.2f} samples "
          f"(true {gains[j] - 1 / gains[j]:+.2f}, {delays[j]:+.2f}); SDR {sdr:.1f} dB")

# 2. FDICA: a 2x2 convolutive mixture, per-bin ICA, scrambled and aligned orders.
n = 4 * sr
rng = np.random.default_rng(1)
src = np.stack([speechlike(n, 140, 2.3, 1), speechlike(n, 220, 3.1, 2)])
taps = rng.standard_normal((2, 2, 48)) * np.exp(-np.arange(48) / 6) * 0.5
taps[0, 0, 0] = taps[1, 1, 0] = 1.0
conv = np.stack([[np.convolve(src[k], taps[m, k])[:n] for m in range(2)] for k in range(2)])
x = conv.sum(axis=0)
stft = ds.STFT(512, 128)
X = stft.forward(x)
W, info = fdica_demixing(X, max_iter=100)
per_bin = images_from_demixing(np.einsum("fkm,mft->kft", W, X), W)  # (2, 2, F, T)
scrambled = per_bin.copy()
scrambled[:, :, ::2] = per_bin[::-1, :, ::2]  # every other bin in the other order
perm = align_permutations(activity_sequences(scrambled))
aligned = np.stack([np.take_along_axis(scrambled[:, :, f], perm[f][:, None, None], axis=0)
                    for f in range(X.shape[1])], axis=2)


def score(img):
    est = np.stack([stft.inverse(img[k], n) for k in range(2)])
    sdr = ds.metrics.sd_sdr(conv, est, permutation=True)
    return np.asarray(getattr(sdr, "scores", sdr)).mean(axis=-1)


before, after = score(scrambled), score(aligned)
print(f"FDICA SD-SDR with the bins' orders scrambled: {np.round(before, 1)} dB; "
      f"after alignment: {np.round(after, 1)} dB")

# 3. Pictures.
fig, axes = plt.subplots(2, 2, figsize=(11, 8))
ax = axes[0, 0]
ax.imshow(np.log10(h.hist + 1e-5), origin="lower", aspect="auto", cmap="magma",
          extent=(h.delay[0], h.delay[-1], h.alpha[0], h.alpha[-1]))
ax.plot(peaks[:, 1], peaks[:, 0], "c+", ms=14, mew=2, label="peaks")
ax.plot(delays, [g - 1 / g for g in gains], "wo", mfc="none", ms=12, label="truth")
ax.set(title="DUET weighted histogram (log scale)", xlabel="delay (samples)",
       ylabel="symmetric attenuation a - 1/a")
ax.legend(loc="lower right")
ax = axes[0, 1]
masks = ds.DUET(n_sources=3).separate(y, sr, keep="masks").masks
label = sum(j * masks[name][0] for j, name in enumerate(result.names))
ax.imshow(label, origin="lower", aspect="auto", cmap="viridis",
          extent=(0, y.shape[-1] / sr, 0, sr / 2))
ax.set(title="DUET: which source owns each bin", xlabel="time (s)", ylabel="Hz")
F = X.shape[1]
v_s = activity_sequences(scrambled)
v_a = activity_sequences(aligned)
for ax, v, title in [(axes[1, 0], v_s, "activity of 'source 0' per bin: scrambled"),
                     (axes[1, 1], v_a, "... after permutation alignment")]:
    ax.imshow(v[0], origin="lower", aspect="auto", cmap="gray_r", vmin=0, vmax=1,
              extent=(0, n / sr, 0, sr / 2))
    ax.set(title=title, xlabel="time (s)", ylabel="Hz")
fig.tight_layout()
out = Path(os.environ.get("DSP_SEPARATE_EXAMPLES_OUT", ".")) / "ica.png"
fig.savefig(out, dpi=80)
print(f"wrote {out}")
