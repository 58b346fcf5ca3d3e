"""The data the connectors must bring back, written through spoke's own HTTP API.

Small on purpose (tens of records per type): the point is that every record written comes back
in the right stream, not volume. Every call that fails is kept with spoke's answer, and the seed
goes on with what it has, so one missing API (say, users before owners exist) shows up as that
call's failure and the streams that depend on it, not as a wall of unrelated errors.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

import requests

N_COMPANIES = 12
N_CONTACTS = 24
N_DEALS = 12
N_TICKETS = 10
N_ENGAGEMENTS = 6  # of each engagement type
N_USERS = 3

# HubSpot's engagement object types, the one required property each has (hs_timestamp), and
# the string property the tests read back.
ENGAGEMENTS = {
    "notes": "hs_note_body",
    "calls": "hs_call_title",
    "tasks": "hs_task_subject",
    "meetings": "hs_meeting_title",
    "emails": "hs_email_subject",
}

# Which property of each seeded type identifies a record within the seed (batch create answers
# need not come back in input order) and which properties the tests compare.
KEY = {
    "companies": "name",
    "contacts": "email",
    "deals": "dealname",
    "tickets": "subject",
    **ENGAGEMENTS,
}
CHECKED = {
    "companies": ["name", "domain"],
    "contacts": ["email", "firstname", "lastname"],
    "deals": ["dealname", "pipeline", "dealstage"],
    "tickets": ["subject", "hs_pipeline", "hs_pipeline_stage"],
    "notes": ["hs_note_body"],
    "calls": ["hs_call_title", "hs_call_body"],
    "tasks": ["hs_task_subject", "hs_task_status"],
    "meetings": ["hs_meeting_title"],
    "emails": ["hs_email_subject", "hs_email_direction"],
}


# The portal's custom object types (issue 12), created through the schemas API: name -> the
# properties the schema defines (name, HubSpot type, field type), the one that identifies a
# record within the seed, whether records are linked to contacts, and how many are written.
# Their connector streams are named after the schema (Airbyte) or its fullyQualifiedName
# (MeltanoLabs, configured with it).
CUSTOM = {
    "cars": {
        "properties": [("model", "string", "text"), ("year", "number", "number"), ("color", "enumeration", "select"),
                       ("vin", "string", "text")],
        "key": "vin",
        "contacts": True,
        "count": 15,
    },
    "pets": {
        "properties": [("pet_name", "string", "text"), ("species", "string", "text")],
        "key": "pet_name",
        "contacts": False,
        "count": 5,
    },
}
KEY.update({name: c["key"] for name, c in CUSTOM.items()})
CHECKED.update({name: [p for p, _, _ in c["properties"]] for name, c in CUSTOM.items()})


# A stem of each type's name that its paths hold, singular or plural (`/properties/v2/contact/`,
# `/crm/v3/objects/contacts`), to pick a stream's calls out of the request log.
STEM = {
    "contacts": "contact",
    "companies": "compan",
    "deals": "deal",
    "tickets": "ticket",
    "calls": "call",
    "emails": "email",
    "meetings": "meeting",
    "notes": "note",
    "tasks": "task",
    "owners": "owner",
    "users": "users",
    # Custom types: read by fullyQualifiedName (`p{portal}_cars`), which holds the name.
    **{name: name for name in CUSTOM},
}


@dataclass
class Failure:
    method: str
    path: str
    status: int
    message: str

    def __str__(self) -> str:
        return f"{self.status} {self.method} {self.path}: {self.message}"


@dataclass
class Seed:
    run: str
    # type -> id -> the record's properties as spoke stored them
    records: dict[str, dict[str, dict]] = field(default_factory=dict)
    # (from type, from id, to type, to id), both directions listed once each
    links: list[tuple[str, str, str, str]] = field(default_factory=list)
    # object type (deals, tickets) -> pipeline id -> the ids of its stages, for the pipelines
    # the seed created (a portal's default pipelines are checked apart: see the tests)
    pipelines: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    # owner id -> {email, firstName, lastName}
    owners: dict[str, dict] = field(default_factory=dict)
    user_emails: list[str] = field(default_factory=list)
    # custom type name -> the schema spoke answered (objectTypeId, fullyQualifiedName, ...)
    schemas: dict[str, dict] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)

    def failed(self, *object_types: str) -> str:
        """The seeding calls that failed for these types (all of them, given none)."""
        # A custom type's paths name it by its id.
        names = list(object_types) + [self.schemas[t]["objectTypeId"] for t in object_types
                                      if self.schemas.get(t, {}).get("objectTypeId")]
        out = [str(f) for f in self.failures if not names or any(t in f.path for t in names)]
        return "\n  ".join([""] + out) if out else " (none failed: the seed wrote nothing of this kind?)"

    def ids(self, object_type: str) -> list[str]:
        return list(self.records.get(object_type, {}))

    def linked(self, from_type: str, from_id: str, to_type: str) -> set[str]:
        out = set()
        for f, fid, t, tid in self.links:
            if f == from_type and fid == from_id and t == to_type:
                out.add(tid)
            if t == from_type and tid == from_id and f == to_type:
                out.add(fid)
        return out


class Seeder:
    def __init__(self, base_url: str, token: str, seed: Seed):
        self.base = base_url
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.seed = seed

    def call(self, method: str, path: str, body=None, ok=(200, 201, 204, 207)):
        try:
            r = self.http.request(method, self.base + path, json=body, timeout=60)
        except requests.RequestException as e:
            self.seed.failures.append(Failure(method, path, 0, repr(e)))
            return None
        if r.status_code not in ok:
            try:
                err = r.json()
                message = f"{err.get('category', '')} {err.get('message', '')}".strip()
            except ValueError:
                message = r.text[:200]
            self.seed.failures.append(Failure(method, path, r.status_code, message[:400]))
            return None
        return r.json() if r.content else {}

    def create(self, object_type: str, inputs: list[dict], path_type: str | None = None) -> None:
        """Batch-creates records and keeps them by id, as spoke stored them. `path_type` is how
        the path names the type when that is not `object_type` (a custom type's id)."""
        body = {"inputs": [{"properties": p, "associations": []} for p in inputs]}
        answer = self.call("POST", f"/crm/v3/objects/{path_type or object_type}/batch/create", body, ok=(200, 201))
        if answer is None:
            return
        got = {r["properties"].get(KEY[object_type]): r for r in answer.get("results", [])}
        stored = self.seed.records.setdefault(object_type, {})
        for p in inputs:
            key = p[KEY[object_type]]
            key = key.lower() if object_type == "contacts" else key
            rec = got.get(key)
            if rec is None:
                self.seed.failures.append(
                    Failure("POST", f"/crm/v3/objects/{object_type}/batch/create", 200, f"no record came back for {key!r}")
                )
                continue
            stored[rec["id"]] = rec["properties"]

    def associate(self, from_type: str, to_type: str, pairs: list[tuple[str, str]], path_type: str | None = None) -> None:
        """Links records with HubSpot's default (unlabeled) association type, both directions."""
        if not pairs:
            return
        body = {"inputs": [{"from": {"id": f}, "to": {"id": t}} for f, t in pairs]}
        path = f"/crm/v4/associations/{path_type or from_type}/{to_type}/batch/associate/default"
        if self.call("POST", path, body, ok=(200, 201)) is not None:
            self.seed.links.extend((from_type, f, to_type, t) for f, t in pairs)

    def update(self, object_type: str, record_id: str, properties: dict, path_type: str | None = None) -> None:
        answer = self.call("PATCH", f"/crm/v3/objects/{path_type or object_type}/{record_id}", {"properties": properties})
        if answer is not None:
            # An update answers with the properties it wrote and the defaults; keep the rest.
            stored = self.seed.records.setdefault(object_type, {})
            stored[record_id] = {**stored.get(record_id, {}), **answer["properties"]}


def _iso(days_ago: int) -> str:
    t = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(days=days_ago)
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def seed_all(base_url: str, token: str) -> Seed:
    run = uuid.uuid4().hex[:8]
    seed = Seed(run=run)
    s = Seeder(base_url, token, seed)

    s.create(
        "companies",
        [{"name": f"Connector Co {run} {i}", "domain": f"co{i}-{run}.example.com"} for i in range(N_COMPANIES)],
    )
    s.create(
        "contacts",
        [
            {"email": f"contact{i}-{run}@example.com", "firstname": f"First{i}", "lastname": f"Last {run}"}
            for i in range(N_CONTACTS)
        ],
    )
    # Deals in HubSpot's default sales pipeline; tickets in the default support pipeline ("0"),
    # stage "1" (New), as HubSpot's own examples create them.
    s.create(
        "deals",
        [
            {
                "dealname": f"Deal {run} {i}",
                "amount": str(1000 + i),
                "pipeline": "default",
                "dealstage": "appointmentscheduled" if i % 2 else "qualifiedtobuy",
                "closedate": _iso(-30),
            }
            for i in range(N_DEALS)
        ],
    )
    s.create(
        "tickets",
        [
            {"subject": f"Ticket {run} {i}", "content": "It broke", "hs_pipeline": "0", "hs_pipeline_stage": "1"}
            for i in range(N_TICKETS)
        ],
    )
    extra = {
        "notes": lambda i: {},
        "calls": lambda i: {"hs_call_body": f"Call body {i}", "hs_call_direction": "OUTBOUND"},
        "tasks": lambda i: {"hs_task_status": "NOT_STARTED", "hs_task_priority": "HIGH"},
        "meetings": lambda i: {"hs_meeting_start_time": _iso(2), "hs_meeting_end_time": _iso(1)},
        "emails": lambda i: {"hs_email_direction": "EMAIL", "hs_email_status": "SENT"},
    }
    for object_type, prop in ENGAGEMENTS.items():
        s.create(
            object_type,
            [
                {"hs_timestamp": _iso(3), prop: f"{object_type} {run} {i}", **extra[object_type](i)}
                for i in range(N_ENGAGEMENTS)
            ],
        )

    companies, contacts = seed.ids("companies"), seed.ids("contacts")
    deals, tickets = seed.ids("deals"), seed.ids("tickets")

    def pick(ids: list[str], i: int) -> str | None:
        return ids[i % len(ids)] if ids else None

    def pairs(from_ids: list[str], to_ids: list[str]) -> list[tuple[str, str]]:
        return [(f, pick(to_ids, i)) for i, f in enumerate(from_ids) if to_ids]

    seed_custom(s, run, contacts, pick)

    s.associate("contacts", "companies", pairs(contacts, companies))
    s.associate("deals", "contacts", pairs(deals, contacts))
    s.associate("deals", "companies", pairs(deals, companies))
    s.associate("tickets", "contacts", pairs(tickets, contacts))
    s.associate("tickets", "companies", pairs(tickets, companies))
    s.associate("tickets", "deals", pairs(tickets, deals))
    for object_type in ENGAGEMENTS:
        ids = seed.ids(object_type)
        s.associate(object_type, "contacts", pairs(ids, contacts))
        s.associate(object_type, "companies", pairs(ids, companies))
        s.associate(object_type, "deals", pairs(ids, deals))

    # A pipeline of each kind written now: connectors filter pipelines on `updatedAt` from
    # their start date, and a portal's default pipelines carry HubSpot's epoch-0 timestamps.
    stage_meta = {
        "deals": lambda i: {"probability": ["0.1", "0.5", "1.0"][i]},
        "tickets": lambda i: {"ticketState": ["OPEN", "OPEN", "CLOSED"][i]},
    }
    for object_type, meta in stage_meta.items():
        body = {
            "label": f"Connector {object_type} pipeline {run}",
            "displayOrder": 5,
            "stages": [{"label": f"Stage {i} {run}", "displayOrder": i, "metadata": meta(i)} for i in range(3)],
        }
        made = s.call("POST", f"/crm/v3/pipelines/{object_type}", body, ok=(200, 201))
        if made is not None:
            seed.pipelines.setdefault(object_type, {})[str(made["id"])] = {str(st["id"]) for st in made.get("stages", [])}

    # Owners come from users, as in HubSpot: a user is created, its owner appears.
    for i in range(N_USERS):
        email = f"user{i}-{run}@example.com"
        body = {"email": email, "firstName": f"User{i}", "lastName": f"Owner {run}", "sendWelcomeEmail": False}
        if s.call("POST", "/settings/v3/users/", body, ok=(200, 201)) is not None:
            seed.user_emails.append(email)
    if seed.user_emails:
        after = None
        while True:
            page = s.call("GET", "/crm/v3/owners?limit=100" + (f"&after={after}" if after else ""))
            if page is None:
                break
            for owner in page.get("results", []):
                if owner.get("email") in seed.user_emails:
                    seed.owners[str(owner["id"])] = owner
            after = (page.get("paging") or {}).get("next", {}).get("after")
            if not after:
                break
        missing = set(seed.user_emails) - {o.get("email") for o in seed.owners.values()}
        if missing:
            seed.failures.append(Failure("GET", "/crm/v3/owners", 200, f"no owner for users {sorted(missing)}"))
    return seed


def _custom_values(name: str, run: str, i: int) -> dict:
    if name == "cars":
        return {"model": f"Model {run} {i}", "year": str(1990 + i), "color": ["red", "blue"][i % 2], "vin": f"VIN-{run}-{i}"}
    return {"pet_name": f"Pet {run} {i}", "species": ["dog", "cat", "parrot"][i % 3]}


def seed_custom(s: Seeder, run: str, contacts: list[str], pick) -> None:
    """The custom types through the schemas API (as HubSpot's guide creates them: properties,
    required/searchable/display properties, contacts in `associatedObjects`), their records
    through the objects API addressed by `2-{n}`, and links to contacts."""
    for name, c in CUSTOM.items():
        props = []
        for prop, kind, field_type in c["properties"]:
            p = {"name": prop, "label": prop.replace("_", " ").title(), "type": kind, "fieldType": field_type}
            if kind == "enumeration":
                p["options"] = [{"label": v.title(), "value": v, "displayOrder": j, "hidden": False}
                                for j, v in enumerate(["red", "blue"])]
            if prop == c["key"]:
                p["hasUniqueValue"] = True
            props.append(p)
        body = {
            "name": name,
            "labels": {"singular": name[:-1].title(), "plural": name.title()},
            "primaryDisplayProperty": c["key"],
            "requiredProperties": [c["key"]],
            "searchableProperties": [c["key"]],
            "secondaryDisplayProperties": [],
            "properties": props,
            "associatedObjects": ["CONTACT"] if c["contacts"] else [],
        }
        schema = s.call("POST", "/crm-object-schemas/v3/schemas", body, ok=(201,))
        if schema is None:
            continue
        s.seed.schemas[name] = schema
        s.create(name, [_custom_values(name, run, i) for i in range(c["count"])], path_type=schema.get("objectTypeId"))
        if c["contacts"] and contacts:
            ids = s.seed.ids(name)
            s.associate(name, "contacts", [(r, pick(contacts, i)) for i, r in enumerate(ids)],
                        path_type=schema.get("objectTypeId"))


def touch(base_url: str, token: str, seed: Seed, tag: str) -> dict[str, set[str]]:
    """Changes a few records and adds a contact after a first sync, for the incremental run to
    find; returns the ids it wrote, by type. `tag` makes each caller's values its own."""
    s = Seeder(base_url, token, seed)
    written: dict[str, set[str]] = {}
    changes = {
        "contacts": {"firstname": f"Changed by {tag}"},
        "companies": {"domain": f"{tag}-{seed.run}.example.com"},
        "deals": {"dealname": f"Deal {seed.run} changed by {tag}"},
        "tickets": {"subject": f"Ticket {seed.run} changed by {tag}"},
        "notes": {"hs_note_body": f"notes {seed.run} changed by {tag}"},
        "calls": {"hs_call_title": f"calls {seed.run} changed by {tag}"},
    }
    for object_type, props in changes.items():
        ids = seed.ids(object_type)
        if not ids:
            continue
        before = len(seed.failures)
        s.update(object_type, ids[0], props)
        if len(seed.failures) == before:
            written.setdefault(object_type, set()).add(ids[0])
    for name in CUSTOM:
        ids, schema = seed.ids(name), seed.schemas.get(name)
        if not ids or not schema:
            continue
        before = len(seed.failures)
        first = CHECKED[name][0]
        s.update(name, ids[0], {first: f"{name} {seed.run} changed by {tag}"}, path_type=schema.get("objectTypeId"))
        if len(seed.failures) == before:
            written.setdefault(name, set()).add(ids[0])
    before = set(seed.ids("contacts"))
    s.create("contacts", [{"email": f"late-{tag}-{seed.run}@example.com", "firstname": "Late", "lastname": seed.run}])
    written.setdefault("contacts", set()).update(set(seed.ids("contacts")) - before)
    return written
