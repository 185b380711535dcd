"""Default study and model names (``pipeline.setup.names``) on the real ``conf/``: sweeps that differ in their
data, search preset or objectives get different names by default, the default sweep keeps ``digits-sweep``
(so its studies resume), and an explicit ``study_name=`` always wins."""

import pytest
from test_config import load

from pipeline.search.summary import registry_name
from pipeline.setup.names import data_label, default_study_name, safe_name

CSV = ["dataset=csv", "dataset.target=label"]


@pytest.mark.parametrize(
    ("overrides", "study"),
    [
        ([], "digits-sweep"),
        (["dataset=iris"], "iris-sweep"),
        (["search=regularization"], "digits-regularization"),
        (["search=extended"], "digits-extended"),
        (["search.metric=[val_accuracy,n_parameters]"], "digits-sweep-val_accuracy-n_parameters"),
        (["search.metric=val_cost"], "digits-sweep-val_cost"),
        ([*CSV, "dataset.path=/data/sales.csv"], "csv-sales-sweep"),
        ([*CSV, "dataset.path=/data/other table.csv"], "csv-other_table-sweep"),
        (["study_name=mine", "search=regularization"], "mine"),
    ],
)
def test_the_default_study_name_tells_data_preset_and_objectives_apart(overrides: list[str], study: str) -> None:
    assert load(*overrides).study_name == study


def test_a_csv_model_is_named_after_its_file_and_other_models_after_the_experiment() -> None:
    assert registry_name(load(*CSV, "dataset.path=/data/sales.csv")) == "deepsweep-csv-sales"
    assert registry_name(load("dataset=iris")) == "deepsweep-iris"
    assert registry_name(load("tracking.registered_model_name=mine", *CSV, "dataset.path=a.csv")) == "mine"


def test_names_are_safe_as_file_and_registry_names() -> None:
    assert safe_name("../../etc/x") == "_.._etc_x"
    assert safe_name("...") == "data" and safe_name("", "study") == "study"
    assert data_label("csv", "/data/" + "x" * 300 + ".csv") == "csv-" + "x" * 40
    assert data_label("digits", "/ignored") == "digits"
    assert default_study_name("digits", "sweep", ["val_accuracy"]) == "digits-sweep"
