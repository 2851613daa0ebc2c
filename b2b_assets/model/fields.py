"""Field definitions: the one description of a canonical column.

A field says what a valid value looks like (kind, length, enumeration, range)
so that validation (pandera), the hub tables (SQLAlchemy) and the targets'
mappings all read the same facts instead of keeping their own copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    TEXT = "text"
    DECIMAL = "decimal"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    ENUM = "enum"
    EMAIL = "email"
    COUNTRY = "country"  # normalised to ISO 3166-1 alpha-2
    CURRENCY = "currency"  # ISO 4217 alphabetic code
    TIMESTAMP = "timestamp"  # ISO-8601, stored as UTC
    LIST = "list"  # several keys of another entity, stored as a "|"-joined string


LIST_SEPARATOR = "|"


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind = Kind.TEXT
    required: bool = False
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    exclusive_minimum: bool = False
    maximum: float | None = None
    default: str | None = None
    description: str = ""

    @property
    def is_numeric(self) -> bool:
        return self.kind in (Kind.DECIMAL, Kind.INTEGER)


def text(name: str, max_length: int | None = None, *, required: bool = False, description: str = "", default: str | None = None) -> Field:
    return Field(name, Kind.TEXT, required=required, max_length=max_length, description=description, default=default)


def decimal(name: str, *, required: bool = False, minimum: float | None = None, exclusive_minimum: bool = False,
            maximum: float | None = None, description: str = "") -> Field:
    return Field(name, Kind.DECIMAL, required=required, minimum=minimum, exclusive_minimum=exclusive_minimum,
                 maximum=maximum, description=description)


def boolean(name: str, *, default: str | None = None, description: str = "") -> Field:
    return Field(name, Kind.BOOLEAN, default=default, description=description)


def enum(name: str, choices: tuple[str, ...], *, default: str | None = None, required: bool = False, description: str = "") -> Field:
    return Field(name, Kind.ENUM, choices=choices, default=default, required=required,
                 max_length=max(len(c) for c in choices), description=description)


def email(name: str, *, required: bool = False, description: str = "") -> Field:
    return Field(name, Kind.EMAIL, required=required, max_length=255, description=description)


def country(name: str, *, required: bool = False, description: str = "") -> Field:
    return Field(name, Kind.COUNTRY, required=required, max_length=2, description=description)


def key_list(name: str, description: str = "") -> Field:
    return Field(name, Kind.LIST, description=description)
