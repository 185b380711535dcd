"""The course's diagnosis of a study: bias or variance, which knobs move which, and what to try next.

*Structuring Machine Learning Projects* reads a model's errors against a reference (human-level error as a
proxy for the Bayes error): **avoidable bias** = train error - reference, **variance** = dev error - train
error (the dev set is the validation split here). The larger of the two says where to work: a bigger network,
training longer or a better optimizer for bias; more data or regularization for variance. Every complete
trial records these numbers (``pipeline.setup.reference``); this module states the diagnosis of the best
trial with the numbers that led to it, tells a difference from seed noise when the best was retrained with
other seeds, and computes the importances twice — for the train error (the knobs that move bias) and for
the val - train gap (the knobs that move variance) — the course's orthogonalization made visible.
"""

import math
from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial

from pipeline.record_names import BIAS_VARIANCE_ATTR
from pipeline.search.evidence import Importance, importances

SMALL = 0.005  # below half a point of error (classification) a gap is not worth acting on when no seed sd is known
RELATIVE = 0.05  # regression: a gap below 5 % of the val RMSE is not worth acting on when no seed sd is known
NOISE_SDS = 2.0  # a gap within this many seed sds of the best's metric is within noise

ADVICE = {
    "bias": [
        "a bigger network: more hidden units or layers (search hidden_units, depth)",
        "train longer (train.epochs) or with a better optimizer: momentum, RMSprop, Adam, a tuned learning rate",
        "less regularization if any is on (train.l2, model.keep_prob)",
    ],
    "variance": [
        "more training data (the data curve says whether more data would still help)",
        "regularization: L2 (train.l2) or dropout (model.keep_prob below 1)",
        "a smaller network, or another architecture (search depth and width)",
    ],
    "neither": [
        "the train and val errors are both within noise of the reference: compare the test error with the "
        "val error (much higher: the val set was overfit by the search; get a bigger val set)",
        "read the best model's mistakes below (error analysis) for what a new feature or cleaner labels would fix",
    ],
}


def numbers(trial: FrozenTrial) -> dict[str, float]:
    """A complete trial's ``final_train_error``, ``final_val_error``, ``avoidable_bias``, ``variance`` and
    ``reference_error`` ({} when it has none: no validation split, or recorded before they existed)."""
    found = trial.user_attrs.get(BIAS_VARIANCE_ATTR) or {}
    return {key: float(value) for key, value in found.items()}


@dataclass(frozen=True)
class Diagnosis:
    """The best trial's bias and variance, and what the course says to try next."""

    trial: int
    train_error: float
    val_error: float
    reference: float
    reference_text: str  # where the reference comes from (``Reference.describe``)
    percent: bool  # errors are rates (classification); else RMSE
    tolerance: float  # a gap at most this large is not a finding
    tolerance_text: str

    @property
    def bias(self) -> float:
        return self.train_error - self.reference

    @property
    def variance(self) -> float:
        return self.val_error - self.train_error

    @property
    def focus(self) -> str:
        """``bias``, ``variance`` or ``neither``: the larger gap, when it is larger than the tolerance."""
        if max(self.bias, self.variance) <= self.tolerance:
            return "neither"
        return "bias" if self.bias >= self.variance else "variance"

    def show(self, value: float) -> str:
        return f"{value * 100:.2f} %" if self.percent else f"{value:.4g}"

    def gap(self, value: float) -> str:
        return f"{value * 100:+.2f} points" if self.percent else f"{value:+.4g}"

    def sentence(self) -> str:
        """One line: the numbers and the verdict."""
        verdict = {
            "bias": "high avoidable bias: the network underfits its training data",
            "variance": "high variance: the network does much better on its training data than on new data",
            "neither": f"neither gap is larger than {self.tolerance_text}",
        }[self.focus]
        return (
            f"trial {self.trial}: train error {self.show(self.train_error)}, val error {self.show(self.val_error)}, "
            f"reference {self.show(self.reference)} -> avoidable bias {self.gap(self.bias)}, variance "
            f"{self.gap(self.variance)}: {verdict}"
        )

    def notes(self) -> list[str]:
        """What the numbers do not say by themselves."""
        found = []
        if self.bias < -self.tolerance:
            found.append(
                "the train error is below the reference: the network fits its training examples better than any "
                "classifier can fit new ones, so the whole val error above the reference is variance"
            )
        if self.variance < -self.tolerance:
            found.append("the val error is below the train error: a small or easy val set, or dropout at training")
        return found

    def advice(self) -> list[str]:
        return ADVICE[self.focus]


def diagnose(best: FrozenTrial, reference_text: str, task_kind: str, seed_sd: float = math.nan) -> Diagnosis | None:
    """The best trial's diagnosis (None without a validation split). ``seed_sd``: the best's metric's sd over
    seeds, when measured; a gap within NOISE_SDS of it is within noise."""
    found = numbers(best)
    if not found:
        return None
    percent = task_kind == "classification"
    if math.isfinite(seed_sd) and seed_sd > 0:
        tolerance = NOISE_SDS * seed_sd
        text = f"{NOISE_SDS:g} seed sd ({tolerance * 100:.2f} points)" if percent else f"{NOISE_SDS:g} seed sd"
    else:
        tolerance = SMALL if percent else RELATIVE * found["final_val_error"]
        text = (
            f"{tolerance * 100:.1f} points (no seed spread measured)"
            if percent
            else f"{tolerance:.3g} ({RELATIVE:.0%} of the val error; no seed spread measured)"
        )
    return Diagnosis(
        best.number,
        found["final_train_error"],
        found["final_val_error"],
        found["reference_error"],
        reference_text,
        percent,
        tolerance,
        text,
    )


def study_shares(trials: list[FrozenTrial]) -> dict[str, int]:
    """Complete trials whose larger gap is bias, and those whose larger gap is variance."""
    counts = {"bias": 0, "variance": 0}
    for trial in trials:
        found = numbers(trial)
        if found:
            counts["bias" if found["avoidable_bias"] >= found["variance"] else "variance"] += 1
    return counts


def orthogonal_importances(study: optuna.Study) -> dict[str, dict[str, Importance]]:
    """f-ANOVA importances for the train error (what moves bias) and for the val - train gap (what moves
    variance), over the complete trials that recorded them."""

    def measured(key: str):
        return lambda trial: numbers(trial).get(key, math.nan)

    return {
        "train error (bias)": importances(study, target=measured("final_train_error")),
        "val - train error (variance)": importances(study, target=measured("variance")),
    }
