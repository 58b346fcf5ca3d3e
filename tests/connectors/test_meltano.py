"""MeltanoLabs tap-hubspot 0.10.1, from PyPI, unchanged: `--discover`, then a sync of its default
selection with a `start_date` (so its CRM streams page through search, the usual case), then a
second sync from the state it emitted after a few records changed.

Configuration, not patching: the catalog deselects the one default stream whose API spoke does
not emulate, and `associations` asks for the v4 association streams the tap offers.
"""

from __future__ import annotations

import json

import pytest

from checks import compare_pipelines, compare_records, expect, shorten
from conftest import Env, Run, run_connector
from seed import CUSTOM, STEM, Seed, touch

# Default streams that call APIs spoke does not emulate, deselected in the catalog:
#   email_subscriptions: GET /email/public/v1/subscriptions (marketing email subscription
#   types; not CRM data, spoke answers it 403 like a scope the token lacks, and the SDK fails
#   the sync on any 4xx).
DESELECTED = {"email_subscriptions"}

# Meltano stream -> the seeded object type it carries.
CRM_STREAMS = {
    "contacts": "contacts",
    "companies": "companies",
    "deals": "deals",
    "tickets": "tickets",
    "calls": "calls",
    "emails": "emails",
    "meetings": "meetings",
    "notes": "notes",
    "tasks": "tasks",
}
# The tap's v4 association streams, named `<from>_<to>_associations` (singular names, as its
# config documents them), and the seeded types they carry.
ASSOCIATIONS = {
    "contact": ["company"],
    "deal": ["contact", "company"],
    "ticket": ["contact"],
    "note": ["contact"],
}
PLURAL = {"contact": "contacts", "company": "companies", "deal": "deals", "ticket": "tickets", "note": "notes"}


class Meltano:
    def __init__(self, env: Env, seed: Seed):
        self.env = env
        self.bin = str(env.venvs / "meltano" / "bin" / "tap-hubspot")
        self.config = env.workdir / "meltano-config.json"
        # Custom types are configured, not discovered (0.10.1 `custom_object_types`): by
        # fullyQualifiedName, which the tap uses both on the schemas path and on the objects
        # path (a bare name is refused on the latter since HubSpot's 2025 change, §40.2).
        self.custom = {name: schema["fullyQualifiedName"] for name, schema in seed.schemas.items()
                       if schema.get("fullyQualifiedName")}
        # The v4 association streams of the custom types linked to contacts, both ways.
        associations = {k: list(v) for k, v in ASSOCIATIONS.items()}
        for name, fqn in self.custom.items():
            if CUSTOM[name]["contacts"]:
                associations.setdefault(fqn, []).append("contact")
                associations["contact"].append(fqn)
        self.associations = associations
        self.config.write_text(
            json.dumps({"access_token": env.token, "start_date": "2020-01-01T00:00:00Z", "associations": associations,
                        "custom_object_types": sorted(self.custom.values())})
        )

    def run(self, name: str, *args: str) -> Run:
        return run_connector(self.env, f"meltano-{name}", [self.bin, "--config", str(self.config), *args])


def records(run: Run, stream: str) -> list[dict]:
    return [m["record"] for m in run.messages if m.get("type") == "RECORD" and m.get("stream") == stream]


def report(env: Env, run: Run, what: str, stream: str | None = None) -> str:
    """For the run: its stderr and every refused call; for a stream: the refused calls on its
    type's paths."""
    if stream is None:
        return env.failure_report(run.mark, f"{what}\nstderr tail:\n{run.tail(15)}")
    if run.returncode != 0:
        what += f"\n(the run itself exited {run.returncode}, shown by the run's own test)"
    return env.failure_report(run.mark, what, paths=[STEM.get(stream, stream.split("_")[0])])


@pytest.fixture(scope="module")
def meltano(env: Env, seed: Seed) -> Meltano:
    return Meltano(env, seed)


@pytest.fixture(scope="module")
def discovered(meltano: Meltano) -> tuple[Run, dict | None]:
    run = meltano.run("discover", "--discover")
    try:
        catalog = json.loads((meltano.env.workdir / "meltano-discover.out").read_text())
    except ValueError:
        catalog = None
    return run, catalog


@pytest.fixture(scope="module")
def catalog_file(meltano: Meltano, discovered):
    _, catalog = discovered
    if catalog is None:
        pytest.fail("tap-hubspot --discover printed no catalog", pytrace=False)
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] in DESELECTED:
            for md in entry["metadata"]:
                if md["breadcrumb"] == []:
                    md["metadata"]["selected"] = False
    path = meltano.env.workdir / "meltano-catalog.json"
    path.write_text(json.dumps(catalog, indent=1))
    return path


@pytest.fixture(scope="module")
def sync(meltano: Meltano, catalog_file) -> Run:
    return meltano.run("sync", "--catalog", str(catalog_file))


@pytest.fixture(scope="module")
def resync(meltano: Meltano, catalog_file, sync: Run, seed: Seed) -> tuple[Run, dict[str, set[str]]]:
    states = [m["value"] for m in sync.messages if m.get("type") == "STATE"]
    state = meltano.env.workdir / "meltano-state.json"
    state.write_text(json.dumps(states[-1] if states else {}))
    written = touch(meltano.env.spoke_url, meltano.env.seed_token, seed, "meltano")
    return meltano.run("resync", "--catalog", str(catalog_file), "--state", str(state)), written


def test_discover(meltano: Meltano, discovered):
    run, catalog = discovered
    names = {e["tap_stream_id"] for e in (catalog or {}).get("streams", [])}
    wanted = set(CRM_STREAMS) | {"owners", "users", "deal_pipelines", "ticket_pipelines"}
    wanted |= {f"{f}_{t}_associations" for f, ts in ASSOCIATIONS.items() for t in ts}
    expect(run.returncode == 0 and wanted <= names, report(
        meltano.env, run, f"--discover exited {run.returncode}; streams missing: {sorted(wanted - names)}"
    ))


def test_sync_succeeds(meltano: Meltano, sync: Run):
    expect(sync.returncode == 0, report(meltano.env, sync, f"sync exited {sync.returncode}"))


@pytest.mark.parametrize("stream", list(CRM_STREAMS))
def test_sync_records(meltano: Meltano, sync: Run, seed: Seed, stream: str):
    object_type = CRM_STREAMS[stream]
    expect(seed.records.get(object_type), f"nothing was seeded for {object_type}:{seed.failed(object_type)}")
    got = records(sync, stream)
    problems = compare_records(seed, object_type, got)
    expect(not problems, report(meltano.env, sync, f"stream {stream} ({len(got)} records):{shorten(problems)}", stream))


@pytest.mark.parametrize("pair", [f"{f}_{t}" for f, ts in ASSOCIATIONS.items() for t in ts])
def test_sync_associations(meltano: Meltano, sync: Run, seed: Seed, pair: str):
    from_type, to_type = (PLURAL[x] for x in pair.split("_"))
    got = {(str(r["from_id"]), str(r["to_id"])) for r in records(sync, f"{pair}_associations")}
    want = {(fid, tid) for fid in seed.ids(from_type) for tid in seed.linked(from_type, fid, to_type)}
    expect(want, f"no {from_type} -> {to_type} links were seeded:{seed.failed(from_type, to_type)}")
    missing = sorted(want - got)
    expect(not missing, report(meltano.env, sync, f"{pair}_associations: {len(missing)} of {len(want)} links missing, e.g. {missing[:5]}", "associations"))


def test_sync_owners_and_users(meltano: Meltano, sync: Run, seed: Seed):
    expect(seed.owners, f"no owners were seeded:{seed.failed('users', 'owners')}")
    owners = {str(r.get("id")): r for r in records(sync, "owners")}
    users = {r.get("email") for r in records(sync, "users")}
    problems = [f"owner {oid} ({o.get('email')}) did not come back" for oid, o in seed.owners.items() if oid not in owners]
    problems += [f"user {email} did not come back" for email in seed.user_emails if email not in users]
    expect(not problems, report(meltano.env, sync, "owners/users:" + shorten(problems), "owners"))


def test_sync_pipelines(meltano: Meltano, sync: Run, seed: Seed):
    """The pipelines the test wrote, and the default ones its deals and tickets are in, come
    back with their stages (this tap reads every pipeline, whatever its timestamps)."""
    expect(seed.pipelines.get("deals") and seed.pipelines.get("tickets"),
           f"the pipelines were not seeded:{seed.failed('pipelines')}")
    deals, tickets = records(sync, "deal_pipelines"), records(sync, "ticket_pipelines")
    problems = compare_pipelines(seed, "deals", deals) + compare_pipelines(seed, "tickets", tickets)
    defaults = {"default": {p.get("dealstage") for p in seed.records.get("deals", {}).values()} or {"appointmentscheduled"}}
    problems += compare_pipelines(Seed(run=seed.run, pipelines={"deals": defaults}), "deals", deals)
    problems += compare_pipelines(Seed(run=seed.run, pipelines={"tickets": {"0": {"1"}}}), "tickets", tickets)
    expect(not problems, report(meltano.env, sync, "pipelines:" + shorten(problems), "pipelines"))


# ---------------------------------------------------------------------------------------------
# custom objects (issue 12)
# ---------------------------------------------------------------------------------------------


def test_discover_custom_streams(meltano: Meltano, discovered, seed: Seed):
    """A configured custom type is a stream named as configured, with every schema property."""
    expect(meltano.custom and len(meltano.custom) == len(CUSTOM),
           f"not every custom type was seeded:{seed.failed('schemas')}")
    run, catalog = discovered
    entries = {e["tap_stream_id"]: e for e in (catalog or {}).get("streams", [])}
    problems = []
    for name, fqn in meltano.custom.items():
        entry = entries.get(fqn)
        if entry is None:
            problems.append(f"stream {fqn} missing from the catalog")
            continue
        props = entry["schema"].get("properties", {})
        props = {**props, **(props.get("properties") or {}).get("properties", {})}
        missing = [p for p, _, _ in CUSTOM[name]["properties"] if p not in props]
        if missing:
            problems.append(f"{fqn}: properties {missing} missing from its schema")
    expect(not problems, report(meltano.env, run, "custom streams:" + shorten(problems), "schemas"))


@pytest.mark.parametrize("name", list(CUSTOM))
def test_sync_custom_records(meltano: Meltano, sync: Run, seed: Seed, name: str):
    fqn = meltano.custom.get(name)
    expect(fqn and seed.records.get(name), f"no {name} records were seeded:{seed.failed(name, 'schemas')}")
    got = records(sync, fqn)
    problems = compare_records(seed, name, got)
    expect(not problems, report(meltano.env, sync, f"stream {fqn} ({len(got)} records):{shorten(problems)}", name))


@pytest.mark.parametrize("name", [n for n, c in CUSTOM.items() if c["contacts"]])
def test_sync_custom_associations(meltano: Meltano, sync: Run, seed: Seed, name: str):
    """Custom records' links to contacts come back from `POST /crm/v4/associations/{fqn}/contact/
    batch/read` and the reverse, typed with the schema's association definition."""
    fqn = meltano.custom.get(name)
    expect(fqn and seed.ids(name), f"no {name} records were seeded:{seed.failed(name, 'schemas')}")
    definition = {str(a["id"]) for a in seed.schemas[name].get("associations", []) if a.get("toObjectTypeId") == "0-1"}
    want = {(fid, tid) for fid in seed.ids(name) for tid in seed.linked(name, fid, "contacts")}
    expect(want and definition, f"no {name} -> contact links or definition were seeded:{seed.failed(name)}")
    forward = records(sync, f"{fqn}_contact_associations")
    got = {(str(r["from_id"]), str(r["to_id"])) for r in forward}
    back = {(str(r["to_id"]), str(r["from_id"])) for r in records(sync, f"contact_{fqn}_associations")}
    types = {str(r["association_type_id"]) for r in forward}
    problems = [f"{len(want - got)} of {len(want)} {name} -> contact links missing, e.g. {sorted(want - got)[:3]}"] if want - got else []
    problems += [f"{len(want - back)} of {len(want)} contact -> {name} links missing, e.g. {sorted(want - back)[:3]}"] if want - back else []
    if forward and not definition <= types:
        problems.append(f"{name} -> contact type ids {sorted(types)}, the schema's definition is {sorted(definition)}")
    expect(not problems, report(meltano.env, sync, "custom associations:" + shorten(problems), "associations"))


def test_resync_succeeds(meltano: Meltano, resync):
    run, _ = resync
    expect(run.returncode == 0, report(meltano.env, run, f"sync from state exited {run.returncode}"))


@pytest.mark.parametrize("stream", ["contacts", "companies", "deals", "notes", "calls"])
def test_resync_records(meltano: Meltano, resync, seed: Seed, stream: str):
    """Records changed or created after the first sync come back from its state, new values
    included (tickets are a full-table stream in this tap)."""
    run, written = resync
    ids = written.get(CRM_STREAMS[stream])
    expect(ids, f"the test could not change a {stream} record:{seed.failed(CRM_STREAMS[stream])}")
    got = records(run, stream)
    problems = compare_records(seed, CRM_STREAMS[stream], got, only=ids)
    expect(not problems, report(meltano.env, run, f"stream {stream} ({len(got)} records):{shorten(problems)}", stream))



@pytest.mark.parametrize("name", list(CUSTOM))
def test_resync_custom_records(meltano: Meltano, resync, seed: Seed, name: str):
    run, written = resync
    fqn, ids = meltano.custom.get(name), written.get(name)
    expect(fqn and ids, f"the test could not change a {name} record:{seed.failed(name)}")
    got = records(run, fqn)
    problems = compare_records(seed, name, got, only=ids)
    expect(not problems, report(meltano.env, run, f"stream {fqn} ({len(got)} records):{shorten(problems)}", name))
