"""Transport faults a sandbox can inject, switchable at runtime and reproducible with a seed.

A fault replaces the sandbox's answer before the request is processed, so a faulted
request never changes stored data. Kinds:

- `rate_limit`: HTTP 429 with a `Retry-After` header (whole seconds).
- `server_error`: HTTP 500/502/503 (or whichever `server_error_statuses` lists).
- `timeout`: the server waits `timeout_seconds`, then answers 504; a client with a
  shorter timeout gives up first.
- `drop`: the server closes the connection without answering.
- `cut`: the server sends a 200 with its headers and half the body it announced, then
  closes the connection (the reply is lost mid-response: IncompleteRead on the client).
- `slow`: the server does the work, then answers after `slow_seconds`. Unlike the others
  it changes stored data: a client that gives up or dies meanwhile was served without
  knowing it (the crash window recovery must survive). Only routes a sandbox answers
  through `serve` can be slow (SQUIZZ's import_esd).

Each applies with its own probability per request. `sequence` scripts the next requests
instead (e.g. `["429", "503", "ok"]`): while it lasts it wins over the probabilities, which
lets a retry test say exactly which attempt fails. Fault bodies are plain text, as
gateways send them; a client must not expect JSON from them.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from b2b_assets.sandbox.wire import AdminRequestError, Response, text_response

# Order matters: each request draws once per kind, in this order, so a seed replays the
# same decisions whatever the probabilities are.
PROBABILISTIC_KINDS = ("drop", "timeout", "rate_limit", "server_error", "cut")
SCRIPTED_WORDS = ("ok", "drop", "timeout", "429", "cut", "slow")
# What a cut reply starts to say before the connection goes: JSON, as the vendors answer.
CUT_BODY = b'{"status": "ok", "note": "this reply is cut off before it ends", "padding": "' + b"x" * 200 + b'"}'



@dataclass(frozen=True)
class FaultConfig:
    """The fault settings of one sandbox; defaults inject nothing."""

    seed: int | None = None
    drop: float = 0.0
    timeout: float = 0.0
    rate_limit: float = 0.0
    server_error: float = 0.0
    cut: float = 0.0
    slow: float = 0.0
    retry_after_seconds: int = 1
    timeout_seconds: float = 1.0
    slow_seconds: float = 1.0
    server_error_statuses: tuple[int, ...] = (500, 502, 503)
    sequence: tuple[str, ...] = ()
    apply_to: frozenset[str] = field(default_factory=frozenset)

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "drop": self.drop,
            "timeout": self.timeout,
            "rate_limit": self.rate_limit,
            "server_error": self.server_error,
            "cut": self.cut,
            "slow": self.slow,
            "retry_after_seconds": self.retry_after_seconds,
            "timeout_seconds": self.timeout_seconds,
            "slow_seconds": self.slow_seconds,
            "server_error_statuses": list(self.server_error_statuses),
            "sequence": list(self.sequence),
            "apply_to": sorted(self.apply_to),
        }


def parse_fault_config(payload: Mapping[str, Any], routes: Iterable[str], default_apply_to: Iterable[str]) -> FaultConfig:
    """Build a `FaultConfig` from an admin payload; settings not given take their defaults."""
    routes = frozenset(routes)
    unknown = set(payload) - set(FaultConfig.__dataclass_fields__)
    if unknown:
        raise AdminRequestError(f"unknown fault settings: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for kind in (*PROBABILISTIC_KINDS, "slow"):
        probability = payload.get(kind, 0.0)
        if not _is_number(probability) or not 0.0 <= probability <= 1.0:
            raise AdminRequestError(f"{kind} must be a probability between 0 and 1")
        values[kind] = float(probability)
    seed = payload.get("seed")
    if seed is not None and not isinstance(seed, int):
        raise AdminRequestError("seed must be an integer or null")
    retry_after = payload.get("retry_after_seconds", 1)
    if not isinstance(retry_after, int) or isinstance(retry_after, bool) or retry_after < 0:
        raise AdminRequestError("retry_after_seconds must be a whole number of seconds >= 0")
    timeout_seconds = payload.get("timeout_seconds", 1.0)
    slow_seconds = payload.get("slow_seconds", 1.0)
    for name, seconds in (("timeout_seconds", timeout_seconds), ("slow_seconds", slow_seconds)):
        if not _is_number(seconds) or seconds < 0:
            raise AdminRequestError(f"{name} must be a number >= 0")
    statuses = payload.get("server_error_statuses", [500, 502, 503])
    if not isinstance(statuses, list) or not statuses or not all(isinstance(s, int) and 500 <= s <= 599 for s in statuses):
        raise AdminRequestError("server_error_statuses must be a non-empty list of 5xx codes")
    sequence = payload.get("sequence", [])
    if not isinstance(sequence, list):
        raise AdminRequestError("sequence must be a list")
    sequence = [str(word) for word in sequence]
    for word in sequence:
        if word not in SCRIPTED_WORDS and not _is_5xx(word):
            raise AdminRequestError(f"sequence entries must be one of {', '.join(SCRIPTED_WORDS)} or a 5xx code, not {word!r}")
    apply_to = payload.get("apply_to", sorted(default_apply_to))
    if not isinstance(apply_to, list) or not all(isinstance(route, str) and route in routes for route in apply_to):
        raise AdminRequestError(f"apply_to may name only: {', '.join(sorted(routes))}")
    return FaultConfig(
        seed=seed,
        retry_after_seconds=retry_after,
        timeout_seconds=float(timeout_seconds),
        slow_seconds=float(slow_seconds),
        server_error_statuses=tuple(statuses),
        sequence=tuple(sequence),
        apply_to=frozenset(apply_to),
        **values,
    )


class FaultInjector:
    """Decides, per request to a fault-eligible route, whether to answer with a fault."""

    def __init__(self, routes: Iterable[str], default_apply_to: Iterable[str]):
        self._routes = frozenset(routes)
        self._default_apply_to = frozenset(default_apply_to)
        self._lock = threading.Lock()
        self.configure({})

    def configure(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the whole fault configuration (and restart the seeded draws)."""
        config = parse_fault_config(payload, self._routes, self._default_apply_to)
        with self._lock:
            self._config = config
            self._random = random.Random(config.seed)
            self._scripted = deque(config.sequence)
            self._injected: Counter[str] = Counter()
        return config.to_json()

    def config_json(self) -> dict[str, Any]:
        with self._lock:
            return self._config.to_json()

    def injected(self) -> dict[str, int]:
        """How many faults of each kind were injected since the last `configure`."""
        with self._lock:
            return dict(self._injected)

    def intercept(self, route: str) -> Response | None:
        """The fault response for this request, or None to let it through (a `slow` draw included)."""
        with self._lock:
            word = self._next_word(route)
            return None if word in (None, "ok", "slow") else self._fault_response(word)

    def serve(self, route: str, handle: Callable[[], Response]) -> Response:
        """The fault response for this request, or `handle()`'s answer: late when the draw is `slow`."""
        with self._lock:
            word = self._next_word(route)
            fault = None if word in (None, "ok", "slow") else self._fault_response(word)
            if word == "slow":
                self._injected["slow"] += 1
            slow_seconds = self._config.slow_seconds
        if fault is not None:
            return fault
        answer = handle()
        return replace(answer, delay_seconds=answer.delay_seconds + slow_seconds) if word == "slow" else answer

    def _next_word(self, route: str) -> str | None:
        if route not in self._config.apply_to:
            return None
        return self._scripted.popleft() if self._scripted else self._draw()

    def _draw(self) -> str | None:
        config = self._config
        draws = [self._random.random() for _ in PROBABILISTIC_KINDS]
        status_pick = self._random.choice(config.server_error_statuses)
        words = {"drop": "drop", "timeout": "timeout", "rate_limit": "429", "server_error": str(status_pick),
                 "cut": "cut"}
        for kind, draw in zip(PROBABILISTIC_KINDS, draws):
            if draw < getattr(config, kind):
                return words[kind]
        # Drawn last and only when asked for, so a seed without `slow` replays the decisions it always did.
        if config.slow and self._random.random() < config.slow:
            return "slow"
        return None

    def _fault_response(self, word: str) -> Response:
        config = self._config
        if word == "drop":
            self._injected["drop"] += 1
            return Response(drop_connection=True)
        if word == "cut":
            self._injected["cut"] += 1
            return Response(body=CUT_BODY, cut_mid_body=True)
        if word == "timeout":
            self._injected["timeout"] += 1
            return text_response(504, delay_seconds=config.timeout_seconds)
        if word == "429":
            self._injected["rate_limit"] += 1
            return text_response(429, headers=(("Retry-After", str(config.retry_after_seconds)),))
        self._injected["server_error"] += 1
        return text_response(int(word))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_5xx(word: str) -> bool:
    return word.isdigit() and 500 <= int(word) <= 599
