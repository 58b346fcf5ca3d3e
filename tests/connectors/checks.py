"""What the tests compare: the seeded records against the records a connector emitted."""

from __future__ import annotations

import pytest

from seed import CHECKED, Seed


def _value(record: dict, name: str):
    props = record.get("properties")
    if isinstance(props, dict) and name in props:
        return props[name]
    # Airbyte also flattens properties to top-level `properties_<name>` fields.
    return record.get(f"properties_{name}", record.get(name))


def _same(expected, got) -> bool:
    if expected == got or str(expected) == str(got):
        return True
    try:
        return float(expected) == float(got)
    except (TypeError, ValueError):
        return False


def compare_records(seed: Seed, object_type: str, records: list[dict], only: set[str] | None = None) -> list[str]:
    """Problems with a stream's records: a seeded record missing, or a checked property different.
    `only` restricts the check to some ids (an incremental run)."""
    by_id = {str(r.get("id")): r for r in records}
    problems = []
    expected = seed.records.get(object_type, {})
    for record_id, props in expected.items():
        if only is not None and record_id not in only:
            continue
        got = by_id.get(record_id)
        if got is None:
            problems.append(f"{object_type} {record_id} ({props.get(CHECKED[object_type][0])!r}) did not come back")
            continue
        for name in CHECKED[object_type]:
            if not _same(props.get(name), _value(got, name)):
                problems.append(f"{object_type} {record_id}: {name} = {_value(got, name)!r}, spoke stored {props.get(name)!r}")
    return problems


def compare_links(seed: Seed, object_type: str, records: list[dict], to_types: list[str], field=None) -> list[str]:
    """Problems with association ids a connector put on records (Airbyte's flattened
    `<toType>: [ids]` fields)."""
    by_id = {str(r.get("id")): r for r in records}
    problems = []
    for record_id in seed.ids(object_type):
        got = by_id.get(record_id)
        if got is None:
            continue
        for to_type in to_types:
            want = seed.linked(object_type, record_id, to_type)
            have = {str(x) for x in (got.get(field(to_type) if field else to_type) or [])}
            if not want <= have:
                problems.append(f"{object_type} {record_id} -> {to_type}: expected {sorted(want)}, got {sorted(have)}")
    return problems


def shorten(problems: list[str], limit: int = 15) -> str:
    more = f"\n  ... and {len(problems) - limit} more" if len(problems) > limit else ""
    return "\n  ".join([""] + problems[:limit]) + more


def expect(condition, message: str) -> None:
    """Fails the test with `message` alone: the message already says what spoke refused, and
    pytest's rewrite of a bare assert would print the whole seed after it."""
    if not condition:
        pytest.fail(message, pytrace=False)


def compare_pipelines(seed: Seed, object_type: str, records: list[dict]) -> list[str]:
    """Problems with the pipelines the seed created, as a connector emitted them: the legacy v1
    shape (`pipelineId`, `stages[].stageId`) or v3's (`id`, `stages[].id`)."""
    got = {str(p.get("pipelineId") or p.get("id")): p for p in records}
    problems = []
    for pipeline_id, stages in seed.pipelines.get(object_type, {}).items():
        if pipeline_id not in got:
            problems.append(f"{object_type} pipeline {pipeline_id} did not come back (got {sorted(got)})")
            continue
        have = {str(s.get("stageId") or s.get("id")) for s in got[pipeline_id].get("stages", [])}
        if stages - have:
            problems.append(f"{object_type} pipeline {pipeline_id}: stages {sorted(stages - have)} missing (got {sorted(have)})")
    return problems
