"""The efficiency work's promise: a sweep stores exactly what it stored before, bit for bit.

The reference (tests/e2e/data/small_sweep_records.json) was written by ``python tests/e2e/fingerprint.py
--write`` before the bookkeeping was made cheaper; a change that alters a trial, a run, a metric value,
a parameter, a tag or an artifact's content makes this test fail. Rewrite the reference only for a change
meant to alter the records, and say so in its commit.
"""

import json
from pathlib import Path

import pytest
from fingerprint import REFERENCE, fingerprint, run_sweep, sweep_env

pytestmark = pytest.mark.slow


def test_a_small_sweep_stores_exactly_the_reference_records(tmp_path: Path) -> None:
    run_sweep(tmp_path, sweep_env())
    stored = json.loads(json.dumps(fingerprint(tmp_path)))  # tuples -> lists, as in the file
    reference = json.loads(REFERENCE.read_text())
    assert stored["trials"] == reference["trials"]
    assert [run["run"] for run in stored["runs"]] == [run["run"] for run in reference["runs"]]
    for ours, theirs in zip(stored["runs"], reference["runs"], strict=True):
        assert ours == theirs, f"the records of {ours['run']} changed"
    assert stored["models"] == reference["models"]
