"""The study report of a real sweep: one self-contained HTML file whose figures answer what each
hyperparameter did, with the metric named on the axes and the pruned trials present.

A real ``python -m pipeline.sweep`` runs in a fresh folder; the report file it prints is opened and
read, and the same file is found among the parent run's artifacts.
"""

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from helpers.commands import ENV
from mlflow import MlflowClient
from optuna.trial import TrialState

pytestmark = pytest.mark.slow

OVERRIDES = (
    "dataset=iris",
    "sampler=random",
    "pruner.report_every=1",
    "pruner.options.n_startup_trials=2",
    "pruner.options.n_warmup_steps=1",
    "search.n_trials=10",
    "train.epochs=12",
    "tracking.log_model=none",
)


# ``python -m pipeline.sweep``, saying at its exit which drawing libraries its own process imported.
IMPORTED_AT_EXIT = (
    "import atexit, runpy, sys; "
    "atexit.register(lambda: print('imported:', 'matplotlib' in sys.modules)); "
    "sys.argv = ['pipeline.sweep', *sys.argv[1:]]; "
    "runpy.run_module('pipeline.sweep', run_name='__main__', alter_sys=True)"
)


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("report")
    result = subprocess.run(
        [sys.executable, "-c", IMPORTED_AT_EXIT, *OVERRIDES],
        cwd=folder,
        env={**ENV, "OPENBLAS_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return folder, result.stdout


def report_path(stdout: str) -> Path:
    match = re.search(r"^study report: (.+\.html)$", stdout, re.MULTILINE)
    assert match, f"the sweep prints where its report is:\n{stdout}"
    return Path(match.group(1))


def figure_axes(page: str) -> dict[str, list[list[str]]]:
    """Each embedded figure's id -> its subplots' [x label, y label]."""
    found = re.findall(r"<img id='([^']+)' alt='[^']*' data-axes='([^']*)' src='data:image/png;base64,", page)
    return {name: json.loads(html.unescape(axes)) for name, axes in found}


def test_the_report_is_written_beside_the_stores_and_logged_to_the_parent_run(swept: tuple[Path, str]) -> None:
    folder, stdout = swept
    path = report_path(stdout)
    assert path == folder / "mlruns" / "reports" / "iris-sweep.html" and path.is_file()
    study = optuna.load_study(study_name="iris-sweep", storage=f"sqlite:///{folder}/mlruns/optuna.db")
    client = MlflowClient(f"sqlite:///{folder}/mlruns/mlflow.db")
    parent = study.user_attrs["mlflow_parent_run_id"]
    logged = {artifact.path for artifact in client.list_artifacts(parent)}
    assert "report.html" in logged
    copy = Path(client.download_artifacts(parent, "report.html", str(folder / "downloaded")))
    assert copy.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")
    partial = [path for path in (folder / "mlruns").rglob("*") if ".partial" in path.parts and path.is_file()]
    assert not partial and not list((folder / "mlruns").rglob(".partial-*")), "no half-written file is left behind"


# The best run's learning-curve PNG drawn from its curves by a fresh process (argv: the sweep's folder, the run),
# whose matplotlib state no other test has touched: a report drawn in this process before (its contour) once left
# Optuna's ggplot style here, and the bytes differed (now kept to the contour, report.contour_figure).
DRAWN_IN_A_FRESH_PROCESS = (
    "import sys; from mlflow import MlflowClient; "
    "from pipeline.records.plots import learning_curves_png; from pipeline.search.summary import best_curves; "
    "client = MlflowClient(f'sqlite:///{sys.argv[1]}/mlruns/mlflow.db'); "
    "sys.stdout.buffer.write(learning_curves_png(best_curves(client, sys.argv[2]), 'iris: best trial'))"
)


def test_the_sweeps_own_process_draws_nothing_and_the_best_gets_its_curves(swept: tuple[Path, str]) -> None:
    """Every figure, the best's learning-curve PNG too, is drawn by the summary's drawing child: the sweep's process
    never imports matplotlib (half a second, docs/BENCHMARKS.md), and the PNG is the one a process draws from the
    run's curves."""
    folder, stdout = swept
    assert "imported: False" in stdout.splitlines(), "the sweep's own process imported matplotlib"
    study = optuna.load_study(study_name="iris-sweep", storage=f"sqlite:///{folder}/mlruns/optuna.db")
    client = MlflowClient(f"sqlite:///{folder}/mlruns/mlflow.db")
    best = study.best_trial.user_attrs["mlflow_run_id"]
    png = Path(client.download_artifacts(best, "learning_curves.png", str(folder / "best"))).read_bytes()
    drawn = subprocess.run(
        [sys.executable, "-c", DRAWN_IN_A_FRESH_PROCESS, str(folder), best],
        env=ENV, capture_output=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    assert png.startswith(b"\x89PNG") and png == drawn


def test_the_report_is_self_contained(swept: tuple[Path, str]) -> None:
    page = report_path(swept[1]).read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=['\"]https?://", page), "nothing is fetched from the network"
    assert page.count("data:image/png;base64,") >= 5


def test_every_searched_parameter_has_a_slice_plot_with_the_metric_on_its_axis(swept: tuple[Path, str]) -> None:
    folder, stdout = swept
    study = optuna.load_study(study_name="iris-sweep", storage=f"sqlite:///{folder}/mlruns/optuna.db")
    axes = figure_axes(report_path(stdout).read_text(encoding="utf-8"))
    searched = {name for trial in study.trials for name in trial.params}
    assert searched >= {"learning_rate", "depth", "hidden_activation", "hidden_units_l1"}
    for name in searched:
        assert axes.get(f"slice_{name}.png") == [[name, "val_accuracy"]], name
    assert axes["optimization_history.png"] == [["trial number", "val_accuracy"]]
    assert ["epoch", "val_accuracy"] in axes["learning_curves.png"] and ["epoch", "train_cost"] in axes[
        "learning_curves.png"
    ]
    assert "Objective Value" not in json.dumps(axes)
    assert "contour.png" in axes and "parallel_coordinate.png" in axes and "param_importances.png" in axes


def test_pruned_trials_are_in_the_report(swept: tuple[Path, str]) -> None:
    folder, stdout = swept
    study = optuna.load_study(study_name="iris-sweep", storage=f"sqlite:///{folder}/mlruns/optuna.db")
    pruned = study.get_trials(states=(TrialState.PRUNED,))
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert pruned, "with two startup trials and reports every epoch, some random trials are pruned"
    page = report_path(stdout).read_text(encoding="utf-8")
    assert f"<tr><td>pruned</td><td>{len(pruned)}</td>" in page
    assert f"<tr><td>complete</td><td>{len(complete)}</td>" in page
    assert f"{len(pruned)} pruned (stopped early by the pruner)" in stdout, "the console says how many were pruned"
    best = study.best_trial
    assert f"Trial {best.number}: <b>val_accuracy = {best.value:.4f}</b>" in page
    assert "python -m pipeline.rerun " + best.user_attrs["mlflow_run_id"] in page


def test_with_tracking_report_false_no_report_is_drawn_and_the_rest_of_the_summary_stands(tmp_path: Path) -> None:
    """The quicker summary (``tracking.report=false``): no figures, no page, no report tag; the leaderboard, the
    best model's registration and its analysis are all there."""
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.sweep", *OVERRIDES[:1], "search.n_trials=3", "train.epochs=3",
         "tracking.report=false", "search.confirm_seeds=0", "search.data_curve=[]"],
        cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "drawing the study report" not in result.stdout
    assert "study report: not drawn (tracking.report=false)" in result.stdout
    assert "registered as deepsweep-iris version 1" in result.stdout and "error analysis:" in result.stdout
    assert not (tmp_path / "mlruns" / "reports").exists()
    study = optuna.load_study(study_name="iris-sweep", storage=f"sqlite:///{tmp_path}/mlruns/optuna.db")
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    parent = client.get_run(study.user_attrs["mlflow_parent_run_id"])
    assert parent.info.status == "FINISHED" and "report" not in parent.data.tags
    logged = {artifact.path for artifact in client.list_artifacts(parent.info.run_id)}
    assert "report.html" not in logged and "plots" not in logged, logged
