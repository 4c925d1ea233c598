-- Jobs collector: one statement, long-format rows (metric, workspace_id, status, quantile, value).
--
-- Parameters (all seconds):
--   :lookback_seconds       the window [now - lookback, now]            (--jobs-lookback)
--   :run_history_seconds    extra history scanned before the window     (24h)
--   :sla_threshold_seconds  a finished run longer than this misses SLA  (--sla-threshold)
--
-- The runs and task runs counted are assembled in jobs_runs.part.sql (runs, not slices).

WITH
-- include: jobs_runs.part.sql

-- Counts per workspace with runs active in the window; that set of workspaces is where
-- databricks_job_sla_miss_total exists, so a workspace without misses reports 0.
workspace_counts AS (
  SELECT
    workspace_id,
    COUNT(*) AS runs,
    count_if(final_state IS NOT NULL AND duration_seconds > :sla_threshold_seconds) AS sla_misses
  FROM window_runs
  GROUP BY workspace_id
),

-- Finished runs by final state; a state appears only when some run ended in it (open set,
-- passed through as is).
status_counts AS (
  SELECT workspace_id, final_state AS status, COUNT(*) AS runs
  FROM window_runs
  WHERE final_state IS NOT NULL
  GROUP BY workspace_id, final_state
),

-- Duration quantiles of finished runs, only for workspaces that have some.
duration_sketch AS (
  SELECT
    workspace_id,
    percentile_approx(duration_seconds, array(0.5, 0.95, 0.99)) AS quantiles
  FROM window_runs
  WHERE final_state IS NOT NULL
  GROUP BY workspace_id
),

-- The sketch's array, one row per quantile.
duration_quantiles AS (
  SELECT
    workspace_id,
    CASE pos WHEN 0 THEN '0.5' WHEN 1 THEN '0.95' WHEN 2 THEN '0.99' END AS quantile,
    seconds
  FROM duration_sketch
  LATERAL VIEW posexplode(quantiles) exploded AS pos, seconds
),

-- Retries per workspace with task runs active in the window (0 when none was retried).
task_retries AS (
  SELECT workspace_id, SUM(retries) AS retries
  FROM task_groups
  GROUP BY workspace_id
)

SELECT
  '__now__' AS metric,
  CAST(NULL AS STRING) AS workspace_id,
  CAST(NULL AS STRING) AS status,
  CAST(NULL AS STRING) AS quantile,
  CAST(unix_timestamp(current_timestamp()) AS DOUBLE) AS value
UNION ALL
SELECT 'databricks_job_runs_total', workspace_id, NULL, NULL, CAST(runs AS DOUBLE)
FROM workspace_counts
UNION ALL
SELECT 'databricks_job_sla_miss_total', workspace_id, NULL, NULL, CAST(sla_misses AS DOUBLE)
FROM workspace_counts
UNION ALL
SELECT 'databricks_job_run_status', workspace_id, status, NULL, CAST(runs AS DOUBLE)
FROM status_counts
UNION ALL
SELECT 'databricks_job_run_duration_seconds', workspace_id, NULL, quantile, CAST(seconds AS DOUBLE)
FROM duration_quantiles
UNION ALL
SELECT 'databricks_task_retries_total', workspace_id, NULL, NULL, CAST(retries AS DOUBLE)
FROM task_retries
