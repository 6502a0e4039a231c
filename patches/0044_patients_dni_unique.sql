-- tenantguard: no-transaction
-- A DNI is unique within a clinic, when present: '30.111.222', '30111222' and ' 30111222 ' are
-- one DNI. Two clinics may each have a patient with the same DNI.
-- Built CONCURRENTLY: the clinics keep booking while it builds. When duplicates exist, the build
-- fails naming one of them and leaves an INVALID index, which the next run rebuilds once the
-- duplicates are merged.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS patients_tenant_dni_key
    ON patients (tenant_id, upper(regexp_replace(dni, '[^[:alnum:]]', '', 'g')))
    WHERE regexp_replace(dni, '[^[:alnum:]]', '', 'g') <> '';
