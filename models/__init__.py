"""The L-layer fully connected network of *Neural Networks and Deep Learning*, in NumPy alone.

Examples are columns (``X.shape == (n_x, m)``), ``Z = W·A_prev + b``, parameters live in
``{"W1", "b1", ..., "WL", "bL"}`` and gradients in ``{"dW1", "db1", ...}``.
"""

from models.activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from models.errors import DivergenceError, ModelFileError
from models.initializers import INITIALIZERS, initialize_parameters
from models.losses import compute_cost
from models.network import DTYPES, DeepNetwork
from models.optimizers import OPTIMIZERS
from models.propagation import LayerCache, backward_propagation, forward_propagation

__all__ = [
    "DTYPES",
    "HIDDEN_ACTIVATIONS",
    "INITIALIZERS",
    "OPTIMIZERS",
    "OUTPUT_ACTIVATIONS",
    "DeepNetwork",
    "DivergenceError",
    "LayerCache",
    "ModelFileError",
    "backward_propagation",
    "compute_cost",
    "forward_propagation",
    "initialize_parameters",
]
