"""
AuxIVA and ILRMA on a convolutive mixture: the objective per iteration
======================================================================

Two independent speech-like sources (Laplacian noise under slow, different envelopes) reach
two microphones through short random filters.  AuxIVA (Ono 2011) minimises a negative
log-likelihood by majorisation-minimisation, so its objective never goes up: the plot shows
it per iteration for the iterative-projection (IP) and iterative-source-steering (ISS)
updates and for both source models, next to ILRMA's (Kitamura et al. 2016), read from the
``callback`` and from ``result.info["objective"]``.  The SDR of the separated source images
is printed for each.

With demixing matrices :math:`W_f` per frequency and :math:`\\mathbf{y}_{k\\cdot t}` the
vector of source :math:`k` over all bins in frame :math:`t`, IVA minimises

.. math::

   J(W) = \\frac{1}{T}\\sum_{k,t} G(\\mathbf{y}_{k\\cdot t})
   - c \\sum_f \\log\\left|\\det W_f\\right|.

Run:  python examples/plot_iva.py  (writes iva.png; set DSP_SEPARATE_EXAMPLES_OUT=folder)
"""

import os
from itertools import permutations
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import dsp_separate as ds  # noqa: E402

# 1. A synthetic convolutive 2 x 2 mixture (no files needed).
sr = 8000
n = 4 * sr
rng = np.random.default_rng(0)
t = np.arange(n)
sources = np.stack([rng.laplace(size=n) * np.abs(np.sin(t / rate)) ** 2
                    for rate in (700.0, 1150.0)])
h = rng.standard_normal((2, 2, 6)) * 0.5 * np.exp(-np.arange(6) / 2.0)  # mic x source x tap
h[0, 0, 0] += 1.0
h[1, 1, 0] += 1.0
images = np.stack([[np.convolve(sources[k], h[m, k])[:n] for m in range(2)]
                   for k in range(2)])  # (source, mic, n)
y = images.sum(axis=0)


def sdr(est):
    """Mean SDR over sources and mics, best assignment of estimates to sources."""
    return max(np.mean([ds.metrics.sd_sdr(images[k], est[p[k]]) for k in range(2)])
               for p in permutations(range(2)))


print(f"mixture as estimate: {sdr(np.stack([y, y])):5.1f} dB")

# 2. The separators; the callback records the objective as the iterations go.
stft = {"n_fft": 512, "hop_length": 128}
runs = {
    "AuxIVA IP, Gauss": ds.AuxIVA(n_iter=40, stft=stft),
    "AuxIVA ISS, Gauss": ds.AuxIVA(n_iter=40, update="iss", stft=stft),
    "AuxIVA IP, Laplace": ds.AuxIVA(n_iter=40, source_model="laplace", stft=stft),
    "ILRMA (2 bases)": ds.ILRMA(n_iter=40, stft=stft),
}
curves = {}
for label, sep in runs.items():
    seen = []
    sep.set_params(callback=lambda it, state, seen=seen: seen.append(state["objective"]))
    result = sep.separate(y, sr)
    assert seen == result.info["objective"]
    curves[label] = np.array(seen)
    print(f"{label:20s} SDR {sdr(result.stack()):5.1f} dB after {len(seen)} iterations")

# 3. The objectives (each shifted to end at 0, on a log scale: how far from the end).
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for label, obj in curves.items():
    axes[0].plot(np.arange(1, obj.size + 1), obj, label=label)
    axes[1].semilogy(np.arange(1, obj.size), obj[:-1] - obj[-1] + 1e-12, label=label)
axes[0].set(title="objective J per iteration", xlabel="iteration", ylabel="J")
axes[1].set(title="J - final J", xlabel="iteration")
axes[0].legend(fontsize=8)
fig.tight_layout()
out = Path(os.environ.get("DSP_SEPARATE_EXAMPLES_OUT", ".")) / "iva.png"
fig.savefig(out, dpi=80)
print(f"wrote {out}")
