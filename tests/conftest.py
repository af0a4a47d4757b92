"""Shared fixtures: small synthetic signals whose true sources are known."""

import os

import numpy as np
import pytest

# With the package pip-installed (not editable), the doctests of dsp_separate/*.py run on the
# installed modules of the same name (pytest's --import-mode=append finds those first).
os.environ.setdefault("PY_IGNORE_IMPORTMISMATCH", "1")


def two_sources(n=8000, sr=8000, seed=0):
    """A tone and a click train, float64, shape (2, n)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    tone = 0.4 * np.sin(2 * np.pi * 330 * t) + 0.2 * np.sin(2 * np.pi * 660 * t)
    clicks = np.zeros(n)
    clicks[:: sr // 8] = 1.0
    clicks = np.convolve(clicks, rng.standard_normal(32) * np.exp(-np.arange(32) / 6))[:n]
    return np.stack([tone, clicks])


@pytest.fixture
def sources_mono():
    return two_sources()


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
