"""A `keyproxy serve` process as a user runs it: the access line on stderr and in the log file, /metrics scraped."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from support import ServeProcess, Upstream


def test_each_request_is_an_access_line_on_stderr_and_in_the_log_file(tmp_path: Path, upstream: Upstream) -> None:
    proxy = ServeProcess(tmp_path, upstream[1])
    assert proxy.chat().status_code == 200
    assert httpx.get(proxy.url + "/v1/nowhere", timeout=10).status_code == 404

    stderr = proxy.stop()

    for text in (stderr, (tmp_path / "data" / "keyproxy.log").read_text()):
        access = [line for line in text.splitlines() if " keyproxy.access: " in line]
        assert '"POST /v1/chat/completions" 200 model=fake/fake-chat provider=fake' in access[-2]
        assert '"GET /v1/nowhere" 404 model=-' in access[-1]


def test_json_access_lines_on_stderr_are_one_object_each(tmp_path: Path, upstream: Upstream) -> None:
    proxy = ServeProcess(tmp_path, upstream[1], extra="KEYPROXY_ACCESS_LOG=json\n")
    proxy.chat()

    stderr = proxy.stop()

    entries = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert [(entry["path"], entry["status"], entry["provider"]) for entry in entries] == [
        ("/health", 200, None), ("/v1/chat/completions", 200, "fake"),
    ]  # fmt: skip


def test_metrics_are_scraped_over_http_in_prometheus_format(tmp_path: Path, upstream: Upstream) -> None:
    proxy = ServeProcess(tmp_path, upstream[1])
    proxy.chat()

    answer = httpx.get(proxy.url + "/metrics", timeout=10)
    proxy.stop()

    families = {family.name: family for family in text_string_to_metric_families(answer.text)}
    samples = families["keyproxy_requests"].samples
    requests = {(sample.labels["route"], sample.labels["status"]): sample.value for sample in samples}
    assert requests[("/v1/chat/completions", "200")] == 1
    states = [sample for sample in families["keyproxy_key_state"].samples if sample.labels["state"] == "ok"]
    assert len(states) == 3 and all(sample.value == 1 for sample in states)
