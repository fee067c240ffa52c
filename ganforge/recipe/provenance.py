"""Where each value of a composed recipe came from, shown to the user: the resolved recipe
with every value set by an extended file or a ``--set`` marked with its origin, and the data
settings a recipe inherits while changing others (the classic way to train the wrong way
round: a new photo->map set extending a recipe read ``direction: BtoA``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from ganforge.recipe.errors import KeyPath, Location
from ganforge.recipe.yaml import Provenance


def origin(provenance: Provenance, path: KeyPath, main: Path | None) -> str | None:
    """``file:line`` (or ``--set key=value``) for a value not set by the main recipe file; None
    for the main file's own values and for defaults."""
    where = provenance.get(path)
    if where is None and path and path[-1] == "type":  # a bare component name sets its block's type
        where = provenance.get(path[:-1])
    if where is None or (where.file is None and not where.override):
        return None
    if where.override:
        return f"--set {where.override}"
    if main is not None and _same_file(where.file, main):
        return None
    return f"{_shown(where.file)}:{where.line}" if where.line else _shown(where.file)


def _same_file(file: str, main: Path) -> bool:
    try:
        return Path(file).resolve() == main.resolve()
    except OSError:
        return False


def _shown(file: str) -> str:
    relative = os.path.relpath(file)
    return file if relative.startswith("..") else relative


def annotated_yaml(data: dict, provenance: Provenance, main: Path | None) -> str:
    """``data`` as block YAML, each value from another file or an override followed by
    ``# file:line`` (or ``# --set ...``). The text loads back to ``data``."""
    lines: list[str] = []
    _mapping(data, (), 0, lines, provenance, main)
    return "\n".join(lines) + "\n"


def _scalar(value: Any) -> str:
    """One value in YAML flow style: ``0.5``, ``'1e-4'``, ``null``, ``[1, 2]``, ``{}``."""
    text = yaml.safe_dump([value], default_flow_style=True, width=10**9, sort_keys=False).strip()
    return text[1:-1]


def _is_flat(value: Any) -> bool:
    return not isinstance(value, (dict, list)) or not value or (
        isinstance(value, list) and all(not isinstance(v, (dict, list)) or not v for v in value))


def _line(prefix: str, value_text: str, note: str | None) -> str:
    return f"{prefix}{value_text}" + (f"  # {note}" if note else "")


def _mapping(node: dict, path: KeyPath, indent: int, lines: list[str], provenance: Provenance,
             main: Path | None) -> None:
    pad = " " * indent
    for key, value in node.items():
        here = path + (key,)
        name = _scalar(key)
        if _is_flat(value):
            lines.append(_line(f"{pad}{name}: ", _scalar(value), origin(provenance, here, main)))
        elif isinstance(value, dict):
            lines.append(f"{pad}{name}:")
            _mapping(value, here, indent + 2, lines, provenance, main)
        else:
            lines.append(f"{pad}{name}:")
            _sequence(value, here, indent + 2, lines, provenance, main)


def _sequence(items: list, path: KeyPath, indent: int, lines: list[str], provenance: Provenance,
              main: Path | None) -> None:
    pad = " " * indent
    for index, value in enumerate(items):
        here = path + (index,)
        if _is_flat(value):
            lines.append(_line(f"{pad}- ", _scalar(value), origin(provenance, here, main)))
        elif isinstance(value, dict):
            inner: list[str] = []
            _mapping(value, here, indent + 2, inner, provenance, main)
            inner[0] = f"{pad}- " + inner[0][indent + 2:]
            lines.extend(inner)
        else:
            lines.append(f"{pad}-")
            _sequence(value, here, indent + 2, lines, provenance, main)


def inherited_data(provenance: Provenance, main: Path | None) -> list[str]:
    """When the main file (or an override) changes some ``data`` settings and others come from an
    extended file, one line per inherited setting: ``data.direction (pix2pix-facades.yaml:9)``."""
    data_keys = {path: where for path, where in provenance.items()
                 if path[:1] == ("data",) and len(path) > 1 and path[-1] != "type"}
    own = [p for p, where in data_keys.items() if origin(provenance, p, main) is None or where.override]
    inherited = [p for p, where in data_keys.items()
                 if where.file and not where.override and origin(provenance, p, main) is not None]
    if not own or not inherited:
        return []
    return [f"{'.'.join(map(str, p))} ({origin(provenance, p, main)})" for p in sorted(inherited, key=str)]


__all__ = ["Location", "annotated_yaml", "inherited_data", "origin"]
