-- Bulk pipeline updates from the `gen_pipelines` definitions.
--
-- A request is one to three updates in sequence: every update but the last FAILED, and the
-- restarts carry trigger_type RETRY_ON_FAILURE. An update whose end is after `now` is in
-- progress: only its slices that ended by `now` are written, none terminal.

CREATE OR REPLACE TEMP TABLE gen_updates AS
WITH requests AS (
    SELECT
        pl.*, p.seed, p.now_us, p.account_id, r.k,
        pl.pipe_key::BIGINT * 100000 + r.k AS request_num,
        p.pipe_start_us + pl.phase_us::BIGINT + r.k * pl.period_us::BIGINT
            + CAST(gen_u(p.seed, 40, pl.pipe_key, r.k) * pl.jitter_us AS BIGINT) AS start_us,
        CASE WHEN pl.continuous THEN 1
             WHEN pl.flaky AND gen_u(p.seed, 41, pl.pipe_key, r.k) < 0.7 THEN 2
             WHEN pl.flaky THEN 3
             WHEN gen_u(p.seed, 41, pl.pipe_key, r.k) < 0.84 THEN 1
             WHEN gen_u(p.seed, 41, pl.pipe_key, r.k) < 0.95 THEN 2 ELSE 3 END AS attempts,
        CASE WHEN r.k % pl.full_every = 0 THEN 'FULL_REFRESH'
             WHEN gen_u(p.seed, 42, pl.pipe_key, r.k) < 0.05 THEN 'VALIDATE'
             ELSE 'REFRESH' END AS update_type,
        gen_u(p.seed, 43, pl.pipe_key, r.k) AS u_state,
        CAST(60000000 + gen_u(p.seed, 44, pl.pipe_key, r.k) * 240000000 AS BIGINT) AS gap_us
    FROM gen_pipelines AS pl, gen_params AS p, range(pl.slots) AS r(k)
),
durations AS (
    SELECT
        *,
        CAST(least(21600000000, mean_us * exp(sigma * gen_z(seed, 45, pipe_key, k)))
             AS BIGINT) AS d0,
        CAST(least(21600000000, mean_us * exp(sigma * gen_z(seed, 46, pipe_key, k)))
             AS BIGINT) AS d1,
        CAST(least(21600000000, mean_us * exp(sigma * gen_z(seed, 47, pipe_key, k)))
             AS BIGINT) AS d2,
        CASE WHEN attempts > 1 AND u_state < 0.7 THEN 'COMPLETED'
             WHEN attempts > 1 THEN 'FAILED'
             WHEN u_state < 0.85 THEN 'COMPLETED'
             WHEN u_state < 0.95 THEN 'FAILED'
             ELSE 'CANCELED' END AS final_state
    FROM requests
    WHERE start_us < least(now_us, until_us)
)
SELECT
    d.*, a.a,
    d.start_us + CASE a.a WHEN 0 THEN 0 WHEN 1 THEN d0 + gap_us ELSE d0 + d1 + 2 * gap_us END
        AS u_start_us,
    u_start_us + CASE a.a WHEN 0 THEN d0 WHEN 1 THEN d1 ELSE d2 END AS u_end_us,
    CASE WHEN a.a < attempts - 1 THEN 'FAILED' ELSE final_state END AS state,
    CASE WHEN a.a = 0 THEN trigger_type ELSE 'RETRY_ON_FAILURE' END AS u_trigger
FROM durations AS d, range(d.attempts) AS a(a);

INSERT INTO databricks_system.lakeflow.pipeline_update_timeline BY NAME
SELECT
    account_id, workspace_id, pipeline_id,
    gen_uuid(seed, 48, pipe_key, k * 10 + a) AS update_id,
    update_type,
    gen_uuid(seed, 49, pipe_key, k) AS request_id,
    run_as AS run_as_user_name,
    u_trigger AS trigger_type,
    CASE WHEN u_trigger = 'JOB_TASK' THEN {
        'job_task': {
            'job_id': job_id,
            'job_run_id': (job_id::BIGINT * 10000000 + k)::VARCHAR,
            'performance_target': 'STANDARD'
        }
    } END AS trigger_details,
    CASE WHEN last THEN state END AS result_state,
    CASE WHEN serverless THEN {'type': 'SERVERLESS_COMPUTE', 'cluster_id': NULL::VARCHAR}
         ELSE {'type': 'CLASSIC_COMPUTE', 'cluster_id': '0202-' || pipe_key || '-dlt'} END
        AS compute,
    gen_ts(slice_start) AS period_start_time,
    gen_ts(slice_end) AS period_end_time,
    CASE WHEN update_type = 'REFRESH' AND k % 5 = 1 THEN ['silver_' || name] END
        AS refresh_selection,
    CASE WHEN update_type = 'FULL_REFRESH' THEN []::VARCHAR[] END AS full_refresh_selection,
    NULL::VARCHAR[] AS reset_checkpoint_selection
FROM (
    SELECT
        u.*,
        gen_slice_start(u.u_start_us, s.i) AS slice_start,
        gen_slice_end(u.u_start_us, u.u_end_us, s.i) AS slice_end,
        gen_slice_end(u.u_start_us, u.u_end_us, s.i) = u.u_end_us AS last
    FROM gen_updates AS u, range(gen_slice_count(u.u_start_us, u.u_end_us)) AS s(i)
)
WHERE slice_end <= now_us;

DROP TABLE gen_updates;
