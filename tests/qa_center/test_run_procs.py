"""bin/run-procs (what `make run` starts): the web process binds where the README and `make run` say."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def bind_addresses(tmp_path: Path, **env: str) -> list[str]:
    """Run bin/run-procs on the real Procfile with every command echoed instead of started."""
    procfile = tmp_path / "Procfile"
    procfile.write_text(re.sub(r"^(\w+): ", r"\1: echo ", (ROOT / "Procfile").read_text(), flags=re.M))
    environ = {key: value for key, value in os.environ.items() if key not in {"PORT", "HOST"}}
    out = subprocess.run(
        [sys.executable, str(ROOT / "bin" / "run-procs"), "-f", str(procfile), "-d", str(ROOT)],
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return re.findall(r"web\.1 +\| .*--bind (\S+)", out)


@pytest.mark.parametrize(
    ("env", "address"),
    [({}, "127.0.0.1:8000"), ({"PORT": "9123", "HOST": "0.0.0.0"}, "0.0.0.0:9123")],  # noqa: S104
)
def test_the_web_process_binds_the_announced_port_not_honchos_5000(tmp_path, env, address):
    assert bind_addresses(tmp_path, **env) == [address]
