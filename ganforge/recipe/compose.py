"""Recipe composition: ``extends:`` inheritance and ``--set`` overrides, keeping provenance.

Merge rules: mappings merge key by key; lists and scalars replace; a component block whose
``type`` changes replaces the inherited block wholesale (its old parameters do not leak).
A named slot set to null (``losses.perceptual: null`` in a file that extends another, or
``--set losses.perceptual=null``) removes the inherited slot of that name.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from ganforge.recipe.errors import KeyPath, Location, Problem, RecipeError, format_path
from ganforge.recipe.yaml import Provenance, load_yaml_file, load_yaml_text

REMOVABLE: tuple[KeyPath, ...] = (("models",), ("losses",), ("optim",))
"""Mappings of named slots, whose entries a null removes."""


def compose_recipe(path: str | Path, overrides: list[str] = ()) -> tuple[dict, Provenance]:
    """Load ``path`` with everything it extends, then apply ``--set`` overrides in order."""
    data, provenance = _load_with_extends(Path(path), stack=())
    for expression in overrides:
        data, provenance = apply_override(data, provenance, expression)
    _nothing_left_to_remove(data, provenance)
    return data, provenance


def _nothing_left_to_remove(data: dict, provenance: Provenance) -> None:
    """A null slot that is still there removed nothing: a misspelt name, or a slot never set."""
    problems = []
    for mapping in REMOVABLE:
        slots = data.get(mapping[0])
        if not isinstance(slots, dict):
            continue
        names = [name for name, value in slots.items() if value is not None]
        for name, value in slots.items():
            if value is None:
                hint = f"; it has {', '.join(map(repr, names))}" if names else "; it is empty"
                problems.append(Problem(provenance.get(mapping + (name,), Location()), mapping + (name,),
                                        f"null removes an inherited {mapping[0]} entry, but there is no {name!r} to "
                                        f"remove{hint}"))
    if problems:
        raise RecipeError(problems)


def _load_with_extends(path: Path, stack: tuple[Path, ...]) -> tuple[dict, Provenance]:
    resolved = path.resolve()
    data, provenance = load_yaml_file(path)
    if not isinstance(data, dict):
        raise RecipeError([Problem(provenance[()], (), "a recipe must be a mapping of keys to values")])
    parents = data.pop("extends", None)
    if parents is None:
        return data, provenance
    if isinstance(parents, str):
        parents = [parents]
    if not (isinstance(parents, list) and all(isinstance(p, str) for p in parents)):
        raise RecipeError([Problem(provenance[("extends",)], ("extends",),
                                   "extends must be a file name or a list of file names")])
    merged: dict = {}
    merged_provenance: Provenance = {}
    for index, parent in enumerate(parents):
        parent_path = path.parent / parent
        where = provenance.get(("extends", index), provenance[("extends",)])
        problem = _parent_problem(parent_path, stack + (resolved,))
        if problem:
            raise RecipeError([Problem(where, ("extends",), problem)])
        parent_data, parent_provenance = _load_with_extends(parent_path, stack + (resolved,))
        merged, merged_provenance = merge(merged, merged_provenance, parent_data, parent_provenance)
    own = {k: v for k, v in provenance.items() if k[:1] != ("extends",)}
    return merge(merged, merged_provenance, data, own)


def _parent_problem(parent: Path, stack: tuple[Path, ...]) -> str | None:
    """What stops ``parent`` from being extended (missing, a folder, a cycle), if anything."""
    try:
        if parent.is_dir():
            return f"extended recipe {str(parent)!r} is a folder; name a recipe file"
        if not parent.is_file():
            return (f"extended recipe {str(parent)!r} not found "
                    "(paths are relative to the recipe that extends them)")
        resolved = parent.resolve()
    except (OSError, ValueError) as exc:  # a name the OS refuses (too long, a NUL byte)
        return f"extended recipe {str(parent)!r} cannot be read: {getattr(exc, 'strerror', None) or exc}"
    if resolved in stack:
        return "extends cycle: " + " -> ".join(str(p) for p in stack + (resolved,))
    return None


def merge(base: Any, base_provenance: Provenance, over: Any, over_provenance: Provenance,
          path: KeyPath = ()) -> tuple[Any, Provenance]:
    """Merge ``over`` into ``base`` (both at ``path``); returns the value and its provenance."""
    if isinstance(base, dict) and isinstance(over, str) and "type" in base:
        over = {"type": over}  # a bare component name is shorthand for {type: name}
        over_provenance = {**over_provenance, path + ("type",): over_provenance.get(path, Location())}
    if not (isinstance(base, dict) and isinstance(over, dict)) or _type_changed(base, over):
        return over, {**_without(base_provenance, path), **_within(over_provenance, path)}
    out = dict(base)
    provenance = dict(base_provenance)
    if path in over_provenance:
        provenance[path] = over_provenance[path]
    for key, value in over.items():
        if value is None and path in REMOVABLE and base.get(key) is not None:  # remove the inherited slot
            del out[key]
            provenance = _without(provenance, path + (key,))
        elif key in base:
            out[key], provenance = merge(base[key], provenance, value, over_provenance, path + (key,))
        else:
            out[key] = value
            provenance.update(_within(over_provenance, path + (key,)))
    return out, provenance


def _type_changed(base: dict, over: dict) -> bool:
    return "type" in base and "type" in over and base["type"] != over["type"]


def _within(provenance: Provenance, path: KeyPath) -> Provenance:
    return {k: v for k, v in provenance.items() if k[: len(path)] == path}


def _without(provenance: Provenance, path: KeyPath) -> Provenance:
    return {k: v for k, v in provenance.items() if k[: len(path)] != path or not path}


def apply_override(data: dict, provenance: Provenance, expression: str) -> tuple[dict, Provenance]:
    """Apply one ``key.path=value`` override; the value is parsed as YAML (``1e-4`` is a float)."""
    where = Location(override=expression)
    key, sep, raw = expression.partition("=")
    if not sep or not key.strip():
        raise RecipeError([Problem(where, (), "an override must look like key.path=value, "
                                              "for example train.steps=500")])
    parts = key.strip().split(".")
    if not all(parts):
        raise RecipeError([Problem(where, (), f"the key path {key.strip()!r} has an empty part; "
                                              "separate keys with single dots, as in train.steps=500")])
    path: KeyPath = tuple(int(p) if p.isdigit() else p for p in parts)
    if path[0] == "extends":
        raise RecipeError([Problem(where, ("extends",), "extends can only be set in a recipe file, "
                                                        "not with --set")])
    try:
        value, _ = load_yaml_text(raw, file=None) if raw.strip() else (None, {})
    except RecipeError as exc:  # point at the override and its key, not at an unnamed file
        raise RecipeError([Problem(where, path + problem.path, problem.message) for problem in exc.problems]) from None
    if any(isinstance(part, int) for part in path):
        return _set_in_place(data, provenance, path, value, where)
    over: Any = value
    for part in reversed(path):
        over = {part: over}
    # Mappings the override creates or puts in place of a plain value are set by it, too.
    node, replaced_from = data, len(path)
    for depth, part in enumerate(path[:-1]):
        if not (isinstance(node, dict) and isinstance(node.get(part), dict)):
            replaced_from = depth + 1
            break
        node = node[part]
    created = {path[:depth]: where for depth in range(replaced_from, len(path))}
    return merge(data, provenance, over, {**created, **{path + k: where for k in _paths(value)}})


def _paths(value: Any, prefix: KeyPath = ()) -> list[KeyPath]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, prefix + (index,))
    return out


def _set_in_place(data: dict, provenance: Provenance, path: KeyPath, value: Any,
                  where: Location) -> tuple[dict, Provenance]:
    """Set a value below a list index (``optim.generator.betas.0=0.9``): edit a copy in place."""
    data = copy.deepcopy(data)
    node: Any = data
    for depth, part in enumerate(path[:-1]):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            raise RecipeError([Problem(where, path[: depth + 1], "no such key or list index to override")]) from None
    if not isinstance(node, (dict, list)):
        raise RecipeError([Problem(where, path, f"nothing to override: {format_path(path[:-1])} is the plain "
                                                f"value {node!r}, without keys or list items")])
    if isinstance(node, dict) and isinstance(path[-1], int):
        raise RecipeError([Problem(where, path, f"no such list index to override: "
                                                f"{format_path(path[:-1])} is a mapping, not a list")])
    try:
        node[path[-1]] = value
    except (IndexError, TypeError):
        raise RecipeError([Problem(where, path, "no such list index to override")]) from None
    provenance = {**_without(provenance, path), **{path + k: where for k in _paths(value)}}
    return data, provenance
