"""Configuration: one frozen Settings object, built once from CLI flags, the environment, `.env` and a config file."""

from keyproxy.config.file import ConfigFile, parse_config
from keyproxy.config.loader import (
    CliOptions,
    ConfigReport,
    build_settings,
    inspect_config,
    load_settings,
)
from keyproxy.config.settings import Alias, Credential, EngineSettings, ProviderSettings, Settings, Timeouts

__all__ = [
    "Alias",
    "CliOptions",
    "ConfigFile",
    "ConfigReport",
    "Credential",
    "EngineSettings",
    "ProviderSettings",
    "Settings",
    "Timeouts",
    "build_settings",
    "inspect_config",
    "load_settings",
    "parse_config",
]
