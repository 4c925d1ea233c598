-- Helpers of the bulk SQL. Every random draw hashes (seed, stream, key, index), so a row's
-- values never depend on the order in which DuckDB's threads produce rows. Times are BIGINT
-- microseconds since the epoch until the final INSERT turns them into TIMESTAMPs.

-- A 64-bit hash of four integers. DuckDB's several-argument hash() combines the hashes of its
-- arguments nearly linearly, which made draws of different streams dependent (the longest
-- statements all started in the same 45 minutes); chaining one-argument hashes mixes fully.
CREATE OR REPLACE TEMP MACRO gen_h(s, stream, k, i) AS
    hash(xor(hash(xor(hash(xor(hash(s::UBIGINT), stream::UBIGINT)), k::UBIGINT)), i::UBIGINT));

CREATE OR REPLACE TEMP MACRO gen_u(s, stream, k, i) AS
    (gen_h(s, stream, k, i)::DOUBLE + 0.5) / 18446744073709551616.0;

-- A standard normal draw (Box-Muller).
CREATE OR REPLACE TEMP MACRO gen_z(s, stream, k, i) AS
    sqrt(-2.0 * ln(gen_u(s, stream, k, i))) * cos(2.0 * pi() * gen_u(s, stream + 500, k, i));

CREATE OR REPLACE TEMP MACRO gen_uuid(s, stream, k, i) AS
    ((gen_h(s, stream, k, i)::UHUGEINT << 64) | gen_h(s, stream + 500, k, i)::UHUGEINT)
        ::UUID::VARCHAR;

CREATE OR REPLACE TEMP MACRO gen_ts(us) AS make_timestamp(us);

-- A DECIMAL(38,18) with the given whole part and an 18-digit fraction taken from a hash.
CREATE OR REPLACE TEMP MACRO gen_decimal(whole, h) AS
    (whole::VARCHAR || '.' || lpad((h % 1000000000000000000)::VARCHAR, 18, '0'))::DECIMAL(38, 18);

-- Clock-hour slicing of [s, e): slice i runs from gen_slice_start(s, i) to gen_slice_end(s, e, i).
CREATE OR REPLACE TEMP MACRO gen_slice_count(s, e) AS (e - 1) // 3600000000 - s // 3600000000 + 1;
CREATE OR REPLACE TEMP MACRO gen_slice_start(s, i) AS
    greatest(s, (s // 3600000000 + i) * 3600000000);
CREATE OR REPLACE TEMP MACRO gen_slice_end(s, e, i) AS
    least(e, (s // 3600000000 + i + 1) * 3600000000);

CREATE OR REPLACE TEMP MACRO gen_job_state(u) AS CASE
    WHEN u < 0.80 THEN 'SUCCEEDED' WHEN u < 0.88 THEN 'FAILED' WHEN u < 0.91 THEN 'CANCELLED'
    WHEN u < 0.935 THEN 'TIMED_OUT' WHEN u < 0.96 THEN 'SKIPPED' WHEN u < 0.99 THEN 'ERROR'
    ELSE 'BLOCKED' END;

CREATE OR REPLACE TEMP MACRO gen_termination_code(state, u) AS CASE state
    WHEN 'SUCCEEDED' THEN 'SUCCESS'
    WHEN 'FAILED' THEN CASE WHEN u < 0.7 THEN 'RUN_EXECUTION_ERROR' ELSE 'DRIVER_ERROR' END
    WHEN 'CANCELLED' THEN 'CANCELLED'
    WHEN 'TIMED_OUT' THEN 'RUN_EXECUTION_ERROR'
    WHEN 'SKIPPED' THEN 'SKIPPED'
    WHEN 'ERROR' THEN CASE WHEN u < 0.5 THEN 'CLUSTER_ERROR' ELSE 'CLOUD_FAILURE' END
    ELSE 'MAX_CONCURRENT_RUNS_EXCEEDED' END;

CREATE OR REPLACE TEMP MACRO gen_termination_type(code) AS CASE
    WHEN code IN ('SUCCESS', 'SKIPPED') THEN 'SUCCESS'
    WHEN code IN ('CLUSTER_ERROR') THEN 'INTERNAL_ERROR'
    WHEN code = 'CLOUD_FAILURE' THEN 'CLOUD_FAILURE'
    ELSE 'CLIENT_ERROR' END;
