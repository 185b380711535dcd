"""The course's published tables, reproduced through the real ``python -m pipeline.train`` (and, for the
planar table of hidden-layer sizes, ``python -m pipeline.sweep``) command: one experiment file per table,
the figures read back from the MLflow run. docs/COURSE.md lists every figure with its source.

Costs are compared at the iterations the course prints, to the printed digits (or, where the notebook
prints full floats, to a relative 1e-11: copies of the notebook run on other machines differ there);
accuracies to the printed digits. The football data lives in ../shared/data/course (skipped when absent).
"""

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

pytestmark = pytest.mark.slow

COURSE = Path(__file__).resolve().parents[3] / "shared" / "data" / "course"
ENV = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
ENV |= {"OPENBLAS_NUM_THREADS": "1"}

# experiment -> (costs at printed iterations, relative tolerance (None: the printed 6 decimals), final train
# accuracy, test accuracy, digits of the accuracies)
CASES = {
    # Part one, week 4 (the cat classifiers): costs as the course prints them, 7 decimals.
    "course_cat_2layer": ({0: 0.6930497, 2400: 0.0485548}, "7 decimals", 1.0, 0.72, 2),
    "course_cat_4layer": ({0: 0.7717493, 2400: 0.0928782}, "7 decimals", 0.9856, 0.80, 4),
    "course_planar": (
        {0: 0.693048, 1000: 0.288083, 2000: 0.254385, 3000: 0.233864, 4000: 0.226792, 5000: 0.222644,
         6000: 0.219731, 7000: 0.217504},
        None, 0.90, None, "%d",  # costs printed with 6 decimals; accuracy printed as "Accuracy: %d%%" (90%)
    ),
    "course_init_zeros": ({0: 0.6931471805599453, 1000: 0.6931471805599453, 14000: 0.6931471805599453},
                          1e-12, 0.5, 0.5, 4),
    "course_init_random": ({}, 0, 0.83, 0.86, 2),  # the course's cost is inf at 0 (no clipping): see COURSE.md
    "course_init_he": ({0: 0.8830537463419761, 1000: 0.6879825919728063, 14000: 0.07357895962677362},
                       1e-11, 0.9933333333333333, 0.96, 12),
    "course_reg_baseline": ({0: 0.6557412523481002, 10000: 0.16329987525724213, 20000: 0.13851642423245572},
                            1e-11, 0.9478672985781991, 0.915, 12),
    "course_reg_l2": ({0: 0.6974484493131264, 10000: 0.26849188732822393, 20000: 0.2680916337127301},
                      1e-11, 0.9383886255924171, 0.93, 12),
    "course_reg_dropout": ({0: 0.6543912405149825, 10000: 0.0610169865749056, 20000: 0.060582435798513114},
                           1e-11, 0.9289099526066351, 0.95, 12),
    "course_opt_gd": ({}, 0, 0.797, None, 3),
    "course_opt_momentum": ({}, 0, 0.797, None, 3),
    "course_opt_adam": ({}, 0, 0.94, None, 2),
}  # fmt: skip
NEEDS_DATA = {"course_reg_baseline": "data.mat", "course_reg_l2": "data.mat", "course_reg_dropout": "data.mat"}
NEEDS_DATA |= {"course_cat_2layer": "train_catvnoncat.h5", "course_cat_4layer": "train_catvnoncat.h5"}


def command(folder: Path, module: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=folder, env=ENV, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.parametrize("experiment", list(CASES))
def test_the_course_figures_come_out_of_pipeline_train(tmp_path: Path, experiment: str) -> None:
    if experiment in NEEDS_DATA and not (COURSE / NEEDS_DATA[experiment]).is_file():
        pytest.skip(f"the course's {NEEDS_DATA[experiment]} is not in {COURSE}")
    costs, tolerance, train, test, digits = CASES[experiment]
    stdout = command(tmp_path, "pipeline.train", f"experiment={experiment}", f"dataset.path={COURSE}")
    run_id = re.search(r"^run (\w+):", stdout, re.MULTILINE).group(1)
    client = MlflowClient(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    logged = {point.step: point.value for point in client.get_metric_history(run_id, "train_cost")}
    # The command prints the cost as the notebook does, every train.print_every iterations, the recorded value.
    printed = {int(i): float(c) for i, c in re.findall(r"^Cost after iteration (\d+): (\S+)$", stdout, re.MULTILINE)}
    assert printed and 0 in printed and all(logged[i] == cost for i, cost in printed.items()), stdout[:2000]
    assert set(costs) <= set(printed), "every published cost is printed"
    for iteration, published in costs.items():
        if tolerance is None:  # the course printed 6 decimals
            assert round(logged[iteration], 6) == published, f"cost after iteration {iteration}"
        elif tolerance == "7 decimals":
            assert round(logged[iteration], 7) == published, f"cost after iteration {iteration}"
        else:
            assert logged[iteration] == pytest.approx(published, rel=tolerance), f"cost after iteration {iteration}"
    metrics = client.get_run(run_id).data.metrics
    if digits == "%d":  # the course printed int(accuracy * 100)
        assert int(metrics["final_train_accuracy"] * 100) == int(train * 100), "train accuracy"
        return
    assert round(metrics["final_train_accuracy"], digits) == round(train, digits), "train accuracy"
    if test is None:
        assert "test_accuracy" not in metrics, "the course's own run has no test set"
    else:
        assert round(metrics["test_accuracy"], digits) == round(test, digits), "test accuracy"


def test_the_planar_table_of_hidden_layer_sizes_comes_out_of_one_grid_sweep(tmp_path: Path) -> None:
    """The course's table: 1, 2, 3, 4 and 5 units reproduce to the printed digits on every CPU.

    20 and 50 units do not have one right answer: at learning rate 1.2 their runs are chaotic, and the order
    in which the BLAS kernel sums decides the last bits, which grow until the runs part (after about 4650
    iterations for 20 units, 3840 for 50, docs/COURSE.md). Their accuracies seen so far are 90.0-90.5 % and
    90.25-90.75 % on four OpenBLAS kernels, and the course's own copies print 90.0 / 90.25 % and 90.25 / 91.0 %:
    so they are held to a band of one point around the course's, which any real mistake (a wrong update, a
    wrong initialization: 67 % or 50 %) falls far outside of."""
    exact = {1: 0.675, 2: 0.6725, 3: 0.9075, 4: 0.905, 5: 0.9125}
    chaotic = {20: (0.895, 0.915), 50: (0.895, 0.915)}
    command(tmp_path, "pipeline.sweep", "experiment=course_planar_sizes", "tracking.log_model=none")
    import optuna

    study = optuna.load_study(study_name="course-planar-sizes", storage=f"sqlite:///{tmp_path}/mlruns/optuna.db")
    found = {trial.params["width"]: trial.value for trial in study.trials}
    assert sorted(found) == [1, 2, 3, 4, 5, 20, 50]
    for width, accuracy in exact.items():
        assert math.isclose(found[width], accuracy, abs_tol=1e-12), f"{width} hidden units"
    for width, (low, high) in chaotic.items():
        assert low <= found[width] <= high, f"{width} hidden units: {found[width]} outside the band [{low}, {high}]"
