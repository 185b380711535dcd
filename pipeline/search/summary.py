"""The study's parent MLflow run: created or re-attached, kept consistent with the trials, and
given the sweep's summary at the end (best trial, trials table, Optuna plots, registered model).
"""

import contextlib
import json
import math
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import optuna
import pandas as pd
from optuna.storages import RDBStorage
from optuna.trial import TrialState

from models import DeepNetwork
from pipeline.console import brief
from pipeline.records.champion import Crowning, crown
from pipeline.records.tracking import (
    STATUS_FAILED,
    STATUS_FINISHED,
    RunRecorder,
    Tracker,
    download_artifact,
    environment_tags,
    metric_histories,
    register_model,
    registered_version,
    reopen_run,
)
from pipeline.records.uris import mask_password
from pipeline.search.advice import advise
from pipeline.search.constraints import describe_infeasible, feasible
from pipeline.search.evidence import evidence_of
from pipeline.search.outcomes import outcome_of
from pipeline.search.recovery import recover
from pipeline.search.samplers import choose_pruner, choose_sampler
from pipeline.search.space import parameter_names
from pipeline.search.study import forget_an_old_stop
from pipeline.setup import names
from pipeline.setup.config import Config
from pipeline.setup.data import Dataset
from pipeline.setup.vocabulary import TASKS, final_metrics

if TYPE_CHECKING:
    from pipeline.records.tracking import MlflowClient
    from pipeline.search.advice import Advice
    from pipeline.search.drawer import Drawer
    from pipeline.search.drawing import Drawing
    from pipeline.search.evidence import Confirmation
from pipeline.record_names import (
    BEST_RUN_TAG,
    BEST_TRIAL_TAG,
    KIND_TAG,
    PARENT_ATTR,
    REGISTERED_TAG,
    RUN_ID_ATTR,
    SEED_VALUES_ATTR,
    STOPPED_ATTR,
    STUDY_TAG,
)
from pipeline.run_record import config_yaml, log_learning_curves, log_network_model, save_learning_curves

LEADERBOARD_SIZE = 10


def parent_run(
    tracker: Tracker, study: optuna.Study, config: Config, links: dict[str, str] | None = None
) -> RunRecorder:
    """The study's parent run: re-attached (set RUNNING again) when resuming, else created (with ``links``,
    the tags that tie a refined study to its coarse one)."""
    run_id = study.user_attrs.get(PARENT_ATTR)
    if run_id and reopen_run(tracker, run_id):
        return tracker.recorder(run_id)
    recorder = tracker.start_run(config.study_name, {KIND_TAG: "study", STUDY_TAG: config.study_name})
    recorder.log_params(
        {
            "dataset": config.dataset.name,
            "metric": config.search.metrics[0],
            "direction": config.search.directions[0],
            "sampler": choose_sampler(config)[0],  # auto logs what it chose
            "pruner": choose_pruner(config)[0],
            "seed": config.seed,
            "search_space": json.dumps({name: vars(p) for name, p in config.search.space.items()}),
        }
    )
    recorder.set_tags({**environment_tags(), **(links or {})})
    recorder.log_text(config_yaml(config), "config.yaml")
    study.set_user_attr(PARENT_ATTR, recorder.run_id)
    return recorder


def trials_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, value, parameters, MLflow run id, failure reason."""
    attrs = ("number", "state", "value", "duration", "params", "user_attrs", "constraints")
    frame = study.trials_dataframe(attrs=attrs)
    return frame.rename(columns=lambda column: column.removeprefix("user_attrs_"))


def state_counts(study: optuna.Study) -> dict[str, int]:
    """Trials per outcome label (``complete``, ``pruned``, ``failed``, ...), plus ``running``/``waiting``."""
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        outcome = outcome_of(trial)
        label = outcome.label if outcome is not None else trial.state.name.lower()
        counts[label] = counts.get(label, 0) + 1
    return counts


def describe_counts(counts: dict[str, int]) -> str:
    """``40 trials: 13 complete, 27 pruned (stopped early by the pruner), 0 failed``."""
    total = sum(counts.values())
    parts = [f"{counts.get('complete', 0)} complete", f"{counts.get('pruned', 0)} pruned (stopped early by the pruner)"]
    parts += [f"{count} {label}" for label, count in counts.items() if label not in ("complete", "pruned")]
    return f"{total} trials: " + ", ".join(parts)


def finish(
    study: optuna.Study,
    rdb: RDBStorage,
    tracker: Tracker,
    parent: RunRecorder,
    config: Config,
    dataset: Dataset,
    report_folder: Path,
    drawer: "Drawer | None" = None,
) -> int:
    """Record the sweep's summary in the parent run, write the study report (unless ``tracking.report=false``),
    print the leaderboard; returns the exit code (1 when no trial completed). ``drawer``: a drawing child forked
    and warmed up before the trials, which draws the report and the best's learning-curve PNG (else one is forked
    here).

    When other processes are still running trials of the study, the last of them records it. Every
    step can be repeated: a summary interrupted half-way is completed by the next run of the command.
    """
    recover(study, rdb, tracker)
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if running:
        print(f"{len(running)} trials are still running in other processes; the last one to finish records the summary")
        return 0
    table = trials_table(study)
    log_table(parent, table)
    counts = state_counts(study)
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    refused = nothing_to_publish(complete, counts)
    if refused is not None:
        reason, hint = refused
        parent.finish(STATUS_FAILED, reason)
        print(f"error: {reason}{hint}", file=sys.stderr)
        return 1
    best, rule = choose_best(study, config)
    stopped = record_best(study, tracker, parent, config, (best, rule), counts, complete, len(table))
    best_run = best.user_attrs[RUN_ID_ATTR]
    rerun = f"python -m pipeline.rerun {best_run} --tracking-uri {mask_password(tracker.tracking_uri)}"
    report = config.tracking.report
    drawing = start_report(study, tracker, config, best, rerun, dataset, drawer) if report else None
    try:
        found = analyse_and_publish(study, tracker, parent, config, dataset, best, drawing)
        confirmation, advice, (version, crowning) = found
        board = leaderboard(table, tracker, config, dataset)  # read while the drawing child finishes the report
    except BaseException:
        if drawing is not None:
            drawing.cancel()
        raise
    report_path = None
    if drawing is not None:
        report_path = write_report(drawing, (confirmation, advice), study.study_name, parent, report_folder)
    parent.finish(STATUS_FINISHED)
    print(board)
    print("\n".join(count_lines(study, config, counts, complete, stopped)))
    registered = f", registered as {registry_name(config)} version {version}" if version else ""
    shown = ", ".join(f"{m}={v:.4g}" for m, v in zip(config.search.metrics, best.values, strict=True))
    print(f"best ({rule}): trial {best.number} (run {best_run}) {shown}{registered}")
    print_findings(config, crowning, confirmation, advice)
    print(f"rerun it: {rerun}")
    print(f"study report: {report_path or 'not drawn (tracking.report=false)'}")
    return 0


def summary_blas_threads(config: Config, dataset: Dataset, drawing: bool) -> contextlib.AbstractContextManager:
    """The BLAS threads of the summary's retraining of the best: one while a drawing child draws on the other core
    (two would fight it for the cores: OpenBLAS's idle threads spin, and the child drew the study's figures a fifth
    slower, docs/BENCHMARKS.md, round 3, eighth pass); else as the work decides (``setup/threads.py``)."""
    from threadpoolctl import threadpool_limits

    from pipeline.setup.threads import one_blas_thread

    if drawing or one_blas_thread(config, dataset, sweep=True):
        return threadpool_limits(1)
    return contextlib.nullcontext()


def analyse_and_publish(
    study: optuna.Study,
    tracker: Tracker,
    parent: RunRecorder,
    config: Config,
    dataset: Dataset,
    best: optuna.trial.FrozenTrial,
    drawing: "Drawing | None" = None,
) -> tuple["Confirmation | None", "Advice", tuple[str | None, "Crowning | None"]]:
    """The best trial confirmed with other seeds, analysed (its mistakes, the data curve, the diagnosis) and
    registered: its confirmation, the advice, and the registered version with what it did to the champion.
    ``drawing``: the report's drawing child, which draws the best's learning-curve PNG too."""
    with summary_blas_threads(config, dataset, drawing is not None and drawing.pid is not None):
        confirmation = confirm(study, parent, config, dataset, best)
        shares = ", ".join(f"{share:.0%}" for share in config.search.data_curve)
        retrained = f", and retrained on {shares} of the training split" if shares else ""
        print(f"analysing the best: its mistakes{retrained}")
        advice = advise(study, tracker, parent, config, dataset, best, confirmation)
    print("registering the best model")
    return confirmation, advice, publish_and_crown(tracker, best, config, dataset, drawing)


def print_findings(
    config: Config, crowning: "Crowning | None", confirmation: "Confirmation | None", advice: "Advice"
) -> None:
    """The lines under the best trial: which version is served, the spread over seeds, the diagnosis."""
    if crowning is not None:
        print(f"  served by default: {crowning.sentence(registry_name(config))}")
    if confirmation is not None:
        print(f"  with other seeds: {confirmation.sentence(config.search.metrics[0])}")
    for line in advice.lines():
        print(f"  {line}")


def count_lines(
    study: optuna.Study,
    config: Config,
    counts: dict[str, int],
    complete: list[optuna.trial.FrozenTrial],
    stopped: str | None,
) -> list[str]:
    """How the trials ended, what pruning saved, who missed the limits, and why the search stopped early."""
    saved = evidence_of(study.get_trials(deepcopy=False), config.train.epochs).saved()
    lines = [describe_counts(counts) + (f"; {saved}" if saved else "")]
    if describe_infeasible(complete):
        lines.append(f"{describe_infeasible(complete)}: the best is chosen among the others")
    if stopped:
        lines.append(f"stopped early: {stopped}; the budget search.n_trials={config.search.n_trials} was not used up")
    return lines


def log_table(parent: RunRecorder, table: pd.DataFrame) -> None:
    """The trials table as the parent run's ``trials.csv``."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trials.csv"
        table.to_csv(path, index=False)
        parent.log_file(path)


def nothing_to_publish(complete: list[optuna.trial.FrozenTrial], counts: dict[str, int]) -> tuple[str, str] | None:
    """``(reason, hint)`` when no trial can be the best: none completed, or none meets the limits."""
    if not complete:
        reason = f"no trial completed ({describe_counts(counts)}): see the trials' failure_reason tags"
        return reason, ", or trials.csv in the parent run"
    if not any(feasible(trial) for trial in complete):
        return f"no complete trial meets search.constraints: {describe_infeasible(complete)}", (
            "; relax the limits or run more trials"
        )
    return None


def record_best(
    study: optuna.Study,
    tracker: Tracker,
    parent: RunRecorder,
    config: Config,
    chosen: tuple[optuna.trial.FrozenTrial, str],
    counts: dict[str, int],
    complete: list[optuna.trial.FrozenTrial],
    n_trials: int,
) -> str | None:
    """The best trial (and the rule that chose it), the counts of the trials and of the ``complete`` ones that
    miss the limits, and the early-stop reason on the parent run; returns that reason."""
    best, rule = chosen
    parent.set_tags(
        {
            BEST_TRIAL_TAG: best.number,
            BEST_RUN_TAG: best.user_attrs[RUN_ID_ATTR],
            "best_params": json.dumps(best.params),
            "best_rule": rule,
            **{f"trials_{label}": count for label, count in counts.items()},
            **({"trials_infeasible": sum(not feasible(t) for t in complete)} if config.search.constraints else {}),
        }
    )
    if config.search.multi_objective:
        record_pareto(study, parent, config)
    # A stop one worker recorded no longer holds if another worker's trial, ending after it, improved on the best.
    stopped = forget_an_old_stop(study, config, study.user_attrs)
    if stopped:
        parent.set_tags({STOPPED_ATTR: stopped})
    elif STOPPED_ATTR in tracker.run(parent.run_id).data.tags:  # an earlier session's reason no longer holds
        tracker.client.delete_tag(parent.run_id, STOPPED_ATTR)
    parent.log_metrics(
        {
            **{f"best_{metric}": value for metric, value in zip(config.search.metrics, best.values, strict=True)},
            "n_trials": n_trials,
        }
    )
    return stopped


def publish_and_crown(
    tracker: Tracker, best: optuna.trial.FrozenTrial, config: Config, dataset: Dataset, drawing: "Drawing | None" = None
) -> tuple[str | None, Crowning | None]:
    """Register the best run's model (``publish_best``) and move ``@champion`` if it is better (``crown``)."""
    drawn = drawing.learning_curves if drawing is not None and drawing.opening.curves is not None else None
    version = publish_best(tracker, best.user_attrs[RUN_ID_ATTR], config, dataset, drawn)
    if version is None:
        return None, None
    metric, direction = config.search.metrics[0], config.search.directions[0]
    name = registry_name(config)
    return version, crown(tracker.client, name, version, metric, direction, best.values[0], config.study_name)


def confirm(
    study: optuna.Study, parent: RunRecorder, config: Config, dataset: Dataset, best: optuna.trial.FrozenTrial
) -> "Confirmation | None":
    """Retrain the best configuration with ``search.confirm_seeds`` other seeds and record the spread on the
    parent run (``best_<metric>_mean``/``_sd``, tags ``best_seed_values`` and ``within_noise``)."""
    from pipeline.search.confirm import confirm_best

    if config.search.confirm_seeds and not config.search.multi_objective and SEED_VALUES_ATTR not in best.user_attrs:
        print(f"confirming the best: trial {best.number} trained again with {config.search.confirm_seeds} other seeds")
    confirmation = confirm_best(config, dataset, study, best)
    if confirmation is None:
        return None
    metric = config.search.metrics[0]
    parent.log_metrics({f"best_{metric}_mean": confirmation.mean, f"best_{metric}_sd": confirmation.sd})
    parent.set_tags(
        {
            "best_seed_values": json.dumps(list(confirmation.values)),
            "within_noise": ",".join(map(str, confirmation.within_noise)),
        }
    )
    return confirmation


def choose_best(study: optuna.Study, config: Config) -> tuple[optuna.trial.FrozenTrial, str]:
    """The trial registered as the best, and the rule that chose it.

    One objective: the best value. Several: among the Pareto set (``study.best_trials``), ``first``
    takes the best first objective; ``balanced`` the trial nearest the ideal point once every objective
    is scaled to [0, 1] over the Pareto set.
    """
    if not config.search.multi_objective:
        return study.best_trial, f"best {config.search.metrics[0]}"
    pareto = study.best_trials
    signs = [1.0 if d == "maximize" else -1.0 for d in config.search.directions]
    if config.search.best == "first":
        best = max(pareto, key=lambda t: (signs[0] * t.values[0], t.number * -1))
        return best, f"the Pareto trial with the best {config.search.metrics[0]}"
    columns = list(zip(*(trial.values for trial in pareto), strict=True))
    scaled = []
    for trial in pareto:
        distance = 0.0
        for index, value in enumerate(trial.values):
            low, high = min(columns[index]), max(columns[index])
            goodness = 0.0 if high == low else (value - low) / (high - low)
            goodness = goodness if signs[index] > 0 else 1.0 - goodness
            distance += (1.0 - goodness) ** 2
        scaled.append((distance, trial.number, trial))
    return min(scaled)[2], "the Pareto trial nearest the ideal point (balanced)"


def record_pareto(study: optuna.Study, parent: RunRecorder, config: Config) -> None:
    """The Pareto set: trial numbers as the tag ``pareto_trials``, run ids and values as ``pareto.json``."""
    pareto = sorted(study.best_trials, key=lambda t: t.number)
    parent.set_tags({"pareto_trials": ",".join(str(t.number) for t in pareto)})
    rows = [
        {
            "trial": t.number,
            "run_id": t.user_attrs.get(RUN_ID_ATTR),
            **dict(zip(config.search.metrics, t.values, strict=True)),
        }
        for t in pareto
    ]
    parent.log_text(json.dumps(rows, indent=2), "pareto.json")


def log_params_of(config: Config) -> set[str]:
    """The Optuna parameter names searched on a log scale (``hidden_units`` -> ``hidden_units_l1..``)."""
    names = parameter_names(config.search.space, default_depth=len(config.model.hidden_units))
    return {name for name, param in names.items() if param.log}


def start_report(
    study: optuna.Study,
    tracker: Tracker,
    config: Config,
    best: optuna.trial.FrozenTrial,
    rerun: str,
    dataset: Dataset,
    drawer: "Drawer | None" = None,
) -> "Drawing":
    """Read what the study report shows of the trials and start drawing its figures (on the other core:
    ``drawing``, in ``drawer``'s warmed child if there is one), and the best's learning-curve PNG when its run
    gets one (``tracking.log_plots=best``); ``write_report`` adds the best's confirmation and analysis. Not
    called with ``tracking.report=false``."""
    # None imports matplotlib: the sweep's process draws nothing (drawing_child.py).
    from pipeline.search.drawing import snapshot, start_drawing
    from pipeline.search.drawing_child import Opening
    from pipeline.search.report_input import TOP_CURVES, ReportInput

    print("drawing the study report (on another core, while the best is confirmed, analysed and registered)")
    trials = study.get_trials(deepcopy=False)
    metric = config.search.metrics[0]
    reverse = config.search.directions[0] == "maximize"
    complete = sorted((t for t in trials if t.state == TrialState.COMPLETE), key=lambda t: t.values[0], reverse=reverse)
    complete = [t for t in complete if feasible(t)]  # the curves drawn are the best trials that met their limits
    drawn = [*complete[:TOP_CURVES], *(t for t in trials if t.state == TrialState.PRUNED)]
    score = metric if metric.startswith(("val_", "train_")) else "val_accuracy"
    curves = {
        trial.number: metric_histories(tracker.client, trial.user_attrs[RUN_ID_ATTR], keys=(score, "train_cost"))
        for trial in drawn
        if RUN_ID_ATTR in trial.user_attrs
    }
    data = ReportInput(
        snapshot(study),
        metric,
        config.search.directions[0],
        log_params_of(config),
        curves,
        best_settings=best.params,
        best_number=best.number,
        rerun_command=rerun,
        title=f"Study {study.study_name}: {' and '.join(config.search.metrics)} on {config.dataset.name}",
        metrics=config.search.metrics,
        directions=config.search.directions,
        epochs=config.train.epochs,
        repeats=config.search.repeats,
        diagnosed=TASKS[dataset.task].kind,
        ranges=refined_ranges(tracker, study, config),
        colour_by=config.search.colour_by,
    )
    curves = None
    best_run = best.user_attrs[RUN_ID_ATTR]
    if config.tracking.log_plots == "best" and not tracker.run(best_run).data.tags.get(REGISTERED_TAG):
        curves = best_curves(tracker.client, best_run), best_curves_title(dataset)  # (registered: drawn already)
    opening = Opening(data, curves)
    return drawer.draw(opening) if drawer is not None else start_drawing(opening)


def refined_ranges(tracker: Tracker, study: optuna.Study, config: Config) -> dict[str, tuple[str, str]]:
    """A refined study's coarse and fine range per space entry ({} for a study that was not refined)."""
    if not config.search.refine_from:
        return {}
    from pipeline.search.refine import COARSE_SPACE_TAG, ranges

    tags = tracker.run(study.user_attrs[PARENT_ATTR]).data.tags
    return ranges(tags.get(COARSE_SPACE_TAG, "{}"), config.search.space)


def write_report(
    drawing: "Drawing",
    found: tuple["Confirmation | None", "Advice"],
    study_name: str,
    parent: RunRecorder,
    folder: Path,
) -> str:
    """Complete the report ``drawing`` draws with what the summary ``found`` of the best (its confirmation and
    analysis), log it (and its PNGs) to the parent run and write a copy to ``folder/<study>.html``; returns where
    to find it.

    The parent run's ``report.html`` is the record; the file is a convenience copy. A folder that cannot take
    it (read-only, full) is said in the returned line and the sweep still succeeds, leaving no partial file.
    """
    rendered = drawing.report(found)
    for name, png in rendered.figures.items():
        parent.save_artifact(f"plots/{name}", lambda path, png=png: path.write_bytes(png))
    parent.log_text(rendered.html, "report.html")
    path = folder / f"{names.safe_name(study_name, 'study')}.html"
    temporary = path.with_name(f".partial-{path.name}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary.write_text(rendered.html, encoding="utf-8")
        temporary.replace(path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        reason = error.strerror or str(error)
        return f"report.html of the parent run ({path} could not be written: {reason})"
    parent.set_tags({"report": str(path)})
    return str(path)


def registry_name(config: Config) -> str:
    tracking, dataset = config.tracking, config.dataset
    return names.registered_model_name(
        tracking.registered_model_name, tracking.experiment_name, dataset.name, dataset.path
    )


def best_curves(client: "MlflowClient", run_id: str) -> dict[str, list[tuple[int, float]]]:
    """The best run's training and validation curves, as its ``learning_curves.png`` shows them."""
    histories = metric_histories(client, run_id)
    return {key: points for key, points in histories.items() if key.startswith(("train_", "val_"))}


def best_curves_title(dataset: Dataset) -> str:
    return f"{dataset.name}: best trial"


def publish_best(
    tracker: Tracker, run_id: str, config: Config, dataset: Dataset, drawn: "Callable[[], bytes] | None" = None
) -> str | None:
    """Give the best trial's run its curves and pyfunc model (unless already there) and register it. ``drawn``
    gives the curves' PNG drawn elsewhere (the report's drawing child); without it they are drawn here."""
    run = tracker.run(run_id)
    if run.data.tags.get(REGISTERED_TAG):
        return run.data.tags[REGISTERED_TAG]
    recorder = tracker.recorder(run_id)
    if config.tracking.log_plots == "best":
        if drawn is not None:
            save_learning_curves(recorder, drawn())
        else:
            log_learning_curves(recorder, best_curves(tracker.client, run_id), best_curves_title(dataset))
    if config.tracking.log_model == "none":
        return None
    model_uri = run.data.tags.get("model_uri")
    if model_uri is None:
        with tempfile.TemporaryDirectory() as folder:
            parameters = download_artifact(tracker.tracking_uri, run_id, "network.npz", Path(folder))
            DeepNetwork.load(parameters)  # refuse a damaged file before publishing it
            model_uri = log_network_model(recorder, parameters, dataset, Path(folder))
    # Registered already (a summary killed between registering and tagging)? Then that version it is.
    version = registered_version(tracker, registry_name(config), run_id) or register_model(
        model_uri, registry_name(config)
    )
    recorder.set_tags({REGISTERED_TAG: version, "registered_model": registry_name(config)})
    return version


def leaderboard(table: pd.DataFrame, tracker: Tracker, config: Config, dataset: Dataset) -> str:
    """The best completed trials with their test score, as text (``trial``, the metric, ``test_<score>``, ...)."""
    complete = table[table["state"] == "COMPLETE"]
    ascending = config.search.directions[0] == "minimize"
    # One objective: Optuna's column "value"; several: "values_0", "values_1", ... (ranked by the first).
    columns = ["value"] if "value" in complete else [f"values_{i}" for i in range(len(config.search.metrics))]
    limits = [column for column in complete.columns if column.startswith("constraints_")]
    complete = complete.assign(limits=(complete[limits] <= 0).all(axis=1).map({True: "met", False: "missed"}))
    # Trials that missed a search.constraints limit rank after those that met them, whatever their value.
    order = ["limits", columns[0]] if limits else [columns[0]]
    top = complete.sort_values(order, ascending=[True, ascending][-len(order) :]).head(LEADERBOARD_SIZE).copy()
    # test_accuracy (or test_rmse); without a test split, the trained model's score on the training split
    test = final_metrics(dataset.task)[1 if dataset.sizes["test"] else 3]
    top[test] = [tracker.run(run_id).data.metrics.get(test) for run_id in top[RUN_ID_ATTR]]
    params = [column for column in top.columns if column.startswith("params_")]
    shown = top[["number", *columns, test, *(["limits"] if limits else []), *params]].rename(
        columns=lambda c: c.removeprefix("params_")
    )
    shown = shown.rename(columns={**dict(zip(columns, config.search.metrics, strict=True)), "number": "trial"})
    # Parameters a trial did not have (hidden_units_l3 of a 1-layer net) print blank, not NaN.
    for column in shown.columns[2 + len(columns) + bool(limits) :]:
        shown[column] = [brief(v) if not (isinstance(v, float) and math.isnan(v)) else "" for v in shown[column]]
    return "leaderboard:\n" + shown.to_string(index=False, float_format=lambda v: f"{v:.4g}")
