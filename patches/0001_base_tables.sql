-- Dentalogic base schema: clinics (tenants), staff, agenda, patients and their clinical data.
-- Every core table carries tenant_id NOT NULL, and references stay inside one tenant through
-- composite keys (tenant_id, id).

CREATE TABLE IF NOT EXISTS tenants (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS users (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants (id),
    email       text NOT NULL,
    role        text NOT NULL CHECK (role IN ('ceo', 'professional', 'secretary')),
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'suspended')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_tenant_id_id_key UNIQUE (tenant_id, id),
    CONSTRAINT users_tenant_email_key UNIQUE (tenant_id, email)
);

CREATE TABLE IF NOT EXISTS professionals (
    id             bigserial PRIMARY KEY,
    tenant_id      bigint NOT NULL REFERENCES tenants (id),
    user_id        bigint,
    full_name      text NOT NULL,
    working_hours  jsonb NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT professionals_tenant_id_id_key UNIQUE (tenant_id, id),
    CONSTRAINT professionals_user_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);

CREATE TABLE IF NOT EXISTS patients (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants (id),
    first_name       text,
    last_name        text,
    dni              text,
    phone_number     text NOT NULL,
    status           text NOT NULL DEFAULT 'guest' CHECK (status IN ('guest', 'active')),
    medical_history  jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT patients_tenant_id_id_key UNIQUE (tenant_id, id),
    CONSTRAINT patients_tenant_phone_key UNIQUE (tenant_id, phone_number)
);

CREATE TABLE IF NOT EXISTS appointments (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants (id),
    patient_id       bigint NOT NULL,
    professional_id  bigint NOT NULL,
    starts_at        timestamptz NOT NULL,
    status           text NOT NULL DEFAULT 'scheduled',
    CONSTRAINT appointments_tenant_id_id_key UNIQUE (tenant_id, id),
    CONSTRAINT appointments_patient_fkey FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id),
    CONSTRAINT appointments_professional_fkey FOREIGN KEY (tenant_id, professional_id) REFERENCES professionals (tenant_id, id)
);

CREATE TABLE IF NOT EXISTS clinical_records (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants (id),
    patient_id  bigint NOT NULL,
    odontogram  jsonb NOT NULL DEFAULT '{}'::jsonb,
    notes       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT clinical_records_tenant_id_id_key UNIQUE (tenant_id, id),
    CONSTRAINT clinical_records_patient_fkey FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id)
);

CREATE TABLE IF NOT EXISTS chat_messages (
    id           bigserial PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES tenants (id),
    patient_id   bigint,
    direction    text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    body         text NOT NULL,
    external_id  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT chat_messages_tenant_id_id_key UNIQUE (tenant_id, id),
    CONSTRAINT chat_messages_patient_fkey FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id)
);
