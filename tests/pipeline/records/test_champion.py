"""``@champion`` moves only to a better version by the same metric; ``@<study>`` names each study's version
(a real MLflow SQLite store and its Model Registry)."""

from pathlib import Path

from mlflow import MlflowClient

from pipeline.records.champion import CHAMPION, crown, study_alias
from pipeline.records.tracking import Tracker


def registered(folder: Path, count: int) -> tuple[MlflowClient, list[str]]:
    tracker = Tracker(f"sqlite:///{folder}/mlflow.db", "champions", str(folder / "artifacts"))
    client = tracker.client
    client.create_registered_model("deepsweep-x")
    versions = []
    for _ in range(count):
        run = tracker.start_run("r", {})
        run.finish("FINISHED")
        made = client.create_model_version("deepsweep-x", f"{folder}/artifacts/model", run_id=run.run_id)
        versions.append(str(made.version))
    return client, versions


def test_the_champion_moves_only_to_a_better_version_by_the_same_metric(tmp_path: Path) -> None:
    client, (v1, v2, v3, v4) = registered(tmp_path, 4)
    first = crown(client, "deepsweep-x", v1, "val_accuracy", "maximize", 0.98, "digits-sweep")
    assert first.moved and first.champion == v1 and "the first champion" in first.reason
    worse = crown(client, "deepsweep-x", v2, "val_accuracy", "maximize", 0.975, "digits-small")
    assert not worse.moved and worse.champion == v1 and "not beaten" in worse.reason
    other = crown(client, "deepsweep-x", v3, "val_cost", "minimize", 0.05, "digits-cost")
    assert not other.moved and "chosen by val_accuracy, this study by val_cost" in other.reason
    assert "--model deepsweep-x@digits-cost" in other.reason
    better = crown(client, "deepsweep-x", v4, "val_accuracy", "maximize", 0.99, "digits-v2")
    assert better.moved and better.champion == v4 and "beats version 1's 0.98" in better.reason
    assert str(client.get_model_version_by_alias("deepsweep-x", CHAMPION).version) == str(v4)
    assert str(client.get_model_version_by_alias("deepsweep-x", "digits-small").version) == str(v2)  # each study's
    tags = client.get_model_version("deepsweep-x", v2).tags
    assert tags == {"metric": "val_accuracy", "direction": "maximize", "metric_value": "0.975", "study": "digits-small"}
    again = crown(client, "deepsweep-x", v4, "val_accuracy", "maximize", 0.99, "digits-v2")  # a summary repeated
    assert not again.moved and again.champion == v4


def test_study_names_become_aliases_mlflow_accepts() -> None:
    assert study_alias("digits-sweep") == "digits-sweep"
    assert study_alias("my study/v2.1") == "my-study-v2-1"
    assert study_alias("v3") == "study-v3" and study_alias("latest") == "study-latest"
