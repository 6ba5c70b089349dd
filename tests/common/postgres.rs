//! A throwaway PostgreSQL database per test (issue 19): on the server `KEFU_TEST_POSTGRES` names
//! (`scripts/postgres` starts one and prints its URL), a fresh database is created for each test
//! and dropped by [`Postgres::finish`] after it passed (a failed test leaves it for a look).
//! Without `KEFU_TEST_POSTGRES` the test prints "skipped: no PostgreSQL" and passes, unless
//! `KEFU_TEST_POSTGRES_REQUIRED=1` makes that a failure.

use std::sync::atomic::{AtomicUsize, Ordering};

use deadpool_postgres::tokio_postgres::{connect, Client, NoTls};
use kefu::cluster::Cluster;
use kefu::store::pg::PgStore;

/// One fresh database on the test server.
pub struct Postgres {
    /// A connection to the server's own database (creates and drops the test's).
    pub admin: Client,
    /// The URL of the test's database (`postgres://…/kefu_<test>_<pid>_<n>`).
    pub url: String,
    /// The database's name.
    pub database: String,
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl Postgres {
    /// A fresh, empty database named after `test`, or `None` (skip the test) without a server.
    pub async fn new(test: &str) -> Option<Postgres> {
        let server = server_url()?;
        let (admin, connection) = connect(&server, NoTls).await.expect("KEFU_TEST_POSTGRES: cannot connect");
        tokio::spawn(connection);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let database = format!("kefu_{test}_{}_{n}", std::process::id()).to_lowercase();
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).await.unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {database}")).await.unwrap();
        let url = database_url(&server, &database);
        Some(Postgres { admin, url, database })
    }

    /// A store on this database (each call its own pool: a node of its own).
    pub async fn store(&self) -> PgStore {
        PgStore::connect(&self.url).await.unwrap()
    }

    /// A cluster node on this database (its own bus connection).
    pub async fn node(&self) -> Cluster {
        Cluster::connect(&self.url).await.unwrap()
    }

    /// Drops the database (call it after the test passed).
    pub async fn finish(self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database);
        self.admin.batch_execute(&drop).await.unwrap();
    }
}

/// The server's URL from `KEFU_TEST_POSTGRES`, or `None` (after printing "skipped") when it is not
/// set; panics when it is not set but `KEFU_TEST_POSTGRES_REQUIRED=1`.
pub fn server_url() -> Option<String> {
    let Some(server) = std::env::var("KEFU_TEST_POSTGRES").ok().filter(|u| !u.is_empty()) else {
        assert!(
            std::env::var("KEFU_TEST_POSTGRES_REQUIRED").as_deref() != Ok("1"),
            "KEFU_TEST_POSTGRES_REQUIRED=1 but KEFU_TEST_POSTGRES is not set (run scripts/postgres)"
        );
        eprintln!("skipped: no PostgreSQL (run scripts/postgres)");
        return None;
    };
    Some(server)
}

/// `server` (a `postgres://` URL) with its database replaced by `database`, the query kept.
pub fn database_url(server: &str, database: &str) -> String {
    let (base, query) = server.split_once('?').map_or((server, None), |(b, q)| (b, Some(q)));
    let root = base.trim_end_matches('/');
    let host_end = root.find("://").map_or(0, |i| i + 3);
    let root = match root[host_end..].find('/') {
        Some(slash) => &root[..host_end + slash],
        None => root,
    };
    format!("{root}/{database}{}", query.map(|q| format!("?{q}")).unwrap_or_default())
}
