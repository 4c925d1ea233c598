-- Billing collector: one statement, long-format rows
-- (metric, workspace_id, sku_name, usage_date, days_ago, value).
--
-- Parameters (all seconds):
--   :billing_lookback_seconds       usage dates covered           (--billing-lookback)
--   :price_change_lookback_seconds  price changes counted         (--price-change-lookback)
--
-- Date bound: a usage_date is inside the lookback when that (UTC) day overlaps the window
-- [now - lookback, now], i.e. from the date of (now - lookback) through today, both included
-- (31 dates for the default 30d). Later dates, if any, are ignored.

WITH
-- include: billing_prices.part.sql

-- Usage inside the date bound, summed per hour of usage before anything is priced. All
-- record types are summed, so a RETRACTION nets out the ORIGINAL it negates and a RESTATEMENT
-- adds the corrected amount (a NULL quantity counts as 0, never as an unknown total). The hour
-- (usage_start_time) is kept because the price that applies is the one in effect when the
-- usage started.
usage_hours AS (
  SELECT
    workspace_id,
    sku_name,
    cloud,
    usage_unit,
    usage_date,
    usage_start_time,
    SUM(COALESCE(usage_quantity, 0)) AS quantity,
    MAX(usage_end_time) AS usage_end
  FROM system.billing.usage
  WHERE usage_date >= to_date(
          timestampadd(SECOND, -:billing_lookback_seconds, current_timestamp()))
    AND usage_date <= current_date()
  GROUP BY workspace_id, sku_name, cloud, usage_unit, usage_date, usage_start_time
),

-- Each usage hour with the USD list price in effect when it started
-- (price_start_time <= usage_start_time < COALESCE(price_end_time, +infinity)) for the same
-- SKU, cloud and unit; a row without an effective list price is no price. Overlapping price
-- rows should not exist; if they do, the one that took effect last wins (then the higher
-- price), so an hour is never priced twice. Hours without a price drop out: no price is an
-- unknown cost, not a zero one.
priced_hours AS (
  SELECT
    u.workspace_id,
    u.sku_name,
    u.usage_date,
    -- Priced in DOUBLE (a DECIMAL(38,18) product overflows or loses scale, differently per
    -- engine), then held as DECIMAL so the daily sum is exact and the same on every run
    -- whatever the order the engine adds in (a sum of DOUBLEs in parallel is not).
    CAST(CAST(u.quantity AS DOUBLE) * CAST(p.list_price AS DOUBLE) AS DECIMAL(38, 18)) AS cost_usd
  FROM usage_hours AS u
  JOIN prices AS p
    ON p.sku_name = u.sku_name
    AND p.cloud = u.cloud
    AND p.usage_unit = u.usage_unit
    AND p.currency_code = 'USD'
    AND p.list_price IS NOT NULL
    AND p.price_start_time <= u.usage_start_time
    AND (p.price_end_time IS NULL OR u.usage_start_time < p.price_end_time)
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY u.workspace_id, u.sku_name, u.cloud, u.usage_unit, u.usage_date,
      u.usage_start_time
    ORDER BY p.price_start_time DESC, p.list_price DESC
  ) = 1
),

-- DBUs per day; a day whose corrections net to zero is reported as 0.
dbus AS (
  SELECT workspace_id, sku_name, usage_date, SUM(quantity) AS dbus
  FROM usage_hours
  WHERE usage_unit = 'DBU'
  GROUP BY workspace_id, sku_name, usage_date
),

-- Cost per day over every usage unit that has a USD list price; a (workspace, SKU, day) whose
-- usage matched no price at all has no series.
costs AS (
  SELECT workspace_id, sku_name, usage_date, SUM(cost_usd) AS cost_usd
  FROM priced_hours
  GROUP BY workspace_id, sku_name, usage_date
),

-- Cost of each of the last seven complete UTC days per workspace, every SKU together, so an
-- alert can compare a day with the day before without date arithmetic on labels. Today is
-- left out (its rows are still arriving); days without priced usage have no series.
daily_costs AS (
  SELECT
    workspace_id,
    datediff(current_date(), usage_date) AS days_ago,
    SUM(cost_usd) AS cost_usd
  FROM costs
  WHERE usage_date < current_date()
    AND usage_date >= date_sub(current_date(), 7)
  GROUP BY workspace_id, datediff(current_date(), usage_date)
),

-- The end of the newest usage row per workspace: how far billing data has arrived (rows
-- usually land within hours; a day of silence means the pipeline is behind).
latest_usage AS (
  SELECT workspace_id, MAX(usage_end) AS usage_end
  FROM usage_hours
  GROUP BY workspace_id
  HAVING MAX(usage_end) IS NOT NULL
)

SELECT
  '__now__' AS metric,
  CAST(NULL AS STRING) AS workspace_id,
  CAST(NULL AS STRING) AS sku_name,
  CAST(NULL AS STRING) AS usage_date,
  CAST(NULL AS STRING) AS days_ago,
  CAST(unix_timestamp(current_timestamp()) AS DOUBLE) AS value
UNION ALL
SELECT
  'databricks_billing_dbus_total', workspace_id, sku_name, CAST(usage_date AS STRING), NULL,
  CAST(dbus AS DOUBLE)
FROM dbus
UNION ALL
SELECT
  'databricks_billing_cost_estimate_usd', workspace_id, sku_name, CAST(usage_date AS STRING),
  NULL, CAST(cost_usd AS DOUBLE)
FROM costs
UNION ALL
SELECT
  'databricks_billing_daily_cost_usd', workspace_id, NULL, NULL, CAST(days_ago AS STRING),
  CAST(cost_usd AS DOUBLE)
FROM daily_costs
UNION ALL
SELECT
  'databricks_billing_latest_usage_timestamp_seconds', workspace_id, NULL, NULL, NULL,
  CAST(unix_timestamp(usage_end) AS DOUBLE)
FROM latest_usage
UNION ALL
SELECT 'databricks_price_change_events', NULL, sku_name, NULL, NULL, CAST(changes AS DOUBLE)
FROM price_changes
