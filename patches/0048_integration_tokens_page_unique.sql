-- tenantguard: no-transaction
-- A Facebook page belongs to one clinic per provider: a webhook for a page_id must route to
-- exactly one clinic, so the key spans clinics on purpose.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS integration_tokens_provider_page_key
    ON integration_tokens (provider, page_id);
