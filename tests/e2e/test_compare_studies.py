"""Two studies overlaid through the real ``python -m pipeline.compare --studies``: best so far against trials and
time, importances side by side, and one line per study; studies that optimize different things are refused."""

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

pytestmark = pytest.mark.slow

ENV = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
ENV |= {"OPENBLAS_NUM_THREADS": "1"}
QUICK = ("dataset=iris", "train.epochs=6", "search.n_trials=6", "search.confirm_seeds=0", "search.data_curve=[]")
QUICK += ("tracking.log_plots=none", "tracking.log_model=none", "tracking.report=false")


def run(folder: Path, module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=folder, env=ENV, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def test_two_studies_are_overlaid_in_one_page_with_their_evidence(tmp_path: Path) -> None:
    for name, sampler in (("iris-random", "sampler=random"), ("iris-qmc", "sampler=qmc")):
        made = run(tmp_path, "pipeline.sweep", *QUICK, sampler, f"study_name={name}")
        assert made.returncode == 0, made.stderr
    result = run(tmp_path, "pipeline.compare", "--studies", "iris-random", "iris-qmc")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    storage = f"sqlite:///{tmp_path}/mlruns/optuna.db"
    for line, name in zip(lines, ("iris-random", "iris-qmc"), strict=False):
        best = optuna.load_study(study_name=name, storage=storage).best_value
        assert line.startswith(f"{name}: best val_accuracy {best:.4g} (trial ") and "complete" in line
    page = Path(lines[-1].removeprefix("comparison: "))
    assert page == tmp_path / "mlruns" / "reports" / "compare-iris-random-vs-iris-qmc.html"
    text = page.read_text()
    assert text.count("data:image/png;base64,") == 3 and "<td>iris-qmc</td>" in text and "seed noise" in text
    assert "[I " not in result.stdout + result.stderr  # no Optuna log lines


def test_studies_of_different_metrics_or_missing_ones_are_refused_in_one_line(tmp_path: Path) -> None:
    assert run(tmp_path, "pipeline.sweep", *QUICK, "study_name=acc").returncode == 0
    assert run(tmp_path, "pipeline.sweep", *QUICK, "study_name=cost", "search.metric=val_cost").returncode == 0
    different = run(tmp_path, "pipeline.compare", "--studies", "acc", "cost")
    assert different.returncode == 1 and "optimize different things" in different.stderr
    missing = run(tmp_path, "pipeline.compare", "--studies", "acc", "nope")
    assert missing.returncode == 1 and "no study 'nope'" in missing.stderr and "Traceback" not in missing.stderr
    nowhere = run(tmp_path / "mlruns", "pipeline.compare", "--studies", "acc", "cost")
    assert nowhere.returncode == 1 and "no Optuna storage" in nowhere.stderr
