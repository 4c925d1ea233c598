-- Pipelines collector: one statement, long-format rows
-- (metric, workspace_id, status, quantile, stage, value).
--
-- Parameters (all seconds):
--   :lookback_seconds           the window [now - lookback, now]          (--pipelines-lookback)
--   :run_history_seconds        extra history scanned before the window   (24h)
--   :freshness_horizon_seconds  how far back a COMPLETED update counts    (--pipelines-freshness-horizon)
--
-- Updates, not slices: pipeline_update_timeline holds one row per (hourly) slice of an update
-- (workspace_id, pipeline_id, update_id) and only the terminal slice carries result_state.
--
-- Scanned history: slices ending within max(lookback + run_history, freshness horizon) before
-- now (7d with the defaults). The freshness lag needs that much anyway, and every update is
-- assembled from all its slices inside it: an update active in the window that started up to
-- that long before now gets its full duration, and the restarts of a request are counted over
-- it (see `requests`).

WITH
-- One scan of the table. terminal_rank = 1 marks the update's latest terminal slice (latest
-- period_end_time; ties, which only corrupt data can produce, go to the greatest
-- result_state). Slices "ending" after now are ignored.
update_slices AS (
  SELECT
    workspace_id,
    pipeline_id,
    update_id,
    update_type,
    request_id,
    period_start_time,
    period_end_time,
    result_state,
    ROW_NUMBER() OVER (
      PARTITION BY workspace_id, pipeline_id, update_id
      ORDER BY result_state IS NULL, period_end_time DESC, result_state DESC
    ) AS terminal_rank
  FROM system.lakeflow.pipeline_update_timeline
  WHERE period_end_time >= timestampadd(
          SECOND,
          -GREATEST(:lookback_seconds + :run_history_seconds, :freshness_horizon_seconds),
          current_timestamp())
    AND period_end_time <= current_timestamp()
),

-- One row per update: start = first slice start, end = last slice end, final_state =
-- result_state of the latest terminal slice (NULL while running). An update has one type and
-- one request; should its slices disagree, the greatest non-NULL value is taken.
updates AS (
  SELECT
    workspace_id,
    pipeline_id,
    MAX(update_type) AS update_type,
    MAX(request_id) AS request_id,
    MIN(period_start_time) AS started,
    MAX(period_end_time) AS ended,
    MAX(CASE WHEN terminal_rank = 1 THEN result_state END) AS final_state
  FROM update_slices
  GROUP BY workspace_id, pipeline_id, update_id
),

-- Updates active in the window (their last slice ends inside it). The finished ones are the
-- updates whose end is inside the window.
window_updates AS (
  SELECT
    workspace_id,
    final_state,
    CAST(unix_micros(ended) - unix_micros(started) AS DOUBLE) / 1000000 AS duration_seconds
  FROM updates
  WHERE ended >= timestampadd(SECOND, -:lookback_seconds, current_timestamp())
),

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

-- Requests (workspace_id, pipeline_id, request_id) active in the window: at least one of their
-- updates is. Each update beyond the first under one request is a restart, and the updates
-- counted are all of the request's updates in the scanned history, so a restart inside the
-- window of a request first tried before it counts. Updates without a request_id cannot be
-- matched to a request and are never restarts.
requests AS (
  SELECT workspace_id, COUNT(*) - 1 AS restarts
  FROM updates
  WHERE request_id IS NOT NULL
  GROUP BY workspace_id, pipeline_id, request_id
  HAVING MAX(ended) >= timestampadd(SECOND, -:lookback_seconds, current_timestamp())
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

-- Per pipeline and update type, the end of its latest COMPLETED update within the horizon.
latest_completed AS (
  SELECT workspace_id, update_type, MAX(ended) AS completed_at
  FROM updates
  WHERE final_state = 'COMPLETED'
    AND ended >= timestampadd(SECOND, -:freshness_horizon_seconds, current_timestamp())
  GROUP BY workspace_id, pipeline_id, update_type
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
