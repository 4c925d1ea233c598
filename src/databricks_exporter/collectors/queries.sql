-- Queries collector: one statement, long-format rows (metric, workspace_id, quantile, value).
--
-- Parameters (all seconds):
--   :lookback_seconds  the window [now - lookback, now]  (--queries-lookback)

WITH
-- include: queries_statements.part.sql

-- Per workspace with statements in the window: statements, failures (0 when none) and the
-- duration sketch over the statements that have a duration (NULL when none has one).
workspace_counts AS (
  SELECT
    workspace_id,
    COUNT(*) AS statements,
    count_if(execution_status = 'FAILED') AS failures,
    percentile_approx(duration_seconds, array(0.5, 0.95, 0.99)) AS quantiles
  FROM statements
  GROUP BY workspace_id
),

duration_quantiles AS (
  SELECT
    workspace_id,
    CASE pos WHEN 0 THEN '0.5' WHEN 1 THEN '0.95' WHEN 2 THEN '0.99' END AS quantile,
    seconds
  FROM workspace_counts
  LATERAL VIEW posexplode(quantiles) exploded AS pos, seconds
  WHERE quantiles IS NOT NULL
),

-- Concurrency as a sweep: +1 at each start, -1 at each end. Sorting the events by time, ends
-- before starts at the same instant (intervals are half-open, so a statement ending when
-- another starts never overlaps it), and summing them in order gives the number of statements
-- executing after each event; the peak is its maximum. One sort per workspace: O(n log n),
-- where a self-join on overlapping intervals would be O(n^2).
events AS (
  SELECT workspace_id, start_time AS event_time, 1 AS delta FROM statements
  UNION ALL
  SELECT workspace_id, end_time AS event_time, -1 AS delta FROM statements
),

running AS (
  SELECT
    workspace_id,
    SUM(delta) OVER (
      PARTITION BY workspace_id
      ORDER BY event_time, delta
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS executing
  FROM events
),

-- Peak per workspace; every workspace with statements in the window has one (0 when all its
-- intervals are empty).
peaks AS (
  SELECT workspace_id, MAX(executing) AS peak
  FROM running
  GROUP BY workspace_id
)

SELECT
  '__now__' AS metric,
  CAST(NULL AS STRING) AS workspace_id,
  CAST(NULL AS STRING) AS quantile,
  CAST(unix_timestamp(current_timestamp()) AS DOUBLE) AS value
UNION ALL
SELECT 'databricks_queries_total', workspace_id, NULL, CAST(statements AS DOUBLE)
FROM workspace_counts
UNION ALL
SELECT 'databricks_query_errors_total', workspace_id, NULL, CAST(failures AS DOUBLE)
FROM workspace_counts
UNION ALL
SELECT 'databricks_query_duration_seconds', workspace_id, quantile, CAST(seconds AS DOUBLE)
FROM duration_quantiles
UNION ALL
SELECT 'databricks_queries_running', workspace_id, NULL, CAST(peak AS DOUBLE)
FROM peaks
