-- Omega Prime, without lock-outs: the mark belongs to an active CEO only. When the first CEO is
-- suspended, stops being a CEO, or is removed, the mark goes with them, and the next CEO who
-- registers is activated by the rule (patch 40) — before, the mark stayed behind and the unique
-- index refused that CEO: nobody could get into the clinic.
--
-- Taking the mark off serialises on the clinic's row, like a registration does, so a
-- registration racing a suspension sees it committed or not at all.

CREATE OR REPLACE FUNCTION users_omega_prime_release() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.omega_prime AND (NEW.role <> 'ceo' OR NEW.status <> 'active') THEN
        PERFORM 1 FROM tenants WHERE id = NEW.tenant_id FOR UPDATE;
        NEW.omega_prime := false;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER users_omega_prime_release
    BEFORE UPDATE OF role, status ON users
    FOR EACH ROW EXECUTE FUNCTION users_omega_prime_release();

-- rows a past suspension left marked
UPDATE users SET omega_prime = false
WHERE omega_prime AND NOT (role = 'ceo' AND status = 'active');

DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conname = 'users_omega_prime_is_active_ceo' AND conrelid = 'users'::regclass
    ) THEN
        ALTER TABLE users ADD CONSTRAINT users_omega_prime_is_active_ceo
            CHECK (NOT omega_prime OR (role = 'ceo' AND status = 'active'));
    END IF;
END
$$;
