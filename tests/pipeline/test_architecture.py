"""House rules on the layout: imports run from the entry points down to ``models/``, never up, and
the config schema loads none of the heavy libraries (docs/ARCHITECTURE.md draws the layers)."""

import ast
import subprocess
import sys
from pathlib import Path

PIPELINE = Path(__file__).resolve().parents[2] / "pipeline"

# Higher imports lower, never the reverse; the two services on level 1 do not import each other.
LAYERS = {
    "pipeline.sweep": 6,
    "pipeline.train": 6,
    "pipeline.rerun": 6,
    "pipeline.compare": 6,
    "pipeline.serve": 6,
    "pipeline.launch": 6,
    "pipeline.preflight": 5,
    "pipeline.search": 4,
    "pipeline.training": 3,
    "pipeline.run_record": 2,
    "pipeline.console": 2,
    "pipeline.setup": 1,
    "pipeline.records": 1,
    "pipeline.errors": 0,
    "pipeline.record_names": 0,
    "pipeline.interrupts": 0,
    "models": -1,
}


def layer(module: str) -> tuple[str, int]:
    """The layer a module belongs to: its longest prefix in ``LAYERS``."""
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return prefix, LAYERS[prefix]
    raise AssertionError(f"{module} is in no layer of this test: add it to LAYERS (and to docs/ARCHITECTURE.md)")


def imports(file: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(file.read_text(), filename=str(file))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # ``from pipeline.search import study`` imports the module pipeline.search.study
            found += [
                f"{node.module}.{alias.name}"
                if node.module in ("pipeline", "pipeline.search", "pipeline.setup", "pipeline.records")
                else node.module
                for alias in node.names
            ]
    return [name for name in found if name.split(".")[0] in ("pipeline", "models")]


def module_name(file: Path) -> str:
    parts = file.relative_to(PIPELINE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_imports_run_from_entry_points_down_to_models() -> None:
    files = sorted(PIPELINE.rglob("*.py"))
    assert len(files) > 20, f"expected the pipeline's modules under {PIPELINE}"
    upward = []
    for file in files:
        source = module_name(file)
        if source == "pipeline":
            continue
        group, rank = layer(source)
        for target in imports(file):
            target_group, target_rank = layer(target)
            if target_group != group and target_rank >= rank:
                upward.append(f"{source} ({group}, {rank}) imports {target} ({target_group}, {target_rank})")
    assert not upward, "imports that run sideways or upwards:\n" + "\n".join(upward)


def test_the_config_schema_imports_without_the_heavy_libraries() -> None:
    heavy = ("pandas", "sklearn", "h5py", "mlflow", "optuna")
    code = (
        "import sys; import pipeline.setup.config, pipeline.setup.vocabulary, pipeline.setup.rules; "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "", f"importing the config schema loaded {loaded}"


def test_the_data_module_loads_its_libraries_only_when_data_are_loaded() -> None:
    code = "import sys; import pipeline.setup.data; print('sklearn' in sys.modules or 'pandas' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "False"


def test_the_summary_reaches_the_drawing_child_without_importing_matplotlib() -> None:
    """The summary's process never imports drawing code: its drawing child draws every figure (the import costs
    half a second, docs/BENCHMARKS.md, round 3, seventh and eighth passes; a real sweep: ``tests/e2e/test_report``)."""
    code = (
        "import sys; from pipeline.search import summary, drawing, drawer, drawing_child, report_input; "
        "print('matplotlib' in sys.modules)"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "False", "the summary's way to the drawing child imports matplotlib"


def third_party_importers(library: str) -> set[str]:
    """The pipeline modules that import ``library`` (at the top or inside a function)."""
    found = set()
    for file in PIPELINE.rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(), filename=str(file))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            if any(name == library or name.startswith(library + ".") for name in names):
                found.add(module_name(file))
    return found


def test_mlflow_is_reached_only_through_the_records_and_optuna_only_through_the_search() -> None:
    mlflow = third_party_importers("mlflow")
    assert mlflow and all(module.startswith("pipeline.records.") for module in mlflow), sorted(mlflow)
    optuna = third_party_importers("optuna")
    assert optuna and all(m.startswith("pipeline.search.") or m == "pipeline.sweep" for m in optuna), sorted(optuna)


def test_no_function_of_the_project_is_longer_than_sixty_lines() -> None:
    """A function that long does several jobs; split it (docstring included in the count)."""
    long = []
    for file in sorted([*PIPELINE.rglob("*.py"), *(PIPELINE.parent / "models").rglob("*.py")]):
        for node in ast.walk(ast.parse(file.read_text(), filename=str(file))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno >= 60:
                long.append(f"{file.relative_to(PIPELINE.parent)}:{node.lineno} {node.name}")
    assert not long, "functions over 60 lines:\n" + "\n".join(long)
