"""
NMF, step by step: templates, activations, the objective per β, and separation
==============================================================================

A magnitude spectrogram V is approximated by W H: the columns of W are spectral templates,
the rows of H say when and how loudly each template sounds (Lee & Seung 2000; the
β-divergence updates of Févotte & Idier 2011).  This example factorises a mixture of two
synthetic tones, draws W, H and the reconstruction, plots the objective per iteration for
β = 0 (Itakura-Saito), 1 (Kullback-Leibler) and 2 (Euclidean) — never increasing — and
separates the tones blindly (components clustered by the MFCCs of their templates) and
with dictionaries learned from isolated examples, scored against the true tones.

Run:  python examples/plot_nmf.py  (writes nmf.png; set DSP_SEPARATE_EXAMPLES_OUT=folder)
"""

import os
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import dsp_separate as ds  # noqa: E402

warnings.simplefilter("ignore", ds.exceptions.ConvergenceWarning)

sr = 8000
t = np.arange(2 * sr) / sr


def tone(f0, envelope, n_harmonics, slope):
    x = sum(np.sin(2 * np.pi * f0 * h * t) * h ** -slope for h in range(1, n_harmonics + 1))
    x = x * envelope
    return x / np.sqrt(np.mean(x ** 2))


# Two sources we know: a bright 220 Hz tone switching on and off, a dull 660 Hz tone
# that decays every half second.
bright = tone(220, 0.2 + 0.8 * (np.sin(2 * np.pi * t) > 0), 12, 0.5)
dull = tone(660, np.exp(-4 * (t % 0.5)), 2, 2.0)
y = bright + dull

# 1. The magnitude spectrogram and an 8-component KL factorisation.
tf = ds.STFT(n_fft=1024, hop_length=256)
V = np.abs(tf.forward(y))
W, H, info = ds.nmf(V, 8, beta=1.0, max_iter=200, tol=1e-5, random_state=0, normalize_W=True)
print(f"KL-NMF: {info['n_iter']} iterations, objective {info['objective'][0]:.1f} -> "
      f"{info['objective'][-1]:.1f}, relative error "
      f"{np.linalg.norm(W @ H - V) / np.linalg.norm(V):.3f}")

# 2. The objective per iteration for three divergences (the MM exponent keeps each curve
#    non-increasing).
curves = {}
for beta in (0.0, 1.0, 2.0):
    _, _, inf = ds.nmf(V + 1e-6, 8, beta=beta, max_iter=100, tol=0, random_state=0)
    curves[beta] = inf["objective"] / inf["objective"][0]
    assert np.all(np.diff(inf["objective"]) <= 1e-9 * inf["objective"][0])

# 3. Separation: blind (MFCC clustering) and supervised (dictionaries from other clips).
blind = ds.BlindNMF(n_sources=2, n_components=8, random_state=0, stft=tf).separate(y, sr)
refs = np.stack([bright, dull])
scores = np.array([[ds.metrics.si_sdr(r, blind[n]) for n in blind.names] for r in refs])
perm = (0, 1) if scores[0, 0] + scores[1, 1] >= scores[0, 1] + scores[1, 0] else (1, 0)
print(f"blind nmf: bright {scores[0, perm[0]]:.1f} dB, dull {scores[1, perm[1]]:.1f} dB "
      "SI-SDR")

sup = ds.SupervisedNMF(n_components=4, random_state=0, stft=tf)
sup.fit({"bright": tone(220, 1.0, 12, 0.5), "dull": tone(660, np.exp(-4 * (t % 0.5)), 2, 2.0)},
        sr=sr)
res = sup.separate(y, sr)
print(f"supervised nmf: bright {ds.metrics.si_sdr(bright, res['bright']):.1f} dB, dull "
      f"{ds.metrics.si_sdr(dull, res['dull']):.1f} dB SI-SDR")

# 4. The figure.
freqs = tf.bin_frequencies(sr)
times = tf.frame_times(V.shape[-1], sr)
fig, axes = plt.subplots(2, 3, figsize=(14, 7))
db = lambda S: 20 * np.log10(S + 1e-6 * S.max())  # noqa: E731
axes[0, 0].pcolormesh(times, freqs, db(V), shading="auto")
axes[0, 0].set(title="mixture |X| (dB)", xlabel="s", ylabel="Hz")
axes[0, 1].imshow(db(W), aspect="auto", origin="lower",
                  extent=(-0.5, W.shape[1] - 0.5, 0, freqs[-1]))
axes[0, 1].set(title="W: spectral templates (dB)", xlabel="component", ylabel="Hz")
axes[0, 2].imshow(H, aspect="auto", origin="lower", extent=(0, times[-1], -0.5, 7.5))
axes[0, 2].set(title="H: activations", xlabel="s", ylabel="component")
axes[1, 0].pcolormesh(times, freqs, db(W @ H), shading="auto")
axes[1, 0].set(title="reconstruction W H (dB)", xlabel="s", ylabel="Hz")
for beta, c in curves.items():
    axes[1, 1].semilogy(c, label=f"β = {beta:g}")
axes[1, 1].set(title="objective / initial objective", xlabel="iteration")
axes[1, 1].legend()
axes[1, 2].plot(t, res["bright"], lw=0.5, label="bright (supervised)")
axes[1, 2].plot(t, res["dull"], lw=0.5, label="dull (supervised)")
axes[1, 2].set(title="separated tones", xlabel="s")
axes[1, 2].legend()
fig.tight_layout()
out = Path(os.environ.get("DSP_SEPARATE_EXAMPLES_OUT", ".")) / "nmf.png"
fig.savefig(out, dpi=80)
print(f"wrote {out}")
