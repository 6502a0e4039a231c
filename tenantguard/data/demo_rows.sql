-- The rows of `tenantguard demo`: two clinics and their patients.
INSERT INTO tenants (id, name) VALUES (1, 'Clinica Norte'), (2, 'Clinica Sur');
INSERT INTO patients (tenant_id, first_name, last_name, dni, phone_number, status)
VALUES (1, 'Ana', 'Paz', '30111222', '111', 'active'),
       (1, 'Bruno', NULL, NULL, '112', 'guest'),
       (2, 'Carla', NULL, NULL, '221', 'guest');
