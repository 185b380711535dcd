"""``python -m pipeline.train``: train one network from the composed config and record one MLflow run.

Examples::

    python -m pipeline.train
    python -m pipeline.train dataset=breast_cancer model.hidden_units=[20,7,5] train.learning_rate=0.05
    python -m pipeline.train experiment=course_cat_4layer dataset.path=../data/course
"""

from collections.abc import Callable

import hydra
from omegaconf import DictConfig

from pipeline.console import fail_cleanly, print_result
from pipeline.preflight import command_config, prepare_training, run_command
from pipeline.setup.config import register_schemas

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

    with fail_cleanly():
        config = command_config(cfg)
        prepared = prepare_training(config)  # everything refused before any run exists
        printer = cost_printer(config.train.print_every)
        # Small products: one BLAS thread is as fast and spares the other core (pipeline/setup/threads.py).
        with threadpool_limits(1 if one_blas_thread(config, prepared.dataset, sweep=False) else None):
            run_id, result = train_once(prepared.config, prepared.dataset, on_epoch=printer)
        print_result(run_id, result.final_metrics, prepared.config.tracking.tracking_uri)


if __name__ == "__main__":
    run_command(main)
