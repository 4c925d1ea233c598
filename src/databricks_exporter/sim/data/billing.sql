-- Bulk usage rows from `gen_usage_sources`: ORIGINAL rows, then corrections of about 1 % of
-- them (a RETRACTION that negates the original exactly, and for most a RESTATEMENT).

CREATE OR REPLACE TEMP TABLE gen_usage AS
WITH active AS (
    SELECT
        s.*, p.seed, p.account_id, p.day_us, j.j,
        s.first_us + r.h * s.grain_us AS start_us,
        s.source_key::BIGINT * 100000000 + r.h * 64 + j.j AS row_key
    FROM gen_usage_sources AS s, gen_params AS p, range(s.n_periods) AS r(h),
        range(s.sub_rows) AS j(j)
    WHERE gen_u(p.seed, 80, s.source_key, r.h) < s.activity
),
sized AS (
    SELECT *, mean_qty * (0.25 + 1.5 * gen_u(seed, 81, source_key, row_key)) AS q
    FROM active
)
SELECT
    *,
    CASE WHEN integral THEN gen_decimal(round(q)::BIGINT, 0)
         ELSE gen_decimal(floor(q)::BIGINT, gen_h(seed, 82, source_key, row_key)) END AS quantity,
    gen_u(seed, 83, source_key, row_key) < 0.01 AS corrected,
    gen_u(seed, 84, source_key, row_key) < 0.8 AS restated,
    CASE WHEN integral THEN gen_decimal(round(q * 0.9)::BIGINT, 0)
         ELSE gen_decimal(floor(q * 0.9)::BIGINT, gen_h(seed, 85, source_key, row_key))
    END AS restated_quantity
FROM sized;

INSERT INTO databricks_system.billing.usage BY NAME
WITH records AS (
    SELECT
        *, 'ORIGINAL' AS record_type, gen_uuid(seed, 86, source_key, row_key) AS record_id,
        quantity AS usage_quantity,
        CAST(gen_ts(start_us + grain_us + 3600000000) AS DATE) AS ingestion_date
    FROM gen_usage
    UNION ALL
    SELECT
        *, 'RETRACTION', gen_uuid(seed, 87, source_key, row_key), -quantity,
        CAST(gen_ts(least(start_us + 3 * 86400000000, day_us)) AS DATE)
    FROM gen_usage
    WHERE corrected
    UNION ALL
    SELECT
        *, 'RESTATEMENT', gen_uuid(seed, 88, source_key, row_key), restated_quantity,
        CAST(gen_ts(least(start_us + 3 * 86400000000, day_us)) AS DATE)
    FROM gen_usage
    WHERE corrected AND restated
)
SELECT
    account_id, workspace_id, record_id, sku_name, 'AWS' AS cloud,
    gen_ts(start_us) AS usage_start_time,
    gen_ts(start_us + grain_us) AS usage_end_time,
    CAST(gen_ts(start_us) AS DATE) AS usage_date,
    map_from_entries(CAST(custom_tags AS STRUCT(key VARCHAR, value VARCHAR)[])) AS custom_tags,
    usage_unit, usage_quantity, usage_metadata, identity_metadata, record_type, ingestion_date,
    product AS billing_origin_product, features AS product_features, usage_type
FROM records;

DROP TABLE gen_usage;
