r"""Shared pieces of the blind (independence-based and spatial) separators.

Blind methods find sources only up to a scale and an order: a demixing matrix :math:`W`
that makes :math:`y = W x` independent is as good as :math:`D P W` for any diagonal
:math:`D` and permutation :math:`P`.  The library fixes both the same way for every blind
method:

* **Scale — projection back** (minimal distortion principle; Murata, Ikeda & Ziehe 2001;
  Matsuoka 2002).  Source :math:`k` is returned as its *image* at every input channel,
  :math:`\hat{x}_{mk} = a_{mk}\, y_k` with :math:`A = W^{-1}` (or the least-squares
  :math:`A` when :math:`W` is not square).  In the determined case the images sum to the
  mixture exactly, and every source is at the mixture's scale.
* **Order** — deterministic for a fixed ``random_state``; each method documents its rule.

Functions here take the unchecked arrays the separators made; they are not public API.

References
----------
N. Murata, S. Ikeda and A. Ziehe, "An approach to blind source separation based on temporal
structure of speech signals," Neurocomputing 41, 2001.
K. Matsuoka, "Minimal distortion principle for blind source separation," SICE 2002.
"""

from __future__ import annotations

import numpy as np


def images_from_demixing(Y: np.ndarray, W: np.ndarray) -> np.ndarray:
    r"""Source images by projection back through the demixing matrices, per bin.

    Parameters
    ----------
    Y : ndarray, shape (n_sources, n_freq, n_frames), complex
        Demixed signals :math:`y_{kft} = \sum_m w_{fkm} x_{mft}`.
    W : ndarray, shape (n_freq, n_sources, n_channels), complex
        Demixing matrices.

    Returns
    -------
    ndarray, shape (n_sources, n_channels, n_freq, n_frames)
        :math:`\hat{x}_{kmft} = a_{fmk}\, y_{kft}` with :math:`A_f = W_f^{+}` (the inverse
        when square; the Moore-Penrose pseudo-inverse otherwise, computed in float64).
    """
    A = np.linalg.pinv(W.astype(np.complex128)).astype(Y.dtype)  # (F, M, K)
    # images[k, m, f, t] = A[f, m, k] * Y[k, f, t]
    return np.einsum("fmk,kft->kmft", A, Y)


def least_squares_images(Y: np.ndarray, X: np.ndarray, *, rcond: float = 1e-10) -> np.ndarray:
    r"""Source images by least-squares regression of the mixture on the components.

    Finds :math:`A` minimising :math:`\lVert X - A Y \rVert_F^2` (jointly over all
    components, along the last axis) and returns :math:`\hat{x}_{km} = a_{mk} y_k`.  When
    :math:`Y = W X` with :math:`W` square and invertible, :math:`A = W^{-1}` and the images
    sum to :math:`X` exactly.  Components that are (numerically) zero get a zero image: the
    normal equations are solved by a pseudo-inverse that drops singular values below
    ``rcond`` times the largest.

    Parameters
    ----------
    Y : ndarray, shape (n_sources, ..., n)
        Components (real or complex).
    X : ndarray, shape (n_channels, ..., n)
        Mixture, with the same middle axes (e.g. a frequency axis, regressed per bin).

    Returns
    -------
    ndarray, shape (n_sources, n_channels, ..., n)
    """
    Yt = np.moveaxis(Y, 0, -2)  # (..., K, n)
    Xt = np.moveaxis(X, 0, -2)  # (..., M, n)
    Yd = Yt.astype(np.result_type(Yt.dtype, np.float64))
    Xd = Xt.astype(np.result_type(Xt.dtype, np.float64))
    G = Yd @ np.conj(np.swapaxes(Yd, -1, -2))  # (..., K, K) Gram matrix
    C = Xd @ np.conj(np.swapaxes(Yd, -1, -2))  # (..., M, K) cross-correlation
    A = C @ np.linalg.pinv(G, rcond=rcond, hermitian=True)  # (..., M, K)
    A = A.astype(np.result_type(X.dtype, Y.dtype))
    # images[k, m, ..., t] = A[..., m, k] * Y[k, ..., t]
    out = np.moveaxis(A, (-2, -1), (1, 0))[..., None] * Y[:, None]
    return out


def stop_requested(answer) -> bool:
    """Whether an iteration callback asked to stop: it returned ``True`` (a Python or numpy
    bool).  Any other return value, a number or ``None``, lets the iterations go on, so a
    ``lambda i, state: state["objective"]`` does not stop anything by accident."""
    return answer is True or (isinstance(answer, np.bool_) and bool(answer))


def callback_for_item(callback, item):
    """The user's ``callback(iteration, state)`` for item ``item`` of a batch: its ``state``
    also gets ``"item"``.  ``callback`` itself when it is None or there is no batch
    (``item`` None)."""
    if callback is None or item is None:
        return callback

    def with_item(iteration, state):
        return callback(iteration, dict(state, item=item))

    return with_item
