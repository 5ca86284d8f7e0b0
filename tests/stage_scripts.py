"""Import a stage script of pipelines/ (not a package) as a module, for tests."""

import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]  # the repository root, for tests in any folder below
PIPELINES = REPO / "pipelines"


def load_stage(name: str) -> ModuleType:
    """pipelines/<name>.py as a module named ``<name>_stage``."""
    spec = importlib.util.spec_from_file_location(f"{name}_stage", PIPELINES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
