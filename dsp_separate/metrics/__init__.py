"""Separation quality: SI-SDR and friends, and BSS Eval (v3 sources, v3/v4 images).

Every function takes channel-first arrays, references first, and returns scores in dB.
Arrays that look like soundfile's ``(n_samples, n_channels)`` layout are refused with a
:class:`~dsp_separate.exceptions.ParameterError` suggesting ``.T`` (the package's one
layout rule, :func:`dsp_separate._validation.check_channel_first`).

Simple energy ratios (Le Roux et al. 2019), in :mod:`._ratio`
    :func:`si_sdr`, :func:`sd_sdr`, :func:`snr` score each signal ``(..., n_samples)``
    on its own, optionally after matching estimates to references
    (``permutation=True``, Hungarian assignment).

BSS Eval (Vincent, Gribonval and Févotte 2006; Stöter, Liutkus and Ito 2018), in :mod:`._bsseval`
    :func:`bss_eval_sources` (sources ``(n_src, n_samples)``: SDR, SIR, SAR) and
    :func:`bss_eval_images` (images ``(n_src, n_chan, n_samples)``: SDR, ISR, SIR, SAR),
    on the whole signal or on frames of ``frame_samples`` samples every ``hop_samples``
    samples.  Both give the figures of mir_eval (v3) and museval (v4) to well within
    0.01 dB; how they are computed fast is described in :mod:`._bsseval`.

Examples
--------
>>> import numpy as np
>>> import dsp_separate as ds
>>> ref = np.sin(2 * np.pi * 5 * np.arange(1000) / 1000)
>>> print(round(float(ds.metrics.snr(ref, 1.1 * ref)), 2))
20.0
"""

from __future__ import annotations

from ._bsseval import ImagesScores, SourcesScores, bss_eval_images, bss_eval_sources
from ._ratio import MatchedScores, sd_sdr, si_sdr, snr

__all__ = [
    "MatchedScores",
    "SourcesScores",
    "ImagesScores",
    "si_sdr",
    "sd_sdr",
    "snr",
    "bss_eval_sources",
    "bss_eval_images",
]
