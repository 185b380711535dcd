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
