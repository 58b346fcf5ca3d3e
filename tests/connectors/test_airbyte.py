"""Airbyte source-hubspot 5.7.0, from PyPI, unchanged: `check`, `discover`, then `read` of its
default CRM streams, first a full refresh, then incremental from the state it emitted after a few
records changed. Credentials: "Private App Credentials" (a spoke token), so no OAuth call.

Every step that fails says which calls spoke refused (from spoke's access log).
"""

from __future__ import annotations

import json

import pytest

from checks import compare_links, compare_pipelines, compare_records, expect, shorten
from conftest import Env, Run, run_connector
from seed import CUSTOM, STEM, Seed, touch

# Airbyte stream -> the seeded object type it carries.
CRM_STREAMS = {
    "contacts": "contacts",
    "companies": "companies",
    "deals": "deals",
    "tickets": "tickets",
    "engagements_calls": "calls",
    "engagements_emails": "emails",
    "engagements_meetings": "meetings",
    "engagements_notes": "notes",
    "engagements_tasks": "tasks",
}
OTHER_STREAMS = ["owners", "deal_pipelines", "ticket_pipelines"]
STREAMS = list(CRM_STREAMS) + OTHER_STREAMS
# The portal's custom object types, discovered from `GET /crm/v3/schemas` on every run and named
# after each schema's `name` (5.7.0 manifest.yaml `dynamic_streams`); read by fullyQualifiedName.
CUSTOM_STREAMS = list(CUSTOM)
# The associations each stream reads (5.7.0 manifest.yaml), among the types the test seeds.
LINKS = {
    "contacts": ["companies"],
    "companies": ["contacts"],
    "deals": ["companies", "contacts"],
    "tickets": ["companies", "contacts", "deals"],
    **{s: ["companies", "contacts", "deals"] for s in CRM_STREAMS if s.startswith("engagements_")},
}


class Airbyte:
    def __init__(self, env: Env):
        self.env = env
        self.bin = str(env.venvs / "airbyte" / "bin" / "source-hubspot")
        self.config = env.workdir / "airbyte-config.json"
        self.config.write_text(
            json.dumps(
                {
                    "credentials": {"credentials_title": "Private App Credentials", "access_token": env.token},
                    "start_date": "2020-01-01T00:00:00Z",
                }
            )
        )

    def run(self, name: str, *args: str) -> Run:
        return run_connector(self.env, f"airbyte-{name}", [self.bin, *args, "--config", str(self.config)])


def errors(run: Run, stream: str | None = None) -> list[str]:
    """The connector's error traces: the run's own (no stream), or one stream's."""
    out = []
    for m in run.messages:
        if m.get("type") != "TRACE" or m["trace"].get("type") != "ERROR":
            continue
        err = m["trace"]["error"]
        name = (err.get("stream_descriptor") or {}).get("name")
        if name == stream:
            out.append(f"[{name or 'run'}] {err.get('message')} {err.get('internal_message') or ''}".strip()[:600])
    return out


def records(run: Run, stream: str) -> list[dict]:
    return [m["record"]["data"] for m in run.messages if m.get("type") == "RECORD" and m["record"]["stream"] == stream]


def report(env: Env, run: Run, what: str, stream: str | None = None) -> str:
    """For the run: its errors, stderr and every refused call; for a stream: its errors and
    the refused calls on its type's paths."""
    if stream is None:
        errs = "\n".join(errors(run)[:8]) or "(no error trace)"
        return env.failure_report(run.mark, f"{what}\nconnector errors:\n{errs}\nstderr tail:\n{run.tail(10)}")
    errs = "\n".join(errors(run, stream)[:8]) or "(no error trace for this stream)"
    if errors(run):
        errs += f"\n(the run itself failed too: {len(errors(run))} error traces, shown by the run's own test)"
    stem = (STEM[CRM_STREAMS[stream]] if stream in CRM_STREAMS else STEM[stream] if stream in CUSTOM
            else "pipelines" if "pipelines" in stream else "owner")
    if stream in CUSTOM:
        return env.failure_report(run.mark, f"{what}\nconnector errors:\n{errs}", paths=[stem, "schemas"])
    return env.failure_report(run.mark, f"{what}\nconnector errors:\n{errs}", paths=[stem])


@pytest.fixture(scope="module")
def airbyte(env: Env, seed: Seed) -> Airbyte:
    return Airbyte(env)


@pytest.fixture(scope="module")
def discovered(airbyte: Airbyte) -> tuple[Run, dict]:
    run = airbyte.run("discover", "discover")
    catalogs = [m["catalog"] for m in run.messages if m.get("type") == "CATALOG"]
    return run, {s["name"]: s for s in (catalogs[0]["streams"] if catalogs else [])}


def configured_catalog(streams: dict) -> dict:
    out = []
    for name in STREAMS + CUSTOM_STREAMS:
        s = streams.get(name)
        if s is None:
            continue
        incremental = "incremental" in s.get("supported_sync_modes", [])
        out.append(
            {
                "stream": s,
                "sync_mode": "incremental" if incremental else "full_refresh",
                "destination_sync_mode": "append" if incremental else "overwrite",
                "cursor_field": s.get("default_cursor_field") or [],
                "primary_key": s.get("source_defined_primary_key") or [],
            }
        )
    return {"streams": out}


@pytest.fixture(scope="module")
def full_refresh(airbyte: Airbyte, discovered) -> Run:
    _, streams = discovered
    catalog = airbyte.env.workdir / "airbyte-catalog.json"
    catalog.write_text(json.dumps(configured_catalog(streams), indent=1))
    return airbyte.run("read-full", "read", "--catalog", str(catalog))


@pytest.fixture(scope="module")
def incremental(airbyte: Airbyte, full_refresh: Run, seed: Seed) -> tuple[Run, dict[str, set[str]]]:
    latest = {}
    for m in full_refresh.messages:
        if m.get("type") == "STATE":
            state = m["state"]
            name = (state.get("stream") or {}).get("stream_descriptor", {}).get("name", "")
            latest[name] = state
    state_file = airbyte.env.workdir / "airbyte-state.json"
    state_file.write_text(json.dumps(list(latest.values()), indent=1))
    written = touch(airbyte.env.spoke_url, airbyte.env.seed_token, seed, "airbyte")
    catalog = airbyte.env.workdir / "airbyte-catalog.json"
    run = airbyte.run("read-incremental", "read", "--catalog", str(catalog), "--state", str(state_file))
    return run, written


def test_check(airbyte: Airbyte):
    run = airbyte.run("check", "check")
    status = [m["connectionStatus"] for m in run.messages if m.get("type") == "CONNECTION_STATUS"]
    expect(status and status[0]["status"] == "SUCCEEDED", report(
        airbyte.env, run, f"check did not succeed: {status[0] if status else 'no CONNECTION_STATUS'}"
    ))


def test_discover(airbyte: Airbyte, discovered):
    run, streams = discovered
    missing = [s for s in STREAMS if s not in streams]
    expect(run.returncode == 0 and not missing, report(
        airbyte.env, run, f"discover exited {run.returncode}; default CRM streams missing from its catalog: {missing}"
    ))


def test_full_refresh_succeeds(airbyte: Airbyte, discovered, full_refresh: Run):
    # A read of an empty catalog succeeds too; what was not discovered was not read.
    unread = [s for s in STREAMS if s not in discovered[1]]
    expect(full_refresh.returncode == 0 and not errors(full_refresh) and not unread, report(
        airbyte.env, full_refresh, f"read (full refresh) exited {full_refresh.returncode}; streams not read (not discovered): {unread}"
    ))


@pytest.mark.parametrize("stream", list(CRM_STREAMS))
def test_full_refresh_records(airbyte: Airbyte, full_refresh: Run, seed: Seed, stream: str):
    object_type = CRM_STREAMS[stream]
    expect(seed.records.get(object_type), f"nothing was seeded for {object_type}:{seed.failed(object_type)}")
    got = records(full_refresh, stream)
    problems = compare_records(seed, object_type, got) + compare_links(seed, object_type, got, LINKS[stream])
    expect(not problems, report(airbyte.env, full_refresh, f"stream {stream} ({len(got)} records):{shorten(problems)}", stream))


def test_full_refresh_owners(airbyte: Airbyte, full_refresh: Run, seed: Seed):
    expect(seed.owners, f"no owners were seeded:{seed.failed('users', 'owners')}")
    got = {str(r.get("id")): r for r in records(full_refresh, "owners")}
    problems = [
        f"owner {oid} ({o.get('email')}) " + ("did not come back" if oid not in got else f"came back as {got[oid]}")
        for oid, o in seed.owners.items()
        if oid not in got or got[oid].get("email") != o.get("email")
    ]
    expect(not problems, report(airbyte.env, full_refresh, f"stream owners:{shorten(problems)}", "owners"))


def test_full_refresh_pipelines(airbyte: Airbyte, full_refresh: Run, seed: Seed):
    """The pipelines the test wrote come back with their stages. Not the portal's default
    ones: Airbyte keeps pipelines updated since its start date, and HubSpot's defaults carry
    epoch-0 timestamps (hubspot-behavior-platform.md §23.3), so they do not come back from
    HubSpot either."""
    expect(seed.pipelines.get("deals") and seed.pipelines.get("tickets"),
           f"the pipelines were not seeded:{seed.failed('pipelines')}")
    problems = compare_pipelines(seed, "deals", records(full_refresh, "deal_pipelines"))
    problems += compare_pipelines(seed, "tickets", records(full_refresh, "ticket_pipelines"))
    expect(not problems, report(airbyte.env, full_refresh, "pipelines:" + shorten(problems), "deal_pipelines"))


# ---------------------------------------------------------------------------------------------
# custom objects (issue 12)
# ---------------------------------------------------------------------------------------------


def test_discover_custom_streams(airbyte: Airbyte, discovered, seed: Seed):
    """Every custom type of the portal is a stream, its properties typed from the schema."""
    expect(seed.schemas, f"no custom object schema was seeded:{seed.failed('schemas')}")
    run, streams = discovered
    problems = []
    for name, c in CUSTOM.items():
        s = streams.get(name)
        if s is None:
            problems.append(f"custom stream {name} not in the catalog (streams: {sorted(streams)})")
            continue
        props = s["json_schema"].get("properties", {})
        for prop, kind, _ in c["properties"]:
            field = props.get(f"properties_{prop}")
            if field is None:
                problems.append(f"{name}: properties_{prop} missing from its schema")
            elif kind == "number" and "number" not in field.get("type", []):
                problems.append(f"{name}: properties_{prop} is {field}, the schema says number")
        if "incremental" not in s.get("supported_sync_modes", []):
            problems.append(f"{name}: not incremental ({s.get('supported_sync_modes')})")
    expect(not problems, report(airbyte.env, run, "custom streams:" + shorten(problems), CUSTOM_STREAMS[0]))


@pytest.mark.parametrize("stream", CUSTOM_STREAMS)
def test_full_refresh_custom_records(airbyte: Airbyte, full_refresh: Run, seed: Seed, stream: str):
    expect(seed.records.get(stream), f"no {stream} records were seeded:{seed.failed(stream, 'schemas')}")
    got = records(full_refresh, stream)
    problems = compare_records(seed, stream, got)
    extra = {str(r.get("id")) for r in got} - set(seed.ids(stream))
    if extra:
        problems.append(f"records that were never written came back: {sorted(extra)[:5]}")
    expect(not problems, report(airbyte.env, full_refresh, f"custom stream {stream} ({len(got)} records):{shorten(problems)}", stream))


def test_incremental_succeeds(airbyte: Airbyte, discovered, incremental):
    run, _ = incremental
    unread = [s for s in STREAMS if s not in discovered[1]]
    expect(run.returncode == 0 and not errors(run) and not unread, report(
        airbyte.env, run, f"read (incremental) exited {run.returncode}; streams not read (not discovered): {unread}"
    ))


@pytest.mark.parametrize("stream", ["contacts", "companies", "deals", "tickets", "engagements_notes", "engagements_calls"])
def test_incremental_records(airbyte: Airbyte, incremental, seed: Seed, stream: str):
    """Records changed or created after the first sync come back, with their new values."""
    run, written = incremental
    object_type = CRM_STREAMS[stream]
    ids = written.get(object_type)
    expect(ids, f"the test could not change a {object_type} record:{seed.failed(object_type)}")
    got = records(run, stream)
    problems = compare_records(seed, object_type, got, only=ids)
    expect(not problems, report(airbyte.env, run, f"stream {stream} ({len(got)} records):{shorten(problems)}", stream))



@pytest.mark.parametrize("stream", CUSTOM_STREAMS)
def test_incremental_custom_records(airbyte: Airbyte, incremental, seed: Seed, stream: str):
    """A custom record changed after the first sync comes back from its search, new value
    included (`hs_lastmodifieddate` filters, connectors-surface.md §5.3)."""
    run, written = incremental
    ids = written.get(stream)
    expect(ids, f"the test could not change a {stream} record:{seed.failed(stream)}")
    got = records(run, stream)
    problems = compare_records(seed, stream, got, only=ids)
    expect(not problems, report(airbyte.env, run, f"custom stream {stream} ({len(got)} records):{shorten(problems)}", stream))
