"""Two small test targets on the contract, one synchronous and one asynchronous, over the toy sandbox.

They exist to prove that the core and the conformance suite depend on no
vendor: each is a `Target` with two objects (tax codes, and products that
reference them), a sender, a Dagster resource and a cost, nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg
import pandas as pd
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from b2b_assets.targets.core.contract import (
    RECORD_KEY, Batch, JobStatus, Mode, Payload, RecordsRejected, Reference, Target, TargetObject,
)
from .toy_sandbox import KEY

NAME_LIMIT = 120  # the toy's own limit: a longer product name is refused for the toy only


class ToyResource(dg.ConfigurableResource):
    base_url: str
    token: str


class ToyCredentialsRefused(RuntimeError):
    pass


class _ToyHttp:
    def __init__(self, resource: ToyResource):
        self.base_url, self._token = resource.base_url.rstrip("/"), resource.token
        self._http = requests.Session()
        retry = Retry(total=30, backoff_factor=0.01, status_forcelist=(503,),
                      allowed_methods=frozenset({"GET", "POST"}), raise_on_status=False)
        self._http.mount("http://", HTTPAdapter(max_retries=retry))

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        reply = self._http.request(method, f"{self.base_url}/{path}", json=body, timeout=5,
                                   headers={"Authorization": f"Bearer {self._token}"})
        if reply.status_code == 401:
            raise ToyCredentialsRefused("the toy target refused the token: check TOY_TOKEN")
        if reply.status_code == 422:
            refused = reply.json()
            raise RecordsRejected(refused["code"], refused["message"])
        reply.raise_for_status()
        return reply.json()


def _records(batch: Batch) -> list[dict]:
    rows = batch.records.rename(columns={RECORD_KEY: KEY})
    return [{k: v for k, v in r.items() if not pd.isna(v)} for r in rows.astype(object).to_dict("records")]


class ToySyncSender:
    def __init__(self, resource: ToyResource):
        self.http = _ToyHttp(resource)

    def send(self, batch: Batch) -> None:
        self.http.call("POST", f"sync/{batch.object.name}", {"records": _records(batch)})


class ToyAsyncSender:
    poll_interval_seconds = 0.05

    def __init__(self, resource: ToyResource):
        self.http = _ToyHttp(resource)

    def submit(self, batch: Batch) -> str:
        return self.http.call("POST", f"async/{batch.object.name}", {"records": _records(batch)})["job_id"]

    def poll(self, job_id: str) -> JobStatus:
        reply = self.http.call("GET", f"jobs/{job_id}")
        return JobStatus(reply["finished"], reply["failed"], reply["message"], reply["rejected"])


def _tax_codes(frames: Mapping[str, pd.DataFrame]) -> Payload:
    hub = frames["taxcodes"]
    return Payload(pd.DataFrame({RECORD_KEY: hub["tax_code_id"].astype("string"),
                                 "label": hub["label"].astype("string")}).reset_index(drop=True))


def _products(frames: Mapping[str, pd.DataFrame]) -> Payload:
    hub = frames["products"]
    return Payload(pd.DataFrame({RECORD_KEY: hub["product_id"].astype("string"), "name": hub["name"].astype("string"),
                                 "taxCode": hub["tax_code_id"].astype("string")}).reset_index(drop=True))


def _product_limits(payload: Payload) -> pd.Series:
    records = payload.records
    long = records["name"].str.len() > NAME_LIMIT
    return pd.Series(f"name is longer than the toy's {NAME_LIMIT} characters",
                     index=records.loc[long, RECORD_KEY].to_numpy(), dtype="string")


def _objects(key_ranges: bool) -> tuple[TargetObject, ...]:
    return (
        TargetObject("tax_codes", ("taxcodes",), ("tax_code_id",), _tax_codes, description="Toy tax codes.",
                     key_ranges=key_ranges),
        TargetObject("products", ("products",), ("product_id",), _products, limits=_product_limits,
                     references=(Reference("taxCode", "tax_codes"),), mode=Mode(), description="Toy products.",
                     key_ranges=key_ranges),
    )


def _toy(name: str, sender, key_ranges: bool) -> Target:
    return Target(name=name, title=name.upper(), objects=_objects(key_ranges), sender=sender, resource_key=name,
                  default_resource=lambda: ToyResource(base_url="http://127.0.0.1:1", token=dg.EnvVar("TOY_TOKEN")),
                  kinds=frozenset({"api"}), cost_unit="toy credits")


# The synchronous toy is planned whole, the asynchronous one a key range at a time (and from the rows changed
# since its last sync): both of the core's plans, with neither sender, rest on nothing of any vendor.
TOY_SYNC = _toy("toy_sync", ToySyncSender, key_ranges=False)
TOY_ASYNC = _toy("toy_async", ToyAsyncSender, key_ranges=True)
