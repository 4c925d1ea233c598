-- Queries collector with --collector.queries.by-warehouse: the metrics of queries.sql per SQL
-- warehouse, one statement, long-format rows (metric, workspace_id, warehouse_id, quantile,
-- folded_label, value). The collector adds warehouse_name from the names directory (never
-- joined here).
--
-- Parameters:
--   :lookback_seconds  as in queries.sql
--   :top_k             warehouses kept per workspace; the others are folded into 'other'
--
-- Statements are selected by queries_statements.part.sql, as for queries.sql; only the
-- grouping differs: per (workspace_id, warehouse label) instead of per workspace. A statement
-- not run on a warehouse (serverless compute for notebooks and jobs) has no warehouse_id and
-- counts under warehouse_id unknown. Folding happens here: a folded group's counts are sums,
-- its quantiles are computed over all its statements and its peak concurrency is the peak of
-- all its statements together (not a sum of peaks).

WITH
-- include: queries_statements.part.sql

-- The fold: per workspace the :top_k warehouses that started the most statements keep their
-- id (ties go to the smaller warehouse_id, so the choice is stable); the others become 'other'.
warehouse_labels AS (
  SELECT
    workspace_id,
    warehouse_id,
    activity_rank > :top_k AS folded,
    CASE WHEN activity_rank > :top_k THEN 'other' ELSE warehouse_id END AS warehouse_label
  FROM (
    SELECT
      workspace_id,
      warehouse_id,
      ROW_NUMBER() OVER (
        PARTITION BY workspace_id ORDER BY COUNT(*) DESC, warehouse_id ASC NULLS LAST
      ) AS activity_rank
    FROM statements
    GROUP BY workspace_id, warehouse_id
  ) AS ranked
),

labelled AS (
  SELECT
    s.workspace_id,
    l.warehouse_label AS warehouse_id,
    s.execution_status,
    s.duration_seconds,
    s.start_time,
    s.end_time
  FROM statements AS s
  JOIN warehouse_labels AS l
    ON s.workspace_id <=> l.workspace_id AND s.warehouse_id <=> l.warehouse_id
),

warehouse_counts AS (
  SELECT
    workspace_id,
    warehouse_id,
    COUNT(*) AS statements,
    count_if(execution_status = 'FAILED') AS failures,
    percentile_approx(duration_seconds, array(0.5, 0.95, 0.99)) AS quantiles
  FROM labelled
  GROUP BY workspace_id, warehouse_id
),

duration_quantiles AS (
  SELECT
    workspace_id,
    warehouse_id,
    CASE pos WHEN 0 THEN '0.5' WHEN 1 THEN '0.95' WHEN 2 THEN '0.99' END AS quantile,
    seconds
  FROM warehouse_counts
  LATERAL VIEW posexplode(quantiles) exploded AS pos, seconds
  WHERE quantiles IS NOT NULL
),

-- The sweep of queries.sql, one per (workspace, warehouse label).
events AS (
  SELECT workspace_id, warehouse_id, start_time AS event_time, 1 AS delta FROM labelled
  UNION ALL
  SELECT workspace_id, warehouse_id, end_time AS event_time, -1 AS delta FROM labelled
),

running AS (
  SELECT
    workspace_id,
    warehouse_id,
    SUM(delta) OVER (
      PARTITION BY workspace_id, warehouse_id
      ORDER BY event_time, delta
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS executing
  FROM events
),

peaks AS (
  SELECT workspace_id, warehouse_id, MAX(executing) AS peak
  FROM running
  GROUP BY workspace_id, warehouse_id
),

folded_counts AS (
  SELECT workspace_id, count_if(folded) AS warehouses
  FROM warehouse_labels
  GROUP BY workspace_id
)

SELECT
  '__now__' AS metric,
  CAST(NULL AS STRING) AS workspace_id,
  CAST(NULL AS STRING) AS warehouse_id,
  CAST(NULL AS STRING) AS quantile,
  CAST(NULL AS STRING) AS folded_label,
  CAST(unix_timestamp(current_timestamp()) AS DOUBLE) AS value
UNION ALL
SELECT 'databricks_queries_total', workspace_id, warehouse_id, NULL, NULL,
  CAST(statements AS DOUBLE)
FROM warehouse_counts
UNION ALL
SELECT 'databricks_query_errors_total', workspace_id, warehouse_id, NULL, NULL,
  CAST(failures AS DOUBLE)
FROM warehouse_counts
UNION ALL
SELECT 'databricks_query_duration_seconds', workspace_id, warehouse_id, quantile, NULL,
  CAST(seconds AS DOUBLE)
FROM duration_quantiles
UNION ALL
SELECT 'databricks_queries_running', workspace_id, warehouse_id, NULL, NULL, CAST(peak AS DOUBLE)
FROM peaks
UNION ALL
SELECT '__folded__', workspace_id, NULL, NULL, 'warehouse_id', CAST(warehouses AS DOUBLE)
FROM folded_counts
