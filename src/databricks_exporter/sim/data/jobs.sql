-- Bulk job runs from the `gen_jobs` definitions.
--
-- gen_runs holds one row per attempt: attempt 0 is the scheduled run, attempt 1 a repair of a
-- failed run (same run_id, later, with its own terminal row). A run whose end is after `now`
-- is in progress: only its slices that ended by `now` are written, none terminal.

CREATE OR REPLACE TEMP TABLE gen_runs AS
WITH scheduled AS (
    SELECT
        j.*, p.seed, p.now_us, p.max_span_us, p.account_id, r.k,
        j.job_key::BIGINT * 10000000 + r.k AS run_num,
        p.job_start_us + j.phase_us::BIGINT + r.k * j.period_us::BIGINT
            + CAST(gen_u(p.seed, 1, j.job_key, r.k) * j.jitter_us AS BIGINT) AS start_us,
        gen_job_state(gen_u(p.seed, 2, j.job_key, r.k)) AS state,
        gen_u(p.seed, 3, j.job_key, r.k) AS u_repair,
        gen_u(p.seed, 4, j.job_key, r.k) AS u_code,
        gen_z(p.seed, 5, j.job_key, r.k) AS z_duration
    FROM gen_jobs AS j, gen_params AS p, range(j.slots) AS r(k)
),
timed AS (
    SELECT
        *,
        CASE WHEN state = 'SKIPPED' AND klass <> 'continuous'
             THEN 1000000 + CAST(u_code * 4000000 AS BIGINT)
             ELSE CAST(least(max_span_us, greatest(30000000, mean_us * exp(sigma * z_duration)))
                       AS BIGINT)
        END AS duration_us,
        300000000 + CAST(u_repair * 3300000000 AS BIGINT) AS repair_gap_us
    FROM scheduled
    WHERE start_us < least(now_us, until_us)
),
runs AS (
    SELECT
        *,
        start_us + duration_us AS end_us,
        CAST(duration_us * (0.3 + 0.7 * u_code) AS BIGINT) AS repair_us,
        start_us + duration_us + repair_gap_us AS repair_start_us
    FROM timed
)
SELECT
    *, 0 AS attempt, start_us AS a_start_us, end_us AS a_end_us, state AS a_state,
    gen_termination_code(state, u_code) AS a_code
FROM runs
UNION ALL
SELECT
    *, 1 AS attempt, repair_start_us, repair_start_us + repair_us,
    CASE WHEN u_repair < 0.3 THEN 'SUCCEEDED' ELSE 'FAILED' END AS a_state,
    CASE WHEN u_repair < 0.3 THEN 'SUCCESS' ELSE 'RUN_EXECUTION_ERROR' END AS a_code
FROM runs
WHERE state IN ('FAILED', 'TIMED_OUT', 'ERROR') AND u_repair < 0.4
    AND repair_start_us + repair_us <= now_us
    AND repair_start_us + repair_us - start_us <= max_span_us;

INSERT INTO databricks_system.lakeflow.job_run_timeline BY NAME
SELECT
    account_id, workspace_id, job_id, run_num::VARCHAR AS run_id,
    gen_ts(slice_start) AS period_start_time, gen_ts(slice_end) AS period_end_time,
    trigger_type, run_type, name AS run_name,
    CASE WHEN serverless THEN []::VARCHAR[] ELSE [cluster_id] END AS compute_ids,
    CASE WHEN last THEN a_state END AS result_state,
    CASE WHEN last THEN a_code END AS termination_code,
    CASE WHEN run_type = 'JOB_RUN' THEN MAP {'env': 'prod'} END AS job_parameters,
    CASE WHEN last THEN gen_termination_type(a_code) END AS termination_type,
    CASE WHEN last THEN 20 + run_num % 40 END AS setup_duration_seconds,
    CASE WHEN last THEN run_num % 7 END AS queue_duration_seconds,
    CASE WHEN last THEN (a_end_us - a_start_us) // 1000000 END AS run_duration_seconds,
    CASE WHEN last THEN 5 + run_num % 10 END AS cleanup_duration_seconds,
    CASE WHEN last THEN greatest(0, (a_end_us - a_start_us) // 1000000 - 25 - run_num % 40)
        END AS execution_duration_seconds
FROM (
    SELECT
        g.*,
        gen_slice_start(g.a_start_us, s.i) AS slice_start,
        gen_slice_end(g.a_start_us, g.a_end_us, s.i) AS slice_end,
        gen_slice_end(g.a_start_us, g.a_end_us, s.i) = g.a_end_us AS last
    FROM gen_runs AS g, range(gen_slice_count(g.a_start_us, g.a_end_us)) AS s(i)
)
WHERE slice_end <= now_us;

-- Task runs: the tasks of a run share its interval in order. A task may fail and be retried
-- (a new task run_id under the same job_run_id and task_key); a repair re-runs the last task.
CREATE OR REPLACE TEMP TABLE gen_task_runs AS
WITH tasks AS (
    SELECT
        g.*, tk.t, g.task_keys[tk.t + 1] AS task_key,
        g.a_start_us + (g.a_end_us - g.a_start_us) * tk.t // g.n_tasks AS t_start_us,
        g.a_start_us + (g.a_end_us - g.a_start_us) * (tk.t + 1) // g.n_tasks AS t_end_us,
        CASE WHEN gen_u(g.seed, 20, g.run_num, tk.t) >= 0.07 THEN 0
             WHEN gen_u(g.seed, 21, g.run_num, tk.t) < 0.3 THEN 2 ELSE 1 END AS retries
    FROM gen_runs AS g, range(g.n_tasks) AS tk(t)
    WHERE g.attempt = 0
)
SELECT
    tasks.*, a.retry,
    t_start_us + (t_end_us - t_start_us) * a.retry // (retries + 1) AS ts_us,
    t_start_us + (t_end_us - t_start_us) * (a.retry + 1) // (retries + 1) AS te_us,
    CASE WHEN a.retry < retries THEN 'FAILED'
         WHEN t = n_tasks - 1 OR a_state = 'SKIPPED' THEN a_state
         ELSE 'SUCCEEDED' END AS task_state
FROM tasks, range(retries + 1) AS a(retry)
UNION ALL
SELECT
    g.*, g.n_tasks - 1 AS t, g.task_keys[g.n_tasks] AS task_key,
    g.a_start_us AS t_start_us, g.a_end_us AS t_end_us, 0 AS retries, 5 AS retry,
    g.a_start_us AS ts_us, g.a_end_us AS te_us, g.a_state AS task_state
FROM gen_runs AS g
WHERE g.attempt = 1;

INSERT INTO databricks_system.lakeflow.job_task_run_timeline BY NAME
SELECT
    account_id, workspace_id, job_id,
    (run_num * 100 + t * 10 + retry)::VARCHAR AS run_id,
    run_num::VARCHAR AS job_run_id, run_num::VARCHAR AS parent_run_id,
    gen_ts(slice_start) AS period_start_time, gen_ts(slice_end) AS period_end_time,
    task_key,
    CASE WHEN serverless THEN []::VARCHAR[] ELSE [cluster_id] END AS compute_ids,
    CASE WHEN last THEN task_state END AS result_state,
    CASE WHEN last THEN gen_termination_code(task_state, u_code) END AS termination_code,
    CASE WHEN last THEN gen_termination_type(gen_termination_code(task_state, u_code))
        END AS termination_type
FROM (
    SELECT
        r.*,
        gen_slice_start(r.ts_us, s.i) AS slice_start,
        gen_slice_end(r.ts_us, r.te_us, s.i) AS slice_end,
        gen_slice_end(r.ts_us, r.te_us, s.i) = r.te_us AS last
    FROM gen_task_runs AS r, range(gen_slice_count(r.ts_us, r.te_us)) AS s(i)
)
WHERE slice_end <= now_us;

DROP TABLE gen_task_runs;
DROP TABLE gen_runs;
