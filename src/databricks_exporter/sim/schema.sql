-- The simulated workspace's system tables, in DuckDB DDL.
--
-- DuckDB reserves the catalog name `system`, so the tables live in the catalog
-- `databricks_system`; the SQL translator rewrites `system.<schema>.<table>` to it.
-- Column names and types follow reference/databricks.md (Spark types mapped to DuckDB:
-- string -> VARCHAR, timestamp -> TIMESTAMP holding UTC, decimal(38,18) -> DECIMAL(38,18),
-- map<string,string> -> MAP(VARCHAR, VARCHAR), array<string> -> VARCHAR[]).

CREATE SCHEMA IF NOT EXISTS databricks_system.billing;
CREATE SCHEMA IF NOT EXISTS databricks_system.lakeflow;
CREATE SCHEMA IF NOT EXISTS databricks_system.query;
CREATE SCHEMA IF NOT EXISTS databricks_system.compute;

CREATE TABLE IF NOT EXISTS databricks_system.billing.usage (
    account_id VARCHAR,
    workspace_id VARCHAR,
    record_id VARCHAR,
    sku_name VARCHAR,
    cloud VARCHAR,
    usage_start_time TIMESTAMP,
    usage_end_time TIMESTAMP,
    usage_date DATE,
    custom_tags MAP(VARCHAR, VARCHAR),
    usage_unit VARCHAR,
    usage_quantity DECIMAL(38, 18),
    usage_metadata STRUCT(
        cluster_id VARCHAR, job_id VARCHAR, job_run_id VARCHAR, warehouse_id VARCHAR,
        instance_pool_id VARCHAR, node_type VARCHAR, notebook_id VARCHAR, notebook_path VARCHAR,
        dlt_pipeline_id VARCHAR, dlt_update_id VARCHAR, dlt_maintenance_id VARCHAR,
        endpoint_name VARCHAR, endpoint_id VARCHAR, run_name VARCHAR, job_name VARCHAR,
        app_id VARCHAR, app_name VARCHAR, budget_policy_id VARCHAR
    ),
    identity_metadata STRUCT(run_as VARCHAR, created_by VARCHAR, owned_by VARCHAR, run_by VARCHAR),
    record_type VARCHAR,
    ingestion_date DATE,
    billing_origin_product VARCHAR,
    product_features STRUCT(
        jobs_tier VARCHAR, sql_tier VARCHAR, dlt_tier VARCHAR, is_serverless BOOLEAN,
        is_photon BOOLEAN, serving_type VARCHAR, offering_type VARCHAR, performance_target VARCHAR
    ),
    usage_type VARCHAR
);

CREATE TABLE IF NOT EXISTS databricks_system.billing.list_prices (
    account_id VARCHAR,
    price_start_time TIMESTAMP,
    price_end_time TIMESTAMP,
    sku_name VARCHAR,
    cloud VARCHAR,
    currency_code VARCHAR,
    usage_unit VARCHAR,
    pricing STRUCT(
        "default" DECIMAL(38, 18),
        promotional STRUCT("default" DECIMAL(38, 18)),
        effective_list STRUCT("default" DECIMAL(38, 18))
    )
);

CREATE TABLE IF NOT EXISTS databricks_system.lakeflow.jobs (
    account_id VARCHAR,
    workspace_id VARCHAR,
    job_id VARCHAR,
    name VARCHAR,
    description VARCHAR,
    creator_id VARCHAR,
    tags MAP(VARCHAR, VARCHAR),
    change_time TIMESTAMP,
    delete_time TIMESTAMP,
    run_as VARCHAR,
    trigger_type VARCHAR,
    paused BOOLEAN,
    timeout_seconds BIGINT,
    create_time TIMESTAMP
);

CREATE TABLE IF NOT EXISTS databricks_system.lakeflow.job_run_timeline (
    account_id VARCHAR,
    workspace_id VARCHAR,
    job_id VARCHAR,
    run_id VARCHAR,
    period_start_time TIMESTAMP,
    period_end_time TIMESTAMP,
    trigger_type VARCHAR,
    run_type VARCHAR,
    run_name VARCHAR,
    compute_ids VARCHAR[],
    result_state VARCHAR,
    termination_code VARCHAR,
    job_parameters MAP(VARCHAR, VARCHAR),
    source_task_run_id VARCHAR,
    root_task_run_id VARCHAR,
    termination_type VARCHAR,
    setup_duration_seconds BIGINT,
    queue_duration_seconds BIGINT,
    run_duration_seconds BIGINT,
    cleanup_duration_seconds BIGINT,
    execution_duration_seconds BIGINT
);

CREATE TABLE IF NOT EXISTS databricks_system.lakeflow.job_task_run_timeline (
    account_id VARCHAR,
    workspace_id VARCHAR,
    job_id VARCHAR,
    run_id VARCHAR,
    job_run_id VARCHAR,
    parent_run_id VARCHAR,
    period_start_time TIMESTAMP,
    period_end_time TIMESTAMP,
    task_key VARCHAR,
    compute_ids VARCHAR[],
    result_state VARCHAR,
    termination_code VARCHAR,
    termination_type VARCHAR
);

CREATE TABLE IF NOT EXISTS databricks_system.lakeflow.pipelines (
    account_id VARCHAR,
    workspace_id VARCHAR,
    pipeline_id VARCHAR,
    pipeline_type VARCHAR,
    name VARCHAR,
    created_by VARCHAR,
    run_as VARCHAR,
    tags MAP(VARCHAR, VARCHAR),
    settings STRUCT(
        photon BOOLEAN, development BOOLEAN, continuous BOOLEAN, serverless BOOLEAN,
        edition VARCHAR, channel VARCHAR
    ),
    configuration MAP(VARCHAR, VARCHAR),
    change_time TIMESTAMP,
    delete_time TIMESTAMP,
    create_time TIMESTAMP
);

CREATE TABLE IF NOT EXISTS databricks_system.lakeflow.pipeline_update_timeline (
    account_id VARCHAR,
    workspace_id VARCHAR,
    pipeline_id VARCHAR,
    update_id VARCHAR,
    update_type VARCHAR,
    request_id VARCHAR,
    run_as_user_name VARCHAR,
    trigger_type VARCHAR,
    trigger_details STRUCT(
        job_task STRUCT(job_id VARCHAR, job_run_id VARCHAR, performance_target VARCHAR)
    ),
    result_state VARCHAR,
    compute STRUCT(type VARCHAR, cluster_id VARCHAR),
    period_start_time TIMESTAMP,
    period_end_time TIMESTAMP,
    refresh_selection VARCHAR[],
    full_refresh_selection VARCHAR[],
    reset_checkpoint_selection VARCHAR[]
);

CREATE TABLE IF NOT EXISTS databricks_system.query.history (
    account_id VARCHAR,
    workspace_id VARCHAR,
    statement_id VARCHAR,
    session_id VARCHAR,
    executed_by VARCHAR,
    executed_by_user_id VARCHAR,
    executed_as VARCHAR,
    executed_as_user_id VARCHAR,
    execution_status VARCHAR,
    compute STRUCT(type VARCHAR, cluster_id VARCHAR, warehouse_id VARCHAR),
    statement_text VARCHAR,
    statement_type VARCHAR,
    error_message VARCHAR,
    client_application VARCHAR,
    client_driver VARCHAR,
    total_duration_ms BIGINT,
    waiting_for_compute_duration_ms BIGINT,
    waiting_at_capacity_duration_ms BIGINT,
    execution_duration_ms BIGINT,
    compilation_duration_ms BIGINT,
    total_task_duration_ms BIGINT,
    result_fetch_duration_ms BIGINT,
    start_time TIMESTAMP,
    end_time TIMESTAMP,
    update_time TIMESTAMP,
    read_partitions BIGINT,
    pruned_files BIGINT,
    read_files BIGINT,
    read_rows BIGINT,
    produced_rows BIGINT,
    read_bytes BIGINT,
    read_io_cache_percent TINYINT,
    from_result_cache BOOLEAN,
    spilled_local_bytes BIGINT,
    written_bytes BIGINT,
    written_rows BIGINT,
    written_files BIGINT,
    shuffle_read_bytes BIGINT,
    query_source STRUCT(
        job_info STRUCT(job_id VARCHAR, job_run_id VARCHAR, job_task_run_id VARCHAR),
        legacy_dashboard_id VARCHAR, dashboard_id VARCHAR, alert_id VARCHAR, notebook_id VARCHAR,
        sql_query_id VARCHAR, genie_space_id VARCHAR,
        pipeline_info STRUCT(pipeline_id VARCHAR, update_id VARCHAR)
    ),
    cache_origin_statement_id VARCHAR,
    query_tags MAP(VARCHAR, VARCHAR),
    pruned_files_bytes BIGINT,
    read_files_bytes BIGINT
);

CREATE TABLE IF NOT EXISTS databricks_system.compute.warehouses (
    warehouse_id VARCHAR,
    workspace_id VARCHAR,
    account_id VARCHAR,
    warehouse_name VARCHAR,
    warehouse_type VARCHAR,
    warehouse_channel VARCHAR,
    warehouse_size VARCHAR,
    min_clusters INTEGER,
    max_clusters INTEGER,
    auto_stop_minutes INTEGER,
    tags MAP(VARCHAR, VARCHAR),
    change_time TIMESTAMP,
    delete_time TIMESTAMP
);

CREATE TABLE IF NOT EXISTS databricks_system.compute.warehouse_events (
    account_id VARCHAR,
    workspace_id VARCHAR,
    warehouse_id VARCHAR,
    event_type VARCHAR,
    cluster_count INTEGER,
    event_time TIMESTAMP
);
