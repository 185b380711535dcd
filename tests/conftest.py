"""Shared test fixtures: where the reference data lives."""

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
COURSE_DATA = SHARED_DATA / "course"


@pytest.fixture(scope="session")
def course_data_dir() -> Path:
    """The folder with the course's cat HDF5 files; skips the test when it is absent."""
    if not (COURSE_DATA / "train_catvnoncat.h5").is_file() or not (COURSE_DATA / "test_catvnoncat.h5").is_file():
        pytest.skip(f"course reference data not found in {COURSE_DATA} (it is not shipped with the project)")
    return COURSE_DATA


@pytest.fixture(scope="session", autouse=True)
def dataset_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Prepared datasets are kept in the session's own folder (pipeline.setup.data_cache), never in the user's
    ~/.cache: every command the tests start inherits it, so the tests neither read nor leave a user's cache."""
    import os

    folder = tmp_path_factory.mktemp("dataset-cache")
    os.environ["DEEPSWEEP_CACHE_DIR"] = str(folder)
    return folder
