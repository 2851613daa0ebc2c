"""Failed runs: an alert as soon as one fails, and a retry of only what failed after a backoff, a few times.

Two sensors, because a run-failure sensor cannot wait: Dagster moves its
cursor past each failure on the evaluation that sees it. So

- `run_failure_alert` (a `run_failure_sensor`, every job) alerts at once: an
  ERROR log line on the sensor tick and, with `B2B_ALERT_WEBHOOK_URL` set, a
  JSON POST (run id, job, failed assets, one line per error, the attempt and
  what happens next);
- `retry_failed_runs` (a cursor sensor) re-executes from failure: a run of the
  same job over only the assets the failed run did not materialize (the failed
  ones and those skipped after them), once `B2B_RETRY_BACKOFF_SECONDS` (300)
  has passed since the failure, doubling with each attempt, until the run tag
  `b2b_assets/attempt` reaches `B2B_RETRY_MAX_ATTEMPTS` (3, the first run
  included). Turned on, it looks back one day, not over the whole history. A
  retry resends nothing the target acknowledged: the ledger holds every
  confirmed batch.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import dagster as dg

from b2b_assets.defs.joor.schedules import joor_customer_sync_file_job
from b2b_assets.defs.ops.alerts import post_alert
from b2b_assets.defs.ops.jobs import full_sync, settle_open_jobs, stock_and_prices

ATTEMPT_TAG = "b2b_assets/attempt"  # 1 for a first run, n for its (n-1)th retry
RETRY_OF_TAG = "b2b_assets/retry_of"  # the failed run a retry re-executes
PARENT_RUN_TAG = "dagster/parent_run_id"  # what Dagster tags a re-execution with
RETRIED_JOBS = [full_sync, stock_and_prices, settle_open_jobs, joor_customer_sync_file_job]
MAX_ERROR_CHARS = 300
FIRST_LOOK_BACK_SECONDS = 24 * 3600


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    backoff_seconds: float

    @classmethod
    def from_environment(cls) -> "RetryPolicy":
        return cls(int(os.environ.get("B2B_RETRY_MAX_ATTEMPTS", "3")),
                   float(os.environ.get("B2B_RETRY_BACKOFF_SECONDS", "300")))

    def delay_after(self, attempt: int) -> float:
        return self.backoff_seconds * 2 ** (attempt - 1)

    def next_step(self, run: dg.DagsterRun) -> str:
        attempt = attempt_of(run)
        if run.job_name not in {job.name for job in RETRIED_JOBS}:
            return f"no automatic retry for job {run.job_name}"
        if attempt >= self.max_attempts:
            return f"no retry left (attempt {attempt} of {self.max_attempts})"
        return f"retry {attempt + 1} of {self.max_attempts} in {self.delay_after(attempt):.0f} s"


def attempt_of(run: dg.DagsterRun) -> int:
    return int(run.tags.get(ATTEMPT_TAG, "1"))


def _asset_keys(instance: dg.DagsterInstance, run_id: str, event_type: dg.DagsterEventType) -> set[dg.AssetKey]:
    records = instance.get_records_for_run(run_id, of_type=event_type).records
    return {r.event_log_entry.dagster_event.asset_key for r in records}


def unfinished_assets(instance: dg.DagsterInstance, run_id: str) -> list[dg.AssetKey]:
    """Assets the run planned and did not materialize: what re-execution from failure runs again."""
    planned = _asset_keys(instance, run_id, dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
    done = _asset_keys(instance, run_id, dg.DagsterEventType.ASSET_MATERIALIZATION)
    return sorted(planned - done, key=lambda key: key.to_user_string())


def error_lines(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """One line per failed step: its name and the innermost error's first line (the cause, not Dagster's wrapper)."""
    lines = []
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records:
        event = record.event_log_entry.dagster_event
        error = event.step_failure_data.error
        while error is not None and error.cause is not None:
            error = error.cause
        message = (error.message if error else "").strip().splitlines() or ["no error message"]
        lines.append(f"{event.step_key}: {message[0][:MAX_ERROR_CHARS]}")
    return lines


@dg.run_failure_sensor(name="run_failure_alert", default_status=dg.DefaultSensorStatus.STOPPED)
def run_failure_alert(context: dg.RunFailureSensorContext):
    """Alert on every failed run: an ERROR log line, and the optional webhook."""
    run = context.dagster_run
    failed = [key.to_user_string() for key in unfinished_assets(context.instance, run.run_id)]
    errors = error_lines(context.instance, run.run_id) or [context.failure_event.message or "the run failed"]
    next_step = RetryPolicy.from_environment().next_step(run)
    context.log.error(f"run {run.run_id} of {run.job_name} failed (attempt {attempt_of(run)}; {next_step}); "
                      f"not materialized: {', '.join(failed) or 'none'}; errors: {' | '.join(errors)}")
    post_alert({"run_id": run.run_id, "job": run.job_name, "attempt": attempt_of(run), "next": next_step,
                "failed_assets": failed, "errors": errors}, context.log)


@dataclass
class RetryCursor:
    """What `retry_failed_runs` remembers (stored as JSON): how far it has looked, and which retries wait."""

    seen_until: float  # update time of the last failed run looked at
    due: dict[str, float] = field(default_factory=dict)  # failed run id -> when its retry may start

    @classmethod
    def load(cls, text: str | None) -> "RetryCursor":
        if not text:  # a sensor just turned on retries the last day's failures, not the whole history
            return cls(seen_until=time.time() - FIRST_LOOK_BACK_SECONDS)
        stored = json.loads(text)
        return cls(float(stored["seen_until"]), dict(stored.get("due", {})))

    def dump(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def _config_for(run_config: dict, assets: list[dg.AssetKey]) -> dict:
    """The failed run's config (a dry run stays dry), keeping only the steps the retry runs."""
    steps = {"__".join(key.path) for key in assets}
    ops = {name: value for name, value in (run_config.get("ops") or {}).items() if name in steps}
    return {**run_config, "ops": ops} if ops else {k: v for k, v in run_config.items() if k != "ops"}


def _already_retried(instance: dg.DagsterInstance, run_id: str) -> bool:
    """By this sensor, or by hand: a re-execution from the UI carries Dagster's parent-run tag."""
    return any(instance.get_runs(filters=dg.RunsFilter(tags={tag: run_id}), limit=1)
               for tag in (RETRY_OF_TAG, PARENT_RUN_TAG))


@dg.sensor(jobs=RETRIED_JOBS, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.STOPPED)
def retry_failed_runs(context: dg.SensorEvaluationContext):
    """Re-execute a failed sync from failure, after a backoff, a bounded number of times."""
    policy = RetryPolicy.from_environment()
    cursor = RetryCursor.load(context.cursor)
    retried = {job.name for job in RETRIED_JOBS}
    failures = context.instance.get_run_records(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE],
                              updated_after=datetime.fromtimestamp(cursor.seen_until, tz=timezone.utc)),
        order_by="update_timestamp", ascending=True)
    for record in failures:
        run = record.dagster_run
        cursor.seen_until = max(cursor.seen_until, record.update_timestamp.timestamp())
        if run.job_name in retried and attempt_of(run) < policy.max_attempts and run.run_id not in cursor.due:
            ended = record.end_time or record.update_timestamp.timestamp()
            cursor.due[run.run_id] = ended + policy.delay_after(attempt_of(run))
    requests, now = [], time.time()
    for run_id, not_before in sorted(cursor.due.items(), key=lambda item: item[1]):
        if not_before > now:
            continue
        del cursor.due[run_id]
        run = context.instance.get_run_by_id(run_id)
        assets = unfinished_assets(context.instance, run_id) if run else []
        if not assets or _already_retried(context.instance, run_id):
            continue
        context.log.info(f"retrying run {run_id} of {run.job_name} (attempt {attempt_of(run) + 1} of "
                         f"{policy.max_attempts}): {', '.join(a.to_user_string() for a in assets)}")
        requests.append(dg.RunRequest(
            run_key=f"retry:{run_id}", job_name=run.job_name, asset_selection=assets,
            run_config=_config_for(run.run_config, assets),
            tags={ATTEMPT_TAG: str(attempt_of(run) + 1), RETRY_OF_TAG: run_id}))
    if requests:
        return dg.SensorResult(run_requests=requests, cursor=cursor.dump())
    waiting = f"{len(cursor.due)} retry(ies) waiting for their backoff" if cursor.due else "no failed run to retry"
    return dg.SensorResult(skip_reason=waiting, cursor=cursor.dump())
