"""The warehouse side of a statement: wait for compute, translate, run, record, publish."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass

from databricks_exporter.logs import get_logger
from databricks_exporter.sim import history
from databricks_exporter.sim.clock import SimClock
from databricks_exporter.sim.corrupt import corrupt
from databricks_exporter.sim.engine import Engine, InlineLimitError, Interrupted, ResultTable
from databricks_exporter.sim.faults import Faults
from databricks_exporter.sim.statements import (
    Statement,
    StatementError,
    StatementRequest,
    StatementStore,
    split_chunks,
)
from databricks_exporter.sim.stats import Stats
from databricks_exporter.sim.translate import Defaults, SqlError, bind_parameters, translate

log = get_logger("sim.runner")

_INLINE_TOO_LARGE = (
    "The statement result is larger than the 25 MiB allowed for the INLINE disposition. "
    "Use the EXTERNAL_LINKS disposition, or reduce the result with row_limit or byte_limit."
)


@dataclass(frozen=True)
class RunnerConfig:
    """How results are cut and who runs the statements."""

    chunk_bytes: int
    identity: history.Identity


class _Outcome(Exception):
    """How a statement ended, carried out of the pipeline."""

    def __init__(self, state: str, error: StatementError | None = None) -> None:
        super().__init__(state)
        self.state = state
        self.error = error


class Runner:
    """Runs accepted statements as tasks on the event loop, DuckDB on worker threads."""

    def __init__(
        self,
        *,
        engine: Engine,
        store: StatementStore,
        faults: Faults,
        clock: SimClock,
        stats: Stats,
        config: RunnerConfig,
    ) -> None:
        self._engine = engine
        self._store = store
        self._faults = faults
        self._clock = clock
        self._stats = stats
        self._config = config
        self._ready_at = 0.0

    def submit(self, request: StatementRequest) -> Statement:
        """Accept a statement and start running it."""
        statement = Statement(request=request, submitted_at=self._clock.now())
        self._store.add(statement)
        self._stats.started(request.tags)
        statement.task = asyncio.create_task(self._run(statement), name=f"stmt-{statement.id}")
        return statement

    async def wait(self, statement: Statement, seconds: float) -> bool:
        """Wait up to `seconds` for the statement to finish; True if it did."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(statement.done.wait(), seconds)
        return statement.done.is_set()

    def cancel(self, statement: Statement) -> None:
        """Ask a running statement to stop; a finishing one wins the race."""
        if statement.terminal or statement.settling or statement.task is None:
            return
        statement.cancel_requested = True
        if statement.execution is not None:
            statement.execution.cancel()
        statement.task.cancel()

    async def shutdown(self) -> None:
        """Cancel everything still running and wait for it to be recorded."""
        pending = [s for s in self._store.all() if not s.done.is_set()]
        for statement in pending:
            self.cancel(statement)
        await asyncio.gather(*(s.done.wait() for s in pending))

    async def _run(self, statement: Statement) -> None:
        try:
            table = await self._pipeline(statement)
            outcome = _Outcome("SUCCEEDED")
        except _Outcome as ended:
            table, outcome = None, ended
        except asyncio.CancelledError:
            table, outcome = None, _Outcome("CANCELED")
        except Exception as error:  # a bug here must not leave the statement hanging
            log.error("statement crashed", statement_id=statement.id, exc_info=True)
            table = None
            outcome = _Outcome("FAILED", StatementError("INTERNAL_ERROR", str(error), "XX000"))
        await self._settle(statement, table, outcome)

    async def _pipeline(self, statement: Statement) -> ResultTable:
        request = statement.request
        await self._wait_for_compute()
        statement.state, statement.started = "RUNNING", time.monotonic()
        try:
            # sqlglot takes tens of milliseconds on a large statement: not on the event loop.
            sql, params = await self._engine.call(self._compile, request, self._clock.now())
        except SqlError as error:
            raise _Outcome("FAILED", _sql_failure(error)) from None
        statement.compiled = time.monotonic()
        table = await self._execute(statement, sql, params)
        slow = self._faults.take("slow_statements", request.tags)
        if slow is not None:
            self._stats.fault("slow_statement")
            await asyncio.sleep(slow.seconds)
        damage = self._faults.take("corrupt", request.tags)
        if damage is not None:
            self._stats.fault(f"corrupt_{damage.mode}")
            table = corrupt(table, damage)
        return table

    def _compile(
        self, request: StatementRequest, now: dt.datetime
    ) -> tuple[str, dict[str, object]]:
        """DuckDB SQL and bound parameters for a request, or SqlError (blocking)."""
        translated = translate(
            request.statement,
            now=now,
            known_tables=self._visible_tables(),
            defaults=Defaults(request.catalog, request.schema),
        )
        self._check_permissions(translated.tables)
        return translated.sql, bind_parameters(translated.parameters, request.parameters)

    async def _execute(
        self, statement: Statement, sql: str, params: Mapping[str, object]
    ) -> ResultTable:
        tags = statement.request.tags
        execution = self._engine.execution(lambda seconds: self._stats.engine(seconds, tags))
        statement.execution = execution
        try:
            return await self._engine.call(execution.run, sql, params, statement.request.limits)
        except SqlError as error:
            raise _Outcome("FAILED", _sql_failure(error)) from None
        except InlineLimitError:
            failure = StatementError("BAD_REQUEST", _INLINE_TOO_LARGE)
            raise _Outcome("FAILED", failure) from None
        except Interrupted:
            raise _Outcome("CANCELED") from None

    async def _wait_for_compute(self) -> None:
        now = time.monotonic()
        cold_start = self._faults.take("warehouse_stopped")
        if cold_start is not None and self._ready_at <= now:
            log.info("warehouse starting", seconds=cold_start)
            self._stats.fault("warehouse_stopped")
            self._ready_at = now + cold_start
        if self._ready_at > now:
            await asyncio.sleep(self._ready_at - now)

    def _visible_tables(self) -> frozenset[str]:
        return self._engine.known_tables() - self._faults.spec.hidden_tables

    def _check_permissions(self, tables: frozenset[str]) -> None:
        denied = sorted(tables & self._faults.spec.denied_tables)
        if denied:
            raise SqlError(
                "INSUFFICIENT_PERMISSIONS",
                "42501",
                f"Insufficient privileges: User does not have SELECT on Table '{denied[0]}'.",
            )

    async def _settle(
        self, statement: Statement, table: ResultTable | None, outcome: _Outcome
    ) -> None:
        """Record the statement in query history, then make its end visible to clients."""
        statement.settling = True
        statement.finished = time.monotonic()
        statement.result = table
        statement.error = outcome.error
        values = history.row(statement, self._config.identity, outcome.state)
        try:
            await self._engine.call(history.append, self._engine.cursor(), values)
        except Exception:
            log.error("query history append failed", statement_id=statement.id, exc_info=True)
        if table is not None:
            statement.chunks = split_chunks(table, self._config.chunk_bytes)
        statement.state = outcome.state
        self._stats.finished(outcome.state.lower(), statement.request.tags)
        statement.done.set()


def _sql_failure(error: SqlError) -> StatementError:
    return StatementError("BAD_REQUEST", str(error), error.sql_state)
