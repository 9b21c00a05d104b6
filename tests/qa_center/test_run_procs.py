"""bin/run-procs (what `make run` starts): the web process binds where the README and `make run` say."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_procs(procfile: Path, root: Path, **env: str) -> str:
    """bin/run-procs's output on a Procfile, with PORT, HOST and SITE_URL only as given."""
    environ = {key: value for key, value in os.environ.items() if key not in {"PORT", "HOST", "SITE_URL"}}
    return subprocess.run(
        [sys.executable, str(ROOT / "bin" / "run-procs"), "-f", str(procfile), "-d", str(root)],
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout


def bind_addresses(tmp_path: Path, **env: str) -> list[str]:
    """Run bin/run-procs on the real Procfile with every command echoed instead of started."""
    procfile = tmp_path / "Procfile"
    procfile.write_text(re.sub(r"^(\w+): ", r"\1: echo ", (ROOT / "Procfile").read_text(), flags=re.M))
    return re.findall(r"web\.1 +\| .*--bind (\S+)", run_procs(procfile, ROOT, **env))


@pytest.mark.parametrize(
    ("env", "address"),
    [({}, "127.0.0.1:8000"), ({"PORT": "9123", "HOST": "0.0.0.0"}, "0.0.0.0:9123")],  # noqa: S104
)
def test_the_web_process_binds_the_announced_port_not_honchos_5000(tmp_path, env, address):
    assert bind_addresses(tmp_path, **env) == [address]


@pytest.mark.parametrize(
    ("env", "site_url"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"PORT": "9123", "HOST": "0.0.0.0"}, "http://127.0.0.1:9123"),  # noqa: S104
        ({"PORT": "9123", "HOST": "::1"}, "http://[::1]:9123"),
        ({"PORT": "9123", "SITE_URL": "https://qa.example.com"}, "https://qa.example.com"),
    ],
)
def test_every_process_links_to_where_the_web_process_listens(tmp_path, env, site_url):
    """Survey and follow-up links are built from SITE_URL in the worker, whose own PORT honcho numbers
    differently: run-procs points SITE_URL at the web process unless it is set."""
    procfile = tmp_path / "Procfile"
    procfile.write_text("web: echo web $SITE_URL\nworker: echo worker $SITE_URL\n")
    out = run_procs(procfile, tmp_path, **env)
    assert sorted(re.findall(r"\| (web|worker) (\S+)", out)) == [("web", site_url), ("worker", site_url)]
