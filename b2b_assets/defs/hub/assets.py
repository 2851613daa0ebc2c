"""hub/<entity>: the system of record every target reads, loaded from erp/<entity>."""


import dagster as dg
import pandas as pd

from b2b_assets import settings
from b2b_assets.defs.checks import SAMPLE_ROWS, check_result, readable_keys, table
from b2b_assets.defs.health.policy import NIGHTLY, OWNERS
from b2b_assets.defs.resources import StoreResource
from b2b_assets.model import ENTITIES, Entity
from b2b_assets.pipeline.hub_load import HubLoad, load_entity
from b2b_assets.sources import load_mapping
from b2b_assets.store import Store
from b2b_assets.store.health import held_problems


def hub_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["hub", name])


def held_sample(hub: Store, name: str) -> pd.DataFrame:
    """The entity's held records as the check shows them: full key, state, reason, attempts, first held."""
    held = held_problems(hub.engine, SAMPLE_ROWS, name).drop(columns=["target", "entity"])
    held["record_key"] = readable_keys(held["record_key"])
    return held.rename(columns={"record_key": "key", "first_seen_at": "first_seen"})


def load_metadata(load: HubLoad, hub_rows: int) -> dict:
    """What hub/<entity> reports of a load, real or dry run."""
    metadata = {
        "rows_inserted": load.inserted,
        "rows_updated": load.updated,
        "rows_unchanged": load.unchanged,
        "rows_held": load.held,
        "rows_released": load.released,
        "rows_absent_from_export": load.absent_from_export,
        "hub_rows": hub_rows,
        "dagster/row_count": hub_rows,
    }
    if load.not_reloaded:
        metadata.update(unchanged=True, unchanged_reason=load.not_reloaded)
    return metadata


def build_hub_asset(model: Entity) -> dg.AssetsDefinition:
    check = dg.AssetCheckSpec("references_resolved", asset=hub_key(model.name),
                              description="Every reference points at a record the hub has; orphans are held.")

    @dg.asset(
        key=hub_key(model.name),
        deps=[dg.AssetKey(["erp", model.name]), *(hub_key(p) for p in model.parents)],
        group_name="hub",
        kinds={"sqlalchemy", "pandas"},
        owners=list(OWNERS),
        tags={"area": "hub", "entity": model.name},
        freshness_policy=NIGHTLY,
        description=f"{model.description}\n\nUpserted by {', '.join(model.key)}; records whose required parent is "
                    "missing are held and retried on every later run.",
        check_specs=[check],
    )
    def _hub_asset(context: dg.AssetExecutionContext, store: StoreResource) -> dg.MaterializeResult:
        hub = store.get()
        not_mapped = frozenset(load_mapping(settings.mapping_path()).not_mapped)
        with hub.lock("hub", model.name, holder=context.run.run_id):
            load = load_entity(hub, settings.staging_dir(), model.name, not_mapped)
        context.log.info(f"hub/{model.name}: {load.not_reloaded + '; ' if load.not_reloaded else ''}{load.inserted} "
                         f"inserted, {load.updated} updated, {load.unchanged} unchanged, {load.held} held, "
                         f"{load.released} released")
        dangling = pd.DataFrame({"reference": pd.Series(list(load.dangling), dtype="string"),
                                 "records": pd.Series(list(load.dangling.values()), dtype="int64")})
        hub_rows = int(hub.hub.count(model.name))
        return dg.MaterializeResult(
            metadata=load_metadata(load, hub_rows),
            # Counted in records (held, plus dangling references), not in sample rows.
            check_results=[check_result("references_resolved", held_sample(hub, model.name),
                                        dg.AssetCheckSeverity.WARN,
                                        failure_count=load.held + int(sum(load.dangling.values())),
                                        held=load.held, dangling=int(sum(load.dangling.values())),
                                        dangling_references=table(dangling))],
        )

    return _hub_asset


hub_assets = [build_hub_asset(model) for model in ENTITIES]
