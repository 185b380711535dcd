"""Two or more studies side by side: sampler A against B, or a sweep before and after a change.

``compare_studies`` reads the studies from one Optuna storage and draws, in one HTML file, the best value so far
against the trial number and against the time since each study's first trial, and each study's f-ANOVA
importances side by side (with their spread over resamples); a table gives each study's evidence (complete,
pruned, failed trials), its best value and the trial and second at which it was reached. The studies must
optimize the same first metric in the same direction: anything else would compare numbers that do not compare.
"""

import base64
import html
import math
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # files only

import matplotlib.pyplot as plt
import numpy as np
import optuna
from matplotlib.figure import Figure
from optuna.trial import FrozenTrial, TrialState

from pipeline.errors import ConfigError
from pipeline.record_names import SETTINGS_ATTR
from pipeline.search.constraints import feasible
from pipeline.search.evidence import Importance, evidence_of, importances
from pipeline.search.report import png


@dataclass(frozen=True)
class Curve:
    """One study's best value so far: per trial number, and per second since its first trial started."""

    name: str
    numbers: tuple[int, ...]
    seconds: tuple[float, ...]
    best: tuple[float, ...]

    @property
    def reached(self) -> tuple[int, float]:
        """The trial number and second at which the final best was first reached."""
        index = self.best.index(self.best[-1])
        return self.numbers[index], self.seconds[index]


def best_so_far(name: str, trials: list[FrozenTrial], maximize: bool) -> Curve:
    """The running best over the complete trials that met their limits, in trial order."""
    ended = sorted((t for t in trials if t.state == TrialState.COMPLETE and feasible(t)), key=lambda t: t.number)
    starts = [t.datetime_start for t in trials if t.datetime_start is not None]
    origin = min(starts) if starts else None
    numbers, seconds, best = [], [], []
    value = -math.inf if maximize else math.inf
    for trial in ended:
        value = max(value, trial.values[0]) if maximize else min(value, trial.values[0])
        numbers.append(trial.number)
        finished = trial.datetime_complete or trial.datetime_start
        seconds.append((finished - origin).total_seconds() if origin and finished else float(trial.number))
        best.append(value)
    return Curve(name, tuple(numbers), tuple(seconds), tuple(best))


def load(storage: str, names: list[str]) -> list[optuna.Study]:
    """The studies, refused in one line when one is missing or they optimize different things."""
    found = []
    for name in names:
        try:
            found.append(optuna.load_study(study_name=name, storage=storage))
        except KeyError:
            known = sorted(optuna.get_all_study_names(storage))
            raise ConfigError(f"no study {name!r} in the storage; studies: {known}") from None
    goals = {(str(_metric(s)), s.directions[0].name) for s in found}
    if len(goals) > 1:
        raise ConfigError(
            f"the studies optimize different things ({sorted(goals)}): only studies of the same first metric and "
            "direction compare"
        )
    return found


def _metric(study: optuna.Study) -> str:
    metric = (study.user_attrs.get(SETTINGS_ATTR) or {}).get("metric", "value")
    return metric[0] if isinstance(metric, list) else metric


def _png(figure: Figure) -> str:
    return base64.b64encode(png(figure)).decode()


def curves_figure(curves: list[Curve], metric: str, by_time: bool) -> Figure:
    figure, axes = plt.subplots(figsize=(7.5, 4.0), layout="constrained")
    for curve in curves:
        xs = curve.seconds if by_time else curve.numbers
        axes.step(xs, curve.best, where="post", linewidth=1.8, label=f"{curve.name} ({len(curve.numbers)} complete)")
    axes.set_xlabel("seconds since the study's first trial started" if by_time else "trial number")
    axes.set_ylabel(f"best {metric} so far")
    axes.set_title(f"best {metric} so far against {'time' if by_time else 'trials'}", fontsize=10)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False)
    return figure


def importance_figure(found: dict[str, dict[str, Importance]]) -> Figure:
    """Each study's importances (median and 10th-90th percentile) as grouped bars, one group per parameter."""
    names = sorted({name for ranked in found.values() for name in ranked})
    figure, axes = plt.subplots(figsize=(7.5, 0.5 * len(names) * max(len(found), 1) + 1.6), layout="constrained")
    height = 0.8 / max(len(found), 1)
    for index, (study, ranked) in enumerate(found.items()):
        ys = np.arange(len(names)) + index * height
        medians = [ranked[n].median if n in ranked else 0.0 for n in names]
        spread = [[ranked[n].median - ranked[n].low if n in ranked else 0 for n in names],
                  [ranked[n].high - ranked[n].median if n in ranked else 0 for n in names]]  # fmt: skip
        axes.barh(ys, medians, height=height, xerr=spread, capsize=2, label=study)
    axes.set_yticks(np.arange(len(names)) + 0.4 - height / 2, names)
    axes.set_xlim(0, 1)
    axes.set_xlabel("f-ANOVA importance (median over resamples; line: 10th-90th percentile)")
    axes.grid(alpha=0.3, axis="x")
    axes.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    return figure


def compare_studies(storage: str, names: list[str]) -> tuple[str, list[str]]:
    """The comparison page (HTML) and one summary line per study."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the importances' in-memory studies are not news
    studies = load(storage, names)
    metric = _metric(studies[0])
    maximize = studies[0].directions[0] == optuna.study.StudyDirection.MAXIMIZE
    curves = [best_so_far(s.study_name, s.get_trials(deepcopy=False), maximize) for s in studies]
    rows, lines = [], []
    for study, curve in zip(studies, curves, strict=True):
        evidence = evidence_of(study.get_trials(deepcopy=False))
        counts = f"{evidence.complete} complete, {evidence.pruned} pruned, {evidence.failed} failed of {evidence.total}"
        if curve.best:
            number, second = curve.reached
            best = f"{curve.best[-1]:.4g} (trial {number}, after {second:.1f} s)"
        else:
            best = "no complete trial"
        rows.append(f"<tr><td>{html.escape(study.study_name)}</td><td>{counts}</td><td>{html.escape(best)}</td></tr>")
        lines.append(f"{study.study_name}: best {metric} {best}; {counts} trials")
    found = {s.study_name: importances(s) for s in studies}
    figures = [curves_figure(curves, metric, by_time=False), curves_figure(curves, metric, by_time=True)]
    images = "".join(f"<figure><img src='data:image/png;base64,{_png(f)}'></figure>" for f in figures)
    ranked = (
        f"<img id='importances' src='data:image/png;base64,{_png(importance_figure(found))}'>"
        if any(found.values())
        else "<p>Too few complete trials to rank the parameters.</p>"
    )
    title = f"{' vs '.join(names)}: best {metric} ({'max' if maximize else 'min'}imize)"
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1150px; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: .25em .6em; }}
figure {{ display: inline-block; margin: .4em; }} img {{ max-width: 100%; }}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Each trial trained once, with its own seed: a difference between studies smaller than the seed noise of the best
(the <code>with other seeds</code> line of each sweep) is not a finding.</p>
<table id='studies'><tr><th>study</th><th>trials</th><th>best (reached at)</th></tr>{"".join(rows)}</table>
<h2>Best so far</h2>{images}
<h2>Hyperparameter importances, study by study</h2>{ranked}
</body></html>
"""
    return page, lines
