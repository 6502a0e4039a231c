-- tenantguard: no-transaction
-- One row per WhatsApp message id and clinic: the database backstop of the Redis
-- de-duplication (a retried webhook whose Redis claim expired cannot store a message twice).
-- Messages without an external id (outbound) are not constrained.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS chat_messages_tenant_external_key
    ON chat_messages (tenant_id, external_id);
