"""Saving and loading parameters as ``.npz`` with JSON metadata, written atomically and checked on load."""

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from models.errors import ModelFileError

FORMAT = "deepsweep-network"
# 2: batch-norm arrays (gamma{l}, beta{l}, running_mean{l}, running_var{l}, no b{l} in those layers) and
# metadata keys init_generator, keep_prob, dropout_masks, batch_norm, batch_norm_momentum, batch_norm_epsilon.
# A version-1 reader cannot know those, so it must refuse such files rather than misread them.
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
_METADATA_KEY = "__metadata__"


def save(path: str | Path, parameters: dict[str, np.ndarray], metadata: dict[str, object]) -> Path:
    """Write ``parameters`` and ``metadata`` to ``path`` (``.npz`` is appended if missing).

    The file is written beside its destination and renamed into place, so a crash or a full disk
    leaves either the old file or the new one, never a truncated one.
    """
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, **metadata}
    arrays = {**parameters, _METADATA_KEY: np.array(json.dumps(header))}
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            np.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def load(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    """Read ``(parameters, metadata)`` written by ``save``; ``ModelFileError`` says why a file is unusable."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as error:
        raise ModelFileError(f"{path}: not a readable model file (corrupt or truncated?): {error}") from None
    if _METADATA_KEY not in arrays:
        raise ModelFileError(f"{path}: no metadata; this is not a file written by DeepNetwork.save")
    try:
        metadata = json.loads(str(arrays.pop(_METADATA_KEY)))
    except json.JSONDecodeError as error:
        raise ModelFileError(f"{path}: metadata is not valid JSON: {error}") from None
    if metadata.get("format") != FORMAT or metadata.get("format_version") not in READABLE_VERSIONS:
        raise ModelFileError(
            f"{path}: format {metadata.get('format')!r} version {metadata.get('format_version')!r} "
            f"is not {FORMAT!r} version {' or '.join(map(str, READABLE_VERSIONS))}; "
            "re-save it with this version of deepsweep"
        )
    return arrays, metadata


def check_parameters(path: str | Path, loaded: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    """Refuse arrays (parameters and running statistics) whose names, shapes or dtypes differ from
    ``expected``, or that are not finite."""
    if sorted(loaded) != sorted(expected):
        raise ModelFileError(f"{path}: parameters {sorted(loaded)} do not match the architecture's {sorted(expected)}")
    for key, value in loaded.items():
        if value.shape != expected[key].shape or value.dtype != expected[key].dtype:
            raise ModelFileError(
                f"{path}: {key} is {value.dtype}{value.shape}, expected {expected[key].dtype}{expected[key].shape}"
            )
        if not np.isfinite(value).all():
            raise ModelFileError(f"{path}: {key} contains NaN or infinity")
