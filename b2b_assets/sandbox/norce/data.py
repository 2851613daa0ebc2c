"""How an accepted import changes the stored companies, customers and their relations.

The rules, from seed 003 and the notes:

- A record is matched by `Id`, else `Code`, else (unless SearchOnlyByCode)
  OrganizationNo for companies, EmailAddress for customers; unmatched is a new record.
- Only the fields the header's FieldsThatAreSet lists are processed. A listed
  field the body lacks is **cleared**; a field the body carries but the header
  does not list is ignored.
- Relations between a company and a customer are one table, set from either
  side (`Company.Customers`, `Customer.Companies`). The other side must exist
  already, else the record fails. With the list-delta flag false (the
  default) the relations of that record the request does not name are
  deactivated; with it true they are left as they are.
- `ParentCompanyCode` is set only if that company exists (after the whole
  request is applied); otherwise a warning is logged and the parent is left empty.
- Accounts are matched by LoginName, unique across customers. AccountFieldsThatAreSet
  decides what an import changes: Status, Roles, their CreateOnly variants, and
  PasswordCreateOnly (a password is only ever set on a new account). Roles must exist.
  An import adds and updates accounts; it never removes one.
- Passwords are stored as a salted hash; read-back shows only `HasPassword`.
"""

from __future__ import annotations

import copy
import hashlib
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from b2b_assets.sandbox.norce.payload import ImportHeader
from b2b_assets.sandbox.norce.schema import FIELDS, OPTIONS

RELATION_SEPARATOR = "\x1f"
# Fields a FieldsThatAreSet entry names but that are handled as relations or identity, not stored values.
_NOT_STORED = frozenset({"Id", "Customers", "Companies", "Accounts"})
_INDEXED = {"companies": ("Code", "OrganizationNo"), "customers": ("Code", "EmailAddress")}


class RecordFailed(Exception):
    """One record cannot be imported; the message becomes its severity-3 log row."""


@dataclass
class Outcome:
    """What applying one job did: counts, log rows (severity, message), touched keys."""

    inserted: int = 0
    updated: int = 0
    failed: int = 0
    rows: list[tuple[int, str]] = field(default_factory=list)
    cleared: dict[str, int] = field(default_factory=dict)  # field name -> records it was cleared on
    touched: dict[str, set[str]] = field(default_factory=lambda: {"companies": set(), "customers": set(), "relations": set()})


@dataclass
class NorceData:
    companies: dict[str, dict[str, Any]] = field(default_factory=dict)  # Id (text) -> stored company
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)  # Id (text) -> stored customer
    relations: dict[str, dict[str, Any]] = field(default_factory=dict)  # company Id \x1f customer Id -> flags
    next_id: int = 1

    def __post_init__(self) -> None:
        # Lookups by matching field, kept up to date as records change: a large import stays linear.
        self._indexes: dict[tuple[str, str], dict[str, str]] = {}
        for table_name, names in _INDEXED.items():
            for name in names:
                index = self._indexes[(table_name, name)] = {}
                for key, stored in getattr(self, table_name).items():
                    if stored.get(name) not in (None, ""):
                        index.setdefault(stored[name], key)
        self._logins = {account["LoginName"]: key for key, customer in self.customers.items()
                        for account in customer.get("Accounts", [])}

    # --- lookups ----------------------------------------------------------------------------------------------

    def _find(self, table_name: str, name: str, value: Any) -> str | None:
        return None if value in (None, "") else self._indexes[(table_name, name)].get(value)

    def company_id(self, identifier: Mapping[str, Any], search_only_by_code: bool) -> str | None:
        """The stored company an identifier (Id, Code, OrganizationNo: the first given) names."""
        if identifier.get("Id") is not None:
            return str(identifier["Id"]) if str(identifier["Id"]) in self.companies else None
        if identifier.get("Code"):
            return self._find("companies", "Code", identifier["Code"])
        if not search_only_by_code:
            return self._find("companies", "OrganizationNo", identifier.get("OrganizationNo"))
        return None

    def customer_id(self, identifier: Mapping[str, Any], search_only_by_code: bool) -> str | None:
        if identifier.get("Id") is not None:
            return str(identifier["Id"]) if str(identifier["Id"]) in self.customers else None
        if identifier.get("Code"):
            return self._find("customers", "Code", identifier["Code"])
        if not search_only_by_code:
            return self._find("customers", "EmailAddress", identifier.get("EmailAddress"))
        return None

    # --- imports ----------------------------------------------------------------------------------------------

    def import_companies(self, records: Iterable[dict[str, Any]], header: ImportHeader, outcome: Outcome) -> None:
        parents: list[tuple[str, str]] = []
        for record in records:
            self._import_one(record, "Company", outcome, lambda r: self._apply_company(r, header, outcome, parents))
        for company_id, parent_code in parents:
            if self._find("companies", "Code", parent_code) is None:
                self.companies[company_id]["ParentCompanyCode"] = None
                code = self.companies[company_id].get("Code")
                outcome.rows.append((2, f"Company '{code}': parent company '{parent_code}' does not exist; "
                                        "ParentCompanyCode not set"))

    def import_customers(self, records: Iterable[dict[str, Any]], header: ImportHeader, outcome: Outcome,
                         roles: frozenset[str]) -> None:
        for record in records:
            self._import_one(record, "Customer", outcome, lambda r: self._apply_customer(r, header, outcome, roles))

    def _import_one(self, record: dict[str, Any], type_name: str, outcome: Outcome,
                    apply: Callable[[dict[str, Any]], bool]) -> None:
        try:
            created = apply(record)
        except RecordFailed as failed:
            outcome.failed += 1
            outcome.rows.append((3, f"{type_name} '{record_label(record)}': {failed}"))
            return
        if created:
            outcome.inserted += 1
        else:
            outcome.updated += 1

    def _apply_company(self, record: dict[str, Any], header: ImportHeader, outcome: Outcome,
                       parents: list[tuple[str, str]]) -> bool:
        if record.get("Id") is None and not record.get("Code") and not record.get("OrganizationNo"):
            raise RecordFailed("identifies no company: give Id, Code or OrganizationNo")
        company_id = self.company_id(record, header.search_only_by_code)
        if record.get("Id") is not None and company_id is None:
            raise RecordFailed(f"no company has Id {record['Id']}")
        customer_ids = None
        if "Customers" in header.company_fields:
            customer_ids = [self._existing_customer(c, header) for c in record.get("Customers") or []]
        created = company_id is None
        if created:
            company_id = self._new_id()
            self.companies[company_id] = {"Id": int(company_id), "IsActive": True}
        stored = self._store("companies", company_id, record, header.company_fields, "Company", outcome)
        outcome.touched["companies"].add(company_id)
        if customer_ids is not None:
            delta = _flag(record.get("IsCustomerListDelta"), header.is_customer_list_delta)
            self._relate(company_id, 0, [(cid, None) for cid in customer_ids], delta, outcome)
        if stored.get("ParentCompanyCode"):
            parents.append((company_id, stored["ParentCompanyCode"]))
        return created

    def _apply_customer(self, record: dict[str, Any], header: ImportHeader, outcome: Outcome,
                        roles: frozenset[str]) -> bool:
        if record.get("Id") is None and not record.get("Code") and not record.get("EmailAddress"):
            raise RecordFailed("identifies no customer: give Id, Code or EmailAddress")
        customer_id = self.customer_id(record, header.search_only_by_code)
        if record.get("Id") is not None and customer_id is None:
            raise RecordFailed(f"no customer has Id {record['Id']}")
        company_links = None
        if "Companies" in header.customer_fields:
            company_links = []
            for identifier in record.get("Companies") or []:
                company_id = self.company_id(identifier, header.search_only_by_code)
                if company_id is None:
                    raise RecordFailed(f"company '{record_label(identifier)}' does not exist; companies must exist before "
                                       "a customer can be related to them")
                company_links.append((company_id, bool(identifier.get("IsPrimary"))))
        accounts = record.get("Accounts") or [] if "Accounts" in header.customer_fields else None
        for account in accounts or []:
            owner = self._account_owner(account["LoginName"])
            if owner is not None and owner != customer_id:
                raise RecordFailed(f"login name '{account['LoginName']}' belongs to another customer")
            unknown = sorted({role["Code"] for role in account.get("Roles") or []} - roles)
            if unknown and account.get("Roles") is not None and header.account_fields & {"Roles", "RolesCreateOnly"}:
                raise RecordFailed(f"account role '{unknown[0]}' does not exist in Norce Commerce")
        created = customer_id is None
        if created:
            customer_id = self._new_id()
            self.customers[customer_id] = {"Id": int(customer_id), "IsActive": True, "Accounts": []}
        stored = self._store("customers", customer_id, record, header.customer_fields, "Customer", outcome)
        outcome.touched["customers"].add(customer_id)
        if accounts is not None:
            stored["Accounts"] = _merge_accounts(stored["Accounts"], accounts, header.account_fields)
            self._logins.update({account["LoginName"]: customer_id for account in stored["Accounts"]})
        if company_links is not None:
            first_primary = next((cid for cid, primary in company_links if primary), None)
            links = [(cid, cid == first_primary) for cid, _ in company_links]
            delta = _flag(record.get("IsCompanyListDelta"), header.is_company_list_delta)
            self._relate(customer_id, 1, links, delta, outcome)
        return created

    def _existing_customer(self, identifier: Mapping[str, Any], header: ImportHeader) -> str:
        customer_id = self.customer_id(identifier, header.search_only_by_code)
        if customer_id is None:
            raise RecordFailed(f"customer '{record_label(identifier)}' does not exist; customers must exist before a "
                               "company can be related to them")
        return customer_id

    def _relate(self, own_id: str, side: int, others: list[tuple[str, bool | None]], delta: bool,
                outcome: Outcome) -> None:
        """Set relations of one company (side 0) or customer (side 1) to `others`, with list-delta semantics."""
        named = set()
        for other_id, primary in others:
            pair = (own_id, other_id) if side == 0 else (other_id, own_id)
            key = RELATION_SEPARATOR.join(pair)
            relation = self.relations.setdefault(key, {"IsActive": True, "IsPrimary": False})
            relation["IsActive"] = True
            if primary is not None:
                relation["IsPrimary"] = primary
            named.add(key)
            outcome.touched["relations"].add(key)
        if delta:
            return
        for key, relation in self.relations.items():
            if key.split(RELATION_SEPARATOR)[side] == own_id and key not in named and relation["IsActive"]:
                relation["IsActive"] = False
                outcome.touched["relations"].add(key)

    def _account_owner(self, login_name: str) -> str | None:
        return self._logins.get(login_name)

    def _store(self, table_name: str, key: str, record: Mapping[str, Any], fields_set: frozenset[str],
               type_name: str, outcome: Outcome) -> dict[str, Any]:
        """Apply the listed fields to a stored record and keep the lookups in step."""
        stored = getattr(self, table_name)[key]
        before = {name: stored.get(name) for name in _INDEXED[table_name]}
        _set_fields(stored, record, fields_set, type_name, outcome)
        for name, old in before.items():
            index = self._indexes[(table_name, name)]
            if old not in (None, "") and index.get(old) == key and stored.get(name) != old:
                del index[old]
            if stored.get(name) not in (None, ""):
                index.setdefault(stored[name], key)
        return stored

    def _new_id(self) -> str:
        new_id, self.next_id = str(self.next_id), self.next_id + 1
        return new_id

    # --- read-back --------------------------------------------------------------------------------------------

    def read_companies(self) -> list[dict[str, Any]]:
        related = self._relations_by(0)
        out = []
        for company_id, stored in self.companies.items():
            company = copy.deepcopy(stored)
            company["Customers"] = [{"Code": self.customers[customer_id].get("Code"), "IsActive": relation["IsActive"]}
                                    for customer_id, relation in related.get(company_id, [])]
            out.append(company)
        return out

    def read_customers(self) -> list[dict[str, Any]]:
        related = self._relations_by(1)
        out = []
        for customer_id, stored in self.customers.items():
            customer = copy.deepcopy(stored)
            for account in customer["Accounts"]:
                account["HasPassword"] = account.pop("PasswordHash", None) is not None
                account.pop("PasswordSalt", None)
            customer["Companies"] = [
                {"Code": self.companies[company_id].get("Code"), "IsPrimary": relation["IsPrimary"],
                 "IsActive": relation["IsActive"]}
                for company_id, relation in related.get(customer_id, [])]
            out.append(customer)
        return out

    def _relations_by(self, side: int) -> dict[str, list[tuple[str, dict[str, Any]]]]:
        """Relations grouped by their company (side 0) or customer (side 1): (the other side's id, flags)."""
        grouped: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for key, relation in self.relations.items():
            pair = key.split(RELATION_SEPARATOR)
            grouped.setdefault(pair[side], []).append((pair[1 - side], relation))
        return grouped

    def password_matches(self, login_name: str, password: str) -> bool:
        owner = self._account_owner(login_name)
        if owner is None:
            return False
        account = next(a for a in self.customers[owner]["Accounts"] if a["LoginName"] == login_name)
        return account.get("PasswordHash") == _password_hash(account.get("PasswordSalt", ""), password)


def _set_fields(stored: dict[str, Any], record: Mapping[str, Any], fields_set: frozenset[str], type_name: str,
                outcome: Outcome) -> None:
    """Process the listed fields: set those the body carries, clear those it lacks."""
    for name in sorted(fields_set - OPTIONS - _NOT_STORED):
        if name in record:
            stored[name] = record[name]
        else:
            stored[name] = [] if FIELDS[type_name][name].kind == "list" else None
            outcome.cleared[name] = outcome.cleared.get(name, 0) + 1


def _merge_accounts(stored: list[dict[str, Any]], given: list[dict[str, Any]], fields: frozenset[str]) -> list[dict[str, Any]]:
    by_login = {account["LoginName"]: account for account in stored}
    for account in given:
        existing = by_login.get(account["LoginName"])
        created = existing is None
        if created:
            existing = by_login[account["LoginName"]] = {
                "LoginName": account["LoginName"], "ApplicationKey": account.get("ApplicationKey"),
                "Status": "Active", "Roles": []}
        if "Status" in fields or ("StatusCreateOnly" in fields and created):
            existing["Status"] = account.get("Status")
        if "Roles" in fields or ("RolesCreateOnly" in fields and created):
            existing["Roles"] = [{"Code": role["Code"], "IsActive": role.get("IsActive", True) is not False}
                                 for role in account.get("Roles") or []]
        if "PasswordCreateOnly" in fields and created and account.get("Password"):
            salt = secrets.token_hex(8)
            existing["PasswordSalt"], existing["PasswordHash"] = salt, _password_hash(salt, account["Password"])
    return list(by_login.values())


def _password_hash(salt: str, password: str) -> str:
    return hashlib.sha256(f"{salt}:{password}".encode()).hexdigest()


def _flag(record_value: Any, header_value: bool | None) -> bool:
    """A list-delta flag: the record's own value, else the header's, else the seed's default (false)."""
    if record_value is not None:
        return bool(record_value)
    return bool(header_value)


def record_label(record: Mapping[str, Any]) -> str:
    """How a log row names a record: its Code, else the other identifiers Norce matches on."""
    for name in ("Code", "OrganizationNo", "EmailAddress", "Id"):
        if record.get(name) not in (None, ""):
            return str(record[name])
    return "?"
