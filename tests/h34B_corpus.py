"""Round 34, helper B: a corpus of SAFE statements in the style of real multi-tenant SaaS backends
(billing, ticketing, CRM, analytics, job queues, audit logs), each checked on PostgreSQL 15 by
tests/proof/test_h34B_proof.py: run as superuser with $1 = account 1, and as a non-owner role under FORCE
ROW LEVEL SECURITY with `account_id = current_setting('app.account')::bigint`; the same rows and
the same changes both ways make it safe. Tenant column `account_id bigint`, registry `accounts`;
composite foreign keys (account_id, x_id) where real teams use them, single-column keys where they
don't (audit_log.actor_id, subscriptions.plan_id to the global plans)."""

from __future__ import annotations

import datetime as _dt

SCHEMA = """
CREATE TABLE plans (id bigint PRIMARY KEY, name text NOT NULL, price_cents int NOT NULL);
CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL, plan_id bigint REFERENCES plans (id));
CREATE TABLE users (account_id bigint NOT NULL REFERENCES accounts (id), id bigint PRIMARY KEY,
  email text NOT NULL, name text, role text NOT NULL DEFAULT 'agent', manager_id bigint,
  deleted_at timestamptz, UNIQUE (account_id, id), UNIQUE (account_id, email),
  FOREIGN KEY (account_id, manager_id) REFERENCES users (account_id, id));
CREATE TABLE customers (account_id bigint NOT NULL REFERENCES accounts (id), id bigint PRIMARY KEY,
  name text NOT NULL, email text, tier text NOT NULL DEFAULT 'free', attrs jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL, deleted_at timestamptz, UNIQUE (account_id, id));
CREATE TABLE contacts (account_id bigint NOT NULL, id bigint PRIMARY KEY, customer_id bigint NOT NULL,
  name text, email text, UNIQUE (account_id, id),
  FOREIGN KEY (account_id, customer_id) REFERENCES customers (account_id, id));
CREATE TABLE tickets (account_id bigint NOT NULL REFERENCES accounts (id), id bigint PRIMARY KEY,
  customer_id bigint NOT NULL, assignee_id bigint, status text NOT NULL, priority int NOT NULL,
  subject text NOT NULL, body text, tags text[] NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL,
  closed_at timestamptz, deleted_at timestamptz, UNIQUE (account_id, id),
  FOREIGN KEY (account_id, customer_id) REFERENCES customers (account_id, id),
  FOREIGN KEY (account_id, assignee_id) REFERENCES users (account_id, id));
CREATE TABLE ticket_comments (account_id bigint NOT NULL, id bigint PRIMARY KEY,
  ticket_id bigint NOT NULL, author_id bigint, body text NOT NULL, created_at timestamptz NOT NULL,
  FOREIGN KEY (account_id, ticket_id) REFERENCES tickets (account_id, id) ON DELETE CASCADE,
  FOREIGN KEY (account_id, author_id) REFERENCES users (account_id, id));
CREATE TABLE tickets_archive (account_id bigint NOT NULL, id bigint PRIMARY KEY,
  customer_id bigint NOT NULL, status text NOT NULL, subject text NOT NULL,
  created_at timestamptz NOT NULL, closed_at timestamptz);
CREATE TABLE categories (account_id bigint NOT NULL, id bigint PRIMARY KEY, parent_id bigint,
  name text NOT NULL, UNIQUE (account_id, id),
  FOREIGN KEY (account_id, parent_id) REFERENCES categories (account_id, id));
CREATE TABLE products (account_id bigint NOT NULL, id bigint PRIMARY KEY, category_id bigint,
  sku text NOT NULL, name text NOT NULL, price_cents int NOT NULL, stock int NOT NULL DEFAULT 0,
  UNIQUE (account_id, id), UNIQUE (account_id, sku),
  FOREIGN KEY (account_id, category_id) REFERENCES categories (account_id, id));
CREATE TABLE invoices (account_id bigint NOT NULL REFERENCES accounts (id), id bigint PRIMARY KEY,
  customer_id bigint NOT NULL, number text NOT NULL, status text NOT NULL, total_cents int NOT NULL,
  issued_on date NOT NULL, due_on date NOT NULL, paid_at timestamptz, UNIQUE (account_id, id),
  UNIQUE (account_id, number),
  FOREIGN KEY (account_id, customer_id) REFERENCES customers (account_id, id));
CREATE TABLE invoice_lines (account_id bigint NOT NULL, id bigint PRIMARY KEY,
  invoice_id bigint NOT NULL, product_id bigint, qty int NOT NULL, unit_cents int NOT NULL,
  FOREIGN KEY (account_id, invoice_id) REFERENCES invoices (account_id, id) ON DELETE CASCADE,
  FOREIGN KEY (account_id, product_id) REFERENCES products (account_id, id));
CREATE TABLE payments (account_id bigint NOT NULL, id bigint PRIMARY KEY, invoice_id bigint NOT NULL,
  amount_cents int NOT NULL, paid_at timestamptz NOT NULL,
  FOREIGN KEY (account_id, invoice_id) REFERENCES invoices (account_id, id));
CREATE TABLE subscriptions (account_id bigint NOT NULL, id bigint PRIMARY KEY,
  customer_id bigint NOT NULL, plan_id bigint NOT NULL REFERENCES plans (id), status text NOT NULL,
  started_on date NOT NULL, ends_on date,
  FOREIGN KEY (account_id, customer_id) REFERENCES customers (account_id, id));
CREATE TABLE jobs (account_id bigint NOT NULL, id bigint PRIMARY KEY, queue text NOT NULL,
  state text NOT NULL, payload jsonb NOT NULL DEFAULT '{}', attempts int NOT NULL DEFAULT 0,
  run_at timestamptz NOT NULL, locked_by text, locked_at timestamptz);
CREATE TABLE audit_log (account_id bigint NOT NULL, id bigserial PRIMARY KEY,
  actor_id bigint REFERENCES users (id), action text NOT NULL, entity text NOT NULL,
  entity_id bigint, at timestamptz NOT NULL, data jsonb);
CREATE TABLE events (account_id bigint NOT NULL, id bigint PRIMARY KEY, user_id bigint,
  name text NOT NULL, props jsonb NOT NULL DEFAULT '{}', occurred_at timestamptz NOT NULL);
CREATE TABLE tags (account_id bigint NOT NULL, id bigint PRIMARY KEY, name text NOT NULL,
  UNIQUE (account_id, id), UNIQUE (account_id, name));
CREATE TABLE ticket_tags (account_id bigint NOT NULL, ticket_id bigint NOT NULL, tag_id bigint NOT NULL,
  PRIMARY KEY (account_id, ticket_id, tag_id),
  FOREIGN KEY (account_id, ticket_id) REFERENCES tickets (account_id, id) ON DELETE CASCADE,
  FOREIGN KEY (account_id, tag_id) REFERENCES tags (account_id, id));
CREATE TABLE documents (account_id bigint NOT NULL, id bigint PRIMARY KEY, title text NOT NULL,
  body text NOT NULL,
  tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || body)) STORED);
CREATE TABLE daily_stats (account_id bigint NOT NULL, day date NOT NULL, metric text NOT NULL,
  value bigint NOT NULL, PRIMARY KEY (account_id, day, metric));
CREATE TABLE import_rows (account_id bigint NOT NULL, id bigint PRIMARY KEY, email text NOT NULL,
  name text, processed boolean NOT NULL DEFAULT false);
CREATE TABLE settings (account_id bigint PRIMARY KEY REFERENCES accounts (id), prefs jsonb NOT NULL);
CREATE TABLE notifications (account_id bigint NOT NULL, id bigint PRIMARY KEY, user_id bigint NOT NULL,
  body text NOT NULL, read_at timestamptz, created_at timestamptz NOT NULL,
  FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id));
"""

# three accounts; account 2's rows often sort first (earlier, higher priority, lower id) so that a
# leak through ORDER BY … LIMIT shows
DATA = """
INSERT INTO plans VALUES (1, 'free', 0), (2, 'pro', 4900), (3, 'enterprise', 19900);
INSERT INTO accounts VALUES (1, 'acme', 2), (2, 'globex', 3), (3, 'initech', 1);
INSERT INTO users VALUES
  (2, 20, 'boss@globex.test', 'Gb', 'admin', NULL, NULL), (1, 10, 'boss@acme.test', 'Ab', 'admin', NULL, NULL),
  (1, 11, 'ann@acme.test', 'Ann', 'agent', 10, NULL), (1, 12, 'bob@acme.test', 'Bob', 'agent', 11, NULL),
  (1, 13, 'old@acme.test', 'Old', 'agent', 10, '2026-01-01'),
  (2, 21, 'gil@globex.test', 'Gil', 'agent', 20, NULL), (3, 30, 'ian@initech.test', 'Ian', 'admin', NULL, NULL);
INSERT INTO customers VALUES
  (2, 200, 'Globex Buyer', 'buyer@globex.test', 'gold', '{"region": "eu", "seats": 50}', '2025-12-01', NULL),
  (1, 100, 'Alpha Co', 'a@alpha.test', 'gold', '{"region": "eu", "seats": 10}', '2026-01-02', NULL),
  (1, 101, 'Beta Co', 'b@beta.test', 'free', '{"region": "us"}', '2026-01-03', NULL),
  (1, 102, 'Gamma Co', NULL, 'free', '{}', '2026-01-04', '2026-02-01'),
  (2, 201, 'Alpha Clone', 'a@alpha.test', 'free', '{"region": "us"}', '2026-01-02', NULL),
  (3, 300, 'Init Cust', 'i@init.test', 'free', '{}', '2026-01-05', NULL);
INSERT INTO contacts VALUES (1, 1000, 100, 'Carl', 'carl@alpha.test'), (2, 2000, 200, 'Gus', 'gus@globex.test'),
  (1, 1001, 101, 'Dora', 'dora@beta.test');
INSERT INTO tickets VALUES
  (2, 2, 200, 21, 'open', 1, 'Globex down', 'urgent', '{billing,urgent}', '2026-01-01', NULL, NULL),
  (1, 3, 100, 11, 'open', 2, 'Login fails', 'cannot log in', '{auth}', '2026-01-02', NULL, NULL),
  (1, 4, 101, 12, 'closed', 3, 'Invoice wrong', 'billing issue', '{billing}', '2026-01-03', '2026-01-05', NULL),
  (1, 5, 100, NULL, 'open', 1, 'Feature ask', NULL, '{}', '2026-01-04', NULL, NULL),
  (1, 6, 101, 11, 'closed', 2, 'Old one', 'spam', '{}', '2025-06-01', '2025-06-02', '2026-01-01'),
  (2, 7, 201, 20, 'closed', 3, 'Globex old', 'x', '{}', '2025-05-01', '2025-05-02', NULL),
  (3, 8, 300, 30, 'open', 2, 'Initech', 'y', '{auth}', '2026-01-06', NULL, NULL);
INSERT INTO ticket_comments VALUES
  (2, 50, 2, 21, 'on it', '2026-01-01 10:00'), (1, 51, 3, 11, 'looking', '2026-01-02 10:00'),
  (1, 52, 3, 12, 'fixed?', '2026-01-02 11:00'), (1, 53, 4, 12, 'refunded', '2026-01-04'),
  (2, 54, 7, 20, 'done', '2025-05-02'), (1, 55, 5, NULL, 'by customer', '2026-01-05');
INSERT INTO tickets_archive VALUES (2, 90, 200, 'closed', 'Globex archived', '2024-01-01', '2024-01-02'),
  (1, 91, 100, 'closed', 'Acme archived', '2024-02-01', '2024-02-02');
INSERT INTO categories VALUES (2, 60, NULL, 'G root'), (1, 61, NULL, 'Hardware'), (1, 62, 61, 'Laptops'),
  (1, 63, 62, 'Gaming'), (1, 64, NULL, 'Software'), (2, 65, 60, 'G child'), (3, 66, NULL, 'I root');
INSERT INTO products VALUES (2, 70, 60, 'G-1', 'Globex widget', 100, 5), (1, 71, 62, 'A-1', 'Laptop', 90000, 3),
  (1, 72, 63, 'A-2', 'Gaming laptop', 150000, 0), (1, 73, 64, 'A-3', 'Suite', 5000, 100),
  (2, 74, 65, 'A-1', 'Globex laptop', 80000, 9), (3, 75, 66, 'I-1', 'Stapler', 900, 40);
INSERT INTO invoices VALUES
  (2, 400, 200, 'INV-0001', 'open', 5000, '2026-01-01', '2026-01-31', NULL),
  (1, 401, 100, 'INV-0001', 'open', 90000, '2026-01-02', '2026-02-01', NULL),
  (1, 402, 101, 'INV-0002', 'paid', 5000, '2026-01-03', '2026-02-02', '2026-01-10'),
  (1, 403, 100, 'INV-0003', 'draft', 0, '2026-01-20', '2026-02-20', NULL),
  (2, 404, 201, 'INV-0002', 'paid', 80000, '2026-01-05', '2026-02-04', '2026-01-06'),
  (3, 405, 300, 'INV-0001', 'open', 900, '2026-01-06', '2026-02-05', NULL);
INSERT INTO invoice_lines VALUES (2, 500, 400, 70, 50, 100), (1, 501, 401, 71, 1, 90000),
  (1, 502, 402, 73, 1, 5000), (2, 503, 404, 74, 1, 80000), (3, 504, 405, 75, 1, 900);
INSERT INTO payments VALUES (1, 600, 402, 5000, '2026-01-10'), (2, 601, 404, 80000, '2026-01-06'),
  (1, 602, 401, 1000, '2026-01-15');
INSERT INTO subscriptions VALUES (2, 700, 200, 3, 'active', '2025-01-01', NULL),
  (1, 701, 100, 2, 'active', '2025-06-01', NULL), (1, 702, 101, 1, 'canceled', '2025-01-01', '2025-12-31'),
  (3, 703, 300, 1, 'active', '2025-01-01', NULL);
INSERT INTO jobs VALUES
  (2, 800, 'mail', 'queued', '{"to": "g"}', 0, '2026-01-01', NULL, NULL),
  (1, 801, 'mail', 'queued', '{"to": "a"}', 0, '2026-01-02', NULL, NULL),
  (1, 802, 'export', 'queued', '{"kind": "csv"}', 2, '2026-01-03', NULL, NULL),
  (1, 803, 'mail', 'running', '{}', 1, '2026-01-01', 'w1', '2026-01-01'),
  (1, 804, 'mail', 'done', '{}', 1, '2025-12-01', NULL, NULL),
  (2, 805, 'mail', 'done', '{}', 1, '2025-12-01', NULL, NULL);
INSERT INTO audit_log (account_id, actor_id, action, entity, entity_id, at, data) VALUES
  (2, 20, 'update', 'ticket', 2, '2026-01-01', '{"f": "status"}'),
  (1, 11, 'update', 'ticket', 3, '2026-01-02', '{"f": "status"}'),
  (1, 12, 'delete', 'ticket', 6, '2026-01-03', NULL),
  (1, 10, 'login', 'user', 10, '2025-01-01', NULL),
  (1, 10, 'login', 'user', 10, '2025-01-02', NULL),
  (2, 21, 'login', 'user', 21, '2025-01-01', NULL);
INSERT INTO events VALUES (2, 900, 20, 'page_view', '{"path": "/"}', '2026-01-01 09:00'),
  (1, 901, 11, 'page_view', '{"path": "/"}', '2026-01-02 09:00'),
  (1, 902, 11, 'click', '{"path": "/buy", "amount": 5}', '2026-01-02 10:00'),
  (1, 903, 12, 'page_view', '{"path": "/docs"}', '2026-01-03 09:00'),
  (1, 904, NULL, 'signup', '{}', '2026-01-04 09:00'),
  (2, 905, 21, 'click', '{"path": "/buy", "amount": 7}', '2026-01-02 11:00');
INSERT INTO tags VALUES (2, 950, 'billing'), (1, 951, 'billing'), (1, 952, 'vip'), (3, 953, 'billing');
INSERT INTO ticket_tags VALUES (2, 2, 950), (1, 3, 952), (1, 4, 951), (1, 5, 952);
INSERT INTO documents (account_id, id, title, body) VALUES
  (2, 960, 'Refund policy', 'globex refunds within 30 days'),
  (1, 961, 'Refund policy', 'acme refunds within 14 days'),
  (1, 962, 'Onboarding', 'welcome to acme'), (3, 963, 'Refund', 'initech refunds never');
INSERT INTO daily_stats VALUES (2, '2026-01-02', 'signups', 9), (1, '2026-01-02', 'signups', 3),
  (1, '2026-01-03', 'signups', 1);
INSERT INTO import_rows VALUES (2, 970, 'new@globex.test', 'G new', false),
  (1, 971, 'new@acme.test', 'A new', false), (1, 972, 'ann@acme.test', 'Ann again', false),
  (1, 973, 'done@acme.test', 'Done', true);
INSERT INTO settings VALUES (1, '{"theme": "dark", "tz": "UTC"}'), (2, '{"theme": "light"}'), (3, '{}');
INSERT INTO notifications VALUES (2, 980, 20, 'g', NULL, '2026-01-01'), (1, 981, 11, 'a1', NULL, '2026-01-02'),
  (1, 982, 11, 'a2', '2026-01-03', '2026-01-02'), (1, 983, 12, 'b1', NULL, '2026-01-04');
"""

# the server's row-level security: one policy per tenant table, forced, read by a non-owner role
TENANT_TABLES = [
    "users",
    "customers",
    "contacts",
    "tickets",
    "ticket_comments",
    "tickets_archive",
    "categories",
    "products",
    "invoices",
    "invoice_lines",
    "payments",
    "subscriptions",
    "jobs",
    "audit_log",
    "events",
    "tags",
    "ticket_tags",
    "documents",
    "daily_stats",
    "import_rows",
    "settings",
    "notifications",
]
ROLE = "h34b_app"


def rls_sql() -> str:
    lines = [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN "
        f"CREATE ROLE {ROLE}; END IF; END $$;",
        f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {ROLE};",
        f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {ROLE};",
    ]
    for table in TENANT_TABLES:
        lines += [
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;",
            f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY;",
            f"CREATE POLICY tenant ON {table} "
            "USING (account_id = current_setting('app.account')::bigint);",
        ]
    return "\n".join(lines)


D = _dt.date

# (name, sql, the arguments after $1); $1 is always the account
Case = tuple[str, str, tuple[object, ...]]
CORPUS: list[Case] = [
    # ------------------------------------------------------------ plain CRUD, soft deletes
    ("user by id", "SELECT id, email, name FROM users WHERE account_id = $1 AND id = $2", (11,)),
    (
        "user by email",
        "SELECT * FROM users WHERE account_id = $1 AND lower(email) = lower($2)",
        ("ANN@acme.test",),
    ),
    (
        "active users",
        "SELECT id, name FROM users WHERE account_id = $1 AND deleted_at IS NULL ORDER BY name",
        (),
    ),
    (
        "soft delete user",
        "UPDATE users SET deleted_at = '2026-03-01' WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING id",
        (12,),
    ),
    (
        "restore user",
        "UPDATE users SET deleted_at = NULL WHERE account_id = $1 AND id = $2 RETURNING id, deleted_at",
        (13,),
    ),
    (
        "create user",
        "INSERT INTO users (account_id, id, email, name) VALUES ($1, $2, $3, $4) RETURNING id, role",
        (14, "new@acme.test", "New"),
    ),
    ("rename user", "UPDATE users SET name = $3 WHERE id = $2 AND account_id = $1", (11, "Anna")),
    (
        "hard delete user",
        "DELETE FROM users WHERE account_id = $1 AND id = $2 RETURNING email",
        (13,),
    ),
    (
        "customer page",
        "SELECT id, name, tier FROM customers WHERE account_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 20",
        (),
    ),
    (
        "customer count",
        "SELECT count(*) FROM customers WHERE account_id = $1 AND deleted_at IS NULL",
        (),
    ),
    (
        "customer get",
        "SELECT c.* FROM customers AS c WHERE c.account_id = $1 AND c.id = $2",
        (100,),
    ),
    (
        "customer soft delete",
        "UPDATE customers SET deleted_at = '2026-03-01' WHERE account_id = $1 AND id = ANY($2::bigint[]) RETURNING id",
        ([100, 101, 200],),
    ),
    (
        "customer create",
        "INSERT INTO customers (account_id, id, name, email, created_at) VALUES ($1, $2, $3, $4, '2026-03-01') RETURNING id, tier, attrs",
        (103, "Delta", "d@delta.test"),
    ),
    (
        "customer upgrade tier",
        "UPDATE customers SET tier = 'gold' WHERE account_id = $1 AND id = $2 AND tier <> 'gold'",
        (101,),
    ),
    (
        "contacts of customer",
        "SELECT name, email FROM contacts WHERE account_id = $1 AND customer_id = $2 ORDER BY name",
        (100,),
    ),
    (
        "contact create",
        "INSERT INTO contacts (account_id, id, customer_id, name, email) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        (1002, 100, "Eve", "eve@alpha.test"),
    ),
    ("contact delete", "DELETE FROM contacts WHERE account_id = $1 AND id = $2", (1000,)),
    ("settings read", "SELECT prefs FROM settings WHERE account_id = $1", ()),
    (
        "settings theme",
        "SELECT prefs->>'theme' AS theme, coalesce(prefs->>'tz', 'UTC') FROM settings WHERE account_id = $1",
        (),
    ),
    (
        "account name",
        "SELECT a.name, p.name AS plan FROM accounts a JOIN plans p ON p.id = a.plan_id WHERE a.id = $1",
        (),
    ),
    (
        "account plan price",
        "SELECT p.price_cents FROM plans p WHERE p.id = (SELECT plan_id FROM accounts WHERE id = $1)",
        (),
    ),
    (
        "notifications unread",
        "SELECT id, body FROM notifications WHERE account_id = $1 AND user_id = $2 AND read_at IS NULL ORDER BY created_at DESC",
        (11,),
    ),
    (
        "notifications mark read",
        "UPDATE notifications SET read_at = '2026-03-01' WHERE account_id = $1 AND user_id = $2 AND read_at IS NULL RETURNING id",
        (11,),
    ),
    (
        "notifications mark some read",
        "UPDATE notifications SET read_at = '2026-03-01' WHERE account_id = $1 AND id = ANY($2) RETURNING id",
        ([981, 980],),
    ),
    (
        "notification create",
        "INSERT INTO notifications (account_id, id, user_id, body, created_at) VALUES ($1, $2, $3, $4, '2026-03-01')",
        (984, 12, "hi"),
    ),
    (
        "ticket get",
        "SELECT * FROM tickets WHERE account_id = $1 AND id = $2 AND deleted_at IS NULL",
        (3,),
    ),
    (
        "ticket close",
        "UPDATE tickets SET status = 'closed', closed_at = '2026-03-01' WHERE account_id = $1 AND id = $2 RETURNING status",
        (3,),
    ),
    (
        "ticket assign",
        "UPDATE tickets SET assignee_id = $3 WHERE account_id = $1 AND id = $2 RETURNING assignee_id",
        (5, 12),
    ),
    (
        "ticket create",
        "INSERT INTO tickets (account_id, id, customer_id, status, priority, subject, created_at) VALUES ($1, $2, $3, 'open', 2, $4, '2026-03-01') RETURNING id, tags",
        (9, 100, "New one"),
    ),
    (
        "ticket add tag",
        "UPDATE tickets SET tags = array_append(tags, $3) WHERE account_id = $1 AND id = $2 AND NOT ($3 = ANY(tags)) RETURNING tags",
        (3, "vip"),
    ),
    (
        "ticket remove tag",
        "UPDATE tickets SET tags = array_remove(tags, $3) WHERE account_id = $1 AND id = $2 RETURNING tags",
        (4, "billing"),
    ),
    (
        "ticket soft delete",
        "UPDATE tickets SET deleted_at = '2026-03-01' WHERE account_id = $1 AND id = $2",
        (5,),
    ),
    (
        "comment add",
        "INSERT INTO ticket_comments (account_id, id, ticket_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5, '2026-03-01') RETURNING id",
        (56, 3, 11, "hello"),
    ),
    (
        "comments of ticket",
        "SELECT c.body, u.name FROM ticket_comments c LEFT JOIN users u ON u.account_id = c.account_id AND u.id = c.author_id WHERE c.account_id = $1 AND c.ticket_id = $2 ORDER BY c.created_at",
        (3,),
    ),
    (
        "comment edit",
        "UPDATE ticket_comments SET body = $3 WHERE account_id = $1 AND id = $2 AND author_id = $4",
        (51, "edited", 11),
    ),
    (
        "comment delete",
        "DELETE FROM ticket_comments WHERE account_id = $1 AND id = $2 RETURNING ticket_id",
        (52,),
    ),
    (
        "job enqueue",
        "INSERT INTO jobs (account_id, id, queue, state, payload, run_at) VALUES ($1, $2, $3, 'queued', $4::jsonb, '2026-03-01') RETURNING id",
        (806, "mail", '{"to": "z"}'),
    ),
    (
        "job done",
        "UPDATE jobs SET state = 'done', locked_by = NULL WHERE account_id = $1 AND id = $2 AND locked_by = $3",
        (803, "w1"),
    ),
    (
        "job retry",
        "UPDATE jobs SET state = 'queued', attempts = attempts + 1, run_at = run_at + interval '1 minute' * power(2, attempts) WHERE account_id = $1 AND id = $2 RETURNING attempts",
        (803,),
    ),
    (
        "job purge done",
        "DELETE FROM jobs WHERE account_id = $1 AND state = 'done' AND run_at < $2",
        (_dt.datetime(2026, 1, 1, tzinfo=_dt.UTC),),
    ),
    (
        "audit write",
        "INSERT INTO audit_log (account_id, actor_id, action, entity, entity_id, at, data) VALUES ($1, $2, $3, $4, $5, '2026-03-01', $6::jsonb)",
        (11, "update", "ticket", 3, '{"f": "x"}'),
    ),
    (
        "audit page",
        "SELECT id, action, entity, entity_id FROM audit_log WHERE account_id = $1 ORDER BY id DESC LIMIT 50",
        (),
    ),
    (
        "audit of entity",
        "SELECT action, at FROM audit_log WHERE account_id = $1 AND entity = $2 AND entity_id = $3 ORDER BY at",
        ("ticket", 3),
    ),
    (
        "event track",
        "INSERT INTO events (account_id, id, user_id, name, props, occurred_at) VALUES ($1, $2, $3, $4, $5, '2026-03-01')",
        (906, 11, "click", '{"path": "/x"}'),
    ),
    (
        "daily stat get",
        "SELECT value FROM daily_stats WHERE account_id = $1 AND day = $2 AND metric = $3",
        (D(2026, 1, 2), "signups"),
    ),
    (
        "tag create",
        "INSERT INTO tags (account_id, id, name) VALUES ($1, $2, $3) ON CONFLICT (account_id, name) DO NOTHING RETURNING id",
        (954, "vip"),
    ),
    (
        "tag a ticket",
        "INSERT INTO ticket_tags (account_id, ticket_id, tag_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        (3, 951),
    ),
    (
        "untag a ticket",
        "DELETE FROM ticket_tags WHERE account_id = $1 AND ticket_id = $2 AND tag_id = $3",
        (3, 952),
    ),
    (
        "product by sku",
        "SELECT id, name, price_cents FROM products WHERE account_id = $1 AND sku = $2",
        ("A-1",),
    ),
    (
        "product stock down",
        "UPDATE products SET stock = stock - $3 WHERE account_id = $1 AND id = $2 AND stock >= $3 RETURNING stock",
        (71, 1),
    ),
    (
        "product price bump",
        "UPDATE products SET price_cents = (price_cents * 1.1)::int WHERE account_id = $1 AND category_id = $2",
        (62,),
    ),
    ("invoice get", "SELECT * FROM invoices WHERE account_id = $1 AND number = $2", ("INV-0001",)),
    (
        "invoice mark paid",
        "UPDATE invoices SET status = 'paid', paid_at = '2026-03-01' WHERE account_id = $1 AND id = $2 AND status = 'open' RETURNING number",
        (401,),
    ),
    (
        "invoice void drafts",
        "DELETE FROM invoices WHERE account_id = $1 AND status = 'draft' AND total_cents = 0 RETURNING id",
        (),
    ),
    (
        "payment record",
        "INSERT INTO payments (account_id, id, invoice_id, amount_cents, paid_at) VALUES ($1, $2, $3, $4, '2026-03-01') RETURNING id",
        (603, 401, 500),
    ),
    (
        "subscription cancel",
        "UPDATE subscriptions SET status = 'canceled', ends_on = $3 WHERE account_id = $1 AND id = $2",
        (701, D(2026, 3, 1)),
    ),
    ("document get", "SELECT title, body FROM documents WHERE account_id = $1 AND id = $2", (961,)),
    (
        "document update",
        "UPDATE documents SET body = body || $3 WHERE account_id = $1 AND id = $2 RETURNING tsv",
        (962, " more"),
    ),
    (
        "import row mark",
        "UPDATE import_rows SET processed = true WHERE account_id = $1 AND id = $2",
        (971,),
    ),
    # ------------------------------------------------------------ joins on the composite key
    (
        "tickets with customer",
        "SELECT t.id, t.subject, c.name FROM tickets t JOIN customers c ON c.account_id = t.account_id AND c.id = t.customer_id WHERE t.account_id = $1 ORDER BY t.id",
        (),
    ),
    (
        "tickets with customer by key only",
        "SELECT t.id, c.name FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.account_id = $1",
        (),
    ),
    (
        "tickets with assignee left",
        "SELECT t.id, u.name FROM tickets t LEFT JOIN users u ON u.id = t.assignee_id AND u.account_id = t.account_id WHERE t.account_id = $1 AND t.status = 'open'",
        (),
    ),
    (
        "both pinned join",
        "SELECT t.id, c.name FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.account_id = $1 AND c.account_id = $1",
        (),
    ),
    (
        "join using account_id",
        "SELECT i.number, c.name FROM invoices i JOIN customers c USING (account_id) WHERE i.account_id = $1 AND c.id = i.customer_id",
        (),
    ),
    (
        "invoice with lines",
        "SELECT i.number, l.qty, p.name FROM invoices i JOIN invoice_lines l ON l.account_id = i.account_id AND l.invoice_id = i.id JOIN products p ON p.account_id = l.account_id AND p.id = l.product_id WHERE i.account_id = $1 AND i.id = $2",
        (401,),
    ),
    (
        "invoice lines by key",
        "SELECT l.qty * l.unit_cents AS amount FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id WHERE i.account_id = $1 AND i.status = 'open'",
        (),
    ),
    (
        "payments per invoice",
        "SELECT i.number, coalesce(sum(p.amount_cents), 0) AS paid FROM invoices i LEFT JOIN payments p ON p.account_id = i.account_id AND p.invoice_id = i.id WHERE i.account_id = $1 GROUP BY i.number ORDER BY i.number",
        (),
    ),
    (
        "outstanding balance",
        "SELECT i.id, i.total_cents - coalesce((SELECT sum(p.amount_cents) FROM payments p WHERE p.account_id = i.account_id AND p.invoice_id = i.id), 0) AS due FROM invoices i WHERE i.account_id = $1 AND i.status = 'open'",
        (),
    ),
    (
        "subscription with plan",
        "SELECT s.id, p.name, p.price_cents FROM subscriptions s JOIN plans p ON p.id = s.plan_id WHERE s.account_id = $1 AND s.status = 'active'",
        (),
    ),
    (
        "mrr",
        "SELECT sum(p.price_cents) FROM subscriptions s JOIN plans p ON p.id = s.plan_id WHERE s.account_id = $1 AND s.status = 'active'",
        (),
    ),
    (
        "customer with subscriptions",
        "SELECT c.name, s.status FROM customers c JOIN subscriptions s ON s.customer_id = c.id AND s.account_id = c.account_id WHERE c.account_id = $1",
        (),
    ),
    (
        "contacts with customer name",
        "SELECT ct.name, cu.name FROM contacts ct JOIN customers cu ON (cu.account_id, cu.id) = (ct.account_id, ct.customer_id) WHERE ct.account_id = $1",
        (),
    ),
    (
        "tags of ticket",
        "SELECT tg.name FROM ticket_tags tt JOIN tags tg ON tg.account_id = tt.account_id AND tg.id = tt.tag_id WHERE tt.account_id = $1 AND tt.ticket_id = $2",
        (3,),
    ),
    (
        "tickets with tag",
        "SELECT t.id FROM tickets t JOIN ticket_tags tt ON tt.account_id = t.account_id AND tt.ticket_id = t.id JOIN tags g ON g.account_id = tt.account_id AND g.id = tt.tag_id WHERE t.account_id = $1 AND g.name = $2",
        ("vip",),
    ),
    (
        "product with category",
        "SELECT p.name, c.name FROM products p LEFT JOIN categories c ON c.account_id = p.account_id AND c.id = p.category_id WHERE p.account_id = $1",
        (),
    ),
    (
        "users with manager",
        "SELECT u.name, m.name AS manager FROM users u LEFT JOIN users m ON m.account_id = u.account_id AND m.id = u.manager_id WHERE u.account_id = $1",
        (),
    ),
    (
        "notification with user",
        "SELECT n.body, u.email FROM notifications n JOIN users u ON u.id = n.user_id WHERE n.account_id = $1",
        (),
    ),
    (
        "comments with ticket subject",
        "SELECT c.body, t.subject FROM ticket_comments c JOIN tickets t ON t.id = c.ticket_id WHERE c.account_id = $1",
        (),
    ),
    (
        "customers without tickets",
        "SELECT c.id FROM customers c LEFT JOIN tickets t ON t.account_id = c.account_id AND t.customer_id = c.id WHERE c.account_id = $1 AND t.id IS NULL",
        (),
    ),
    (
        "three way join",
        "SELECT c.name, t.subject, u.name FROM customers c JOIN tickets t ON t.account_id = c.account_id AND t.customer_id = c.id JOIN users u ON u.account_id = t.account_id AND u.id = t.assignee_id WHERE c.account_id = $1",
        (),
    ),
    (
        "join on account pinned in ON",
        "SELECT t.id, c.name FROM tickets t JOIN customers c ON c.account_id = $1 AND c.id = t.customer_id WHERE t.account_id = $1",
        (),
    ),
    (
        "account with its settings",
        "SELECT a.name, s.prefs FROM accounts a JOIN settings s ON s.account_id = a.id WHERE a.id = $1",
        (),
    ),
    # ------------------------------------------------------------ pagination: OFFSET and keyset
    (
        "offset page",
        "SELECT id, subject FROM tickets WHERE account_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
        (2, 1),
    ),
    (
        "keyset by id",
        "SELECT id, subject FROM tickets WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT 10",
        (3,),
    ),
    (
        "keyset row comparison",
        "SELECT id, created_at FROM tickets WHERE account_id = $1 AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT 10",
        (_dt.datetime(2026, 1, 4, tzinfo=_dt.UTC), 5),
    ),
    (
        "keyset row comparison with tenant",
        "SELECT id FROM tickets WHERE (account_id, created_at, id) > ($1, $2, $3) AND account_id = $1 ORDER BY created_at, id LIMIT 5",
        (_dt.datetime(2025, 1, 1, tzinfo=_dt.UTC), 0),
    ),
    (
        "keyset invoices",
        "SELECT id, number FROM invoices WHERE account_id = $1 AND (issued_on, id) > ($2::date, $3::bigint) ORDER BY issued_on, id LIMIT 2",
        (D(2026, 1, 1), 0),
    ),
    (
        "page with total",
        "SELECT id, subject, count(*) OVER () AS total FROM tickets WHERE account_id = $1 AND deleted_at IS NULL ORDER BY id LIMIT 2 OFFSET 0",
        (),
    ),
    (
        "page of customers by name",
        "SELECT id, name FROM customers WHERE account_id = $1 AND name > $2 ORDER BY name LIMIT 25",
        ("A",),
    ),
    (
        "fetch first",
        "SELECT id FROM events WHERE account_id = $1 ORDER BY occurred_at DESC FETCH FIRST 2 ROWS ONLY",
        (),
    ),
    (
        "page in derived table",
        "SELECT * FROM (SELECT id, subject FROM tickets WHERE account_id = $1 ORDER BY id DESC LIMIT 3) p ORDER BY id",
        (),
    ),
    # ------------------------------------------------------------ search
    (
        "ilike customers",
        "SELECT id, name FROM customers WHERE account_id = $1 AND (name ILIKE '%' || $2 || '%' OR email ILIKE '%' || $2 || '%')",
        ("alpha",),
    ),
    (
        "ilike tickets",
        "SELECT id FROM tickets WHERE account_id = $1 AND subject ILIKE $2 ORDER BY id",
        ("%log%",),
    ),
    (
        "tsvector search",
        "SELECT id, title FROM documents WHERE account_id = $1 AND tsv @@ plainto_tsquery('simple', $2)",
        ("refunds",),
    ),
    (
        "tsvector rank",
        "SELECT id, ts_rank(tsv, q) AS rank FROM documents, plainto_tsquery('simple', $2) q WHERE account_id = $1 AND tsv @@ q ORDER BY rank DESC",
        ("refunds",),
    ),
    (
        "tsvector headline",
        "SELECT ts_headline('simple', body, websearch_to_tsquery('simple', $2)) FROM documents WHERE account_id = $1 AND tsv @@ websearch_to_tsquery('simple', $2)",
        ("acme",),
    ),
    (
        "search tags array",
        "SELECT id FROM tickets WHERE account_id = $1 AND tags && $2::text[]",
        (["billing", "auth"],),
    ),
    (
        "search tags contains",
        "SELECT id FROM tickets WHERE account_id = $1 AND tags @> ARRAY[$2]::text[]",
        ("auth",),
    ),
    (
        "search any status",
        "SELECT id FROM tickets WHERE account_id = $1 AND status = ANY($2::text[]) ORDER BY id",
        (["open", "closed"],),
    ),
    (
        "search similar to",
        "SELECT id FROM users WHERE account_id = $1 AND email SIMILAR TO $2",
        ("%@acme.test",),
    ),
    ("search regex", "SELECT id FROM customers WHERE account_id = $1 AND name ~* $2", ("^a",)),
    (
        "search in multiple",
        "SELECT 'customer' AS kind, id, name FROM customers WHERE account_id = $1 AND name ILIKE $2 UNION ALL SELECT 'ticket', id, subject FROM tickets WHERE account_id = $1 AND subject ILIKE $2",
        ("%a%",),
    ),
    (
        "search contacts or customers",
        "SELECT c.id FROM customers c WHERE c.account_id = $1 AND (c.name ILIKE $2 OR EXISTS (SELECT 1 FROM contacts ct WHERE ct.account_id = c.account_id AND ct.customer_id = c.id AND ct.name ILIKE $2))",
        ("%carl%",),
    ),
    # ------------------------------------------------------------ JSONB
    (
        "jsonb field",
        "SELECT id, attrs->>'region' AS region FROM customers WHERE account_id = $1",
        (),
    ),
    (
        "jsonb filter",
        "SELECT id FROM customers WHERE account_id = $1 AND attrs->>'region' = $2",
        ("eu",),
    ),
    (
        "jsonb contains",
        "SELECT id FROM customers WHERE account_id = $1 AND attrs @> $2::jsonb",
        ('{"region": "us"}',),
    ),
    ("jsonb key exists", "SELECT id FROM customers WHERE account_id = $1 AND attrs ? 'seats'", ()),
    (
        "jsonb set",
        "UPDATE customers SET attrs = jsonb_set(attrs, '{seats}', to_jsonb($3::int)) WHERE account_id = $1 AND id = $2 RETURNING attrs",
        (100, 12),
    ),
    (
        "jsonb merge",
        "UPDATE settings SET prefs = prefs || $2::jsonb WHERE account_id = $1 RETURNING prefs",
        ('{"theme": "light"}',),
    ),
    ("jsonb delete key", "UPDATE settings SET prefs = prefs - 'tz' WHERE account_id = $1", ()),
    (
        "jsonb path",
        "SELECT id FROM events WHERE account_id = $1 AND props @? '$.amount ? (@ > 1)'",
        (),
    ),
    (
        "jsonb sum",
        "SELECT sum((props->>'amount')::int) FROM events WHERE account_id = $1 AND name = 'click'",
        (),
    ),
    (
        "jsonb each",
        "SELECT s.account_id, kv.key, kv.value FROM settings s, jsonb_each_text(s.prefs) kv WHERE s.account_id = $1 ORDER BY kv.key",
        (),
    ),
    (
        "jsonb agg",
        "SELECT jsonb_agg(jsonb_build_object('id', id, 'name', name) ORDER BY id) FROM customers WHERE account_id = $1",
        (),
    ),
    (
        "jsonb object agg",
        "SELECT jsonb_object_agg(metric, value) FROM daily_stats WHERE account_id = $1 AND day = $2",
        (D(2026, 1, 2),),
    ),
    (
        "json build row",
        "SELECT row_to_json(t) FROM (SELECT id, subject FROM tickets WHERE account_id = $1 ORDER BY id) t",
        (),
    ),
    (
        "jsonb array elements",
        "SELECT j.id, e.value FROM jobs j CROSS JOIN LATERAL jsonb_each(j.payload) e WHERE j.account_id = $1 AND j.queue = 'mail'",
        (),
    ),
    (
        "jsonb event paths",
        "SELECT props->>'path' AS path, count(*) FROM events WHERE account_id = $1 GROUP BY 1 ORDER BY 2 DESC, 1",
        (),
    ),
    # ------------------------------------------------------------ upserts, bulk insert
    (
        "upsert daily stat",
        "INSERT INTO daily_stats (account_id, day, metric, value) VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, day, metric) DO UPDATE SET value = daily_stats.value + EXCLUDED.value RETURNING value",
        (D(2026, 1, 2), "signups", 2),
    ),
    (
        "upsert settings",
        "INSERT INTO settings (account_id, prefs) VALUES ($1, $2::jsonb) ON CONFLICT (account_id) DO UPDATE SET prefs = settings.prefs || EXCLUDED.prefs RETURNING prefs",
        ('{"lang": "en"}',),
    ),
    (
        "upsert tag do update",
        "INSERT INTO tags (account_id, id, name) VALUES ($1, $2, $3) ON CONFLICT (account_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
        (955, "billing"),
    ),
    (
        "upsert user by email",
        "INSERT INTO users (account_id, id, email, name) VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, email) DO UPDATE SET name = EXCLUDED.name WHERE users.deleted_at IS NULL RETURNING id",
        (15, "ann@acme.test", "Ann B"),
    ),
    (
        "upsert on constraint",
        "INSERT INTO daily_stats AS d (account_id, day, metric, value) VALUES ($1, $2, 'logins', 1) ON CONFLICT ON CONSTRAINT daily_stats_pkey DO UPDATE SET value = d.value + 1",
        (D(2026, 1, 3),),
    ),
    (
        "bulk insert unnest",
        "INSERT INTO events (account_id, id, user_id, name, occurred_at) SELECT $1, u.id, u.uid, u.name, '2026-03-01' FROM unnest($2::bigint[], $3::bigint[], $4::text[]) AS u(id, uid, name)",
        ([910, 911], [11, 12], ["a", "b"]),
    ),
    (
        "bulk insert unnest returning",
        "INSERT INTO tags (account_id, id, name) SELECT $1, x.id, x.name FROM unnest($2::int[], $3::text[]) AS x(id, name) RETURNING id",
        ([956, 957], ["t1", "t2"]),
    ),
    (
        "bulk insert values",
        "INSERT INTO ticket_tags (account_id, ticket_id, tag_id) VALUES ($1, $2, $3), ($1, $4, $3) ON CONFLICT DO NOTHING",
        (3, 951, 5),
    ),
    (
        "bulk upsert unnest",
        "INSERT INTO daily_stats (account_id, day, metric, value) SELECT $1, d, 'views', v FROM unnest($2::date[], $3::bigint[]) AS t(d, v) ON CONFLICT (account_id, day, metric) DO UPDATE SET value = EXCLUDED.value",
        ([D(2026, 1, 2), D(2026, 1, 3)], [5, 6]),
    ),
    (
        "bulk update from unnest",
        "UPDATE products p SET stock = u.stock FROM unnest($2::bigint[], $3::int[]) AS u(id, stock) WHERE p.account_id = $1 AND p.id = u.id RETURNING p.id, p.stock",
        ([71, 70], [7, 8]),
    ),
    (
        "bulk delete any",
        "DELETE FROM notifications WHERE account_id = $1 AND id = ANY($2::bigint[]) RETURNING id",
        ([981, 980],),
    ),
    (
        "insert default values tenant",
        "INSERT INTO jobs (account_id, id, queue, state, run_at) VALUES ($1, 807, 'mail', 'queued', '2026-03-01') RETURNING payload, attempts",
        (),
    ),
    (
        "insert select generate_series",
        "INSERT INTO daily_stats (account_id, day, metric, value) SELECT $1, d::date, 'zero', 0 FROM generate_series('2026-02-01'::date, '2026-02-03'::date, interval '1 day') d",
        (),
    ),
    # ------------------------------------------------------------ imports via INSERT SELECT
    (
        "import new users",
        "INSERT INTO users (account_id, id, email, name) SELECT r.account_id, r.id, r.email, r.name FROM import_rows r WHERE r.account_id = $1 AND NOT r.processed AND NOT EXISTS (SELECT 1 FROM users u WHERE u.account_id = r.account_id AND u.email = r.email) RETURNING id",
        (),
    ),
    (
        "import with param tenant",
        "INSERT INTO users (account_id, id, email, name) SELECT $1, r.id, r.email, r.name FROM import_rows r WHERE r.account_id = $1 AND NOT r.processed ON CONFLICT (account_id, email) DO NOTHING RETURNING email",
        (),
    ),
    (
        "import mark processed",
        "UPDATE import_rows r SET processed = true FROM users u WHERE r.account_id = $1 AND u.account_id = r.account_id AND u.email = r.email RETURNING r.id",
        (),
    ),
    (
        "archive closed tickets",
        "INSERT INTO tickets_archive (account_id, id, customer_id, status, subject, created_at, closed_at) SELECT account_id, id, customer_id, status, subject, created_at, closed_at FROM tickets WHERE account_id = $1 AND status = 'closed' AND closed_at < $2 ON CONFLICT (id) DO NOTHING",
        (_dt.datetime(2026, 2, 1, tzinfo=_dt.UTC),),
    ),
    (
        "copy products to category",
        "INSERT INTO products (account_id, id, category_id, sku, name, price_cents) SELECT account_id, id + 1000, $2, sku || '-copy', name, price_cents FROM products WHERE account_id = $1 AND category_id = $3 RETURNING id",
        (64, 62),
    ),
    (
        "duplicate invoice",
        "INSERT INTO invoices (account_id, id, customer_id, number, status, total_cents, issued_on, due_on) SELECT account_id, 499, customer_id, number || '-R', 'draft', total_cents, issued_on, due_on FROM invoices WHERE account_id = $1 AND id = $2 RETURNING id, number",
        (401,),
    ),
    (
        "duplicate invoice lines",
        "INSERT INTO invoice_lines (account_id, id, invoice_id, product_id, qty, unit_cents) SELECT l.account_id, l.id + 1000, $3, l.product_id, l.qty, l.unit_cents FROM invoice_lines l WHERE l.account_id = $1 AND l.invoice_id = $2",
        (401, 403),
    ),
    (
        "insert select with join",
        "INSERT INTO notifications (account_id, id, user_id, body, created_at) SELECT t.account_id, 990 + t.id, t.assignee_id, 'reminder: ' || t.subject, '2026-03-01' FROM tickets t JOIN users u ON u.account_id = t.account_id AND u.id = t.assignee_id WHERE t.account_id = $1 AND t.status = 'open' RETURNING id",
        (),
    ),
    # ------------------------------------------------------------ reporting
    (
        "tickets per status",
        "SELECT status, count(*) FROM tickets WHERE account_id = $1 GROUP BY status ORDER BY status",
        (),
    ),
    (
        "filter aggregate",
        "SELECT count(*) FILTER (WHERE status = 'open') AS open, count(*) FILTER (WHERE status = 'closed') AS closed FROM tickets WHERE account_id = $1",
        (),
    ),
    (
        "grouping sets",
        "SELECT status, priority, count(*) FROM tickets WHERE account_id = $1 GROUP BY GROUPING SETS ((status), (priority), ()) ORDER BY 1, 2",
        (),
    ),
    (
        "rollup",
        "SELECT date_trunc('month', issued_on) AS m, status, sum(total_cents) FROM invoices WHERE account_id = $1 GROUP BY ROLLUP (1, 2) ORDER BY 1, 2",
        (),
    ),
    (
        "cube",
        "SELECT status, priority, count(*) FROM tickets WHERE account_id = $1 GROUP BY CUBE (status, priority) ORDER BY 1, 2",
        (),
    ),
    (
        "having",
        "SELECT customer_id, count(*) FROM tickets WHERE account_id = $1 GROUP BY customer_id HAVING count(*) > 1",
        (),
    ),
    (
        "row_number per customer",
        "SELECT id, customer_id, row_number() OVER (PARTITION BY customer_id ORDER BY created_at DESC) FROM tickets WHERE account_id = $1",
        (),
    ),
    (
        "latest per customer via window",
        "SELECT * FROM (SELECT id, customer_id, row_number() OVER (PARTITION BY customer_id ORDER BY created_at DESC) AS rn FROM tickets WHERE account_id = $1) x WHERE rn = 1",
        (),
    ),
    (
        "running total",
        "SELECT issued_on, total_cents, sum(total_cents) OVER (ORDER BY issued_on, id) FROM invoices WHERE account_id = $1",
        (),
    ),
    (
        "rank products",
        "SELECT name, rank() OVER (ORDER BY price_cents DESC) FROM products WHERE account_id = $1",
        (),
    ),
    (
        "lag",
        "SELECT day, value - lag(value) OVER (ORDER BY day) AS delta FROM daily_stats WHERE account_id = $1 AND metric = 'signups'",
        (),
    ),
    (
        "named window",
        "SELECT id, avg(priority) OVER w FROM tickets WHERE account_id = $1 WINDOW w AS (PARTITION BY status)",
        (),
    ),
    (
        "percentile",
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY total_cents) FROM invoices WHERE account_id = $1",
        (),
    ),
    ("mode", "SELECT mode() WITHIN GROUP (ORDER BY status) FROM tickets WHERE account_id = $1", ()),
    (
        "revenue by month",
        "SELECT to_char(paid_at, 'YYYY-MM') AS month, sum(amount_cents) FROM payments WHERE account_id = $1 GROUP BY 1 ORDER BY 1",
        (),
    ),
    (
        "revenue by customer",
        "SELECT c.name, sum(i.total_cents) FROM invoices i JOIN customers c ON c.account_id = i.account_id AND c.id = i.customer_id WHERE i.account_id = $1 GROUP BY c.name ORDER BY 2 DESC",
        (),
    ),
    (
        "agent workload",
        "SELECT u.name, count(t.id) FILTER (WHERE t.status = 'open') FROM users u LEFT JOIN tickets t ON t.account_id = u.account_id AND t.assignee_id = u.id WHERE u.account_id = $1 AND u.deleted_at IS NULL GROUP BY u.name ORDER BY u.name",
        (),
    ),
    (
        "first response time",
        "SELECT t.id, min(c.created_at) - t.created_at AS first_response FROM tickets t JOIN ticket_comments c ON c.account_id = t.account_id AND c.ticket_id = t.id WHERE t.account_id = $1 GROUP BY t.id, t.created_at",
        (),
    ),
    (
        "funnel",
        "SELECT count(DISTINCT user_id) FILTER (WHERE name = 'page_view') AS viewed, count(DISTINCT user_id) FILTER (WHERE name = 'click') AS clicked FROM events WHERE account_id = $1",
        (),
    ),
    (
        "dau",
        "SELECT occurred_at::date AS day, count(DISTINCT user_id) FROM events WHERE account_id = $1 AND occurred_at >= $2 GROUP BY 1 ORDER BY 1",
        (_dt.datetime(2026, 1, 1, tzinfo=_dt.UTC),),
    ),
    (
        "retention cohort",
        "SELECT date_trunc('month', c.created_at) AS cohort, count(*) AS size, count(*) FILTER (WHERE c.deleted_at IS NULL) AS kept FROM customers c WHERE c.account_id = $1 GROUP BY 1",
        (),
    ),
    (
        "avg ticket age",
        "SELECT avg(coalesce(closed_at, '2026-03-01'::timestamptz) - created_at) FROM tickets WHERE account_id = $1",
        (),
    ),
    (
        "stats pivot",
        "SELECT day, max(value) FILTER (WHERE metric = 'signups') AS signups FROM daily_stats WHERE account_id = $1 GROUP BY day ORDER BY day",
        (),
    ),
    (
        "ntile",
        "SELECT id, ntile(2) OVER (ORDER BY total_cents) FROM invoices WHERE account_id = $1",
        (),
    ),
    (
        "share of total",
        "SELECT status, count(*) * 100.0 / sum(count(*)) OVER () FROM tickets WHERE account_id = $1 GROUP BY status",
        (),
    ),
    (
        "top tags",
        "SELECT unnest(tags) AS tag, count(*) FROM tickets WHERE account_id = $1 GROUP BY 1 ORDER BY 2 DESC, 1",
        (),
    ),
    (
        "aging buckets",
        "SELECT CASE WHEN due_on < '2026-02-01' THEN 'late' ELSE 'ok' END AS bucket, sum(total_cents) FROM invoices WHERE account_id = $1 AND status = 'open' GROUP BY 1",
        (),
    ),
    # ------------------------------------------------------------ recursive trees
    (
        "category subtree with tenant",
        "WITH RECURSIVE tree AS (SELECT account_id, id, parent_id, name, 1 AS depth FROM categories WHERE account_id = $1 AND id = $2 UNION ALL SELECT c.account_id, c.id, c.parent_id, c.name, t.depth + 1 FROM categories c JOIN tree t ON c.account_id = t.account_id AND c.parent_id = t.id) SELECT id, name, depth FROM tree ORDER BY depth, id",
        (61,),
    ),
    (
        "category subtree by key",
        "WITH RECURSIVE tree AS (SELECT id, name FROM categories WHERE account_id = $1 AND id = $2 UNION ALL SELECT c.id, c.name FROM categories c JOIN tree t ON c.parent_id = t.id) SELECT id, name FROM tree",
        (61,),
    ),
    (
        "category subtree pinned in step",
        "WITH RECURSIVE tree AS (SELECT id FROM categories WHERE account_id = $1 AND parent_id IS NULL UNION ALL SELECT c.id FROM categories c JOIN tree t ON c.parent_id = t.id WHERE c.account_id = $1) SELECT count(*) FROM tree",
        (),
    ),
    (
        "category ancestors by key",
        "WITH RECURSIVE up AS (SELECT id, parent_id, name FROM categories WHERE account_id = $1 AND id = $2 UNION ALL SELECT c.id, c.parent_id, c.name FROM categories c JOIN up ON c.id = up.parent_id) SELECT name FROM up",
        (63,),
    ),
    (
        "category ancestors with tenant",
        "WITH RECURSIVE up AS (SELECT account_id, id, parent_id, name FROM categories WHERE account_id = $1 AND id = $2 UNION ALL SELECT c.account_id, c.id, c.parent_id, c.name FROM categories c JOIN up ON c.account_id = up.account_id AND c.id = up.parent_id) SELECT string_agg(name, ' > ' ORDER BY id) FROM up",
        (63,),
    ),
    (
        "category path",
        "WITH RECURSIVE p AS (SELECT id, name::text AS path FROM categories WHERE account_id = $1 AND parent_id IS NULL UNION ALL SELECT c.id, p.path || '/' || c.name FROM categories c JOIN p ON c.parent_id = p.id) SELECT path FROM p ORDER BY path",
        (),
    ),
    (
        "org chart down by key",
        "WITH RECURSIVE org AS (SELECT id, name, 0 AS lvl FROM users WHERE account_id = $1 AND manager_id IS NULL UNION ALL SELECT u.id, u.name, org.lvl + 1 FROM users u JOIN org ON u.manager_id = org.id) SELECT * FROM org ORDER BY lvl, id",
        (),
    ),
    (
        "org chart reports of",
        "WITH RECURSIVE r AS (SELECT id FROM users WHERE account_id = $1 AND id = $2 UNION SELECT u.id FROM users u, r WHERE u.manager_id = r.id) SELECT count(*) - 1 FROM r",
        (10,),
    ),
    (
        "org chart with tenant",
        "WITH RECURSIVE org AS (SELECT account_id, id, manager_id FROM users WHERE account_id = $1 AND id = $2 UNION ALL SELECT u.account_id, u.id, u.manager_id FROM users u JOIN org o ON u.account_id = o.account_id AND u.manager_id = o.id) SELECT id FROM org",
        (10,),
    ),
    (
        "org chain up by key",
        "WITH RECURSIVE chain AS (SELECT id, manager_id FROM users WHERE account_id = $1 AND id = $2 UNION ALL SELECT u.id, u.manager_id FROM users u JOIN chain ON u.id = chain.manager_id) SELECT id FROM chain",
        (12,),
    ),
    (
        "products in subtree",
        "WITH RECURSIVE tree AS (SELECT id FROM categories WHERE account_id = $1 AND id = $2 UNION ALL SELECT c.id FROM categories c JOIN tree ON c.parent_id = tree.id) SELECT p.name FROM products p WHERE p.account_id = $1 AND p.category_id IN (SELECT id FROM tree)",
        (61,),
    ),
    (
        "delete subtree with tenant",
        "WITH RECURSIVE tree AS (SELECT account_id, id FROM categories WHERE account_id = $1 AND id = $2 UNION ALL SELECT c.account_id, c.id FROM categories c JOIN tree t ON c.account_id = t.account_id AND c.parent_id = t.id) UPDATE products SET category_id = NULL WHERE account_id = $1 AND category_id IN (SELECT id FROM tree) RETURNING id",
        (62,),
    ),
    (
        "tree with cycle search",
        "WITH RECURSIVE tree(id, parent_id, depth) AS (SELECT id, parent_id, 0 FROM categories WHERE account_id = $1 AND parent_id IS NULL UNION ALL SELECT c.id, c.parent_id, t.depth + 1 FROM categories c JOIN tree t ON c.parent_id = t.id AND c.account_id = $1) SELECT id, depth FROM tree",
        (),
    ),
    (
        "recursive series",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT n.i, count(t.id) FROM n LEFT JOIN tickets t ON t.account_id = $1 AND t.priority = n.i GROUP BY n.i ORDER BY n.i",
        (),
    ),
    # ------------------------------------------------------------ batched deletes
    (
        "batched delete ctid",
        "DELETE FROM events WHERE ctid IN (SELECT ctid FROM events WHERE account_id = $1 AND occurred_at < $2 LIMIT 1000)",
        (_dt.datetime(2026, 1, 3, tzinfo=_dt.UTC),),
    ),
    (
        "batched delete ctid any",
        "DELETE FROM audit_log WHERE ctid = ANY (ARRAY(SELECT ctid FROM audit_log WHERE account_id = $1 AND at < $2 LIMIT 500))",
        (_dt.datetime(2025, 6, 1, tzinfo=_dt.UTC),),
    ),
    (
        "batched delete by id",
        "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE account_id = $1 AND name = 'page_view' ORDER BY id LIMIT 100) RETURNING id",
        (),
    ),
    (
        "batched delete by id and tenant",
        "DELETE FROM events WHERE account_id = $1 AND id IN (SELECT id FROM events WHERE account_id = $1 ORDER BY occurred_at LIMIT 2)",
        (),
    ),
    (
        "batched delete cte ctid",
        "WITH batch AS (SELECT ctid FROM notifications WHERE account_id = $1 AND read_at IS NOT NULL LIMIT 100) DELETE FROM notifications n USING batch WHERE n.ctid = batch.ctid",
        (),
    ),
    (
        "batched update ctid",
        "UPDATE jobs SET state = 'expired' WHERE ctid IN (SELECT ctid FROM jobs WHERE account_id = $1 AND state = 'queued' AND run_at < $2 LIMIT 50) RETURNING id",
        (_dt.datetime(2026, 1, 3, tzinfo=_dt.UTC),),
    ),
    (
        "batched delete composite",
        "DELETE FROM jobs WHERE (account_id, id) IN (SELECT account_id, id FROM jobs WHERE account_id = $1 AND state = 'done' LIMIT 100)",
        (),
    ),
    (
        "batched delete for update",
        "DELETE FROM jobs WHERE id = ANY (ARRAY(SELECT id FROM jobs WHERE account_id = $1 AND state = 'done' LIMIT 10 FOR UPDATE SKIP LOCKED)) RETURNING id",
        (),
    ),
    # ------------------------------------------------------------ job queues
    (
        "job claim skip locked",
        "UPDATE jobs SET state = 'running', locked_by = $2, locked_at = '2026-03-01' WHERE id = (SELECT id FROM jobs WHERE account_id = $1 AND state = 'queued' ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, payload",
        ("w2",),
    ),
    (
        "job claim in",
        "UPDATE jobs SET state = 'running' WHERE id IN (SELECT id FROM jobs WHERE account_id = $1 AND state = 'queued' AND queue = $2 ORDER BY run_at LIMIT 2 FOR UPDATE SKIP LOCKED) RETURNING id",
        ("mail",),
    ),
    (
        "job claim cte",
        "WITH next AS (SELECT id FROM jobs WHERE account_id = $1 AND state = 'queued' ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED) UPDATE jobs j SET state = 'running' FROM next WHERE j.id = next.id RETURNING j.id",
        (),
    ),
    (
        "job claim cte tenant",
        "WITH next AS (SELECT account_id, id FROM jobs WHERE account_id = $1 AND state = 'queued' ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED) UPDATE jobs j SET state = 'running' FROM next WHERE j.account_id = next.account_id AND j.id = next.id RETURNING j.id",
        (),
    ),
    (
        "job claim row equals",
        "UPDATE jobs SET state = 'running' WHERE (account_id, id) = (SELECT account_id, id FROM jobs WHERE account_id = $1 AND state = 'queued' ORDER BY run_at LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id",
        (),
    ),
    (
        "job stuck reset",
        "UPDATE jobs SET state = 'queued', locked_by = NULL WHERE account_id = $1 AND state = 'running' AND locked_at < $2 RETURNING id",
        (_dt.datetime(2026, 2, 1, tzinfo=_dt.UTC),),
    ),
    (
        "job queue depth",
        "SELECT queue, count(*) FILTER (WHERE state = 'queued'), max(attempts) FROM jobs WHERE account_id = $1 GROUP BY queue ORDER BY queue",
        (),
    ),
    (
        "job peek",
        "SELECT id FROM jobs WHERE account_id = $1 AND state = 'queued' ORDER BY run_at, id LIMIT 1 FOR UPDATE",
        (),
    ),
    (
        "job delete claimed",
        "DELETE FROM jobs WHERE id = (SELECT id FROM jobs WHERE account_id = $1 AND state = 'done' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id",
        (),
    ),
    # ------------------------------------------------------------ LATERAL top-N, DISTINCT ON
    (
        "lateral latest comment",
        "SELECT t.id, lc.body FROM tickets t LEFT JOIN LATERAL (SELECT c.body FROM ticket_comments c WHERE c.account_id = t.account_id AND c.ticket_id = t.id ORDER BY c.created_at DESC LIMIT 1) lc ON true WHERE t.account_id = $1 ORDER BY t.id",
        (),
    ),
    (
        "lateral by key only",
        "SELECT t.id, lc.body FROM tickets t LEFT JOIN LATERAL (SELECT c.body FROM ticket_comments c WHERE c.ticket_id = t.id ORDER BY c.created_at DESC LIMIT 1) lc ON true WHERE t.account_id = $1",
        (),
    ),
    (
        "lateral top 2 invoices",
        "SELECT c.name, i.number FROM customers c CROSS JOIN LATERAL (SELECT number FROM invoices WHERE account_id = c.account_id AND customer_id = c.id ORDER BY issued_on DESC LIMIT 2) i WHERE c.account_id = $1",
        (),
    ),
    (
        "lateral top pinned inside",
        "SELECT c.name, x.n FROM customers c, LATERAL (SELECT count(*) AS n FROM tickets t WHERE t.account_id = $1 AND t.customer_id = c.id) x WHERE c.account_id = $1",
        (),
    ),
    (
        "lateral products per category",
        "SELECT cat.name, p.name FROM categories cat JOIN LATERAL (SELECT name FROM products WHERE products.account_id = cat.account_id AND products.category_id = cat.id ORDER BY price_cents DESC LIMIT 1) p ON true WHERE cat.account_id = $1",
        (),
    ),
    (
        "distinct on latest ticket",
        "SELECT DISTINCT ON (customer_id) customer_id, id, created_at FROM tickets WHERE account_id = $1 ORDER BY customer_id, created_at DESC",
        (),
    ),
    (
        "distinct on latest payment",
        "SELECT DISTINCT ON (p.invoice_id) p.invoice_id, p.amount_cents FROM payments p WHERE p.account_id = $1 ORDER BY p.invoice_id, p.paid_at DESC",
        (),
    ),
    (
        "distinct emails",
        "SELECT DISTINCT lower(email) FROM customers WHERE account_id = $1 AND email IS NOT NULL",
        (),
    ),
    ("count distinct", "SELECT count(DISTINCT customer_id) FROM tickets WHERE account_id = $1", ()),
    # ------------------------------------------------------------ array_agg
    (
        "array_agg tags",
        "SELECT t.id, array_agg(g.name ORDER BY g.name) FROM tickets t JOIN ticket_tags tt ON tt.account_id = t.account_id AND tt.ticket_id = t.id JOIN tags g ON g.account_id = tt.account_id AND g.id = tt.tag_id WHERE t.account_id = $1 GROUP BY t.id",
        (),
    ),
    (
        "array_agg ids",
        "SELECT customer_id, array_agg(id ORDER BY id) FROM invoices WHERE account_id = $1 GROUP BY customer_id",
        (),
    ),
    (
        "array subquery",
        "SELECT c.id, ARRAY(SELECT ct.email FROM contacts ct WHERE ct.account_id = c.account_id AND ct.customer_id = c.id ORDER BY ct.email) FROM customers c WHERE c.account_id = $1",
        (),
    ),
    (
        "string_agg",
        "SELECT string_agg(name, ', ' ORDER BY name) FROM users WHERE account_id = $1 AND deleted_at IS NULL",
        (),
    ),
    (
        "array_agg distinct",
        "SELECT array_agg(DISTINCT status ORDER BY status) FROM tickets WHERE account_id = $1",
        (),
    ),
    (
        "bool_and",
        "SELECT bool_and(status = 'paid') FROM invoices WHERE account_id = $1 AND customer_id = $2",
        (101,),
    ),
    # ------------------------------------------------------------ calendars
    (
        "calendar of signups",
        "SELECT d::date, coalesce(s.value, 0) FROM generate_series($2::date, $3::date, interval '1 day') d LEFT JOIN daily_stats s ON s.account_id = $1 AND s.day = d::date AND s.metric = 'signups' ORDER BY 1",
        (D(2026, 1, 1), D(2026, 1, 4)),
    ),
    (
        "calendar of events",
        "SELECT day::date, count(e.id) FROM generate_series('2026-01-01'::timestamptz, '2026-01-04', '1 day') AS day LEFT JOIN events e ON e.account_id = $1 AND e.occurred_at >= day AND e.occurred_at < day + interval '1 day' GROUP BY day ORDER BY day",
        (),
    ),
    (
        "calendar subquery pinned",
        "SELECT d::date, (SELECT count(*) FROM tickets t WHERE t.account_id = $1 AND t.created_at::date = d::date) FROM generate_series('2026-01-01'::date, '2026-01-05'::date, '1 day') d",
        (),
    ),
    (
        "calendar months",
        "SELECT m, coalesce(sum(i.total_cents), 0) FROM generate_series('2026-01-01'::date, '2026-03-01'::date, interval '1 month') m LEFT JOIN invoices i ON i.account_id = $1 AND date_trunc('month', i.issued_on) = m GROUP BY m ORDER BY m",
        (),
    ),
    (
        "calendar cte",
        "WITH days AS (SELECT generate_series('2026-01-01'::date, '2026-01-03'::date, '1 day')::date AS day) SELECT days.day, count(t.id) FROM days LEFT JOIN tickets t ON t.account_id = $1 AND t.created_at::date = days.day GROUP BY days.day ORDER BY 1",
        (),
    ),
    (
        "calendar filtered where",
        "SELECT d::date, e.id FROM generate_series('2026-01-01'::date, '2026-01-03'::date, '1 day') d JOIN events e ON e.occurred_at::date = d::date WHERE e.account_id = $1",
        (),
    ),
    # ------------------------------------------------------------ MERGE
    (
        "merge stats",
        "MERGE INTO daily_stats d USING (SELECT $1::bigint AS account_id, $2::date AS day, 'signups' AS metric, $3::bigint AS value) s ON d.account_id = s.account_id AND d.day = s.day AND d.metric = s.metric WHEN MATCHED THEN UPDATE SET value = d.value + s.value WHEN NOT MATCHED THEN INSERT (account_id, day, metric, value) VALUES (s.account_id, s.day, s.metric, s.value)",
        (D(2026, 1, 2), 4),
    ),
    (
        "merge import users",
        "MERGE INTO users u USING (SELECT account_id, id, email, name FROM import_rows WHERE account_id = $1 AND NOT processed) r ON u.account_id = r.account_id AND u.email = r.email WHEN MATCHED THEN UPDATE SET name = r.name WHEN NOT MATCHED THEN INSERT (account_id, id, email, name) VALUES (r.account_id, r.id, r.email, r.name)",
        (),
    ),
    (
        "merge tenant pinned in on",
        "MERGE INTO products p USING (VALUES ('A-1', 1), ('A-9', 2)) AS v(sku, stock) ON p.account_id = $1 AND p.sku = v.sku WHEN MATCHED THEN UPDATE SET stock = p.stock + v.stock",
        (),
    ),
    (
        "merge insert param",
        "MERGE INTO tags t USING (SELECT unnest($2::text[]) AS name) s ON t.account_id = $1 AND t.name = s.name WHEN NOT MATCHED THEN INSERT (account_id, id, name) VALUES ($1, 960 + length(s.name), s.name)",
        (["vip", "newtag"],),
    ),
    (
        "merge delete",
        "MERGE INTO notifications n USING (SELECT id FROM notifications WHERE account_id = $1 AND read_at IS NOT NULL) r ON n.account_id = $1 AND n.id = r.id WHEN MATCHED THEN DELETE",
        (),
    ),
    (
        "merge archive",
        "MERGE INTO tickets_archive a USING (SELECT * FROM tickets WHERE account_id = $1 AND status = 'closed') t ON a.id = t.id AND a.account_id = t.account_id WHEN NOT MATCHED THEN INSERT (account_id, id, customer_id, status, subject, created_at, closed_at) VALUES (t.account_id, t.id, t.customer_id, t.status, t.subject, t.created_at, t.closed_at)",
        (),
    ),
    # ------------------------------------------------------------ writable CTEs
    (
        "move tickets to archive",
        "WITH moved AS (DELETE FROM tickets WHERE account_id = $1 AND status = 'closed' AND deleted_at IS NOT NULL RETURNING account_id, id, customer_id, status, subject, created_at, closed_at) INSERT INTO tickets_archive SELECT * FROM moved RETURNING id",
        (),
    ),
    (
        "move tickets named columns",
        "WITH moved AS (DELETE FROM tickets WHERE account_id = $1 AND id = $2 RETURNING *) INSERT INTO tickets_archive (account_id, id, customer_id, status, subject, created_at, closed_at) SELECT account_id, id, customer_id, status, subject, created_at, closed_at FROM moved",
        (6,),
    ),
    (
        "restore from archive",
        "WITH r AS (DELETE FROM tickets_archive WHERE account_id = $1 AND id = $2 RETURNING account_id, id, customer_id, status, subject, created_at, closed_at) INSERT INTO tickets (account_id, id, customer_id, status, priority, subject, created_at, closed_at) SELECT account_id, id, customer_id, status, 3, subject, created_at, closed_at FROM r RETURNING id",
        (91,),
    ),
    (
        "update then audit",
        "WITH t AS (UPDATE tickets SET status = 'closed' WHERE account_id = $1 AND id = $2 RETURNING account_id, id) INSERT INTO audit_log (account_id, actor_id, action, entity, entity_id, at) SELECT account_id, $3, 'close', 'ticket', id, '2026-03-01' FROM t",
        (3, 11),
    ),
    (
        "insert then audit param",
        "WITH c AS (INSERT INTO customers (account_id, id, name, created_at) VALUES ($1, 104, $2, '2026-03-01') RETURNING id) INSERT INTO audit_log (account_id, action, entity, entity_id, at) SELECT $1, 'create', 'customer', id, '2026-03-01' FROM c",
        ("Epsilon",),
    ),
    (
        "delete with cascade log",
        "WITH d AS (DELETE FROM invoices WHERE account_id = $1 AND status = 'draft' RETURNING id) SELECT count(*) FROM d",
        (),
    ),
    (
        "import and mark",
        "WITH ins AS (INSERT INTO users (account_id, id, email, name) SELECT account_id, id, email, name FROM import_rows WHERE account_id = $1 AND id = $2 RETURNING account_id, email) UPDATE import_rows r SET processed = true FROM ins WHERE r.account_id = ins.account_id AND r.email = ins.email RETURNING r.id",
        (971,),
    ),
    (
        "pay and close",
        "WITH p AS (INSERT INTO payments (account_id, id, invoice_id, amount_cents, paid_at) VALUES ($1, 604, $2, $3, '2026-03-01') RETURNING account_id, invoice_id) UPDATE invoices i SET status = 'paid' FROM p WHERE i.account_id = p.account_id AND i.id = p.invoice_id RETURNING i.number",
        (401, 89000),
    ),
    (
        "writable cte select",
        "WITH u AS (UPDATE notifications SET read_at = '2026-03-01' WHERE account_id = $1 AND read_at IS NULL RETURNING id) SELECT array_agg(id ORDER BY id) FROM u",
        (),
    ),
    (
        "move comments to other ticket",
        "WITH m AS (UPDATE ticket_comments SET ticket_id = $3 WHERE account_id = $1 AND ticket_id = $2 RETURNING id) SELECT count(*) FROM m",
        (5, 3),
    ),
    # ------------------------------------------------------------ INSERT SELECT RETURNING, UPDATE FROM VALUES, DELETE USING
    (
        "update from values",
        "UPDATE tickets t SET priority = v.p FROM (VALUES (3, 1), (4, 2)) AS v(id, p) WHERE t.account_id = $1 AND t.id = v.id RETURNING t.id, t.priority",
        (),
    ),
    (
        "update from values params",
        "UPDATE products p SET price_cents = v.price FROM (VALUES ($2::bigint, $3::int), ($4::bigint, $5::int)) AS v(id, price) WHERE p.account_id = $1 AND p.id = v.id",
        (71, 1, 70, 2),
    ),
    (
        "update from join",
        "UPDATE invoices i SET status = 'paid' FROM payments p WHERE i.account_id = $1 AND p.account_id = i.account_id AND p.invoice_id = i.id AND p.amount_cents >= i.total_cents RETURNING i.id",
        (),
    ),
    (
        "update from pinned table",
        "UPDATE tickets t SET assignee_id = u.id FROM users u WHERE t.account_id = $1 AND u.account_id = $1 AND u.email = $2 AND t.id = $3 RETURNING t.assignee_id",
        ("bob@acme.test", 5),
    ),
    (
        "update from subquery agg",
        "UPDATE invoices i SET total_cents = s.total FROM (SELECT invoice_id, sum(qty * unit_cents) AS total FROM invoice_lines WHERE account_id = $1 GROUP BY invoice_id) s WHERE i.account_id = $1 AND i.id = s.invoice_id RETURNING i.id, i.total_cents",
        (),
    ),
    (
        "update with correlated subquery",
        "UPDATE customers c SET tier = 'gold' WHERE c.account_id = $1 AND (SELECT sum(total_cents) FROM invoices i WHERE i.account_id = c.account_id AND i.customer_id = c.id) > 10000 RETURNING c.id",
        (),
    ),
    (
        "update set from subquery",
        "UPDATE tickets t SET subject = (SELECT c.name FROM customers c WHERE c.account_id = t.account_id AND c.id = t.customer_id) || ': ' || t.subject WHERE t.account_id = $1 AND t.id = $2 RETURNING subject",
        (3,),
    ),
    (
        "delete using",
        "DELETE FROM ticket_tags tt USING tags g WHERE tt.account_id = $1 AND g.account_id = tt.account_id AND g.id = tt.tag_id AND g.name = $2",
        ("vip",),
    ),
    (
        "delete using key only",
        "DELETE FROM ticket_tags tt USING tags g WHERE tt.account_id = $1 AND g.id = tt.tag_id AND g.name = $2 RETURNING tt.ticket_id",
        ("vip",),
    ),
    (
        "delete using values",
        "DELETE FROM daily_stats d USING (VALUES ('2026-01-02'::date, 'signups')) AS v(day, metric) WHERE d.account_id = $1 AND d.day = v.day AND d.metric = v.metric",
        (),
    ),
    (
        "delete using unnest",
        "DELETE FROM contacts c USING unnest($2::bigint[]) AS x(id) WHERE c.account_id = $1 AND c.id = x.id RETURNING c.id",
        ([1000, 2000],),
    ),
    (
        "delete exists",
        "DELETE FROM customers c WHERE c.account_id = $1 AND c.deleted_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.account_id = c.account_id AND i.customer_id = c.id) AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.account_id = c.account_id AND t.customer_id = c.id) AND NOT EXISTS (SELECT 1 FROM contacts x WHERE x.account_id = c.account_id AND x.customer_id = c.id) AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.account_id = c.account_id AND s.customer_id = c.id) RETURNING id",
        (),
    ),
    (
        "delete in subquery pinned",
        "DELETE FROM payments WHERE account_id = $1 AND invoice_id IN (SELECT id FROM invoices WHERE account_id = $1 AND status = 'open') RETURNING id",
        (),
    ),
    (
        "delete old events returning",
        "DELETE FROM events WHERE account_id = $1 AND occurred_at < $2 RETURNING id, name",
        (_dt.datetime(2026, 1, 2, 9, 30, tzinfo=_dt.UTC),),
    ),
    (
        "insert select returning join",
        "INSERT INTO ticket_comments (account_id, id, ticket_id, author_id, body, created_at) SELECT t.account_id, 60 + t.id, t.id, t.assignee_id, 'auto-close', '2026-03-01' FROM tickets t WHERE t.account_id = $1 AND t.status = 'open' AND t.assignee_id IS NOT NULL RETURNING id, ticket_id",
        (),
    ),
    (
        "insert values returning",
        "INSERT INTO tickets (account_id, id, customer_id, status, priority, subject, created_at) VALUES ($1, 10, $2, 'open', 1, 'a', '2026-03-01'), ($1, 11, $2, 'open', 1, 'b', '2026-03-01') RETURNING id",
        (101,),
    ),
    # ------------------------------------------------------------ subqueries, CTEs, set operations
    (
        "in subquery pinned",
        "SELECT name FROM customers WHERE account_id = $1 AND id IN (SELECT customer_id FROM invoices WHERE account_id = $1 AND status = 'open')",
        (),
    ),
    (
        "in subquery by key",
        "SELECT name FROM customers WHERE id IN (SELECT customer_id FROM invoices WHERE account_id = $1 AND status = 'open')",
        (),
    ),
    (
        "exists pinned",
        "SELECT c.id FROM customers c WHERE c.account_id = $1 AND EXISTS (SELECT 1 FROM tickets t WHERE t.account_id = $1 AND t.customer_id = c.id AND t.status = 'open')",
        (),
    ),
    (
        "not exists correlated",
        "SELECT u.id FROM users u WHERE u.account_id = $1 AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.account_id = u.account_id AND t.assignee_id = u.id)",
        (),
    ),
    (
        "scalar count",
        "SELECT c.id, (SELECT count(*) FROM tickets t WHERE t.account_id = c.account_id AND t.customer_id = c.id) AS n FROM customers c WHERE c.account_id = $1",
        (),
    ),
    (
        "scalar max",
        "SELECT u.id, (SELECT max(e.occurred_at) FROM events e WHERE e.account_id = u.account_id AND e.user_id = u.id) FROM users u WHERE u.account_id = $1",
        (),
    ),
    (
        "cte simple",
        "WITH open_t AS (SELECT id, customer_id FROM tickets WHERE account_id = $1 AND status = 'open') SELECT count(*) FROM open_t",
        (),
    ),
    (
        "cte join customer",
        "WITH open_t AS (SELECT account_id, customer_id FROM tickets WHERE account_id = $1 AND status = 'open') SELECT c.name FROM customers c JOIN open_t o ON o.account_id = c.account_id AND o.customer_id = c.id",
        (),
    ),
    (
        "cte renamed columns",
        "WITH c(cid, cname) AS (SELECT id, name FROM customers WHERE account_id = $1) SELECT cname FROM c ORDER BY cid",
        (),
    ),
    (
        "cte renamed tenant column",
        "WITH t(acc, tid) AS (SELECT account_id, id FROM tickets WHERE account_id = $1) SELECT tid FROM t WHERE acc = $1",
        (),
    ),
    (
        "cte renamed key join",
        "WITH o(cust, n) AS (SELECT customer_id, count(*) FROM invoices WHERE account_id = $1 GROUP BY customer_id) SELECT c.name, o.n FROM o JOIN customers c ON c.id = o.cust",
        (),
    ),
    (
        "cte renamed tenant join",
        "WITH o(acc, cust) AS (SELECT account_id, customer_id FROM invoices WHERE account_id = $1) SELECT c.name FROM o JOIN customers c ON c.account_id = o.acc AND c.id = o.cust",
        (),
    ),
    (
        "derived renamed columns",
        "SELECT x.a FROM (SELECT id, name FROM customers WHERE account_id = $1) AS x(a, b) ORDER BY x.a",
        (),
    ),
    (
        "cte two levels",
        "WITH a AS (SELECT * FROM invoices WHERE account_id = $1), b AS (SELECT customer_id, sum(total_cents) AS s FROM a GROUP BY customer_id) SELECT * FROM b ORDER BY customer_id",
        (),
    ),
    (
        "cte materialized",
        "WITH t AS MATERIALIZED (SELECT id, priority FROM tickets WHERE account_id = $1) SELECT max(priority) FROM t",
        (),
    ),
    (
        "union all pinned",
        "SELECT id, 'invoice' AS kind FROM invoices WHERE account_id = $1 UNION ALL SELECT id, 'payment' FROM payments WHERE account_id = $1 ORDER BY id",
        (),
    ),
    (
        "union activity feed",
        "SELECT created_at AS at, 'ticket' AS kind, id FROM tickets WHERE account_id = $1 UNION ALL SELECT created_at, 'comment', id FROM ticket_comments WHERE account_id = $1 ORDER BY at DESC LIMIT 5",
        (),
    ),
    (
        "except",
        "SELECT email FROM import_rows WHERE account_id = $1 EXCEPT SELECT email FROM users WHERE account_id = $1",
        (),
    ),
    (
        "intersect",
        "SELECT customer_id FROM invoices WHERE account_id = $1 INTERSECT SELECT customer_id FROM tickets WHERE account_id = $1",
        (),
    ),
    (
        "union in derived",
        "SELECT kind, count(*) FROM (SELECT 'c' AS kind FROM customers WHERE account_id = $1 UNION ALL SELECT 'u' FROM users WHERE account_id = $1) x GROUP BY kind ORDER BY kind",
        (),
    ),
    (
        "values join",
        "SELECT v.s, count(t.id) FROM (VALUES ('open'), ('closed'), ('pending')) AS v(s) LEFT JOIN tickets t ON t.account_id = $1 AND t.status = v.s GROUP BY v.s ORDER BY v.s",
        (),
    ),
    (
        "case expression",
        "SELECT id, CASE WHEN priority = 1 THEN 'high' WHEN priority = 2 THEN 'mid' ELSE 'low' END FROM tickets WHERE account_id = $1",
        (),
    ),
    (
        "coalesce nullif",
        "SELECT id, coalesce(nullif(email, ''), 'none') FROM customers WHERE account_id = $1",
        (),
    ),
    (
        "between dates",
        "SELECT id FROM invoices WHERE account_id = $1 AND issued_on BETWEEN $2 AND $3",
        (D(2026, 1, 1), D(2026, 1, 10)),
    ),
    (
        "interval math",
        "SELECT id FROM invoices WHERE account_id = $1 AND due_on < '2026-03-01'::date - interval '7 days' AND status = 'open'",
        (),
    ),
    (
        "extract",
        "SELECT extract(dow FROM occurred_at) AS dow, count(*) FROM events WHERE account_id = $1 GROUP BY 1 ORDER BY 1",
        (),
    ),
    (
        "tenant pinned by literal",
        "SELECT id FROM tickets WHERE account_id = 1 AND $1::bigint = 1",
        (),
    ),
    ("tenant pinned reversed", "SELECT id FROM tickets WHERE $1 = account_id ORDER BY id", ()),
    (
        "tenant pinned via in list",
        "SELECT id FROM tickets WHERE account_id IN ($1) ORDER BY id",
        (),
    ),
    (
        "tenant pinned via any single",
        "SELECT id FROM tickets WHERE account_id = ANY(ARRAY[$1]::bigint[]) ORDER BY id",
        (),
    ),
    (
        "tenant pinned by setting",
        "SELECT id FROM tickets WHERE account_id = current_setting('app.account')::bigint AND $1::bigint > 0",
        (),
    ),
    (
        "or inside pinned",
        "SELECT id FROM tickets WHERE account_id = $1 AND (status = 'open' OR priority = 1)",
        (),
    ),
    (
        "pinned in both or branches",
        "SELECT id FROM tickets WHERE (account_id = $1 AND status = 'open') OR (account_id = $1 AND priority = 3)",
        (),
    ),
    (
        "not in pinned",
        "SELECT id FROM tickets WHERE account_id = $1 AND customer_id NOT IN (SELECT customer_id FROM invoices WHERE account_id = $1)",
        (),
    ),
    (
        "any subquery",
        "SELECT id FROM tickets WHERE account_id = $1 AND customer_id = ANY (SELECT id FROM customers WHERE account_id = $1 AND tier = 'gold')",
        (),
    ),
    (
        "all subquery",
        "SELECT id FROM products WHERE account_id = $1 AND price_cents >= ALL (SELECT price_cents FROM products WHERE account_id = $1)",
        (),
    ),
    (
        "exists over global",
        "SELECT a.name FROM accounts a WHERE a.id = $1 AND EXISTS (SELECT 1 FROM plans p WHERE p.id = a.plan_id AND p.price_cents > 0)",
        (),
    ),
    (
        "count over accounts pinned",
        "SELECT (SELECT count(*) FROM users WHERE account_id = a.id) FROM accounts a WHERE a.id = $1",
        (),
    ),
    (
        "cross join lateral unnest",
        "SELECT t.id, tag FROM tickets t CROSS JOIN LATERAL unnest(t.tags) AS tag WHERE t.account_id = $1 ORDER BY 1, 2",
        (),
    ),
    (
        "unnest with ordinality",
        "SELECT t.id, x.tag, x.n FROM tickets t, unnest(t.tags) WITH ORDINALITY AS x(tag, n) WHERE t.account_id = $1",
        (),
    ),
    (
        "group by having subquery",
        "SELECT customer_id FROM invoices WHERE account_id = $1 GROUP BY customer_id HAVING sum(total_cents) > (SELECT avg(total_cents) FROM invoices WHERE account_id = $1)",
        (),
    ),
    (
        "order by subquery",
        "SELECT c.id FROM customers c WHERE c.account_id = $1 ORDER BY (SELECT count(*) FROM tickets t WHERE t.account_id = c.account_id AND t.customer_id = c.id) DESC, c.id",
        (),
    ),
    (
        "select for update",
        "SELECT id, stock FROM products WHERE account_id = $1 AND id = $2 FOR UPDATE",
        (71,),
    ),
    (
        "select for share of",
        "SELECT i.id FROM invoices i JOIN customers c ON c.account_id = i.account_id AND c.id = i.customer_id WHERE i.account_id = $1 FOR SHARE OF i",
        (),
    ),
    (
        "exists as boolean",
        "SELECT EXISTS (SELECT 1 FROM users WHERE account_id = $1 AND email = $2)",
        ("ann@acme.test",),
    ),
    (
        "count as scalar",
        "SELECT (SELECT count(*) FROM tickets WHERE account_id = $1) AS tickets, (SELECT count(*) FROM customers WHERE account_id = $1) AS customers",
        (),
    ),
    (
        "dashboard ctes",
        "WITH t AS (SELECT count(*) AS n FROM tickets WHERE account_id = $1 AND status = 'open'), i AS (SELECT coalesce(sum(total_cents), 0) AS s FROM invoices WHERE account_id = $1 AND status = 'open') SELECT t.n, i.s FROM t, i",
        (),
    ),
    (
        "window over join",
        "SELECT c.name, i.number, sum(i.total_cents) OVER (PARTITION BY c.id) FROM invoices i JOIN customers c ON c.account_id = i.account_id AND c.id = i.customer_id WHERE i.account_id = $1",
        (),
    ),
    (
        "lateral generate",
        "SELECT s.id, d::date FROM subscriptions s CROSS JOIN LATERAL generate_series(s.started_on, coalesce(s.ends_on, '2025-09-01'::date), interval '1 month') d WHERE s.account_id = $1 AND s.id = $2",
        (701,),
    ),
    (
        "exists twice",
        "SELECT t.id FROM tickets t WHERE t.account_id = $1 AND EXISTS (SELECT 1 FROM ticket_comments c WHERE c.account_id = t.account_id AND c.ticket_id = t.id) AND NOT EXISTS (SELECT 1 FROM ticket_tags tt WHERE tt.account_id = t.account_id AND tt.ticket_id = t.id)",
        (),
    ),
    (
        "users by ids",
        "SELECT id, name FROM users WHERE account_id = $1 AND id = ANY($2::bigint[]) ORDER BY array_position($2::bigint[], id)",
        ([12, 11, 20],),
    ),
    (
        "audit actor join single key pinned",
        "SELECT a.action, u.name FROM audit_log a JOIN users u ON u.account_id = a.account_id AND u.id = a.actor_id WHERE a.account_id = $1 ORDER BY a.id",
        (),
    ),
    (
        "audit with actor both pinned",
        "SELECT a.action, u.email FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id AND u.account_id = $1 WHERE a.account_id = $1",
        (),
    ),
    (
        "update returning old via cte",
        "WITH old AS (SELECT id, status FROM tickets WHERE account_id = $1 AND id = $2 FOR UPDATE) UPDATE tickets t SET status = 'pending' FROM old WHERE t.account_id = $1 AND t.id = old.id RETURNING old.status, t.status",
        (3,),
    ),
    (
        "insert on conflict where",
        "INSERT INTO products (account_id, id, sku, name, price_cents) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, sku) DO UPDATE SET price_cents = EXCLUDED.price_cents WHERE products.price_cents <> EXCLUDED.price_cents RETURNING id",
        (76, "A-1", "Laptop", 91000),
    ),
    (
        "upsert on id conflict pinned",
        "INSERT INTO daily_stats (account_id, day, metric, value) VALUES ($1, '2026-01-03', 'signups', 5) ON CONFLICT (account_id, day, metric) DO UPDATE SET value = greatest(daily_stats.value, EXCLUDED.value)",
        (),
    ),
    (
        "ticket count by customer tier",
        "SELECT c.tier, count(t.id) FROM customers c LEFT JOIN tickets t ON t.customer_id = c.id AND t.account_id = c.account_id WHERE c.account_id = $1 GROUP BY c.tier ORDER BY c.tier",
        (),
    ),
    (
        "distinct on with join",
        "SELECT DISTINCT ON (c.id) c.id, i.number FROM customers c JOIN invoices i ON i.account_id = c.account_id AND i.customer_id = c.id WHERE c.account_id = $1 ORDER BY c.id, i.issued_on DESC",
        (),
    ),
    (
        "lateral latest subscription",
        "SELECT c.id, s.status FROM customers c LEFT JOIN LATERAL (SELECT status FROM subscriptions s WHERE s.account_id = $1 AND s.customer_id = c.id ORDER BY started_on DESC LIMIT 1) s ON true WHERE c.account_id = $1",
        (),
    ),
    (
        "search users of role",
        "SELECT id FROM users WHERE account_id = $1 AND role = $2 AND deleted_at IS NULL",
        ("agent",),
    ),
    (
        "cte renamed unnest import",
        "WITH incoming(email, name) AS (SELECT * FROM unnest($2::text[], $3::text[])) SELECT i.email FROM incoming i LEFT JOIN users u ON u.account_id = $1 AND u.email = i.email WHERE u.id IS NULL",
        (["ann@acme.test", "x@acme.test"], ["Ann", "X"]),
    ),
    (
        "keyset lateral page",
        "SELECT t.id FROM tickets t WHERE t.account_id = $1 AND t.id > coalesce((SELECT max(id) FROM ticket_comments WHERE account_id = $1 AND ticket_id = $2), 0) ORDER BY t.id LIMIT 3",
        (3,),
    ),
    # round 34 (found by hand after the corpus): a key through a CTE in a semi-join, a recursive
    # CTE's column list
    (
        "semi-join of a cte key",
        "WITH c AS (SELECT customer_id FROM tickets WHERE account_id = $1 AND status = 'open') "
        "SELECT cu.name FROM customers cu WHERE cu.id IN (SELECT customer_id FROM c)",
        (),
    ),
    (
        "semi-join of a renamed cte key",
        "WITH c(y) AS (SELECT customer_id FROM invoices WHERE account_id = $1) "
        "SELECT cu.name FROM customers cu WHERE cu.id = ANY (SELECT y FROM c)",
        (),
    ),
    (
        "recursive tree with a column list",
        "WITH RECURSIVE tree(cid, nm) AS (SELECT id, name FROM categories WHERE account_id = $1 "
        "AND id = $2 UNION ALL SELECT c.id, c.name FROM categories c JOIN tree t ON c.parent_id "
        "= t.cid) SELECT nm FROM tree ORDER BY nm",
        (61,),
    ),
    (
        "referencing rows by a semi-join on the key",
        "SELECT t.id FROM tickets t WHERE t.customer_id IN (SELECT id FROM customers "
        "WHERE account_id = $1 AND tier = 'gold') ORDER BY t.id",
        (),
    ),
    (
        "delete referencing rows by a semi-join on the key",
        "DELETE FROM contacts WHERE customer_id IN (SELECT id FROM customers WHERE account_id = "
        "$1 AND deleted_at IS NOT NULL) RETURNING id",
        (),
    ),
    (
        "batched delete ctid = any subquery",
        "DELETE FROM events WHERE ctid = ANY (SELECT ctid FROM events WHERE account_id = $1 "
        "AND name = 'click' LIMIT 100) RETURNING id",
        (),
    ),
    (
        "move imports into users by a star",
        "WITH moved AS (DELETE FROM import_rows WHERE account_id = $1 AND NOT processed AND "
        "email LIKE 'new%' RETURNING account_id, id, email, name) INSERT INTO users (account_id, "
        "id, email, name) SELECT * FROM moved RETURNING id",
        (),
    ),
]
