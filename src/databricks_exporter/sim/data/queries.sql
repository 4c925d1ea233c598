-- Bulk statements from `gen_query_workspaces` (how many per workspace) and
-- `gen_query_targets` (the warehouses, or serverless compute, they run on).
--
-- Statements 0 to 7 of every workspace start 5 to 54 minutes before now whatever the seed, so
-- each 1 h window holds cases of each kind: 0-2 come from the exporter, 3-4 are still
-- running, 5-6 FAILED. The others start uniformly over the history and draw their kind.

INSERT INTO databricks_system.query.history BY NAME
WITH drawn AS (
    SELECT
        w.workspace_id, w.ws_index, w.n_targets, r.i,
        p.seed, p.now_us, p.account_id, p.users, p.exporter_principal,
        CASE WHEN r.i < 8
             THEN p.now_us - 300000000
                  - CAST(gen_u(p.seed, 60, w.ws_index, r.i) * 2940000000 AS BIGINT)
             ELSE p.query_start_us + CAST(gen_u(p.seed, 60, w.ws_index, r.i)
                                          * (p.now_us - p.query_start_us) AS BIGINT)
        END AS start_us,
        gen_u(p.seed, 61, w.ws_index, r.i) AS u_status,
        gen_u(p.seed, 62, w.ws_index, r.i) AS u_tag,
        gen_u(p.seed, 63, w.ws_index, r.i) AS u_long,
        gen_z(p.seed, 64, w.ws_index, r.i) AS z,
        (gen_h(p.seed, 65, w.ws_index, r.i) >> 1)::BIGINT AS h
    FROM gen_query_workspaces AS w, gen_params AS p, range(w.statements) AS r(i)
),
shaped AS (
    SELECT
        d.*, t.warehouse_id, t.compute_type,
        CASE WHEN i IN (5, 6) THEN 1000 + CAST(gen_u(seed, 66, ws_index, i) * 59000 AS BIGINT)
             WHEN i IN (3, 4) OR u_long < 0.02
             THEN 3600000 + CAST(gen_u(seed, 66, ws_index, i) * 5400000 AS BIGINT)
             ELSE CAST(least(1800000, greatest(5, exp(6.8 + 1.5 * z))) AS BIGINT)
        END AS duration_ms,
        CASE WHEN i IN (5, 6) OR u_status < 0.05 THEN 'FAILED'
             WHEN u_status < 0.08 THEN 'CANCELED' ELSE 'FINISHED' END AS status,
        i < 3 OR u_tag < 0.02 AS by_exporter,
        ['SELECT', 'SELECT', 'SELECT', 'SELECT', 'SELECT', 'SELECT', 'INSERT', 'MERGE',
         'CREATE', 'DESCRIBE'][1 + (h // 7) % 10] AS statement_type,
        ['Databricks SQL Editor', 'Tableau', 'dbt', 'Power BI', 'databricks-sql-python',
         'Databricks SQL Notebook'][1 + (h // 11) % 6] AS client
    FROM drawn AS d
    JOIN gen_query_targets AS t
        ON t.workspace_id = d.workspace_id AND t.slot = d.h % d.n_targets
),
timed AS (
    SELECT
        *,
        start_us + duration_ms * 1000 AS end_us,
        start_us + duration_ms * 1000 > now_us AS running,
        CASE WHEN by_exporter THEN exporter_principal ELSE users[1 + h % len(users)] END
            AS who,
        CASE WHEN by_exporter THEN exporter_principal
             ELSE (5000000000000 + h % len(users))::VARCHAR END AS who_id
    FROM shaped
)
SELECT
    account_id, workspace_id,
    gen_uuid(seed, 67, ws_index, i) AS statement_id,
    gen_uuid(seed, 68, ws_index, i // 25) AS session_id,
    who AS executed_by, who_id AS executed_by_user_id,
    who AS executed_as, who_id AS executed_as_user_id,
    CASE WHEN running THEN 'RUNNING' ELSE status END AS execution_status,
    {'type': compute_type, 'cluster_id': NULL::VARCHAR, 'warehouse_id': warehouse_id} AS compute,
    CASE WHEN by_exporter THEN 'SELECT ''databricks_queries_total'' AS metric, count(*) AS value'
         WHEN statement_type = 'SELECT' THEN 'SELECT * FROM main.sales.orders_' || i % 40
         WHEN statement_type = 'DESCRIBE' THEN 'DESCRIBE TABLE main.sales.orders_' || i % 40
         ELSE statement_type || ' INTO main.sales.orders_' || i % 40 || ' SELECT * FROM staging'
    END AS statement_text,
    CASE WHEN by_exporter THEN 'SELECT' ELSE statement_type END AS statement_type,
    CASE WHEN status = 'FAILED' AND NOT running
         THEN '[TABLE_OR_VIEW_NOT_FOUND] The table or view `main`.`sales`.`orders_'
              || i % 40 || '` cannot be found. SQLSTATE: 42P01' END AS error_message,
    CASE WHEN by_exporter THEN 'databricks-exporter' ELSE client END AS client_application,
    'Databricks JDBC Driver' AS client_driver,
    CASE WHEN running OR (status = 'CANCELED' AND u_status < 0.06) THEN NULL
         ELSE duration_ms END AS total_duration_ms,
    CASE WHEN NOT running THEN duration_ms // 20 END AS waiting_for_compute_duration_ms,
    CASE WHEN NOT running THEN duration_ms // 50 END AS waiting_at_capacity_duration_ms,
    CASE WHEN NOT running THEN duration_ms * 7 // 10 END AS execution_duration_ms,
    CASE WHEN NOT running THEN duration_ms // 10 END AS compilation_duration_ms,
    CASE WHEN NOT running THEN duration_ms * (1 + h % 8) END AS total_task_duration_ms,
    CASE WHEN NOT running THEN h % 200 END AS result_fetch_duration_ms,
    gen_ts(start_us) AS start_time,
    CASE WHEN NOT running THEN gen_ts(end_us) END AS end_time,
    gen_ts(least(end_us, now_us)) AS update_time,
    h % 40 AS read_partitions,
    h % 300 AS pruned_files,
    h % 120 AS read_files,
    h % 10000000 AS read_rows,
    h % 5000 AS produced_rows,
    h % 10000000000 AS read_bytes,
    (h % 101)::TINYINT AS read_io_cache_percent,
    h % 20 = 0 AS from_result_cache,
    CASE WHEN h % 50 = 0 THEN h % 1000000000 ELSE 0 END AS spilled_local_bytes,
    CASE WHEN statement_type IN ('INSERT', 'MERGE') THEN h % 100000000 ELSE 0 END AS written_bytes,
    CASE WHEN statement_type IN ('INSERT', 'MERGE') THEN h % 100000 ELSE 0 END AS written_rows,
    CASE WHEN statement_type IN ('INSERT', 'MERGE') THEN h % 12 ELSE 0 END AS written_files,
    h % 50000000 AS shuffle_read_bytes,
    {
        'job_info': CASE WHEN h % 10 = 1 THEN {
            'job_id': (1000 + h % 15)::VARCHAR,
            'job_run_id': (h % 100000000000)::VARCHAR,
            'job_task_run_id': (h % 10000000000000)::VARCHAR
        } END,
        'legacy_dashboard_id': NULL::VARCHAR,
        'dashboard_id': CASE WHEN h % 10 = 2 THEN gen_uuid(seed, 69, ws_index, h % 12) END,
        'alert_id': NULL::VARCHAR,
        'notebook_id': CASE WHEN h % 10 = 3 THEN (h % 1000000000)::VARCHAR END,
        'sql_query_id': CASE WHEN h % 10 = 4 THEN gen_uuid(seed, 70, ws_index, h % 30) END,
        'genie_space_id': NULL::VARCHAR,
        'pipeline_info': NULL::STRUCT(pipeline_id VARCHAR, update_id VARCHAR)
    } AS query_source,
    NULL::VARCHAR AS cache_origin_statement_id,
    CASE WHEN by_exporter THEN MAP {'app': 'databricks-exporter'}
         WHEN u_tag < 0.30 THEN MAP {'app': 'dbt', 'team': 'analytics'}
         WHEN u_tag < 0.40 THEN MAP {'app': 'tableau'}
         WHEN u_tag < 0.50 THEN MAP {'team': 'finance', 'dashboard': 'revenue'}
    END AS query_tags,
    h % 20000000 AS pruned_files_bytes,
    h % 9000000000 AS read_files_bytes
FROM timed;
