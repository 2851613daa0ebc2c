"""Entity and reference definitions.

An entity is defined once: its columns, its stable key and its references to
other entities. The references drive both the Dagster dependency graph and the
referential checks (DESIGN.md principle 2), so there is no second hand-kept
list of "what must load first".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from b2b_assets.model.fields import Field


class OnMissing(StrEnum):
    """What the hub does with a record whose referenced record does not exist."""

    HOLD = "hold"  # keep the record out of the hub, retry on every later run (seed 000 semantics)
    WARN = "warn"  # load it; the dangling reference is reported, targets hold it until the parent exists


@dataclass(frozen=True)
class Reference:
    """Columns of this entity that point at the key of another entity.

    `columns` line up with the target entity's key columns. A reference whose
    columns are all empty is simply absent (optional references).
    """

    columns: tuple[str, ...]
    entity: str
    on_missing: OnMissing = OnMissing.HOLD
    many: bool = False  # a LIST column holding several keys of `entity`

    @property
    def name(self) -> str:
        return f"{'+'.join(self.columns)}->{self.entity}"


@dataclass(frozen=True)
class Entity:
    name: str
    description: str
    key: tuple[str, ...]
    fields: tuple[Field, ...]
    references: tuple[Reference, ...] = ()
    # Fields that must not all be empty together (e.g. a customer price names an account or a price group).
    one_of: tuple[tuple[str, ...], ...] = field(default=())

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.name}: duplicate field names")
        for column in self.key:
            if column not in names:
                raise ValueError(f"{self.name}: key column {column!r} is not a field")
        for ref in self.references:
            for column in ref.columns:
                if column not in names:
                    raise ValueError(f"{self.name}: reference column {column!r} is not a field")

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")

    @property
    def parents(self) -> list[str]:
        """Entities this one references, excluding itself, in declaration order."""
        seen: list[str] = []
        for ref in self.references:
            if ref.entity != self.name and ref.entity not in seen:
                seen.append(ref.entity)
        return seen
