//! PostgreSQL behind the storage traits (issue 19): [`PgStore`] implements every aggregate trait
//! and runs the same contract suite as SQLite (`tests/store_contract.rs`), plus races between
//! two pools on one database (two nodes).
//!
//! Driver and pool: tokio-postgres with deadpool-postgres (chosen by a measurement against sqlx,
//! docs/benchmarks.md: faster on every case and half the crates). No TLS: the database is
//! reached on loopback or a private network.
//!
//! Consistency: every write is one transaction, committed before its `Ok`. Where an operation
//! reads before it writes (versioned KB and canned edits, the login lockout) it first takes a
//! transaction-scoped advisory lock on what it changes, so concurrent callers on any number of
//! nodes are serialised per entry (per login name, per order's returns or phone guesses), not
//! per table; a stored order's change locks its row. Reads see every write whose `Ok` came
//! before them (read committed); a read of several queries (analytics, a shopper's data) is one
//! REPEATABLE READ snapshot. A webhook event is written in its change's transaction
//! (`events::record_event` takes the transaction).
//!
//! Migrations: `schema_N.sql` in this folder, PostgreSQL's own numbering, applied in order under
//! an advisory lock (two nodes starting at once apply each one once) and recorded in the table
//! `schema_version`. They mirror the SQLite tables (same names, columns, text times).

mod accounts;
mod agent_reads;
mod analytics;
pub mod backup;
mod conversations;
mod erasure;
mod events;
mod handoffs;
mod images;
mod knowledge;
mod models;
mod shopper_data;
mod tickets;
mod webhooks;

use std::time::Duration;

use deadpool_postgres::tokio_postgres::error::SqlState;
use deadpool_postgres::tokio_postgres::{self, NoTls};
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};

use super::StoreError;

/// PostgreSQL's schema migrations, in order. Never edit one that has shipped: add the next.
const MIGRATIONS: &[&str] = &[
    include_str!("schema_1.sql"),
    include_str!("schema_2.sql"),
    include_str!("schema_3.sql"),
    include_str!("schema_4.sql"),
];

/// The schema version this build migrates a database to.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The advisory lock key migrations run under ("kefu" + 1).
const MIGRATION_LOCK: i64 = 0x6b65_6675_0001;

/// Connections a store opens at most, unless told otherwise.
pub const DEFAULT_POOL: usize = 16;

/// A pool of connections to one PostgreSQL database. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("pool", &self.pool.status()).finish()
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/database`) with a pool of
    /// [`DEFAULT_POOL`] connections and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<PgStore, StoreError> {
        PgStore::connect_with(url, DEFAULT_POOL).await
    }

    /// As [`PgStore::connect`], with at most `max_connections` connections.
    pub async fn connect_with(url: &str, max_connections: usize) -> Result<PgStore, StoreError> {
        let config: tokio_postgres::Config = url.parse().map_err(|e: tokio_postgres::Error| {
            StoreError::Open { path: redact(url), message: e.to_string() }
        })?;
        let manager =
            Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(max_connections.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(10)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| StoreError::Open { path: redact(url), message: e.to_string() })?;
        let store = PgStore { pool };
        store.migrate().await.map_err(|e| match e {
            StoreError::Unavailable(message) => StoreError::Open { path: redact(url), message },
            other => other,
        })?;
        Ok(store)
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let client = self.pool.get().await?;
        let row = client.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[]).await?;
        Ok(row.try_get(0)?)
    }

    /// Applies the migrations not applied yet, each in its own transaction.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_version (
                 version BIGINT PRIMARY KEY,
                 applied_at TEXT NOT NULL
             )",
        )
        .await?;
        let done: i64 =
            tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[]).await?.try_get(0)?;
        if done > MIGRATIONS.len() as i64 {
            return Err(StoreError::Corrupt(format!(
                "the database is at schema version {done}, newer than this build's {}",
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(done as usize) {
            let version = i as i64 + 1;
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)",
                &[&version, &super::now()],
            )
            .await?;
            tracing::info!(version, "PostgreSQL schema migrated");
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user = &url[scheme + 3..at];
            let user = user.split(':').next().unwrap_or("");
            format!("{}{user}{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// PostgreSQL's error as a typed [`StoreError`], with its message.
impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> StoreError {
        let message = match e.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => e.to_string(),
        };
        if e.is_closed() {
            return StoreError::Unavailable(message);
        }
        let Some(code) = e.code() else {
            // no server error: a value did not decode (the schema is not what this build wrote),
            // or the connection failed
            let text = e.to_string();
            return if ["error deserializing", "error serializing", "invalid column"]
                .iter()
                .any(|p| text.starts_with(p))
            {
                StoreError::Query(message)
            } else {
                StoreError::Unavailable(message)
            };
        };
        let class = &code.code()[..2];
        match code {
            c if *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED
                || *c == SqlState::LOCK_NOT_AVAILABLE
                || *c == SqlState::TOO_MANY_CONNECTIONS =>
            {
                StoreError::Busy(message)
            }
            c if *c == SqlState::DISK_FULL
                || *c == SqlState::INSUFFICIENT_RESOURCES
                || *c == SqlState::OUT_OF_MEMORY
                || *c == SqlState::PROGRAM_LIMIT_EXCEEDED =>
            {
                StoreError::Full(message)
            }
            c if *c == SqlState::DATA_CORRUPTED || *c == SqlState::INDEX_CORRUPTED => {
                StoreError::Corrupt(message)
            }
            c if *c == SqlState::IO_ERROR || *c == SqlState::INSUFFICIENT_PRIVILEGE => {
                StoreError::Io(message)
            }
            c if *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CRASH_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW
                || *c == SqlState::READ_ONLY_SQL_TRANSACTION =>
            {
                StoreError::Unavailable(message)
            }
            _ if class == "23" => StoreError::Constraint(message),
            // connection exceptions, a refused login, a database that does not exist
            _ if class == "08" || class == "28" || code.code() == "3D000" => StoreError::Unavailable(message),
            _ => StoreError::Query(message),
        }
    }
}

/// The pool's error: no connection could be had.
impl From<PoolError> for StoreError {
    fn from(e: PoolError) -> StoreError {
        match e {
            PoolError::Backend(e) => e.into(),
            PoolError::Closed => StoreError::Closed,
            // every connection is in use past the wait timeout
            PoolError::Timeout(deadpool_postgres::TimeoutType::Wait) => {
                StoreError::Busy("no database connection was free in time".into())
            }
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_reaches_a_message() {
        assert_eq!(redact("postgres://kefu:secret@db:5432/kefu"), "postgres://kefu@db:5432/kefu");
        assert_eq!(redact("postgres://db/kefu"), "postgres://db/kefu");
    }

    #[tokio::test]
    async fn an_unreachable_server_is_an_open_error() {
        // port 1 on loopback: nothing listens there
        let e = PgStore::connect_with("postgres://kefu:pw@127.0.0.1:1/kefu", 1).await.unwrap_err();
        assert!(matches!(e, StoreError::Open { ref path, .. } if !path.contains("pw")), "{e:?}");
    }
}
