"""``make tune-apply``: the best trial's values written into ``params.yaml``, comments kept."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from crnngan.config import ConfigError, parse_params


def set_values(text: str, section: tuple[str, ...], values: Mapping[str, Any]) -> str:
    """``text`` with the ``values`` of the mapping at ``section`` replaced (a key missing from it
    is appended), by a YAML round trip (ruamel.yaml, installed with DVC): comments, their
    columns, key order and every other line are kept."""
    from ruamel.yaml import YAML  # deferred: only tune-apply needs it

    yml = YAML()  # round-trip mode
    yml.preserve_quotes = True  # "" stays "", not ''
    yml.width = 4096  # never fold a long line
    doc = yml.load(text)
    node = doc
    for name in section:
        if not isinstance(node, Mapping) or name not in node:
            raise ConfigError(f"no mapping {'.'.join(section)} to edit")
        node = node[name]
    if not isinstance(node, Mapping):
        raise ConfigError(f"{'.'.join(section)} is not a mapping")
    node.update(values)
    out = io.StringIO()
    yml.dump(doc, out)
    return out.getvalue()


def apply_best(best_yaml: str | Path, params_yaml: str | Path) -> dict[str, Any]:
    """Write ``best_yaml``'s ``models.<model>`` values into ``params_yaml`` in place.

    Only those lines change; the result must pass :func:`~crnngan.config.parse_params` and read
    back to the new values, otherwise nothing is written. Returns the applied values.
    """
    best = yaml.safe_load(Path(best_yaml).read_text())
    models = best.get("models") if isinstance(best, dict) else None
    if not isinstance(models, dict) or len(models) != 1 or not isinstance(next(iter(models.values())), dict):
        raise ConfigError(f"{best_yaml}: expected exactly 'models: {{<model>: {{key: value, ...}}}}'")
    ((model, values),) = models.items()
    path = Path(params_yaml)
    text = set_values(path.read_text(), ("models", model), values)
    cfg = parse_params(yaml.safe_load(text)).models[model]
    wrong = [k for k, v in values.items() if getattr(cfg, k) != v]
    if wrong:
        raise ConfigError(f"editing {path} did not give the new value of models.{model}.{wrong[0]}")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return values
