-- Patch 39: sales pipeline — opportunities and their transactions.
CREATE TABLE IF NOT EXISTS opportunities (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants (id),
    lead_id     bigint,
    patient_id  bigint,
    stage       text NOT NULL DEFAULT 'new' CHECK (stage IN ('new', 'qualified', 'proposal', 'won', 'lost')),
    value       numeric(12, 2) NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT opportunities_tenant_id_id_key UNIQUE (tenant_id, id),
    CONSTRAINT opportunities_lead_fkey FOREIGN KEY (tenant_id, lead_id) REFERENCES leads (tenant_id, id),
    CONSTRAINT opportunities_patient_fkey FOREIGN KEY (tenant_id, patient_id) REFERENCES patients (tenant_id, id)
);

CREATE TABLE IF NOT EXISTS transactions (
    id              bigserial PRIMARY KEY,
    tenant_id       bigint NOT NULL REFERENCES tenants (id),
    opportunity_id  bigint NOT NULL,
    amount          numeric(12, 2) NOT NULL,
    paid_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT transactions_opportunity_fkey FOREIGN KEY (tenant_id, opportunity_id) REFERENCES opportunities (tenant_id, id)
);
CREATE INDEX IF NOT EXISTS transactions_tenant_paid_idx ON transactions (tenant_id, paid_at);
