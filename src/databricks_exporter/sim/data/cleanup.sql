-- Drop the generator's temporary tables and macros, leaving the connection as it was.

DROP TABLE IF EXISTS gen_params;
DROP TABLE IF EXISTS gen_jobs;
DROP TABLE IF EXISTS gen_pipelines;
DROP TABLE IF EXISTS gen_query_workspaces;
DROP TABLE IF EXISTS gen_query_targets;
DROP TABLE IF EXISTS gen_usage_sources;
DROP MACRO IF EXISTS gen_u;
DROP MACRO IF EXISTS gen_h;
DROP MACRO IF EXISTS gen_z;
DROP MACRO IF EXISTS gen_uuid;
DROP MACRO IF EXISTS gen_ts;
DROP MACRO IF EXISTS gen_decimal;
DROP MACRO IF EXISTS gen_slice_count;
DROP MACRO IF EXISTS gen_slice_start;
DROP MACRO IF EXISTS gen_slice_end;
DROP MACRO IF EXISTS gen_job_state;
DROP MACRO IF EXISTS gen_termination_code;
DROP MACRO IF EXISTS gen_termination_type;
