"""
Drawing a separation: spectrograms, masks and the true sources
===============================================================

Every separator returns a :class:`~dsp_separate.Separation`; :mod:`dsp_separate.plot`
draws it.  This example loads a clip that ships with the package (``ds.example``: a Bach
chorale on strings over a rock drum groove, 5 s, with its true parts), separates it with
HPSS, and draws the mixture, each source and its mask, then the true sources with each
estimate's SI-SDR.

The masks are what the method *decided*: a soft mask :math:`M_j(f, t) \\in [0, 1]` per source,
with :math:`\\sum_j M_j = 1`, and each source is :math:`\\hat S_j = M_j \\odot X` resynthesised
(Fitzgerald, DAFx 2010).  Black is 1: the harmonic mask is made of horizontal lines
(sustained partials), the percussive one of vertical lines (drum hits).

Run:  python examples/plot_separation.py  (writes hpss_example.png; set
DSP_SEPARATE_EXAMPLES_OUT=folder.  The README's picture is this figure:
``DSP_SEPARATE_EXAMPLES_OUT=docs/_static python examples/plot_separation.py``.)
"""

# %%
# A shipped clip, separated
# -------------------------
# ``keep="masks"`` keeps the masks in the result, so that they can be drawn.
import io
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

import dsp_separate as ds

y, stems, sr = ds.example("hpss", stems=True)
result = ds.HPSS(margin=1.0).separate(y, sr, keep="masks")
print(result)

# %%
# Mixture, sources and masks
# --------------------------
# All spectrograms share the mixture's dB scale (0 dB = its loudest bin), so a quieter
# source looks darker.  ``result.plot()`` is the same call.
fig = ds.plot.separation(result, mixture=y, log_freq=True)
fig.set_size_inches(9.0, 4.6)
fig.suptitle("HPSS on ds.example('hpss'): spectrograms (top) and soft masks (bottom)",
             fontsize="medium")
out = Path(os.environ.get("DSP_SEPARATE_EXAMPLES_OUT", "."))
out.mkdir(parents=True, exist_ok=True)
# a 96-colour palette PNG (Pillow comes with matplotlib) keeps the README's copy < 100 kB
buf = io.BytesIO()
fig.savefig(buf, format="png", dpi=80)
Image.open(buf).convert("RGB").quantize(colors=96, method=Image.Quantize.MEDIANCUT).save(
    out / "hpss_example.png", optimize=True)
print(f"wrote {out / 'hpss_example.png'}")

# %%
# Against the true sources
# ------------------------
# With ``references=`` a third row draws the true sources, titled with the SI-SDR of each
# estimate (Le Roux et al., ICASSP 2019).  The ideal ratio mask, computed from the true
# sources, shows how far a mask could go on this clip.  HPSS, which sees only the mixture,
# is far from it here: when this example was written it gained 2 dB on the harmonic part
# (-4.1 -> -2.0 dB) and lost 2.6 dB on the percussive part (4.2 -> 1.6 dB), against
# 13.0 / 17.3 dB for the ideal mask.  In the spectrograms, the thin vertical lines left in
# the harmonic part are drum hits; docs/hpss.md has the figures on the whole dev corpus.
fig = ds.plot.separation(result, mixture=y, references=stems)
oracle = ds.IdealRatioMask().separate(y, sr, references=stems)


def si_sdr(ref, est):
    return float(ds.metrics.si_sdr(ref.astype(np.float64), est.astype(np.float64)))


print("| source     | HPSS SI-SDR (dB) | mixture as estimate (dB) | ideal ratio mask (dB) |")
print("|------------|-----------------:|-------------------------:|----------------------:|")
for name in stems:
    print(f"| {name:<10} | {si_sdr(stems[name], result[name]):16.2f} "
          f"| {si_sdr(stems[name], y):24.2f} | {si_sdr(stems[name], oracle[name]):21.2f} |")

# %%
# One mask up close
# -----------------
# Every drawing function takes ``ax=``, so panels combine freely.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained")
ds.plot.spectrogram(y, sr, ax=axes[0], log_freq=True, title="mixture")
ds.plot.mask(result.masks["percussive"], sr, ax=axes[1], log_freq=True,
             title="percussive mask")

# %%
# Listening
# ---------
# In a notebook (and in this gallery), a ``Separation`` shows itself as a table with a
# player per source.
result  # the last value of a cell: an audio player per source
