-- Part of billing.sql and billing_attributed.sql (included where their `-- include:` line
-- stands): the price list and the price changes counted, defined once here so that the two
-- cannot drift.

-- The whole price list: the cost needs old prices (usage of a month ago is priced as it was
-- then) and a price change is recognised by the earlier price it replaces. One row per price
-- change per SKU, so the table is small.
prices AS (
  SELECT
    sku_name,
    cloud,
    currency_code,
    usage_unit,
    price_start_time,
    price_end_time,
    pricing.effective_list.default AS list_price
  FROM system.billing.list_prices
),

-- Price rows that took effect inside the price-change window and replace an earlier price of
-- the same (sku_name, cloud, currency_code, usage_unit): some row of that key started strictly
-- earlier. A SKU's first-ever price is not a change; SKUs without changes have no series.
price_changes AS (
  SELECT sku_name, COUNT(*) AS changes
  FROM (
    SELECT
      sku_name,
      price_start_time,
      price_start_time > MIN(price_start_time) OVER (
        PARTITION BY sku_name, cloud, currency_code, usage_unit
      ) AS replaces_earlier
    FROM prices
  ) AS history
  WHERE replaces_earlier
    AND price_start_time >= timestampadd(
          SECOND, -:price_change_lookback_seconds, current_timestamp())
    AND price_start_time <= current_timestamp()
  GROUP BY sku_name
),
