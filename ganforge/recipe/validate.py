"""Validate a composed recipe and turn every pydantic error into a located, fixable problem."""

from __future__ import annotations

import difflib
import typing
from pathlib import Path
from typing import Any, Union

from pydantic import BaseModel, ValidationError

from ganforge.params import RELATIVE_TO_RECIPE
from ganforge.recipe.errors import KeyPath, Location, Problem, RecipeError
from ganforge.recipe.model import NET_KINDS, RecipeBase, recipe_model
from ganforge.recipe.yaml import Provenance
from ganforge.registry import Registry


def validate_recipe(data: dict, provenance: Provenance, registry: Registry) -> RecipeBase:
    """Validate ``data`` against the registry's recipe model; raise :class:`RecipeError`
    listing every problem, each with file, line and key path."""
    model = recipe_model(registry)
    booleans = booleans_for_numbers(data, provenance, model)
    if booleans:
        raise RecipeError(booleans)
    try:
        recipe = model.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(explain(exc, data, provenance, model, registry)) from None
    problems = cross_check(recipe, provenance, registry)
    if problems:
        raise RecipeError(problems)
    resolved = resolve_paths(recipe, data, provenance)
    return model.model_validate(resolved) if resolved is not data else recipe


def locate(provenance: Provenance, path: KeyPath) -> Location:
    """The location of the longest prefix of ``path`` that has one."""
    for end in range(len(path), -1, -1):
        if path[:end] in provenance:
            return provenance[path[:end]]
    return Location()


def _did_you_mean(word: Any, options: list[str]) -> str:
    close = difflib.get_close_matches(str(word), options, n=3, cutoff=0.5)
    if close:
        return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    return f"; expected one of: {', '.join(options)}" if options and len(options) <= 12 else ""


def _value_at(data: Any, path: KeyPath) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def clean_location(loc: tuple, data: Any) -> KeyPath:
    """Drop the union tags pydantic puts into error locations (``models.g.dcgan.z_dim``)."""
    out: list = []
    node = data
    for part in loc:
        if isinstance(part, str) and (
            (isinstance(node, dict) and node.get("type") == part and part not in node)
            or (isinstance(node, str) and node == part)
            or part.startswith("function-")
        ):
            continue
        out.append(part)
        node = _value_at(node, (part,))
    return tuple(out)


def _strip(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    if typing.get_origin(tp) in (Union, getattr(__import__("types"), "UnionType", Union)):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return _strip(args[0])
    return tp


def _union_members(tp: Any) -> list[type[BaseModel]]:
    tp = _strip(tp)
    if typing.get_origin(tp) in (Union, getattr(__import__("types"), "UnionType", Union)):
        return [a for a in typing.get_args(tp) if isinstance(a, type) and issubclass(a, BaseModel)]
    return []


def _tag(member: type[BaseModel]) -> str | None:
    field = member.model_fields.get("type")
    args = typing.get_args(field.annotation) if field else ()
    return args[0] if args else None


def type_at(model: type[BaseModel], path: KeyPath, data: Any) -> Any:
    """The annotation at ``path`` in ``model``, choosing union members by the data's ``type``."""
    tp: Any = model
    node = data
    for part in path:
        tp = _choose(_strip(tp), node)
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return None
            tp = field.annotation
        elif origin is dict:
            tp = typing.get_args(tp)[1]
        elif origin in (list, tuple):
            tp = typing.get_args(tp)[0]
        else:
            return None
        node = _value_at(node, (part,))
    return _choose(_strip(tp), node)


def _choose(tp: Any, node: Any) -> Any:
    members = _union_members(tp)
    if not members:
        return tp
    name = node if isinstance(node, str) else node.get("type") if isinstance(node, dict) else None
    return next((m for m in members if _tag(m) == name), tp)


def explain(exc: ValidationError, data: dict, provenance: Provenance, model: type[BaseModel],
            registry: Registry) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple] = set()
    for error in exc.errors(include_url=False):
        path = clean_location(error["loc"], data)
        kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
        where = locate(provenance, path)
        if kind == "extra_forbidden":
            parent = type_at(model, path[:-1], data)
            fields = list(parent.model_fields) if isinstance(parent, type) and issubclass(parent, BaseModel) else []
            message = f"unknown key {path[-1]!r}" + _did_you_mean(path[-1], fields)
        elif kind == "missing" and path and isinstance(path[-1], int):  # a tuple one item short
            items = _value_at(data, path[:-1])
            size = len(typing.get_args(_strip(type_at(model, path[:-1], data))))
            path = path[:-1]
            message = f"needs {size} items, got {len(items) if isinstance(items, list) else items!r}"
        elif kind == "missing":
            message = "missing required key"
            where = locate(provenance, path[:-1])
        elif kind == "union_tag_invalid":
            expected = [t.strip().strip("'") for t in str(ctx.get("expected_tags", "")).split(",")]
            node = _value_at(data, path)
            tag = node.get("type") if isinstance(node, dict) else node
            if isinstance(tag, str):
                message = f"unknown type {tag!r}" + _did_you_mean(tag, expected)
            else:
                message = f"'type' must be a component name, got {tag!r}; expected one of: {', '.join(expected)}"
            message += "".join(f"\n    plugin {p.name!r} ({p.distribution}) failed to load and may provide it: "
                               f"{p.error}" for p in registry.plugins.failed)
            where = locate(provenance, path + ("type",))
        elif kind == "union_tag_not_found":
            names = [_tag(m) for m in _union_members(type_at(model, path, None) or object)]
            message = "needs a 'type' naming the component" + (f": one of {', '.join(map(str, names))}" if names else "")
        elif kind == "literal_error":
            expected = [t.strip().strip("'") for t in str(ctx.get("expected", "")).replace(" or ", ",").split(",")]
            close = difflib.get_close_matches(str(value), expected, n=1, cutoff=0.6)
            message = f"{value!r} is not allowed; expected one of: {', '.join(expected)}"
            message += f" (did you mean {close[0]!r}?)" if close else ""
        else:
            message = error["msg"]
            if not isinstance(value, (dict, list)) and value is not None and kind != "value_error":
                message += f" (got {value!r})"
            elif value is None and where.override:
                message += " (the value is empty: quote values that start with '#' or contain ': ')"
        key = (path, message)
        if key not in seen:
            seen.add(key)
            problems.append(Problem(where, path, message))
    return sorted(problems, key=lambda p: (p.location.file or "~", p.location.line or 0))


def booleans_for_numbers(data: Any, provenance: Provenance, model: type[BaseModel]) -> list[Problem]:
    """``true``/``false`` where a number belongs: pydantic would take them as 1 and 0."""
    problems: list[Problem] = []

    def walk(node: Any, path: KeyPath) -> None:
        if isinstance(node, bool):
            if path and _strip(type_at(model, path, data)) in (int, float):
                problems.append(Problem(locate(provenance, path), path, f"expected a number, got {str(node).lower()}"))
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(value, path + (key,))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, path + (index,))

    walk(data, ())
    return problems


def cross_check(recipe: Any, provenance: Provenance, registry: Registry) -> list[Problem]:
    """Checks that span sections: optimizers name models; the objective finds its models and losses."""
    problems: list[Problem] = []
    models = list(recipe.models)
    for name in recipe.optim:
        if name not in recipe.models:
            problems.append(Problem(locate(provenance, ("optim", name)), ("optim", name),
                                    f"no model named {name!r}" + _did_you_mean(name, models)))
    kinds = {name: next(k for k in NET_KINDS if slot.type in registry.names(k)) for name, slot in recipe.models.items()}
    objective = recipe.objective
    for name, kind in objective.required_models().items():
        if name not in recipe.models:
            problems.append(Problem(locate(provenance, ("models",)), ("models",),
                                    f"objective {objective.type!r} needs {'an' if kind[0] in 'aeiou' else 'a'} {kind} named {name!r}; "
                                    f"models has: {', '.join(models)}" + _did_you_mean(name, models)))
        elif kinds[name] != kind:
            problems.append(Problem(locate(provenance, ("models", name, "type")), ("models", name, "type"),
                                    f"objective {objective.type!r} needs {name!r} to be a {kind}, but "
                                    f"{recipe.models[name].type!r} is a {kinds[name]}"))
    defaults = type(objective).loss_examples()
    for name in objective.required_losses():
        if name not in recipe.losses:
            example = defaults.get(name, {}).get("type", "non-saturating")
            problems.append(Problem(locate(provenance, ("losses",)), ("losses",),
                                    f"objective {objective.type!r} needs a loss named {name!r} "
                                    f"(for example `{name}: {example}`)"))
    return problems


def _is_recipe_path(annotation: Any) -> bool:
    if typing.get_origin(annotation) is typing.Annotated:
        return RELATIVE_TO_RECIPE in typing.get_args(annotation)[1:]
    return any(_is_recipe_path(arg) for arg in typing.get_args(annotation))


def _recipe_paths(value: Any, path: KeyPath = ()) -> list[KeyPath]:
    """Key paths of every set ``RecipePath`` field in a validated recipe."""
    found: list[KeyPath] = []
    if isinstance(value, BaseModel):
        for name, field in type(value).model_fields.items():
            item = getattr(value, name)
            marked = RELATIVE_TO_RECIPE in field.metadata or _is_recipe_path(field.annotation)
            if item is not None and marked and name in value.model_fields_set:
                found.append(path + (name,))
            else:
                found += _recipe_paths(item, path + (name,))
    elif isinstance(value, dict):
        for key, item in value.items():
            found += _recipe_paths(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _recipe_paths(item, path + (index,))
    return found


def resolve_paths(recipe: BaseModel, data: dict, provenance: Provenance) -> dict:
    """Make relative recipe paths absolute, relative to the file that set each one."""
    import copy

    paths = _recipe_paths(recipe)
    if not paths:
        return data
    data = copy.deepcopy(data)
    for path in paths:
        parent = _value_at(data, path[:-1])
        if not isinstance(parent, dict) or path[-1] not in parent:
            continue
        value = Path(str(parent[path[-1]])).expanduser()
        source = locate(provenance, path).file
        base = Path(source).parent if source else Path.cwd()
        parent[path[-1]] = str(value if value.is_absolute() else (base / value).resolve())
    return data
