"""SI-SDR, SD-SDR and SNR (Le Roux et al. 2019), with optional permutation matching.

Each signal ``(..., n_samples)`` is scored on its own, in float64, without warnings for
the special cases (silent reference, silent or exact estimate).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validation import check_bool, describe
from ..exceptions import ParameterError
from ._common import _best_perm, _check_pair, _ratio_db, _sanitize_for_assignment

__all__ = ["MatchedScores", "si_sdr", "sd_sdr", "snr"]


class MatchedScores(NamedTuple):
    """Scores after matching estimates to references (``permutation=True``).

    Attributes
    ----------
    scores : np.ndarray, float64, shape ``(n_src, ...)``
        ``scores[j]`` is the score of estimate ``perm[j]`` against reference ``j``
        (reference order).
    perm : np.ndarray, int64, shape ``(n_src,)``
        ``perm[j]`` is the index of the estimate matched to reference ``j``;
        ``estimate[perm]`` puts the estimates in reference order.
    """

    scores: np.ndarray
    perm: np.ndarray



# ----------------------------------------------------------------------------------------
# SI-SDR, SD-SDR, SNR


def _energy_ratio_scores(reference, estimate, zero_mean, kind):
    """Score matrix pieces for one pairing: returns dB with the documented special values."""
    if zero_mean:
        reference = reference - reference.mean(axis=-1, keepdims=True)
        estimate = estimate - estimate.mean(axis=-1, keepdims=True)
    ref_energy = np.einsum("...n,...n->...", reference, reference)
    ref_silent = ~np.any(reference != 0, axis=-1)
    est_silent = ~np.any(estimate != 0, axis=-1)
    if kind == "snr":
        err = estimate - reference
        out = _ratio_db(ref_energy, np.einsum("...n,...n->...", err, err))
    else:
        cross = np.einsum("...n,...n->...", reference, estimate)
        safe = np.where(ref_energy > 0, ref_energy, 1.0)
        alpha = np.where(ref_energy > 0, cross / safe, 0.0)
        target = alpha[..., None] * reference
        target_energy = alpha * alpha * ref_energy
        if kind == "si_sdr":
            noise = estimate - target
        else:  # sd_sdr: the plain error in the denominator
            noise = estimate - reference
        out = _ratio_db(target_energy, np.einsum("...n,...n->...", noise, noise))
        out = np.where(est_silent & ~ref_silent, -np.inf, out)
    return np.where(ref_silent, np.nan, out)


def _ratio_metric(reference, estimate, zero_mean, permutation, kind):
    reference, estimate = _check_pair(reference, estimate)
    zero_mean = check_bool(zero_mean, "zero_mean")
    permutation = check_bool(permutation, "permutation")
    if not permutation:
        out = _energy_ratio_scores(reference, estimate, zero_mean, kind)
        return out[()] if out.ndim == 0 else out
    if reference.ndim < 2:
        raise ParameterError(
            f"permutation=True: needs a leading sources axis, but reference="
            f"{describe(reference)} has a single dimension"
        )
    n_src = reference.shape[0]
    # pairwise[i, j, ...] = score(reference i, estimate j)
    pairwise = _energy_ratio_scores(reference[:, None], estimate[None, :], zero_mean, kind)
    mean = _sanitize_for_assignment(pairwise).reshape(n_src, n_src, -1).mean(axis=-1)
    perm = _best_perm(mean)
    return MatchedScores(pairwise[np.arange(n_src), perm], perm)


def si_sdr(reference, estimate, *, zero_mean=False, permutation=False):
    r"""Scale-invariant signal-to-distortion ratio (SI-SDR) in dB.

    The reference is scaled to best match the estimate, and the energy of that scaled
    reference is compared with the energy of what remains of the estimate.

    Parameters
    ----------
    reference : np.ndarray, float, shape ``(..., n_samples)``
        True signals.
    estimate : np.ndarray, float, same shape as ``reference``
        Estimated signals.
    zero_mean : bool
        Subtract each signal's mean (over samples) first.
    permutation : bool
        If True, axis 0 indexes sources: estimates are matched to references by the
        assignment that maximises the mean score (Hungarian algorithm,
        :func:`scipy.optimize.linear_sum_assignment`; scores of all trailing indices are
        averaged per pair).

    Returns
    -------
    scores : np.ndarray (float64, shape ``reference.shape[:-1]``) or np.float64
        One score per signal; a scalar for 1-D input.  With ``permutation=True`` a
        :class:`MatchedScores` ``(scores, perm)``: ``scores`` in reference order,
        ``perm[j]`` the estimate matched to reference ``j``.

    Notes
    -----
    With :math:`s` the reference and :math:`\hat s` the estimate,

    .. math::

        \alpha = \frac{\langle \hat s, s\rangle}{\lVert s\rVert^2}, \qquad
        \text{SI-SDR} = 10 \log_{10}
        \frac{\lVert \alpha s\rVert^2}{\lVert \hat s - \alpha s\rVert^2}.

    Special values, returned without warnings: a silent reference (all zeros, or constant
    with ``zero_mean``) gives NaN (there is nothing to measure against); a silent estimate
    of a non-silent reference gives ``-inf``; an estimate that is an exact multiple of the
    reference gives ``+inf``.  Scores are computed in float64 whatever the input dtype.

    References
    ----------
    .. [1] J. Le Roux, S. Wisdom, H. Erdogan and J. R. Hershey, "SDR - half-baked or well
       done?", Proc. IEEE ICASSP, pp. 626-630, 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate.metrics import si_sdr
    >>> t = np.arange(8000) / 8000
    >>> ref = np.sin(2 * np.pi * 440 * t)
    >>> other = np.cos(2 * np.pi * 97 * t)        # orthogonal to ref, same energy
    >>> print(round(float(si_sdr(ref, 0.5 * ref + 0.05 * other)), 2))
    20.0
    >>> refs = np.stack([ref, other])
    >>> res = si_sdr(refs, 2.0 * refs[::-1] + 0.02 * refs, permutation=True)
    >>> res.perm.tolist(), np.round(res.scores, 2).tolist()
    ([1, 0], [40.0, 40.0])
    """
    return _ratio_metric(reference, estimate, zero_mean, permutation, "si_sdr")


def sd_sdr(reference, estimate, *, zero_mean=False, permutation=False):
    r"""Scale-dependent signal-to-distortion ratio (SD-SDR) in dB.

    Like :func:`si_sdr`, but the error is measured against the reference itself, so a
    wrongly scaled estimate is penalised.

    Parameters
    ----------
    reference : np.ndarray, float, shape ``(..., n_samples)``
        True signals.
    estimate : np.ndarray, float, same shape as ``reference``
        Estimated signals.
    zero_mean : bool
        Subtract each signal's mean (over samples) first.
    permutation : bool
        If True, axis 0 indexes sources and estimates are matched to references by the
        assignment that maximises the mean score (see :func:`si_sdr`).

    Returns
    -------
    scores : np.ndarray (float64, shape ``reference.shape[:-1]``) or np.float64
        One score per signal; with ``permutation=True`` a :class:`MatchedScores`.

    Notes
    -----
    .. math::

        \alpha = \frac{\langle \hat s, s\rangle}{\lVert s\rVert^2}, \qquad
        \text{SD-SDR} = 10 \log_{10}
        \frac{\lVert \alpha s\rVert^2}{\lVert \hat s - s\rVert^2}.

    A silent reference gives NaN, a silent estimate of a non-silent reference gives
    ``-inf`` and an exact estimate gives ``+inf``.

    References
    ----------
    .. [1] J. Le Roux, S. Wisdom, H. Erdogan and J. R. Hershey, "SDR - half-baked or well
       done?", Proc. IEEE ICASSP, pp. 626-630, 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate.metrics import sd_sdr, si_sdr
    >>> ref = np.sin(2 * np.pi * 5 * np.arange(1000) / 1000)
    >>> print(round(float(sd_sdr(ref, 0.5 * ref)), 2), float(si_sdr(ref, 0.5 * ref)))
    0.0 inf
    """
    return _ratio_metric(reference, estimate, zero_mean, permutation, "sd_sdr")


def snr(reference, estimate, *, zero_mean=False, permutation=False):
    r"""Signal-to-noise ratio of an estimate in dB (the plain, scale-dependent SDR).

    Parameters
    ----------
    reference : np.ndarray, float, shape ``(..., n_samples)``
        True signals.
    estimate : np.ndarray, float, same shape as ``reference``
        Estimated signals.
    zero_mean : bool
        Subtract each signal's mean (over samples) first.
    permutation : bool
        If True, axis 0 indexes sources and estimates are matched to references by the
        assignment that maximises the mean score (see :func:`si_sdr`).

    Returns
    -------
    scores : np.ndarray (float64, shape ``reference.shape[:-1]``) or np.float64
        One score per signal; with ``permutation=True`` a :class:`MatchedScores`.

    Notes
    -----
    .. math::

        \text{SNR} = 10 \log_{10} \frac{\lVert s\rVert^2}{\lVert \hat s - s\rVert^2}.

    A silent reference gives NaN; a silent estimate gives 0 dB; an exact estimate gives
    ``+inf``.

    References
    ----------
    .. [1] J. Le Roux, S. Wisdom, H. Erdogan and J. R. Hershey, "SDR - half-baked or well
       done?", Proc. IEEE ICASSP, pp. 626-630, 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from dsp_separate.metrics import snr
    >>> ref = np.ones((2, 100))
    >>> print(snr(ref, ref + 0.1))
    [20. 20.]
    """
    return _ratio_metric(reference, estimate, zero_mean, permutation, "snr")

