"""The `plan` job: what the next sync would do, worked out by the sync's own code, with nothing written.

`b2b-sync sync --dry-run` (`make plan`) runs it, and so does the UI (Jobs > plan). It has one op per
asset of the sync, in the assets' own dependency order, and each runs its asset's pipeline step
against a `PlannedStore` (pipeline/dry_run.py): the export is staged under
data/state/dry_runs/<run>/, the hub load counts what it would insert and update against the real
hub without writing it, and each target plans against the real ledger and the hub as the run would
leave it. An op reports an `AssetObservation` of its asset, never a materialization (the asset did
not change), and the last op shows the plan as a table. Every run of the job is tagged
`b2b_assets/dry_run=true`.

Dagster cannot turn the sync's assets into a dry run in place: an asset op that yields no
materialization makes Dagster skip every asset after it, hence a job of ops of its own.
"""

from collections.abc import Iterator, Sequence
from pathlib import Path

import dagster as dg

from b2b_assets import settings
from b2b_assets.defs.erp.assets import erp_key, stage_metadata
from b2b_assets.defs.hub.assets import hub_key, load_metadata
from b2b_assets.defs.targets.factory import OutboundConfig, object_key, outbound_options, outcome_metadata
from b2b_assets.model import entity
from b2b_assets.pipeline.dry_run import PlannedStore, dry_run_directory
from b2b_assets.pipeline.hub_load import load_entity
from b2b_assets.pipeline.inbound import stage_entity
from b2b_assets.pipeline.outbound import planned_keys_path, sync_object
from b2b_assets.sources import load_mapping
from b2b_assets.targets.core.contract import Target, TargetObject
from b2b_assets.targets.registry import TARGETS

DRY_RUN_TAG = "b2b_assets/dry_run"
OP_PREFIX = "plan__"  # op names are unique per code location: erp__taxcodes is the asset's op
# invalid: fails the target's own limits, so the real run records it rejected without sending it.
PLAN_COLUMNS = ("asset", "new", "changed", "unchanged", "held", "invalid", "would_deactivate", "cost", "keys")


def planned_store(context: dg.OpExecutionContext) -> PlannedStore:
    return PlannedStore(context.resources.store.get(), dry_run_directory(settings.state_dir(), context.run.run_id))


def _observed(key: dg.AssetKey, metadata: dict) -> dg.AssetObservation:
    return dg.AssetObservation(asset_key=key, metadata={**metadata, "dry_run": True})


def _erp_step(name: str):
    def step(context: dg.OpExecutionContext) -> Iterator[dg.AssetObservation]:
        planned = planned_store(context)
        with context.resources.partner_api.client() as client:
            result = stage_entity(name, load_mapping(settings.mapping_path()), planned, planned.staging_dir,
                                  settings.reports_dir(), context.run.run_id, client)
        for warning in result.warnings:
            context.log.warning(warning)
        if result.skipped:
            context.log.info(result.skipped)
        yield _observed(erp_key(name), {"not_mapped": True} if result.not_mapped else stage_metadata(result))
    return step, {"store", "partner_api"}


def _hub_step(name: str):
    def step(context: dg.OpExecutionContext) -> Iterator[dg.AssetObservation]:
        planned = planned_store(context)
        not_mapped = frozenset(load_mapping(settings.mapping_path()).not_mapped)
        load = load_entity(planned, planned.staging_dir, name, not_mapped)
        context.log.info(f"hub/{name} (dry run, nothing written): would insert {load.inserted}, update "
                         f"{load.updated}; {load.unchanged} unchanged, {load.held} held, {load.released} released")
        yield _observed(hub_key(name), load_metadata(load, planned.hub.count(name)))
    return step, {"store"}


def _object_step(target: Target, obj: TargetObject):
    def step(context: dg.OpExecutionContext, config: OutboundConfig) -> Iterator[dg.AssetObservation]:
        planned = planned_store(context)
        report = sync_object(planned, target, obj, None, outbound_options(config, planned.keys_dir))
        c = report.counts
        context.log.info(f"{target.name}/{obj.name} (dry run, nothing sent): would send {c['would_send']} "
                         f"({c['new']} new, {c['changed']} changed) for {c['cost']} {target.cost_unit}; "
                         f"{c['unchanged']} unchanged, {c['held']} held")
        if report.refusal:
            context.log.warning(f"dry run: the real run would refuse this: {report.refusal}")
        metadata, _ = outcome_metadata(planned, target, obj, report, context.run.run_id)
        metadata["planned_keys"] = dg.MetadataValue.path(str(planned_keys_path(planned.keys_dir, target, obj.name)))
        yield _observed(object_key(target, obj.name), metadata)
    return step, {"store"}


def _step_for(key: dg.AssetKey):
    """The dry-run step of the asset `key`: its area names the pipeline step."""
    area, name = key.path[0], key.path[-1]
    if area == "erp":
        return _erp_step(entity(name).name)
    if area == "hub":
        return _hub_step(entity(name).name)
    for target in TARGETS:
        for obj in target.objects:
            if object_key(target, obj.name) == key:
                return _object_step(target, obj)
    raise ValueError(f"{key.to_user_string()}: no dry-run step for this asset")


def _op(key: dg.AssetKey, upstream: Sequence[dg.AssetKey]) -> dg.OpDefinition:
    compute, resources = _step_for(key)
    ins = {"after": dg.In(dg.Nothing)} if upstream else {}
    return dg.op(name=OP_PREFIX + key.to_python_identifier(), ins=ins, out=dg.Out(dg.Nothing), required_resource_keys=resources,
                 description=f"Dry run of {key.to_user_string()}: what it would do, nothing written.")(compute)


def plan_rows(observations: Sequence[dg.AssetObservation]) -> list[dict]:
    """One row per target object the run observed: what it would send, keep, hold, refuse and deactivate, at what
    cost, and the file listing the keys it would send."""
    objects = {object_key(t, o.name) for t in TARGETS for o in t.objects}
    rows = []
    for observation in observations:
        if observation.asset_key not in objects:
            continue
        m = {k: v.value for k, v in observation.metadata.items()}
        rows.append({"asset": observation.asset_key.to_user_string(), "new": m["records_new"],
                     "changed": m["records_changed"], "unchanged": m["records_unchanged"], "held": m["records_held"],
                     "invalid": m["records_invalid"], "would_deactivate": m["records_would_deactivate"],
                     "cost": f"{m['cost_would_spend']} {m['cost_unit']}", "keys": m.get("planned_keys", "")})
    return rows


def render_plan(rows: list[dict]) -> str:
    """The plan as a text table; key lists by file name (they share one folder, named with the table)."""
    shown = [{**row, "keys": Path(row["keys"]).name if row["keys"] else ""} for row in rows]
    widths = {c: max([len(c), *(len(str(r[c])) for r in shown)]) for c in PLAN_COLUMNS}
    lines = ["  ".join(f"{c:<{widths[c]}}" for c in PLAN_COLUMNS)]
    lines += ["  ".join(f"{str(r[c]):<{widths[c]}}" for c in PLAN_COLUMNS) for r in shown]
    return "\n".join(line.rstrip() for line in lines)


@dg.op(ins={"after": dg.In(dg.Nothing)}, out=dg.Out(list),
       description="The plan of this dry run as a table: per target object, new, changed, unchanged, held, "
                   "invalid, would deactivate, cost, and the file with the record keys it would send.")
def plan_summary(context: dg.OpExecutionContext) -> Iterator[dg.Output]:
    records = context.instance.get_records_for_run(
        context.run.run_id, of_type=dg.DagsterEventType.ASSET_OBSERVATION, limit=100_000).records
    rows = plan_rows([r.event_log_entry.dagster_event.asset_observation_data.asset_observation for r in records])
    directory = dry_run_directory(settings.state_dir(), context.run.run_id)
    context.log.info(f"Plan (dry run, nothing written; record keys under {directory / 'keys'}):\n{render_plan(rows)}")
    schema = dg.TableSchema(columns=[dg.TableColumn(c, "int" if c not in ("asset", "cost", "keys") else "string")
                                     for c in PLAN_COLUMNS])
    yield dg.Output(rows, metadata={
        "plan": dg.MetadataValue.table([dg.TableRecord(row) for row in rows], schema=schema),
        "planned_keys_dir": dg.MetadataValue.path(str(directory / "keys")),
    })


def build_plan_job(assets: Sequence[dg.AssetsDefinition]) -> dg.JobDefinition:
    """The dry-run twin of the full sync over `assets`: one op per asset, with the assets' dependencies."""
    upstream = {key: sorted(deps) for a in assets for key, deps in a.asset_deps.items()}
    ops = {key: _op(key, [u for u in deps if u in upstream]) for key, deps in upstream.items()}
    dependencies: dict = {}
    for key, deps in upstream.items():
        inputs = [dg.DependencyDefinition(ops[u].name) for u in deps if u in ops]
        if inputs:
            dependencies[ops[key].name] = {"after": dg.MultiDependencyDefinition(inputs)}
    dependencies[plan_summary.name] = {"after": dg.MultiDependencyDefinition(
        [dg.DependencyDefinition(op.name) for op in ops.values()])}
    graph = dg.GraphDefinition(name="plan", node_defs=[*ops.values(), plan_summary], dependencies=dependencies,
                               description=__doc__.splitlines()[0])
    return graph.to_job(tags={DRY_RUN_TAG: "true"})

