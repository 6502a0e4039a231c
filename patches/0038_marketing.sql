-- Patch 38: marketing — campaigns, their insights, message templates, automation rules.
CREATE TABLE IF NOT EXISTS campaigns (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants (id),
    name        text NOT NULL,
    channel     text NOT NULL DEFAULT 'whatsapp',
    status      text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'running', 'paused', 'done')),
    starts_at   timestamptz,
    CONSTRAINT campaigns_tenant_id_id_key UNIQUE (tenant_id, id)
);

CREATE TABLE IF NOT EXISTS campaign_insights (
    id           bigserial PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES tenants (id),
    campaign_id  bigint NOT NULL,
    day          date NOT NULL,
    sent         integer NOT NULL DEFAULT 0,
    replies      integer NOT NULL DEFAULT 0,
    CONSTRAINT campaign_insights_campaign_fkey FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns (tenant_id, id),
    CONSTRAINT campaign_insights_day_key UNIQUE (tenant_id, campaign_id, day)
);

CREATE TABLE IF NOT EXISTS message_templates (
    id         bigserial PRIMARY KEY,
    tenant_id  bigint NOT NULL REFERENCES tenants (id),
    name       text NOT NULL,
    body       text NOT NULL,
    language   text NOT NULL DEFAULT 'es',
    CONSTRAINT message_templates_tenant_name_key UNIQUE (tenant_id, name)
);

CREATE TABLE IF NOT EXISTS automation_rules (
    id          bigserial PRIMARY KEY,
    tenant_id   bigint NOT NULL REFERENCES tenants (id),
    trigger     text NOT NULL,
    conditions  jsonb NOT NULL DEFAULT '{}'::jsonb,
    actions     jsonb NOT NULL DEFAULT '[]'::jsonb,
    enabled     boolean NOT NULL DEFAULT true
);
CREATE INDEX IF NOT EXISTS automation_rules_tenant_trigger_idx ON automation_rules (tenant_id, trigger);
