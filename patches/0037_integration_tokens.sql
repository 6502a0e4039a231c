-- Patch 37: credentials of each clinic's Meta integration, with the Facebook page id.
CREATE TABLE IF NOT EXISTS integration_tokens (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants (id),
    provider      text NOT NULL,
    access_token  text NOT NULL,
    expires_at    timestamptz,
    CONSTRAINT integration_tokens_tenant_provider_key UNIQUE (tenant_id, provider)
);
ALTER TABLE integration_tokens ADD COLUMN IF NOT EXISTS page_id text;
CREATE INDEX IF NOT EXISTS integration_tokens_tenant_page_idx ON integration_tokens (tenant_id, page_id);
