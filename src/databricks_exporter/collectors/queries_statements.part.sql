-- Part of queries.sql and queries_by_warehouse.sql (included where their `-- include:` line
-- stands): the statements both count, selected once here so that the two cannot drift.

-- Statements that started inside the window, the exporter's own excluded: every statement it
-- sends carries the query tag app=databricks-exporter. IS DISTINCT FROM keeps statements with
-- no tags at all (a NULL tag is not the exporter's). Each statement executes over the
-- half-open interval [start_time, COALESCE(end_time, now)); an end before the start (corrupt
-- rows) is taken as an empty interval. A statement not run on a warehouse (serverless compute
-- for notebooks and jobs) has no warehouse_id.
statements AS (
  SELECT
    workspace_id,
    compute.warehouse_id AS warehouse_id,
    execution_status,
    CAST(total_duration_ms AS DOUBLE) / 1000 AS duration_seconds,
    start_time,
    GREATEST(COALESCE(end_time, current_timestamp()), start_time) AS end_time
  FROM system.query.history
  WHERE start_time >= timestampadd(SECOND, -:lookback_seconds, current_timestamp())
    AND start_time <= current_timestamp()
    AND query_tags['app'] IS DISTINCT FROM 'databricks-exporter'
),
