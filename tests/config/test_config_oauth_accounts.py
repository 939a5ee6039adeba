"""Gemini CLI accounts read from where the old proxy kept them, and credential files written back unchanged
but for what keyproxy updates."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from keyproxy.config import CliOptions
from keyproxy.config.credential_file import TokenUpdate, read_credential, write_credential
from keyproxy.config.loader import ConfigReport, build_settings

ALPHA = "1//alpha-refresh-token-000000000000001"
BRAVO = "1//bravo-refresh-token-000000000000002"


def build(values: dict[str, str], cwd: Path) -> ConfigReport:
    return build_settings(values, CliOptions(), cwd=cwd)


def write(path: Path, refresh: str | None, **extra: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, object] = {"access_token": "ya29.old-access-token", "expiry_date": 1_700_000_000_000, **extra}
    if refresh is not None:
        data["refresh_token"] = refresh
    path.write_text(json.dumps(data))
    return path


def test_files_in_the_oauth_directory_are_accounts_in_number_order(tmp_path: Path) -> None:
    write(tmp_path / "oauth_creds" / "gemini_cli_oauth_10.json", BRAVO)
    write(tmp_path / "oauth_creds" / "gemini_cli_oauth_2.json", ALPHA, _proxy_metadata={"project_id": "p", "tier": "t"})

    provider = build({}, tmp_path).settings.providers["gemini_cli"]

    assert [c.secret for c in provider.credentials] == [ALPHA, BRAVO]
    first = provider.credentials[0].account
    assert first is not None
    assert (first.project, first.tier, first.expires_at) == ("p", "t", 1_700_000_000.0)
    assert provider.protocol == "gemini_cli"
    assert provider.base_url == "https://cloudcode-pa.googleapis.com/v1internal"


def test_a_file_a_variable_names_and_its_copy_in_the_directory_are_one_account(tmp_path: Path) -> None:
    original = write(tmp_path / "home" / "oauth_creds.json", ALPHA)
    write(tmp_path / "oauth_creds" / "gemini_cli_oauth_1.json", ALPHA)

    report = build({"GEMINI_CLI_OAUTH_1": str(original)}, tmp_path)

    [credential] = report.settings.providers["gemini_cli"].credentials
    assert credential.source == "GEMINI_CLI_OAUTH_1"
    assert any("same account" in warning for warning in report.settings.warnings)


def test_numbered_variables_are_accounts_and_the_plain_ones_only_without_them(tmp_path: Path) -> None:
    values = {
        "GEMINI_CLI_1_REFRESH_TOKEN": ALPHA, "GEMINI_CLI_1_ACCESS_TOKEN": "ya29.a", "GEMINI_CLI_1_EXPIRY_DATE": "5000",
        "GEMINI_CLI_1_PROJECT_ID": "proj-1", "GEMINI_CLI_REFRESH_TOKEN": BRAVO,
    }  # fmt: skip

    [credential] = build(values, tmp_path).settings.providers["gemini_cli"].credentials

    assert credential.secret == ALPHA
    assert credential.account is not None
    assert (credential.account.access_token, credential.account.expires_at) == ("ya29.a", 5.0)
    assert (credential.account.project, credential.account.path) == ("proj-1", None)


def test_the_project_variable_fills_accounts_that_name_none(tmp_path: Path) -> None:
    write(tmp_path / "oauth_creds" / "gemini_cli_oauth_1.json", ALPHA)
    write(tmp_path / "oauth_creds" / "gemini_cli_oauth_2.json", BRAVO, _proxy_metadata={"project_id": "own"})

    provider = build({"GEMINI_CLI_PROJECT_ID": "shared"}, tmp_path).settings.providers["gemini_cli"]

    assert [c.account.project for c in provider.credentials if c.account] == ["shared", "own"]


def test_a_file_without_a_refresh_token_is_named_and_ignored(tmp_path: Path) -> None:
    write(tmp_path / "oauth_creds" / "gemini_cli_oauth_1.json", None)
    (tmp_path / "oauth_creds" / "gemini_cli_oauth_2.json").write_text("not json ya29.secret")

    report = build({}, tmp_path)

    assert "gemini_cli" not in report.settings.providers
    problems = [warning for warning in report.settings.warnings if "gemini_cli_oauth_" in warning]
    assert len(problems) == 2
    assert not any("ya29" in warning for warning in problems)


def test_an_api_key_for_gemini_cli_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "oauth_creds" / "gemini_cli_oauth_1.json", ALPHA)

    report = build({"GEMINI_CLI_API_KEY": "sk-some-key-0000000000001"}, tmp_path)

    assert [error.variable for error in report.errors] == ["GEMINI_CLI_API_KEY"]


def test_tokens_are_secrets_of_the_settings(tmp_path: Path) -> None:
    write(tmp_path / "oauth_creds" / "gemini_cli_oauth_1.json", ALPHA)

    settings = build({}, tmp_path).settings

    assert {ALPHA, "ya29.old-access-token"} <= set(settings.secrets())
    assert ALPHA not in repr(settings) and "ya29" not in repr(settings)


def test_the_oauth_endpoints_and_directory_can_be_moved(tmp_path: Path) -> None:
    values = {"GEMINI_CLI_TOKEN_URI": "http://127.0.0.1:9/token", "KEYPROXY_OAUTH_DIR": "accounts"}

    oauth = build(values, tmp_path).settings.google_oauth

    assert (oauth.token_url, oauth.directory) == ("http://127.0.0.1:9/token", tmp_path / "accounts")


def test_writing_back_keeps_unknown_fields_and_leaves_the_file_owner_only(tmp_path: Path) -> None:
    path = write(tmp_path / "creds.json", ALPHA, scope="cloud-platform", _proxy_metadata={"email": "a@example.com"})
    path.chmod(0o644)

    write_credential(path, TokenUpdate("ya29.new", 1_800_000_000.0, project="proj", tier="standard-tier"))

    data = json.loads(path.read_text())
    assert data["access_token"] == "ya29.new"
    assert data["expiry_date"] == 1_800_000_000_000
    assert data["scope"] == "cloud-platform"
    assert data["_proxy_metadata"] == {"email": "a@example.com", "project_id": "proj", "tier": "standard-tier"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["creds.json"]


def test_gcloud_files_nest_the_tokens_and_give_an_iso_expiry(tmp_path: Path) -> None:
    path = tmp_path / "gcloud.json"
    path.write_text(json.dumps({"credential": {"refresh_token": ALPHA, "token_expiry": "2030-01-01T00:00:00Z"}}))

    refresh, account = read_credential(path)
    write_credential(path, TokenUpdate("ya29.new", 1_900_000_000.0))

    assert (refresh, account.expires_at) == (ALPHA, 1_893_456_000.0)
    assert json.loads(path.read_text())["credential"]["token_expiry"] == "2030-03-17T17:46:40Z"


def test_an_accounts_pro_models_share_one_quota_unless_told_otherwise(tmp_path: Path) -> None:
    write(tmp_path / "oauth_creds" / "gemini_cli_oauth_1.json", ALPHA)

    built_in = build({}, tmp_path).settings.providers["gemini_cli"].quota_groups
    changed = build({"QUOTA_GROUPS_GEMINI_CLI_PRO": "", "QUOTA_GROUPS_GEMINI_CLI_FLASH": "a,b"}, tmp_path)

    assert built_in["pro"] == ("gemini-2.5-pro", "gemini-3-pro-preview")
    assert dict(changed.settings.providers["gemini_cli"].quota_groups) == {"flash": ("a", "b")}
