-- Reports of the Dentalogic clinic dashboard. Every query runs for one clinic (tenant).

-- Today's agenda of one professional.
SELECT a.id, a.starts_at, p.first_name, p.last_name
FROM appointments a
JOIN patients p ON p.id = a.patient_id AND p.tenant_id = a.tenant_id
WHERE a.tenant_id = $1
  AND a.professional_id = $2
  AND a.starts_at::date = current_date
ORDER BY a.starts_at;

-- Patients without an appointment in six months, nor their relative $2 (recall campaign).
-- LEAK: $2 may be another clinic's patient: the subquery reads appointments of every clinic.
SELECT p.id, p.phone_number
FROM patients p
WHERE p.tenant_id = $1
  AND NOT EXISTS (
    SELECT 1 FROM appointments a
    WHERE a.patient_id IN (p.id, $2) AND a.starts_at > now() - interval '6 months'
  );

-- Search a patient by DNI or phone.
-- LEAK: the OR lets the phone match in any clinic.
SELECT id, first_name, last_name
FROM patients
WHERE tenant_id = $1 AND dni = $2 OR phone_number = $3;

-- Conversation of a patient, newest first.
SELECT m.body, m.direction, m.created_at
FROM chat_messages m
WHERE m.tenant_id = $1 AND m.patient_id = $2
ORDER BY m.created_at DESC
LIMIT 50;

-- Leads of the week with their patient, if converted.
-- LEAK: the tenant filter sits in the ON of a LEFT JOIN, which does not filter leads.
SELECT l.name, l.source, p.status
FROM leads l
LEFT JOIN patients p ON p.id = l.patient_id AND l.tenant_id = $1 AND p.tenant_id = $1
WHERE l.created_at > now() - interval '7 days';

-- Upsert a lead from a WhatsApp webhook.
-- LEAK: the conflict target is the global external id: another clinic's lead gets overwritten.
INSERT INTO leads (tenant_id, external_id, name, phone_number)
VALUES ($1, $2, $3, $4)
ON CONFLICT (external_id) DO UPDATE SET name = EXCLUDED.name;

-- Monthly activity per professional (one clinic).
WITH month AS (
  SELECT * FROM appointments
  WHERE tenant_id = $1 AND starts_at >= date_trunc('month', now())
)
SELECT pr.full_name, count(*)
FROM month m
JOIN professionals pr ON pr.id = m.professional_id AND pr.tenant_id = m.tenant_id
GROUP BY pr.full_name;
