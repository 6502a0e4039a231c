-- The schema of `tenantguard demo`: three tables of a clinic CRM (from the Dentalogic example).
-- Shipped inside the package, so that the demo runs from any directory after `pip install`.

CREATE TABLE tenants (
    id bigserial PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE patients (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES tenants (id),
    first_name text,
    last_name text,
    dni text,
    phone_number text NOT NULL,
    status text NOT NULL DEFAULT 'guest' CHECK (status IN ('guest', 'active')),
    CONSTRAINT patients_tenant_id_id_key UNIQUE (tenant_id, id)
);

CREATE TABLE chat_messages (
    id bigserial PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES tenants (id),
    patient_id bigint,
    direction text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    body text NOT NULL,
    CONSTRAINT chat_messages_patient_fkey FOREIGN KEY (tenant_id, patient_id)
        REFERENCES patients (tenant_id, id)
);

CREATE INDEX patients_tenant_idx ON patients (tenant_id);
CREATE INDEX chat_messages_tenant_idx ON chat_messages (tenant_id, patient_id);
