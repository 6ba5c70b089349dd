//! The database the service runs on, chosen by `database` in the config: a SQLite file (the
//! default) or PostgreSQL (`postgres://…`, for several nodes). [`Backend`] implements every
//! storage trait by handing the call to the one it holds, so the service is written once against
//! the traits and compiled once.

use std::path::Path;

use super::pg::PgStore;
use super::{Store, StoreError, StoreStats};

/// One of the storage backends. Cheap to clone.
#[derive(Clone)]
pub enum Backend {
    /// kefu's own SQLite file (one node).
    Sqlite(Store),
    /// A PostgreSQL database several nodes share.
    Postgres(PgStore),
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Sqlite(_) => f.write_str("Backend::Sqlite"),
            Backend::Postgres(p) => write!(f, "Backend::Postgres({p:?})"),
        }
    }
}

impl Backend {
    /// Opens the database `database` names (a SQLite file path, or a `postgres://` /
    /// `postgresql://` URL) and brings its schema up to date.
    pub async fn open(database: &Path) -> Result<Backend, StoreError> {
        match postgres_url(database) {
            Some(url) => Ok(Backend::Postgres(PgStore::connect(url).await?)),
            None => Ok(Backend::Sqlite(Store::open(database)?)),
        }
    }

    /// The SQLite writer's counters (none on other backends).
    pub fn stats(&self) -> Option<&StoreStats> {
        match self {
            Backend::Sqlite(s) => Some(s.stats()),
            Backend::Postgres(_) => None,
        }
    }
}

/// The PostgreSQL URL `database` is, if it is one rather than a file path.
pub fn postgres_url(database: &Path) -> Option<&str> {
    database.to_str().filter(|d| d.starts_with("postgres://") || d.starts_with("postgresql://"))
}

impl From<Store> for Backend {
    fn from(s: Store) -> Backend {
        Backend::Sqlite(s)
    }
}
