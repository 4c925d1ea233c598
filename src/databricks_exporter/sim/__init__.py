"""The simulated Databricks workspace: OIDC, the Statement Execution API and system tables."""

from databricks_exporter.sim.faults import FaultError, Faults, FaultSpec
from databricks_exporter.sim.threaded import ThreadedWorkspace
from databricks_exporter.sim.workspace import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_WAREHOUSE_ID,
    DEFAULT_WORKSPACE_ID,
    SimulatedWorkspace,
)

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_WAREHOUSE_ID",
    "DEFAULT_WORKSPACE_ID",
    "FaultError",
    "FaultSpec",
    "Faults",
    "SimulatedWorkspace",
    "ThreadedWorkspace",
]
