"""A tiny HTTP sandbox for the two test targets, on 127.0.0.1, so the suite runs the core over real HTTP.

Synchronous API: `POST /sync/<object>` {"records": [...]} upserts the batch
and answers 200, or refuses the whole batch with 422 {"code", "message"} when
one of its records is on the refuse list.
Asynchronous API: `POST /async/<object>` answers {"job_id"}; `GET
/jobs/<id>` answers {"finished", "failed", "message", "rejected": {key: text}}.
A job finishes on its first poll unless jobs are held (or fails, applying
nothing, when jobs are set to fail); records on the refuse list are rejected
one by one, the rest applied.
Every API call needs `Authorization: Bearer <token>` (401 otherwise) and,
with a fault rate set, fails that share of calls with 503 before doing
anything. `/_admin/...` (no auth) reads and steers it.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "toy-token"
KEY = "key"  # every toy record carries its record key in this field


class ToyState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.records: dict[str, dict[str, dict]] = {}  # object -> key -> record
        self.received = 0  # records accepted into the store or into a job (what the toy "charges")
        self.submitted: Counter[str] = Counter()  # (object/key) -> times handed to a job
        self.jobs: dict[str, dict] = {}
        self.job_ids = itertools.count(1)
        self.fault_rate = 0.0
        self.random = random.Random(7)
        self.refuse: set[str] = set()
        self.hold_jobs = False
        self.fail_jobs = False
        self.calls = 0

    def apply(self, name: str, records: list[dict]) -> None:
        store = self.records.setdefault(name, {})
        for record in records:
            store[record[KEY]] = record


class _Handler(BaseHTTPRequestHandler):
    state: ToyState

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def _api_allowed(self) -> bool:
        state = self.state
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._reply(401, {"code": "UNAUTHORIZED", "message": "unknown token"})
            return False
        with state.lock:
            state.calls += 1
            faulted = state.fault_rate and state.random.random() < state.fault_rate
        if faulted:
            self._reply(503, {"code": "BUSY", "message": "try again"})
            return False
        return True

    def do_GET(self) -> None:  # noqa: N802
        parts = self.path.strip("/").split("/")
        state = self.state
        if parts[:2] == ["_admin", "records"]:
            with state.lock:
                return self._reply(200, {"keys": list(state.records.get(parts[2], {}))})
        if parts == ["_admin", "stats"]:
            with state.lock:
                return self._reply(200, {"received": state.received, "jobs": len(state.jobs), "calls": state.calls,
                                         "max_submissions": max(state.submitted.values(), default=0)})
        if parts[0] == "jobs" and self._api_allowed():
            with state.lock:
                job = state.jobs.get(parts[1])
                if job is None:
                    return self._reply(404, {"code": "NO_JOB", "message": "unknown job"})
                if not job["finished"] and state.fail_jobs:
                    job.update(finished=True, failed=True, message="TOY_JOB_FAILED: the toy lost the file")
                if not job["finished"] and not state.hold_jobs:
                    rejected = {r[KEY]: "TOY_REFUSED: the toy refuses this record" for r in job["records"]
                                if r[KEY] in state.refuse}
                    state.apply(job["object"], [r for r in job["records"] if r[KEY] not in rejected])
                    job.update(finished=True, rejected=rejected)
                return self._reply(200, {"finished": job["finished"], "failed": job.get("failed", False),
                                         "message": job.get("message", ""),
                                         "rejected": job.get("rejected", {})})

    def do_POST(self) -> None:  # noqa: N802
        parts = self.path.strip("/").split("/")
        state = self.state
        if parts == ["_admin", "steer"]:
            body = self._body()
            with state.lock:
                state.fault_rate = float(body.get("fault_rate", state.fault_rate))
                state.refuse = set(body.get("refuse", state.refuse))
                state.hold_jobs = bool(body.get("hold_jobs", state.hold_jobs))
                state.fail_jobs = bool(body.get("fail_jobs", state.fail_jobs))
            return self._reply(200, {})
        if parts[0] not in ("sync", "async") or not self._api_allowed():
            return None
        name, records = parts[1], self._body()["records"]
        with state.lock:
            if parts[0] == "sync":
                refused = [r[KEY] for r in records if r[KEY] in state.refuse]
                if refused:
                    return self._reply(422, {"code": "TOY_REFUSED", "message": f"record {refused[0]} refused"})
                state.apply(name, records)
                state.received += len(records)
                return self._reply(200, {"accepted": len(records)})
            job_id = f"job-{next(state.job_ids)}"
            state.jobs[job_id] = {"object": name, "records": records, "finished": False}
            state.submitted.update(f"{name}/{r[KEY]}" for r in records)
            state.received += len(records)
            return self._reply(200, {"job_id": job_id})


class ToySandbox:
    """Serve the toy API on a free port of 127.0.0.1 for the life of the context."""

    def __enter__(self) -> ToySandbox:
        self.state = ToyState()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
