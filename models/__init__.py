"""The L-layer fully connected network of *Neural Networks and Deep Learning*, in NumPy alone.

Examples are columns (``X.shape == (n_x, m)``), ``Z = W·A_prev + b``, parameters live in
``{"W1", "b1", ..., "WL", "bL"}`` (batch-norm layers: ``gamma{l}``, ``beta{l}`` instead of ``b{l}``)
and gradients in ``{"dW1", "db1", ...}``.

Each ``dict`` table maps an allowed value to what implements it; its keys are the allowed values:
``HIDDEN_ACTIVATIONS``, ``OUTPUT_ACTIVATIONS``, ``INITIALIZERS``, ``WEIGHT_GENERATORS``, ``OPTIMIZERS``,
``LR_DECAYS``, ``BATCH_ORDERS``, ``DROPOUT_MASKS``, ``DTYPES``.

Every setting is declared once, with its rule and default, in ``models.settings``: ``NetworkSpec`` builds a
``DeepNetwork``, ``FitSettings`` trains it.
"""

from models.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from models.batch_norm import BatchNorm
from models.dropout import DROPOUT_MASKS, Dropout, FixedMasks
from models.errors import DivergenceError, ModelFileError
from models.gradient_checking import gradient_check
from models.initializers import INITIALIZERS, WEIGHT_GENERATORS, initialize_parameters
from models.losses import compute_cost
from models.mini_batches import BATCH_ORDERS
from models.network import DeepNetwork
from models.optimizers import OPTIMIZERS
from models.propagation import LayerCache, RegularizedCache, backward_propagation, forward_propagation
from models.schedules import LR_DECAYS
from models.settings import DTYPES, Architecture, FitSettings, NetworkSpec

__all__ = [
    "BATCH_ORDERS",
    "DROPOUT_MASKS",
    "DTYPES",
    "HIDDEN_ACTIVATIONS",
    "INITIALIZERS",
    "LR_DECAYS",
    "OPTIMIZERS",
    "OUTPUT_ACTIVATIONS",
    "WEIGHT_GENERATORS",
    "Architecture",
    "BatchNorm",
    "DeepNetwork",
    "DivergenceError",
    "Dropout",
    "FitSettings",
    "FixedMasks",
    "LayerCache",
    "ModelFileError",
    "NetworkSpec",
    "RegularizedCache",
    "backward_propagation",
    "compute_cost",
    "forward_propagation",
    "gradient_check",
    "initialize_parameters",
]
