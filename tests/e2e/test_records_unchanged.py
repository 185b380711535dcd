"""The efficiency work's promise: a sweep stores exactly what it stored before, bit for bit.

The reference (tests/e2e/data/small_sweep_records.json) was written by ``python tests/e2e/helpers/fingerprint.py
--write`` before the bookkeeping was made cheaper; a change that alters a trial, a run, a metric value,
a parameter, a tag or an artifact's content makes this test fail. Rewrite the reference only for a change
meant to alter the records, and say so in its commit.

Numbers are compared to a relative 1e-9, everything else exactly: the last bits of a cost or a trained weight
depend on the order in which the CPU's BLAS kernel sums (AVX-512 and AVX2 kernels differ at ~1e-16 here), while
every decision the records hold (trial states, pruning epochs, accuracies, parameters, names) is the same.
"""

import json
import math
from pathlib import Path

import pytest
from helpers.fingerprint import REFERENCE, fingerprint, run_sweep, sweep_env

pytestmark = pytest.mark.slow


def same(ours: object, theirs: object) -> bool:
    """Equal, numbers to a relative 1e-9 (ints and bools exactly)."""
    if isinstance(ours, float) or isinstance(theirs, float):
        both = isinstance(ours, int | float) and isinstance(theirs, int | float)
        return both and math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return ours.keys() == theirs.keys() and all(same(ours[k], theirs[k]) for k in ours)
    if isinstance(ours, list) and isinstance(theirs, list):
        return len(ours) == len(theirs) and all(same(a, b) for a, b in zip(ours, theirs, strict=True))
    return ours == theirs


def test_a_small_sweep_stores_exactly_the_reference_records(tmp_path: Path) -> None:
    run_sweep(tmp_path, sweep_env())
    stored = json.loads(json.dumps(fingerprint(tmp_path)))  # tuples -> lists, as in the file
    reference = json.loads(REFERENCE.read_text())
    assert same(stored["trials"], reference["trials"]), (stored["trials"], reference["trials"])
    assert [run["run"] for run in stored["runs"]] == [run["run"] for run in reference["runs"]]
    for ours, theirs in zip(stored["runs"], reference["runs"], strict=True):
        assert same(ours, theirs), f"the records of {ours['run']} changed:\n{ours}\n{theirs}"
    assert stored["models"] == reference["models"]


def test_numbers_are_compared_to_their_stable_digits_and_the_rest_exactly() -> None:
    assert same({"a": [1, 0.1 + 0.2]}, {"a": [1, 0.3]}) and not same({"a": 0.3}, {"a": 0.3001})
    assert not same(1, 2) and not same("x", "y") and not same([1.0], [1.0, 2.0]) and not same(0.5, "0.5")
