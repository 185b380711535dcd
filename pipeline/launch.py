"""``python -m pipeline.launch slurm --workers N [overrides]``: a sweep as a SLURM job array.

Each array task is one worker of the same study (``python -m pipeline.sweep`` with ``search.workers=1``,
``deploy/slurm/worker.sbatch``): one CPU, one BLAS thread, requeued by SLURM if its node fails. SLURM starts,
places, supervises and stops the workers; the study storage (PostgreSQL) and the tracking server keep what a
scheduler cannot know: each trial's state, its run and the exact budget (docs/MACHINES.md, "SLURM").

The whole config is checked here first, with the same pre-flight as ``pipeline.sweep`` (servers answering,
data loading, the search space), so that a mistake is one line now, not N failed tasks in the queue.

Examples::

    python -m pipeline.launch slurm --workers 6 tracking=server tracking.tracking_uri=http://HOST:5000 \\
        tracking.storage=postgresql+psycopg://deepsweep@DBHOST/optuna study_name=digits-slurm
    python -m pipeline.launch slurm --workers 3 --sbatch=--partition=short --sbatch=--time=01:00:00 ...
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir

from pipeline.console import add_secrets, fail_cleanly, handle_sigterm, mask_output, run_to_exit
from pipeline.errors import ConfigError
from pipeline.preflight import load_config, prepare_sweep
from pipeline.records.uris import mask_password, sqlite_file
from pipeline.setup.config import Config, check_override_keys, register_schemas

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
WORKER_SCRIPT = ROOT / "deploy" / "slurm" / "worker.sbatch"
SUBMIT_SECONDS = 60  # sbatch answers in well under a second; a controller that does not answer is down

register_schemas()


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.launch",
        description="Run a sweep as a SLURM job array: one worker per task, the same study, one budget.",
    )
    kinds = parser.add_subparsers(dest="scheduler", required=True)
    slurm = kinds.add_parser("slurm", help="submit a job array with sbatch")
    slurm.add_argument("--workers", type=int, required=True, help="array tasks, each one worker with one CPU")
    slurm.add_argument(
        "--sbatch", action="append", default=[], metavar="OPTION",
        help="an option passed to sbatch as it is, e.g. --sbatch=--partition=short (repeatable)",
    )  # fmt: skip
    slurm.add_argument("--dry-run", action="store_true", help="check and print the sbatch command, submit nothing")
    slurm.add_argument("overrides", nargs="*", help="the sweep's overrides, as for python -m pipeline.sweep")
    return parser.parse_args(argv)


def check_launch(arguments: argparse.Namespace) -> None:
    """Refuse what no task could do, before anything is checked against the servers."""
    if not 1 <= arguments.workers <= 10_000:
        raise ConfigError(f"--workers={arguments.workers} is not allowed; expected an integer in [1, 10000]")
    for override in arguments.overrides:
        if override.lstrip("+~").partition("=")[0] == "search.workers":
            raise ConfigError(
                f"{override}: each array task is one worker; give the number of tasks with --workers instead"
            )
    check_override_keys(arguments.overrides)


def check_shared_stores(config: Config) -> None:
    """Tasks run on other nodes: they can share servers, not SQLite files on this machine's disk."""
    tracking = config.tracking
    for key, uri in (("tracking.storage", tracking.storage), ("tracking.tracking_uri", tracking.tracking_uri)):
        if sqlite_file(uri) is not None or uri.startswith("file:"):
            raise ConfigError(
                f"{key}={mask_password(uri)} is a file on this machine, which the tasks on other nodes cannot "
                "share; give a PostgreSQL storage and an mlflow server (tracking=server, docs/MACHINES.md)"
            )


def sbatch_command(config: Config, arguments: argparse.Namespace) -> list[str]:
    """``sbatch`` with one array task per worker, each running the sweep with the same overrides."""
    name = f"deepsweep-{config.study_name}"
    return [
        "sbatch",
        "--parsable",
        f"--array=0-{arguments.workers - 1}",
        f"--job-name={name}",
        f"--output={name}-%A_%a.out",
        "--export=ALL",  # the environment carries the credentials (never the command line)
        *arguments.sbatch,
        str(WORKER_SCRIPT),
        sys.executable,
        *arguments.overrides,
        "search.workers=1",
    ]


def launch(arguments: argparse.Namespace) -> int:
    check_launch(arguments)
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        config = load_config(compose("config", overrides=arguments.overrides))
    add_secrets(config.tracking.tracking_uri, config.tracking.storage)
    check_shared_stores(config)
    prepare_sweep(config)  # the servers answer, the data load, the space and the metric are right
    command = sbatch_command(config, arguments)
    if arguments.dry_run:
        print(shlex.join(command))
        return 0
    if shutil.which("sbatch") is None:
        raise ConfigError("sbatch is not on PATH: run this on a SLURM login node (or use --dry-run)")
    submitted = subprocess.run(command, capture_output=True, text=True, timeout=SUBMIT_SECONDS, check=False)
    if submitted.returncode != 0:
        why = (submitted.stderr.strip() or submitted.stdout.strip()).splitlines()
        raise ConfigError(f"sbatch refused the job array: {why[-1] if why else f'exit {submitted.returncode}'}")
    job = submitted.stdout.strip().split(";")[0]
    name = f"deepsweep-{config.study_name}"
    again = shlex.join(["python", "-m", "pipeline.launch", *sys.argv[1:]])
    print(f"submitted job array {job}: {arguments.workers} workers of study {config.study_name!r}")
    print(f"watch:  squeue -j {job}    (each task's output: {name}-{job}_<task>.out)")
    print(f"stop:   scancel {job}    (each worker closes its trial and run KILLED)")
    print(f"resume: {again}    (the study continues to search.n_trials={config.search.n_trials})")
    return 0


def main(argv: list[str] | None = None) -> int:
    handle_sigterm()
    arguments = parse(sys.argv[1:] if argv is None else argv)
    with fail_cleanly():  # a refusal: one line and exit 1
        return launch(arguments)


if __name__ == "__main__":
    mask_output()
    run_to_exit(main)
