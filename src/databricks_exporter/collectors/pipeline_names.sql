-- Pipeline names for the drill-down labels (pipeline_name): the latest name of every
-- pipeline, read rarely (--drilldown.names-interval) instead of joined into every pipelines
-- statement. Long-format rows (metric = 'name', workspace_id, entity_id, name) and the
-- '__now__' row. The same rules as job_names.sql, which explains them.
--
-- Parameter:
--   :deleted_horizon_seconds  names of pipelines deleted longer ago than this are not read

WITH
pipeline_rows AS (
  SELECT
    workspace_id,
    pipeline_id,
    name,
    change_time,
    MAX(delete_time) OVER (PARTITION BY workspace_id, pipeline_id) AS deleted_at
  FROM system.lakeflow.pipelines
),

latest_names AS (
  SELECT workspace_id, pipeline_id, name
  FROM pipeline_rows
  WHERE NULLIF(name, '') IS NOT NULL
    AND (deleted_at IS NULL
      OR deleted_at >= timestampadd(SECOND, -:deleted_horizon_seconds, current_timestamp()))
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY workspace_id, pipeline_id
    ORDER BY change_time DESC NULLS LAST, name DESC
  ) = 1
)

SELECT
  '__now__' AS metric,
  CAST(NULL AS STRING) AS workspace_id,
  CAST(NULL AS STRING) AS entity_id,
  CAST(NULL AS STRING) AS name,
  CAST(unix_timestamp(current_timestamp()) AS DOUBLE) AS value
UNION ALL
SELECT 'name', workspace_id, pipeline_id, name, CAST(NULL AS DOUBLE)
FROM latest_names
