"""
NMF, step by step: templates, activations, the objective per β, and separation
==============================================================================

A magnitude spectrogram V is approximated by W H: the columns of W are spectral templates,
the rows of H say when and how loudly each template sounds (Lee & Seung 2000; the
β-divergence updates of Févotte & Idier 2011).  This example factorises a mixture of two
synthetic tones, draws W, H and the reconstruction, plots the objective per iteration for
β = 0 (Itakura-Saito), 1 (Kullback-Leibler) and 2 (Euclidean) — never increasing — and
separates the tones blindly (components clustered by the MFCCs of their templates) and
with dictionaries learned from isolated examples, scored against the true tones.  Last,
score-informed NMF (Ewert & Müller 2012) separates two melodies from their notes alone:
harmonic comb templates at the notes' pitches, activations zero outside the notes.

The factors minimise the β-divergence, with multiplicative updates that never increase it:

.. math::

   \\min_{W, H \\ge 0} D_\\beta(V \\mid WH), \\qquad
   H \\leftarrow H \\odot \\left(\\frac{W^T\\big((WH)^{\\beta-2} \\odot V\\big)}
   {W^T (WH)^{\\beta-1}}\\right)^{\\gamma(\\beta)}.

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

# 4. Score-informed: two melodies and their notes (onset s, offset s, MIDI pitch).
from dsp_separate.separators.nmf import harmonic_templates, score_activations  # noqa: E402


def melody(notes, n_harmonics, slope):
    x = np.zeros_like(t)
    for on, off, pitch in notes:
        f0 = 440.0 * 2 ** ((pitch - 69) / 12)
        m = (t >= on) & (t < off)
        x[m] = sum(np.sin(2 * np.pi * h * f0 * (t[m] - on)) * h ** -slope
                   for h in range(1, n_harmonics + 1)) * np.exp(-2 * (t[m] - on))
    return x / np.sqrt(np.mean(x ** 2))


notes = {"upper": [(0.0, 0.5, 71), (0.5, 1.0, 74), (1.0, 2.0, 76)],
         "lower": [(0.25, 1.25, 60), (1.25, 2.0, 55)]}
upper, lower = melody(notes["upper"], 6, 1.0), melody(notes["lower"], 10, 0.5)
scored = ds.ScoreNMF(stft=tf).separate(upper + lower, sr, notes=notes, keep="stfts")
print(f"score_nmf: upper {ds.metrics.si_sdr(upper, scored['upper']):.1f} dB, lower "
      f"{ds.metrics.si_sdr(lower, scored['lower']):.1f} dB SI-SDR")

# 5. The figure.
freqs = tf.bin_frequencies(sr)
times = tf.frame_times(V.shape[-1], sr)
fig, axes = plt.subplots(3, 3, figsize=(14, 10.5))
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
pitches = [76, 74, 71, 60, 55]
W0 = harmonic_templates(pitches, freqs)
axes[2, 0].imshow(db(W0), aspect="auto", origin="lower", interpolation="nearest",
                  extent=(-0.5, len(pitches) - 0.5, 0, freqs[-1]))
axes[2, 0].set(title="score_nmf: initial harmonic templates", xticks=range(len(pitches)),
               xticklabels=[str(p) for p in pitches], xlabel="MIDI pitch", ylabel="Hz")
support = np.vstack([score_activations(np.array(notes[v]), np.array(ps), times)
                     for v, ps in (("upper", [76, 74, 71]), ("lower", [60, 55]))])
axes[2, 1].imshow(support, aspect="auto", origin="upper", cmap="gray_r", interpolation="nearest",
                  extent=(0, times[-1], len(pitches) - 0.5, -0.5))
axes[2, 1].set(title="score_nmf: where activations may be non-zero", xlabel="s",
               yticks=range(len(pitches)), yticklabels=[str(p) for p in pitches])
axes[2, 2].pcolormesh(times, freqs, db(np.abs(scored.stfts["lower"])), shading="auto")
axes[2, 2].set(title="score_nmf: the lower melody (dB)", xlabel="s", ylabel="Hz")
fig.tight_layout()
out = Path(os.environ.get("DSP_SEPARATE_EXAMPLES_OUT", ".")) / "nmf.png"
fig.savefig(out, dpi=80)
print(f"wrote {out}")
