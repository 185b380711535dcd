"""The README's commands, run in the order the README gives them, in one folder, as a newcomer would.

Each ``python -m pipeline.*`` line of the README's ``bash`` blocks runs as written, plus a small budget
appended (the same for every command, so what resumes and what is refused is what the README's own
commands would meet): every one must exit 0. This keeps the README's examples from colliding with its
quick start (another metric or space under one study name is refused) and keeps each example true.

What is not run here, and where it is: ``pipeline.serve`` stays up until stopped (``test_serve.py`` serves
through the real scoring server); ``pipeline.train experiment=course_*`` trains the course's tables, which touch
no study (``test_course.py`` runs each and checks its numbers); ``mlflow ui`` and ``optuna-dashboard`` are
servers of other projects.
"""

import re
import shlex
import subprocess
from pathlib import Path

import pytest
from helpers.commands import ENV

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[2] / "README.md"
# Small enough to keep the whole README under a few minutes, the same for every command.
BUDGET = {
    # No pyfunc model and no study report: what collides is studies and names; test_serve.py logs, registers and
    # serves models, and test_report.py reads a report.
    "pipeline.sweep": [
        "search.n_trials=8",
        "train.epochs=2",
        "search.confirm_seeds=0",
        "search.data_curve=[]",
        "tracking.log_model=none",
        "tracking.report=false",
    ],
    "pipeline.train": ["train.epochs=4"],
}
NOT_RUN = ("pipeline.serve",)  # long-running servers: tests/e2e/test_serve.py
# The course's tables train fixed settings and touch no study: tests/e2e/test_course.py runs each of these
# commands and checks the numbers it prints against the course's.
COVERED_ELSEWHERE = ("experiment=course_",)
COURSE_PLACEHOLDER = "/path/to/course/data"


def readme_commands() -> list[list[str]]:
    """Every ``python -m pipeline.*`` command of the README's bash blocks, as argument lists, in order."""
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            if "python -m pipeline." not in line:
                continue
            words = shlex.split(line, comments=True)
            if "python" in words and "-m" in words:
                start = words.index("python")
                if words[start + 2].startswith("pipeline."):
                    commands.append(words[start + 1 :])
    return commands


def test_the_readme_has_commands_to_run() -> None:
    modules = {command[1] for command in readme_commands()}
    assert {"pipeline.sweep", "pipeline.train", "pipeline.compare", "pipeline.rerun", "pipeline.serve"} <= modules


def test_every_readme_command_runs_in_order_in_one_folder(tmp_path: Path, course_data_dir: Path) -> None:
    last_run_id = None
    for command in readme_commands():
        module = command[1]
        if module in NOT_RUN or (module == "pipeline.train" and any(a.startswith(COVERED_ELSEWHERE) for a in command)):
            continue
        args = [
            arg.replace(COURSE_PLACEHOLDER, str(course_data_dir)).replace("../shared/data/course", str(course_data_dir))
            for arg in command[2:]
        ]
        if "<RUN_ID>" in args:
            assert last_run_id, "the README reruns <RUN_ID> before any sweep printed a rerun command"
            args = [last_run_id if arg == "<RUN_ID>" else arg for arg in args]
        result = subprocess.run(
            ["python", "-m", module, *args, *BUDGET.get(module, [])],
            cwd=tmp_path,
            env={**ENV, "PYTHONUNBUFFERED": "1", "OPENBLAS_NUM_THREADS": "1"},
            capture_output=True,
            text=True,
            timeout=600,
        )
        shown = " ".join(["python", "-m", module, *args])
        assert result.returncode == 0, (
            f"{shown}: exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
        found = re.findall(r"python -m pipeline\.rerun ([0-9a-f]{32})", result.stdout)
        last_run_id = found[-1] if found else last_run_id
