"""dvc.yaml lists exactly the package code each stage runs: a stage that misses a module it
imports would not re-run when that module changes, and one that lists a module it never
imports re-runs for nothing."""

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "crnngan"


def _imports(path: Path) -> set[str]:
    """crnngan modules ``path`` imports directly (absolute or relative), by module name."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level == 0 and not base.startswith("crnngan"):
                continue
            base = base.removeprefix("crnngan").lstrip(".")
            if base:
                names.add(base.split(".")[0])
            else:  # from crnngan import x / from . import x
                names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[1] for a in node.names if a.name.startswith("crnngan."))
    return {n for n in names if (PACKAGE / f"{n}.py").exists()}


def package_closure(script: Path) -> set[str]:
    """Every package module ``script`` loads, following imports transitively."""
    seen: set[str] = set()
    todo = list(_imports(script))
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_imports(PACKAGE / f"{name}.py"))
    return seen


def stages() -> list[tuple[str, dict]]:
    return list(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].items())


def test_import_scanner_follows_relative_and_transitive_imports(tmp_path):
    # bench.py imports ".config" relatively; training imports modules absolutely, which import models.
    assert "config" in _imports(PACKAGE / "bench.py")
    script = tmp_path / "s.py"
    script.write_text("from crnngan.training import fit\nimport numpy\n")
    assert {"training", "modules", "models", "config"} <= package_closure(script)


@pytest.mark.parametrize(("name", "stage"), stages(), ids=[name for name, _ in stages()])
def test_stage_code_deps_are_exactly_its_imports(name, stage):
    script = ROOT / stage["cmd"].split()[1]
    assert script.parent.name == "pipelines", stage["cmd"]
    listed = {Path(d).stem for d in stage["deps"] if str(d).startswith("src/crnngan/")}
    assert f"pipelines/{script.name}" in stage["deps"]
    imported = package_closure(script) - {"__init__"}
    assert listed == imported, (f"{name}: missing {sorted(imported - listed)}, "
                                f"not imported {sorted(listed - imported)}")
