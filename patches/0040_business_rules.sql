-- Patch 40: business rules kept by the database itself.
--
-- Lead-to-patient conversion: an 'active' patient has the data an appointment needs, and
-- appointments are only booked for active patients.
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conname = 'patients_active_has_data' AND conrelid = 'patients'::regclass
    ) THEN
        ALTER TABLE patients ADD CONSTRAINT patients_active_has_data CHECK (
            status <> 'active'
            OR (first_name IS NOT NULL AND last_name IS NOT NULL AND dni IS NOT NULL)
        );
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION appointments_require_active_patient() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM patients
        WHERE tenant_id = NEW.tenant_id AND id = NEW.patient_id AND status = 'active'
    ) THEN
        RAISE EXCEPTION 'patient % is not active: complete their data before booking', NEW.patient_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER appointments_require_active_patient
    BEFORE INSERT OR UPDATE OF patient_id ON appointments
    FOR EACH ROW EXECUTE FUNCTION appointments_require_active_patient();

-- "Omega Prime": the first CEO who registers for a clinic is activated automatically, so that
-- nobody is locked out of a new clinic; only one, even when two register at the same moment.
ALTER TABLE users ADD COLUMN IF NOT EXISTS omega_prime boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX IF NOT EXISTS users_one_omega_prime ON users (tenant_id) WHERE omega_prime;

CREATE OR REPLACE FUNCTION users_omega_prime() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.role = 'ceo' THEN
        -- serialise registrations of one clinic: the second waits for the first to commit
        PERFORM 1 FROM tenants WHERE id = NEW.tenant_id FOR UPDATE;
        IF NOT EXISTS (
            SELECT 1 FROM users WHERE tenant_id = NEW.tenant_id AND role = 'ceo' AND status = 'active'
        ) THEN
            NEW.status := 'active';
            NEW.omega_prime := true;
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER users_omega_prime
    BEFORE INSERT ON users
    FOR EACH ROW EXECUTE FUNCTION users_omega_prime();
