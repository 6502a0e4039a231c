"""Round 36, helper B: 120 SAFE statements of a dental-clinic CRM (patients, appointments,
treatments, invoices, staff schedules, reminders, reports), in styles the earlier safe corpora
(tests/h34B_corpus.py, tests/h35B_corpus.py) did not cover: window frames and FILTER, calendars of
generate_series joined to tenant rows, keyset pagination, full-text search, jsonb_agg nesting,
recursive CTEs (referrals, the staff chart), upserts on partial unique indexes, soft deletes,
audit rows by writable CTEs, MERGE imports, LATERAL top-N, DISTINCT ON, anti-joins, bulk writes
of unnest($2::int[], $3::text[]). Checked on PostgreSQL 15 by tests/proof/test_h36B_proof.py:
the same rows and the same changes as superuser (with $1 = clinic 1) and as a non-owner role
under FORCE ROW LEVEL SECURITY (`clinic_id = current_setting('app.clinic')::bigint`)."""

from __future__ import annotations

import datetime as _dt

SCHEMA = """
CREATE TABLE procedure_codes (code text PRIMARY KEY, name text NOT NULL, base_cents int NOT NULL);
CREATE TABLE clinics (id bigint PRIMARY KEY, name text NOT NULL, tz text NOT NULL DEFAULT 'UTC');
CREATE TABLE staff (clinic_id bigint NOT NULL REFERENCES clinics (id), id bigint PRIMARY KEY,
  name text NOT NULL, role text NOT NULL, manager_id bigint, active boolean NOT NULL DEFAULT true,
  UNIQUE (clinic_id, id), FOREIGN KEY (clinic_id, manager_id) REFERENCES staff (clinic_id, id));
CREATE TABLE patients (clinic_id bigint NOT NULL REFERENCES clinics (id), id bigint PRIMARY KEY,
  name text NOT NULL, email text, phone text, birth_date date, referred_by bigint,
  tags text[] NOT NULL DEFAULT '{}', prefs jsonb NOT NULL DEFAULT '{}', deleted_at timestamptz,
  search tsvector GENERATED ALWAYS AS (to_tsvector('simple', name || ' ' || coalesce(email, ''))) STORED,
  UNIQUE (clinic_id, id), FOREIGN KEY (clinic_id, referred_by) REFERENCES patients (clinic_id, id));
CREATE UNIQUE INDEX patients_live_email ON patients (clinic_id, email) WHERE deleted_at IS NULL;
CREATE TABLE appointments (clinic_id bigint NOT NULL, id bigint PRIMARY KEY,
  patient_id bigint NOT NULL, staff_id bigint NOT NULL, starts_at timestamptz NOT NULL,
  minutes int NOT NULL DEFAULT 30, status text NOT NULL DEFAULT 'booked', deleted_at timestamptz,
  UNIQUE (clinic_id, id),
  FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id),
  FOREIGN KEY (clinic_id, staff_id) REFERENCES staff (clinic_id, id));
CREATE TABLE treatments (clinic_id bigint NOT NULL, id bigint PRIMARY KEY,
  appointment_id bigint NOT NULL, code text NOT NULL REFERENCES procedure_codes (code),
  tooth int, price_cents int NOT NULL, notes text,
  UNIQUE (clinic_id, id),
  FOREIGN KEY (clinic_id, appointment_id) REFERENCES appointments (clinic_id, id) ON DELETE CASCADE);
CREATE TABLE invoices (clinic_id bigint NOT NULL, id bigint PRIMARY KEY, patient_id bigint NOT NULL,
  number text NOT NULL, status text NOT NULL, total_cents int NOT NULL, issued_on date NOT NULL,
  paid_on date, UNIQUE (clinic_id, id), UNIQUE (clinic_id, number),
  FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id));
CREATE TABLE invoice_items (clinic_id bigint NOT NULL, invoice_id bigint NOT NULL,
  treatment_id bigint NOT NULL, cents int NOT NULL, PRIMARY KEY (clinic_id, invoice_id, treatment_id),
  FOREIGN KEY (clinic_id, invoice_id) REFERENCES invoices (clinic_id, id) ON DELETE CASCADE,
  FOREIGN KEY (clinic_id, treatment_id) REFERENCES treatments (clinic_id, id));
CREATE TABLE schedules (clinic_id bigint NOT NULL, staff_id bigint NOT NULL, weekday int NOT NULL,
  opens time NOT NULL, closes time NOT NULL, PRIMARY KEY (clinic_id, staff_id, weekday),
  FOREIGN KEY (clinic_id, staff_id) REFERENCES staff (clinic_id, id));
CREATE TABLE reminders (clinic_id bigint NOT NULL, id bigint PRIMARY KEY, appointment_id bigint NOT NULL,
  channel text NOT NULL, send_at timestamptz NOT NULL, sent_at timestamptz,
  UNIQUE (clinic_id, appointment_id, channel),
  FOREIGN KEY (clinic_id, appointment_id) REFERENCES appointments (clinic_id, id) ON DELETE CASCADE);
CREATE TABLE clinical_notes (clinic_id bigint NOT NULL, id bigint PRIMARY KEY, patient_id bigint NOT NULL,
  author_id bigint NOT NULL, body text NOT NULL, written_at timestamptz NOT NULL,
  FOREIGN KEY (clinic_id, patient_id) REFERENCES patients (clinic_id, id),
  FOREIGN KEY (clinic_id, author_id) REFERENCES staff (clinic_id, id));
CREATE TABLE audit (clinic_id bigint NOT NULL, id bigserial PRIMARY KEY, action text NOT NULL,
  detail jsonb NOT NULL DEFAULT '{}');
CREATE TABLE patient_imports (clinic_id bigint NOT NULL, batch int NOT NULL, ext_id bigint NOT NULL,
  name text NOT NULL, email text, PRIMARY KEY (clinic_id, batch, ext_id));
"""

DATA = """
INSERT INTO procedure_codes VALUES ('D0120', 'Periodic exam', 5000), ('D1110', 'Cleaning', 9000),
  ('D2391', 'Composite filling', 15000), ('D3310', 'Root canal', 80000);
INSERT INTO clinics VALUES (1, 'Smile Dental', 'Europe/Madrid'), (2, 'Other Dental', 'UTC');
INSERT INTO staff VALUES (1, 10, 'Dr Ana', 'dentist', NULL, true), (1, 11, 'Dr Bo', 'dentist', 10, true),
  (1, 12, 'Hygienist Cy', 'hygienist', 11, true), (1, 13, 'Desk Di', 'reception', 10, false),
  (2, 20, 'Dr Eve', 'dentist', NULL, true), (2, 21, 'Dr Fay', 'hygienist', 20, true);
INSERT INTO patients (clinic_id, id, name, email, phone, birth_date, referred_by, tags, prefs, deleted_at) VALUES
  (1, 100, 'Maria Lopez', 'maria@x.test', '555-1', '1980-02-01', NULL, '{vip}', '{"sms": true, "lang": "es"}', NULL),
  (1, 101, 'John Smith', 'john@x.test', '555-2', '1975-06-10', 100, '{}', '{"sms": false}', NULL),
  (1, 102, 'Lucy Smith', 'lucy@x.test', NULL, '2010-09-09', 101, '{child}', '{}', NULL),
  (1, 103, 'Old Gone', 'gone@x.test', NULL, NULL, NULL, '{}', '{}', '2026-01-05'),
  (1, 104, 'Pedro Diaz', NULL, '555-4', '1990-12-24', 100, '{}', '{"lang": "es"}', NULL),
  (2, 200, 'Maria Other', 'maria@x.test', '555-9', '1981-01-01', NULL, '{vip}', '{"sms": true}', NULL),
  (2, 201, 'Smith Other', 'smith@y.test', NULL, NULL, 200, '{}', '{}', NULL);
INSERT INTO appointments VALUES
  (1, 1000, 100, 10, '2026-03-02 09:00+00', 30, 'done', NULL),
  (1, 1001, 101, 11, '2026-03-02 10:00+00', 60, 'done', NULL),
  (1, 1002, 102, 12, '2026-03-03 09:30+00', 30, 'no_show', NULL),
  (1, 1003, 100, 11, '2026-03-09 11:00+00', 45, 'booked', NULL),
  (1, 1004, 104, 10, '2026-03-10 15:00+00', 30, 'cancelled', '2026-03-01'),
  (1, 1005, 101, 10, '2026-03-16 08:00+00', 30, 'booked', NULL),
  (2, 2000, 200, 20, '2026-03-02 09:00+00', 30, 'done', NULL),
  (2, 2001, 201, 21, '2026-03-04 12:00+00', 30, 'booked', NULL);
INSERT INTO treatments VALUES (1, 5000, 1000, 'D0120', NULL, 5000, 'ok'),
  (1, 5001, 1000, 'D1110', NULL, 9000, NULL), (1, 5002, 1001, 'D2391', 14, 15000, 'upper left'),
  (1, 5003, 1001, 'D3310', 14, 80000, 'root canal'), (1, 5004, 1003, 'D0120', NULL, 5000, NULL),
  (2, 6000, 2000, 'D3310', 30, 90000, 'theirs');
INSERT INTO invoices VALUES (1, 700, 100, 'INV-001', 'paid', 14000, '2026-03-02', '2026-03-05'),
  (1, 701, 101, 'INV-002', 'open', 95000, '2026-03-02', NULL),
  (1, 702, 104, 'INV-003', 'void', 0, '2026-03-10', NULL),
  (2, 800, 200, 'INV-001', 'open', 90000, '2026-03-02', NULL);
INSERT INTO invoice_items VALUES (1, 700, 5000, 5000), (1, 700, 5001, 9000), (1, 701, 5002, 15000),
  (1, 701, 5003, 80000), (2, 800, 6000, 90000);
INSERT INTO schedules VALUES (1, 10, 1, '08:00', '14:00'), (1, 10, 2, '08:00', '14:00'),
  (1, 11, 1, '10:00', '18:00'), (1, 12, 2, '09:00', '13:00'), (2, 20, 1, '09:00', '17:00');
INSERT INTO reminders VALUES (1, 900, 1003, 'sms', '2026-03-08 11:00+00', NULL),
  (1, 901, 1003, 'email', '2026-03-07 11:00+00', '2026-03-07 11:01+00'),
  (1, 902, 1005, 'sms', '2026-03-15 08:00+00', NULL), (2, 990, 2001, 'sms', '2026-03-03 12:00+00', NULL);
INSERT INTO clinical_notes VALUES (1, 300, 100, 10, 'Sensitive upper molar, recommend fluoride', '2026-03-02 09:20+00'),
  (1, 301, 101, 11, 'Root canal started on tooth 14', '2026-03-02 10:50+00'),
  (1, 302, 101, 11, 'Follow-up: root canal healing well', '2026-03-09 10:00+00'),
  (2, 390, 200, 20, 'Root canal other clinic molar', '2026-03-02 09:20+00');
INSERT INTO audit (clinic_id, action, detail) VALUES (1, 'login', '{"staff": 10}'), (2, 'login', '{"staff": 20}');
INSERT INTO patient_imports VALUES (1, 7, 100, 'Maria Lopez', 'maria@x.test'),
  (1, 7, 105, 'New Patient', 'new@x.test'), (1, 7, 106, 'Another New', NULL), (2, 7, 100, 'Theirs', 'x@y.test');
"""

TENANT_TABLES = [
    "staff",
    "patients",
    "appointments",
    "treatments",
    "invoices",
    "invoice_items",
    "schedules",
    "reminders",
    "clinical_notes",
    "audit",
    "patient_imports",
]
ALL_TABLES = ["procedure_codes", "clinics", *TENANT_TABLES]
ROLE = "h36b_app"


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
            "USING (clinic_id = current_setting('app.clinic')::bigint);",
        ]
    return "\n".join(lines)


D = _dt.date
T = _dt.datetime
UTC = _dt.UTC
MAR = T(2026, 3, 1, tzinfo=UTC)
APR = T(2026, 4, 1, tzinfo=UTC)

# (name, sql, the arguments after $1); $1 is always the clinic
Case = tuple[str, str, tuple[object, ...]]
CORPUS: list[Case] = [
    # ------------------------------------------------------------ window frames and FILTER
    (
        "running revenue by issue day",
        "SELECT issued_on, sum(total_cents) OVER (ORDER BY issued_on ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running FROM invoices WHERE clinic_id = $1",
        (),
    ),
    (
        "moving average of treatment prices",
        "SELECT id, avg(price_cents) OVER (ORDER BY id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM treatments WHERE clinic_id = $1",
        (),
    ),
    (
        "range frame over appointment times",
        "SELECT id, count(*) OVER (ORDER BY starts_at RANGE BETWEEN interval '1 day' PRECEDING AND CURRENT ROW) FROM appointments WHERE clinic_id = $1 AND deleted_at IS NULL",
        (),
    ),
    (
        "rank dentists by revenue",
        "SELECT a.staff_id, sum(t.price_cents) AS cents, rank() OVER (ORDER BY sum(t.price_cents) DESC) FROM appointments a JOIN treatments t ON t.clinic_id = a.clinic_id AND t.appointment_id = a.id WHERE a.clinic_id = $1 GROUP BY a.staff_id",
        (),
    ),
    (
        "visit number per patient",
        "SELECT patient_id, id, row_number() OVER (PARTITION BY patient_id ORDER BY starts_at) AS visit_no FROM appointments WHERE clinic_id = $1",
        (),
    ),
    (
        "gap since previous visit",
        "SELECT patient_id, starts_at, starts_at - lag(starts_at) OVER w AS gap FROM appointments WHERE clinic_id = $1 WINDOW w AS (PARTITION BY patient_id ORDER BY starts_at)",
        (),
    ),
    (
        "next appointment per patient via lead",
        "SELECT id, lead(starts_at) OVER (PARTITION BY patient_id ORDER BY starts_at) FROM appointments WHERE clinic_id = $1 AND status <> 'cancelled'",
        (),
    ),
    (
        "share of clinic revenue",
        "SELECT code, sum(price_cents) * 100.0 / sum(sum(price_cents)) OVER () AS pct FROM treatments WHERE clinic_id = $1 GROUP BY code",
        (),
    ),
    (
        "status counts with FILTER",
        "SELECT count(*) FILTER (WHERE status = 'done') AS done, count(*) FILTER (WHERE status = 'no_show') AS no_shows, count(*) FILTER (WHERE status = 'booked') AS booked FROM appointments WHERE clinic_id = $1",
        (),
    ),
    (
        "no-show rate per dentist",
        "SELECT staff_id, round(count(*) FILTER (WHERE status = 'no_show')::numeric / count(*), 2) FROM appointments WHERE clinic_id = $1 GROUP BY staff_id",
        (),
    ),
    (
        "invoice aging buckets",
        "SELECT count(*) FILTER (WHERE $2::date - issued_on <= 30) AS current, count(*) FILTER (WHERE $2::date - issued_on > 30) AS late, sum(total_cents) FILTER (WHERE status = 'open') AS open_cents FROM invoices WHERE clinic_id = $1",
        (D(2026, 4, 20),),
    ),
    (
        "first and last value in frame",
        "SELECT DISTINCT patient_id, first_value(starts_at) OVER w, last_value(starts_at) OVER w FROM appointments WHERE clinic_id = $1 WINDOW w AS (PARTITION BY patient_id ORDER BY starts_at ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)",
        (),
    ),
    (
        "ntile of patients by spend",
        "SELECT patient_id, ntile(3) OVER (ORDER BY sum(total_cents)) FROM invoices WHERE clinic_id = $1 GROUP BY patient_id",
        (),
    ),
    (
        "percentile of treatment price",
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY price_cents), percentile_disc(0.9) WITHIN GROUP (ORDER BY price_cents) FROM treatments WHERE clinic_id = $1",
        (),
    ),
    (
        "mode of procedure",
        "SELECT mode() WITHIN GROUP (ORDER BY code) FROM treatments WHERE clinic_id = $1",
        (),
    ),
    (
        "cumulative count FILTER in window",
        "SELECT id, count(*) FILTER (WHERE status = 'done') OVER (ORDER BY starts_at) FROM appointments WHERE clinic_id = $1",
        (),
    ),
    # ------------------------------------------------------------ calendars
    (
        "appointments per day of March",
        "SELECT d::date, count(a.id) FROM generate_series($2::timestamptz, $3::timestamptz - interval '1 day', interval '1 day') d LEFT JOIN appointments a ON a.clinic_id = $1 AND a.starts_at >= d AND a.starts_at < d + interval '1 day' GROUP BY d ORDER BY d",
        (
            MAR,
            APR,
        ),
    ),
    (
        "weekly bookings with date_trunc",
        "SELECT date_trunc('week', starts_at) AS wk, count(*) FROM appointments WHERE clinic_id = $1 AND starts_at >= $2 AND starts_at < $3 GROUP BY 1 ORDER BY 1",
        (
            MAR,
            APR,
        ),
    ),
    (
        "monthly revenue calendar",
        "SELECT m::date, coalesce(sum(i.total_cents), 0) FROM generate_series(date '2026-01-01', date '2026-04-01', interval '1 month') m LEFT JOIN invoices i ON i.clinic_id = $1 AND date_trunc('month', i.issued_on) = m GROUP BY m ORDER BY m",
        (),
    ),
    (
        "free slots of a dentist",
        "SELECT s FROM generate_series($2::timestamptz, $2::timestamptz + interval '5 hours', interval '30 minutes') s WHERE NOT EXISTS (SELECT 1 FROM appointments a WHERE a.clinic_id = $1 AND a.staff_id = $3 AND a.deleted_at IS NULL AND s >= a.starts_at AND s < a.starts_at + a.minutes * interval '1 minute')",
        (
            T(2026, 3, 2, 8, 0, tzinfo=UTC),
            10,
        ),
    ),
    (
        "staff working days from schedules",
        "SELECT st.name, array_agg(sc.weekday ORDER BY sc.weekday) FROM staff st JOIN schedules sc ON sc.clinic_id = st.clinic_id AND sc.staff_id = st.id WHERE st.clinic_id = $1 GROUP BY st.name",
        (),
    ),
    (
        "hours scheduled per weekday",
        "SELECT g.wd, coalesce(sum(extract(epoch FROM sc.closes - sc.opens) / 3600), 0) FROM generate_series(0, 6) AS g(wd) LEFT JOIN schedules sc ON sc.clinic_id = $1 AND sc.weekday = g.wd GROUP BY g.wd ORDER BY g.wd",
        (),
    ),
    (
        "busy hours heatmap",
        "SELECT extract(isodow FROM starts_at) AS dow, extract(hour FROM starts_at) AS h, count(*) FROM appointments WHERE clinic_id = $1 GROUP BY 1, 2",
        (),
    ),
    (
        "appointments in clinic time zone",
        "SELECT a.id, a.starts_at AT TIME ZONE c.tz FROM appointments a JOIN clinics c ON c.id = a.clinic_id WHERE a.clinic_id = $1",
        (),
    ),
    (
        "days without appointments",
        "SELECT d::date FROM generate_series($2::date, $3::date, '1 day') d EXCEPT SELECT starts_at::date FROM appointments WHERE clinic_id = $1",
        (
            D(2026, 3, 1),
            D(2026, 3, 10),
        ),
    ),
    (
        "scheduled opening on a date",
        "SELECT sc.staff_id, sc.opens, sc.closes FROM schedules sc WHERE sc.clinic_id = $1 AND sc.weekday = extract(dow FROM $2::date)::int",
        (D(2026, 3, 2),),
    ),
    # ------------------------------------------------------------ keyset pagination
    (
        "patients page by name keyset",
        "SELECT id, name FROM patients WHERE clinic_id = $1 AND deleted_at IS NULL AND (name, id) > ($2, $3) ORDER BY name, id LIMIT 2",
        (
            "John Smith",
            101,
        ),
    ),
    (
        "appointments page descending keyset",
        "SELECT id, starts_at FROM appointments WHERE clinic_id = $1 AND (starts_at, id) < ($2, $3) ORDER BY starts_at DESC, id DESC LIMIT 3",
        (
            T(2026, 3, 10, tzinfo=UTC),
            9999,
        ),
    ),
    (
        "invoices page by number",
        "SELECT id, number FROM invoices WHERE clinic_id = $1 AND number > $2 ORDER BY number LIMIT 10",
        ("INV-001",),
    ),
    (
        "notes page keyset with id tiebreak",
        "SELECT id, written_at FROM clinical_notes WHERE clinic_id = $1 AND patient_id = $2 AND (written_at < $3 OR (written_at = $3 AND id < $4)) ORDER BY written_at DESC, id DESC LIMIT 20",
        (
            101,
            T(2026, 4, 1, tzinfo=UTC),
            0,
        ),
    ),
    (
        "keyset total beside the page",
        "SELECT id, name, count(*) OVER () AS total FROM patients WHERE clinic_id = $1 AND id > $2 ORDER BY id LIMIT 2",
        (100,),
    ),
    # ------------------------------------------------------------ full-text search
    (
        "search patients by generated tsvector",
        "SELECT id, name FROM patients WHERE clinic_id = $1 AND search @@ websearch_to_tsquery('simple', $2)",
        ("smith",),
    ),
    (
        "search notes websearch",
        "SELECT id FROM clinical_notes WHERE clinic_id = $1 AND to_tsvector('english', body) @@ websearch_to_tsquery('english', $2)",
        ("root canal -molar",),
    ),
    (
        "ranked note search",
        "SELECT id, ts_rank(to_tsvector('english', body), q) AS r FROM clinical_notes, websearch_to_tsquery('english', $2) q WHERE clinic_id = $1 AND to_tsvector('english', body) @@ q ORDER BY r DESC, id",
        ("root canal",),
    ),
    (
        "headline of matching notes",
        "SELECT id, ts_headline('english', body, plainto_tsquery('english', $2)) FROM clinical_notes WHERE clinic_id = $1 AND to_tsvector('english', body) @@ plainto_tsquery('english', $2)",
        ("molar",),
    ),
    (
        "prefix search with to_tsquery",
        "SELECT id FROM patients WHERE clinic_id = $1 AND search @@ to_tsquery('simple', $2 || ':*')",
        ("mar",),
    ),
    (
        "search treatments and notes union",
        "SELECT 'note' AS kind, id FROM clinical_notes WHERE clinic_id = $1 AND body ILIKE '%' || $2 || '%' UNION ALL SELECT 'treatment', id FROM treatments WHERE clinic_id = $1 AND notes ILIKE '%' || $2 || '%'",
        ("root",),
    ),
    (
        "phrase search",
        "SELECT id FROM clinical_notes WHERE clinic_id = $1 AND to_tsvector('english', body) @@ phraseto_tsquery('english', $2)",
        ("root canal",),
    ),
    # ------------------------------------------------------------ jsonb nesting
    (
        "patient card json",
        "SELECT json_build_object('id', p.id, 'name', p.name, 'appointments', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', a.id, 'at', a.starts_at) ORDER BY a.starts_at), '[]') FROM appointments a WHERE a.clinic_id = p.clinic_id AND a.patient_id = p.id)) FROM patients p WHERE p.clinic_id = $1 AND p.id = $2",
        (101,),
    ),
    (
        "invoice with items json",
        "SELECT i.number, jsonb_agg(jsonb_build_object('treatment', it.treatment_id, 'cents', it.cents) ORDER BY it.treatment_id) FROM invoices i JOIN invoice_items it ON it.clinic_id = i.clinic_id AND it.invoice_id = i.id WHERE i.clinic_id = $1 GROUP BY i.number",
        (),
    ),
    (
        "nested dentist day plan",
        "SELECT jsonb_object_agg(st.name, (SELECT jsonb_agg(a.id ORDER BY a.starts_at) FROM appointments a WHERE a.clinic_id = st.clinic_id AND a.staff_id = st.id)) FROM staff st WHERE st.clinic_id = $1",
        (),
    ),
    (
        "patients by preference",
        "SELECT id FROM patients WHERE clinic_id = $1 AND prefs @> '{\"sms\": true}'",
        (),
    ),
    (
        "preference language counts",
        "SELECT prefs->>'lang', count(*) FROM patients WHERE clinic_id = $1 GROUP BY 1",
        (),
    ),
    (
        "json of a patient row",
        "SELECT to_jsonb(p) - 'search' FROM patients p WHERE p.clinic_id = $1 AND p.id = $2",
        (100,),
    ),
    (
        "jsonb_set preference",
        "UPDATE patients SET prefs = jsonb_set(prefs, '{sms}', to_jsonb($3::boolean)) WHERE clinic_id = $1 AND id = $2 RETURNING prefs",
        (
            101,
            True,
        ),
    ),
    (
        "json array of tags",
        "SELECT id, jsonb_array_length(to_jsonb(tags)) FROM patients WHERE clinic_id = $1",
        (),
    ),
    (
        "json_agg of a derived report",
        "SELECT json_agg(r ORDER BY r.code) FROM (SELECT code, count(*) AS n FROM treatments WHERE clinic_id = $1 GROUP BY code) r",
        (),
    ),
    # ------------------------------------------------------------ recursive CTEs
    (
        "referral chain down",
        "WITH RECURSIVE r AS (SELECT clinic_id, id, name, 0 AS depth FROM patients WHERE clinic_id = $1 AND id = $2 UNION ALL SELECT p.clinic_id, p.id, p.name, r.depth + 1 FROM patients p JOIN r ON p.clinic_id = r.clinic_id AND p.referred_by = r.id) SELECT id, name, depth FROM r",
        (100,),
    ),
    (
        "referral chain up",
        "WITH RECURSIVE up AS (SELECT clinic_id, id, referred_by FROM patients WHERE clinic_id = $1 AND id = $2 UNION ALL SELECT p.clinic_id, p.id, p.referred_by FROM patients p JOIN up ON p.clinic_id = up.clinic_id AND p.id = up.referred_by) SELECT id FROM up",
        (102,),
    ),
    (
        "staff org chart with path",
        "WITH RECURSIVE chart AS (SELECT clinic_id, id, name, ARRAY[id] AS path FROM staff WHERE clinic_id = $1 AND manager_id IS NULL UNION ALL SELECT s.clinic_id, s.id, s.name, chart.path || s.id FROM staff s JOIN chart ON s.clinic_id = chart.clinic_id AND s.manager_id = chart.id) SELECT id, name, path FROM chart ORDER BY path",
        (),
    ),
    (
        "count of referrals per root",
        "WITH RECURSIVE r AS (SELECT clinic_id, id AS root, id FROM patients WHERE clinic_id = $1 AND referred_by IS NULL UNION ALL SELECT p.clinic_id, r.root, p.id FROM patients p JOIN r ON p.clinic_id = r.clinic_id AND p.referred_by = r.id) SELECT root, count(*) - 1 FROM r GROUP BY root",
        (),
    ),
    (
        "recursive series of reminder dates",
        "WITH RECURSIVE d(n, at) AS (SELECT 1, $2::timestamptz UNION ALL SELECT n + 1, at + interval '1 week' FROM d WHERE n < 4) SELECT d.at, count(r.id) FROM d LEFT JOIN reminders r ON r.clinic_id = $1 AND r.send_at >= d.at AND r.send_at < d.at + interval '1 week' GROUP BY d.at ORDER BY d.at",
        (MAR,),
    ),
    # ------------------------------------------------------------ upserts on partial unique index
    (
        "upsert patient by live email",
        "INSERT INTO patients (clinic_id, id, name, email) VALUES ($1, $2, $3, $4) ON CONFLICT (clinic_id, email) WHERE deleted_at IS NULL DO UPDATE SET name = EXCLUDED.name RETURNING id, name",
        (
            150,
            "Maria L.",
            "maria@x.test",
        ),
    ),
    (
        "upsert patient new email",
        "INSERT INTO patients (clinic_id, id, name, email) VALUES ($1, $2, $3, $4) ON CONFLICT (clinic_id, email) WHERE deleted_at IS NULL DO NOTHING RETURNING id",
        (
            151,
            "Fresh",
            "fresh@x.test",
        ),
    ),
    (
        "upsert reminder per channel",
        "INSERT INTO reminders (clinic_id, id, appointment_id, channel, send_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (clinic_id, appointment_id, channel) DO UPDATE SET send_at = EXCLUDED.send_at, sent_at = NULL RETURNING id, send_at",
        (
            950,
            1003,
            "sms",
            T(2026, 3, 8, 9, 0, tzinfo=UTC),
        ),
    ),
    (
        "upsert schedule row",
        "INSERT INTO schedules VALUES ($1, $2, $3, $4, $5) ON CONFLICT (clinic_id, staff_id, weekday) DO UPDATE SET opens = EXCLUDED.opens, closes = EXCLUDED.closes RETURNING *",
        (
            10,
            1,
            _dt.time(7, 0),
            _dt.time(13, 0),
        ),
    ),
    (
        "upsert invoice by number",
        "INSERT INTO invoices (clinic_id, id, patient_id, number, status, total_cents, issued_on) VALUES ($1, $2, $3, $4, 'open', $5, $6) ON CONFLICT (clinic_id, number) DO UPDATE SET total_cents = EXCLUDED.total_cents RETURNING id, total_cents",
        (
            750,
            104,
            "INV-003",
            1234,
            D(2026, 3, 11),
        ),
    ),
    (
        "upsert with conflict WHERE on own row",
        "INSERT INTO schedules AS s VALUES ($1, $2, $3, $4, $5) ON CONFLICT (clinic_id, staff_id, weekday) DO UPDATE SET closes = EXCLUDED.closes WHERE s.closes < EXCLUDED.closes RETURNING s.closes",
        (
            11,
            1,
            _dt.time(10, 0),
            _dt.time(19, 0),
        ),
    ),
    # ------------------------------------------------------------ soft deletes
    (
        "soft delete a patient",
        "UPDATE patients SET deleted_at = $3 WHERE clinic_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING id",
        (
            104,
            T(2026, 3, 20, tzinfo=UTC),
        ),
    ),
    (
        "restore a patient",
        "UPDATE patients SET deleted_at = NULL WHERE clinic_id = $1 AND id = $2 RETURNING id, name",
        (103,),
    ),
    (
        "soft delete future appointments of a patient",
        "UPDATE appointments SET deleted_at = $3, status = 'cancelled' WHERE clinic_id = $1 AND patient_id = $2 AND starts_at > $3 RETURNING id",
        (
            101,
            T(2026, 3, 5, tzinfo=UTC),
        ),
    ),
    (
        "list live patients only",
        "SELECT id, name FROM patients WHERE clinic_id = $1 AND deleted_at IS NULL ORDER BY name",
        (),
    ),
    (
        "purge long deleted appointments",
        "DELETE FROM appointments WHERE clinic_id = $1 AND deleted_at < $2 RETURNING id",
        (T(2026, 3, 2, tzinfo=UTC),),
    ),
    (
        "trash count per table",
        "SELECT 'patients', count(*) FROM patients WHERE clinic_id = $1 AND deleted_at IS NOT NULL UNION ALL SELECT 'appointments', count(*) FROM appointments WHERE clinic_id = $1 AND deleted_at IS NOT NULL",
        (),
    ),
    # ------------------------------------------------------------ audit by writable CTEs
    (
        "cancel with audit row",
        "WITH c AS (UPDATE appointments SET status = 'cancelled' WHERE clinic_id = $1 AND id = $2 RETURNING clinic_id, id) INSERT INTO audit (clinic_id, action, detail) SELECT clinic_id, 'cancel', jsonb_build_object('appointment', id) FROM c RETURNING action, detail",
        (1003,),
    ),
    (
        "delete note with audit copy",
        "WITH d AS (DELETE FROM clinical_notes WHERE clinic_id = $1 AND id = $2 RETURNING *) INSERT INTO audit (clinic_id, action, detail) SELECT d.clinic_id, 'note_deleted', to_jsonb(d) FROM d RETURNING action",
        (300,),
    ),
    (
        "price change with before and after",
        "WITH old AS (SELECT id, price_cents FROM treatments WHERE clinic_id = $1 AND id = $2), upd AS (UPDATE treatments SET price_cents = $3 WHERE clinic_id = $1 AND id = $2 RETURNING clinic_id, id, price_cents) INSERT INTO audit (clinic_id, action, detail) SELECT upd.clinic_id, 'price', jsonb_build_object('from', old.price_cents, 'to', upd.price_cents) FROM upd JOIN old ON old.id = upd.id RETURNING detail",
        (
            5004,
            5500,
        ),
    ),
    (
        "mark invoice paid with audit",
        "WITH p AS (UPDATE invoices SET status = 'paid', paid_on = $3 WHERE clinic_id = $1 AND id = $2 AND status = 'open' RETURNING clinic_id, number) INSERT INTO audit (clinic_id, action, detail) SELECT clinic_id, 'paid', jsonb_build_object('number', number) FROM p RETURNING detail",
        (
            701,
            D(2026, 3, 21),
        ),
    ),
    (
        "book appointment and reminder",
        "WITH a AS (INSERT INTO appointments (clinic_id, id, patient_id, staff_id, starts_at) VALUES ($1, $2, $3, $4, $5) RETURNING clinic_id, id, starts_at) INSERT INTO reminders (clinic_id, id, appointment_id, channel, send_at) SELECT clinic_id, $6, id, 'sms', starts_at - interval '1 day' FROM a RETURNING appointment_id, send_at",
        (
            1010,
            102,
            12,
            T(2026, 3, 25, 9, 0, tzinfo=UTC),
            960,
        ),
    ),
    (
        "audit trail for an entity",
        "SELECT action, detail FROM audit WHERE clinic_id = $1 AND detail @> jsonb_build_object('staff', $2::int) ORDER BY id",
        (10,),
    ),
    # ------------------------------------------------------------ MERGE imports
    (
        "merge patient import batch",
        "MERGE INTO patients p USING (SELECT clinic_id, ext_id, name, email FROM patient_imports WHERE clinic_id = $1 AND batch = $2) s ON p.clinic_id = s.clinic_id AND p.id = s.ext_id WHEN MATCHED THEN UPDATE SET name = s.name WHEN NOT MATCHED THEN INSERT (clinic_id, id, name, email) VALUES (s.clinic_id, s.ext_id, s.name, s.email)",
        (7,),
    ),
    (
        "merge with delete of trashed",
        "MERGE INTO patients p USING (SELECT clinic_id, ext_id FROM patient_imports WHERE clinic_id = $1 AND batch = $2) s ON p.clinic_id = s.clinic_id AND p.id = s.ext_id WHEN MATCHED AND p.deleted_at IS NOT NULL THEN DELETE WHEN MATCHED THEN DO NOTHING",
        (7,),
    ),
    (
        "merge schedules from values",
        "MERGE INTO schedules s USING (VALUES ($1::bigint, 12::bigint, 2, time '08:00', time '12:00')) v(clinic_id, staff_id, weekday, opens, closes) ON s.clinic_id = v.clinic_id AND s.staff_id = v.staff_id AND s.weekday = v.weekday WHEN MATCHED THEN UPDATE SET opens = v.opens, closes = v.closes WHEN NOT MATCHED THEN INSERT VALUES (v.clinic_id, v.staff_id, v.weekday, v.opens, v.closes)",
        (),
    ),
    (
        "merge invoice totals from items",
        "MERGE INTO invoices i USING (SELECT clinic_id, invoice_id, sum(cents) AS total FROM invoice_items WHERE clinic_id = $1 GROUP BY clinic_id, invoice_id) t ON i.clinic_id = t.clinic_id AND i.id = t.invoice_id WHEN MATCHED AND i.total_cents <> t.total THEN UPDATE SET total_cents = t.total",
        (),
    ),
    (
        "merge reminders from unnest",
        "MERGE INTO reminders r USING (SELECT * FROM unnest($2::bigint[], $3::bigint[], $4::text[])) AS u(id, appointment_id, channel) ON r.clinic_id = $1 AND r.appointment_id = u.appointment_id AND r.channel = u.channel WHEN NOT MATCHED THEN INSERT (clinic_id, id, appointment_id, channel, send_at) VALUES ($1, u.id, u.appointment_id, u.channel, timestamptz '2026-03-20')",
        (
            [970, 971],
            [1005, 1003],
            ["email", "sms"],
        ),
    ),
    # ------------------------------------------------------------ LATERAL top-N
    (
        "last two visits per patient",
        "SELECT p.name, v.starts_at FROM patients p CROSS JOIN LATERAL (SELECT starts_at FROM appointments a WHERE a.clinic_id = p.clinic_id AND a.patient_id = p.id ORDER BY starts_at DESC LIMIT 2) v WHERE p.clinic_id = $1 ORDER BY 1, 2",
        (),
    ),
    (
        "most expensive treatment per visit",
        "SELECT a.id, t.code, t.price_cents FROM appointments a LEFT JOIN LATERAL (SELECT code, price_cents FROM treatments t WHERE t.clinic_id = a.clinic_id AND t.appointment_id = a.id ORDER BY price_cents DESC LIMIT 1) t ON true WHERE a.clinic_id = $1",
        (),
    ),
    (
        "next booking per dentist",
        "SELECT s.name, n.starts_at FROM staff s LEFT JOIN LATERAL (SELECT starts_at FROM appointments a WHERE a.clinic_id = $1 AND a.staff_id = s.id AND a.status = 'booked' AND a.starts_at > $2 ORDER BY starts_at LIMIT 1) n ON true WHERE s.clinic_id = $1",
        (MAR,),
    ),
    (
        "latest note per patient with author",
        "SELECT p.id, n.body, n.author FROM patients p LEFT JOIN LATERAL (SELECT cn.body, st.name AS author FROM clinical_notes cn JOIN staff st ON st.clinic_id = cn.clinic_id AND st.id = cn.author_id WHERE cn.clinic_id = p.clinic_id AND cn.patient_id = p.id ORDER BY cn.written_at DESC LIMIT 1) n ON true WHERE p.clinic_id = $1",
        (),
    ),
    (
        "top procedures per dentist lateral",
        "SELECT s.id, x.code, x.n FROM staff s CROSS JOIN LATERAL (SELECT t.code, count(*) AS n FROM appointments a JOIN treatments t ON t.clinic_id = a.clinic_id AND t.appointment_id = a.id WHERE a.clinic_id = s.clinic_id AND a.staff_id = s.id GROUP BY t.code ORDER BY n DESC, t.code LIMIT 2) x WHERE s.clinic_id = $1",
        (),
    ),
    # ------------------------------------------------------------ array_agg ORDER BY, EXISTS, anti-joins
    (
        "teeth treated per patient",
        "SELECT a.patient_id, array_agg(DISTINCT t.tooth ORDER BY t.tooth) FILTER (WHERE t.tooth IS NOT NULL) FROM appointments a JOIN treatments t ON t.clinic_id = a.clinic_id AND t.appointment_id = a.id WHERE a.clinic_id = $1 GROUP BY a.patient_id",
        (),
    ),
    (
        "codes per visit in order",
        "SELECT appointment_id, array_agg(code ORDER BY price_cents DESC, code) FROM treatments WHERE clinic_id = $1 GROUP BY appointment_id",
        (),
    ),
    (
        "string_agg of patient names by dentist",
        "SELECT s.name, string_agg(DISTINCT p.name, ', ' ORDER BY p.name) FROM staff s JOIN appointments a ON a.clinic_id = s.clinic_id AND a.staff_id = s.id JOIN patients p ON p.clinic_id = a.clinic_id AND p.id = a.patient_id WHERE s.clinic_id = $1 GROUP BY s.name",
        (),
    ),
    (
        "patients with an open invoice",
        "SELECT id, name FROM patients p WHERE p.clinic_id = $1 AND EXISTS (SELECT 1 FROM invoices i WHERE i.clinic_id = p.clinic_id AND i.patient_id = p.id AND i.status = 'open')",
        (),
    ),
    (
        "patients never seen",
        "SELECT id FROM patients p WHERE p.clinic_id = $1 AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.clinic_id = $1 AND a.patient_id = p.id AND a.status = 'done')",
        (),
    ),
    (
        "treatments not yet invoiced",
        "SELECT t.id, t.code FROM treatments t LEFT JOIN invoice_items it ON it.clinic_id = t.clinic_id AND it.treatment_id = t.id WHERE t.clinic_id = $1 AND it.treatment_id IS NULL",
        (),
    ),
    (
        "appointments without reminder",
        "SELECT a.id FROM appointments a WHERE a.clinic_id = $1 AND a.status = 'booked' AND a.id NOT IN (SELECT r.appointment_id FROM reminders r WHERE r.clinic_id = $1)",
        (),
    ),
    (
        "staff without schedule",
        "SELECT s.id FROM staff s WHERE s.clinic_id = $1 EXCEPT SELECT sc.staff_id FROM schedules sc WHERE sc.clinic_id = $1",
        (),
    ),
    (
        "patients with a root canal",
        "SELECT p.id FROM patients p WHERE p.clinic_id = $1 AND p.id IN (SELECT a.patient_id FROM appointments a JOIN treatments t ON t.clinic_id = a.clinic_id AND t.appointment_id = a.id WHERE a.clinic_id = $1 AND t.code = 'D3310')",
        (),
    ),
    (
        "procedure codes unused by the clinic",
        "SELECT pc.code FROM procedure_codes pc WHERE NOT EXISTS (SELECT 1 FROM treatments t WHERE t.clinic_id = $1 AND t.code = pc.code)",
        (),
    ),
    # ------------------------------------------------------------ DISTINCT ON latest-per-group
    (
        "latest appointment per patient",
        "SELECT DISTINCT ON (patient_id) patient_id, id, starts_at FROM appointments WHERE clinic_id = $1 ORDER BY patient_id, starts_at DESC",
        (),
    ),
    (
        "latest invoice per patient",
        "SELECT DISTINCT ON (i.patient_id) i.patient_id, i.number, i.status FROM invoices i WHERE i.clinic_id = $1 ORDER BY i.patient_id, i.issued_on DESC, i.id DESC",
        (),
    ),
    (
        "last treatment per tooth",
        "SELECT DISTINCT ON (t.tooth) t.tooth, t.code, a.starts_at FROM treatments t JOIN appointments a ON a.clinic_id = t.clinic_id AND a.id = t.appointment_id WHERE t.clinic_id = $1 AND t.tooth IS NOT NULL ORDER BY t.tooth, a.starts_at DESC",
        (),
    ),
    (
        "first visit per dentist",
        "SELECT DISTINCT ON (staff_id) staff_id, patient_id FROM appointments WHERE clinic_id = $1 AND deleted_at IS NULL ORDER BY staff_id, starts_at",
        (),
    ),
    (
        "latest reminder per channel",
        "SELECT DISTINCT ON (channel) channel, send_at, sent_at FROM reminders WHERE clinic_id = $1 ORDER BY channel, send_at DESC",
        (),
    ),
    # ------------------------------------------------------------ bulk via unnest
    (
        "bulk insert treatments",
        "INSERT INTO treatments (clinic_id, id, appointment_id, code, price_cents) SELECT $1, u.id, 1003, u.code, pc.base_cents FROM unnest($2::int[], $3::text[]) AS u(id, code) JOIN procedure_codes pc ON pc.code = u.code RETURNING id, price_cents",
        (
            [5100, 5101],
            ["D1110", "D2391"],
        ),
    ),
    (
        "bulk update prices",
        "UPDATE treatments t SET price_cents = u.cents FROM unnest($2::int[], $3::int[]) AS u(id, cents) WHERE t.clinic_id = $1 AND t.id = u.id RETURNING t.id, t.price_cents",
        (
            [5000, 6000],
            [5100, 1],
        ),
    ),
    (
        "bulk delete reminders",
        "DELETE FROM reminders WHERE clinic_id = $1 AND id = ANY ($2::bigint[]) RETURNING id",
        ([900, 990],),
    ),
    (
        "bulk insert patients from arrays",
        "INSERT INTO patients (clinic_id, id, name, email) SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[]) RETURNING id, name",
        (
            [160, 161],
            ["A One", "B Two"],
            ["a1@x.test", None],
        ),
    ),
    (
        "bulk lookup by pairs",
        "SELECT a.id FROM appointments a JOIN unnest($2::bigint[], $3::bigint[]) AS k(patient_id, staff_id) ON a.patient_id = k.patient_id AND a.staff_id = k.staff_id WHERE a.clinic_id = $1",
        (
            [100, 200],
            [10, 20],
        ),
    ),
    (
        "bulk schedule copy to weekdays",
        "INSERT INTO schedules (clinic_id, staff_id, weekday, opens, closes) SELECT sc.clinic_id, sc.staff_id, d, sc.opens, sc.closes FROM schedules sc, unnest($3::int[]) d WHERE sc.clinic_id = $1 AND sc.staff_id = $2 AND sc.weekday = 1 ON CONFLICT DO NOTHING RETURNING weekday",
        (
            10,
            [3, 4],
        ),
    ),
    (
        "bulk import rows with ordinality",
        "INSERT INTO patient_imports (clinic_id, batch, ext_id, name) SELECT $1, $2, 500 + n, nm FROM unnest($3::text[]) WITH ORDINALITY AS u(nm, n) RETURNING ext_id",
        (
            8,
            ["X", "Y"],
        ),
    ),
    # ------------------------------------------------------------ plain CRUD and reports in other shapes
    (
        "appointment detail with joins",
        "SELECT a.id, p.name, s.name, a.starts_at FROM appointments a JOIN patients p USING (clinic_id) JOIN staff s ON s.clinic_id = a.clinic_id AND s.id = a.staff_id WHERE a.clinic_id = $1 AND a.id = $2 AND p.id = a.patient_id",
        (1001,),
    ),
    (
        "reschedule appointment",
        "UPDATE appointments SET starts_at = starts_at + $3 * interval '1 minute' WHERE clinic_id = $1 AND id = $2 RETURNING starts_at",
        (
            1003,
            30,
        ),
    ),
    (
        "move appointments of an inactive dentist",
        "UPDATE appointments a SET staff_id = $3 FROM staff s WHERE a.clinic_id = $1 AND s.clinic_id = a.clinic_id AND s.id = a.staff_id AND s.active = false AND a.staff_id = $2 RETURNING a.id",
        (
            13,
            10,
        ),
    ),
    (
        "reminders due now",
        "SELECT r.id, r.channel, p.phone, p.email FROM reminders r JOIN appointments a ON a.clinic_id = r.clinic_id AND a.id = r.appointment_id JOIN patients p ON p.clinic_id = a.clinic_id AND p.id = a.patient_id WHERE r.clinic_id = $1 AND r.sent_at IS NULL AND r.send_at <= $2 ORDER BY r.send_at",
        (T(2026, 3, 15, 12, 0, tzinfo=UTC),),
    ),
    (
        "mark reminders sent",
        "UPDATE reminders SET sent_at = $3 WHERE clinic_id = $1 AND id = ANY ($2) AND sent_at IS NULL RETURNING id",
        (
            [900, 902],
            T(2026, 3, 15, tzinfo=UTC),
        ),
    ),
    (
        "skip locked reminder batch",
        "SELECT id FROM reminders WHERE clinic_id = $1 AND sent_at IS NULL ORDER BY send_at LIMIT 10 FOR UPDATE SKIP LOCKED",
        (),
    ),
    (
        "daily revenue by code with rollup",
        "SELECT a.starts_at::date, t.code, sum(t.price_cents) FROM treatments t JOIN appointments a ON a.clinic_id = t.clinic_id AND a.id = t.appointment_id WHERE t.clinic_id = $1 GROUP BY ROLLUP (1, 2)",
        (),
    ),
    (
        "age groups of patients",
        "SELECT CASE WHEN age($2::date, birth_date) < interval '18 years' THEN 'child' ELSE 'adult' END, count(*) FROM patients WHERE clinic_id = $1 AND birth_date IS NOT NULL GROUP BY 1",
        (D(2026, 3, 1),),
    ),
    (
        "birthdays this month",
        "SELECT id, name FROM patients WHERE clinic_id = $1 AND extract(month FROM birth_date) = $2 AND deleted_at IS NULL",
        (2,),
    ),
    (
        "patients by tag",
        "SELECT id FROM patients WHERE clinic_id = $1 AND tags && $2::text[]",
        (["vip", "child"],),
    ),
    (
        "add a tag",
        "UPDATE patients SET tags = array_append(tags, $3) WHERE clinic_id = $1 AND id = $2 AND NOT ($3 = ANY (tags)) RETURNING tags",
        (
            104,
            "anxious",
        ),
    ),
    (
        "invoice balance via subquery",
        "SELECT i.number, i.total_cents - coalesce((SELECT sum(it.cents) FROM invoice_items it WHERE it.clinic_id = i.clinic_id AND it.invoice_id = i.id), 0) FROM invoices i WHERE i.clinic_id = $1",
        (),
    ),
    (
        "treatment price vs list price",
        "SELECT t.id, t.price_cents - pc.base_cents AS markup FROM treatments t JOIN procedure_codes pc USING (code) WHERE t.clinic_id = $1",
        (),
    ),
    (
        "dentist utilisation",
        "SELECT s.id, sum(a.minutes) FILTER (WHERE a.status = 'done') AS worked, count(a.id) FROM staff s LEFT JOIN appointments a ON a.clinic_id = s.clinic_id AND a.staff_id = s.id WHERE s.clinic_id = $1 GROUP BY s.id",
        (),
    ),
    (
        "overlapping appointments of a dentist",
        "SELECT a.id, b.id FROM appointments a JOIN appointments b ON b.clinic_id = a.clinic_id AND b.staff_id = a.staff_id AND b.id > a.id AND tstzrange(a.starts_at, a.starts_at + a.minutes * interval '1 minute') && tstzrange(b.starts_at, b.starts_at + b.minutes * interval '1 minute') WHERE a.clinic_id = $1",
        (),
    ),
    (
        "clinic dashboard one row",
        "SELECT (SELECT count(*) FROM patients WHERE clinic_id = $1 AND deleted_at IS NULL) AS patients, (SELECT count(*) FROM appointments WHERE clinic_id = $1 AND status = 'booked') AS booked, (SELECT coalesce(sum(total_cents), 0) FROM invoices WHERE clinic_id = $1 AND status = 'open') AS receivable",
        (),
    ),
    (
        "patient count by clinic name",
        "SELECT c.name, count(p.id) FROM clinics c LEFT JOIN patients p ON p.clinic_id = c.id AND p.deleted_at IS NULL WHERE c.id = $1 GROUP BY c.name",
        (),
    ),
    (
        "copy a treatment plan to a new visit",
        "INSERT INTO treatments (clinic_id, id, appointment_id, code, tooth, price_cents) SELECT clinic_id, id + 100, $3, code, tooth, price_cents FROM treatments WHERE clinic_id = $1 AND appointment_id = $2 RETURNING id, appointment_id",
        (
            1001,
            1005,
        ),
    ),
    (
        "delete an invoice cascade items",
        "DELETE FROM invoices WHERE clinic_id = $1 AND id = $2 AND status = 'void' RETURNING number",
        (702,),
    ),
    (
        "count rows in a CTE materialized",
        "WITH m AS MATERIALIZED (SELECT patient_id, count(*) AS n FROM appointments WHERE clinic_id = $1 GROUP BY patient_id) SELECT p.name, m.n FROM m JOIN patients p ON p.clinic_id = $1 AND p.id = m.patient_id",
        (),
    ),
    (
        "cohort of first visit month",
        "WITH first AS (SELECT patient_id, min(starts_at) AS f FROM appointments WHERE clinic_id = $1 GROUP BY patient_id) SELECT date_trunc('month', f), count(*) FROM first GROUP BY 1",
        (),
    ),
    (
        "retention: came back within 30 days",
        "SELECT count(DISTINCT a.patient_id) FROM appointments a WHERE a.clinic_id = $1 AND EXISTS (SELECT 1 FROM appointments b WHERE b.clinic_id = a.clinic_id AND b.patient_id = a.patient_id AND b.starts_at > a.starts_at AND b.starts_at <= a.starts_at + interval '30 days')",
        (),
    ),
    (
        "invoice number sequence gap",
        "SELECT number, lead(number) OVER (ORDER BY number) FROM invoices WHERE clinic_id = $1",
        (),
    ),
    (
        "case-insensitive patient email lookup",
        "SELECT id FROM patients WHERE clinic_id = $1 AND lower(email) = lower($2)",
        ("MARIA@x.test",),
    ),
    (
        "nullif pin of an optional clinic filter",
        "SELECT id FROM patients WHERE clinic_id = nullif($1, 0) AND deleted_at IS NULL",
        (),
    ),
    (
        "tenant setting pin with a report",
        "SELECT status, count(*) FROM appointments WHERE clinic_id = current_setting('app.clinic')::bigint AND patient_id > $1 GROUP BY status",
        (),
    ),
    (
        "patients grouped by referrer with HAVING",
        "SELECT referred_by, count(*) FROM patients WHERE clinic_id = $1 AND referred_by IS NOT NULL GROUP BY referred_by HAVING count(*) > 1",
        (),
    ),
    (
        "treatments of a date range BETWEEN",
        "SELECT t.id FROM treatments t JOIN appointments a ON a.clinic_id = t.clinic_id AND a.id = t.appointment_id WHERE a.clinic_id = $1 AND a.starts_at BETWEEN $2 AND $3",
        (
            MAR,
            APR,
        ),
    ),
]
