"""The canonical model: every entity defined once, with its key, fields and references."""

from b2b_assets.model.catalog import ENTITIES
from b2b_assets.model.entity import Entity, OnMissing, Reference
from b2b_assets.model.fields import LIST_SEPARATOR, Field, Kind
from b2b_assets.model.graph import ENTITY_BY_NAME, entity, load_order

__all__ = [
    "ENTITIES", "ENTITY_BY_NAME", "LIST_SEPARATOR", "Entity", "Field", "Kind", "OnMissing", "Reference",
    "entity", "load_order",
]
