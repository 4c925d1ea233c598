-- Pipelines collector with --collector.pipelines.by-pipeline: the metrics of pipelines.sql per
-- pipeline, one statement, long-format rows (metric, workspace_id, pipeline_id, status,
-- quantile, stage, folded_label, value). The collector adds pipeline_name from the names
-- directory (never joined here).
--
-- Parameters:
--   :lookback_seconds, :run_history_seconds, :freshness_horizon_seconds  as in pipelines.sql
--   :top_k  pipelines kept per workspace; the others are folded into pipeline_id = 'other'
--
-- Updates, requests and latest completions are found by pipelines_updates.part.sql, as for
-- pipelines.sql; only the grouping differs: per
-- (workspace_id, pipeline label) instead of per workspace. Folding happens here, so a folded
-- group's counts are sums over its pipelines, its quantiles are computed over all its updates
-- and its freshness lag is the average over all its pipelines.

WITH
-- include: pipelines_updates.part.sql

-- Activity of every pipeline seen: its updates active in the window (0 for a pipeline seen
-- only through a request or a completion within the freshness horizon).
pipeline_activity AS (
  SELECT workspace_id, pipeline_id, SUM(updates) AS updates
  FROM (
    SELECT workspace_id, pipeline_id, 1 AS updates FROM window_updates
    UNION ALL
    SELECT workspace_id, pipeline_id, 0 AS updates FROM requests
    UNION ALL
    SELECT workspace_id, pipeline_id, 0 AS updates FROM latest_completed
  ) AS seen
  GROUP BY workspace_id, pipeline_id
),

-- The fold: per workspace the :top_k most active pipelines keep their id (ties go to the
-- smaller pipeline_id, so the choice is stable); the others become 'other'.
pipeline_labels AS (
  SELECT
    workspace_id,
    pipeline_id,
    activity_rank > :top_k AS folded,
    CASE WHEN activity_rank > :top_k THEN 'other' ELSE pipeline_id END AS pipeline_label
  FROM (
    SELECT
      workspace_id,
      pipeline_id,
      ROW_NUMBER() OVER (
        PARTITION BY workspace_id ORDER BY updates DESC, pipeline_id ASC NULLS LAST
      ) AS activity_rank
    FROM pipeline_activity
  ) AS ranked
),

labelled_updates AS (
  SELECT u.workspace_id, l.pipeline_label AS pipeline_id, u.final_state, u.duration_seconds
  FROM window_updates AS u
  JOIN pipeline_labels AS l
    ON u.workspace_id <=> l.workspace_id AND u.pipeline_id <=> l.pipeline_id
),

status_counts AS (
  SELECT workspace_id, pipeline_id, final_state AS status, COUNT(*) AS updates
  FROM labelled_updates
  WHERE final_state IS NOT NULL
  GROUP BY workspace_id, pipeline_id, final_state
),

duration_sketch AS (
  SELECT
    workspace_id,
    pipeline_id,
    percentile_approx(duration_seconds, array(0.5, 0.95, 0.99)) AS quantiles
  FROM labelled_updates
  WHERE final_state IS NOT NULL
  GROUP BY workspace_id, pipeline_id
),

duration_quantiles AS (
  SELECT
    workspace_id,
    pipeline_id,
    CASE pos WHEN 0 THEN '0.5' WHEN 1 THEN '0.95' WHEN 2 THEN '0.99' END AS quantile,
    seconds
  FROM duration_sketch
  LATERAL VIEW posexplode(quantiles) exploded AS pos, seconds
),

-- Per label with updates active in the window: updates and restarts (0 when none), as the
-- workspace counts of pipelines.sql.
pipeline_counts AS (
  SELECT c.workspace_id, l.pipeline_label AS pipeline_id, SUM(c.updates) AS updates,
    SUM(c.restarts) AS restarts
  FROM (
    SELECT workspace_id, pipeline_id, 1 AS updates, 0 AS restarts FROM window_updates
    UNION ALL
    SELECT workspace_id, pipeline_id, 0 AS updates, restarts FROM requests
  ) AS c
  JOIN pipeline_labels AS l
    ON c.workspace_id <=> l.workspace_id AND c.pipeline_id <=> l.pipeline_id
  GROUP BY c.workspace_id, l.pipeline_label
),

-- Freshness lag per label and update type: the average over the label's pipelines (one for
-- a kept pipeline), summed as exact microseconds as in pipelines.sql.
freshness AS (
  SELECT
    c.workspace_id,
    l.pipeline_label AS pipeline_id,
    c.update_type AS stage,
    CAST(SUM(unix_micros(current_timestamp()) - unix_micros(c.completed_at)) AS DOUBLE)
      / COUNT(*) / 1000000 AS lag_seconds
  FROM latest_completed AS c
  JOIN pipeline_labels AS l
    ON c.workspace_id <=> l.workspace_id AND c.pipeline_id <=> l.pipeline_id
  GROUP BY c.workspace_id, l.pipeline_label, c.update_type
),

folded_counts AS (
  SELECT workspace_id, count_if(folded) AS pipelines
  FROM pipeline_labels
  GROUP BY workspace_id
)

SELECT
  '__now__' AS metric,
  CAST(NULL AS STRING) AS workspace_id,
  CAST(NULL AS STRING) AS pipeline_id,
  CAST(NULL AS STRING) AS status,
  CAST(NULL AS STRING) AS quantile,
  CAST(NULL AS STRING) AS stage,
  CAST(NULL AS STRING) AS folded_label,
  CAST(unix_timestamp(current_timestamp()) AS DOUBLE) AS value
UNION ALL
SELECT 'databricks_pipeline_runs_total', workspace_id, pipeline_id, NULL, NULL, NULL, NULL,
  CAST(updates AS DOUBLE)
FROM pipeline_counts
UNION ALL
SELECT 'databricks_pipeline_retry_events_total', workspace_id, pipeline_id, NULL, NULL, NULL,
  NULL, CAST(restarts AS DOUBLE)
FROM pipeline_counts
UNION ALL
SELECT 'databricks_pipeline_run_status', workspace_id, pipeline_id, status, NULL, NULL, NULL,
  CAST(updates AS DOUBLE)
FROM status_counts
UNION ALL
SELECT 'databricks_pipeline_run_duration_seconds', workspace_id, pipeline_id, NULL, quantile,
  NULL, NULL, CAST(seconds AS DOUBLE)
FROM duration_quantiles
UNION ALL
SELECT 'databricks_pipeline_freshness_lag_seconds', workspace_id, pipeline_id, NULL, NULL,
  stage, NULL, CAST(lag_seconds AS DOUBLE)
FROM freshness
UNION ALL
SELECT '__folded__', workspace_id, NULL, NULL, NULL, NULL, 'pipeline_id',
  CAST(pipelines AS DOUBLE)
FROM folded_counts
