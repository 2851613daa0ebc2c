"""The console the CLI runs Dagster with: one line per log message, no stack traces.

Dagster's own console logger prints each failed step with its full stack trace
(about 60 lines each). On the command line that buries the one line that
matters, so this logger prints every message's first line only and leaves
failed steps out: the CLI lists them once, after the run (`failures.py`). The
full messages, stack traces included, stay in the run's event log, shown by
the UI (`make dev`) from $DAGSTER_HOME.
"""

from __future__ import annotations

import logging
import sys

import dagster as dg

SUMMARISED_AFTER_THE_RUN = {dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE}
# Dagster logs each step it skips after a failure as an ERROR of its own; the summary counts them in one line.
SKIPPED_STEP = "Dependencies for step "


class OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", None) or {}
        message = str(meta.get("orig_message") or record.getMessage()).strip().splitlines()
        where = meta.get("step_key") or meta.get("job_name") or "dagster"
        stamp = self.formatTime(record, "%H:%M:%S")
        return f"{stamp} {record.levelname} {where}: {message[0] if message else ''}"


def _not_summarised(record: logging.LogRecord) -> bool:
    event = getattr(record, "dagster_event", None)
    if event is not None:
        return event.event_type not in SUMMARISED_AFTER_THE_RUN
    meta = getattr(record, "dagster_meta", None) or {}
    return not str(meta.get("orig_message", "")).startswith(SKIPPED_STEP)


@dg.logger(
    config_schema={"log_level": dg.Field(str, is_required=False, default_value="WARNING"),
                   "name": dg.Field(str, is_required=False, default_value="b2b-sync")},
    description="One line per message, failed steps left for the CLI's summary, no stack traces.",
)
def one_line_console(init_context: dg.InitLoggerContext) -> logging.Logger:
    config = init_context.logger_config
    logger = logging.Logger(config["name"], level=config["log_level"].upper())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLine())
    handler.addFilter(_not_summarised)
    logger.addHandler(handler)
    return logger
