"""MeltanoLabs tap-hubspot 0.10.1 again, configured with `client_id`, `client_secret` and a
`refresh_token` obtained through spoke's consent page (`oauthflow.py`) instead of an access
token: the tap refreshes at https://api.hubapi.com/oauth/v1/token itself. Discovery and a
full sync run as in test_meltano.py (the same tests, on this module's `meltano` fixture), so
every seeded record, link, owner and pipeline must come back through OAuth too.
"""

from __future__ import annotations

import json

import pytest

from checks import expect
from conftest import Env, Run, run_connector
from oauthflow import install, oauth_calls
from seed import Seed
from test_meltano import (  # noqa: F401  (tests and fixtures run again on this module's meltano)
    Meltano,
    catalog_file,
    sync,
    test_discover,
    test_sync_associations,
    test_sync_owners_and_users,
    test_sync_pipelines,
    test_sync_records,
    test_sync_succeeds,
)


class MeltanoOAuth(Meltano):
    def __init__(self, env: Env, seed: Seed, credentials: dict):
        super().__init__(env, seed)
        self.config = env.workdir / "meltano-oauth-config.json"
        self.config.write_text(json.dumps({
            **credentials, "start_date": "2020-01-01T00:00:00Z", "associations": self.associations,
            "custom_object_types": sorted(self.custom.values()),
        }))

    def run(self, name: str, *args: str) -> Run:
        return run_connector(self.env, f"meltano-oauth-{name}", [self.bin, "--config", str(self.config), *args])


@pytest.fixture(scope="module")
def meltano(env: Env, seed: Seed) -> Meltano:
    return MeltanoOAuth(env, seed, install(env, "meltano").credentials())


@pytest.fixture(scope="module")
def discovered(meltano: Meltano) -> tuple[Run, dict | None]:
    run = meltano.run("discover", "--discover")
    try:
        catalog = json.loads((meltano.env.workdir / "meltano-oauth-discover.out").read_text())
    except ValueError:
        catalog = None
    return run, catalog


def test_oauth_was_used(meltano: Meltano, sync: Run):
    calls = oauth_calls(meltano.env, sync.mark)
    expect(any(c.startswith("POST /oauth/v1/token 200") for c in calls),
           f"the sync did not refresh its token at spoke; OAuth calls: {calls}")
    expect("access_token" not in json.loads(meltano.config.read_text()), "OAuth config only")
