"""``python -m pipeline.train``: train one network from the composed config and record one MLflow run.

Examples::

    python -m pipeline.train
    python -m pipeline.train dataset=breast_cancer model.hidden_units=[20,7,5] train.learning_rate=0.05
    python -m pipeline.train experiment=course_cat_4layer dataset.path=../data/course
"""

import sys
from collections.abc import Callable

import hydra
from omegaconf import DictConfig

from pipeline.console import add_secrets, fail_cleanly, handle_sigterm, mask_output, print_result, run_to_exit
from pipeline.preflight import load_config, prepare_training
from pipeline.records.store_checks import check_hydra_folders
from pipeline.setup.config import check_override_keys, register_schemas

register_schemas()


def cost_printer(every: int | None) -> Callable[[int, dict[str, float]], None] | None:
    """``Cost after iteration 1000: 0.28808...`` every ``every`` epochs (``train.print_every``), as the notebooks
    print it (the cost of the iteration's forward pass, before its update); None: nothing printed."""
    if every is None:
        return None

    def show(epoch: int, metrics: dict[str, float]) -> None:
        if epoch % every == 0 and "train_cost" in metrics:
            print(f"Cost after iteration {epoch}: {metrics['train_cost']!r}", flush=True)

    return show


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> None:
    from threadpoolctl import threadpool_limits

    from pipeline.setup.threads import one_blas_thread
    from pipeline.training import train_once  # MLflow: not needed for --help or a refused override

    handle_sigterm()
    with fail_cleanly():
        config = load_config(cfg)
        add_secrets(config.tracking.tracking_uri, config.tracking.storage)
        prepared = prepare_training(config)  # everything refused before any run exists
        printer = cost_printer(config.train.print_every)
        # Small products: one BLAS thread is as fast and spares the other core (pipeline/setup/threads.py).
        with threadpool_limits(1 if one_blas_thread(config, prepared.dataset, sweep=False) else None):
            run_id, result = train_once(prepared.config, prepared.dataset, on_epoch=printer)
        print_result(run_id, result.final_metrics, prepared.config.tracking.tracking_uri)


if __name__ == "__main__":
    mask_output()  # before Hydra runs: no secret in any printed line, Hydra's and MLflow's included
    with fail_cleanly():
        check_hydra_folders(sys.argv[1:])  # before Hydra creates them
        check_override_keys(sys.argv[1:])  # a typo: "did you mean", not Hydra's hint to append it
    run_to_exit(main)
