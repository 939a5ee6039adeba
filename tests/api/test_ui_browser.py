"""The dashboard in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`) drives /ui over
a proxy on a real socket in front of the fake upstream. Screenshots go to test-artifacts/ (not committed).

Skipped only where Chromium is not installed; .ci/run installs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from keyproxy.redact import mask
from keyproxy.testing import Fault, FaultKind
from support import KEYS, PROXY_KEY, StartProxy, Upstream
from webdriver import CHROMEDRIVER, CHROMIUM, Browser, chromium

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver (.ci/run installs them)"
)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHAT = {"model": "fake/fake-chat", "messages": [{"role": "user", "content": "hi"}]}
AUTH = {"Authorization": f"Bearer {PROXY_KEY}"}
ADMIN_KEY = "kp-admin-secret-9876543210"
PHONE_FITS = """
    const chart = document.querySelector('#traffic-chart svg');
    return document.documentElement.scrollWidth <= 375 && chart.viewBox.baseVal.width <= 375;
"""
ENV = {"PROXY_API_KEY": PROXY_KEY, "KEYPROXY_AUTH_FAILURE_PAUSE": "0", "KEYPROXY_STATE": "memory"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium(1280, 900) as opened:
        yield opened


def sign_in(browser: Browser, url: str, key: str = PROXY_KEY, *, accepted: bool = True) -> None:
    browser.open(url + "/ui")
    browser.wait(lambda: browser.find("#login-view").attribute("hidden") is None, "the sign-in form")
    browser.find("#login-key").type(key)
    browser.find("#login-submit").click()
    if accepted:
        browser.wait(lambda: browser.find_all(".krow"), "the key rows")


def shown_id(url: str, key: str) -> str:
    """The key's id as the proxy shows it: state in memory, its fingerprints are the process's own."""
    keys = httpx.get(url + "/v1/status", headers=AUTH).json()["providers"]["fake"]["keys"]
    (identity,) = [shown["id"] for shown in keys if shown["key"] == mask(key)]
    return str(identity)


def row(identity: str) -> str:
    return f'.krow[data-id="{identity}"]'


def seconds_left(browser: Browser, identity: str) -> int:
    shown = browser.find(row(identity) + " .cd")
    assert shown.text.endswith("s"), shown.text
    return int(shown.attribute("data-seconds") or -1)


def test_a_cooled_key_counts_down_to_its_recovery(
    browser: Browser, start_proxy: StartProxy, upstream: Upstream
) -> None:
    upstream[0].set_fault(KEYS[0], Fault(FaultKind.RATE_LIMIT, retry_after=120, times=1))
    url = start_proxy(ENV)
    cooled = shown_id(url, KEYS[0])
    assert httpx.post(url + "/v1/chat/completions", json=CHAT, headers=AUTH).status_code == 200
    sign_in(browser, url)
    browser.wait(lambda: browser.find(row(cooled)).attribute("data-status") == "cooling", "a cooling key")
    first = seconds_left(browser, cooled)
    assert 0 < first <= 120
    later = browser.wait(lambda: (left := seconds_left(browser, cooled)) != first and left, "the countdown to move")
    assert later < first
    assert "rate limited" in browser.find("#failures tbody").text
    # The one error the page may log: its first call, without a key, answered 401 before the sign-in.
    assert [error for error in browser.console_errors() if "/v1/status" not in error or "401" not in error] == []
    browser.screenshot(ARTIFACTS / "dashboard.png")
    browser.emulate(375, 812)
    try:
        browser.wait(lambda: browser.script(PHONE_FITS), "the page and its chart drawn at the phone's width")
        browser.screenshot(ARTIFACTS / "dashboard-375.png")
    finally:
        browser.stop_emulating()


def test_a_wrong_key_is_refused_and_shows_no_data(browser: Browser, start_proxy: StartProxy) -> None:
    sign_in(browser, start_proxy(ENV), key="not-the-key", accepted=False)
    assert browser.wait(lambda: browser.find("#login-error").text, "the refusal") == "That key was not accepted."
    assert browser.find("#app-view").attribute("hidden") is not None
    assert browser.find_all(".krow") == []


def test_with_an_admin_key_the_proxy_key_is_refused_and_the_admin_key_signs_in(
    browser: Browser, start_proxy: StartProxy
) -> None:
    url = start_proxy({**ENV, "KEYPROXY_ADMIN_KEY": ADMIN_KEY})
    sign_in(browser, url, accepted=False)
    assert browser.wait(lambda: browser.find("#login-error").text, "the refusal") == "That key was not accepted."
    browser.script("document.getElementById('login-key').value = ''")
    browser.find("#login-key").type(ADMIN_KEY)
    browser.find("#login-submit").click()
    browser.wait(lambda: len(browser.find_all(".krow")) == len(KEYS), "the key rows")


def test_a_key_is_disabled_and_enabled_again(browser: Browser, start_proxy: StartProxy) -> None:
    url = start_proxy(ENV)
    sign_in(browser, url)
    second = shown_id(url, KEYS[1])
    toggle = row(second) + ' button[data-act="toggle"]'
    browser.find(toggle).click()
    browser.wait(lambda: browser.find(row(second)).attribute("data-status") == "disabled", "a disabled key")
    keys = httpx.get(url + "/v1/status", headers=AUTH).json()["providers"]["fake"]["keys"]
    assert [key["disabled"] for key in keys] == [False, True, False]
    browser.wait(lambda: browser.find(toggle).text == "Enable", "the enable button")
    browser.find(toggle).click()
    browser.wait(lambda: browser.find(row(second)).attribute("data-status") == "ok", "the key enabled again")
    assert httpx.get(url + "/v1/status", headers=AUTH).json()["providers"]["fake"]["keys"][1]["disabled"] is False


def test_a_key_at_its_custom_cap_is_shown_held_with_why(browser: Browser, start_proxy: StartProxy) -> None:
    url = start_proxy({**ENV, "ROTATION_MODE_FAKE": "sequential", "CUSTOM_CAP_FAKE_T1_FAKE_CHAT": "1"})
    capped = shown_id(url, KEYS[0])
    assert httpx.post(url + "/v1/chat/completions", json=CHAT, headers=AUTH).status_code == 200
    sign_in(browser, url)
    browser.wait(lambda: browser.find(row(capped)).attribute("data-status") == "held", "a held key")
    assert browser.find(row(capped) + " .pill").text == "held"
    assert "fake-chat: at its custom cap until" in (browser.find(row(capped) + " .cd").attribute("title") or "")
    assert browser.find(row(capped) + ' button[data-act="reset"]').attribute("hidden") is not None
