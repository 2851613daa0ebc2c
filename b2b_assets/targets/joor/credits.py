"""JOOR's credit budget, kept by the client so it rarely meets a 429.

JOOR allows 300 credits per fixed five-minute window per token; a GET costs 1
credit, a POST 5 (VENDOR_API_NOTES). The budget is a pyrate-limiter rolling
window of the same size: any five minutes it admits also fit in JOOR's fixed
window, so the client never overspends, at the price of sometimes waiting a
little longer than a fixed window would make it.

Budgets are shared per process, one per endpoint and token: every asset (and
thread) that talks to the same JOOR account draws from the same credits.
Separate processes (Dagster's multiprocess executor) each keep their own and
meet JOOR's 429 instead, which the client honours (Retry-After).
"""

from __future__ import annotations

import hashlib
import threading

from pyrate_limiter import InMemoryBucket, Limiter, Rate

CREDITS_PER_WINDOW = 300
WINDOW_SECONDS = 300.0
GET_COST = 1
POST_COST = 5


class CreditBudget:
    def __init__(self, credits_per_window: int = CREDITS_PER_WINDOW, window_seconds: float = WINDOW_SECONDS):
        self.credits_per_window = credits_per_window
        self.window_seconds = window_seconds
        self._limiter = Limiter(InMemoryBucket([Rate(credits_per_window, int(window_seconds * 1000))]))

    def spend(self, credits: int, wait_seconds: float) -> bool:
        """Take `credits`, waiting up to `wait_seconds` for them; False if they did not come in time."""
        if credits > self.credits_per_window:
            raise ValueError(f"a request costing {credits} credits can never fit {self.credits_per_window} per window")
        return bool(self._limiter.try_acquire("joor", weight=credits, blocking=True, timeout=wait_seconds))


_budgets: dict[tuple[str, str, int, float], CreditBudget] = {}
_budgets_lock = threading.Lock()


def shared_budget(base_url: str, token: str, credits_per_window: int = CREDITS_PER_WINDOW,
                  window_seconds: float = WINDOW_SECONDS) -> CreditBudget:
    """The process-wide budget of this endpoint and token (the token is keyed by its digest only)."""
    key = (base_url.rstrip("/"), hashlib.sha256(token.encode()).hexdigest(), credits_per_window, window_seconds)
    with _budgets_lock:
        if key not in _budgets:
            _budgets[key] = CreditBudget(credits_per_window, window_seconds)
        return _budgets[key]
