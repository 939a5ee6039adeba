"""The `keyproxy` command: serve, check and fake-upstream."""
