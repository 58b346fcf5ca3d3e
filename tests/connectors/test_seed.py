"""The seed itself: every record, association, user and owner the connectors must bring back was
written. When this fails, the list is what spoke refused, and the stream tests that depend on it
fail with "nothing was seeded"."""

from __future__ import annotations

from checks import expect
from seed import Seed


def test_seed_written(seed: Seed):
    expect(not seed.failures, f"{len(seed.failures)} seeding calls failed:{seed.failed()}")