-- Part of pipelines.sql and pipelines_by_pipeline.sql (included where their `-- include:`
-- line stands): the updates, requests and completions both count, assembled once here so
-- that the two cannot drift.
--
-- Updates, not slices: pipeline_update_timeline holds one row per (hourly) slice of an update
-- (workspace_id, pipeline_id, update_id) and only the terminal slice carries result_state.
--
-- Scanned history: slices ending within max(lookback + run_history, freshness horizon) before
-- now (7d with the defaults). The freshness lag needs that much anyway, and every update is
-- assembled from all its slices inside it: an update active in the window that started up to
-- that long before now gets its full duration, and the restarts of a request are counted over
-- it (see `requests`).

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
    pipeline_id,
    final_state,
    CAST(unix_micros(ended) - unix_micros(started) AS DOUBLE) / 1000000 AS duration_seconds
  FROM updates
  WHERE ended >= timestampadd(SECOND, -:lookback_seconds, current_timestamp())
),

-- Requests (workspace_id, pipeline_id, request_id) active in the window: at least one of their
-- updates is. Each update beyond the first under one request is a restart, and the updates
-- counted are all of the request's updates in the scanned history, so a restart inside the
-- window of a request first tried before it counts. Updates without a request_id cannot be
-- matched to a request and are never restarts.
requests AS (
  SELECT workspace_id, pipeline_id, COUNT(*) - 1 AS restarts
  FROM updates
  WHERE request_id IS NOT NULL
  GROUP BY workspace_id, pipeline_id, request_id
  HAVING MAX(ended) >= timestampadd(SECOND, -:lookback_seconds, current_timestamp())
),

-- Per pipeline and update type, the end of its latest COMPLETED update within the horizon.
latest_completed AS (
  SELECT workspace_id, pipeline_id, update_type, MAX(ended) AS completed_at
  FROM updates
  WHERE final_state = 'COMPLETED'
    AND ended >= timestampadd(SECOND, -:freshness_horizon_seconds, current_timestamp())
  GROUP BY workspace_id, pipeline_id, update_type
),
