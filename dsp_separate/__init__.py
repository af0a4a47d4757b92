"""dsp_separate: classical audio source separation, numpy in, numpy out.

Audio arrays are channel-first ``(..., n_samples)``; STFTs are ``(..., n_freq, n_frames)``.
Every separator shares one interface::

    import dsp_separate as ds
    result = ds.HPSS().separate(y, sr)
    result["harmonic"]          # same shape, length and dtype as y

Importing the package is cheap: submodules (and numpy, scipy, numba, scikit-learn behind
them) load on first use of a name, and numba kernels compile on their first call, with an
on-disk cache.
"""

from __future__ import annotations

import importlib

from .exceptions import AudioFileError as AudioFileError
from .exceptions import ConvergenceWarning as ConvergenceWarning
from .exceptions import DspSeparateError as DspSeparateError
from .exceptions import NotFittedError as NotFittedError
from .exceptions import ParameterError as ParameterError

__version__ = "0.1.0"

# public name -> submodule that defines it (loaded on first attribute access)
_LAZY = {
    "STFT": "_stft",
    "stft": "_stft",
    "istft": "_stft",
    "ratio_masks": "masks",
    "binary_masks": "masks",
    "softmask": "masks",
    "apply_masks": "masks",
    "wiener": "_wiener",
    "Separation": "result",
    "Separator": "base",
    "Tags": "base",
    "save_model": "base",
    "load_model": "base",
    "hpss_reference": "separators.hpss",
    "HPSS": "separators.hpss",
    "hpss": "separators.hpss",
    "hpss_masks": "separators.hpss",
    "median_filter": "separators.hpss",
    "MultichannelWiener": "separators.wiener",
    "REPET": "separators.repet",
    "AdaptiveREPET": "separators.repet",
    "REPETSIM": "separators.repet",
    "beat_spectrum": "separators.repet",
    "beat_spectrogram": "separators.repet",
    "repeating_period": "separators.repet",
    "repet_model": "separators.repet",
    "adaptive_repet_model": "separators.repet",
    "repet_sim_model": "separators.repet",
    "similarity_matrix": "separators.repet",
    "RPCA": "separators.rpca",
    "rpca": "separators.rpca",
    "FT2D": "separators.ft2d",
    "ft2d_models": "separators.ft2d",
    "KAM": "separators.kam",
    "kam": "separators.kam",
    "nmf": "separators.nmf",
    "beta_divergence": "separators.nmf",
    "SupervisedNMF": "separators.nmf",
    "BlindNMF": "separators.nmf",
    "ScoreNMF": "separators.nmf",
    "midi_notes": "separators.nmf",
    "NMFD": "separators.nmf",
    "nmfd": "separators.nmf",
    "AuxIVA": "separators.iva",
    "auxiva": "separators.iva",
    "ILRMA": "separators.iva",
    "ilrma": "separators.iva",
    "IdealBinaryMask": "separators.oracle",
    "IdealRatioMask": "separators.oracle",
    "PhaseSensitiveMask": "separators.oracle",
    "OracleWiener": "separators.oracle",
    "MixtureAsEstimate": "separators.oracle",
    "phase_sensitive_masks": "separators.oracle",
    "oracle_wiener": "separators.oracle",
    "FastICA": "separators.ica",
    "FDICA": "separators.ica",
    "align_permutations": "separators.ica",
    "DUET": "separators.spatial",
    "SpatialClustering": "separators.spatial",
    "duet_histogram": "separators.spatial",
    "duet_peaks": "separators.spatial",
    "evaluate": "evaluation",
    "median_table": "evaluation",
    "FolderDataset": "datasets",
    "ManifestDataset": "datasets",
    "Track": "datasets",
    "open_dataset": "datasets",
    "load": "io",
    "save": "io",
    "available_separators": "separators",
    "denoise": "separators.enhance",
    "SpectralSubtraction": "separators.enhance",
    "WienerDD": "separators.enhance",
    "MMSESTSA": "separators.enhance",
    "LogMMSE": "separators.enhance",
    "OMLSA": "separators.enhance",
    "SpectralGating": "separators.enhance",
    "get_separator": "separators",
    "example": "_examples",
    "examples": "_examples",
    "example_info": "_examples",
    "example_training": "_examples",
}
_SUBMODULES = {
    "metrics", "io", "masks", "separators", "cli", "datasets", "evaluation",
    "synth", "base", "result", "plot",
}

__all__ = sorted(
    ["AudioFileError", "ConvergenceWarning", "DspSeparateError", "NotFittedError",
     "ParameterError", "__version__"]
    + list(_LAZY)
    + ["metrics", "synth", "plot"]
)


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'dsp_separate' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
