"""Loading the settings for a command, with every configuration error said on stderr."""

from __future__ import annotations

import sys

from keyproxy.config import CliOptions, Settings, load_settings
from keyproxy.errors import ConfigError, InvalidConfiguration


def load(options: CliOptions) -> Settings | None:
    try:
        return load_settings(options)
    except InvalidConfiguration as invalid:
        for error in invalid.errors:
            sys.stderr.write(f"keyproxy: configuration error: {error}\n")
    except ConfigError as error:
        sys.stderr.write(f"keyproxy: configuration error: {error}\n")
    return None
