-- Patch 36: every WhatsApp variant of lead.source becomes 'whatsapp_inbound'.
-- A data patch spanning clinics on purpose; running it twice changes nothing.
UPDATE leads
SET source = 'whatsapp_inbound'
WHERE source IN ('whatsapp', 'WhatsApp', 'wa', 'whatsapp-inbound', 'WHATSAPP', 'whatsapp_in');
