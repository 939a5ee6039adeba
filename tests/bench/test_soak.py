"""The soak script (bench/soak.py) run for a second, so that it cannot rot between the long runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SOAK = Path(__file__).resolve().parents[2] / "bench" / "soak.py"


def test_a_short_soak_drives_a_real_proxy_and_reads_its_memory_fds_and_tasks(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    arguments = ["--seconds", "0.5", "--concurrency", "8", "--sample-every", "0.25", "--warmup", "0", "--settle", "0"]
    arguments += ["--patience", "1"]
    subprocess.run([sys.executable, str(SOAK), *arguments, "--out", str(out)], check=True, timeout=60)
    result = json.loads(out.read_text())
    assert result["requests"] > 0
    assert result["proxy_exit_code"] == 0
    assert all(s["rss_kib"] > 0 and s["fds"] > 0 and s["tasks"] > 0 for s in result["samples"])
    assert result["idle_before"]["tasks"] > 0
