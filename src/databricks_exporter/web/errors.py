"""Start-up errors of the web front; both are ConfigErrors, so the app exits non-zero on them."""

from __future__ import annotations

from databricks_exporter.settings import ConfigError

LISTEN_FLAG = "--web.listen-address [env DATABRICKS_EXPORTER_WEB_LISTEN_ADDRESS]"
CONFIG_FLAG = "--web.config.file [env DATABRICKS_EXPORTER_WEB_CONFIG_FILE]"


class StartupError(ConfigError):
    """The web front cannot start: a listener cannot bind or the web config is bad."""


class WebConfigError(StartupError):
    """The web config file is malformed; `key` names the offending key (dotted path)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key = key
        self.problem = problem

    def within(self, context: str) -> WebConfigError:
        """The same error with `context` (flag and file) in front of its message."""
        error = WebConfigError(self.key, self.problem)
        error.args = (f"{context}: {self}",)
        return error
