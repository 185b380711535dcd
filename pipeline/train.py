"""``python -m pipeline.train``: train one network from the composed config and record one MLflow run.

Examples::

    python -m pipeline.train
    python -m pipeline.train dataset=breast_cancer model.hidden_units=[20,7,5] train.learning_rate=0.05
    python -m pipeline.train experiment=course_cat_4layer dataset.path=../data/course
"""

import sys

import hydra
from omegaconf import DictConfig

from pipeline.config import Config, register_schemas, to_config
from pipeline.console import fail_cleanly, handle_sigterm, print_result
from pipeline.runner import fail, load_config_dataset, output_layer, start_record, succeed, train_and_record
from pipeline.tracking import STATUS_FAILED, STATUS_KILLED, Tracker, close_dead_runs

register_schemas()


def train_once(config: Config, extra_tags: dict[str, str] | None = None) -> tuple[str, dict[str, float]]:
    """Load the data, train, and record one run; returns ``(run_id, test_metrics)``.

    A diverging run ends FAILED with the reason recorded and ``DivergenceError`` re-raised; an
    interrupted one ends KILLED.
    """
    dataset = load_config_dataset(config)  # bad data is refused here, before any run exists
    output_layer(config, dataset)  # so is an output layer that does not fit the data's task
    tracker = Tracker(config.tracking.tracking_uri, config.tracking.experiment_name, config.tracking.artifact_location)
    name = f"{config.dataset.name}-{'x'.join(map(str, config.model.hidden_units)) or 'logistic'}"
    close_dead_runs(tracker)
    recorder = tracker.start_run(name, {"kind": "train", **(extra_tags or {})})
    try:
        start_record(recorder, config, dataset, {})
        result = train_and_record(
            config,
            dataset,
            recorder,
            log_model=config.tracking.log_model != "none",
            log_plot=config.tracking.log_plots != "none",
        )
    except KeyboardInterrupt as interrupt:
        fail(recorder, interrupt, STATUS_KILLED)
        raise
    except BaseException as error:
        fail(recorder, error, STATUS_FAILED)
        raise
    succeed(recorder)
    return recorder.run_id, result.test_metrics


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> None:
    handle_sigterm()
    with fail_cleanly():
        config = to_config(cfg)
        run_id, test_metrics = train_once(config)
        print_result(run_id, test_metrics, config.tracking.tracking_uri)


if __name__ == "__main__":
    sys.exit(main())
