"""Round 35, helper B: 100 more SAFE statements of a multi-tenant SaaS backend, in styles round 34's
corpus (tests/h34B_corpus.py, whose schema and data they run on) did not cover: GROUPING SETS /
ROLLUP / CUBE reports, aggregate FILTER clauses, LATERAL top-N, keyset pagination with row
comparisons, jsonb operators, MERGE, writable CTEs, INTERSECT/EXCEPT, casts and spellings of the
pin. Checked on PostgreSQL 15 by tests/proof/test_h35B_proof.py as round 34's were: the same rows and
the same changes as superuser and under FORCE ROW LEVEL SECURITY as a non-owner."""

from __future__ import annotations

import datetime as _dt

D = _dt.date
T = _dt.datetime

# (name, sql, the arguments after $1); $1 is always the account
Case = tuple[str, str, tuple[object, ...]]
CORPUS: list[Case] = [
    # ------------------------------------------------------------ GROUPING SETS / ROLLUP / CUBE
    (
        "tickets by status and priority, rollup",
        "SELECT status, priority, count(*) FROM tickets WHERE account_id = $1 GROUP BY ROLLUP (status, priority)",
        (),
    ),
    (
        "tickets cube",
        "SELECT status, assignee_id, count(*) FROM tickets WHERE account_id = $1 AND deleted_at IS NULL GROUP BY CUBE (status, assignee_id)",
        (),
    ),
    (
        "invoice grouping sets",
        "SELECT status, customer_id, sum(total_cents) FROM invoices WHERE account_id = $1 GROUP BY GROUPING SETS ((status), (customer_id), ())",
        (),
    ),
    (
        "grouping() labels",
        "SELECT CASE WHEN grouping(status) = 1 THEN 'all' ELSE status END AS s, count(*) FROM tickets WHERE account_id = $1 GROUP BY ROLLUP (status)",
        (),
    ),
    (
        "events per day rollup",
        "SELECT date_trunc('day', occurred_at) AS d, name, count(*) FROM events WHERE account_id = $1 GROUP BY ROLLUP (1, 2) ORDER BY 1 NULLS LAST, 2 NULLS LAST",
        (),
    ),
    (
        "stats grouping sets by metric",
        "SELECT metric, day, sum(value) FROM daily_stats WHERE account_id = $1 GROUP BY GROUPING SETS ((metric, day), (metric))",
        (),
    ),
    (
        "line totals rollup join",
        "SELECT i.status, l.product_id, sum(l.qty * l.unit_cents) FROM invoices i JOIN invoice_lines l ON l.account_id = i.account_id AND l.invoice_id = i.id WHERE i.account_id = $1 GROUP BY ROLLUP (i.status, l.product_id)",
        (),
    ),
    (
        "customer tiers cube",
        "SELECT tier, attrs->>'region' AS region, count(*) FROM customers WHERE account_id = $1 GROUP BY CUBE (tier, attrs->>'region')",
        (),
    ),
    # ------------------------------------------------------------ aggregate FILTER
    (
        "ticket counts with FILTER",
        "SELECT count(*) FILTER (WHERE status = 'open') AS open, count(*) FILTER (WHERE status = 'closed') AS closed FROM tickets WHERE account_id = $1",
        (),
    ),
    (
        "invoice sums with FILTER",
        "SELECT sum(total_cents) FILTER (WHERE status = 'paid') AS paid, sum(total_cents) FILTER (WHERE status <> 'paid') AS due FROM invoices WHERE account_id = $1",
        (),
    ),
    (
        "per-customer FILTER",
        "SELECT customer_id, count(*) FILTER (WHERE priority <= 2) AS urgent, count(*) AS total FROM tickets WHERE account_id = $1 GROUP BY customer_id",
        (),
    ),
    (
        "jobs state FILTER",
        "SELECT queue, count(*) FILTER (WHERE state = 'queued') AS queued, max(attempts) FILTER (WHERE state = 'done') AS max_done FROM jobs WHERE account_id = $1 GROUP BY queue",
        (),
    ),
    (
        "events FILTER on jsonb",
        "SELECT count(*) FILTER (WHERE props ? 'amount') AS with_amount, sum((props->>'amount')::int) FILTER (WHERE props ? 'amount') AS amount FROM events WHERE account_id = $1",
        (),
    ),
    (
        "array_agg FILTER",
        "SELECT array_agg(id ORDER BY id) FILTER (WHERE read_at IS NULL) AS unread FROM notifications WHERE account_id = $1 AND user_id = $2",
        (11,),
    ),
    (
        "bool_or FILTER per user",
        "SELECT u.id, bool_or(t.status = 'open') FILTER (WHERE t.priority = 1) AS has_p1 FROM users u LEFT JOIN tickets t ON t.account_id = u.account_id AND t.assignee_id = u.id WHERE u.account_id = $1 GROUP BY u.id",
        (),
    ),
    (
        "conversion funnel",
        "SELECT count(DISTINCT user_id) FILTER (WHERE name = 'page_view') AS viewers, count(DISTINCT user_id) FILTER (WHERE name = 'click') AS clickers FROM events WHERE account_id = $1",
        (),
    ),
    # ------------------------------------------------------------ LATERAL top-N
    (
        "latest comment per ticket",
        "SELECT t.id, c.body FROM tickets t LEFT JOIN LATERAL (SELECT body FROM ticket_comments c WHERE c.account_id = t.account_id AND c.ticket_id = t.id ORDER BY created_at DESC LIMIT 1) c ON true WHERE t.account_id = $1",
        (),
    ),
    (
        "top 2 invoices per customer",
        "SELECT cu.name, i.number FROM customers cu CROSS JOIN LATERAL (SELECT number FROM invoices i WHERE i.account_id = cu.account_id AND i.customer_id = cu.id ORDER BY total_cents DESC LIMIT 2) i WHERE cu.account_id = $1",
        (),
    ),
    (
        "latest payment per invoice",
        "SELECT i.id, p.amount_cents FROM invoices i LEFT JOIN LATERAL (SELECT amount_cents FROM payments p WHERE p.account_id = $1 AND p.invoice_id = i.id ORDER BY paid_at DESC LIMIT 1) p ON true WHERE i.account_id = $1",
        (),
    ),
    (
        "cheapest product per category",
        "SELECT c.name, p.sku FROM categories c JOIN LATERAL (SELECT sku FROM products p WHERE p.account_id = c.account_id AND p.category_id = c.id ORDER BY price_cents LIMIT 1) p ON true WHERE c.account_id = $1",
        (),
    ),
    (
        "last 3 events per user",
        "SELECT u.email, e.name, e.occurred_at FROM users u CROSS JOIN LATERAL (SELECT name, occurred_at FROM events e WHERE e.account_id = u.account_id AND e.user_id = u.id ORDER BY occurred_at DESC LIMIT 3) e WHERE u.account_id = $1 ORDER BY 1, 3 DESC",
        (),
    ),
    (
        "lateral count",
        "SELECT t.id, n.cnt FROM tickets t, LATERAL (SELECT count(*) AS cnt FROM ticket_comments c WHERE c.account_id = t.account_id AND c.ticket_id = t.id) n WHERE t.account_id = $1",
        (),
    ),
    (
        "lateral unnest tags",
        "SELECT t.id, tag FROM tickets t, LATERAL unnest(t.tags) AS tag WHERE t.account_id = $1",
        (),
    ),
    (
        "lateral jsonb_each",
        "SELECT c.id, kv.key, kv.value FROM customers c, LATERAL jsonb_each(c.attrs) kv WHERE c.account_id = $1",
        (),
    ),
    (
        "lateral open work per agent",
        "SELECT u.name, w.ids FROM users u JOIN LATERAL (SELECT array_agg(id ORDER BY id) AS ids FROM tickets t WHERE t.account_id = u.account_id AND t.assignee_id = u.id AND t.status = 'open') w ON true WHERE u.account_id = $1",
        (),
    ),
    # ------------------------------------------------------------ keyset pagination
    (
        "tickets keyset by (created_at, id)",
        "SELECT id, subject FROM tickets WHERE account_id = $1 AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT 20",
        (T(2026, 1, 4), 5),
    ),
    (
        "invoices keyset ascending",
        "SELECT id, number FROM invoices WHERE account_id = $1 AND (issued_on, id) > ($2, $3) ORDER BY issued_on, id LIMIT 10",
        (D(2026, 1, 1), 0),
    ),
    (
        "events keyset with row()",
        "SELECT id FROM events WHERE account_id = $1 AND ROW(occurred_at, id) > ROW($2::timestamptz, $3::bigint) ORDER BY occurred_at, id LIMIT 50",
        (T(2026, 1, 1), 0),
    ),
    (
        "comments keyset",
        "SELECT id, body FROM ticket_comments WHERE account_id = $1 AND ticket_id = $2 AND (created_at, id) > ($3, $4) ORDER BY created_at, id LIMIT 25",
        (3, T(2026, 1, 1), 0),
    ),
    (
        "audit keyset descending",
        "SELECT id, action FROM audit_log WHERE account_id = $1 AND id < $2 ORDER BY id DESC LIMIT 100",
        (10_000,),
    ),
    (
        "customers keyset by name",
        "SELECT id, name FROM customers WHERE account_id = $1 AND deleted_at IS NULL AND (lower(name), id) > (lower($2), $3) ORDER BY lower(name), id LIMIT 20",
        ("", 0),
    ),
    (
        "products keyset by price",
        "SELECT id, sku FROM products WHERE account_id = $1 AND (price_cents, id) >= ($2, $3) ORDER BY price_cents, id LIMIT 5",
        (0, 0),
    ),
    (
        "keyset count ahead",
        "SELECT count(*) FROM tickets WHERE account_id = $1 AND (priority, id) > ($2, $3)",
        (1, 0),
    ),
    # ------------------------------------------------------------ jsonb
    (
        "customers by attrs containment",
        "SELECT id FROM customers WHERE account_id = $1 AND attrs @> $2::jsonb",
        ('{"region": "eu"}',),
    ),
    (
        "customers having a key",
        "SELECT id FROM customers WHERE account_id = $1 AND attrs ? 'seats'",
        (),
    ),
    (
        "customers having any key",
        "SELECT id FROM customers WHERE account_id = $1 AND attrs ?| array['seats', 'plan']",
        (),
    ),
    (
        "jsonb path exists",
        "SELECT id FROM events WHERE account_id = $1 AND props @? '$.amount ? (@ > 4)'",
        (),
    ),
    (
        "jsonb path query",
        "SELECT id, jsonb_path_query_first(props, '$.path') FROM events WHERE account_id = $1",
        (),
    ),
    (
        "settings merge",
        "UPDATE settings SET prefs = prefs || $2::jsonb WHERE account_id = $1 RETURNING prefs",
        ('{"theme": "light"}',),
    ),
    (
        "settings remove key",
        "UPDATE settings SET prefs = prefs - 'tz' WHERE account_id = $1 RETURNING prefs",
        (),
    ),
    (
        "jsonb_set",
        "UPDATE customers SET attrs = jsonb_set(attrs, '{seats}', to_jsonb($3::int)) WHERE account_id = $1 AND id = $2 RETURNING attrs",
        (100, 12),
    ),
    (
        "jsonb extract path text",
        "SELECT id, attrs #>> '{region}' FROM customers WHERE account_id = $1",
        (),
    ),
    (
        "jsonb_agg report",
        "SELECT jsonb_agg(jsonb_build_object('id', id, 'subject', subject) ORDER BY id) FROM tickets WHERE account_id = $1 AND status = 'open'",
        (),
    ),
    (
        "jsonb_object_agg stats",
        "SELECT jsonb_object_agg(metric, value) FROM daily_stats WHERE account_id = $1 AND day = $2",
        (D(2026, 1, 2),),
    ),
    (
        "payload field filter",
        "SELECT id FROM jobs WHERE account_id = $1 AND payload->>'to' = $2",
        ("a",),
    ),
    (
        "jsonb_to_record",
        "SELECT e.id, r.path FROM events e, jsonb_to_record(e.props) AS r(path text) WHERE e.account_id = $1",
        (),
    ),
    (
        "jsonb_array_elements of tags",
        "SELECT t.id, x FROM tickets t, jsonb_array_elements_text(to_jsonb(t.tags)) x WHERE t.account_id = $1",
        (),
    ),
    # ------------------------------------------------------------ MERGE
    (
        "merge daily stat",
        "MERGE INTO daily_stats d USING (SELECT $1::bigint AS account_id, $2::date AS day, 'signups' AS metric, $3::bigint AS value) s ON d.account_id = s.account_id AND d.day = s.day AND d.metric = s.metric WHEN MATCHED THEN UPDATE SET value = d.value + s.value WHEN NOT MATCHED THEN INSERT (account_id, day, metric, value) VALUES (s.account_id, s.day, s.metric, s.value)",
        (D(2026, 1, 2), 5),
    ),
    (
        "merge from VALUES",
        "MERGE INTO tags t USING (VALUES ($1::bigint, $2::bigint, $3::text)) AS v(account_id, id, name) ON t.account_id = v.account_id AND t.id = v.id WHEN MATCHED THEN UPDATE SET name = v.name WHEN NOT MATCHED THEN INSERT (account_id, id, name) VALUES (v.account_id, v.id, v.name)",
        (958, "new tag"),
    ),
    (
        "merge import rows into users",
        "MERGE INTO users u USING (SELECT account_id, id + 1000 AS id, email, name FROM import_rows WHERE account_id = $1 AND NOT processed) s ON u.account_id = s.account_id AND u.email = s.email WHEN MATCHED THEN UPDATE SET name = s.name WHEN NOT MATCHED THEN INSERT (account_id, id, email, name) VALUES (s.account_id, s.id, s.email, s.name)",
        (),
    ),
    (
        "merge delete matched",
        "MERGE INTO notifications n USING (SELECT id FROM notifications WHERE account_id = $1 AND read_at IS NOT NULL) r ON n.account_id = $1 AND n.id = r.id WHEN MATCHED THEN DELETE",
        (),
    ),
    (
        "merge do nothing",
        "MERGE INTO tags t USING (SELECT $1::bigint AS account_id, 'vip' AS name) s ON t.account_id = s.account_id AND t.name = s.name WHEN MATCHED THEN DO NOTHING WHEN NOT MATCHED THEN INSERT (account_id, id, name) VALUES (s.account_id, 959, s.name)",
        (),
    ),
    (
        "merge settings",
        "MERGE INTO settings s USING (SELECT $1::bigint AS account_id, $2::jsonb AS prefs) v ON s.account_id = v.account_id WHEN MATCHED THEN UPDATE SET prefs = s.prefs || v.prefs WHEN NOT MATCHED THEN INSERT (account_id, prefs) VALUES (v.account_id, v.prefs)",
        ('{"lang": "en"}',),
    ),
    # ------------------------------------------------------------ writable CTEs
    (
        "close and log",
        "WITH closed AS (UPDATE tickets SET status = 'closed', closed_at = '2026-03-01' WHERE account_id = $1 AND id = $2 RETURNING account_id, id) INSERT INTO audit_log (account_id, action, entity, entity_id, at) SELECT account_id, 'close', 'ticket', id, '2026-03-01' FROM closed RETURNING entity_id",
        (3,),
    ),
    (
        "archive closed tickets",
        "WITH gone AS (DELETE FROM tickets WHERE account_id = $1 AND status = 'closed' AND deleted_at IS NOT NULL RETURNING account_id, id, customer_id, status, subject, created_at, closed_at) INSERT INTO tickets_archive (account_id, id, customer_id, status, subject, created_at, closed_at) SELECT * FROM gone RETURNING id",
        (),
    ),
    (
        "claim jobs",
        "WITH next AS (SELECT id FROM jobs WHERE account_id = $1 AND state = 'queued' ORDER BY run_at, id LIMIT 2 FOR UPDATE SKIP LOCKED) UPDATE jobs j SET state = 'running', locked_by = $2 FROM next WHERE j.account_id = $1 AND j.id = next.id RETURNING j.id",
        ("w9",),
    ),
    (
        "mark processed and insert",
        "WITH rows AS (UPDATE import_rows SET processed = true WHERE account_id = $1 AND NOT processed AND email NOT IN (SELECT email FROM users WHERE account_id = $1) RETURNING account_id, id, email, name) INSERT INTO users (account_id, id, email, name) SELECT account_id, id + 2000, email, name FROM rows RETURNING email",
        (),
    ),
    (
        "delete with count",
        "WITH d AS (DELETE FROM notifications WHERE account_id = $1 AND read_at IS NOT NULL RETURNING id) SELECT count(*) FROM d",
        (),
    ),
    (
        "two updates chained",
        "WITH a AS (UPDATE invoices SET status = 'void' WHERE account_id = $1 AND status = 'draft' RETURNING id), b AS (DELETE FROM invoice_lines WHERE account_id = $1 AND invoice_id IN (SELECT id FROM a) RETURNING id) SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b)",
        (),
    ),
    (
        "insert returning into audit",
        "WITH c AS (INSERT INTO customers (account_id, id, name, created_at) VALUES ($1, $2, $3, '2026-03-01') RETURNING account_id, id) INSERT INTO audit_log (account_id, action, entity, entity_id, at) SELECT account_id, 'create', 'customer', id, '2026-03-01' FROM c RETURNING action",
        (103, "Delta Co"),
    ),
    (
        "upsert then read",
        "WITH up AS (INSERT INTO daily_stats (account_id, day, metric, value) VALUES ($1, $2, 'logins', 1) ON CONFLICT (account_id, day, metric) DO UPDATE SET value = daily_stats.value + 1 RETURNING value) SELECT value FROM up",
        (D(2026, 1, 2),),
    ),
    (
        "move comment",
        "WITH src AS (SELECT id FROM tickets WHERE account_id = $1 AND id = $3) UPDATE ticket_comments c SET ticket_id = src.id FROM src WHERE c.account_id = $1 AND c.id = $2 RETURNING c.id, c.ticket_id",
        (51, 5),
    ),
    # ------------------------------------------------------------ INTERSECT / EXCEPT
    (
        "customers without invoices",
        "SELECT account_id, id FROM customers WHERE account_id = $1 EXCEPT SELECT account_id, customer_id FROM invoices",
        (),
    ),
    (
        "customers with tickets and invoices",
        "SELECT account_id, id FROM customers WHERE account_id = $1 INTERSECT SELECT account_id, customer_id FROM tickets INTERSECT SELECT account_id, customer_id FROM invoices",
        (),
    ),
    (
        "tags unused",
        "SELECT account_id, id FROM tags WHERE account_id = $1 EXCEPT SELECT account_id, tag_id FROM ticket_tags",
        (),
    ),
    (
        "users never commented",
        "SELECT account_id, id FROM users WHERE account_id = $1 EXCEPT ALL SELECT account_id, author_id FROM ticket_comments",
        (),
    ),
    (
        "products sold",
        "SELECT account_id, id FROM products WHERE account_id = $1 INTERSECT SELECT account_id, product_id FROM invoice_lines",
        (),
    ),
    # ------------------------------------------------------------ spellings of the pin
    (
        "pin by coalesce false",
        "SELECT id FROM tickets WHERE coalesce(account_id = $1, false) AND status = 'open'",
        (),
    ),
    (
        "pin by = ALL of one value",
        "SELECT id FROM tickets WHERE account_id = ALL (SELECT $1::bigint)",
        (),
    ),
    (
        "pin by own-type cast",
        "SELECT id FROM invoices WHERE account_id::bigint = $1 AND status = 'open'",
        (),
    ),
    (
        "pin by scalar subquery",
        "SELECT id FROM payments WHERE account_id = (SELECT $1::bigint)",
        (),
    ),
    ("pin IS TRUE", "SELECT id FROM jobs WHERE (account_id = $1) IS TRUE AND state = 'queued'", ()),
    (
        "pin by CASE",
        "SELECT id FROM tags WHERE CASE WHEN account_id = $1 THEN true ELSE false END",
        (),
    ),
    ("pin in row comparison", "SELECT id FROM users WHERE (account_id, id) = ($1, $2)", (11,)),
    ("pin IN single", "SELECT id FROM contacts WHERE account_id IN ($1)", ()),
    # ------------------------------------------------------------ windows, reports
    (
        "running total per invoice",
        "SELECT id, paid_at, sum(amount_cents) OVER (PARTITION BY invoice_id ORDER BY paid_at) FROM payments WHERE account_id = $1",
        (),
    ),
    (
        "rank products by price",
        "SELECT sku, rank() OVER (ORDER BY price_cents DESC) FROM products WHERE account_id = $1",
        (),
    ),
    (
        "lag between events",
        "SELECT id, occurred_at - lag(occurred_at) OVER (PARTITION BY user_id ORDER BY occurred_at) FROM events WHERE account_id = $1",
        (),
    ),
    (
        "percentile of invoice totals",
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY total_cents) FROM invoices WHERE account_id = $1",
        (),
    ),
    (
        "mode of ticket status",
        "SELECT mode() WITHIN GROUP (ORDER BY status) FROM tickets WHERE account_id = $1",
        (),
    ),
    (
        "ntile customers",
        "SELECT id, ntile(2) OVER (ORDER BY created_at) FROM customers WHERE account_id = $1",
        (),
    ),
    (
        "first_value per status",
        "SELECT DISTINCT status, first_value(subject) OVER (PARTITION BY status ORDER BY created_at) FROM tickets WHERE account_id = $1",
        (),
    ),
    (
        "generate_series days left join",
        "SELECT d::date, coalesce(s.value, 0) FROM generate_series('2026-01-01'::date, '2026-01-04'::date, '1 day') d LEFT JOIN daily_stats s ON s.account_id = $1 AND s.day = d::date AND s.metric = 'signups' ORDER BY 1",
        (),
    ),
    (
        "monthly revenue",
        "SELECT date_trunc('month', paid_at) AS m, sum(amount_cents) FROM payments WHERE account_id = $1 GROUP BY 1 ORDER BY 1",
        (),
    ),
    (
        "distinct on latest per customer",
        "SELECT DISTINCT ON (customer_id) customer_id, id, issued_on FROM invoices WHERE account_id = $1 ORDER BY customer_id, issued_on DESC",
        (),
    ),
    (
        "string_agg of tags",
        "SELECT t.id, string_agg(g.name, ',' ORDER BY g.name) FROM tickets t JOIN ticket_tags tt ON tt.account_id = t.account_id AND tt.ticket_id = t.id JOIN tags g ON g.account_id = tt.account_id AND g.id = tt.tag_id WHERE t.account_id = $1 GROUP BY t.id",
        (),
    ),
    (
        "full text search",
        "SELECT id, ts_rank(tsv, q) FROM documents, plainto_tsquery('simple', $2) q WHERE account_id = $1 AND tsv @@ q ORDER BY 2 DESC",
        ("refunds",),
    ),
    (
        "array overlap tags",
        "SELECT id FROM tickets WHERE account_id = $1 AND tags && $2::text[]",
        (["billing", "auth"],),
    ),
    (
        "array contains tag",
        "SELECT id FROM tickets WHERE account_id = $1 AND tags @> ARRAY['billing']",
        (),
    ),
    (
        "any of ids",
        "SELECT id FROM tickets WHERE account_id = $1 AND id = ANY($2::bigint[])",
        ([3, 4, 2],),
    ),
    (
        "exists subquery pinned",
        "SELECT c.id FROM customers c WHERE c.account_id = $1 AND EXISTS (SELECT 1 FROM invoices i WHERE i.account_id = c.account_id AND i.customer_id = c.id AND i.status = 'open')",
        (),
    ),
    (
        "not exists pinned",
        "SELECT u.id FROM users u WHERE u.account_id = $1 AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.account_id = $1 AND t.assignee_id = u.id)",
        (),
    ),
    (
        "recursive category path",
        "WITH RECURSIVE p AS (SELECT id, parent_id, name::text AS path FROM categories WHERE account_id = $1 AND parent_id IS NULL UNION ALL SELECT c.id, c.parent_id, p.path || '/' || c.name FROM categories c JOIN p ON c.account_id = $1 AND c.parent_id = p.id) SELECT path FROM p ORDER BY path",
        (),
    ),
    (
        "plan of my account",
        "SELECT p.name FROM accounts a JOIN plans p ON p.id = a.plan_id WHERE a.id = $1",
        (),
    ),
    (
        "subscription with plan",
        "SELECT s.id, p.name FROM subscriptions s JOIN plans p ON p.id = s.plan_id WHERE s.account_id = $1",
        (),
    ),
    (
        "overdue invoices",
        "SELECT id FROM invoices WHERE account_id = $1 AND status = 'open' AND due_on < $2",
        (D(2026, 2, 3),),
    ),
    (
        "bulk update from VALUES",
        "UPDATE products p SET stock = v.stock FROM (VALUES ($2::bigint, $3::int), ($4::bigint, $5::int)) v(id, stock) WHERE p.account_id = $1 AND p.id = v.id RETURNING p.id, p.stock",
        (71, 4, 72, 1),
    ),
    (
        "bulk insert unnest",
        "INSERT INTO tags (account_id, id, name) SELECT $1, x.id, x.name FROM unnest($2::bigint[], $3::text[]) AS x(id, name) RETURNING id",
        ([960, 961], ["a", "b"]),
    ),
    (
        "delete using pinned join",
        "DELETE FROM ticket_tags tt USING tags g WHERE tt.account_id = $1 AND g.account_id = $1 AND g.id = tt.tag_id AND g.name = $2 RETURNING tt.ticket_id",
        ("vip",),
    ),
    (
        "update from pinned join",
        "UPDATE tickets t SET priority = 1 FROM customers c WHERE t.account_id = $1 AND c.account_id = t.account_id AND c.id = t.customer_id AND c.tier = 'gold' RETURNING t.id",
        (),
    ),
]
