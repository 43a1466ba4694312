//! SQLite storage: opening `<data>/server.db`, numbered migrations on `PRAGMA user_version`,
//! and the one shared connection.
//!
//! The server keeps a single connection behind a mutex: every request's database work is a
//! short synchronous section (never held across an `.await`), which also makes each protocol
//! step (consume a code, answer a challenge) atomic without extra locking.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::Connection;

/// Migrations in order; migration *n* (1-based) moves `user_version` from *n − 1* to *n*.
const MIGRATIONS: &[&str] = &[include_str!("migrations/0001_initial.sql")];

/// A cloneable handle to the server's one database connection.
#[derive(Clone)]
pub struct Db(Arc<Mutex<Connection>>);

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db")
    }
}

impl Db {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub(crate) fn open(path: &Path) -> anyhow::Result<Self> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn)?;
        Ok(Self(Arc::new(Mutex::new(conn))))
    }

    /// Locks the connection. A poisoned lock (a panic elsewhere) is reported, not propagated.
    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, Connection>, crate::error::ApiError> {
        self.0
            .lock()
            .map_err(|_| crate::error::ApiError::internal("database lock poisoned"))
    }
}

fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let current: usize =
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    if current > MIGRATIONS.len() {
        anyhow::bail!(
            "server.db has schema version {current}, newer than this build ({})",
            MIGRATIONS.len()
        );
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// Appends an audit record (ids and states only, never secrets).
pub(crate) fn audit(
    conn: &Connection,
    at: u64,
    event: &str,
    user: Option<&str>,
    account_id: Option<&str>,
    detail: Option<&str>,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO audit (at, event, user, account_id, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        rusqlite::params![at as i64, event, user, account_id, detail],
    )?;
    Ok(())
}
