"""``python -m pipeline.launch slurm``: what it submits, and what it refuses before anything reaches the queue
(the real cluster runs in tests/e2e/test_slurm.py)."""

import argparse
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from pipeline.launch import CONF, WORKER_SCRIPT, parse, sbatch_command
from pipeline.preflight import load_config


def refusal(tmp_path: Path, *arguments: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.launch", *arguments], cwd=tmp_path, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    assert not list(tmp_path.iterdir()), "a refusal created files"
    return done.stderr.strip()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("slurm", "--workers", "3", "dataset=iris"), "tracking.storage=sqlite:///mlruns/optuna.db is a file on this"),
        (("slurm", "--workers", "0", "dataset=iris"), "--workers=0 is not allowed"),
        (("slurm", "--workers", "2", "search.workers=2"), "each array task is one worker; give the number of tasks"),
        (("slurm", "--workers", "2", "search.n_trails=5"), "did you mean search.n_trials"),
    ],
)
def test_what_no_task_could_run_is_refused_in_one_line(tmp_path: Path, arguments: tuple, message: str) -> None:
    assert message in refusal(tmp_path, *arguments)


def test_the_array_has_one_task_per_worker_each_one_sweep_worker_with_the_same_overrides() -> None:
    overrides = ["dataset=iris", "study_name=iris-array", "search.n_trials=30"]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        config = load_config(compose("config", overrides=overrides))
    arguments = parse(["slurm", "--workers", "4", "--sbatch=--partition=short", *overrides])
    assert isinstance(arguments, argparse.Namespace)
    command = sbatch_command(config, arguments)
    assert command[:3] == ["sbatch", "--parsable", "--array=0-3"]
    assert "--job-name=deepsweep-iris-array" in command and "--export=ALL" in command
    assert "--partition=short" in command
    script = command.index(str(WORKER_SCRIPT))
    assert command[script + 1] == sys.executable
    assert command[script + 2 :] == [*overrides, "search.workers=1"]
    text = WORKER_SCRIPT.read_text()
    assert "#SBATCH --requeue" in text and "#SBATCH --cpus-per-task=1" in text
    assert 'exec "$python" -m pipeline.sweep "$@"' in text
