"""`tenantguard audit`: a live database and the traffic it serves, under the same proof.

The linter sees the repository's SQL and the guard sees the processes that use it; neither sees
the database itself, nor what other clients send to it. The audit reads both from the server:

- `catalog`: one short REPEATABLE READ, READ ONLY transaction reads the catalog (relations,
  columns, keys, foreign keys, Row-Level Security policies, grants, views, functions, the
  audited role) and the statements pg_stat_statements recorded, into the records of `model`;
- `schema`: the catalog as a schema, turned into the engine's policy by `config.build_policy`;
- `rules`: the catalog rules TG201-TG216, one module each; `rowpolicy` asks the engine whether
  a policy's expression pins the tenant;
- `traffic` and `statement_log`: every recorded statement (or every statement of a csv or json
  log) through the proof, on several processes, ranked by calls and time;
- `command`: the face, `run_audit`, rendered by `report.render` as `check` is.
"""
