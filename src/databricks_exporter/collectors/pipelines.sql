-- Pipelines collector: one statement, long-format rows
-- (metric, workspace_id, status, quantile, stage, value).
--
-- Parameters (all seconds):
--   :lookback_seconds           the window [now - lookback, now]          (--pipelines-lookback)
--   :run_history_seconds        extra history scanned before the window   (24h)
--   :freshness_horizon_seconds  how far back a COMPLETED update counts    (--pipelines-freshness-horizon)
--
-- The updates, requests and completions counted are assembled in pipelines_updates.part.sql
-- (updates, not slices), which also explains the history scanned.

WITH
-- include: pipelines_updates.part.sql

-- Finished updates by final state; a state appears only when some update ended in it.
status_counts AS (
  SELECT workspace_id, final_state AS status, COUNT(*) AS updates
  FROM window_updates
  WHERE final_state IS NOT NULL
  GROUP BY workspace_id, final_state
),

-- Duration quantiles of finished updates, only for workspaces that have some.
duration_sketch AS (
  SELECT
    workspace_id,
    percentile_approx(duration_seconds, array(0.5, 0.95, 0.99)) AS quantiles
  FROM window_updates
  WHERE final_state IS NOT NULL
  GROUP BY workspace_id
),

duration_quantiles AS (
  SELECT
    workspace_id,
    CASE pos WHEN 0 THEN '0.5' WHEN 1 THEN '0.95' WHEN 2 THEN '0.99' END AS quantile,
    seconds
  FROM duration_sketch
  LATERAL VIEW posexplode(quantiles) exploded AS pos, seconds
),

-- Per workspace with updates active in the window: updates and restarts (0 when none). The
-- zero rows from window_updates make every such workspace appear exactly once after the sum.
workspace_counts AS (
  SELECT workspace_id, SUM(updates) AS updates, SUM(restarts) AS restarts
  FROM (
    SELECT workspace_id, 1 AS updates, 0 AS restarts FROM window_updates
    UNION ALL
    SELECT workspace_id, 0 AS updates, restarts FROM requests
  ) AS contributions
  GROUP BY workspace_id
),

-- Freshness lag per workspace and update type: the average over its pipelines of how long ago
-- that latest completion was. Summed as exact integer microseconds and divided once, so the
-- value does not depend on the order the engine adds in (an AVG of DOUBLEs does).
freshness AS (
  SELECT
    workspace_id,
    update_type AS stage,
    CAST(SUM(unix_micros(current_timestamp()) - unix_micros(completed_at)) AS DOUBLE)
      / COUNT(*) / 1000000 AS lag_seconds
  FROM latest_completed
  GROUP BY workspace_id, update_type
)

SELECT
  '__now__' AS metric,
  CAST(NULL AS STRING) AS workspace_id,
  CAST(NULL AS STRING) AS status,
  CAST(NULL AS STRING) AS quantile,
  CAST(NULL AS STRING) AS stage,
  CAST(unix_timestamp(current_timestamp()) AS DOUBLE) AS value
UNION ALL
SELECT 'databricks_pipeline_runs_total', workspace_id, NULL, NULL, NULL, CAST(updates AS DOUBLE)
FROM workspace_counts
UNION ALL
SELECT
  'databricks_pipeline_retry_events_total', workspace_id, NULL, NULL, NULL,
  CAST(restarts AS DOUBLE)
FROM workspace_counts
UNION ALL
SELECT 'databricks_pipeline_run_status', workspace_id, status, NULL, NULL, CAST(updates AS DOUBLE)
FROM status_counts
UNION ALL
SELECT
  'databricks_pipeline_run_duration_seconds', workspace_id, NULL, quantile, NULL,
  CAST(seconds AS DOUBLE)
FROM duration_quantiles
UNION ALL
SELECT
  'databricks_pipeline_freshness_lag_seconds', workspace_id, NULL, NULL, stage,
  CAST(lag_seconds AS DOUBLE)
FROM freshness
