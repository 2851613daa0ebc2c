"""The `slow` fault: the request is served (stored data changes), and the answer comes late."""

from __future__ import annotations

import pytest

from b2b_assets.sandbox.faults import FaultInjector
from b2b_assets.sandbox.wire import AdminRequestError, json_response


def test_a_slow_request_is_served_and_answered_late_and_other_faults_still_win():
    faults = FaultInjector(("import_esd", "create_session"), default_apply_to=("import_esd",))
    faults.configure({"sequence": ["slow", "429", "ok"], "slow_seconds": 2.5})
    served = []

    def handle():
        served.append(True)
        return json_response({"stored": True})

    slow = faults.serve("import_esd", handle)
    assert served == [True] and slow.delay_seconds == 2.5 and slow.status == 200
    limited = faults.serve("import_esd", handle)
    assert served == [True] and limited.status == 429  # a fault that refuses: nothing served
    assert faults.serve("import_esd", handle).delay_seconds == 0 and len(served) == 2
    assert faults.serve("create_session", handle).delay_seconds == 0  # not a route it applies to
    assert faults.injected() == {"slow": 1, "rate_limit": 1}


def test_slow_settings_are_checked():
    faults = FaultInjector(("import_esd",), default_apply_to=("import_esd",))
    with pytest.raises(AdminRequestError, match="slow_seconds must be a number >= 0"):
        faults.configure({"slow": 1.0, "slow_seconds": -1})
    with pytest.raises(AdminRequestError, match="slow must be a probability"):
        faults.configure({"slow": 2})
    assert faults.configure({"slow": 1.0})["slow_seconds"] == 1.0
