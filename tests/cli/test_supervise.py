"""The supervisor stays light: it starts workers, it does not build the application itself."""

from __future__ import annotations

import subprocess
import sys


def test_the_supervisor_imports_no_server_no_upstream_client_and_no_application() -> None:
    code = (
        "import sys\n"
        "import keyproxy.cli.main, keyproxy.cli.supervise\n"
        "heavy = ('uvicorn', 'aiohttp', 'redis', 'keyproxy.wiring', 'keyproxy.api', 'keyproxy.state')\n"
        "print(sorted(name for name in sys.modules if name.startswith(heavy)))\n"
    )

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30)

    assert result.stdout.strip() == "[]"
