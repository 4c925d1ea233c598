-- SQL warehouse names for the drill-down labels (warehouse_name): the latest name of every
-- warehouse, read rarely (--drilldown.names-interval) instead of joined into every queries
-- statement. Long-format rows (metric = 'name', workspace_id, entity_id, name) and the
-- '__now__' row. The same rules as job_names.sql, which explains them: system.compute.warehouses
-- holds one snapshot row per change of a warehouse (a rename is a new row).
--
-- Parameter:
--   :deleted_horizon_seconds  names of warehouses deleted longer ago than this are not read

WITH
warehouse_rows AS (
  SELECT
    workspace_id,
    warehouse_id,
    warehouse_name,
    change_time,
    MAX(delete_time) OVER (PARTITION BY workspace_id, warehouse_id) AS deleted_at
  FROM system.compute.warehouses
),

latest_names AS (
  SELECT workspace_id, warehouse_id, warehouse_name
  FROM warehouse_rows
  WHERE NULLIF(warehouse_name, '') IS NOT NULL
    AND (deleted_at IS NULL
      OR deleted_at >= timestampadd(SECOND, -:deleted_horizon_seconds, current_timestamp()))
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY workspace_id, warehouse_id
    ORDER BY change_time DESC NULLS LAST, warehouse_name DESC
  ) = 1
)

SELECT
  '__now__' AS metric,
  CAST(NULL AS STRING) AS workspace_id,
  CAST(NULL AS STRING) AS entity_id,
  CAST(NULL AS STRING) AS name,
  CAST(unix_timestamp(current_timestamp()) AS DOUBLE) AS value
UNION ALL
SELECT 'name', workspace_id, warehouse_id, warehouse_name, CAST(NULL AS DOUBLE)
FROM latest_names
