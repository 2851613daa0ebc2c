"""The dependency graph the references declare, and the order it implies."""

from __future__ import annotations

from graphlib import TopologicalSorter

from b2b_assets.model.catalog import ENTITIES
from b2b_assets.model.entity import Entity

ENTITY_BY_NAME: dict[str, Entity] = {e.name: e for e in ENTITIES}


def entity(name: str) -> Entity:
    try:
        return ENTITY_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown entity {name!r}; known: {', '.join(ENTITY_BY_NAME)}") from None


def load_order(names: list[str] | None = None) -> list[str]:
    """Entities sorted so that every referenced entity comes before its referrers.

    Ties keep catalogue order, so the order is stable from run to run.
    """
    wanted = list(ENTITY_BY_NAME) if names is None else names
    sorter = TopologicalSorter({n: [p for p in entity(n).parents if p in wanted] for n in wanted})
    sorter.prepare()
    position = {n: i for i, n in enumerate(ENTITY_BY_NAME)}
    ordered: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.__getitem__)
        ordered.extend(ready)
        sorter.done(*ready)
    return ordered
