"""`.env.example` names every environment variable the project reads, with no real secret in it."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NAME = r"((?:B2B|SQUIZZ|JOOR|NORCE|PARTNER|DAGSTER)_[A-Z0-9_]+)"  # the project's own prefixes
IN_CODE = re.compile(rf"""["']{NAME}["']""")  # a quoted name: os.environ, dg.EnvVar, a *_VARIABLE constant
IN_SETTINGS = re.compile(rf"env:\s*{NAME}")  # dagster*.yaml


def read_variables() -> set[str]:
    code = {n for f in (REPO / "b2b_assets").rglob("*.py") for n in IN_CODE.findall(f.read_text(encoding="utf-8"))}
    return code | {n for f in REPO.glob("dagster*.yaml") for n in IN_SETTINGS.findall(f.read_text(encoding="utf-8"))}


def test_every_variable_the_project_reads_is_in_env_example():
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (REPO / ".env.example").read_text(), re.MULTILINE))
    found = read_variables()
    assert {"B2B_HUB_URL", "DAGSTER_PG_URL", "SQUIZZ_API_PASSWORD"} <= found  # the scan sees code and yaml
    assert found - listed == set()


def test_env_example_holds_placeholders_only():
    values = re.findall(r"^#?\s*[A-Z][A-Z0-9_]*(?:PASSWORD|SECRET|TOKEN|KEY)=(.*)$",
                        (REPO / ".env.example").read_text(), re.MULTILINE)
    assert values and all(v in ("", "change-me") or v.startswith("sandbox-") for v in values), values
