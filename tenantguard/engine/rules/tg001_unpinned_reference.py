"""TG001 unpinned-tenant-reference

## What it does
Finds a reference to a tenant table — in any query block: the statement itself, a CTE, a
subquery, a derived table, a LATERAL subquery, a branch of UNION/INTERSECT/EXCEPT, the target of
UPDATE/DELETE/MERGE or the source of a MERGE — that no top-level AND-condition pins to one
tenant. Views and functions of the schema sources that hand out every tenant's rows are tenant
tables too; a call of a function pinned by one of its parameters is a reference pinned by the
argument given there.

## Why is this bad?
Without `tenant_id = $1` (or an equality chain to a pinned tenant column) the query reads or
changes the rows of every tenant: one clinic sees, edits or deletes another clinic's patients.

What pins a reference `R`:
- a conjunct `R.tenant_id = V` of a clause that filters `R`, V a pinning value — a parameter, a
  literal, the tenant expression (`current_setting('app.tenant_id')`, also with `, true`; not in
  a statement that calls `set_config` on that setting, or on a setting named by an expression, or
  calls (reads) a function (view) of the schema sources that may change it — any function in a
  language other than SQL and PL/pgSQL may, its queries being out of sight: a FROM item or CTE
  runs it before the rows are read, and the expression reads the new value; nor, unqualified,
  with the setting's name cast to a type but text when the schema sources create a function of
  that name — `hr.current_setting(setting varchar)` is what PostgreSQL calls for
  `current_setting('app.tenant_id'::varchar)`, h40A), or a
  cast of one to a type whose equality is exact (integers, `numeric` without a scale, `text`,
  `varchar` without a length, `uuid`, or a domain of the schema over one of those — or over
  such a domain — with no length, precision, array or collation of its own but `"C"`,
  `"POSIX"`, `ucs_basic`: `CREATE DOMAIN acct_id AS bigint`, `$1::acct_id`; a domain name
  defined twice, in two schemas, renamed, moved, dropped or touched by DDL the schema reader
  cannot read is not; never `real`, `double precision`, `varchar(n)`,
  `char(n)`, `numeric(p, s)`, `citext`, nor a conversion between families such as
  `$1::numeric::int` (but text read as a uuid, `$1::text::uuid`, which neither rounds nor
  cuts); nor a parameter that the statement types double precision elsewhere:
  `sqrt($1)`, `$1 ^ 2`, `round($1)`, `$1 = x::float8`, `coalesce($1, x::real)`, a parameter of
  a schema function declared of a lossy type (`f(t real)`: `f($1)`, `f(t => $1)`), or compares
  with a column the schema sources declare `real`, `double precision`, `char(n)`, `name`,
  `money` or `citext` (a domain or an array of one; any table's column of that name, the tenant
  column's own name excepted) — or, in a statement that may read PostgreSQL's catalogs, a
  catalog column of type `name` or `"char"` (`pg_namespace.nspname`, `pg_class.relkind`,
  `information_schema`'s identifiers) or a name-valued function (`current_user`) —, or with a
  value of such a column under any form or name — an
  aggregate or window over it, a subscript, a scalar, `IN` or `ALL` subquery of it, a row of
  it, `CASE x WHEN $1`, a polymorphic call (`array_position(arr, $1)`), the same column of a
  set operation's other branch or of VALUES' other row, an alias, `AS q(x)`, a view's,
  CREATE TABLE AS's or a function's output (but for a column a column definition list
  declares of an exact type: `json_to_recordset(…) AS r(tenant_id bigint, …)`), a
  composite's attribute, a renamed column, or a
  cast to a domain not known to be exact, or a function call of unknown type — not a call of
  a function of the schema whose every definition takes and returns exact types, of a name
  no built-in has (`f_text(t text) RETURNS text`; a name renamed, moved, made an aggregate or
  created by DDL the schema reader cannot read is of unknown type): `score < $1`,
  `(SELECT r AS x FROM rates) q … q.x < $1`, `SELECT $1 UNION SELECT score`, since PostgreSQL
  types a parameter once for the whole statement) — or the tenant column of a pinned source. The clauses that filter `R`: the
  WHERE; the ON of an inner join; the ON of an outer join for its nullable side only (the
  preserved side of a LEFT JOIN is filtered by the WHERE alone; a FULL JOIN's ON filters neither
  side, unless a WHERE pin or equality on one side's tenant column rejects that side's
  NULL-extended rows: then, as PostgreSQL reduces it to a one-sided join, its ON filters the
  other side); a top-level `EXISTS (SELECT … WHERE …)` conjunct, and an inner (comma, CROSS,
  INNER) `LATERAL (SELECT … WHERE …)` item, for what the subquery's WHERE (or the ON of an
  inner join in it that no outer join NULL-extends) equates with an outer source's tenant column (a pinning value, or another source's pinned tenant column:
  `EXISTS (SELECT 1 FROM a WHERE a.tenant_id = $1 AND a.tenant_id = p.tenant_id)` pins `p`) —
  only a plain SELECT, whose rows are rows of its FROM that passed its WHERE (not an aggregate,
  window function, GROUP BY or HAVING: `count(*)` returns a row where none matched — nor a
  call that may be one, though sqlglot parses it as a plain call (`jsonb_agg`, `every`,
  `pg_catalog.count`, any name that is no built-in function: a schema's aggregate), nor an
  aggregate of the subquery's level written in a nested subquery (`SELECT (SELECT max(a.id))
  FROM a …`: its arguments name only the subquery's columns); not a set
  operation; not NOT EXISTS; not a LEFT JOIN LATERAL; not a source on an outer join's
  nullable side); the MERGE ON for the target; the HAVING of a plain GROUP BY (no grouping sets), for a
  column outside an aggregate, one value in each group (under ROLLUP, CUBE or GROUPING SETS
  PostgreSQL 15 computes every tenant's groups before a HAVING or an outer pin filters them:
  `sum(1 / (n - 5))` fails on another tenant's row; only the block's own WHERE pins); the
  FILTERs of a one-row aggregate block over R alone (`SELECT count(*) FILTER (WHERE tenant_id =
  $1), sum(n) FILTER (WHERE tenant_id = $1 AND kind = 'a') FROM R`) when every aggregate is
  filtered by `tenant_id = V` (a pinning value) and nothing else of R is read (no column, `*`
  or aggregate outside the filters, no GROUP BY — a group of another tenant's rows only shows
  its key —, no HAVING, no window, no WHERE, no join, no nested query), each filter holding
  columns, values, comparisons and connectives only (it runs on every row: no call, no cast of
  a column) — R a table, or a view or function of the schema that computes nothing on its
  rows that may fail or act (no pin reaches its scan: a view's own `WHERE 100 / n > 0` runs
  on every tenant's rows before the FILTERs, and so does a filter's test of a column the view
  computes by a failing expression, h39A);
- the same equality spelled `IS NOT DISTINCT FROM` (or `NOT (… IS DISTINCT FROM V)`; on a
  nullable tenant column too, with or without `shared_rows`: V is the request's tenant, never
  NULL — the runtime guard refuses a NULL bound where it checks a pin — so no row of no tenant
  matches), `OPERATOR(pg_catalog.=)`, `BETWEEN V AND
  V`, `IN (V)` (or `IN (V, V)`), `= ANY(ARRAY[V])`, `= ALL(ARRAY[V])`, `= ANY('{1}')` (an array literal of one element; not NULL, nested nor dimensioned) (never `ALL` of an
  empty array, of `'{}'` or of an array parameter: TRUE for every row), `IN (SELECT V)` and `= (SELECT V)`
  (every branch of a set operation selecting the same V: a scalar subquery is then V, NULL or
  an error; never `IS NOT DISTINCT FROM` it; also `= (VALUES (V))`, `IN (VALUES (V), (V))`,
  every row V), and so `= (SELECT p.tenant_id FROM p …)` or `IN
  (SELECT p.tenant_id …)` — one SELECT of one item, the tenant column of its source p — once p
  is pinned to V (not through a set operation, nor when the column is the outer row's);
  `= ANY (SELECT …)` as `IN (SELECT …)` (never `= ALL (SELECT …)`: TRUE for every row when it
  returns none);
  `R.tenant_id::text = V`; a row equality
  `(R.tenant_id, R.id) = ($1, $2)` or `ROW(…) = ROW(…)`, pair by pair; a row-IN list whose rows all carry the same
  tenant value; a row IN (or `= ANY`, or `=` a scalar subquery: its one row) a subquery —
  one SELECT, as many items, no `*` — whose
  item at the tenant column's place is V or the tenant column of a source p of it, once p is
  pinned (`(tenant_id, id) IN (SELECT tenant_id, id FROM leads WHERE tenant_id = $1)`: a row
  matches only a row of the subquery; never NOT IN, `= ALL`, nor a set operation); `x IN (y)`
  of one item (NULL items aside) as `x = y`, PostgreSQL's own reading, so `a.tenant_id IN
  (p.tenant_id)` chains; `… AND TRUE`, `… OR FALSE` and `… OR NULL` (also cast: never TRUE) change
  nothing; `R.tenant_id >= V AND R.tenant_id <= V` (either side round, anywhere among the
  conjuncts, the same V on both: never two unnamed `%s`) as `BETWEEN V AND V`; `NOT NOT c` as
  `c`, `NOT (R.tenant_id <> V)` as `= V` (NOT of NULL is NULL; never `NOT (… = V)`). A bare parameter in `ARRAY[$1]`
  counts only when nothing else in the statement may type it an array (each other use is an
  item of an `ARRAY[…]` or a cast to a type that is no array): after `$1::bigint[]` or
  `= ANY($1)`, `ARRAY[$1]` is that whole array;
- `R.tenant_id::bigint = V` (`CAST(… AS int8)`, `::int2`, `::int4`, `::numeric`) when the
  schema sources declare R's tenant column of an integer type (int2, int4, int8, a serial;
  followed through `ALTER COLUMN … TYPE`, `LIKE`, `INHERITS`, `PARTITION OF`; forgotten at a
  rename or for a name in two schemas): such a cast maps two ids to two values or fails
  ("smallint out of range", never a wrap). Of a column of unknown or another type (text:
  ' 1', '01' and '1' meet) or to `real` or `double precision`, no pin;
- `R.tenant_id::uuid = V` (`CAST(… AS T)`) of a column the schema sources declare of that very
  built-in type T (uuid, text, varchar, numeric, an integer type), or of an exact domain over T
  (a domain to its base type): the column's own value. Not to a domain (`org::org_ok`: its CHECK
  runs on every row the scan meets and fails on another tenant's), not to another type
  (`text_col::uuid` folds letter case: two tenants' ids meet; it fails on others' rows), not to
  `varchar(n)` (cuts: 'acme-1' and 'acme-2' meet as 'acme'; the reader keeps no lengths);
- `R.tenant_id IN (V, NULL)` (a NULL item, also cast, never matches: the IN is then NULL or
  TRUE exactly where `= V` is), and so `= ANY(ARRAY[V, NULL])` and `= ALL(ARRAY[V, NULL])`; `(R.tenant_id = V) IS TRUE`, and `CASE WHEN c THEN TRUE [ELSE
  FALSE | ELSE NULL] END` read as `c` (TRUE exactly where `c` is; NULL IS TRUE is FALSE), and
  so are `c = TRUE`, `c <> FALSE`, `c IS NOT DISTINCT FROM TRUE` (NULL where `c` is) and
  `coalesce(c, FALSE)` (every later argument FALSE or NULL: `coalesce(c, TRUE)` is TRUE where
  `c` is NULL — rows of no tenant, or every row with a NULL parameter) — never
  `IS NOT FALSE`, `IS NOT TRUE` or `IS FALSE` (`(tenant_id = $1) IS NOT FALSE` is TRUE for every
  row when `$1` is NULL, NOT NULL column or not: shown on the server, round 35);
  `R.tenant_id = ALL (SELECT V)`, a SELECT of one item and no other clause (one row: `= V`; ALL
  of a subquery that may return no row — a FROM, WHERE, LIMIT — is TRUE for every row); `CASE R.tenant_id WHEN V THEN TRUE [ELSE FALSE | ELSE NULL] END` (the
  simple CASE compares with `=`), not with a second WHEN or another default; a CASE whose
  every result that may be TRUE (not FALSE, NULL or a missing ELSE) pins the same value, as an
  OR of those results would (`CASE WHEN c THEN R.tenant_id = V ELSE R.tenant_id = V END`);
  `coalesce(R.tenant_id, V) = V` and `nullif(R.tenant_id, V) IS NULL` where the schema declares
  R's tenant column NOT NULL (TRUE also where it is NULL: rows of no tenant otherwise);
  `ARRAY[R.tenant_id] <@ ARRAY[V]`, or `@>`, either way round: two one-element arrays contain one
  another exactly when their elements are equal (a NULL element matches nothing) — not with an
  array parameter, two values, or a bare parameter as the element (`ARRAY[$1]` is all of `$1`
  when the statement types it an array), nor `&&`;
- a column of a derived table or CTE that every branch of its body projects as one and the
  same pinning value V (`(SELECT $1 AS o) p … R.tenant_id = p.o`, also written by `INSERT …
  SELECT p.o`): V in every row it has (not a column, a call, another value, a recursive term,
  nor — when written — a column of the nullable side of an outer join);
- `tenant_id(p)`, functional notation, as `p.tenant_id` (PostgreSQL's reading of a call of one
  row argument by an unqualified name no function has) — not when the schema sources define a
  function of that name (PostgreSQL calls it), for a built-in taking any row (`to_json(p)`),
  nor when p may be a column (as below);
- `(p).tenant_id` or `(p.*).tenant_id`, the field of the row variable p, as `p.tenant_id` —
  unless a source some level of the clause can see may have a column named p (of a table whose
  columns the schema sources show, none is): PostgreSQL looks a lone name up as a column, at
  every level, before it looks for a relation, and `(p)` is then that column (a composite's
  field); so, in a select list, `(p).*` outputs p's columns as `p.*` does (and `(p.*).*`
  always), but `(owner).*`, `(p.owner).*` or `(p).*` where p may be a column output a
  composite's fields — a field named tenant_id is then no tenant column (h41A);
- the query of `DECLARE c [BINARY] [ASENSITIVE | INSENSITIVE] [[NO] SCROLL] CURSOR [{WITH |
  WITHOUT} HOLD] FOR query`, proven as itself (sqlglot keeps the statement opaque: its first
  words are read as the server reads them — blanks, comments, a quoted cursor name, keywords in
  ASCII letters — and any other form stays TG006). At run time the guard checks it as the
  query, and refuses a cursor pinned by the tenant expression: its query reads the setting when
  the rows are fetched (FETCH), under whatever value the setting holds then;
- `V COLLATE "C"` or `R.tenant_id COLLATE "C"`, and the same with `"POSIX"`, `"default"` or
  `ucs_basic` (PostgreSQL's own collations, also qualified `pg_catalog.`): their `=` is
  byte-wise. Any other collation may be one created `deterministic = false` ('acme' = 'ACME'):
  no pin. An unqualified name is pg_catalog's while pg_catalog comes first in the search path,
  as the proof assumes of `=` itself;
- `JOIN b USING (tenant_id, …)`, and a NATURAL JOIN whose sides the schema (or a derived
  table's or CTE's select list, without `*`) shows to share the tenant column, as `a.tenant_id = b.tenant_id` in its ON; the merged `tenant_id` is the left
  one (the right one for a RIGHT JOIN, no one's for a FULL JOIN); so is `j.tenant_id` of a
  join-using alias (`JOIN b USING (tenant_id) AS j`, PostgreSQL 14), which shadows an outer
  name as any alias does (not followed inside parentheses; for a FULL JOIN, whose merged
  column is a coalesce of both sides', `WHERE tenant_id = $1` or `WHERE j.tenant_id = $1`
  pins both sides: every row's non-NULL side is $1 — not null-safely; a WHERE pin of one
  side reduces it to a LEFT JOIN, whose USING pins the other). Not when the two columns may
  be of types whose common type folds values (PostgreSQL merges them in it: beside a `real`
  column, 16777217 is 16777216): the schema's types, a derived table's or VALUES' casts;
- an OR, for what every one of its branches pins to the same value
  (`(tenant_id = $1 AND a) OR (tenant_id = $1 AND b)`); with `shared_rows = true`, a branch
  `tenant_id IS NULL` (rows of no tenant) beside them; so too, without it, a branch
  `R.tenant_id IS NULL` of a table whose tenant column the schema sources declare NOT NULL
  (or in its primary key). Not in the WHERE for the nullable side of an outer join (`p LEFT
  JOIN m ON m.x = p.id WHERE (m.tenant_id = $1 OR m.tenant_id IS NULL)`): whether `p`'s row
  is NULL-extended depends on every tenant's `m` rows its ON matches — tenant 1's row
  vanishes when tenant 2 has a match, an oracle of tenant 2's data. Pin `m` in the ON
  (`ON m.x = p.id AND m.tenant_id = p.tenant_id`);
- the tenant registry (`tenant_root`): `root.id = V` pins it, and `R.tenant_id = root.id`
  chains from it (reads of the registry itself need no pin); the key of a pinned registry row
  is its tenant value where a block outputs it (`SELECT r.id AS tenant_id … WHERE r.id = $1`);
- a composite foreign key of the schema: with `a` pinned and `FOREIGN KEY (tenant_id, b_id)
  REFERENCES b (tenant_id, id)` (validated, not deferrable) on `a`, and `b.id` unique by itself,
  `b.id = a.b_id` pins `b` (also spelled `b.id IN (a.b_id)`, `BETWEEN a.b_id AND a.b_id`,
  `OPERATOR(pg_catalog.=)` or pair by pair in a row equality, also with `a` an outer block's
  row read through a correlation: `(SELECT b.name FROM b WHERE b.id = a.b_id)`, and with `a`
  pinned in a semi-join's subquery: `b.id IN (SELECT a.b_id FROM a WHERE a.tenant_id = $1)`
  (`= ANY`, `=`), `EXISTS (SELECT 1 FROM a WHERE a.tenant_id = $1 AND a.b_id = b.id)`, or
  `a.b_id` handed on row by row by a derived table or CTE of one SELECT or by a writable
  CTE's RETURNING of a DELETE or of an UPDATE that does not SET `b_id` (of a table no BEFORE
  row trigger on INSERT or UPDATE, nor a DO INSTEAD rule, may change the row of); not the new
  key of an INSERT's row or of an UPDATE that SETs it (or whose trigger may), read by RETURNING (or the CTE's reader) before
  the server checks it at the statement's end (an error before then shows the other
  tenant's row) — but for an INSERT … SELECT that copies it, with no cast (the very same
  integer, uuid or text type), no ON CONFLICT and no BEFORE trigger or rule, from a bare
  column of a table read in that SELECT: the key is then that row's value, followed to it
  (`… SELECT $1, c.id … FROM customers c WHERE c.account_id = $1 RETURNING customer_id`); not
  `IS NOT DISTINCT FROM`, which matches NULL to NULL, NOT IN or NOT EXISTS) — a single-column
  key never does. The other way round too: with `b`
  pinned, `a.b_id = b.id` in a clause that filters `a` pins `a` when the schema sources
  declare `a`'s tenant column NOT NULL (the one `b` row of that id is the key's target, so
  `a`'s tenant is `b`'s: `DELETE FROM a USING b WHERE a.b_id = b.id AND b.tenant_id = $1`,
  `(SELECT … FROM a WHERE a.b_id = b.id)` of a pinned outer `b`, and an outer `a` kept only
  where a pinned `b` is found: `EXISTS (SELECT 1 FROM b WHERE b.id = a.b_id AND b.tenant_id =
  $1)`, an inner LATERAL — never NOT EXISTS); a row whose tenant column
  is NULL escapes the key (MATCH SIMPLE). Both facts must still hold after
  every schema source: a key dropped (also by the name PostgreSQL gave it — a drop of a name
  the reader does not know forgets every key whose name it had to guess —, with its column, or
  CASCADE with the table or key it references), made DEFERRABLE, or whose triggers were
  disabled once (or made ENABLE REPLICA: they fire in replica sessions only), does not pin;
  nor does any key once a schema source sets `session_replication_role` to anything but
  origin (`SET`, `set_config`, `ALTER ROLE | DATABASE … SET`, a function's `SET` clause, a DO
  block): the server skips every key's trigger then, and a row written may break its key;
  nor does a key with a column of a lossy or loose type on either side (a nondeterministic
  collation, citext: `t.code = a.t_code` matches 'ABC' to 'abc', rows the key tells apart,
  another tenant's among them); nor does a unique key
  that is deferrable, partial, dropped as an index, or on a table with children by inheritance
  (their rows are read with it, and neither key covers them; partitions are covered), or of
  a name in two schemas (the search path decides which one a query reads);
- the same row by a key unique by itself: `R.k IN (SELECT s.k FROM T s …)`, `R.k = ANY (SELECT
  …)` or `R.k = (SELECT s.k …)` — one SELECT of the one plain column `s.k`, no set operation,
  aggregate or column of the outer row — where R and s read the same table T by the same name
  (the same schema written or none; not a CTE, function or column list) and `k` is unique by
  itself in T (as above: a unique key the schema sources show, not deferrable, partial, of a
  table with children by inheritance or of a name in two schemas) and of no lossy or loose type
  (citext, a nondeterministic collation: `=` would match rows the key tells apart): a row of R
  passes only as the very row of s with that key, so R is pinned once s is (`DELETE FROM jobs
  WHERE id IN (SELECT id FROM jobs WHERE tenant_id = $1 LIMIT 100)`, a queue's `UPDATE jobs …
  WHERE id = (SELECT id FROM jobs WHERE tenant_id = $1 … FOR UPDATE SKIP LOCKED LIMIT 1)`). Not
  `IS NOT DISTINCT FROM` (a NULL key of any tenant's row matches a subquery that returns none),
  NOT IN, `= ALL`, nor a key unique only per tenant (`UNIQUE (tenant_id, id)`). So too through
  a derived table or CTE that passes such a key through row by row — one plain SELECT branch
  whose item of that name (or place, under a column list) is the bare key column, followed
  through chains of them — joined by `R.k = x.k` in a clause that filters R, or read by `R.k IN
  (SELECT k FROM x)`: `WITH batch AS (SELECT id FROM jobs WHERE tenant_id = $1 LIMIT 10 FOR
  UPDATE SKIP LOCKED) UPDATE jobs SET … FROM batch WHERE jobs.id = batch.id` (not a set
  operation, an aggregate or another column under the key's name, nor the outer row's own key).
  The key is read under the statement's snapshot: under READ COMMITTED, a row that another
  transaction moves to another tenant keeping its key (`UPDATE … SET tenant_id`, or deleted and
  inserted again with that key) while the statement waits on it is checked again by `R.k = …`,
  not by its tenant; a write that must hold then too keeps `R.tenant_id = $1` beside the key.
  `R.k = ANY (ARRAY(SELECT s.k …))` reads as `R.k IN (SELECT s.k …)`. A row's place, `ctid`,
  is such a key of a table the schema sources create plain (no PARTITION BY, FOREIGN TABLE,
  other access method or typed table; no child or partition; not renamed since): a batch's
  `DELETE FROM events WHERE ctid IN (SELECT ctid FROM events WHERE tenant_id = $1 LIMIT 1000)`
  (not of a partitioned table or an inheritance tree: each partition numbers its own pages,
  and `(0,1)` is a row of every one — write `(tenant_id, id) IN (SELECT tenant_id, id …)`);
- a derived table, CTE or `VALUES` list counts as pinned on its tenant column when every branch
  (every row) projects, where its tenant column stands, the same value: a pinned tenant column
  or a pinning value — which may be NULL (not pinned for `IS NOT DISTINCT FROM`) when it is a
  key of ROLLUP, CUBE or GROUPING SETS but no plain key of the GROUP BY (the row of a set
  without it). A `VALUES` column holding the same pinning value in every row is that
  value, whatever its name: `(VALUES ($1, 'X-1')) v(t, e) JOIN leads l ON l.tenant_id = v.t`. Set operations match columns by position, never by name. The `RETURNING`
  rows of a pinned INSERT, UPDATE or DELETE inside a CTE are pinned; so is `excluded` of an
  upsert, and the conflicting row when the conflict target has the tenant column. A recursive
  CTE is pinned when its anchor is and its recursive term, reading the CTE, projects the same
  pinned value (by induction on the depth). One that follows a key without carrying the tenant
  column passes that key on as above when its one anchor projects, at the key's place, a bare
  column of a table read there, and every recursive term projects there the same column of the
  same table from a row pinned to the anchor's value (by induction: a row a composite key
  points from or to a row of the CTE has that row's tenant): `WITH RECURSIVE tree AS (SELECT
  id FROM categories WHERE tenant_id = $1 AND id = $2 UNION ALL SELECT c.id FROM categories c
  JOIN tree t ON c.parent_id = t.id)` with `FOREIGN KEY (tenant_id, parent_id) REFERENCES
  categories (tenant_id, id)`; a single-column key does not (carry `tenant_id` in the CTE and
  join on it: `… JOIN tree t ON c.tenant_id = t.tenant_id AND c.parent_id = t.id`);
- a SELECT (or VALUES) CTE that PostgreSQL never runs needs no pin, its rows reach no one: it
  neither plans nor runs a CTE whose reference count is 0 (`WITH x AS [NOT] MATERIALIZED
  (SELECT * FROM R) SELECT 1`), and a CTE it plans runs when a scan of it first asks for a row.
  So a CTE runs when a reference that runs names it — one outside every CTE, or one inside a
  CTE that runs —; a CTE named only by its own recursive term, or only from inside CTEs that
  never run (`WITH x AS (…), y AS (SELECT * FROM x) SELECT 1`), never runs. References count
  by name: a reference in a nested WITH that shadows the name counts for it too (the proof does
  not tell them apart). A CTE that changes data runs whether read or not, and so does every
  CTE it names;
- the other way round, a pin on a derived table's or CTE's tenant column is pushed into its
  body when the body is a SELECT (a data-modifying CTE runs in full whatever reads it, and a
  CTE PostgreSQL materializes — `MATERIALIZED`; read more than once and not `NOT
  MATERIALIZED`; or calling a VOLATILE function anywhere in it, `NOT MATERIALIZED` or not: a
  built-in one such as `random()` or `nextval()`; a function the schema sources do not declare
  IMMUTABLE or STABLE in every definition, PostgreSQL's default being VOLATILE (an overload of
  a built-in's name, a call qualified by another schema, an operator named with `OPERATOR(s.op)`
  included; a contrib extension's functions are known from its CREATE EXTENSION); a view whose
  query calls one — runs over every tenant's rows before any pin: its errors and side effects
  see them, so it must be pinned inside), outputs
  the tenant column of one of its sources unchanged (by name, or by position under a column
  list), works row by row — no aggregate or window function of its own, LIMIT/OFFSET/FETCH or
  locking clause; GROUP BY or DISTINCT only over that tenant column (also named by its
  position, `GROUP BY 1`), window functions only each `PARTITION BY` that tenant column (in
  parentheses or not), a named window's from the WINDOW clause (a row's values then come
  from its own tenant's rows)
  — and every read of it is pinned: `SELECT … FROM (SELECT * FROM patients) d WHERE d.tenant_id = $1` pins `patients`
  (a body that outputs no column of the tenant column's name but its first branch's one item
  `[q.]tenant_id` renamed — `tenant_id AS tid`, or by a column list at its position: `d(tid,
  pid)` over `SELECT tenant_id, id` — is read by that name: `d.tid = $1` pins it too, and a
  pinned body pins `d.tid` for a chain or an INSERT; not through a cast)
  (the body's other sources still need their own pin or chain). A body of several branches
  (UNION [ALL], INTERSECT) is pinned branch by branch when each passes its own tenant
  column through at the tenant column's position, and no LIMIT/OFFSET of the set operation
  picks rows before the pin — and only as PostgreSQL pushes a filter into the branches: no
  EXCEPT anywhere in the set operation, and every branch's column of the output's very type
  (each branch outputs the tenant column of a table whose column type the schema sources
  show, the same for all, or a pinning value cast to that type with no length — `SELECT
  $1::uuid, 0`, a synthetic row —, which holds no tenant row; `int` beside `bigint`, an uncast
  `$1`, or types unknown without schema sources: not pushed, each branch runs over every
  tenant's rows).
  A branch of INTERSECT (either operand) or of the right operand of EXCEPT whose rows are
  compared with an operand's rows that output, at some place, the tenant column of a source
  pinned to V is pinned when it outputs its own tenant column at that very place (bare, of a
  type that compares exactly with the pinned one's): set operations compare whole rows, so
  another tenant's row meets none of V's (`SELECT tenant_id, name FROM patients WHERE
  tenant_id = $1 EXCEPT SELECT tenant_id, name FROM archived`). Only where the branch computes
  its rows one by one or grouped by that tenant column (not a window or aggregate over every
  tenant's rows), with no LIMIT/OFFSET between it and the comparison, and computes nothing on
  its rows but reading them — columns, constants, count/max/min of a column, no ORDER BY: it
  runs its select list on every tenant's rows before they are compared, so `pg_notify('c',
  name)` or `name::int` there is no pin (a `set_config` there saw another tenant's title on the
  server, round 35). Lone stars of one table
  each (`SELECT * FROM a WHERE tenant_id = $1 EXCEPT SELECT * FROM b`) count when the schema
  sources show both tables' columns in order with the tenant column at the same place. Without the tenant column
  at that place the comparison is an oracle, and is reported: `SELECT name … WHERE tenant_id =
  $1 EXCEPT SELECT name FROM patients WHERE tenant_id <> $1` drops the caller's rows whose name
  another tenant has (shown on the server, round 35). The left operand of EXCEPT is never
  pinned by its right (`A EXCEPT B` returns every row of A that B lacks). A view of the schema sources is
  pinned from outside under the same conditions; one that aggregates, ranks or takes its tenant
  column from a joined table cannot be, and every read of it is reported. So is a function of
  the schema whose query reads tenant rows without pinning them: its output tenant column
  (matched to the query's columns by position, as PostgreSQL fills them: `RETURNS TABLE` and
  `OUT` columns, and `RETURNS SETOF` a table — its columns in order, parents' first, as renamed
  since; where the schema files do not show that order, nothing pins it — a `*` so matched pins
  nothing unless it reads that same table) must be the tenant column of the rows it reads,
  passed through row by row. A view reads what PostgreSQL bound it to when it was made:
  after `ALTER TABLE|VIEW r RENAME TO s` its query reads `s` (after `ALTER FUNCTION f RENAME
  TO g` it calls `g`; after `ALTER VIEW v RENAME COLUMN` its column has the new name); after
  a column of a table it
  reads is renamed, it reads that column under its old name (the text names another column,
  or none), so such a view is never pinned from outside nor by the tenant setting inside it —
  it is safe only if it reads no tenant rows at all — until it is made again. So is a SQL
  function whose body has the standard's form (`RETURN …`, `BEGIN ATOMIC … END`): bound when
  made, it reads a renamed relation under its new name, and after a rename of a column it
  reads its body is out of the proof's sight (one written `AS $$…$$` looks its names up at
  each call, as the schema's text says). A view or
  function named like a tenant table of another schema is read as both (the search path decides which one a
  name reads): it must be pinnable as each. A table a query filled when the schema made it
  (`CREATE TABLE … AS`, `SELECT … INTO`, with data, not emptied since) holds that query's rows
  and is held to the same conditions — the tenant setting pinning nothing there, as the query
  ran once, under the migration's setting. So is a table with a stored generated column computed by a
  function that reads tenant rows it does not pin (every row holds that data for good). So is a materialized view: its rows are its query's
  under the setting of the session that last refreshed it, not the reader's. A view or function
  that reads other views and functions of the schema is held to these conditions with what
  those turned out to be, whatever order the schema defines them in (`patients p, v_patients
  x` reads every tenant's rows through `x` when `v_patients` passes them through). A function
  handing out every tenant's rows read `WITH ORDINALITY` cannot be pinned from outside:
  PostgreSQL does not inline it then, and numbers every tenant's rows before the filter (the
  numbers count the other tenants' rows). Nor can a PL/pgSQL function one of whose queries
  reads every tenant's rows into variables (`FOR r IN`, `INTO`, a cursor, a `RETURN QUERY`
  inside a loop): its variables may carry another tenant's value, or a count of every
  tenant's rows, into a row of the tenant pinned (`RETURN NEXT`, OUT parameters, a `RETURN
  QUERY` reading them); only its `RETURN QUERY` statements outside loops pass rows through. A
  materialized view or a table a query filled over a view or function pinned inside by the
  tenant setting holds the rows of the tenant whose session refreshed or filled it: pinned from
  outside by its tenant column where it passes it through, reported at every read otherwise;
- a function whose body pins its rows by a parameter, called with a pinning value (or a pinned
  tenant column) in that position: `patients_of($1)`, not `patients_of(a.id)` over every `a`.
  A body pinned by several parameters needs a pinning value in each of them. So pinned, it
  may be zipped with other functions in `ROWS FROM (f($1), g($1), generate_series(…))` (each
  call's rows are its tenant's, the shorter padded with NULLs) — not beside a function handing
  out every tenant's rows, which `ROWS FROM` keeps from being pinned. A parameter
  named like a column the body can see (of a table, a view, a function's output — of a
  function the body may read, named in its text —, or an alias
  the body gives: `(SELECT id AS o FROM orgs) x`) is that column in a SQL function: no pin. Nor
  is a parameter of a type that pads, truncates, rounds or compares loosely (`char(n)`, `name`,
  `real`, `double precision`, `citext`, a domain or an array of one): the argument is converted
  before the body compares it (`'acme '` as `char(8)` meets `'acme'`). Nor is a PL/pgSQL
  parameter the body writes — assigns (also through `ALIAS FOR`, `$n` or `fn.p`), selects,
  fetches or gets diagnostics INTO, loops over (`FOR p IN`, `FOREACH p IN ARRAY`), declares
  again in an inner block, or may pass to a procedure (`CALL`, an INOUT argument): its queries
  pin what was put there, not the argument. A call shows
  neither schema nor argument types: functions of one name (overloads, or one per schema) are
  read as one pinned by no argument, pinned only in FROM by its tenant column when each of them
  passes its rows' tenant column through. A function whose queries are out of sight (dynamic
  SQL, a language other than SQL and PL/pgSQL) cannot be pinned from outside at all.

Names are resolved as PostgreSQL resolves them: an ON sees only the two sides it joins; a
derived table sees none of its siblings in FROM (a LATERAL one sees those before it); a CTE body
sees nothing of the query that owns the WITH; an unqualified column belongs to the innermost
level where some source has it (a list of bare names, `users AS u(x)`, renames the first
columns only: the others keep theirs; an unnest of an array a query, a column or a schema
function builds may have a row type's columns) — at that level, to the one source the schema
shows with it when the others are functions of unknown columns (were one to have it too, the
reference would be ambiguous: an error); a column that cannot be told for sure pins nothing. Every
name — of a table, alias, column, CTE or function, quoted or not — is its first 63 bytes, as
PostgreSQL cuts it in DDL and queries alike: two aliases alike that far are one (the inner
shadows the outer), and a table declared with a longer name is read by it.

NOT, `<>`, ranges, `IS NOT NULL`, `coalesce(…)` (but the forms above), a value read by a subquery, and a join on a key
other than the tenant column never pin. Nor does anything pin a table whose tenant column the
schema sources declare to compare loosely — `citext`, a collation created `deterministic =
false` (or `FROM` one), a domain over either, also through `LIKE`, `INHERITS`, `PARTITION OF`
or `ALTER COLUMN … TYPE`, or a `CREATE TABLE … AS` (`SELECT … INTO`) whose query applies one
(`workspace COLLATE ci AS workspace`, a cast to such a domain, a view's column of one, a set
operation's branch; a call of a schema function, its types unread: h39A) — each column keeps
its collation and type: `workspace = 'acme'` matches 'ACME' there, even as `workspace::text`
(the cast keeps the collation) or chained from an exact column (the comparison takes the
column's collation); an upsert on it is TG003.

The schema sources decide what a name reads. A name the sources create in several schemas is
read by the search path (config `search_path`, default PostgreSQL's `["$user", "public"]`):
unqualified, it is the
relation of the first schema of the path that holds it, so `countries` is public's global table
though `archive.countries` has the tenant column — when the sources show public's table surely
without it (made by a plain `CREATE TABLE` and named since by no DDL, rule, trigger, function or
DO block, its schema never renamed or dropped; none once a source may run `EXECUTE`d text or
sets a role's or database's search path: `ALTER ROLE app SET search_path = archive, public`).
Under `search_path = ["archive", "public"]` it is archive's, a tenant table; a `"$user"` entry
(the default's first) leaves it unknown when a schema other than public and pg_* holds the name
(one named like the login role may: round 35, h35P, the role postgres read postgres.regions,
every tenant's rows, where public's regions was global): set `search_path = ["public"]` when the
sessions' role has no schema of its own. A statement that sets the search_path (`SET
search_path`, `set_config('search_path', …)`) under which such a name reads another schema's
table is TG006: the session's later statements read it. So is a
column `public.cards.org` of the FROM item `cards`: that item when the path reads `cards` in
public, another's (an outer `public.cards`) when it reads it elsewhere. A table with no tenant column that tenant tables
inherit from (`CREATE TABLE docs (org uuid) INHERITS (base_docs)`) returns their rows of every
tenant to a read, update or delete without `ONLY`: nothing pins it (`FROM ONLY base_docs`
reads its own rows and passes). A table with no tenant column whose foreign key takes a
column of its own to a tenant table's tenant column (`room_blocks (block_org uuid, room_id int,
FOREIGN KEY (block_org, room_id) REFERENCES rooms (org_key, id))`, a chain of such keys, a key
to the primary key, a child of such a table) holds tenant rows told by a column of another
name: nothing pins it, not even `block_org = $1` (rename the column to the tenant column's
name, in a patch, and pin that). A table that a `CREATE RULE "_RETURN" AS ON SELECT … DO
INSTEAD` turns into a view is read as that view.

## Example
```sql
SELECT p.name, a.starts_at
FROM patients p JOIN appointments a ON a.patient_id = p.id
WHERE p.tenant_id = $1;          -- appointments is not pinned
```

## Use instead
```sql
SELECT p.name, a.starts_at
FROM patients p JOIN appointments a
  ON a.patient_id = p.id AND a.tenant_id = p.tenant_id
WHERE p.tenant_id = $1;
```

## Options
`tenant_column`, `tenant_tables`, `global_tables`, `tenant_expressions`, `tenant_root`,
`shared_rows`.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from tenantguard.engine.context import Context, RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.policy import (
    HELD_ROWS,
    INHERITED_ROWS,
    LOOSE_COLUMN,
    RENAMED_TENANT,
    sql_name,
)
from tenantguard.engine.proof import Role, Source

RULE = RuleInfo("TG001", "unpinned-tenant-reference", Severity.ERROR)


def where_to_pin(source: Source, column: str) -> str:
    """The fix: which clause of which block should carry the pin."""
    condition = f"`{sql_name(source.name)}.{sql_name(column)} = $n`"
    if source.role is Role.CALL:
        return (
            f"pass a pinning value ($n) or the {column} of a pinned source as the argument that "
            f"pins {source.table}()"
        )
    if source.unpinnable is not None and source.unpinnable.startswith(LOOSE_COLUMN):
        return (
            f"make {source.table}.{sql_name(column)} compare exactly: ALTER TABLE "
            f'{source.table} ALTER COLUMN {sql_name(column)} TYPE text COLLATE "C" (in a patch)'
        )
    if source.unpinnable is not None and source.unpinnable.startswith(HELD_ROWS):
        return (
            f"add the column {sql_name(column)} to {source.table} (the tenant of the rows it "
            "holds) and pin it, or keep those rows in the tenant table itself"
        )
    if source.unpinnable is not None and source.unpinnable.startswith(RENAMED_TENANT):
        return (
            f"rename the column of {source.table} that references {sql_name(column)} to "
            f"{sql_name(column)} (in a patch), then pin it"
        )
    if source.unpinnable is not None and source.unpinnable.startswith(INHERITED_ROWS):
        return (
            f"read ONLY {source.table} for its own rows, or the tenant tables that inherit "
            "from it, each pinned to one tenant"
        )
    if source.unpinnable is not None:
        return (
            f"read the tables under {source.table} directly, pinned to one tenant, or pin the "
            f"rows inside {source.table} (its body) by the tenant expression"
        )
    if source.role is Role.MERGE_SOURCE:
        return (
            f"filter the MERGE source by tenant: USING (SELECT … FROM {source.describe()} "
            f"WHERE {sql_name(column)} = $n)"
        )
    if source.role is Role.TARGET and source.block.kind == "MERGE":
        return f"add {condition} to the MERGE … ON condition"
    for _, filtered, clause, _ in source.block.filters:
        if clause.startswith(("ON of LEFT", "ON of RIGHT")) and source in filtered:
            return f"add {condition} to the {clause}"
    return f"add {condition} to the WHERE of {source.block.label}"


def explain_miss(source: Source) -> str:
    if source.unpinnable is not None:
        return f"; it cannot be pinned from outside: {source.unpinnable}"
    if source.near_misses:
        return "; " + source.near_misses[0][1]
    chains = [f for f in source.facts if f.other is not None]
    if chains:
        other = chains[0].other
        assert other is not None
        return f"; it is only equated with {other.describe()}, which is not pinned itself"
    return ""


def check(ctx: Context) -> Iterator[Finding]:
    proof = ctx.proof
    if proof is None or ctx.in_patch:
        return
    column = ctx.policy.tenant_column
    for source in proof.unpinned:
        if source.multi_tenant and not ctx.policy.allow_multi_tenant:
            continue  # TG008 reports it with a better message
        node = source.node.this if isinstance(source.node.this, exp.Expression) else source.node
        yield ctx.finding(
            RULE,
            node,
            f"{source.describe()} in {source.block.label} is not pinned to one tenant"
            + explain_miss(source),
            where_to_pin(source, column),
        )
