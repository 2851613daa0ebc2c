"""What `b2b-sync sync` prints about checks that failed at ERROR, and its exit code for them.

A run whose steps all succeeded can still have failed at ERROR (a target
rejected records): the CLI names each such check with the records and the
target's full message, and exits FAILED_CHECKS, distinct from a failed run's 1.
"""

from __future__ import annotations

import dagster as dg

FAILED_CHECKS = 2  # the exit code of a run that succeeded with checks failed at ERROR
SHOWN_RECORDS = 3  # per check; the rest are in the check's sample and the report file


def failed_error_checks(result: dg.ExecuteInProcessResult) -> list:
    """The evaluations of the run's checks that failed at ERROR severity."""
    return [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
            and not e.event_specific_data.passed
            and e.event_specific_data.severity == dg.AssetCheckSeverity.ERROR]


def _sample_lines(evaluation) -> list[str]:
    sample = evaluation.metadata.get("sample")
    records = sample.value.records if isinstance(sample, dg.TableMetadataValue) else []
    # Held records wait for a parent and land by themselves: the ERROR is about the rejected ones.
    refused = [r.data for r in records if r.data.get("state") != "held"]
    lines = []
    for data in refused[:SHOWN_RECORDS]:
        where = " ".join(str(data[k]) for k in ("entity", "key", "source", "row_number") if data.get(k) is not None)
        state = f" ({data['state']})" if data.get("state") else ""
        lines.append(f"    {where}{state}: {data.get('reason', '')}")
    rejected = evaluation.metadata.get("records_rejected")
    more = (rejected.value if rejected else len(refused)) - len(lines)
    if more > 0:
        lines.append(f"    ... and {more} more (the check's sample and report in the UI)")
    return lines


def print_failed_error_checks(result: dg.ExecuteInProcessResult) -> int:
    """Print each check that failed at ERROR with its records and reasons; return the CLI's exit code."""
    failed = failed_error_checks(result)
    if not failed:
        return 0
    print(f"\n{len(failed)} check(s) failed at ERROR; the run's steps succeeded (exit code {FAILED_CHECKS}):")
    for evaluation in failed:
        why = f": {evaluation.description}" if evaluation.description else ""
        print(f"  {'/'.join(evaluation.asset_key.path)} {evaluation.check_name}{why}")
        for line in _sample_lines(evaluation):
            print(line)
    return FAILED_CHECKS
