-- Entity names for the drill-down labels (job_name, pipeline_name, warehouse_name): the latest
-- name of every job, pipeline or SQL warehouse, read rarely (--drilldown.names-interval)
-- instead of joined into every data statement. Long-format rows (metric = 'name',
-- workspace_id, entity_id, name) and the '__now__' row.
--
-- One statement per kind of entity. Identifiers cannot be statement parameters, so names.py
-- fills in the kind's table and columns (constants of the code, never user input):
--
--   kind        table                       id column     name column
--   jobs        system.lakeflow.jobs        job_id        name
--   pipelines   system.lakeflow.pipelines   pipeline_id   name
--   warehouses  system.compute.warehouses   warehouse_id  warehouse_name
--
-- Parameter:
--   :deleted_horizon_seconds  names of entities deleted longer ago than this are not read
--
-- The tables are SCD2: one row per change of an entity, the latest kept forever, so a renamed
-- entity has rows with its old and its new name, and a deleted one a row with delete_time.

WITH
-- Every row, with when the entity was deleted (its latest row carries delete_time; NULL while
-- it lives). Computed over all rows, before any row is filtered out.
entity_rows AS (
  SELECT
    workspace_id,
    ${id_column} AS entity_id,
    ${name_column} AS name,
    change_time,
    MAX(delete_time) OVER (PARTITION BY workspace_id, ${id_column}) AS deleted_at
  FROM ${table}
),

-- The latest non-empty name per entity (latest change_time; ties, which only corrupt data can
-- produce, go to the greatest name). A deleted entity keeps its last name. Entities deleted
-- before the horizon cannot be active in any window, and leaving them out keeps the result
-- small (the tables keep every deleted entity forever; an INLINE result must stay under
-- 25 MiB).
latest_names AS (
  SELECT workspace_id, entity_id, name
  FROM entity_rows
  WHERE NULLIF(name, '') IS NOT NULL
    AND (deleted_at IS NULL
      OR deleted_at >= timestampadd(SECOND, -:deleted_horizon_seconds, current_timestamp()))
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY workspace_id, entity_id
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
SELECT 'name', workspace_id, entity_id, name, CAST(NULL AS DOUBLE)
FROM latest_names
