"""`b2b-sync ping`: each target's cheapest call that needs its credentials, so wrong ones show before a run.

A sync contacts a target only when something needs sending: with nothing
changed, wrong credentials go unnoticed until the first change. This asks every
registered target that declares a `check_credentials` call (SQUIZZ: a session,
Norce: a token, JOOR: a read, the Customer Sync file: an FTP login). None of
them sends or costs a record.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from b2b_assets.targets.core.contract import Target


@dataclass(frozen=True)
class Answer:
    target: str
    ok: bool | None  # None: the target has no such call
    message: str


def ping(targets: tuple[Target, ...]) -> list[Answer]:
    answers = []
    for target in targets:
        if target.check_credentials is None:
            answers.append(Answer(target.title, None, "no credential check declared; not contacted"))
            continue
        try:
            # build_resources resolves the resource's dg.EnvVar fields as a run would.
            with dg.build_resources({target.resource_key: target.default_resource()}) as resources:
                answers.append(Answer(target.title, True, target.check_credentials(
                    getattr(resources, target.resource_key))))
        except Exception as refused:  # the target's own error says what it refused (never the secret)
            first = (str(refused).strip().splitlines() or [""])[0]
            answers.append(Answer(target.title, False, f"{type(refused).__name__}: {first}"))
    return answers


def render(answers: list[Answer]) -> list[str]:
    width = max((len(a.target) for a in answers), default=0)
    word = {True: "ok", False: "FAILED", None: "skipped"}
    return [f"{a.target:<{width}}  {word[a.ok]:<7}  {a.message}" for a in answers]
