"""Pieces shared by the ratio metrics and BSS Eval: dB ratios, input checks, matching."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from .._validation import check_audio, check_channel_first, describe
from ..exceptions import ParameterError

# ----------------------------------------------------------------------------------------
# small helpers


def _ratio_db(num, den):
    """``10 log10(num / den)`` for energies, without warnings.

    ``num > 0, den == 0`` gives ``+inf``; ``num == 0, den > 0`` gives ``-inf``;
    ``num == den == 0`` gives NaN.  Negative values (rounding) count as 0.
    """
    num = np.maximum(np.asarray(num, dtype=np.float64), 0.0)
    den = np.maximum(np.asarray(den, dtype=np.float64), 0.0)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    num, den = np.broadcast_arrays(num, den)
    both = (num > 0) & (den > 0)
    out[both] = 10.0 * np.log10(num[both] / den[both])
    out[(num > 0) & (den == 0)] = np.inf
    out[(num == 0) & (den > 0)] = -np.inf
    return out


def _check_pair(reference, estimate, *, min_ndim=1, max_ndim=None, what="(..., n_samples)"):
    """Both arrays checked as channel-first audio of the same shape, returned as float64.

    Arrays that look like ``(..., n_samples, n_channels)`` (last axis shorter than 2048
    samples while the one before is not) are refused with a hint to transpose, before
    anything is allocated: BSS Eval would otherwise treat every sample as a channel.
    """
    reference = check_channel_first(check_audio(reference, "reference"), "reference")
    estimate = check_channel_first(check_audio(estimate, "estimate"), "estimate")
    if reference.ndim < min_ndim or (max_ndim is not None and reference.ndim > max_ndim):
        raise ParameterError(f"reference={describe(reference)}: must have shape {what}")
    if estimate.shape != reference.shape:
        raise ParameterError(
            f"estimate={describe(estimate)}: must have the same shape as reference "
            f"{reference.shape}"
        )
    return reference.astype(np.float64, copy=False), estimate.astype(np.float64, copy=False)


def _sanitize_for_assignment(score):
    """Finite stand-in for a score matrix (NaN worst, then -inf; +inf best)."""
    s = np.where(np.isnan(score), -2e6, score)
    return np.clip(s, -1e6, 1e6)


def _best_perm(score):
    """``perm[j]``: estimate for reference ``j`` maximising the sum of ``score[j, perm[j]]``.

    ``score``: ``(n_ref, n_est)``.
    """
    rows, cols = linear_sum_assignment(_sanitize_for_assignment(score), maximize=True)
    perm = np.empty(score.shape[0], dtype=np.int64)
    perm[rows] = cols
    return perm

