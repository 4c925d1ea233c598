"""The HTTP front: telemetry path, landing page, health, and the exporter-toolkit web config.

`WebServer(settings, state, version=...)` is all the app needs: `start()` binds every
`--web.listen-address` (raising `StartupError`, a `ConfigError`, on a bad web config, a port in
use or a bad address) and `stop()` closes listeners and connections.
"""

from databricks_exporter.web.config import WebConfig, load_web_config
from databricks_exporter.web.connection import Limits
from databricks_exporter.web.errors import StartupError, WebConfigError
from databricks_exporter.web.server import WebServer

__all__ = [
    "Limits",
    "StartupError",
    "WebConfig",
    "WebConfigError",
    "WebServer",
    "load_web_config",
]
