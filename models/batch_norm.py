"""Batch normalization of hidden layers, before the activation (as in the course's lectures).

A batch-norm hidden layer ``l`` computes ``Z = W·A_prev`` (no bias), normalizes each unit over the
batch's ``m`` columns and rescales it with learned ``gamma{l}`` and ``beta{l}`` ``(n_l, 1)``:

    mu = mean(Z, axis=1)            var = mean((Z - mu)², axis=1)           (the biased variance)
    Z_norm = (Z - mu) / sqrt(var + eps)
    Z_tilde = gamma * Z_norm + beta                                          A = g(Z_tilde)

The bias ``b{l}`` would be redundant with ``beta{l}`` (mean subtraction removes any constant added
to ``Z``, so its gradient is exactly zero): batch-norm layers have **no** ``b{l}`` in the parameters,
their gradients or saved files. The output layer is never normalized and keeps its ``b{L}``.

Training normalizes with the batch's statistics and updates running ones,
``running = momentum · running + (1 − momentum) · batch`` (mean from 0, variance from 1); predict,
evaluate and the validation pass normalize with the running statistics instead.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

DEFAULT_EPSILON = 1e-5
DEFAULT_MOMENTUM = 0.9


class BatchNormCache(NamedTuple):
    """What a training-mode batch norm keeps for its backward: ``Z_norm`` ``(n_l, m)``, ``gamma`` and
    ``inv_std = 1/sqrt(var + eps)`` ``(n_l, 1)``, and the batch's ``mean`` and ``var`` ``(n_l, 1)``
    (for the running statistics)."""

    Z_norm: np.ndarray
    gamma: np.ndarray
    inv_std: np.ndarray
    mean: np.ndarray
    var: np.ndarray


@dataclass
class BatchNorm:
    """Batch-norm settings for one forward pass.

    ``running=None`` normalizes with each batch's statistics (training, and what gradients are taken
    of); a dict ``{"running_mean{l}", "running_var{l}"}`` of ``(n_l, 1)`` arrays normalizes with those
    (inference: those caches hold no batch-norm state, so ``backward_propagation`` needs a training pass).
    """

    epsilon: float = DEFAULT_EPSILON
    running: dict[str, np.ndarray] | None = None


def batch_norm_forward(
    Z: np.ndarray, gamma: np.ndarray, beta: np.ndarray, epsilon: float
) -> tuple[np.ndarray, BatchNormCache]:
    """Training mode: ``Z`` ``(n_l, m)`` normalized with its own statistics; returns ``(Z_tilde, cache)``.

    ``Z`` is overwritten (it becomes ``Z_norm``, which the cache keeps).
    """
    mean = Z.mean(axis=1, keepdims=True)
    Z -= mean
    var = np.einsum("ij,ij->i", Z, Z)[:, None] / Z.shape[1]  # row sums of squares without a (n_l, m) temporary
    inv_std = 1.0 / np.sqrt(var + epsilon)
    Z *= inv_std
    Z_tilde = gamma * Z
    Z_tilde += beta
    return Z_tilde, BatchNormCache(Z, gamma, inv_std, mean, var)


def batch_norm_inference(
    Z: np.ndarray, gamma: np.ndarray, beta: np.ndarray, mean: np.ndarray, var: np.ndarray, epsilon: float
) -> np.ndarray:
    """Inference mode: ``gamma * (Z - mean) / sqrt(var + eps) + beta`` with fixed statistics, in place over ``Z``."""
    scale = gamma / np.sqrt(var + epsilon)
    Z *= scale
    Z += beta - mean * scale
    return Z


def batch_norm_backward(dZ_tilde: np.ndarray, cache: BatchNormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients ``(dZ, dgamma, dbeta)`` of the cost from ``dZ_tilde`` ``(n_l, m)``; ``dZ_tilde`` may be overwritten.

    Derivation (one unit, i.e. one row; ``x̂_i`` is ``Z_norm``'s column ``i``, ``σ = sqrt(var + eps)``,
    and ``dZ_tilde`` already carries the cost's ``1/m``):

    * ``Z_tilde_i = γ x̂_i + β`` gives ``dβ = Σ_i dZ_tilde_i`` and ``dγ = Σ_i dZ_tilde_i x̂_i``, and
      ``dx̂_i = γ dZ_tilde_i``.
    * ``x̂_i = (Z_i − μ)/σ`` with ``μ = (1/m) Σ_j Z_j`` and ``σ² = (1/m) Σ_j (Z_j − μ)² + eps``, so
      ``∂μ/∂Z_i = 1/m`` and ``∂σ/∂Z_i = (Z_i − μ)/(m σ) = x̂_i/m``. Hence
      ``∂x̂_j/∂Z_i = (δ_ij − 1/m)/σ − x̂_j x̂_i/(m σ)``.
    * Summing over ``j``: ``dZ_i = (1/σ) (dx̂_i − (1/m) Σ_j dx̂_j − x̂_i (1/m) Σ_j dx̂_j x̂_j)``.
    * With ``Σ_j dx̂_j = γ dβ`` and ``Σ_j dx̂_j x̂_j = γ dγ``:
      ``dZ = (γ/σ) (dZ_tilde − dβ/m − x̂ dγ/m)``, the form computed here.
    """
    Z_norm, gamma, inv_std, _, _ = cache
    m = dZ_tilde.shape[1]
    dbeta = dZ_tilde.sum(axis=1, keepdims=True)
    dgamma = np.einsum("ij,ij->i", dZ_tilde, Z_norm)[:, None]
    dZ = Z_norm * (dgamma / m)
    np.subtract(dZ_tilde, dZ, out=dZ)
    dZ -= dbeta / m
    dZ *= gamma * inv_std
    return dZ, dgamma, dbeta


def initialize_batch_norm(layer_dims: list[int], dtype: type | str = np.float64) -> dict[str, np.ndarray]:
    """``{"gamma1": ones (n_1, 1), "beta1": zeros (n_1, 1), ...}`` for every hidden layer of ``layer_dims``."""
    parameters = {}
    for l in range(1, len(layer_dims) - 1):
        parameters[f"gamma{l}"] = np.ones((layer_dims[l], 1), dtype=dtype)
        parameters[f"beta{l}"] = np.zeros((layer_dims[l], 1), dtype=dtype)
    return parameters


def initialize_running(layer_dims: list[int], dtype: type | str = np.float64) -> dict[str, np.ndarray]:
    """``{"running_mean1": zeros (n_1, 1), "running_var1": ones (n_1, 1), ...}`` for every hidden layer."""
    running = {}
    for l in range(1, len(layer_dims) - 1):
        running[f"running_mean{l}"] = np.zeros((layer_dims[l], 1), dtype=dtype)
        running[f"running_var{l}"] = np.ones((layer_dims[l], 1), dtype=dtype)
    return running


def update_running(running: dict[str, np.ndarray], caches: list, momentum: float) -> None:
    """Fold each batch-norm layer's batch statistics (from forward caches) into ``running``, in place."""
    for l, cache in enumerate(caches, start=1):
        norm = getattr(cache, "norm", None)
        if norm is None:
            continue
        for key, batch in ((f"running_mean{l}", norm.mean), (f"running_var{l}", norm.var)):
            value = running[key]
            value *= momentum
            value += (1.0 - momentum) * batch
