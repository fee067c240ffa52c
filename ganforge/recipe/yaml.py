"""A strict YAML loader that remembers where every value came from.

Differences from plain ``yaml.safe_load``: duplicate keys are an error, ``1e-4`` is a float
and only ``true``/``false`` are booleans (YAML 1.2 rules), and every key path gets a
:class:`Location` (file and line).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ganforge.recipe.errors import KeyPath, Location, Problem, RecipeError

Provenance = dict[KeyPath, Location]


class StrictLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 floats and booleans."""


StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in {"tag:yaml.org,2002:float", "tag:yaml.org,2002:bool"}]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml_text(text: str, file: str | None = None) -> tuple[Any, Provenance]:
    """Parse YAML text into plain Python values plus a key path -> location map."""
    loader = None
    try:
        loader = StrictLoader(text)  # rejects control characters already
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise RecipeError([Problem(Location(file, line), (), f"not valid YAML: {_yaml_reason(exc)}")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    provenance: Provenance = {}
    problems: list[Problem] = []
    if node is None:
        return {}, {(): Location(file, 1)}
    value = _construct(loader, node, (), file, provenance, problems)
    provenance.setdefault((), Location(file, 1))
    if problems:
        raise RecipeError(problems)
    return value, provenance


def load_yaml_file(path: Path) -> tuple[Any, Provenance]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError([Problem(Location(str(path)), (), "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError([Problem(Location(str(path)), (), f"cannot read the file: {exc}")]) from None
    return load_yaml_text(text, str(path))


def _yaml_reason(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    return " ".join(str(part) for part in (context, problem) if part) or str(exc)


def _construct(loader: StrictLoader, node: yaml.Node, path: KeyPath, file: str | None,
               provenance: Provenance, problems: list[Problem]) -> Any:
    provenance.setdefault(path, Location(file, node.start_mark.line + 1))
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                problems.append(Problem(Location(file, key_node.start_mark.line + 1), path,
                                        "YAML merge keys (<<) are not supported; use 'extends:'"))
                continue
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, (str, int)):
                problems.append(Problem(Location(file, line), path, f"keys must be strings, got {key!r}"))
                continue
            if key in out:
                problems.append(Problem(Location(file, line), path + (key,),
                                        f"duplicate key (first set on line {first_line[key]}); keep one"))
                continue
            first_line[key] = line
            provenance[path + (key,)] = Location(file, line)
            out[key] = _construct(loader, value_node, path + (key,), file, provenance, problems)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, item, path + (i,), file, provenance, problems)
                for i, item in enumerate(node.value)]
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        problems.append(Problem(Location(file, node.start_mark.line + 1), path, f"bad value: {_yaml_reason(exc)}"))
        return None
