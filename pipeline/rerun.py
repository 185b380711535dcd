"""``python -m pipeline.rerun RUN_ID``: train a logged run again from its ``config.yaml`` and compare.

The new run is tagged ``rerun_of=RUN_ID``. Every per-epoch and final metric of the source run is
compared step by step; on the same machine they must match exactly. Exit code 0: all matched;
1: something differed (the differences are printed); 2: the run or its config could not be used.
"""

import argparse
import copy
import json
import sys
import tempfile
from pathlib import Path

import yaml
from omegaconf import DictConfig, OmegaConf

from pipeline.console import fail_cleanly, mask_output
from pipeline.errors import ConfigError
from pipeline.preflight import Prepared, load_config, prepare_training
from pipeline.record_names import BEST_RUN_TAG, DEFAULT_TRACKING_URI, KIND_TAG, TRIAL_STATE_TAG
from pipeline.records.store_checks import TRACKING_SCHEMES, check_store_uri
from pipeline.records.tracking import Tracker, download_artifact, metric_histories
from pipeline.records.uris import sqlite_file
from pipeline.setup.config import Config
from pipeline.training import RunResult, train_once


def load_logged_config(tracking_uri: str, run_id: str) -> Config:
    """The config a run logged, pointed at ``tracking_uri`` (the logged URIs may have masked passwords)."""
    store = sqlite_file(tracking_uri)
    if store is not None and not store.is_file():  # opening it would create an empty store
        raise LookupError(f"no MLflow store at {store}; pass the store holding the run with --tracking-uri")
    with tempfile.TemporaryDirectory() as folder:
        node = read_logged(download_artifact(tracking_uri, run_id, "config.yaml", Path(folder)))
    node.tracking.tracking_uri = tracking_uri
    return load_config(node)


def read_logged(path: Path) -> DictConfig:
    """A logged ``config.yaml`` over the schema: keys read by name, so the file's key order, or settings it
    predates (filled with the schema's defaults), do not matter."""
    try:
        logged = OmegaConf.load(path)
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        first = str(error).splitlines()[0]
        raise ConfigError(f"the run's config.yaml is not valid YAML ({first}); it cannot be rebuilt") from None
    if not isinstance(logged, DictConfig):
        raise ConfigError("the run's config.yaml holds no mapping of settings; it cannot be rebuilt")
    return OmegaConf.merge(OmegaConf.structured(Config), logged)


def compare(
    expected: dict[str, list[tuple[int, float]]], actual: dict[str, list[tuple[int, float]]], *, pruned: bool = False
) -> list[str]:
    """Every difference between two runs' metric histories ``{key: [(step, value), ...]}``, as text.

    A pruned source run stopped early: the rerun trains every epoch, and only the epochs the source
    recorded are compared.
    """
    differences = []
    for key in sorted(expected):
        if key not in actual:
            differences.append(f"{key}: missing from the rerun")
            continue
        if len(expected[key]) != len(actual[key]) and not (pruned and len(actual[key]) > len(expected[key])):
            differences.append(f"{key}: {len(expected[key])} values logged, rerun has {len(actual[key])}")
        if len(expected[key]) == len(actual[key]) == 1:  # a value logged once after training: its step changed
            (_, old), (_, new) = expected[key][0], actual[key][0]  # (the last epoch before, 0 since), not its value
            if old != new:
                differences.append(f"{key}: logged {old!r}, rerun {new!r}")
            continue
        for (step, old), (new_step, new) in zip(expected[key], actual[key], strict=False):
            if step != new_step or old != new:
                differences.append(f"{key} at step {step}: logged {old!r}, rerun {new!r} (step {new_step})")
                break
    return differences


def data_changes(old_tags: dict[str, str], new_tags: dict[str, str]) -> list[str]:
    """A difference naming the data when its fingerprint changed (the likely cause of the others)."""
    old, new = old_tags.get("data_fingerprint"), new_tags.get("data_fingerprint")
    if old and new and old != new:
        return [f"the data changed since the run: fingerprint {old[:12]}… is now {new[:12]}…"]
    return []


def rerun_repeats(tracker: Tracker, run_id: str, prepared: Prepared, result: RunResult, seeds: list[int]) -> None:
    """Train a repeated trial's other seeds again and log their metrics on the rerun, as the trial did."""
    from pipeline.search.confirm import repeat_metrics

    last = {key: points[-1][1] for key, points in result.history.items() if points}
    first = {**last, **result.final_metrics}
    logged, _, _ = repeat_metrics(copy.deepcopy(prepared.config), prepared.dataset, first, seeds)
    tracker.recorder(run_id).log_metrics(logged, step=0)


def main(argv: list[str] | None = None) -> int:
    mask_output()
    parser = argparse.ArgumentParser(prog="python -m pipeline.rerun", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_id", help="the MLflow run to reproduce (a pipeline.train run or a sweep trial)")
    parser.add_argument("--tracking-uri", default=DEFAULT_TRACKING_URI, help="the MLflow store holding it")
    args = parser.parse_args(argv)
    with fail_cleanly():
        try:
            # The store must exist and be writable (the rerun is recorded beside the run): say so first.
            check_store_uri("--tracking-uri", args.tracking_uri, TRACKING_SCHEMES)
            config = load_logged_config(args.tracking_uri, args.run_id)
        except (ConfigError, LookupError, OSError) as error:
            print(f"error: cannot rebuild run {args.run_id}: {error}", file=sys.stderr)
            return 2
        tracker = Tracker(config.tracking.tracking_uri, config.tracking.experiment_name)
        source = tracker.run(args.run_id)
        if source.data.tags.get(KIND_TAG) == "study":
            best = source.data.tags.get(BEST_RUN_TAG, "<a trial's run id>")
            print(
                f"error: {args.run_id} is a sweep's parent run; rerun one of its trials, e.g. {best}", file=sys.stderr
            )
            return 2
        pruned = source.data.tags.get(TRIAL_STATE_TAG) == "PRUNED"
        expected = metric_histories(tracker.client, args.run_id)
        prepared = prepare_training(config)
        new_run_id, result = train_once(prepared.config, prepared.dataset, {"rerun_of": args.run_id})
        if "repeat_seeds" in source.data.tags:  # a trial of search.repeats=k: its other seeds too
            rerun_repeats(tracker, new_run_id, prepared, result, json.loads(source.data.tags["repeat_seeds"]))
        differences = compare(expected, metric_histories(tracker.client, new_run_id), pruned=pruned)
        differences = data_changes(source.data.tags, tracker.run(new_run_id).data.tags) + differences
        tracker.recorder(new_run_id).set_tags({"rerun_matches": str(not differences).lower()})
    print(f"rerun of {args.run_id} recorded as run {new_run_id}")
    if differences:
        print(f"{len(differences)} metrics differ:", *differences, sep="\n  ")
        return 1
    scope = " (the source run was pruned: its epochs only)" if pruned else ""
    print(f"all {len(expected)} metrics match exactly ({sum(map(len, expected.values()))} values){scope}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
