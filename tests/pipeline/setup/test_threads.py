"""BLAS threads chosen from the work: one for small products, the library's default for large ones."""

import pytest
from hydra import compose, initialize_config_dir

from pipeline.setup.config import Config, register_schemas, to_config
from pipeline.setup.data import load
from pipeline.setup.threads import SMALL_PRODUCT, largest_product, one_blas_thread
from pipeline.setup.vocabulary import DATASETS

CONF = __import__("pathlib").Path(__file__).resolve().parents[3] / "conf"


def config(*overrides: str) -> Config:
    register_schemas()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return to_config(compose("config", overrides=list(overrides)))


def test_the_default_sweep_uses_one_thread_and_a_wide_full_batch_run_all() -> None:
    default = config()
    data = load(default.dataset, 0)
    # digits: 64 features, at most 128 units (the space's bound), batches of 64
    assert largest_product(default, data, sweep=True) == 128 * 128 * 64 and one_blas_thread(default, data, True)
    wide = config("model.hidden_units=[2048]", "train.batch_size=null")
    assert largest_product(wide, data, sweep=False) == 64 * 2048 * data.sizes["train"] > SMALL_PRODUCT
    assert not one_blas_thread(wide, data, sweep=False)


def test_a_training_run_is_judged_by_its_own_layers_not_the_search_space() -> None:
    narrow = config("model.hidden_units=[8]", "search.space.hidden_units.high=4096")
    data = load(narrow.dataset, 0)
    assert largest_product(narrow, data, sweep=False) < largest_product(narrow, data, sweep=True)
    assert "digits" in DATASETS


def _blas_threads() -> set[int]:
    from threadpoolctl import threadpool_info

    return {library["num_threads"] for library in threadpool_info() if library["user_api"] == "blas"}


def test_the_summary_retrains_on_one_blas_thread_beside_its_drawing_child() -> None:
    """The drawing child draws on the other core: the best's retraining must leave it that core, whatever the work
    (its spinning BLAS threads slowed the child's drawing by about a fifth)."""
    from pipeline.search.summary import summary_blas_threads

    wide = config("model.hidden_units=[2048]", "train.batch_size=null")
    data = load(wide.dataset, 0)
    assert not one_blas_thread(wide, data, sweep=True), "large products: all threads, but for the child"
    before = _blas_threads()
    assert before, "numpy's BLAS is visible to threadpoolctl"
    if before == {1}:
        pytest.skip("BLAS runs one thread here already (one core, or OPENBLAS_NUM_THREADS=1): nothing to tell apart")
    with summary_blas_threads(wide, data, drawing=True):
        assert _blas_threads() == {1}
    assert _blas_threads() == before
    with summary_blas_threads(wide, data, drawing=False):
        assert _blas_threads() == before, "no child and large products: as many as the library's default"
    with summary_blas_threads(config(), load(config().dataset, 0), drawing=False):
        assert _blas_threads() == {1}, "small products: one thread, child or not"
