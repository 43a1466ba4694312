//! The vault's SQL schema as numbered migrations, applied in order inside one transaction and
//! recorded in `PRAGMA user_version`. A migration is never edited once released: a change is a
//! new migration at the end.

use rusqlite::Connection;

/// Migrations in order; `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: key material and accounts.
    "CREATE TABLE meta (
        key   TEXT PRIMARY KEY NOT NULL,
        value BLOB NOT NULL
    ) STRICT;
    CREATE TABLE accounts (
        id         INTEGER PRIMARY KEY,
        kind       TEXT NOT NULL CHECK (kind IN ('oath', 'push-openpush', 'push-privacyidea')),
        issuer     TEXT,
        name       TEXT NOT NULL DEFAULT '',
        position   INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        sealed     BLOB NOT NULL
    ) STRICT;",
    // 2: groups, icons, last use.
    "ALTER TABLE accounts ADD COLUMN icon TEXT;
    ALTER TABLE accounts ADD COLUMN last_used_at INTEGER;
    CREATE TABLE groups (
        id       INTEGER PRIMARY KEY,
        name     TEXT NOT NULL UNIQUE,
        position INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE account_groups (
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        group_id   INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        PRIMARY KEY (account_id, group_id)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX account_groups_by_group ON account_groups(group_id);",
    // 3: push challenges seen (replay cache and "already answered"), per account. Ids and
    // hashes only: nothing here is secret.
    "CREATE TABLE push_seen (
        account_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        challenge_id   TEXT NOT NULL,
        challenge_hash TEXT NOT NULL,
        nonce          TEXT NOT NULL,
        expires_at     INTEGER NOT NULL,
        answered       TEXT,
        PRIMARY KEY (account_id, challenge_id)
    ) STRICT;
    CREATE UNIQUE INDEX push_seen_nonce ON push_seen(account_id, nonce);",
];

/// The schema version this build writes.
pub const LATEST: u32 = MIGRATIONS.len() as u32;

/// Reads `PRAGMA user_version`.
pub fn version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Applies migrations `from..to` in one transaction (all or nothing).
pub fn migrate(conn: &mut Connection, from: u32, to: u32) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(from as usize)
        .take(to.saturating_sub(from) as usize)
    {
        tracing::debug!(migration = i + 1, "applying vault migration");
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", to)?;
    tx.commit()
}
