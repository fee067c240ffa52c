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

MAX_VALUES = 100_000
"""Most values a recipe may hold once YAML aliases are expanded (a guard against alias bombs)."""
MAX_BYTES = 1_000_000
"""Largest recipe file or ``--set`` value: a recipe is a small text file (the shipped ones are under 3 kB)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists (the shipped recipes nest 5 levels)."""
PLAIN_TAGS = {f"tag:yaml.org,2002:{name}" for name in ("map", "seq", "str", "int", "float", "bool", "null")}
"""The only tags a recipe's values may carry: every other tag (``!!python/object``, a custom
``!thing``) is an error, on scalars, lists and mappings alike."""


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
    if len(text) > MAX_BYTES:
        raise RecipeError([Problem(Location(file, 1), (), f"{len(text)} characters, more than a recipe may hold "
                                                          f"({MAX_BYTES}); a recipe is a small text file")])
    loader = None
    try:
        loader = StrictLoader(text)  # rejects control characters already
        node = loader.get_single_node()
    except yaml.reader.ReaderError as exc:  # a control character: the reader knows only its offset
        line = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise RecipeError([Problem(Location(file, line), (), f"not valid YAML: unacceptable character "
                                                             f"#x{code:04x}: {exc.reason}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise RecipeError([Problem(Location(file, line), (), f"not valid YAML: {_yaml_reason(exc)}")]) from None
    except RecursionError:
        raise RecipeError([Problem(Location(file, 1), (), f"nested deeper than a recipe may be ({MAX_DEPTH} levels of "
                                                          "mappings and lists)")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    provenance: Provenance = {}
    problems: list[Problem] = []
    if node is None:
        return {}, {(): Location(file, 1)}
    value = _construct(loader, node, (), file, provenance, problems, frozenset())
    provenance.setdefault((), Location(file, 1))
    if problems:
        raise RecipeError(problems)
    return value, provenance


def load_yaml_file(path: Path) -> tuple[Any, Provenance]:
    try:
        if path.exists() and not path.is_file():
            raise RecipeError([Problem(Location(str(path)), (), "not a regular file (a folder, a device or a pipe); "
                                                                "name a recipe file")])
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise RecipeError([Problem(Location(str(path)), (), "file not found")]) from None
    except OSError as exc:
        raise RecipeError([Problem(Location(str(path)), (), f"cannot read the file: {exc}")]) from None
    if len(raw) > MAX_BYTES:
        raise RecipeError([Problem(Location(str(path)), (), f"larger than a recipe may be ({MAX_BYTES} bytes); a "
                                                            "recipe is a small text file")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise RecipeError([Problem(Location(str(path), line), (), f"cannot read the file: not UTF-8 text "
                                   f"({exc.reason} at byte {exc.start}); save it as UTF-8")]) from None
    return load_yaml_text(text, str(path))


def _yaml_reason(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    return " ".join(str(part) for part in (context, problem) if part) or str(exc)


def _construct(loader: StrictLoader, node: yaml.Node, path: KeyPath, file: str | None,
               provenance: Provenance, problems: list[Problem], enclosing: frozenset[int]) -> Any:
    """Build the value of ``node`` at ``path``; ``enclosing`` holds the ids of the collections
    around it, so an alias to one of them (a recursive anchor) is a problem, not a hang."""
    where = Location(file, node.start_mark.line + 1)
    provenance.setdefault(path, where)
    if len(path) > MAX_DEPTH:
        raise RecipeError([Problem(where, path[:1], f"nested deeper than a recipe may be ({MAX_DEPTH} levels of "
                                                    "mappings and lists)")])
    if node.tag not in PLAIN_TAGS:
        problems.append(Problem(where, path, f"the YAML tag {node.tag.replace('tag:yaml.org,2002:', '!!')} is not "
                                             "allowed in a recipe (tags could name code to run); remove it"))
        return None
    if len(provenance) > MAX_VALUES:
        raise RecipeError([Problem(where, path[:1], f"more than {MAX_VALUES} values (each use of a YAML alias counts "
                                                "again); a recipe holds a few hundred: write it out without nested "
                                                "aliases or huge lists")])
    if id(node) in enclosing:
        problems.append(Problem(where, path, "a YAML alias refers to a mapping or list that contains it "
                                             "(a recursive anchor); write the value out instead"))
        return None
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        enclosing = enclosing | {id(node)}
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                problems.append(Problem(Location(file, key_node.start_mark.line + 1), path,
                                        "YAML merge keys (<<) are not supported; use 'extends:'"))
                continue
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(Problem(Location(file, line), path, "keys must be strings, got a "
                                        f"{'mapping' if isinstance(key_node, yaml.MappingNode) else 'list'}"))
                continue
            try:
                key = loader.construct_object(key_node, deep=True)
            except Exception as exc:  # a bad explicit tag (!!int x): ValueError, KeyError, ...
                problems.append(Problem(Location(file, line), path, f"bad key: {_construct_reason(exc, key_node)}"))
                continue
            if not isinstance(key, str):
                hint = f"; quote it: '{key_node.value}'" if key is not None else ""
                problems.append(Problem(Location(file, line), path, f"keys must be strings, got {key!r}{hint}"))
                continue
            if key in out:
                problems.append(Problem(Location(file, line), path + (key,),
                                        f"duplicate key (first set on line {first_line[key]}); keep one"))
                continue
            first_line[key] = line
            provenance[path + (key,)] = Location(file, line)
            out[key] = _construct(loader, value_node, path + (key,), file, provenance, problems, enclosing)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, item, path + (i,), file, provenance, problems, enclosing)
                for i, item in enumerate(node.value)]
    try:
        return loader.construct_object(node, deep=True)
    except Exception as exc:  # a bad explicit tag (!!int x): ValueError, KeyError, ...
        problems.append(Problem(where, path, f"bad value: {_construct_reason(exc, node)}"))
        return None


def _construct_reason(exc: Exception, node: yaml.Node) -> str:
    if isinstance(exc, yaml.YAMLError):
        return _yaml_reason(exc)
    return f"cannot read {node.value!r} as {node.tag.replace('tag:yaml.org,2002:', '!!')}"
