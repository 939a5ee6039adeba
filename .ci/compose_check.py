"""No Docker engine here: check deploy/compose.yaml against what it names. Its services, volumes and files exist,
the keyproxy command is one keyproxy's own parser takes, its environment loads as valid settings, Redis and the
health check point at the right service, path and port, and nginx forwards to the keyproxy service's port."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

from keyproxy.cli.main import options_from, parser
from keyproxy.config import build_settings
from keyproxy.config.settings import Settings


def check(compose_path: Path) -> list[str]:
    folder = compose_path.parent
    compose: dict[str, Any] = yaml.safe_load(compose_path.read_text())
    services: dict[str, Any] = compose["services"]
    problems: list[str] = []
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            if needed not in services:
                problems.append(f"{name} depends on {needed}, which is not a service")
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                if not (folder / source).exists():
                    problems.append(f"{name} mounts {source}, which does not exist")
            elif source not in (compose.get("volumes") or {}):
                problems.append(f"{name} mounts volume {source}, which is not declared")
    keyproxy = services["keyproxy"]
    build = keyproxy["build"]
    if not (folder / build["context"] / build["dockerfile"]).is_file():
        problems.append(f"the build's Dockerfile {build['dockerfile']} is not in {build['context']}")
    command = keyproxy["command"]
    if command[:2] != ["keyproxy", "serve"]:
        problems.append(f"the keyproxy service does not run keyproxy serve: {command}")
    args = parser().parse_args(command[1:])
    environment = {name: str(value) for name, value in keyproxy.get("environment", {}).items()}
    # The env file holds the user's keys; a proxy key stands in for it, as the bind rule asks for one.
    report = build_settings({**environment, "PROXY_API_KEY": "k" * 32}, options_from(args))
    problems += [f"keyproxy's settings: {error}" for error in report.errors]
    problems += _redis(report.settings, services) + _health(keyproxy, report.settings)
    problems += _nginx(folder, services.get("lb"), report.settings.port)
    if report.settings.workers < 2 and keyproxy.get("deploy", {}).get("replicas", 1) < 2:
        problems.append("neither replicas nor workers: this is not a scale-out recipe")
    grace, drain = keyproxy.get("stop_grace_period", "10s"), report.settings.drain_seconds
    if _seconds(grace) <= drain:
        problems.append(f"stop_grace_period {grace} is not longer than the drain time ({drain} s)")
    return problems


def _redis(settings: Settings, services: dict[str, Any]) -> list[str]:
    url = settings.state.redis_url or ""
    found = re.match(r"redis://([^:/]+)", url)
    if found is None or found.group(1) not in services:
        return [f"KEYPROXY_REDIS_URL {url!r} does not name a service of the file"]
    return []


def _health(keyproxy: dict[str, Any], settings: Settings) -> list[str]:
    test = " ".join(keyproxy["healthcheck"]["test"])
    if f"127.0.0.1:{settings.port}/health" not in test:
        return [f"the health check does not ask /health on port {settings.port}: {test}"]
    return []


def _nginx(folder: Path, lb: dict[str, Any] | None, port: int) -> list[str]:
    if lb is None:
        return ["no lb service in front of the replicas"]
    mounted = next(v.split(":")[0] for v in lb["volumes"] if v.split(":")[1] == "/etc/nginx/nginx.conf")
    conf = (folder / mounted).read_text()
    problems = []
    if f"server keyproxy:{port};" not in conf:
        problems.append(f"nginx does not forward to keyproxy:{port}")
    listen = re.search(r"listen (\d+);", conf)
    published = [str(p).split(":")[-1] for p in lb.get("ports", [])]
    if listen is None or listen.group(1) not in published:
        problems.append(f"nginx listens on a port lb does not publish: {published}")
    if "proxy_buffering off;" not in conf:
        problems.append("nginx buffers answers: streams would arrive in one piece")
    return problems


def _seconds(duration: str) -> float:
    found = re.fullmatch(r"(\d+)(s|m)", duration)
    if found is None:
        return 0.0
    return float(found.group(1)) * (60 if found.group(2) == "m" else 1)


if __name__ == "__main__":
    found = check(Path(sys.argv[1]))
    for problem in found:
        print(f"compose check: {problem}")
    sys.exit(1 if found else 0)
