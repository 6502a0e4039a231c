-- CRM leads arrive through the evolution pipeline (Patch 16+), not in the base schema.
CREATE TABLE IF NOT EXISTS leads (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants (id),
    external_id   text NOT NULL,
    name          text,
    phone_number  text,
    source        text NOT NULL DEFAULT 'whatsapp_inbound',
    patient_id    bigint,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT leads_tenant_id_id_key UNIQUE (tenant_id, id),
    CONSTRAINT leads_tenant_external_key UNIQUE (tenant_id, external_id)
);

-- the link to the patient a lead became; added with a catalog check (no IF NOT EXISTS for it)
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conname = 'leads_patient_fkey' AND conrelid = 'leads'::regclass
    ) THEN
        ALTER TABLE leads ADD CONSTRAINT leads_patient_fkey
            FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id);
    END IF;
END
$$;
