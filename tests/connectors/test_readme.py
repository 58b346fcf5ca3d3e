"""The README's "Run an unmodified connector against spoke", run as written from its curl check
on (trust, Airbyte, Meltano), against the seeded spoke of this session.

run.sh and the `env` fixture did the work of the section's first two steps (spoke on :443 with
its CA, `api.hubapi.com` resolving to 127.0.0.1, in this namespace only). Step 4's installs are
the pinned venvs run.sh made: they are linked where the README expects them, and its
`python3.11 -m venv ...` lines are skipped (there is no network here). Everything else runs as
printed, in a shell without the CA settings a developer machine may carry, and every seeded
record of the streams the README reads must come back.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from checks import expect
from conftest import Env
from seed import Seed

SECTION = "## Run an unmodified connector against spoke"
# Variables that would make requests trust something other than what the README sets up.
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")


def readme_blocks() -> list[str]:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    start = readme.index(SECTION)
    end = readme.find("\n## ", start + len(SECTION))
    return re.findall(r"```sh\n(.*?)\n```", readme[start:end if end > 0 else None], re.S)


def test_readme_connector_section_runs_as_written(env: Env, seed: Seed):
    blocks = readme_blocks()
    expect("spoke serve --https-listen 127.0.0.1:443" in blocks[0], f"step 1 changed: {blocks[0]}")
    expect("127.0.0.1 api.hubapi.com" in blocks[1], f"step 2 changed: {blocks[1]}")
    lines = [line for block in blocks[2:] for line in block.splitlines()
             if not line.startswith("python3.11 -m venv") and not line.startswith("export T=")]
    work = env.workdir / "readme"
    work.mkdir(exist_ok=True)
    for venv in ("airbyte", "meltano"):
        link = work / venv
        if not link.exists():
            link.symlink_to(env.venvs / venv)
    shell_env = {k: v for k, v in os.environ.items() if k not in CA_VARIABLES}
    shell_env.update(T=env.token, SPOKE_CA_DIR=str(env.ca_file.parent),
                     PATH=f"{env.spoke_bin.parent}:{os.environ.get('PATH', '')}")
    script = "set -euo pipefail\n" + "\n".join(lines) + "\n"
    proc = subprocess.run(["bash", "-c", script], cwd=work, env=shell_env, capture_output=True,
                          text=True, timeout=900)
    (work / "stdout").write_text(proc.stdout)
    (work / "stderr").write_text(proc.stderr)
    expect(proc.returncode == 0,
           f"the README's steps exited {proc.returncode}; stderr tail:\n"
           + "\n".join(proc.stderr.splitlines()[-20:]) + f"\n(all output in {work})")

    airbyte: dict[str, set[str]] = {}
    meltano: dict[str, set[str]] = {}
    for line in proc.stdout.splitlines():
        if not line.startswith("{"):
            continue
        try:
            m = json.loads(line)
        except ValueError:
            continue
        if m.get("type") != "RECORD":
            continue
        if "data" in m.get("record", {}):  # Airbyte: {"record": {"stream", "data"}}
            airbyte.setdefault(m["record"]["stream"], set()).add(str(m["record"]["data"].get("id")))
        else:  # Singer: {"stream", "record"}
            meltano.setdefault(m["stream"], set()).add(str(m["record"].get("id")))
    for stream in ("contacts", "companies", "deals"):
        missing = set(seed.ids(stream)) - airbyte.get(stream, set())
        expect(not missing, f"Airbyte, as the README runs it, lost {stream} {sorted(missing)}")
        missing = set(seed.ids(stream)) - meltano.get(stream, set())
        expect(not missing, f"Meltano, as the README runs it, lost {stream} {sorted(missing)}")
