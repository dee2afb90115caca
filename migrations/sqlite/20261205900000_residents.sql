-- The resident registry (居民档案): households, residents, administrator-defined tags,
-- and organisations (merchants, property companies) with contacts and premises. Same
-- tables as the PostgreSQL migration of the same name.
--
-- Identity and phone numbers are never stored in clear text. Each is kept three ways:
-- `*_sealed`, AES-256-GCM ciphertext that names its data key ('v1:<key id>:<base64>');
-- `*_hash`, an HMAC-SHA256 of the normalized value under the lookup key, for exact
-- search and duplicate detection; `*_masked`, the form shown on screen.

-- The lookup key, sealed under the data key, so that a database copy alone cannot
-- reverse the hashes and a data-key rotation keeps them.
CREATE TABLE resident_key (
    purpose TEXT PRIMARY KEY CHECK (purpose IN ('lookup')),
    sealed TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE household (
    household_id INTEGER PRIMARY KEY AUTOINCREMENT,
    address TEXT NOT NULL CHECK (length(address) BETWEEN 1 AND 200),
    -- The grid the household belongs to; it decides who may read its residents.
    grid_id INTEGER NOT NULL REFERENCES area (area_id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX household_grid_idx ON household (grid_id);

CREATE TABLE resident (
    resident_id INTEGER PRIMARY KEY AUTOINCREMENT,
    household_id INTEGER NOT NULL REFERENCES household (household_id),
    -- Copied from the household so that area-scoped lists need no join.
    grid_id INTEGER NOT NULL REFERENCES area (area_id),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    gender TEXT NOT NULL CHECK (gender IN ('male', 'female')),
    birth_date TEXT NOT NULL,
    -- Relation to the head of the household (与户主关系).
    relation TEXT NOT NULL
        CHECK (relation IN ('head', 'spouse', 'child', 'parent', 'grandchild', 'sibling', 'other')),
    identity_sealed TEXT NOT NULL,
    -- One resident per identity number: a second registration is a duplicate.
    identity_hash TEXT NOT NULL UNIQUE,
    identity_masked TEXT NOT NULL,
    phone_sealed TEXT,
    phone_hash TEXT,
    phone_masked TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX resident_grid_idx ON resident (grid_id);
CREATE INDEX resident_household_idx ON resident (household_id);
CREATE INDEX resident_phone_hash_idx ON resident (phone_hash);

-- Tag definitions, managed by administrators. `kind` says which attributes an
-- assignment carries: none, a disability category and grade, or a place and a date.
CREATE TABLE resident_tag (
    tag_id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE CHECK (length(code) BETWEEN 1 AND 40),
    name_zh TEXT NOT NULL CHECK (length(name_zh) BETWEEN 1 AND 50),
    name_en TEXT NOT NULL CHECK (length(name_en) BETWEEN 1 AND 80),
    kind TEXT NOT NULL CHECK (kind IN ('plain', 'disability', 'returned')),
    created_at TEXT NOT NULL
);

CREATE TABLE resident_tag_assignment (
    resident_id INTEGER NOT NULL REFERENCES resident (resident_id) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES resident_tag (tag_id),
    -- Disability tags: category and grade 1 (most severe) to 4.
    disability_category TEXT
        CHECK (disability_category IN
            ('visual', 'hearing', 'speech', 'physical', 'intellectual', 'mental', 'multiple')),
    disability_grade INTEGER CHECK (disability_grade BETWEEN 1 AND 4),
    -- Returned tags: the area the resident came back from, and since when.
    from_area TEXT CHECK (length(from_area) BETWEEN 1 AND 100),
    since TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (resident_id, tag_id)
);
CREATE INDEX resident_tag_assignment_tag_idx ON resident_tag_assignment (tag_id);

-- Merchants and property companies (商户/物业).
CREATE TABLE organisation (
    organisation_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    kind TEXT NOT NULL CHECK (kind IN ('merchant', 'property_company')),
    -- Unified social credit code (统一社会信用代码), public by law, so stored in clear.
    credit_code TEXT UNIQUE CHECK (length(credit_code) = 18),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE organisation_contact (
    contact_id INTEGER PRIMARY KEY AUTOINCREMENT,
    organisation_id INTEGER NOT NULL REFERENCES organisation (organisation_id) ON DELETE CASCADE,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    -- Such as 店长 or 物业经理.
    position TEXT,
    phone_sealed TEXT,
    phone_hash TEXT,
    phone_masked TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX organisation_contact_org_idx ON organisation_contact (organisation_id);
CREATE INDEX organisation_contact_phone_hash_idx ON organisation_contact (phone_hash);

-- Where an organisation operates: a gazetteer place when there is one, and the grid.
CREATE TABLE organisation_premises (
    premises_id INTEGER PRIMARY KEY AUTOINCREMENT,
    organisation_id INTEGER NOT NULL REFERENCES organisation (organisation_id) ON DELETE CASCADE,
    place_id INTEGER REFERENCES place (place_id),
    grid_id INTEGER NOT NULL REFERENCES area (area_id),
    address TEXT NOT NULL CHECK (length(address) BETWEEN 1 AND 200),
    created_at TEXT NOT NULL
);
CREATE INDEX organisation_premises_org_idx ON organisation_premises (organisation_id);
CREATE INDEX organisation_premises_grid_idx ON organisation_premises (grid_id);
