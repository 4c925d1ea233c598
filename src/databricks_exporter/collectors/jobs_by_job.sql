-- Jobs collector with --collector.jobs.by-job: the metrics of jobs.sql per job, one statement,
-- long-format rows (metric, workspace_id, job_id, task_key, status, quantile, folded_label,
-- value). The collector adds job_name from the names directory (never joined here).
--
-- Parameters:
--   :lookback_seconds, :run_history_seconds, :sla_threshold_seconds  as in jobs.sql
--   :top_k    jobs kept per workspace; the others are folded into job_id = 'other'
--   :by_task  also split task retries by task_key (--collector.jobs.by-task)
--
-- Runs and task runs are assembled by jobs_runs.part.sql, as for jobs.sql; only the grouping
-- differs: per (workspace_id, job label) instead of per workspace. Folding happens here, in
-- SQL, so a folded group's counts are sums over its jobs and its duration quantiles are
-- computed over all its runs together (never averaged over jobs).

WITH
-- include: jobs_runs.part.sql

-- Activity of every job seen in the window: its runs active in the window (0 for a job seen
-- only in the task table).
job_activity AS (
  SELECT workspace_id, job_id, SUM(runs) AS runs
  FROM (
    SELECT workspace_id, job_id, 1 AS runs FROM window_runs
    UNION ALL
    SELECT workspace_id, job_id, 0 AS runs FROM task_groups
  ) AS seen
  GROUP BY workspace_id, job_id
),

-- The fold: per workspace the :top_k most active jobs keep their id (ties go to the smaller
-- job_id, so the choice is stable between refreshes); the others become 'other'. A NULL
-- job_id is an entity like the others (exported as unknown).
job_labels AS (
  SELECT
    workspace_id,
    job_id,
    activity_rank > :top_k AS folded,
    CASE WHEN activity_rank > :top_k THEN 'other' ELSE job_id END AS job_label
  FROM (
    SELECT
      workspace_id,
      job_id,
      ROW_NUMBER() OVER (
        PARTITION BY workspace_id ORDER BY runs DESC, job_id ASC NULLS LAST
      ) AS activity_rank
    FROM job_activity
  ) AS ranked
),

labelled_runs AS (
  SELECT r.workspace_id, l.job_label AS job_id, r.final_state, r.duration_seconds
  FROM window_runs AS r
  JOIN job_labels AS l
    ON r.workspace_id <=> l.workspace_id AND r.job_id <=> l.job_id
),

-- Per job label with runs active in the window: runs and SLA misses (0 when none).
job_counts AS (
  SELECT
    workspace_id,
    job_id,
    COUNT(*) AS runs,
    count_if(final_state IS NOT NULL AND duration_seconds > :sla_threshold_seconds) AS sla_misses
  FROM labelled_runs
  GROUP BY workspace_id, job_id
),

status_counts AS (
  SELECT workspace_id, job_id, final_state AS status, COUNT(*) AS runs
  FROM labelled_runs
  WHERE final_state IS NOT NULL
  GROUP BY workspace_id, job_id, final_state
),

duration_sketch AS (
  SELECT
    workspace_id,
    job_id,
    percentile_approx(duration_seconds, array(0.5, 0.95, 0.99)) AS quantiles
  FROM labelled_runs
  WHERE final_state IS NOT NULL
  GROUP BY workspace_id, job_id
),

duration_quantiles AS (
  SELECT
    workspace_id,
    job_id,
    CASE pos WHEN 0 THEN '0.5' WHEN 1 THEN '0.95' WHEN 2 THEN '0.99' END AS quantile,
    seconds
  FROM duration_sketch
  LATERAL VIEW posexplode(quantiles) exploded AS pos, seconds
),

-- Task groups under their job's label and, with :by_task, their task_key: a kept job's task
-- keys as they are (NULL as unknown), a folded group's as 'other' (task keys of different
-- jobs are different tasks). Without :by_task the column is NULL and not exported.
labelled_tasks AS (
  SELECT
    t.workspace_id,
    l.job_label AS job_id,
    CASE
      WHEN NOT :by_task THEN NULL
      WHEN l.folded THEN 'other'
      ELSE COALESCE(t.task_key, 'unknown')
    END AS task_key,
    t.retries
  FROM task_groups AS t
  JOIN job_labels AS l
    ON t.workspace_id <=> l.workspace_id AND t.job_id <=> l.job_id
),

-- Retries per label with task runs active in the window (0 when none was retried).
task_retries AS (
  SELECT workspace_id, job_id, task_key, SUM(retries) AS retries
  FROM labelled_tasks
  GROUP BY workspace_id, job_id, task_key
),

-- How many jobs each workspace folded (0 when none).
folded_counts AS (
  SELECT workspace_id, count_if(folded) AS jobs
  FROM job_labels
  GROUP BY workspace_id
)

SELECT
  '__now__' AS metric,
  CAST(NULL AS STRING) AS workspace_id,
  CAST(NULL AS STRING) AS job_id,
  CAST(NULL AS STRING) AS task_key,
  CAST(NULL AS STRING) AS status,
  CAST(NULL AS STRING) AS quantile,
  CAST(NULL AS STRING) AS folded_label,
  CAST(unix_timestamp(current_timestamp()) AS DOUBLE) AS value
UNION ALL
SELECT 'databricks_job_runs_total', workspace_id, job_id, NULL, NULL, NULL, NULL,
  CAST(runs AS DOUBLE)
FROM job_counts
UNION ALL
SELECT 'databricks_job_sla_miss_total', workspace_id, job_id, NULL, NULL, NULL, NULL,
  CAST(sla_misses AS DOUBLE)
FROM job_counts
UNION ALL
SELECT 'databricks_job_run_status', workspace_id, job_id, NULL, status, NULL, NULL,
  CAST(runs AS DOUBLE)
FROM status_counts
UNION ALL
SELECT 'databricks_job_run_duration_seconds', workspace_id, job_id, NULL, NULL, quantile, NULL,
  CAST(seconds AS DOUBLE)
FROM duration_quantiles
UNION ALL
SELECT 'databricks_task_retries_total', workspace_id, job_id, task_key, NULL, NULL, NULL,
  CAST(retries AS DOUBLE)
FROM task_retries
UNION ALL
SELECT '__folded__', workspace_id, NULL, NULL, NULL, NULL, 'job_id', CAST(jobs AS DOUBLE)
FROM folded_counts
