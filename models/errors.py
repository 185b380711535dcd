"""Exceptions raised by the network: each one says what went wrong and how to fix it."""


class DivergenceError(ArithmeticError):
    """Training produced a non-finite cost or parameter.

    Attributes:
        epoch: 0-based epoch at which the non-finite value was seen.
        what: which quantity stopped being finite (``"cost"`` or a parameter name such as ``"W2"``).
    """

    def __init__(self, epoch: int, what: str, value: float | None = None) -> None:
        self.epoch = epoch
        self.what = what
        self.value = value
        shown = "" if value is None else f" ({value})"
        super().__init__(
            f"training diverged at epoch {epoch}: {what} is not finite{shown}; "
            "lower the learning rate, add L2 regularization or scale the inputs"
        )


class ModelFileError(ValueError):
    """A saved model file is missing, corrupt, truncated or from an incompatible version."""
