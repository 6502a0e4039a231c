-- A patient with appointments ahead cannot go back to guest, and a booking racing a demotion
-- cannot both commit.
--
-- Both triggers lock the patient's row: the demotion by updating it, the booking with FOR SHARE
-- (FOR KEY SHARE, what the foreign key takes, would not conflict with the update). Whichever
-- comes second waits for the first to commit, then sees what it did: the booking finds the
-- patient a guest, or the demotion finds the appointment.

CREATE OR REPLACE FUNCTION appointments_require_active_patient() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM patients
    WHERE tenant_id = NEW.tenant_id AND id = NEW.patient_id AND status = 'active'
    FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'patient % is not active: complete their data before booking', NEW.patient_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION patients_keep_active_with_appointments() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'active' AND NEW.status <> 'active' AND EXISTS (
        SELECT 1 FROM appointments
        WHERE tenant_id = OLD.tenant_id AND patient_id = OLD.id AND starts_at > now()
          AND lower(status) NOT IN ('cancelled', 'canceled')
    ) THEN
        RAISE EXCEPTION 'patient % has appointments ahead: cancel them before making them a guest', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER patients_keep_active_with_appointments
    BEFORE UPDATE OF status ON patients
    FOR EACH ROW EXECUTE FUNCTION patients_keep_active_with_appointments();
