-- Part of jobs.sql and jobs_by_job.sql (included where their `-- include:` line stands): the
-- runs and task runs both statements count, assembled once here so that the two cannot drift.
--
-- Runs, not slices: job_run_timeline holds one row per (hourly) slice of a run and only a
-- terminal slice carries result_state; a repair adds another terminal slice to the same run.

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
    job_id,
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
    job_id,
    final_state,
    CAST(unix_micros(ended) - unix_micros(started) AS DOUBLE) / 1000000 AS duration_seconds
  FROM runs
  WHERE ended >= timestampadd(SECOND, -:lookback_seconds, current_timestamp())
),

-- Task runs active in the window (a slice ending inside it). A task run is (workspace_id,
-- run_id); several task runs under one (job_run_id, task_key) are retries of that task. Slices
-- without job_run_id or task_key cannot be grouped and count as no retry. The group belongs
-- to the job its slices name (the greatest, should they disagree), so the retries summed over
-- jobs equal the workspace's.
task_groups AS (
  SELECT
    workspace_id,
    MAX(job_id) AS job_id,
    task_key,
    CASE
      WHEN job_run_id IS NULL OR task_key IS NULL THEN 0
      ELSE GREATEST(COUNT(DISTINCT run_id) - 1, 0)
    END AS retries
  FROM system.lakeflow.job_task_run_timeline
  WHERE period_end_time >= timestampadd(SECOND, -:lookback_seconds, current_timestamp())
    AND period_end_time <= current_timestamp()
  GROUP BY workspace_id, job_run_id, task_key
),
