-- Jobs collector: one statement, long-format rows (metric, workspace_id, status, quantile, value).
--
-- Parameters (all seconds):
--   :lookback_seconds       the window [now - lookback, now]            (--jobs-lookback)
--   :run_history_seconds    extra history scanned before the window     (24h)
--   :sla_threshold_seconds  a finished run longer than this misses SLA  (--sla-threshold)
--
-- Runs, not slices: job_run_timeline holds one row per (hourly) slice of a run and only a
-- terminal slice carries result_state; a repair adds another terminal slice to the same run.

WITH
-- The slices that can matter: every slice ending in [now - lookback - run_history, now]. A run
-- that started no earlier than now - lookback - run_history (up to :run_history_seconds before
-- the window opened) is assembled from all its slices and gets its full duration; an older
-- one keeps only its slices from that bound on. Slices "ending" after now are ignored.
-- terminal_rank = 1 marks the run's latest terminal slice (latest period_end_time; ties, which
-- only corrupt data can produce, go to the greatest result_state so the choice is stable).
run_slices AS (
  SELECT
    workspace_id,
    job_id,
    run_id,
    period_start_time,
    period_end_time,
    result_state,
    ROW_NUMBER() OVER (
      PARTITION BY workspace_id, job_id, run_id
      ORDER BY result_state IS NULL, period_end_time DESC, result_state DESC
    ) AS terminal_rank
  FROM system.lakeflow.job_run_timeline
  WHERE period_end_time >= timestampadd(
          SECOND, -(:lookback_seconds + :run_history_seconds), current_timestamp())
    AND period_end_time <= current_timestamp()
),

-- One row per run (workspace_id, job_id, run_id): start = first slice start, end = last slice
-- end, final_state = result_state of the latest terminal slice (NULL while unfinished).
runs AS (
  SELECT
    workspace_id,
    MIN(period_start_time) AS started,
    MAX(period_end_time) AS ended,
    MAX(CASE WHEN terminal_rank = 1 THEN result_state END) AS final_state
  FROM run_slices
  GROUP BY workspace_id, job_id, run_id
),

-- Runs active in the window: their last slice (hence at least one slice) ends inside it.
-- Among them, the finished ones (final_state set) are exactly the runs whose end is inside it.
window_runs AS (
  SELECT
    workspace_id,
    final_state,
    CAST(unix_micros(ended) - unix_micros(started) AS DOUBLE) / 1000000 AS duration_seconds
  FROM runs
  WHERE ended >= timestampadd(SECOND, -:lookback_seconds, current_timestamp())
),

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

-- Task runs active in the window (a slice ending inside it). A task run is (workspace_id,
-- run_id); several task runs under one (job_run_id, task_key) are retries of that task. Slices
-- without job_run_id or task_key cannot be grouped and count as no retry.
task_groups AS (
  SELECT
    workspace_id,
    CASE
      WHEN job_run_id IS NULL OR task_key IS NULL THEN 0
      ELSE GREATEST(COUNT(DISTINCT run_id) - 1, 0)
    END AS retries
  FROM system.lakeflow.job_task_run_timeline
  WHERE period_end_time >= timestampadd(SECOND, -:lookback_seconds, current_timestamp())
    AND period_end_time <= current_timestamp()
  GROUP BY workspace_id, job_run_id, task_key
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
