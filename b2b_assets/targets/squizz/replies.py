"""Reading SQUIZZ replies, whichever of the two shapes they come in.

The seed documents a flat reply (`result`, `result_code`, `result_message`);
the vendor's libraries also parse an ESD-shaped one (`resultStatus`,
`message`, `configs.result_code`). Failures arrive as HTTP 200, so success is
decided by the body, never by the status line alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from b2b_assets.targets.squizz.errors import SUCCESS


@dataclass(frozen=True)
class Reply:
    ok: bool
    code: str
    message: str
    shape: str  # "flat" or "esd"
    api_version: str | None = None
    body: dict[str, Any] = field(default_factory=dict, repr=False)

    def value(self, name: str) -> Any:
        """A reply attribute from the top level or, in the ESD shape, from `configs`."""
        if name in self.body:
            return self.body[name]
        configs = self.body.get("configs")
        return configs.get(name) if isinstance(configs, dict) else None


def parse_reply(body: Any) -> Reply | None:
    """The reply's outcome, or None if `body` is neither shape."""
    if not isinstance(body, dict):
        return None
    if "result" in body or "result_code" in body:
        code = str(body.get("result_code") or "")
        ok = str(body.get("result", "")).upper() == "SUCCESS" and code in ("", SUCCESS)
        return Reply(ok, code or (SUCCESS if ok else "SERVER_ERROR_UNKNOWN"), str(body.get("result_message") or ""),
                     "flat", _str_or_none(body.get("api_version")), body)
    if "resultStatus" in body:
        configs = body.get("configs") if isinstance(body.get("configs"), dict) else {}
        code = str(configs.get("result_code") or "")
        ok = str(body.get("resultStatus")).strip() == "1" and code in ("", SUCCESS)
        return Reply(ok, code or (SUCCESS if ok else "SERVER_ERROR_UNKNOWN"), str(body.get("message") or ""),
                     "esd", _str_or_none(configs.get("api_version")), body)
    return None


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
