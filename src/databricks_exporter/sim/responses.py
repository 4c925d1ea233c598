"""The JSON bodies of the Statement Execution API, built from a statement record."""

from __future__ import annotations

from typing import Any

from databricks_exporter.sim.engine import ResultColumn, ResultTable
from databricks_exporter.sim.statements import Chunk, Statement

API = "/api/2.0/sql/statements"


def error_body(error_code: str, message: str) -> dict[str, Any]:
    """Databricks' REST error JSON."""
    return {"error_code": error_code, "message": message}


def _column(position: int, result_column: ResultColumn) -> dict[str, Any]:
    kind = result_column.type
    column: dict[str, Any] = {
        "name": result_column.name,
        "position": position,
        "type_name": kind.type_name,
        "type_text": kind.type_text,
    }
    if kind.precision is not None:
        column["type_precision"] = kind.precision
        column["type_scale"] = kind.scale
    return column


def _chunk_entry(chunk: Chunk) -> dict[str, Any]:
    return {
        "chunk_index": chunk.index,
        "row_offset": chunk.row_offset,
        "row_count": chunk.row_count,
        "byte_count": chunk.byte_count,
    }


def manifest(statement: Statement, result: ResultTable) -> dict[str, Any]:
    """`manifest` of a SUCCEEDED statement: schema, chunks, totals, truncation."""
    columns = [_column(i, column) for i, column in enumerate(result.columns)]
    return {
        "format": "JSON_ARRAY",
        "schema": {"column_count": len(columns), "columns": columns},
        "total_chunk_count": len(statement.chunks),
        "chunks": [_chunk_entry(chunk) for chunk in statement.chunks],
        "total_row_count": len(result.rows),
        "total_byte_count": sum(chunk.byte_count for chunk in statement.chunks),
        "truncated": result.truncated,
    }


def chunk(statement: Statement, result: ResultTable, index: int) -> dict[str, Any]:
    """`result` for one chunk, with the link to the next one unless it is the last."""
    piece = statement.chunks[index]
    body = _chunk_entry(piece)
    body["data_array"] = result.rows[piece.row_offset : piece.row_offset + piece.row_count]
    if index + 1 < len(statement.chunks):
        body["next_chunk_index"] = index + 1
        body["next_chunk_internal_link"] = f"{API}/{statement.id}/result/chunks/{index + 1}"
    return body


def status(statement: Statement) -> dict[str, Any]:
    """`status`: the state, and the error of a FAILED statement."""
    body: dict[str, Any] = {"state": statement.state}
    if statement.state == "FAILED" and statement.error is not None:
        body["error"] = {
            "error_code": statement.error.error_code,
            "message": statement.error.message,
        }
        if statement.error.sql_state:
            body["sql_state"] = statement.error.sql_state
    return body


def statement(record: Statement) -> dict[str, Any]:
    """The full StatementResponse: status, and manifest plus first chunk once SUCCEEDED."""
    body: dict[str, Any] = {"statement_id": record.id, "status": status(record)}
    result = record.result
    if record.state == "SUCCEEDED" and result is not None:
        body["manifest"] = manifest(record, result)
        body["result"] = chunk(record, result, 0)
    return body
