"""Airbyte source-hubspot 5.7.0 again, with "OAuth Credentials": the client id and secret of an
app registered in spoke and a refresh token obtained through spoke's consent page
(`oauthflow.py`). The connector refreshes its access token at
https://api.hubapi.com/oauth/v1/token and reads its granted scopes from
`/oauth/v1/access-tokens/{token}` to choose its streams; then `check`, `discover` and a full
refresh read run as in test_airbyte.py (the same tests, on this module's `airbyte` fixture),
so every seeded record must come back through OAuth too.
"""

from __future__ import annotations

import json

import pytest

from checks import expect
from conftest import Env, Run, run_connector
from oauthflow import install, oauth_calls
from seed import Seed
from test_airbyte import (  # noqa: F401  (tests and fixtures run again on this module's airbyte)
    Airbyte,
    discovered,
    full_refresh,
    test_check,
    test_discover,
    test_full_refresh_owners,
    test_full_refresh_pipelines,
    test_full_refresh_records,
    test_full_refresh_succeeds,
)


class AirbyteOAuth(Airbyte):
    def __init__(self, env: Env, credentials: dict):
        super().__init__(env)
        self.config = env.workdir / "airbyte-oauth-config.json"
        self.config.write_text(json.dumps({
            "credentials": {"credentials_title": "OAuth Credentials", **credentials},
            "start_date": "2020-01-01T00:00:00Z",
        }))

    def run(self, name: str, *args: str) -> Run:
        return run_connector(self.env, f"airbyte-oauth-{name}", [self.bin, *args, "--config", str(self.config)])


@pytest.fixture(scope="module")
def airbyte(env: Env, seed: Seed) -> Airbyte:
    return AirbyteOAuth(env, install(env, "airbyte").credentials())


def test_oauth_was_used(airbyte: Airbyte, full_refresh: Run):
    """The read refreshed its token at spoke and asked for its scopes, and used no private-app
    token: its config has none."""
    calls = oauth_calls(airbyte.env, full_refresh.mark)
    expect(any(c.startswith("POST /oauth/v1/token 200") for c in calls),
           f"no successful token refresh during the read; OAuth calls: {calls}")
    expect(any(c.startswith("GET /oauth/v1/access-tokens/") and c.endswith(" 200") for c in calls),
           f"the granted scopes were not read; OAuth calls: {calls}")
    expect("access_token" not in json.loads(airbyte.config.read_text())["credentials"], "OAuth config only")
