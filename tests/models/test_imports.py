"""House rule: models/ imports only NumPy and the standard library."""

import ast
import sys
from pathlib import Path

MODELS = Path(__file__).resolve().parents[2] / "models"
ALLOWED = {"numpy", "models"} | set(sys.stdlib_module_names)


def test_models_imports_only_numpy_and_the_standard_library() -> None:
    files = sorted(MODELS.glob("*.py"))
    assert files, f"no modules found in {MODELS}"
    offenders = []
    for file in files:
        for node in ast.walk(ast.parse(file.read_text(), filename=str(file))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            offenders += [f"{file.name}: {name}" for name in names if name.split(".")[0] not in ALLOWED]
    assert not offenders, f"models/ must import only numpy and the standard library: {offenders}"
