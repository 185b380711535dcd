"""How ``pipeline.rerun`` compares a rerun's metric histories with the logged ones."""

from pipeline.rerun import compare, data_changes

LOGGED = {"train_cost": [(0, 0.9), (1, 0.5)], "val_accuracy": [(0, 0.5), (1, 0.75)]}


def test_identical_histories_have_no_difference() -> None:
    assert compare(LOGGED, {key: list(points) for key, points in LOGGED.items()}) == []


def test_a_value_differing_in_the_last_digit_is_named_with_its_step() -> None:
    rerun = {**LOGGED, "val_accuracy": [(0, 0.5), (1, 0.75 + 1e-15)]}
    (difference,) = compare(LOGGED, rerun)
    assert difference.startswith("val_accuracy at step 1: logged 0.75")


def test_a_missing_metric_and_a_shorter_history_are_differences() -> None:
    differences = compare(LOGGED, {"train_cost": [(0, 0.9)]})
    assert "train_cost: 2 values logged, rerun has 1" in differences
    assert "val_accuracy: missing from the rerun" in differences


def test_a_pruned_run_is_compared_on_the_epochs_it_recorded() -> None:
    """The rerun trains every epoch; a pruned source stopped early, so only its epochs count."""
    longer = {key: [*points, (2, 0.1)] for key, points in LOGGED.items()}
    assert compare(LOGGED, longer, pruned=True) == []
    assert compare(LOGGED, longer) != []  # an unpruned run must match in length too


def test_changed_data_is_named_before_the_metric_differences() -> None:
    assert data_changes({"data_fingerprint": "a" * 64}, {"data_fingerprint": "b" * 64}) == [
        f"the data changed since the run: fingerprint {'a' * 12}… is now {'b' * 12}…"
    ]
    assert data_changes({"data_fingerprint": "a" * 64}, {"data_fingerprint": "a" * 64}) == []
    assert data_changes({}, {"data_fingerprint": "a" * 64}) == []


def test_a_value_logged_once_is_compared_by_value_whatever_its_step() -> None:
    """Values logged once after training (``test_accuracy``, ``final_*``) were logged at the last epoch's step by
    earlier versions and at step 0 since (MLflow's chart view draws them as bars then): a rerun of an old run
    matches it, and a changed value is still a difference."""
    old_run = {"test_accuracy": [(20, 0.9722)]}
    assert compare(old_run, {"test_accuracy": [(0, 0.9722)]}) == []
    assert compare(old_run, {"test_accuracy": [(0, 0.9723)]}) == ["test_accuracy: logged 0.9722, rerun 0.9723"]
