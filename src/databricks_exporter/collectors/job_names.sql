-- Job names for the drill-down labels (job_name): the latest name of every job, read rarely
-- (--drilldown.names-interval) instead of joined into every jobs or billing statement.
-- Long-format rows (metric = 'name', workspace_id, entity_id, name) and the '__now__' row.
--
-- Parameter:
--   :deleted_horizon_seconds  names of jobs deleted longer ago than this are not read
--
-- system.lakeflow.jobs is SCD2: one row per change of a job, the latest kept forever, so a
-- renamed job has rows with its old and its new name, and a deleted job a row with
-- delete_time.

WITH
-- Every row, with when the job was deleted (its latest row carries delete_time; NULL while
-- the job lives). Computed over all rows, before any row is filtered out.
job_rows AS (
  SELECT
    workspace_id,
    job_id,
    name,
    change_time,
    MAX(delete_time) OVER (PARTITION BY workspace_id, job_id) AS deleted_at
  FROM system.lakeflow.jobs
),

-- The latest non-empty name per job (latest change_time; ties, which only corrupt data can
-- produce, go to the greatest name). A deleted job keeps its last name. Jobs deleted before
-- the horizon cannot be active in any window, and leaving them out keeps the result small
-- (the table keeps every deleted job forever; an INLINE result must stay under 25 MiB).
latest_names AS (
  SELECT workspace_id, job_id, name
  FROM job_rows
  WHERE NULLIF(name, '') IS NOT NULL
    AND (deleted_at IS NULL
      OR deleted_at >= timestampadd(SECOND, -:deleted_horizon_seconds, current_timestamp()))
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY workspace_id, job_id
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
SELECT 'name', workspace_id, job_id, name, CAST(NULL AS DOUBLE)
FROM latest_names
