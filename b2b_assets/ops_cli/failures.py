"""A failed run, as the CLI tells it: one line per failed step (its asset and the error's own message)."""

from __future__ import annotations

import dagster as dg

# Dagster wraps every error raised in an asset in this one; the asset's own error is its cause.
WRAPPER = "DagsterExecutionStepExecutionError"


def _one_line(error) -> str:  # noqa: ANN001 - dagster's SerializableErrorInfo
    """The error's class and the first line of its message ("SquizzFatalError: SQUIZZ rejected ...")."""
    while error.cls_name == WRAPPER and error.cause is not None:
        error = error.cause
    text = error.message.strip().splitlines()[0] if error.message.strip() else ""
    qualified, _, rest = text.partition(": ")
    if qualified.rsplit(".", 1)[-1] == error.cls_name:  # format_exception_only's "module.Class: message"
        text = rest
    return f"{error.cls_name}: {text}" if error.cls_name else text


def _asset_of(result: dg.ExecuteInProcessResult, event: dg.DagsterEvent) -> str:
    try:
        key = result.job_def.asset_layer.get_asset_key_for_node(event.node_handle)
    except Exception:  # a plain op, or a step Dagster cannot map back: its step key says enough
        return event.step_key or "?"
    return key.to_user_string()


def failed_steps(result: dg.ExecuteInProcessResult) -> list[tuple[str, str]]:
    """(asset key, one-line error) for every step that failed, in the order they failed."""
    return [(_asset_of(result, event), _one_line(event.event_specific_data.error))
            for event in result.all_events if event.event_type_value == "STEP_FAILURE"]


def not_run(result: dg.ExecuteInProcessResult) -> list[str]:
    """Assets of the run that neither materialized nor failed: skipped because something they need failed."""
    done = {e.asset_key for e in result.all_events if e.event_type in (
        dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.ASSET_OBSERVATION)}
    failed = {name for name, _ in failed_steps(result)}
    selected = result.job_def.asset_layer.selected_asset_keys
    return sorted(k.to_user_string() for k in selected if k not in done and k.to_user_string() not in failed)


def failure_lines(result: dg.ExecuteInProcessResult) -> list[str]:
    """What the CLI prints for a failed run: the failed assets, what was not run, then where the details are."""
    failed = failed_steps(result)
    if not failed:
        return []
    width = max(len(name) for name, _ in failed)
    lines = ["", f"Failed ({len(failed)} asset{'s' if len(failed) != 1 else ''}):"]
    lines += [f"  {name:<{width}}  {message}" for name, message in failed]
    skipped = not_run(result)
    if skipped:
        lines.append(f"Not run, because an asset they depend on failed ({len(skipped)}): {', '.join(skipped)}")
    lines.append(f"Details, stack traces included: run {result.run_id} in the UI (`make dev`, Runs).")
    return lines
