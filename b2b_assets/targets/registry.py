"""Every outbound target the project syncs. Adding a target is one line here (plus its package and sandbox).

definitions.py, the asset factory, the CLI summary and the conformance suite
all iterate TARGETS; nothing else names a target.
"""

from __future__ import annotations

from b2b_assets.targets.core.contract import Target
from b2b_assets.targets.joor.file_target import TARGET as JOOR_FILE
from b2b_assets.targets.joor.target import TARGET as JOOR
from b2b_assets.targets.norce.target import TARGET as NORCE
from b2b_assets.targets.squizz.target import TARGET as SQUIZZ

TARGETS: tuple[Target, ...] = (SQUIZZ, JOOR, JOOR_FILE, NORCE)


def target(name: str) -> Target:
    for t in TARGETS:
        if t.name == name:
            return t
    raise KeyError(f"no target {name!r}; registered: {', '.join(t.name for t in TARGETS)}")
