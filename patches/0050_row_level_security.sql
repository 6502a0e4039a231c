-- Row-Level Security on every tenant table, as defense in depth behind the proof and the guard:
-- a statement that forgets the clinic — a report written by hand, another service, a psql
-- session on the application's role — gets the rows of the clinic in app.tenant_id only (none
-- when it is unset), and cannot write rows of another clinic. Forced, so that the tables' owner
-- is contained too; superusers and BYPASSRLS roles (migrations, admin work) are not subject to it.
-- The application's role must own nothing and bypass nothing: `tenantguard audit --role ROLE`
-- checks it. Written by tenantguard.runtime.rls_policy_sql(tables).

DO $$
BEGIN
    ALTER TABLE "appointments" ENABLE ROW LEVEL SECURITY;
    ALTER TABLE "appointments" FORCE ROW LEVEL SECURITY;
    IF NOT EXISTS (
        SELECT 1 FROM pg_policies
        WHERE schemaname = current_schema() AND tablename = 'appointments'
          AND policyname = 'tenant_isolation'
    ) THEN
        CREATE POLICY "tenant_isolation" ON "appointments"
            USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint)
            WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint);
    END IF;
END
$$;

DO $$
BEGIN
    ALTER TABLE "audit_log" ENABLE ROW LEVEL SECURITY;
    ALTER TABLE "audit_log" FORCE ROW LEVEL SECURITY;
    IF NOT EXISTS (
        SELECT 1 FROM pg_policies
        WHERE schemaname = current_schema() AND tablename = 'audit_log'
          AND policyname = 'tenant_isolation'
    ) THEN
        CREATE POLICY "tenant_isolation" ON "audit_log"
            USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint)
            WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint);
    END IF;
END
$$;

DO $$
BEGIN
    ALTER TABLE "automation_rules" ENABLE ROW LEVEL SECURITY;
    ALTER TABLE "automation_rules" FORCE ROW LEVEL SECURITY;
    IF NOT EXISTS (
        SELECT 1 FROM pg_policies
        WHERE schemaname = current_schema() AND tablename = 'automation_rules'
          AND policyname = 'tenant_isolation'
    ) THEN
        CREATE POLICY "tenant_isolation" ON "automation_rules"
            USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint)
            WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint);
    END IF;
END
$$;

DO $$
BEGIN
    ALTER TABLE "campaign_insights" ENABLE ROW LEVEL SECURITY;
    ALTER TABLE "campaign_insights" FORCE ROW LEVEL SECURITY;
    IF NOT EXISTS (
        SELECT 1 FROM pg_policies
        WHERE schemaname = current_schema() AND tablename = 'campaign_insights'
          AND policyname = 'tenant_isolation'
    ) THEN
        CREATE POLICY "tenant_isolation" ON "campaign_insights"
            USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint)
            WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint);
    END IF;
END
$$;

DO $$
BEGIN
    ALTER TABLE "campaigns" ENABLE ROW LEVEL SECURITY;
    ALTER TABLE "campaigns" FORCE ROW LEVEL SECURITY;
    IF NOT EXISTS (
        SELECT 1 FROM pg_policies
        WHERE schemaname = current_schema() AND tablename = 'campaigns'
          AND policyname = 'tenant_isolation'
    ) THEN
        CREATE POLICY "tenant_isolation" ON "campaigns"
            USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint)
            WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint);
    END IF;
END
$$;

DO $$
BEGIN
    ALTER TABLE "chat_messages" ENABLE ROW LEVEL SECURITY;
    ALTER TABLE "chat_messages" FORCE ROW LEVEL SECURITY;
    IF NOT EXISTS (
        SELECT 1 FROM pg_policies
        WHERE schemaname = current_schema() AND tablename = 'chat_messages'
          AND policyname = 'tenant_isolation'
    ) THEN
        CREATE POLICY "tenant_isolation" ON "chat_messages"
            USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint)
            WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint);
    END IF;
END
$$;

DO $$
BEGIN
    ALTER TABLE "clinical_records" ENABLE ROW LEVEL SECURITY;
    ALTER TABLE "clinical_records" FORCE ROW LEVEL SECURITY;
    IF NOT EXISTS (
        SELECT 1 FROM pg_policies
        WHERE schemaname = current_schema() AND tablename = 'clinical_records'
          AND policyname = 'tenant_isolation'
    ) THEN
        CREATE POLICY "tenant_isolation" ON "clinical_records"
            USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint)
            WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint);
    END IF;
END
$$;

DO $$
BEGIN
    ALTER TABLE "integration_tokens" ENABLE ROW LEVEL SECURITY;
    ALTER TABLE "integration_tokens" FORCE ROW LEVEL SECURITY;
    IF NOT EXISTS (
        SELECT 1 FROM pg_policies
        WHERE schemaname = current_schema() AND tablename = 'integration_tokens'
          AND policyname = 'tenant_isolation'
    ) THEN
        CREATE POLICY "tenant_isolation" ON "integration_tokens"
            USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint)
            WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint);
    END IF;
END
$$;

DO $$
BEGIN
    ALTER TABLE "leads" ENABLE ROW LEVEL SECURITY;
    ALTER TABLE "leads" FORCE ROW LEVEL SECURITY;
    IF NOT EXISTS (
        SELECT 1 FROM pg_policies
        WHERE schemaname = current_schema() AND tablename = 'leads'
          AND policyname = 'tenant_isolation'
    ) THEN
        CREATE POLICY "tenant_isolation" ON "leads"
            USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint)
            WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint);
    END IF;
END
$$;

DO $$
BEGIN
    ALTER TABLE "message_templates" ENABLE ROW LEVEL SECURITY;
    ALTER TABLE "message_templates" FORCE ROW LEVEL SECURITY;
    IF NOT EXISTS (
        SELECT 1 FROM pg_policies
        WHERE schemaname = current_schema() AND tablename = 'message_templates'
          AND policyname = 'tenant_isolation'
    ) THEN
        CREATE POLICY "tenant_isolation" ON "message_templates"
            USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint)
            WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint);
    END IF;
END
$$;

DO $$
BEGIN
    ALTER TABLE "opportunities" ENABLE ROW LEVEL SECURITY;
    ALTER TABLE "opportunities" FORCE ROW LEVEL SECURITY;
    IF NOT EXISTS (
        SELECT 1 FROM pg_policies
        WHERE schemaname = current_schema() AND tablename = 'opportunities'
          AND policyname = 'tenant_isolation'
    ) THEN
        CREATE POLICY "tenant_isolation" ON "opportunities"
            USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint)
            WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint);
    END IF;
END
$$;

DO $$
BEGIN
    ALTER TABLE "patients" ENABLE ROW LEVEL SECURITY;
    ALTER TABLE "patients" FORCE ROW LEVEL SECURITY;
    IF NOT EXISTS (
        SELECT 1 FROM pg_policies
        WHERE schemaname = current_schema() AND tablename = 'patients'
          AND policyname = 'tenant_isolation'
    ) THEN
        CREATE POLICY "tenant_isolation" ON "patients"
            USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint)
            WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint);
    END IF;
END
$$;

DO $$
BEGIN
    ALTER TABLE "processed_webhooks" ENABLE ROW LEVEL SECURITY;
    ALTER TABLE "processed_webhooks" FORCE ROW LEVEL SECURITY;
    IF NOT EXISTS (
        SELECT 1 FROM pg_policies
        WHERE schemaname = current_schema() AND tablename = 'processed_webhooks'
          AND policyname = 'tenant_isolation'
    ) THEN
        CREATE POLICY "tenant_isolation" ON "processed_webhooks"
            USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint)
            WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint);
    END IF;
END
$$;

DO $$
BEGIN
    ALTER TABLE "professionals" ENABLE ROW LEVEL SECURITY;
    ALTER TABLE "professionals" FORCE ROW LEVEL SECURITY;
    IF NOT EXISTS (
        SELECT 1 FROM pg_policies
        WHERE schemaname = current_schema() AND tablename = 'professionals'
          AND policyname = 'tenant_isolation'
    ) THEN
        CREATE POLICY "tenant_isolation" ON "professionals"
            USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint)
            WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint);
    END IF;
END
$$;

DO $$
BEGIN
    ALTER TABLE "transactions" ENABLE ROW LEVEL SECURITY;
    ALTER TABLE "transactions" FORCE ROW LEVEL SECURITY;
    IF NOT EXISTS (
        SELECT 1 FROM pg_policies
        WHERE schemaname = current_schema() AND tablename = 'transactions'
          AND policyname = 'tenant_isolation'
    ) THEN
        CREATE POLICY "tenant_isolation" ON "transactions"
            USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint)
            WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint);
    END IF;
END
$$;

DO $$
BEGIN
    ALTER TABLE "users" ENABLE ROW LEVEL SECURITY;
    ALTER TABLE "users" FORCE ROW LEVEL SECURITY;
    IF NOT EXISTS (
        SELECT 1 FROM pg_policies
        WHERE schemaname = current_schema() AND tablename = 'users'
          AND policyname = 'tenant_isolation'
    ) THEN
        CREATE POLICY "tenant_isolation" ON "users"
            USING ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint)
            WITH CHECK ("tenant_id" = NULLIF(current_setting('app.tenant_id', true), '')::bigint);
    END IF;
END
$$;
