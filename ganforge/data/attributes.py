"""Per-image attribute tables for image folders: a CSV (``file,attr,...``) or CelebA's
``list_attr_celeba.txt`` (a count line, a line of names, then ``file v1 v2 ...``)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from ganforge.errors import DataError


@dataclass(frozen=True)
class AttributeTable:
    """Attribute values by file name: ``names`` in column order, ``rows[file]`` their values.
    A column of only -1/1 or 0/1 is binary and read as 0/1; other whole numbers stay integers
    (categories); anything else is a float."""

    names: tuple[str, ...]
    rows: dict[str, tuple[float | int, ...]]
    binary: tuple[bool, ...]

    def values(self, relative: str) -> tuple[float | int, ...] | None:
        """The row of a file given by its path relative to the folder (or its base name)."""
        return self.rows.get(relative) or self.rows.get(relative.rsplit("/", 1)[-1])


def read_attribute_table(path: Path) -> AttributeTable:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"attributes file {path} does not exist; set data.attributes to a CSV with a header "
                        "`file,<attribute>,...` (or CelebA's list_attr_celeba.txt)")
    text = path.read_text(encoding="utf-8-sig")
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        raise DataError(f"attributes file {path} has no rows; it needs a header line and one line per image")
    if "," in lines[0]:
        table = list(csv.reader(io.StringIO("\n".join(lines))))
        names, body = [n.strip() for n in table[0][1:]], [[c.strip() for c in row] for row in table[1:]]
    else:  # CelebA: optional count line, then the names, then whitespace-separated rows
        start = 1 if lines[0].strip().isdigit() else 0
        names, body = lines[start].split(), [line.split() for line in lines[start + 1:]]
    if not names:
        raise DataError(f"attributes file {path}: the header names no attributes after the file column")
    reserved = sorted(set(names) & {"x", "y", "source", "mask"})
    if reserved:
        raise DataError(f"attributes file {path}: {', '.join(reserved)} name(s) the item's own entries; rename the column")
    raw: dict[str, list[float]] = {}
    for number, row in enumerate(body, start=2):
        if len(row) != len(names) + 1:
            raise DataError(f"attributes file {path}, row {number} ({row[0] if row else 'empty'}): "
                            f"{len(row) - 1} values for {len(names)} attributes; every row needs one value per name")
        try:
            raw[row[0]] = [float(v) for v in row[1:]]
        except ValueError:
            raise DataError(f"attributes file {path}, row {number} ({row[0]}): values must be numbers") from None
    columns = list(zip(*raw.values()))
    binary = tuple(set(c) <= {-1.0, 1.0} or set(c) <= {0.0, 1.0} for c in columns)
    whole = tuple(all(v.is_integer() for v in c) for c in columns)

    def convert(row: list[float]) -> tuple[float | int, ...]:
        return tuple(int(v > 0) if b else int(v) if w else v for v, b, w in zip(row, binary, whole))

    return AttributeTable(tuple(names), {file: convert(row) for file, row in raw.items()}, binary)
