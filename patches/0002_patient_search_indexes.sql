-- Fast lookup of a patient by phone or national id, always within one clinic.
CREATE INDEX IF NOT EXISTS patients_tenant_dni_idx ON patients (tenant_id, dni);
CREATE INDEX IF NOT EXISTS patients_tenant_status_idx ON patients (tenant_id, status);
CREATE INDEX IF NOT EXISTS appointments_tenant_starts_idx ON appointments (tenant_id, starts_at);
CREATE INDEX IF NOT EXISTS chat_messages_tenant_patient_idx ON chat_messages (tenant_id, patient_id, created_at);
