-- Billing collector with cost attribution (--collector.billing.tag-label, --collector.billing.
-- by-product, --collector.billing.by-job): one statement, long-format rows (metric,
-- workspace_id, sku_name, usage_date, days_ago, billing_origin_product, tag_1 .. tag_5, job_id,
-- folded_label, value). The collector exports tag_N under the label name the operator chose
-- and adds job_name from the names directory (never joined here).
--
-- Parameters:
--   :billing_lookback_seconds, :price_change_lookback_seconds  as in billing.sql
--   :by_product     split DBUs and cost by billing_origin_product
--   :tag_1 .. :tag_5  custom_tags keys split by (NULL: slot unused; its column stays NULL)
--   :by_job         cost per job (usage_metadata.job_id)
--   :top_k          tag value combinations and jobs kept per workspace; the rest are 'other'
--
-- Every value is computed as in billing.sql, which explains the date bound, the netting of
-- corrections and the pricing: usage summed per hour, priced at the USD list price in effect
-- when the hour started, held as DECIMAL so that sums are exact and the same on every run.
-- Usage is read once at the finest grain needed and summed again (exactly, in DECIMAL) for
-- each metric, so the daily cost, latest usage and price changes equal billing.sql's.

WITH
-- include: billing_prices.part.sql

-- Usage inside the date bound with its attribution. A missing or empty tag or product is
-- 'unknown' here already, so that it cannot become a second series next to a literal
-- 'unknown'. Usage without a job id (all-purpose clusters, warehouses, pipelines, storage,
-- jobs on all-purpose compute) is not a job's.
usage_rows AS (
  SELECT
    workspace_id,
    sku_name,
    cloud,
    usage_unit,
    usage_date,
    usage_start_time,
    usage_end_time,
    COALESCE(usage_quantity, 0) AS quantity,
    CASE WHEN :by_product THEN COALESCE(NULLIF(billing_origin_product, ''), 'unknown') END
      AS product,
    CASE WHEN :tag_1 IS NOT NULL
      THEN COALESCE(NULLIF(element_at(custom_tags, :tag_1), ''), 'unknown') END AS tag_1,
    CASE WHEN :tag_2 IS NOT NULL
      THEN COALESCE(NULLIF(element_at(custom_tags, :tag_2), ''), 'unknown') END AS tag_2,
    CASE WHEN :tag_3 IS NOT NULL
      THEN COALESCE(NULLIF(element_at(custom_tags, :tag_3), ''), 'unknown') END AS tag_3,
    CASE WHEN :tag_4 IS NOT NULL
      THEN COALESCE(NULLIF(element_at(custom_tags, :tag_4), ''), 'unknown') END AS tag_4,
    CASE WHEN :tag_5 IS NOT NULL
      THEN COALESCE(NULLIF(element_at(custom_tags, :tag_5), ''), 'unknown') END AS tag_5,
    CASE WHEN :by_job THEN usage_metadata.job_id END AS job_id
  FROM system.billing.usage
  WHERE usage_date >= to_date(
          timestampadd(SECOND, -:billing_lookback_seconds, current_timestamp()))
    AND usage_date <= current_date()
),

-- The finest grain: billing.sql's usage hour split by attribution.
usage_fine AS (
  SELECT
    workspace_id, sku_name, cloud, usage_unit, usage_date, usage_start_time,
    product, tag_1, tag_2, tag_3, tag_4, tag_5, job_id,
    SUM(quantity) AS quantity,
    MAX(usage_end_time) AS usage_end
  FROM usage_rows
  GROUP BY
    workspace_id, sku_name, cloud, usage_unit, usage_date, usage_start_time,
    product, tag_1, tag_2, tag_3, tag_4, tag_5, job_id
),

-- billing.sql's usage hours, summed again from the finer groups (DECIMAL: exactly).
usage_hours AS (
  SELECT
    workspace_id, sku_name, cloud, usage_unit, usage_date, usage_start_time,
    SUM(quantity) AS quantity,
    MAX(usage_end) AS usage_end
  FROM usage_fine
  GROUP BY workspace_id, sku_name, cloud, usage_unit, usage_date, usage_start_time
),

-- The USD list price in effect when each usage hour started, chosen as billing.sql chooses
-- it (the latest to take effect, then the higher). The choice depends only on the SKU, cloud,
-- unit and hour, so it is made once per hour and shared by every grouping below.
hour_prices AS (
  SELECT h.sku_name, h.cloud, h.usage_unit, h.usage_start_time, p.list_price
  FROM (
    SELECT DISTINCT sku_name, cloud, usage_unit, usage_start_time FROM usage_hours
  ) AS h
  JOIN prices AS p
    ON p.sku_name = h.sku_name
    AND p.cloud = h.cloud
    AND p.usage_unit = h.usage_unit
    AND p.currency_code = 'USD'
    AND p.list_price IS NOT NULL
    AND p.price_start_time <= h.usage_start_time
    AND (p.price_end_time IS NULL OR h.usage_start_time < p.price_end_time)
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY h.sku_name, h.cloud, h.usage_unit, h.usage_start_time
    ORDER BY p.price_start_time DESC, p.list_price DESC
  ) = 1
),

-- billing.sql's priced hours (priced in DOUBLE, held as DECIMAL(38, 18)).
priced_hours AS (
  SELECT
    u.workspace_id,
    u.usage_date,
    CAST(CAST(u.quantity AS DOUBLE) * CAST(p.list_price AS DOUBLE) AS DECIMAL(38, 18)) AS cost_usd
  FROM usage_hours AS u
  JOIN hour_prices AS p
    ON p.sku_name = u.sku_name
    AND p.cloud = u.cloud
    AND p.usage_unit = u.usage_unit
    AND p.usage_start_time = u.usage_start_time
),

daily_costs AS (
  SELECT
    workspace_id,
    datediff(current_date(), usage_date) AS days_ago,
    SUM(cost_usd) AS cost_usd
  FROM priced_hours
  WHERE usage_date < current_date()
    AND usage_date >= date_sub(current_date(), 7)
  GROUP BY workspace_id, datediff(current_date(), usage_date)
),

latest_usage AS (
  SELECT workspace_id, MAX(usage_end) AS usage_end
  FROM usage_hours
  GROUP BY workspace_id
  HAVING MAX(usage_end) IS NOT NULL
),

-- Usage hours split by product and tag values, each priced like a usage hour (cost NULL
-- where no price matched: unknown, not zero).
attributed_hours AS (
  SELECT
    a.*,
    CAST(CAST(a.quantity AS DOUBLE) * CAST(p.list_price AS DOUBLE) AS DECIMAL(38, 18)) AS cost_usd
  FROM (
    SELECT
      workspace_id, sku_name, cloud, usage_unit, usage_date, usage_start_time,
      product, tag_1, tag_2, tag_3, tag_4, tag_5,
      SUM(quantity) AS quantity
    FROM usage_fine
    GROUP BY
      workspace_id, sku_name, cloud, usage_unit, usage_date, usage_start_time,
      product, tag_1, tag_2, tag_3, tag_4, tag_5
  ) AS a
  LEFT JOIN hour_prices AS p
    ON p.sku_name = a.sku_name
    AND p.cloud = a.cloud
    AND p.usage_unit = a.usage_unit
    AND p.usage_start_time = a.usage_start_time
),

-- The fold of tag values: per workspace, the :top_k combinations of tag values with the most
-- cost over the window keep their values (ties go to the smaller values, so the choice is
-- stable); the others become 'other' in every tag label. Without tag labels every workspace
-- has one combination, never folded.
tag_ranks AS (
  SELECT
    workspace_id, tag_1, tag_2, tag_3, tag_4, tag_5,
    ROW_NUMBER() OVER (
      PARTITION BY workspace_id
      ORDER BY SUM(COALESCE(cost_usd, 0)) DESC, tag_1, tag_2, tag_3, tag_4, tag_5
    ) > :top_k AS folded
  FROM attributed_hours
  GROUP BY workspace_id, tag_1, tag_2, tag_3, tag_4, tag_5
),

attributed AS (
  SELECT
    a.workspace_id,
    a.sku_name,
    a.usage_date,
    a.usage_unit,
    a.product,
    CASE WHEN r.folded THEN 'other' ELSE a.tag_1 END AS tag_1,
    CASE WHEN r.folded THEN 'other' ELSE a.tag_2 END AS tag_2,
    CASE WHEN r.folded THEN 'other' ELSE a.tag_3 END AS tag_3,
    CASE WHEN r.folded THEN 'other' ELSE a.tag_4 END AS tag_4,
    CASE WHEN r.folded THEN 'other' ELSE a.tag_5 END AS tag_5,
    a.quantity,
    a.cost_usd
  FROM attributed_hours AS a
  JOIN tag_ranks AS r
    ON a.workspace_id <=> r.workspace_id
    AND a.tag_1 <=> r.tag_1 AND a.tag_2 <=> r.tag_2 AND a.tag_3 <=> r.tag_3
    AND a.tag_4 <=> r.tag_4 AND a.tag_5 <=> r.tag_5
),

-- DBUs per day and attribution; corrections that net out leave a 0 series.
dbus AS (
  SELECT
    workspace_id, sku_name, usage_date, product, tag_1, tag_2, tag_3, tag_4, tag_5,
    SUM(quantity) AS dbus
  FROM attributed
  WHERE usage_unit = 'DBU'
  GROUP BY workspace_id, sku_name, usage_date, product, tag_1, tag_2, tag_3, tag_4, tag_5
),

-- Cost per day and attribution, over the priced hours only (no series where none matched).
costs AS (
  SELECT
    workspace_id, sku_name, usage_date, product, tag_1, tag_2, tag_3, tag_4, tag_5,
    SUM(cost_usd) AS cost_usd
  FROM attributed
  WHERE cost_usd IS NOT NULL
  GROUP BY workspace_id, sku_name, usage_date, product, tag_1, tag_2, tag_3, tag_4, tag_5
),

-- Cost per job over the whole billing window: each job's usage hours priced like any usage
-- hour; a job none of whose usage matched a price has no series.
job_totals AS (
  SELECT workspace_id, job_id, SUM(cost_usd) AS cost_usd
  FROM (
    SELECT
      j.workspace_id,
      j.job_id,
      CAST(CAST(j.quantity AS DOUBLE) * CAST(p.list_price AS DOUBLE) AS DECIMAL(38, 18))
        AS cost_usd
    FROM (
      SELECT
        workspace_id, sku_name, cloud, usage_unit, usage_date, usage_start_time, job_id,
        SUM(quantity) AS quantity
      FROM usage_fine
      WHERE job_id IS NOT NULL
      GROUP BY
        workspace_id, sku_name, cloud, usage_unit, usage_date, usage_start_time, job_id
    ) AS j
    JOIN hour_prices AS p
      ON p.sku_name = j.sku_name
      AND p.cloud = j.cloud
      AND p.usage_unit = j.usage_unit
      AND p.usage_start_time = j.usage_start_time
  ) AS priced
  GROUP BY workspace_id, job_id
),

-- The fold of jobs: per workspace the :top_k jobs with the most cost keep their id (ties go to
-- the smaller job_id); the others become 'other'.
job_labels AS (
  SELECT
    workspace_id,
    cost_usd,
    ROW_NUMBER() OVER (PARTITION BY workspace_id ORDER BY cost_usd DESC, job_id) > :top_k
      AS folded,
    job_id
  FROM job_totals
),

job_costs AS (
  SELECT
    workspace_id,
    CASE WHEN folded THEN 'other' ELSE job_id END AS job_id,
    SUM(cost_usd) AS cost_usd
  FROM job_labels
  GROUP BY workspace_id, CASE WHEN folded THEN 'other' ELSE job_id END
),

-- How many entities each workspace folded: tag value combinations (when tags are split) and
-- jobs (when costed).
folded_counts AS (
  SELECT workspace_id, 'custom_tags' AS folded_label, count_if(folded) AS entities
  FROM tag_ranks
  WHERE :tag_1 IS NOT NULL
  GROUP BY workspace_id
  UNION ALL
  SELECT workspace_id, 'job_id' AS folded_label, count_if(folded) AS entities
  FROM job_labels
  GROUP BY workspace_id
)

SELECT
  '__now__' AS metric,
  CAST(NULL AS STRING) AS workspace_id,
  CAST(NULL AS STRING) AS sku_name,
  CAST(NULL AS STRING) AS usage_date,
  CAST(NULL AS STRING) AS days_ago,
  CAST(NULL AS STRING) AS billing_origin_product,
  CAST(NULL AS STRING) AS tag_1,
  CAST(NULL AS STRING) AS tag_2,
  CAST(NULL AS STRING) AS tag_3,
  CAST(NULL AS STRING) AS tag_4,
  CAST(NULL AS STRING) AS tag_5,
  CAST(NULL AS STRING) AS job_id,
  CAST(NULL AS STRING) AS folded_label,
  CAST(unix_timestamp(current_timestamp()) AS DOUBLE) AS value
UNION ALL
SELECT
  'databricks_billing_dbus_total', workspace_id, sku_name, CAST(usage_date AS STRING), NULL,
  product, tag_1, tag_2, tag_3, tag_4, tag_5, NULL, NULL, CAST(dbus AS DOUBLE)
FROM dbus
UNION ALL
SELECT
  'databricks_billing_cost_estimate_usd', workspace_id, sku_name, CAST(usage_date AS STRING),
  NULL, product, tag_1, tag_2, tag_3, tag_4, tag_5, NULL, NULL, CAST(cost_usd AS DOUBLE)
FROM costs
UNION ALL
SELECT
  'databricks_billing_daily_cost_usd', workspace_id, NULL, NULL, CAST(days_ago AS STRING),
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, CAST(cost_usd AS DOUBLE)
FROM daily_costs
UNION ALL
SELECT
  'databricks_billing_latest_usage_timestamp_seconds', workspace_id, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, CAST(unix_timestamp(usage_end) AS DOUBLE)
FROM latest_usage
UNION ALL
SELECT
  'databricks_price_change_events', NULL, sku_name, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, CAST(changes AS DOUBLE)
FROM price_changes
UNION ALL
SELECT
  'databricks_billing_job_cost_usd', workspace_id, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, job_id, NULL, CAST(cost_usd AS DOUBLE)
FROM job_costs
UNION ALL
SELECT
  '__folded__', workspace_id, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, folded_label, CAST(entities AS DOUBLE)
FROM folded_counts
