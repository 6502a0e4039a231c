-- Ledger of processed webhook deliveries: the database backstop behind Redis de-duplication.
CREATE TABLE IF NOT EXISTS processed_webhooks (
    tenant_id     bigint NOT NULL REFERENCES tenants (id),
    event_id      text NOT NULL,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, event_id)
);
