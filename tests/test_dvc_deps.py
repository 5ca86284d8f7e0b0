"""dvc.yaml lists exactly the package code each stage runs: a stage that misses a module it
imports would not re-run when that module changes, and one that lists a module it never
imports re-runs for nothing."""

import ast
from pathlib import Path

import pytest
import yaml
from stage_scripts import REPO as ROOT

SRC = ROOT / "src"


def module_file(name: str) -> Path | None:
    """The file of package module ``name`` ("crnngan.data.midi_io"), or None for a package
    (its __init__ holds only a docstring) or anything outside the package."""
    path = SRC.joinpath(*name.split("."))
    return path.with_suffix(".py") if path.with_suffix(".py").exists() else None


def _imports(path: Path) -> set[str]:
    """crnngan modules ``path`` imports directly, as dotted names."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("crnngan"):
            names.add(node.module)
            # from crnngan.data import midi_io: midi_io is a module of the package crnngan.data
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("crnngan."))
    return {n for n in names if module_file(n)}


def data_files(modules: set[str]) -> set[str]:
    """Package data files (not Python) that ``modules`` read: those whose name their source names."""
    found = set()
    for data in (SRC / "crnngan").rglob("*"):
        if data.is_file() and data.suffix not in (".py", ".pyc"):
            if any(data.name in module_file(m).read_text() for m in modules):
                found.add(data.relative_to(SRC.parent).as_posix())
    return found


def package_closure(script: Path) -> set[str]:
    """Every package module ``script`` loads, following imports transitively."""
    seen: set[str] = set()
    todo = list(_imports(script))
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_imports(module_file(name)))
    return seen


def test_package_inits_hold_no_code():
    # The scanner leaves packages' __init__ files out of the stages' deps: each is a docstring.
    for init in (SRC / "crnngan").rglob("__init__.py"):
        body = ast.parse(init.read_text()).body
        assert all(isinstance(n, ast.Expr) or (isinstance(n, ast.Assign)) for n in body), init


def test_no_relative_imports():
    # The scanner reads absolute imports only; the package uses no others.
    for source in (SRC / "crnngan").rglob("*.py"):
        assert not any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(ast.parse(source.read_text()))), (
            source
        )


def stages() -> list[tuple[str, dict]]:
    return list(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].items())


def test_import_scanner_follows_module_and_transitive_imports(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("from crnngan.training.fit import fit\nfrom crnngan.data import midi_io\nimport numpy\n")
    assert {
        "crnngan.training.fit",
        "crnngan.training.gan",
        "crnngan.models.networks",
        "crnngan.config",
        "crnngan.data.midi_io",
    } <= package_closure(script)
    assert "crnngan.data" not in package_closure(script)


@pytest.mark.parametrize(("name", "stage"), stages(), ids=[name for name, _ in stages()])
def test_stage_code_deps_are_exactly_its_imports(name, stage):
    script = ROOT / stage["cmd"].split()[1]
    assert script.parent.name == "pipelines", stage["cmd"]
    listed = {
        ".".join(Path(d).relative_to("src").with_suffix("").parts)
        for d in stage["deps"]
        if str(d).startswith("src/crnngan/") and str(d).endswith(".py")
    }
    assert f"pipelines/{script.name}" in stage["deps"]
    imported = package_closure(script)
    listed_data = {d for d in stage["deps"] if str(d).startswith("src/crnngan/") and not str(d).endswith(".py")}
    assert listed_data == data_files(imported), f"{name}: package data deps"
    assert listed == imported, f"{name}: missing {sorted(imported - listed)}, not imported {sorted(listed - imported)}"
