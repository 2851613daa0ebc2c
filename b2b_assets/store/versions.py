"""Hub change versions: per entity, a number that moves only when a load really changed the entity.

`HubTables` bumps it in the same transaction as the change: rows inserted or updated by `upsert`,
presence flipped by `mark_presence`, and stamps each row it writes with the version the write makes
(the row's `_version`). A load that writes nothing (the same export again) leaves it
where it was, so an outbound object can tell from a few numbers that the rows it planned from last
time are the rows the hub holds now (pipeline/outbound_marks.py). An entity never loaded is at 0.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Engine, select

from b2b_assets.store.sql import upsert_insert, utcnow
from b2b_assets.store.tables import hub_versions


def current(connection: Connection, entity_name: str) -> int:
    """The entity's version as the caller's transaction sees it: read after the writer's lock on the hub table,
    so `current + 1` is what the write's `bump` makes it, and the version its rows are stamped with."""
    found = connection.execute(select(hub_versions.c.version).where(hub_versions.c.entity == entity_name)).scalar()
    return int(found or 0)


def bump(connection: Connection, entity_name: str) -> None:
    """Move the entity's version on by one, inside the caller's write transaction (the change's own)."""
    insert = upsert_insert(connection, hub_versions).values(entity=entity_name, version=1, changed_at=utcnow())
    connection.execute(insert.on_conflict_do_update(
        index_elements=[hub_versions.c.entity],
        set_={"version": hub_versions.c.version + 1, "changed_at": insert.excluded.changed_at}))


class HubVersions:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def of(self, entity_names: Iterable[str]) -> dict[str, int]:
        """Each entity's version now (0 for one no load has changed yet)."""
        names = list(entity_names)
        statement = select(hub_versions.c.entity, hub_versions.c.version).where(hub_versions.c.entity.in_(names))
        with self._engine.connect() as connection:
            found = {entity: int(version) for entity, version in connection.execute(statement)}
        return {name: found.get(name, 0) for name in names}
