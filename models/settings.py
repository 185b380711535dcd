"""Every setting of the network, declared once: its name, type, default, rule and when it applies.

- ``Architecture``: the choices that shape every hidden layer; ``NetworkSpec`` adds the layer sizes, the output
  activation and the seed, and is what ``DeepNetwork`` is built from.
- ``FitSettings``: what ``DeepNetwork.fit`` trains with. Which optimizer takes ``beta1`` is declared by the
  optimizer's own constructor (``models.optimizers``), which decay takes ``time_interval`` by the schedule's
  (``models.schedules``); ``applies`` here reads those declarations.

Each field's metadata holds its rule (a ``Range``, a name table whose keys are the allowed values, or ``bool``),
whether ``None`` is allowed, and ``applies(settings) -> bool`` for a setting used only sometimes. ``check``
validates a settings object in one place. The pipeline's config schema inherits these classes, its pre-flight
reads the same rules and its runs log ``applied``: a new knob is declared here and used where it acts.
"""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from models.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from models.batch_norm import DEFAULT_EPSILON, DEFAULT_MOMENTUM
from models.dropout import DROPOUT_MASKS
from models.initializers import INITIALIZERS, WEIGHT_GENERATORS
from models.mini_batches import BATCH_ORDERS
from models.optimizers import OPTIMIZERS, optimizer_takes
from models.rules import Range, Rule, problem
from models.schedules import LR_DECAYS, decay_takes

DTYPES = {"float64": np.float64, "float32": np.float32}
SEED_MAX = 2**32 - 1  # what NumPy's legacy RandomState and Optuna's samplers accept
UNIT = Range(0.0, 1.0, high_open=True)  # a moving average's weight: momentum, betas
POSITIVE = Range(0.0, low_open=True)  # an epsilon


def setting(
    default: object = dataclasses.MISSING,
    *,
    rule: Rule | None = None,
    optional: bool = False,
    applies: Callable[[Any], bool] | None = None,
    label: str | None = None,
    per_layer: bool = False,
    logged: bool = True,
) -> Any:
    """A dataclass field with its rule in the metadata (see the module's docstring).

    ``optional``: ``None`` is allowed; ``label``: the name in "unknown <label>" messages (default the field's);
    ``per_layer``: one value or a list with one per hidden layer, each under ``rule``, the count checked by the
    consumer; ``logged``: whether a run records it among its parameters (``False`` for display-only settings).
    """
    metadata = {"rule": rule, "optional": optional, "applies": applies, "label": label, "per_layer": per_layer}
    return field(default=default, metadata={**metadata, "logged": logged})


def default_of(settings: type, name: str, default: object) -> Any:
    """Field ``name`` of ``settings`` with another default and the same rule: how a subclass (the pipeline's
    schema) states its own default without declaring the setting again."""
    base = next(f for f in fields(settings) if f.name == name)
    return field(default=default, metadata=base.metadata)


def _dropout(settings: "Architecture") -> bool:
    keep = settings.keep_prob if isinstance(settings.keep_prob, list | tuple) else [settings.keep_prob]
    return any(p < 1 for p in keep)


def _optimizer_takes(name: str) -> Callable[["FitSettings"], bool]:
    return lambda settings: name in optimizer_takes(settings.optimizer)


def _decay_takes(name: str) -> Callable[["FitSettings"], bool]:
    return lambda settings: name in decay_takes(settings.decay)


@dataclass(kw_only=True)
class Architecture:
    """The choices every hidden layer shares; the pipeline's ``model`` section adds the widths."""

    hidden_activation: str = setting("relu", rule=HIDDEN_ACTIVATIONS, label="hidden activation")
    init: str = setting("he", rule=INITIALIZERS)  # he, xavier, random (x0.01), course, zeros, large_random (x10)
    dtype: str = setting("float64", rule=DTYPES)  # float64 (exact) or float32 (faster)
    # default (the seeded stream) or legacy (the course's np.random.seed + randn); None: the init's own
    init_generator: str | None = setting(
        None, rule=WEIGHT_GENERATORS, optional=True, applies=lambda s: s.init_generator is not None
    )
    # Inverted dropout's keep probability: one for every hidden layer, or one per hidden layer; 1 keeps every unit.
    keep_prob: Any = setting(1.0, rule=Range(0.0, 1.0, low_open=True), per_layer=True)
    dropout_masks: str = setting("default", rule=DROPOUT_MASKS, applies=_dropout)  # default or course
    batch_norm: bool = setting(False, rule=bool)  # normalize every hidden layer before its activation
    # running = momentum * running + (1 - momentum) * batch, for prediction
    batch_norm_momentum: float = setting(DEFAULT_MOMENTUM, rule=UNIT, applies=lambda s: s.batch_norm)
    batch_norm_epsilon: float = setting(DEFAULT_EPSILON, rule=POSITIVE, applies=lambda s: s.batch_norm)


@dataclass(kw_only=True)
class NetworkSpec(Architecture):
    """A whole network: ``layer_dims`` ``[n_x, n_1, ..., n_L]`` (``[n_x, 1]`` is logistic regression), the output
    activation (``sigmoid`` binary, ``softmax`` multi-class, ``linear`` regression) and the seed of its
    initialization, mini-batch order and dropout masks."""

    layer_dims: list[int] = setting()
    output: str = setting("sigmoid", rule=OUTPUT_ACTIVATIONS, label="output activation")
    seed: int = setting(0, rule=Range(0, SEED_MAX, integer=True))


@dataclass(kw_only=True)
class FitSettings:
    """How ``DeepNetwork.fit`` trains; the defaults are the course's (full-batch gradient descent).

    Optimizers (``OPTIMIZERS``) take the settings their constructors name: ``momentum`` the course's β;
    ``rmsprop`` ``beta2`` and ``epsilon``; ``adam`` ``beta1``, ``beta2`` and ``epsilon``; the others are ignored.
    A ``decay`` (a key of ``LR_DECAYS``) sets the learning rate of each epoch with the course's timing (see
    ``models.schedules``). ``batch_order="course"`` reproduces the optimization assignment's
    ``random_mini_batches`` with seeds 11, 12, ... (see ``models.mini_batches``).
    """

    optimizer: str = setting("gd", rule=OPTIMIZERS)  # gd, momentum, rmsprop, adam
    learning_rate: float = setting(rule=Range(0.0, 1e6, low_open=True))
    epochs: int = setting(rule=Range(1, 10_000_000, integer=True))
    batch_size: int | None = setting(None, rule=Range(1, 10**12, integer=True), optional=True)  # None: full batch
    # The L2 term lambda/(2m)·Σ‖W‖²; with mini-batches m is the batch's size, so lambda acts per batch.
    l2: float = setting(0.0, rule=Range(0.0, 1e6))
    momentum: float = setting(0.9, rule=UNIT, applies=_optimizer_takes("momentum"))  # the course's beta
    beta1: float = setting(0.9, rule=UNIT, applies=_optimizer_takes("beta1"))
    beta2: float = setting(0.999, rule=UNIT, applies=_optimizer_takes("beta2"))
    epsilon: float = setting(1e-8, rule=POSITIVE, applies=_optimizer_takes("epsilon"))
    decay: str = setting("none", rule=LR_DECAYS)  # learning-rate decay per epoch (models.schedules)
    decay_rate: float = setting(1.0, rule=Range(0.0), applies=_decay_takes("decay_rate"))
    time_interval: int = setting(1000, rule=Range(1, integer=True), applies=_decay_takes("time_interval"))
    # default (the network's seeded stream) or course (the optimization assignment's random_mini_batches)
    batch_order: str = setting("default", rule=BATCH_ORDERS, applies=lambda s: s.batch_size is not None)


def check(settings: object, declared: type | None = None) -> None:
    """Raise ``ValueError`` naming the first field of ``settings`` that breaks its rule, its value and what is
    allowed. Only ``declared``'s fields are checked (default: all of ``settings``' own); ``per_layer`` fields are
    left to their consumer, which knows the layer count."""
    for spec in fields(declared or settings):
        rule = spec.metadata.get("rule")
        if rule is None or spec.metadata["per_layer"]:
            continue
        name = spec.metadata["label"] or spec.name
        found = problem(name, getattr(settings, spec.name), rule, optional=spec.metadata["optional"])
        if found:
            raise ValueError(found)


def applied(settings: object) -> dict[str, object]:
    """The logged fields of ``settings`` that shape a run with these values (``beta1`` only for Adam,
    ``decay_rate`` only with a decay, ...), in declaration order."""
    found = {}
    for spec in fields(settings):
        applies = spec.metadata.get("applies")
        if spec.metadata.get("logged", True) and (applies is None or applies(settings)):
            found[spec.name] = getattr(settings, spec.name)
    return found


def field_values(settings: object, declared: type) -> dict[str, object]:
    """``{name: value}`` of ``declared``'s fields read from ``settings`` (any object that has them)."""
    return {spec.name: getattr(settings, spec.name) for spec in fields(declared)}
