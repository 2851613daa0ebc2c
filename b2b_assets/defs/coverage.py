"""What the asset graph says about coverage: hub entities that no target reads (loaded, but going nowhere yet)."""

from __future__ import annotations

import dagster as dg

INBOUND_GROUPS = ("erp", "hub")


def hub_entities_no_target_reads(defs: dg.Definitions) -> list[str]:
    """Hub entities with no target asset downstream, e.g. customer locations until a target takes them."""
    graph = defs.resolve_asset_graph()
    unread = []
    for key in sorted(graph.get_all_asset_keys()):
        if key.path[0] != "hub":
            continue
        if not any(child.path[0] not in INBOUND_GROUPS for child in graph.get(key).child_keys):
            unread.append(key.path[-1])
    return unread
