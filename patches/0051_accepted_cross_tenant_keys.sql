-- Keys that span clinics on purpose, said where they are defined, so that `tenantguard audit`
-- (TG208) accepts them and the next reader knows why.
COMMENT ON INDEX integration_tokens_provider_page_key IS
    'tenantguard: ignore[TG208] -- a Facebook page routes its webhooks to exactly one clinic: the key spans clinics on purpose (patch 0048)';
