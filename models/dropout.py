"""Inverted dropout on hidden layers: masks, their sources (``DROPOUT_MASKS``), forward and backward.

Training a hidden layer with keep probability ``p`` draws a boolean mask ``D`` ``(n_l, m)`` with
``P(D = 1) = p`` and passes ``A_drop = A * D / p`` on (the division keeps ``E[A_drop] = A``, so nothing
changes at test time, when dropout is off). Backward applies the same mask: ``dA = dA_drop * D / p``.
Both are written as a multiplication then a division, as in the course, so the bits match it.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


class GeneratorMasks:
    """Masks from an injected ``np.random.Generator``: ``rng.random((n_l, m), dtype=float32) < p``.

    The uniforms are float32 whatever the network's dtype, so float32 and float64 networks with the
    same seed drop the same units (float32's 2⁻²⁴ resolution is far finer than any useful ``p``).
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def start(self) -> None:
        """Called at the start of every forward pass; a stream needs nothing."""

    def draw(self, layer: int, shape: tuple[int, int], keep_prob: float) -> np.ndarray:
        return self.rng.random(shape, dtype=np.float32) < keep_prob


class CourseMasks:
    """The *Improving Deep Neural Networks* week-1 regularization assignment's masks, exactly.

    Its ``forward_propagation_with_dropout`` calls ``np.random.seed(1)`` at the start of every forward
    pass, then draws ``np.random.rand(n_l, m) < keep_prob`` layer by layer. Here a local
    ``np.random.RandomState(1)`` is made at the start of every pass instead, so the global state is
    never touched. Every pass with the same shapes therefore drops the same units: this reproduces
    the assignment, it is not a good regularizer for mini-batches.
    """

    SEED = 1

    def __init__(self, rng: np.random.Generator | None = None) -> None:
        self._legacy = np.random.RandomState(self.SEED)

    def start(self) -> None:
        self._legacy = np.random.RandomState(self.SEED)

    def draw(self, layer: int, shape: tuple[int, int], keep_prob: float) -> np.ndarray:
        return self._legacy.rand(*shape) < keep_prob


class FixedMasks:
    """Given masks, one boolean ``(n_l, m)`` array per hidden layer (``masks[l - 1]`` for layer ``l``),
    the same on every pass: what a gradient check needs."""

    def __init__(self, masks: Sequence[np.ndarray]) -> None:
        self.masks = [np.asarray(mask, dtype=bool) for mask in masks]

    def start(self) -> None:
        """Nothing to reset: the masks never change."""

    def draw(self, layer: int, shape: tuple[int, int], keep_prob: float) -> np.ndarray:
        if layer > len(self.masks):
            raise ValueError(f"no fixed dropout mask for hidden layer {layer}: {len(self.masks)} masks were given")
        mask = self.masks[layer - 1]
        if mask.shape != shape:
            raise ValueError(f"the fixed dropout mask of layer {layer} is {mask.shape}; the layer's A is {shape}")
        return mask


MaskSource = GeneratorMasks | CourseMasks | FixedMasks

# name -> factory(rng) of a mask source; the keys are the allowed values of DeepNetwork(dropout_masks=...).
DROPOUT_MASKS: dict[str, Callable[[np.random.Generator], MaskSource]] = {
    "default": GeneratorMasks,
    "course": CourseMasks,
}


@dataclass
class Dropout:
    """Dropout for one forward pass: ``keep_probs[l - 1]`` for hidden layer ``l`` and where masks come from.

    A layer whose keep probability is 1 is left alone and draws no mask.
    """

    keep_probs: tuple[float, ...]
    masks: MaskSource

    def mask(self, layer: int, shape: tuple[int, int]) -> np.ndarray | None:
        """The boolean mask ``(n_l, m)`` of hidden layer ``layer`` (1-based), or ``None`` when it keeps every unit."""
        if layer > len(self.keep_probs) or self.keep_probs[layer - 1] >= 1.0:
            return None
        return self.masks.draw(layer, shape, self.keep_probs[layer - 1])


def check_keep_prob(keep_prob: float | Sequence[float], n_hidden: int) -> tuple[float, ...]:
    """``keep_prob`` as one float per hidden layer; ``ValueError`` names the bad value and what is allowed.

    ``keep_prob`` is one number for every hidden layer or a sequence of ``n_hidden`` numbers, each in ``(0, 1]``.
    """
    if isinstance(keep_prob, bool) or not isinstance(keep_prob, int | float | np.floating | Sequence | np.ndarray):
        raise ValueError(f"keep_prob={keep_prob!r} must be a number in (0, 1] or one such number per hidden layer")
    values = [keep_prob] * n_hidden if isinstance(keep_prob, int | float | np.floating) else list(keep_prob)
    if len(values) != n_hidden:
        raise ValueError(
            f"keep_prob={list(values)!r} has {len(values)} values; the network has {n_hidden} hidden layers "
            "(give one number for all, or one per hidden layer)"
        )
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float | np.floating) or not 0.0 < value <= 1.0:
            raise ValueError(f"keep_prob={keep_prob!r}: each keep probability must be in (0, 1]; 1.0 turns dropout off")
    if n_hidden == 0 and isinstance(keep_prob, int | float | np.floating) and keep_prob < 1.0:
        raise ValueError(f"keep_prob={keep_prob!r} applies to hidden layers, and this network has none")
    return tuple(float(value) for value in values)


def dropout_forward(A: np.ndarray, mask: np.ndarray, keep_prob: float) -> np.ndarray:
    """``A * D / keep_prob`` as a new ``(n_l, m)`` array (``A`` is kept: the activation's derivative needs it)."""
    A_drop = A * mask
    A_drop /= keep_prob
    return A_drop


def dropout_backward(dA_drop: np.ndarray, mask: np.ndarray, keep_prob: float) -> np.ndarray:
    """``dA = dA_drop * D / keep_prob``, in place over ``dA_drop`` ``(n_l, m)``."""
    dA_drop *= mask
    dA_drop /= keep_prob
    return dA_drop


def draw_masks(
    layer_dims: Sequence[int], m: int, keep_prob: float | Sequence[float], rng: np.random.Generator
) -> list[np.ndarray]:
    """One boolean mask ``(n_l, m)`` per hidden layer of ``layer_dims``, e.g. to hold fixed in a gradient check."""
    keep_probs = check_keep_prob(keep_prob, len(layer_dims) - 2)
    return [rng.random((int(layer_dims[l]), m)) < keep_probs[l - 1] for l in range(1, len(layer_dims) - 1)]
