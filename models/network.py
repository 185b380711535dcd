"""``DeepNetwork``: the L-layer network as an object that trains, predicts, evaluates and saves itself."""

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from models import persistence
from models.activations import check_activations
from models.errors import DivergenceError, ModelFileError
from models.initializers import check_layer_dims, initialize_parameters
from models.losses import compute_cost
from models.optimizers import OPTIMIZERS, make_optimizer
from models.propagation import backward_propagation, forward_propagation

DTYPES = {"float64": np.float64, "float32": np.float32}

# callback(epoch, metrics) -> truthy to stop training early; it may also raise (e.g. to prune).
Callback = Callable[[int, dict[str, float]], object]


class DeepNetwork:
    """A fully connected network ``[n_x, n_1, ..., n_L]`` trained by gradient descent.

    Args:
        layer_dims: sizes ``[n_x, n_1, ..., n_L]``; ``[n_x, 1]`` is logistic regression.
        hidden_activation: ``sigmoid``, ``tanh``, ``relu`` or ``leaky_relu`` for every hidden layer.
        output: ``sigmoid`` (binary, ``Y`` ``(1, m)`` of 0/1), ``softmax`` (multi-class, ``Y``
            one-hot ``(C, m)`` or labels ``(1, m)``) or ``linear`` (regression, ``Y`` ``(n_L, m)``).
        init: ``he``, ``xavier``, ``random`` or ``course`` (see ``initialize_parameters``).
        seed: seeds the initialization and, through an independent stream, mini-batch shuffling.
        dtype: ``float64`` (exact) or ``float32`` (faster).
    """

    def __init__(
        self,
        layer_dims: list[int] | tuple[int, ...],
        *,
        hidden_activation: str = "relu",
        output: str = "sigmoid",
        init: str = "he",
        seed: int = 0,
        dtype: str = "float64",
    ) -> None:
        check_layer_dims(layer_dims)
        if dtype not in DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; allowed: {sorted(DTYPES)}")
        self.layer_dims = [int(n) for n in layer_dims]
        self.hidden_activation = hidden_activation
        self.output = output
        self.init = init
        self.seed = int(seed)
        self.dtype = dtype
        self.activations = [hidden_activation] * (len(layer_dims) - 2) + [output]
        check_activations(self.activations)
        if output == "sigmoid" and self.layer_dims[-1] != 1:
            raise ValueError(f"output='sigmoid' is binary and needs 1 output unit, got {self.layer_dims[-1]}")
        if output == "softmax" and self.layer_dims[-1] < 2:
            raise ValueError(f"output='softmax' needs at least 2 output units, got {self.layer_dims[-1]}")
        init_seed, batch_seed = np.random.SeedSequence(self.seed).spawn(2)
        self._batch_rng = np.random.default_rng(batch_seed)
        self.parameters = initialize_parameters(
            self.layer_dims,
            init=init,
            rng=np.random.default_rng(init_seed),
            seed=self.seed,
            dtype=DTYPES[dtype],
        )

    # ----- data checks -------------------------------------------------------------------------
    def _as_inputs(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[0] != self.layer_dims[0]:
            raise ValueError(
                f"X has shape {X.shape}; expected ({self.layer_dims[0]}, m) with examples as columns "
                "(transpose a rows-as-examples array with X.T)"
            )
        if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
            raise ValueError(f"X has dtype {X.dtype}; expected real numbers")
        X = np.ascontiguousarray(X, dtype=DTYPES[self.dtype])
        if not np.isfinite(X).all():
            raise ValueError("X contains NaN or infinity; clean or impute the data first")
        return X

    def _as_targets(self, Y: np.ndarray, m: int) -> np.ndarray:
        """Targets in the network's layout ``(n_L, m)``; softmax labels ``(1, m)`` become one-hot."""
        Y = np.asarray(Y)
        if Y.ndim == 1:
            Y = Y.reshape(1, -1)
        n_out = self.layer_dims[-1]
        if self.output == "softmax" and Y.shape == (1, m):
            labels = Y.ravel()
            if not np.all((labels >= 0) & (labels < n_out) & (labels == np.round(labels))):
                shown = np.unique(labels)[:10]
                raise ValueError(f"softmax labels must be integers in [0, {n_out}); got values {shown}")
            Y = np.zeros((n_out, m), dtype=DTYPES[self.dtype])
            Y[labels.astype(int), np.arange(m)] = 1.0
        if Y.shape != (n_out, m):
            raise ValueError(f"Y has shape {Y.shape}; expected ({n_out}, {m}) to match the output layer and X")
        Y = np.ascontiguousarray(Y, dtype=DTYPES[self.dtype])
        if not np.isfinite(Y).all():
            raise ValueError("Y contains NaN or infinity")
        if self.output == "sigmoid" and not np.all((Y == 0) | (Y == 1)):
            raise ValueError("output='sigmoid' needs Y of 0s and 1s")
        if self.output == "softmax" and not (np.all((Y == 0) | (Y == 1)) and np.all(Y.sum(axis=0) == 1)):
            raise ValueError("output='softmax' needs one-hot columns in Y (or integer labels of shape (1, m))")
        return Y

    # ----- metrics -----------------------------------------------------------------------------
    @property
    def score_name(self) -> str:
        """``accuracy`` for classification, ``rmse`` for regression."""
        return "rmse" if self.output == "linear" else "accuracy"

    def _score_total(self, AL: np.ndarray, Y: np.ndarray, labels: np.ndarray | None = None) -> float:
        """A sum over examples that ``_score_from_total`` turns into the score: correct
        predictions for classification, squared errors for regression. For softmax, a caller that
        already has ``labels = Y.argmax(axis=0)`` ``(m,)`` may pass them to skip that argmax."""
        if self.output == "sigmoid":
            return float(np.count_nonzero((AL > 0.5) == (Y > 0.5)))
        if self.output == "softmax":
            if labels is None:
                labels = Y.argmax(axis=0)
            return float(np.count_nonzero(AL.argmax(axis=0) == labels))
        diff = (AL - Y).ravel()
        return float(np.dot(diff, diff))

    def _score_from_total(self, total: float, m: int) -> float:
        if self.output == "linear":
            return float(np.sqrt(total / (m * self.layer_dims[-1])))
        return total / m

    # ----- training ----------------------------------------------------------------------------
    def _batches(self, m: int, batch_size: int | None) -> Iterator[slice | np.ndarray]:
        if batch_size is None or batch_size >= m:
            yield slice(None)  # full batch: the arrays themselves, no copy
            return
        order = self._batch_rng.permutation(m)
        for start in range(0, m, batch_size):
            yield order[start : start + batch_size]

    def fit(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        *,
        learning_rate: float,
        epochs: int,
        batch_size: int | None = None,
        optimizer: str = "gd",
        l2: float = 0.0,
        callback: Callback | None = None,
        validation: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> dict[str, list[float]]:
        """Train on ``X`` ``(n_x, m)`` and ``Y`` ``(n_L, m)``; return the per-epoch history.

        ``history["cost"][e]`` is the mean of epoch ``e``'s mini-batch costs (with the full batch,
        the cost of the parameters after ``e`` updates, as the course prints it), and
        ``history["accuracy"]`` (``"rmse"`` for regression) is measured on the same forward passes.
        With ``validation=(X_val, Y_val)``, ``val_cost`` and ``val_accuracy`` are measured after
        each epoch's updates, without the L2 term. With mini-batches the L2 term of each step is
        ``l2/(2·m_batch)·Σ‖W‖²``, as each batch's cost (so λ acts per batch, as in scikit-learn).
        ``callback(epoch, metrics)`` runs after every epoch; a truthy return
        stops training, and what it raises propagates. Raises ``DivergenceError`` when the cost or a
        parameter stops being finite.
        """
        _check_hyperparameters(learning_rate, epochs, batch_size, optimizer, l2)
        X = self._as_inputs(X)
        Y = self._as_targets(Y, X.shape[1])
        if validation is not None:
            X_val = self._as_inputs(validation[0])
            Y_val = self._as_targets(validation[1], X_val.shape[1])
        m = X.shape[1]
        # The targets' class indices are the same every epoch: find them once, not once per batch.
        labels = Y.argmax(axis=0) if self.output == "softmax" else None
        step = make_optimizer(optimizer, self.parameters)
        history: dict[str, list[float]] = {}
        score = self.score_name
        # Overflow and NaN are detected below and reported as DivergenceError, not as warnings.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for epoch in range(epochs):
                total_cost = total_score = 0.0
                for batch in self._batches(m, batch_size):
                    Xb, Yb = X[:, batch], Y[:, batch]
                    mb = Xb.shape[1]
                    AL, caches = forward_propagation(Xb, self.parameters, self.activations)
                    total_cost += mb * compute_cost(AL, Yb, self.activations, self.parameters, l2)
                    total_score += self._score_total(AL, Yb, None if labels is None else labels[batch])
                    grads = backward_propagation(AL, Yb, caches, l2)
                    step.update(self.parameters, grads, learning_rate)
                metrics = {"cost": total_cost / m, score: self._score_from_total(total_score, m)}
                self._check_finite(epoch, metrics["cost"])
                if validation is not None:
                    # Without the L2 term, like test metrics: comparable across regularization strengths.
                    val = self._evaluate_arrays(X_val, Y_val, 0.0)
                    metrics.update({f"val_{key}": value for key, value in val.items()})
                for key, value in metrics.items():
                    history.setdefault(key, []).append(value)
                if callback is not None and callback(epoch, metrics):
                    break
        return history

    def _check_finite(self, epoch: int, cost: float) -> None:
        if not np.isfinite(cost):
            raise DivergenceError(epoch, "cost", cost)
        for key, value in self.parameters.items():
            # One reduction is cheaper than isfinite().all(); a finite sum proves every entry finite.
            if not np.isfinite(value.sum()) and not np.isfinite(value).all():
                raise DivergenceError(epoch, key)

    # ----- inference ---------------------------------------------------------------------------
    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Output activations ``(n_L, m)``: probabilities for classification, values for regression."""
        return self._forward(self._as_inputs(X))

    def _forward(self, X: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            AL, _ = forward_propagation(X, self.parameters, self.activations)
        return AL

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions ``(1, m)``: 0/1 for sigmoid, class index for softmax; ``(n_L, m)`` values for linear."""
        AL = self.predict_proba(X)
        if self.output == "sigmoid":
            return (AL > 0.5).astype(np.int64)
        if self.output == "softmax":
            return AL.argmax(axis=0).reshape(1, -1)
        return AL

    def evaluate(self, X: np.ndarray, Y: np.ndarray, l2: float = 0.0) -> dict[str, float]:
        """``{"cost": ..., "accuracy": ...}`` (``"rmse"`` instead of accuracy for regression)."""
        X = self._as_inputs(X)
        return self._evaluate_arrays(X, self._as_targets(Y, X.shape[1]), l2)

    def _evaluate_arrays(self, X: np.ndarray, Y: np.ndarray, l2: float) -> dict[str, float]:
        """``evaluate`` on arrays already checked and converted by ``_as_inputs``/``_as_targets``."""
        AL = self._forward(X)
        return {
            "cost": compute_cost(AL, Y, self.activations, self.parameters, l2),
            self.score_name: self._score_from_total(self._score_total(AL, Y), X.shape[1]),
        }

    # ----- persistence -------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write parameters and architecture to ``path`` (``.npz``); returns the path written."""
        return persistence.save(path, self.parameters, self._metadata())

    def _metadata(self) -> dict[str, object]:
        return {
            "layer_dims": self.layer_dims,
            "hidden_activation": self.hidden_activation,
            "output": self.output,
            "init": self.init,
            "seed": self.seed,
            "dtype": self.dtype,
        }

    @classmethod
    def load(cls, path: str | Path) -> "DeepNetwork":
        """Rebuild a network written by ``save``; raises ``ModelFileError`` if the file is unusable."""
        parameters, metadata = persistence.load(path)
        try:
            network = cls(
                metadata["layer_dims"],
                hidden_activation=metadata["hidden_activation"],
                output=metadata["output"],
                init=metadata["init"],
                seed=metadata["seed"],
                dtype=metadata["dtype"],
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(f"{path}: metadata does not describe a valid network: {error}") from None
        persistence.check_parameters(path, parameters, network.parameters)
        network.parameters = parameters
        return network


def _check_hyperparameters(
    learning_rate: float, epochs: int, batch_size: int | None, optimizer: str, l2: float
) -> None:
    if not (isinstance(learning_rate, float | int) and np.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate={learning_rate!r} must be a finite number > 0")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs={epochs!r} must be an integer >= 1")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size={batch_size!r} must be None (full batch) or an integer >= 1")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; allowed: {list(OPTIMIZERS)}")
    if not (isinstance(l2, float | int) and np.isfinite(l2) and l2 >= 0):
        raise ValueError(f"l2={l2!r} must be a finite number >= 0")
