//! The schema migrations of both backends, described once.
//!
//! Each [`Migration`] is one numbered step with its text for every backend
//! side by side: SQLite's ([`crate::sqlite`] applies it) and PostgreSQL's
//! ([`crate::postgres`] applies it). The version numbers are shared: a step's
//! number names the same change in both.
//!
//! How this grows: a step that PostgreSQL does not have yet says
//! `postgres: None`, and the PostgreSQL store applies the steps it has and
//! records each by number, so porting an older step later (say 2, when 3 is
//! already applied) just fills the gap. A new step must give both texts. The
//! two texts differ only where the dialects do (`STRICT` and `BLOB` against
//! `BYTEA`, `json_valid` against `JSONB`, integer flags against `BOOLEAN`,
//! a rowid's order against an explicit `position` column);
//! once every step is ported, the texts can be generated from one neutral
//! table description per step instead, without renumbering anything. Times
//! are RFC 3339 text in both, so a stored time reads back to the nanosecond
//! exactly as written.

/// One schema change, for every backend.
pub(crate) struct Migration {
    /// The schema version this step brings a store to; increasing, shared by the backends.
    pub(crate) version: i64,
    /// What the step adds, recorded with it.
    pub(crate) name: &'static str,
    /// The step in SQLite.
    pub(crate) sqlite: &'static str,
    /// The step in PostgreSQL, or `None` while the PostgreSQL store does not have it.
    pub(crate) postgres: Option<&'static str>,
}

/// Every step, oldest first.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "accounts, api keys and the change counter",
        sqlite: "
CREATE TABLE accounts (
    id          TEXT PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 1 AND 64),
    subject     TEXT NOT NULL CHECK (json_valid(subject) AND json_type(subject) = 'object'),
    disabled    INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE api_keys (
    prefix       TEXT PRIMARY KEY NOT NULL CHECK (length(prefix) = 8),
    account      TEXT NOT NULL REFERENCES accounts (id) ON DELETE RESTRICT,
    secret_hash  BLOB NOT NULL CHECK (length(secret_hash) = 32),
    label        TEXT,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT
) STRICT;

CREATE INDEX api_keys_by_account ON api_keys (account);

CREATE TABLE change_counter (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  INTEGER NOT NULL
) STRICT;

INSERT INTO change_counter (id, version) VALUES (1, 0);
",
        postgres: Some(
            "
CREATE TABLE accounts (
    id          TEXT PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 1 AND 64),
    subject     JSONB NOT NULL CHECK (jsonb_typeof(subject) = 'object'),
    disabled    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE api_keys (
    prefix       TEXT PRIMARY KEY NOT NULL CHECK (length(prefix) = 8),
    account      TEXT NOT NULL REFERENCES accounts (id) ON DELETE RESTRICT,
    secret_hash  BYTEA NOT NULL CHECK (length(secret_hash) = 32),
    label        TEXT,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT
);

CREATE INDEX api_keys_by_account ON api_keys (account);

CREATE TABLE change_counter (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  BIGINT NOT NULL
);

INSERT INTO change_counter (id, version) VALUES (1, 0);
",
        ),
    },
    Migration {
        version: 2,
        name: "screening: list snapshots, dispositions and hits",
        sqlite: "
CREATE TABLE screening_snapshots (
    id           INTEGER PRIMARY KEY,
    hash         TEXT NOT NULL CHECK (length(hash) > 0),
    published    TEXT,
    imported_at  TEXT NOT NULL,
    counts       TEXT NOT NULL CHECK (json_valid(counts) AND json_type(counts) = 'object'),
    sources      TEXT NOT NULL CHECK (json_valid(sources)),
    problems     INTEGER NOT NULL CHECK (problems >= 0)
) STRICT;

CREATE TABLE screening_entries (
    snapshot  INTEGER NOT NULL REFERENCES screening_snapshots (id) ON DELETE CASCADE,
    list      TEXT NOT NULL,
    uid       TEXT NOT NULL,
    version   TEXT NOT NULL,
    entry     TEXT NOT NULL CHECK (json_valid(entry)),
    UNIQUE (snapshot, list, uid)
) STRICT;

CREATE TABLE screening_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    active_snapshot  INTEGER REFERENCES screening_snapshots (id)
) STRICT;

INSERT INTO screening_state (id, active_snapshot) VALUES (1, NULL);

CREATE TABLE screening_dispositions (
    id             INTEGER PRIMARY KEY,
    account        TEXT NOT NULL REFERENCES accounts (id),
    list           TEXT NOT NULL,
    uid            TEXT NOT NULL,
    entry_version  TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('cleared', 'confirmed')),
    reviewer       TEXT NOT NULL CHECK (length(reviewer) > 0),
    note           TEXT,
    decided_at     TEXT NOT NULL
) STRICT;

CREATE INDEX screening_dispositions_by_hit ON screening_dispositions (account, list, uid, id);

CREATE TABLE screening_hits (
    account        TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    list           TEXT NOT NULL,
    uid            TEXT NOT NULL,
    entry_version  TEXT NOT NULL,
    entry_name     TEXT NOT NULL,
    matched_name   TEXT NOT NULL,
    matched_by     TEXT NOT NULL,
    score          REAL NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'cleared')),
    ownership      TEXT CHECK (ownership IS NULL OR json_valid(ownership)),
    first_seen     TEXT NOT NULL,
    PRIMARY KEY (account, list, uid)
) STRICT, WITHOUT ROWID;
",
        // `position` keeps the entries in the order they were saved, which
        // SQLite's rowid keeps there.
        postgres: Some(
            "
CREATE TABLE screening_snapshots (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hash         TEXT NOT NULL CHECK (length(hash) > 0),
    published    TEXT,
    imported_at  TEXT NOT NULL,
    counts       JSONB NOT NULL CHECK (jsonb_typeof(counts) = 'object'),
    sources      JSONB NOT NULL,
    problems     BIGINT NOT NULL CHECK (problems >= 0)
);

CREATE TABLE screening_entries (
    snapshot  BIGINT NOT NULL REFERENCES screening_snapshots (id) ON DELETE CASCADE,
    position  BIGINT NOT NULL,
    list      TEXT NOT NULL,
    uid       TEXT NOT NULL,
    version   TEXT NOT NULL,
    entry     JSONB NOT NULL,
    PRIMARY KEY (snapshot, position),
    UNIQUE (snapshot, list, uid)
);

CREATE TABLE screening_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    active_snapshot  BIGINT REFERENCES screening_snapshots (id)
);

INSERT INTO screening_state (id, active_snapshot) VALUES (1, NULL);

CREATE TABLE screening_dispositions (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account        TEXT NOT NULL REFERENCES accounts (id),
    list           TEXT NOT NULL,
    uid            TEXT NOT NULL,
    entry_version  TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('cleared', 'confirmed')),
    reviewer       TEXT NOT NULL CHECK (length(reviewer) > 0),
    note           TEXT,
    decided_at     TEXT NOT NULL
);

CREATE INDEX screening_dispositions_by_hit ON screening_dispositions (account, list, uid, id);

CREATE TABLE screening_hits (
    account        TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    list           TEXT NOT NULL,
    uid            TEXT NOT NULL,
    entry_version  TEXT NOT NULL,
    entry_name     TEXT NOT NULL,
    matched_name   TEXT NOT NULL,
    matched_by     TEXT NOT NULL,
    score          DOUBLE PRECISION NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'cleared')),
    ownership      JSONB,
    first_seen     TEXT NOT NULL,
    PRIMARY KEY (account, list, uid)
);
",
        ),
    },
    Migration {
        version: 3,
        name: "the change journal of administrative changes for the audit log",
        sqlite: "
CREATE TABLE admin_changes (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL CHECK (length(actor) > 0),
    action   TEXT NOT NULL CHECK (length(action) > 0),
    subject  TEXT NOT NULL,
    details  TEXT NOT NULL CHECK (json_valid(details) AND json_type(details) = 'object')
) STRICT;
",
        postgres: Some(
            "
CREATE TABLE admin_changes (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL CHECK (length(actor) > 0),
    action   TEXT NOT NULL CHECK (length(action) > 0),
    subject  TEXT NOT NULL,
    details  JSONB NOT NULL CHECK (jsonb_typeof(details) = 'object')
);
",
        ),
    },
    Migration {
        version: 4,
        name: "evidence: facts received with their provenance, deliveries seen, records kept apart",
        sqlite: "
ALTER TABLE accounts ADD COLUMN record TEXT
    CHECK (record IS NULL OR (json_valid(record) AND json_type(record) = 'object'));

CREATE TABLE evidence (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    account           TEXT NOT NULL REFERENCES accounts (id),
    attribute         TEXT NOT NULL CHECK (attribute IN ('citizenships', 'permanent_residencies', 'residence_country', 'residence_region', 'protected_individual', 'us_person', 'organization', 'name', 'birth_year')),
    value             TEXT NOT NULL CHECK (json_valid(value)),
    level             TEXT NOT NULL CHECK (level IN ('none', 'self_declared', 'document_verified', 'attested')),
    source_kind       TEXT NOT NULL CHECK (source_kind IN ('kyc_vendor', 'oidc', 'org_attestation', 'self_declaration', 'staff', 'import')),
    source            TEXT NOT NULL CHECK (length(source) > 0),
    object_id         TEXT,
    trust_framework   TEXT,
    method            TEXT,
    document_country  TEXT,
    verified_at       TEXT,
    expires_at        TEXT,
    received_at       TEXT NOT NULL,
    delivery_id       TEXT,
    payload_sha256    TEXT NOT NULL CHECK (length(payload_sha256) = 64),
    withdrawn_at      TEXT
) STRICT;

CREATE INDEX evidence_by_account ON evidence (account, id);

CREATE TABLE deliveries (
    source          TEXT NOT NULL,
    delivery_id     TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('accepted', 'pending', 'orphan')),
    account         TEXT NOT NULL,
    payload_sha256  TEXT NOT NULL CHECK (length(payload_sha256) = 64),
    event_time      TEXT,
    PRIMARY KEY (source, delivery_id)
) STRICT, WITHOUT ROWID;
",
        postgres: Some(
            "
ALTER TABLE accounts ADD COLUMN record JSONB
    CHECK (record IS NULL OR jsonb_typeof(record) = 'object');

CREATE TABLE evidence (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account           TEXT NOT NULL REFERENCES accounts (id),
    attribute         TEXT NOT NULL CHECK (attribute IN ('citizenships', 'permanent_residencies', 'residence_country', 'residence_region', 'protected_individual', 'us_person', 'organization', 'name', 'birth_year')),
    value             JSONB NOT NULL,
    level             TEXT NOT NULL CHECK (level IN ('none', 'self_declared', 'document_verified', 'attested')),
    source_kind       TEXT NOT NULL CHECK (source_kind IN ('kyc_vendor', 'oidc', 'org_attestation', 'self_declaration', 'staff', 'import')),
    source            TEXT NOT NULL CHECK (length(source) > 0),
    object_id         TEXT,
    trust_framework   TEXT,
    method            TEXT,
    document_country  TEXT,
    verified_at       TEXT,
    expires_at        TEXT,
    received_at       TEXT NOT NULL,
    delivery_id       TEXT,
    payload_sha256    TEXT NOT NULL CHECK (length(payload_sha256) = 64),
    withdrawn_at      TEXT
);

CREATE INDEX evidence_by_account ON evidence (account, id);

CREATE TABLE deliveries (
    source          TEXT NOT NULL,
    delivery_id     TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('accepted', 'pending', 'orphan')),
    account         TEXT NOT NULL,
    payload_sha256  TEXT NOT NULL CHECK (length(payload_sha256) = 64),
    event_time      TEXT,
    PRIMARY KEY (source, delivery_id)
);
",
        ),
    },
    Migration {
        version: 5,
        name: "licences: export licences as records, with who holds them, whom they name and their approval",
        sqlite: "
CREATE TABLE licences (
    number                  TEXT PRIMARY KEY NOT NULL CHECK (length(number) BETWEEN 1 AND 64),
    authority               TEXT NOT NULL CHECK (length(authority) > 0),
    directives              TEXT NOT NULL CHECK (json_valid(directives) AND json_type(directives) = 'array' AND json_array_length(directives) > 0),
    holder                  TEXT NOT NULL REFERENCES accounts (id),
    individuals             TEXT NOT NULL CHECK (json_valid(individuals) AND json_type(individuals) = 'array'),
    excluded_nationalities  TEXT NOT NULL CHECK (json_valid(excluded_nationalities) AND json_type(excluded_nationalities) = 'array'),
    models                  TEXT NOT NULL CHECK (json_valid(models) AND json_type(models) = 'array'),
    conditions              TEXT,
    issued                  TEXT NOT NULL,
    expires                 TEXT NOT NULL,
    source_kind             TEXT NOT NULL CHECK (source_kind IN ('staff', 'org_submission')),
    status                  TEXT NOT NULL CHECK (status IN ('active', 'pending', 'revoked')),
    recorded_at             TEXT NOT NULL,
    actor                   TEXT NOT NULL CHECK (length(actor) > 0),
    approved_at             TEXT,
    approved_by             TEXT,
    revoked_at              TEXT,
    revoked_by              TEXT,
    CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
) STRICT;

CREATE INDEX licences_by_holder ON licences (holder, status);
",
        postgres: Some(
            "
CREATE TABLE licences (
    number                  TEXT PRIMARY KEY NOT NULL CHECK (length(number) BETWEEN 1 AND 64),
    authority               TEXT NOT NULL CHECK (length(authority) > 0),
    directives              JSONB NOT NULL CHECK (CASE WHEN jsonb_typeof(directives) = 'array' THEN jsonb_array_length(directives) > 0 ELSE FALSE END),
    holder                  TEXT NOT NULL REFERENCES accounts (id),
    individuals             JSONB NOT NULL CHECK (jsonb_typeof(individuals) = 'array'),
    excluded_nationalities  JSONB NOT NULL CHECK (jsonb_typeof(excluded_nationalities) = 'array'),
    models                  JSONB NOT NULL CHECK (jsonb_typeof(models) = 'array'),
    conditions              TEXT,
    issued                  TEXT NOT NULL,
    expires                 TEXT NOT NULL,
    source_kind             TEXT NOT NULL CHECK (source_kind IN ('staff', 'org_submission')),
    status                  TEXT NOT NULL CHECK (status IN ('active', 'pending', 'revoked')),
    recorded_at             TEXT NOT NULL,
    actor                   TEXT NOT NULL CHECK (length(actor) > 0),
    approved_at             TEXT,
    approved_by             TEXT,
    revoked_at              TEXT,
    revoked_by              TEXT,
    CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
);

CREATE INDEX licences_by_holder ON licences (holder, status);
",
        ),
    },
    Migration {
        version: 6,
        name: "end users behind an organisation's key, registered as member accounts",
        sqlite: "
CREATE TABLE end_users (
    organization     TEXT NOT NULL REFERENCES accounts (id),
    end_user_sha256  TEXT NOT NULL CHECK (length(end_user_sha256) = 64 OR end_user_sha256 = '*'),
    account          TEXT NOT NULL REFERENCES accounts (id),
    registered_at    TEXT NOT NULL,
    PRIMARY KEY (organization, end_user_sha256)
) STRICT, WITHOUT ROWID;
",
        postgres: Some(
            "
CREATE TABLE end_users (
    organization     TEXT NOT NULL REFERENCES accounts (id),
    end_user_sha256  TEXT NOT NULL CHECK (length(end_user_sha256) = 64 OR end_user_sha256 = '*'),
    account          TEXT NOT NULL REFERENCES accounts (id),
    registered_at    TEXT NOT NULL,
    PRIMARY KEY (organization, end_user_sha256)
);
",
        ),
    },
    Migration {
        version: 7,
        name: "when an account's subject is next derived again, as evidence expires",
        sqlite: "
ALTER TABLE accounts ADD COLUMN rederive_at INTEGER;
CREATE INDEX accounts_by_rederive_at ON accounts (rederive_at) WHERE rederive_at IS NOT NULL;
",
        postgres: Some(
            "
ALTER TABLE accounts ADD COLUMN rederive_at BIGINT;
CREATE INDEX accounts_by_rederive_at ON accounts (rederive_at) WHERE rederive_at IS NOT NULL;
",
        ),
    },
    Migration {
        version: 8,
        name: "revocations remembered, so a fact from before one that arrives later is withdrawn",
        sqlite: "
CREATE TABLE revocations (
    account    TEXT NOT NULL,
    source     TEXT NOT NULL,
    object_id  TEXT NOT NULL,
    through    TEXT NOT NULL,
    PRIMARY KEY (account, source, object_id)
) STRICT, WITHOUT ROWID;
",
        postgres: Some(
            "
CREATE TABLE revocations (
    account    TEXT NOT NULL,
    source     TEXT NOT NULL,
    object_id  TEXT NOT NULL,
    through    TEXT NOT NULL,
    PRIMARY KEY (account, source, object_id)
);
",
        ),
    },
    Migration {
        version: 9,
        name: "objects a provider keeps for a customer (stored responses, files, batches, fine-tuning jobs), with who owns them",
        sqlite: "
CREATE TABLE provider_objects (
    kind        TEXT NOT NULL CHECK (kind IN ('response', 'file', 'batch', 'message_batch', 'fine_tuning_job')),
    id          TEXT NOT NULL CHECK (length(id) BETWEEN 1 AND 256),
    account     TEXT NOT NULL CHECK (length(account) > 0),
    model       TEXT,
    details     TEXT NOT NULL CHECK (json_valid(details) AND json_type(details) = 'object'),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) STRICT, WITHOUT ROWID;

CREATE INDEX provider_objects_by_account ON provider_objects (account, kind);
",
        postgres: Some(
            "
CREATE TABLE provider_objects (
    kind        TEXT NOT NULL CHECK (kind IN ('response', 'file', 'batch', 'message_batch', 'fine_tuning_job')),
    id          TEXT NOT NULL CHECK (length(id) BETWEEN 1 AND 256),
    account     TEXT NOT NULL CHECK (length(account) > 0),
    model       TEXT,
    details     JSONB NOT NULL CHECK (jsonb_typeof(details) = 'object'),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);

CREATE INDEX provider_objects_by_account ON provider_objects (account, kind);
",
        ),
    },
    Migration {
        version: 10,
        name: "the gateway nodes that use the store, and how far each has copied the change journal",
        sqlite: "
CREATE TABLE fleet_nodes (
    node              TEXT PRIMARY KEY NOT NULL CHECK (length(node) BETWEEN 1 AND 256),
    listen            TEXT NOT NULL,
    policy_version    TEXT NOT NULL,
    started_at        TEXT NOT NULL,
    heartbeat_at      TEXT NOT NULL,
    audit_size        INTEGER NOT NULL CHECK (audit_size >= 0),
    audit_checkpoint  TEXT,
    healthy           INTEGER NOT NULL CHECK (healthy IN (0, 1)),
    detail            TEXT NOT NULL
) STRICT;

CREATE TABLE journal_cursors (
    node     TEXT PRIMARY KEY NOT NULL CHECK (length(node) BETWEEN 1 AND 256),
    through  INTEGER NOT NULL CHECK (through >= 0)
) STRICT;
",
        postgres: Some(
            "
CREATE TABLE fleet_nodes (
    node              TEXT PRIMARY KEY NOT NULL CHECK (length(node) BETWEEN 1 AND 256),
    listen            TEXT NOT NULL,
    policy_version    TEXT NOT NULL,
    started_at        TEXT NOT NULL,
    heartbeat_at      TEXT NOT NULL,
    audit_size        BIGINT NOT NULL CHECK (audit_size >= 0),
    audit_checkpoint  TEXT,
    healthy           BOOLEAN NOT NULL,
    detail            TEXT NOT NULL
);

CREATE TABLE journal_cursors (
    node     TEXT PRIMARY KEY NOT NULL CHECK (length(node) BETWEEN 1 AND 256),
    through  BIGINT NOT NULL CHECK (through >= 0)
);
",
        ),
    },
    Migration {
        version: 11,
        name: "every node's audit log as shipped: its key, its entries and its signed checkpoints",
        sqlite: "
CREATE TABLE shipped_logs (
    node           TEXT PRIMARY KEY NOT NULL CHECK (length(node) BETWEEN 1 AND 256),
    public_key     TEXT NOT NULL,
    registered_at  TEXT NOT NULL
) STRICT;

CREATE TABLE shipped_entries (
    node   TEXT NOT NULL REFERENCES shipped_logs (node),
    idx    INTEGER NOT NULL CHECK (idx >= 0),
    leaf   BLOB NOT NULL,
    PRIMARY KEY (node, idx)
) STRICT, WITHOUT ROWID;

CREATE TABLE shipped_checkpoints (
    node  TEXT NOT NULL REFERENCES shipped_logs (node),
    size  INTEGER NOT NULL CHECK (size >= 0),
    note  TEXT NOT NULL,
    PRIMARY KEY (node, size)
) STRICT, WITHOUT ROWID;
",
        postgres: Some(
            "
CREATE TABLE shipped_logs (
    node           TEXT PRIMARY KEY NOT NULL CHECK (length(node) BETWEEN 1 AND 256),
    public_key     TEXT NOT NULL,
    registered_at  TEXT NOT NULL
);

CREATE TABLE shipped_entries (
    node   TEXT NOT NULL REFERENCES shipped_logs (node),
    idx    BIGINT NOT NULL CHECK (idx >= 0),
    leaf   BYTEA NOT NULL,
    PRIMARY KEY (node, idx)
);

CREATE TABLE shipped_checkpoints (
    node  TEXT NOT NULL REFERENCES shipped_logs (node),
    size  BIGINT NOT NULL CHECK (size >= 0),
    note  TEXT NOT NULL,
    PRIMARY KEY (node, size)
);
",
        ),
    },
    Migration {
        version: 12,
        name: "how far each node's log is shipped and the root it had there, so a shipment is checked against the node's own tree",
        sqlite: "
ALTER TABLE shipped_logs ADD COLUMN size INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0);
ALTER TABLE shipped_logs ADD COLUMN root BLOB CHECK (root IS NULL OR length(root) = 32);
UPDATE shipped_logs SET size = (SELECT count(*) FROM shipped_entries e WHERE e.node = shipped_logs.node);
",
        postgres: Some(
            "
ALTER TABLE shipped_logs ADD COLUMN size BIGINT NOT NULL DEFAULT 0 CHECK (size >= 0);
ALTER TABLE shipped_logs ADD COLUMN root BYTEA CHECK (root IS NULL OR length(root) = 32);
UPDATE shipped_logs SET size = (SELECT count(*) FROM shipped_entries e WHERE e.node = shipped_logs.node);
",
        ),
    },
    Migration {
        version: 13,
        name: "the fleet's published directive bundles, the active one, and the bundle each node runs",
        sqlite: "
CREATE TABLE policy_bundles (
    id              TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 71),
    policy_version  TEXT NOT NULL,
    content         BLOB NOT NULL,
    signature       TEXT NOT NULL,
    published_at    TEXT NOT NULL,
    published_by    TEXT NOT NULL
) STRICT;

CREATE TABLE policy_active (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    bundle        TEXT NOT NULL REFERENCES policy_bundles (id),
    activated_at  TEXT NOT NULL
) STRICT;

ALTER TABLE fleet_nodes ADD COLUMN policy_bundle TEXT;
",
        postgres: Some(
            "
CREATE TABLE policy_bundles (
    id              TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 71),
    policy_version  TEXT NOT NULL,
    content         BYTEA NOT NULL,
    signature       TEXT NOT NULL,
    published_at    TEXT NOT NULL,
    published_by    TEXT NOT NULL
);

CREATE TABLE policy_active (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    bundle        TEXT NOT NULL REFERENCES policy_bundles (id),
    activated_at  TEXT NOT NULL
);

ALTER TABLE fleet_nodes ADD COLUMN policy_bundle TEXT;
",
        ),
    },
    Migration {
        version: 14,
        name: "an index of each account's id and record text, so a search for text in them reads the index instead of every record",
        // INVARIANT: the indexed text is exactly what `find`'s scan matches
        // (`lower(id)`, then a line break, then `lower(subject)`), so the
        // index and the scan for text too short to index agree. Triggers
        // keep it in step with every write to `accounts`, whichever path
        // makes it. Index rows are keyed by `account_search_keys`, not by
        // the accounts' rowids, which `VACUUM` may renumber.
        sqlite: "
CREATE TABLE account_search_keys (
    key  INTEGER PRIMARY KEY,
    id   TEXT NOT NULL UNIQUE
) STRICT;

CREATE VIRTUAL TABLE account_search USING fts5 (
    text, content = '', contentless_delete = 1, tokenize = 'trigram case_sensitive 1'
);

CREATE TRIGGER account_search_on_insert AFTER INSERT ON accounts BEGIN
    INSERT INTO account_search_keys (id) VALUES (new.id);
    INSERT INTO account_search (rowid, text)
        SELECT key, lower(new.id) || char(10) || lower(new.subject) FROM account_search_keys WHERE id = new.id;
END;

CREATE TRIGGER account_search_on_update AFTER UPDATE OF id, subject ON accounts BEGIN
    DELETE FROM account_search WHERE rowid = (SELECT key FROM account_search_keys WHERE id = old.id);
    UPDATE account_search_keys SET id = new.id WHERE id = old.id;
    INSERT INTO account_search (rowid, text)
        SELECT key, lower(new.id) || char(10) || lower(new.subject) FROM account_search_keys WHERE id = new.id;
END;

CREATE TRIGGER account_search_on_delete AFTER DELETE ON accounts BEGIN
    DELETE FROM account_search WHERE rowid = (SELECT key FROM account_search_keys WHERE id = old.id);
    DELETE FROM account_search_keys WHERE id = old.id;
END;

INSERT INTO account_search_keys (id) SELECT id FROM accounts ORDER BY id;
INSERT INTO account_search (rowid, text)
    SELECT k.key, lower(a.id) || char(10) || lower(a.subject) FROM accounts a JOIN account_search_keys k ON k.id = a.id;
",
        // Trigram indexes need the `pg_trgm` extension (in PostgreSQL's
        // contrib, trusted, so a database owner may create it); where it
        // cannot be created, the step records itself without the indexes
        // and a search scans, as it did before.
        postgres: Some(
            "
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX accounts_search_id ON accounts USING gin (lower(id) gin_trgm_ops);
    CREATE INDEX accounts_search_subject ON accounts USING gin (lower(subject::text) gin_trgm_ops);
EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
    RAISE NOTICE 'pg_trgm is not available (%): account search scans every record', SQLERRM;
END
$$;
",
        ),
    },
];
