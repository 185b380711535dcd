"""``DeepNetwork``: the L-layer network as an object that trains, predicts, evaluates and saves itself."""

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from models import persistence
from models.batch_norm import BatchNorm, initialize_batch_norm, initialize_running, update_running
from models.dropout import DROPOUT_MASKS, Dropout, check_keep_prob
from models.errors import DivergenceError, ModelFileError
from models.gradient_checking import gradient_check
from models.initializers import check_layer_dims, initialize_parameters, resolve_generator
from models.losses import compute_cost
from models.mini_batches import BATCH_ORDERS
from models.optimizers import Optimizer, make_optimizer
from models.propagation import backward_propagation, forward_propagation
from models.schedules import learning_rate_for_epoch
from models.settings import DTYPES, FitSettings, NetworkSpec, check

# callback(epoch, metrics) -> truthy to stop training early; it may also raise (e.g. to prune).
Callback = Callable[[int, dict[str, float]], object]
Forward = Callable[[np.ndarray], tuple[np.ndarray, list]]


class DeepNetwork:
    """A fully connected network ``[n_x, n_1, ..., n_L]`` trained by gradient descent.

    Built from a ``NetworkSpec``, or from ``layer_dims`` and the spec's other fields as keywords:
    ``DeepNetwork([n_x, 7, 1], hidden_activation="relu", seed=1)``. Every field is declared, with its rule
    and default, in ``models.settings``; the network reads them as its own attributes (``network.layer_dims``,
    ``network.output``, ...). ``init`` is a key of ``INITIALIZERS``; ``init_generator`` (``None``: the init's
    own) of ``WEIGHT_GENERATORS``; ``keep_prob`` is never applied to the output layer, nor in ``predict``,
    ``predict_proba``, ``evaluate`` or the validation pass; ``dropout_masks="course"`` gives the regularization
    assignment's masks exactly; with ``batch_norm`` the hidden layers have ``gamma{l}``, ``beta{l}`` and no
    ``b{l}`` (see ``models.batch_norm``). The seed seeds the initialization and, through independent streams,
    mini-batch shuffling and dropout masks.
    """

    def __init__(self, spec: NetworkSpec | Sequence[int], **fields: object) -> None:
        if not isinstance(spec, NetworkSpec):
            spec = NetworkSpec(layer_dims=spec, **fields)
        elif fields:
            spec = dataclasses.replace(spec, **fields)
        check_layer_dims(spec.layer_dims)
        check(spec)
        n_hidden = len(spec.layer_dims) - 2
        if spec.output == "sigmoid" and spec.layer_dims[-1] != 1:
            raise ValueError(f"output='sigmoid' is binary and needs 1 output unit, got {spec.layer_dims[-1]}")
        if spec.output == "softmax" and spec.layer_dims[-1] < 2:
            raise ValueError(f"output='softmax' needs at least 2 output units, got {spec.layer_dims[-1]}")
        if spec.batch_norm and n_hidden == 0:
            raise ValueError(
                "batch_norm=True normalizes hidden layers, and this network has none (layer_dims [n_x, n_L])"
            )
        # The spec as the network uses it: plain ints and floats, one keep probability per hidden layer, and
        # the generator the init will use.
        self.spec = dataclasses.replace(
            spec,
            layer_dims=[int(n) for n in spec.layer_dims],
            keep_prob=check_keep_prob(spec.keep_prob, n_hidden),
            init_generator=resolve_generator(spec.init, spec.init_generator),
            seed=int(spec.seed),
            batch_norm_momentum=float(spec.batch_norm_momentum),
            batch_norm_epsilon=float(spec.batch_norm_epsilon),
        )
        self.activations = [spec.hidden_activation] * n_hidden + [spec.output]
        # spawn(3)'s first two children are spawn(2)'s: adding the dropout stream changed no earlier stream.
        init_seed, batch_seed, dropout_seed = np.random.SeedSequence(self.seed).spawn(3)
        self._batch_rng = np.random.default_rng(batch_seed)
        self._masks = DROPOUT_MASKS[self.dropout_masks](np.random.default_rng(dropout_seed))
        self.parameters = initialize_parameters(
            self.layer_dims,
            init=self.init,
            rng=np.random.default_rng(init_seed),
            seed=self.seed,
            dtype=DTYPES[self.dtype],
            generator=self.init_generator,
        )
        # Running batch-norm statistics: not trained by the optimizer, so not among the parameters.
        self.running: dict[str, np.ndarray] = {}
        if self.batch_norm:
            for l in range(1, n_hidden + 1):
                del self.parameters[f"b{l}"]  # redundant with beta{l}: see models.batch_norm
            self.parameters.update(initialize_batch_norm(self.layer_dims, DTYPES[self.dtype]))
            self.running = initialize_running(self.layer_dims, DTYPES[self.dtype])

    def __getattr__(self, name: str) -> object:
        """The spec's fields read as the network's own (``network.layer_dims``); only called for names the
        instance does not have."""
        spec = self.__dict__.get("spec")
        if spec is not None and name in _SPEC_FIELDS:
            return getattr(spec, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def dropout(self) -> bool:
        """Whether any hidden layer drops units in training."""
        return any(p < 1.0 for p in self.keep_prob)

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

    def _as_data(self, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``X`` ``(n_x, m)`` and ``Y`` ``(n_L, m)`` checked and converted (``_as_inputs``, ``_as_targets``)."""
        X = self._as_inputs(X)
        return X, self._as_targets(Y, X.shape[1])

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
    def fit(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        settings: FitSettings | None = None,
        *,
        callback: Callback | None = None,
        validation: tuple[np.ndarray, np.ndarray] | None = None,
        **fields: object,
    ) -> dict[str, list[float]]:
        """Train on ``X`` ``(n_x, m)`` and ``Y`` ``(n_L, m)``; return the per-epoch history.

        ``settings`` is a ``FitSettings`` (or any subclass), or its fields are given as keywords:
        ``fit(X, Y, learning_rate=0.0075, epochs=2500)``; keywords beside ``settings`` replace its fields.

        ``history["cost"][e]`` is the mean of epoch ``e``'s mini-batch costs (with the full batch, the cost of
        the parameters after ``e`` updates, as the course prints it), and ``history["accuracy"]`` (``"rmse"`` for
        regression) is measured on the same forward passes (so with dropout's masks and batch norm's batch
        statistics). With ``validation=(X_val, Y_val)``, ``val_cost`` and ``val_accuracy`` are measured after each
        epoch's updates, without the L2 term, dropout, or batch statistics (running ones instead). With
        mini-batches the L2 term of each step is ``l2/(2·m_batch)·Σ‖W‖²``, as each batch's cost (so λ acts per
        batch, as in scikit-learn). ``callback(epoch, metrics)`` runs after every epoch; a truthy return stops
        training, and what it raises propagates. Raises ``DivergenceError`` when the cost or a parameter stops
        being finite.
        With a ``decay``, ``history["learning_rate"]`` (and the callback's metrics) hold the rate of each epoch.
        """
        settings = FitSettings(**fields) if settings is None else dataclasses.replace(settings, **fields)
        check(settings, FitSettings)
        X, Y = self._as_data(X, Y)
        if validation is not None:
            X_val, Y_val = self._as_data(*validation)
        # The targets' class indices are the same every epoch: find them once, not once per batch.
        labels = Y.argmax(axis=0) if self.output == "softmax" else None
        step = make_optimizer(settings.optimizer, self.parameters, **vars(settings))
        batches = BATCH_ORDERS[settings.batch_order](self._batch_rng)
        forward = self._training_forward()  # the plain path unless dropout or batch norm is on: chosen once
        decaying = settings.decay != "none"
        rate = float(settings.learning_rate)
        history: dict[str, list[float]] = {}
        # Overflow and NaN are detected below and reported as DivergenceError, not as warnings.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for epoch in range(settings.epochs):
                if decaying:
                    rate = learning_rate_for_epoch(
                        settings.decay, settings.learning_rate, epoch, settings.decay_rate, settings.time_interval
                    )
                epoch_batches = batches(X.shape[1], settings.batch_size, epoch)
                metrics = self._train_epoch(X, Y, labels, epoch_batches, forward, step, rate, settings.l2)
                self._check_finite(epoch, metrics["cost"])
                if validation is not None:
                    # Without the L2 term, like test metrics: comparable across regularization strengths.
                    val = self._evaluate_arrays(X_val, Y_val, 0.0)
                    metrics.update({f"val_{key}": value for key, value in val.items()})
                if decaying:
                    metrics["learning_rate"] = rate
                for key, value in metrics.items():
                    history.setdefault(key, []).append(value)
                if callback is not None and callback(epoch, metrics):
                    break
        return history

    def _train_epoch(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        labels: np.ndarray | None,
        batches: Iterable[np.ndarray | slice],
        forward: Forward,
        step: Optimizer,
        rate: float,
        l2: float,
    ) -> dict[str, float]:
        """One pass over ``batches`` of ``X`` ``(n_x, m)``, ``Y`` ``(n_L, m)`` (``labels`` ``(m,)`` for softmax):
        an update per batch, and the epoch's mean cost and score over the same forward passes."""
        total_cost = total_score = 0.0
        for batch in batches:
            Xb, Yb = X[:, batch], Y[:, batch]
            AL, caches = forward(Xb)
            total_cost += Xb.shape[1] * compute_cost(AL, Yb, self.activations, self.parameters, l2)
            total_score += self._score_total(AL, Yb, None if labels is None else labels[batch])
            grads = backward_propagation(AL, Yb, caches, l2)
            step.update(self.parameters, grads, rate)
        m = X.shape[1]
        return {"cost": total_cost / m, self.score_name: self._score_from_total(total_score, m)}

    def _training_forward(self) -> Forward:
        """``Xb -> (AL, caches)`` for training: the plain path, or dropout / batch norm (updating running stats)."""
        parameters, activations = self.parameters, self.activations
        if not self.dropout and not self.batch_norm:
            return lambda Xb: forward_propagation(Xb, parameters, activations)
        dropout = Dropout(self.keep_prob, self._masks) if self.dropout else None
        batch_norm = BatchNorm(self.batch_norm_epsilon) if self.batch_norm else None
        running, momentum = self.running, self.batch_norm_momentum

        def forward(Xb: np.ndarray) -> tuple[np.ndarray, list]:
            AL, caches = forward_propagation(Xb, parameters, activations, dropout=dropout, batch_norm=batch_norm)
            if batch_norm is not None:
                update_running(running, caches, momentum)
            return AL, caches

        return forward

    def _check_finite(self, epoch: int, cost: float) -> None:
        if not np.isfinite(cost):
            raise DivergenceError(epoch, "cost", cost)
        for key, value in (self.parameters | self.running).items():
            # One reduction is cheaper than isfinite().all(); a finite sum proves every entry finite.
            if not np.isfinite(value.sum()) and not np.isfinite(value).all():
                raise DivergenceError(epoch, key)

    # ----- inference ---------------------------------------------------------------------------
    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Output activations ``(n_L, m)``: probabilities for classification, values for regression."""
        return self._forward(self._as_inputs(X))

    def _forward(self, X: np.ndarray) -> np.ndarray:
        """Inference: no dropout, batch norm with the running statistics."""
        with np.errstate(over="ignore", invalid="ignore"):
            if self.batch_norm:
                batch_norm = BatchNorm(self.batch_norm_epsilon, running=self.running)
                AL, _ = forward_propagation(X, self.parameters, self.activations, batch_norm=batch_norm)
            else:
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

    # ----- gradient check -----------------------------------------------------------------------
    def gradient_check(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        *,
        l2: float = 0.0,
        masks: Sequence[np.ndarray] | None = None,
        epsilon: float = 1e-7,
    ) -> float:
        """The course's relative difference between backprop's and centered differences' gradients
        of this network's training cost on ``X`` ``(n_x, m)``, ``Y`` ``(n_L, m)`` (see
        ``models.gradient_checking``); dropout masks are ``masks`` or drawn once and held fixed."""
        X = self._as_inputs(X)
        return gradient_check(
            self.parameters,
            X,
            self._as_targets(Y, X.shape[1]),
            self.activations,
            l2=l2,
            keep_prob=self.keep_prob,
            masks=masks,
            batch_norm_epsilon=self.batch_norm_epsilon,
            epsilon=epsilon,
            rng=np.random.default_rng(self.seed),
        )

    # ----- persistence -------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write parameters, running statistics and architecture to ``path`` (``.npz``); returns the path."""
        return persistence.save(path, self.parameters | self.running, self._metadata())

    def _metadata(self) -> dict[str, object]:
        return dataclasses.asdict(self.spec) | {"keep_prob": list(self.keep_prob)}

    @classmethod
    def load(cls, path: str | Path) -> "DeepNetwork":
        """Rebuild a network written by ``save`` (format version 1 or 2); raises ``ModelFileError`` if unusable."""
        arrays, metadata = persistence.load(path)
        try:
            # Version-1 files predate everything after dtype: the spec's defaults are what those files meant.
            network = cls(NetworkSpec(**{key: metadata[key] for key in _SPEC_FIELDS if key in metadata}))
        except (TypeError, ValueError) as error:
            raise ModelFileError(f"{path}: metadata does not describe a valid network: {error}") from None
        persistence.check_parameters(path, arrays, network.parameters | network.running)
        network.parameters = {key: arrays[key] for key in network.parameters}
        network.running = {key: arrays[key] for key in network.running}
        return network


_SPEC_FIELDS = frozenset(spec.name for spec in dataclasses.fields(NetworkSpec))
