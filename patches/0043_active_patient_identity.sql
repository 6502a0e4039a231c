-- An active patient has a name, a surname and a DNI that are not blank (patch 40 only refused
-- NULL: '' or '   ' passed). Replaces patients_active_has_data.
--
-- On a database whose rows break the rule, the constraint is still added (NOT VALID: new and
-- updated rows are checked) and a WARNING says how many rows to fix; VALIDATE it after fixing
-- them. A new install gets it validated.
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conname = 'patients_active_identity' AND conrelid = 'patients'::regclass
    ) THEN
        ALTER TABLE patients ADD CONSTRAINT patients_active_identity CHECK (
            status <> 'active'
            OR (
                coalesce(btrim(first_name), '') <> ''
                AND coalesce(btrim(last_name), '') <> ''
                AND coalesce(btrim(dni), '') <> ''
            )
        ) NOT VALID;
        BEGIN
            ALTER TABLE patients VALIDATE CONSTRAINT patients_active_identity;
        EXCEPTION WHEN check_violation THEN
            RAISE WARNING 'patients_active_identity is NOT VALID: % active patients have a blank name, surname or DNI; fix them, then ALTER TABLE patients VALIDATE CONSTRAINT patients_active_identity',
                (SELECT count(*) FROM patients
                 WHERE status = 'active' AND (coalesce(btrim(first_name), '') = ''
                    OR coalesce(btrim(last_name), '') = '' OR coalesce(btrim(dni), '') = ''));
        END;
    END IF;
END
$$;

ALTER TABLE patients DROP CONSTRAINT IF EXISTS patients_active_has_data;
