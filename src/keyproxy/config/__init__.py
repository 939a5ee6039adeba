"""Configuration: one frozen Settings object, built once from CLI flags, the environment and `.env`."""

from keyproxy.config.loader import (
    CliOptions,
    ConfigReport,
    InvalidConfiguration,
    build_settings,
    inspect_config,
    load_settings,
)
from keyproxy.config.settings import Credential, ProviderSettings, Settings, Timeouts

__all__ = [
    "CliOptions",
    "ConfigReport",
    "Credential",
    "InvalidConfiguration",
    "ProviderSettings",
    "Settings",
    "Timeouts",
    "build_settings",
    "inspect_config",
    "load_settings",
]
