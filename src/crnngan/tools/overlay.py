"""Params overlays (e.g. configs/paper.yaml) as `dvc exp run -S` arguments.

`python -m crnngan.tools.overlay configs/paper.yaml` prints one `-S key=value` pair per leaf,
after checking that the overlaid params.yaml is valid, so a typo fails before DVC runs.
"""

from __future__ import annotations

import argparse
import copy
import json
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from crnngan.config import Params, parse_params


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists are leaves."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def merged(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge: ``overlay``'s leaves replace ``base``'s."""
    out = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        out[key] = merged(out.get(key, {}), value) if isinstance(value, Mapping) else value
    return out


def overlaid(overlay: Mapping[str, Any], params_path: str | Path = "params.yaml") -> Params:
    """The params file with ``overlay`` merged in, validated (a bad key raises ConfigError)."""
    return parse_params(merged(yaml.safe_load(Path(params_path).read_text()), overlay))


def dvc_set_args(overlay_path: str | Path, params_path: str | Path = "params.yaml") -> list[str]:
    """Validate params + overlay and return the ``-S key=value`` arguments for ``dvc exp run``."""
    overlay = yaml.safe_load(Path(overlay_path).read_text()) or {}
    overlaid(overlay, params_path)
    args: list[str] = []
    for key, value in flatten(overlay).items():
        args += ["-S", f"{key}={json.dumps(value)}"]
    return args


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("overlay")
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    print(shlex.join(dvc_set_args(args.overlay, args.params)))


if __name__ == "__main__":
    main()
