-- Lead-source normalisation, every spelling and every new row (patch 36 only rewrote the
-- spellings it listed, in the rows present when it ran).
-- A source is WhatsApp when, lower-cased and stripped of everything but letters and digits, it
-- is one of the spellings below: 'WhatsApp', ' whatsapp ', 'WA', 'whats app', 'Whatsapp-Inbound',
-- 'wsp', 'wpp', 'wasap', … all become 'whatsapp_inbound'. Other sources are left as they are.

CREATE OR REPLACE FUNCTION normalize_lead_source(source text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN lower(regexp_replace(source, '[^[:alnum:]]', '', 'g')) IN (
        'whatsapp', 'whatsappinbound', 'whatsappin', 'inboundwhatsapp', 'whatsap', 'watsapp',
        'watsap', 'wasap', 'wassap', 'whatapp', 'wa', 'wsp', 'wpp', 'wapp'
    ) THEN 'whatsapp_inbound'
    ELSE source
END;

CREATE OR REPLACE FUNCTION leads_normalize_source() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.source := normalize_lead_source(NEW.source);
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER leads_normalize_source
    BEFORE INSERT OR UPDATE OF source ON leads
    FOR EACH ROW EXECUTE FUNCTION leads_normalize_source();

-- the rows already there; a second run finds nothing to change
UPDATE leads SET source = normalize_lead_source(source)
WHERE source IS DISTINCT FROM normalize_lead_source(source);
