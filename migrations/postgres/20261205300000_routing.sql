-- Routing rules (权属/属地) and the department of handler accounts.
-- Same tables as the SQLite migration of the same name.

-- One rule sends the cases of an area to a department. basis 'owner' (权属) names the
-- unit that owns the facilities there, 'territory' (属地) the unit responsible for the
-- place. category is a minor category code (E0101), a kind letter with a major code
-- (E01), or NULL for every category. Rules are replaced as a whole set on import.
CREATE TABLE routing_rule (
    routing_rule_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    basis TEXT NOT NULL CHECK (basis IN ('owner', 'territory')),
    area_id BIGINT NOT NULL REFERENCES area (area_id) ON DELETE CASCADE,
    category TEXT CHECK (category IS NULL OR length(category) IN (3, 5)),
    department_code TEXT NOT NULL REFERENCES department (department_code) ON DELETE RESTRICT
);
-- At most one rule per basis, area and category; NULL (every category) counts once.
CREATE UNIQUE INDEX routing_rule_key_idx
    ON routing_rule (basis, area_id, COALESCE(category, ''));

-- A handler with a department reads and acts only on the cases dispatched to it;
-- NULL keeps the area scope alone.
ALTER TABLE app_user ADD COLUMN department_code TEXT
    REFERENCES department (department_code) ON DELETE SET NULL;
