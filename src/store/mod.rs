//! The store: the only module that talks to the database (SQLite, WAL, `synchronous=FULL` so a
//! committed write survives a crash). One thread owns the connection; async callers send it
//! closures over a bounded channel and await the result, so the executor never blocks on disk.
//!
//! Group commit: the thread takes every job waiting in the queue (up to `MAX_BATCH`), runs them in
//! one transaction (each under a savepoint, so one job's error undoes only its own writes),
//! commits once (one fsync) and only then answers the callers. A caller's `Ok` therefore always
//! means "on disk"; under load many shoppers share one fsync.
//!
//! Reads that are not part of a write's consistency (the trainers' analytics and review queue,
//! the agent console, exports, listings) run on reader threads instead (`Store::read`), each with
//! its own `query_only` connection to the same WAL database: they never queue behind a commit
//! and never hold one up. Each read job is one snapshot (a read transaction); a read issued after
//! a write's `Ok` sees that write (the write was committed before its `Ok`).
//!
//! Migrations are numbered SQL scripts applied in order, recorded in `PRAGMA user_version`.

pub mod accounts;
pub mod agent_reads;
pub mod analytics;
pub mod backend;
pub mod backup;
pub mod canned;
pub mod erasure;
pub mod export;
pub mod handoffs;
pub mod images;
pub mod kb;
pub mod models;
pub mod pg;
pub mod records;
pub mod review_rows;
pub mod shopper_data;
pub mod tickets;
pub mod traits;
pub mod webhooks;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

pub use accounts::*;
pub use agent_reads::{ConversationContext, ConversationRow, Profile};
pub use backend::Backend;
pub use canned::*;
pub use erasure::{ErasedCounts, Erasure, Retained, ERASED};
pub use handoffs::{AgentSummary, Handoff, HandoffOutcome, Note, OpenHandoff};
pub use kb::{Expect, KbEntry, KbWrite, Revision};
pub use records::*;
pub use shopper_data::{ShopperConversation, ShopperData};
pub use tickets::Ticket;
pub use traits::prelude;
pub use traits::{
    AccountStore, AnalyticsReads, ConversationStore, HandoffStore, ImageStore, KnowledgeStore, ModelStore,
    ShopperDataStore, WebhookStore,
};

/// Schema migrations, in order. Never edit one that has shipped: add the next.
const MIGRATIONS: &[&str] = &[
    include_str!("schema.sql"),
    include_str!("schema_2.sql"),
    include_str!("schema_3.sql"),
    include_str!("schema_4.sql"),
    include_str!("schema_5.sql"),
    include_str!("schema_6.sql"),
    include_str!("schema_7.sql"),
    include_str!("schema_8.sql"),
    include_str!("schema_9.sql"),
    include_str!("schema_10.sql"),
    include_str!("schema_11.sql"),
    include_str!("schema_12.sql"),
    include_str!("schema_13.sql"),
];

/// What went wrong in the store, in terms a caller can act on (no database library's types).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another connection or process held a lock the operation needed, past the busy timeout.
    #[error("the database is busy (locked by another connection): {0}")]
    Busy(String),
    /// The disk (or the database's size limit) is full.
    #[error("the database's disk is full: {0}")]
    Full(String),
    /// The database file, or a value stored in it, is not what this build wrote.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The operating system failed a read or write, or refused access to the files.
    #[error("database I/O error: {0}")]
    Io(String),
    /// A write broke a uniqueness, foreign-key or check constraint.
    #[error("a database constraint was violated: {0}")]
    Constraint(String),
    /// Any other database error (a statement the schema does not match, a value of the wrong type).
    #[error("database: {0}")]
    Query(String),
    #[error("database file {path}: {message}")]
    Open { path: String, message: String },
    #[error("the database could not be written: {0}")]
    Unavailable(String),
    #[error("the database thread has stopped")]
    Closed,
}

/// An error inside a store job: SQLite's own, or stored data that does not decode. Never leaves
/// the store: callers get it as a [`StoreError`].
#[derive(Debug)]
enum Fail {
    Sql(rusqlite::Error),
    Corrupt(String),
    /// A write the stored rows do not allow (a handoff that already has its agent).
    Constraint(String),
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Fail {
        Fail::Sql(e)
    }
}

impl Fail {
    fn into_store(self) -> StoreError {
        match self {
            Fail::Corrupt(m) => StoreError::Corrupt(m),
            Fail::Constraint(m) => StoreError::Constraint(m),
            Fail::Sql(e) => sql_error(e),
        }
    }
}

/// SQLite's error as a typed [`StoreError`], with its message.
fn sql_error(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode as C;
    let message = e.to_string();
    match e.sqlite_error_code() {
        Some(C::DatabaseBusy | C::DatabaseLocked) => StoreError::Busy(message),
        Some(C::DiskFull | C::TooBig) => StoreError::Full(message),
        Some(C::DatabaseCorrupt | C::NotADatabase) => StoreError::Corrupt(message),
        Some(
            C::SystemIoFailure
            | C::CannotOpen
            | C::ReadOnly
            | C::PermissionDenied
            | C::FileLockingProtocolFailed
            | C::NoLargeFileSupport,
        ) => StoreError::Io(message),
        Some(C::ConstraintViolation) => StoreError::Constraint(message),
        _ => StoreError::Query(message),
    }
}

/// Most jobs committed together in one transaction.
const MAX_BATCH: usize = 512;
/// Jobs waiting for the database thread; senders wait when it is full (back-pressure).
const QUEUE: usize = 8192;
/// Reader threads, each with its own read-only connection.
const READERS: usize = 2;
/// Read jobs waiting for a reader thread.
const READ_QUEUE: usize = 1024;

/// A read for a reader thread: runs on its connection and sends its own result.
type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// One unit of work for the database thread, run in two phases so that many jobs share one commit
/// (group commit): `run` inside the batch's transaction under its own savepoint, then `finish`
/// once the batch is durably committed (or failed to be).
trait Job: Send {
    /// Runs the work; false when it failed (its savepoint is rolled back, the batch goes on).
    fn run(&mut self, conn: &Connection) -> bool;
    /// Delivers the result; `commit` says whether the batch reached the disk.
    fn finish(self: Box<Self>, commit: Result<(), &str>);
}

struct Call<T, F> {
    work: Option<F>,
    result: Option<Result<T, Fail>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Call<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, Fail> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let r = (self.work.take().expect("a job runs once"))(conn);
        let ok = r.is_ok();
        self.result = Some(r);
        ok
    }

    fn finish(self: Box<Self>, commit: Result<(), &str>) {
        let out = match (self.result, commit) {
            (Some(Err(e)), _) => Err(e.into_store()),
            (Some(Ok(v)), Ok(())) => Ok(v),
            (_, Err(why)) => Err(StoreError::Unavailable(why.to_string())),
            (None, Ok(())) => Err(StoreError::Unavailable("the operation did not run".into())),
        };
        let _ = self.reply.send(out);
    }
}

/// A handle to the database thread. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    jobs: mpsc::Sender<Box<dyn Job>>,
    reads: mpsc::Sender<ReadJob>,
    stats: Arc<StoreStats>,
}

/// Counters of the database thread (read by `/metrics` and the benchmarks).
#[derive(Debug, Default)]
pub struct StoreStats {
    /// Transactions committed (or attempted).
    pub batches: AtomicU64,
    /// Jobs run.
    pub jobs: AtomicU64,
    /// Batches whose commit failed.
    pub failed: AtomicU64,
    /// Batches that took 20 ms or more (a slow fsync shows here).
    pub slow: AtomicU64,
    /// The longest batch so far, in microseconds.
    pub longest_us: AtomicU64,
}

impl Store {
    /// Opens (creating the file and its folder if needed) and migrates the database.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open_err = |message: String| StoreError::Open { path: path.display().to_string(), message };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(|e| open_err(e.to_string()))?;
        }
        create_private_file(path).map_err(|e| open_err(e.to_string()))?;
        let mut changed = make_private(path).map_err(|e| open_err(e.to_string()))?;
        let mut conn = Connection::open(path).map_err(|e| open_err(e.to_string()))?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(sql_error)?;
        // the -wal and -shm files now exist (SQLite gives new ones the database file's mode)
        changed.extend(make_private(path).map_err(|e| open_err(e.to_string()))?);
        if !changed.is_empty() {
            tracing::warn!(
                changed = %changed.join(", "),
                "the database's files were readable by other users of this host; made them private"
            );
        }
        conn.pragma_update(None, "synchronous", "FULL").map_err(sql_error)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(sql_error)?;
        conn.busy_timeout(std::time::Duration::from_secs(2)).map_err(sql_error)?;
        conn.set_prepared_statement_cache_capacity(64);
        migrate(&mut conn).map_err(sql_error)?;
        // checkpoints (copying the WAL into the database file, with its own fsync) run on a
        // thread of their own instead of stalling a commit now and then
        conn.pragma_update(None, "wal_autocheckpoint", 0).map_err(sql_error)?;
        let checkpoints = Connection::open(path).map_err(|e| open_err(e.to_string()))?;
        let (read_tx, read_rx) = mpsc::channel::<ReadJob>(READ_QUEUE);
        let read_rx = Arc::new(std::sync::Mutex::new(read_rx));
        for i in 0..READERS {
            let conn = Connection::open(path).map_err(|e| open_err(e.to_string()))?;
            conn.pragma_update(None, "query_only", true).map_err(sql_error)?;
            conn.busy_timeout(std::time::Duration::from_secs(2)).map_err(sql_error)?;
            conn.set_prepared_statement_cache_capacity(64);
            let queue = read_rx.clone();
            std::thread::Builder::new()
                .name(format!("kefu-read-{i}"))
                .spawn(move || reader(conn, queue))
                .map_err(|e| open_err(e.to_string()))?;
        }
        let (tx, mut rx) = mpsc::channel::<Box<dyn Job>>(QUEUE);
        let stats = Arc::new(StoreStats::default());
        let thread_stats = stats.clone();
        let alive = Arc::downgrade(&stats);
        std::thread::Builder::new()
            .name("kefu-checkpoint".into())
            .spawn(move || checkpointer(checkpoints, alive))
            .map_err(|e| open_err(e.to_string()))?;
        std::thread::Builder::new()
            .name("kefu-store".into())
            .spawn(move || {
                let mut batch = Vec::with_capacity(MAX_BATCH);
                while let Some(first) = rx.blocking_recv() {
                    batch.push(first);
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    run_batch(&conn, &mut batch, &thread_stats);
                }
            })
            .map_err(|e| open_err(e.to_string()))?;
        Ok(Store { jobs: tx, reads: read_tx, stats })
    }

    /// Runs `f` on the database thread inside a transaction shared with other callers' work, and
    /// returns its result once that transaction is committed to disk. An error from `f` undoes
    /// only `f`'s own writes.
    async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Fail> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job = Call { work: Some(f), result: None, reply: tx };
        self.jobs.send(Box::new(job)).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` on a reader thread's own read-only connection, in one read transaction (a
    /// snapshot: everything committed before it started, nothing after). It never waits behind
    /// the writer's commits, nor delays them. For reads only: `f` cannot write.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Fail> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: ReadJob = Box::new(move |conn| {
            let _ = tx.send(snapshot(conn, f));
        });
        self.reads.send(job).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    pub fn stats(&self) -> &StoreStats {
        &self.stats
    }
}

/// Creates the database folder (and its parents) with mode 0700 for the last part.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// Creates the database file with mode 0600 if it does not exist yet, so it is never readable
/// by others, not even for a moment.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    match o.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The database holds the staff token secret, password hashes and every conversation: its
/// folder becomes 0700 and the file, its `-wal` and `-shm` 0600 when they were looser. Returns
/// what was changed (`path: old mode -> new mode`). The folder is left alone when it is the
/// current directory or a shared one (sticky bit, such as /tmp).
pub fn make_private(path: &Path) -> std::io::Result<Vec<String>> {
    let mut changed = Vec::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut tighten = |p: &Path, mode: u32| -> std::io::Result<()> {
            let meta = match std::fs::metadata(p) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            };
            let old = meta.permissions().mode() & 0o7777;
            if old & 0o077 != 0 {
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))?;
                changed.push(format!("{}: {old:o} -> {mode:o}", p.display()));
            }
            Ok(())
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && *d != Path::new(".")) {
            let shared = std::fs::metadata(dir).map(|m| m.permissions().mode() & 0o1000 != 0).unwrap_or(true);
            if !shared {
                tighten(dir, 0o700)?;
            }
        }
        tighten(path, 0o600)?;
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            tighten(Path::new(&p), 0o600)?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(changed)
}

/// Every second, while the store is open: a passive checkpoint (it never blocks the writer;
/// once the WAL is fully copied, SQLite starts it over, so it stays small).
fn checkpointer(conn: Connection, alive: std::sync::Weak<StoreStats>) {
    let _ = conn.busy_timeout(std::time::Duration::from_millis(100));
    while alive.strong_count() > 0 {
        std::thread::sleep(std::time::Duration::from_secs(1));
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "checkpoint failed");
        }
    }
}

/// A reader thread: takes read jobs from the shared queue until every `Store` is gone. A job
/// that panics loses only its own answer (its caller gets `Closed`).
fn reader(conn: Connection, queue: Arc<std::sync::Mutex<mpsc::Receiver<ReadJob>>>) {
    loop {
        let job = match queue.lock() {
            Ok(mut rx) => rx.blocking_recv(),
            Err(_) => return,
        };
        let Some(job) = job else { return };
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&conn))).is_err() {
            tracing::error!("a read job panicked");
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
        }
    }
}

/// Runs one read job in its own read transaction, so its statements see one snapshot.
fn snapshot<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T, Fail>) -> Result<T, StoreError> {
    exec(conn, "BEGIN").map_err(sql_error)?;
    let out = f(conn);
    if let Err(e) = exec(conn, "COMMIT") {
        tracing::warn!(error = %e, "ending a read transaction failed");
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
    out.map_err(Fail::into_store)
}

/// Runs a batch of jobs in one transaction, each under a savepoint, commits once, then tells
/// every job how the commit went.
fn run_batch(conn: &Connection, batch: &mut Vec<Box<dyn Job>>, stats: &StoreStats) {
    let started = std::time::Instant::now();
    stats.batches.fetch_add(1, Ordering::Relaxed);
    stats.jobs.fetch_add(batch.len() as u64, Ordering::Relaxed);
    let commit = match exec(conn, "BEGIN") {
        Err(e) => Err(e.to_string()),
        Ok(()) => {
            let mut lost = false;
            for job in batch.iter_mut() {
                // SQLite rolls the whole transaction back on some errors (disk full, I/O): then
                // nothing of this batch is on disk, and no later job may run outside it
                if conn.is_autocommit() {
                    lost = true;
                    break;
                }
                if let Err(e) = exec(conn, "SAVEPOINT job") {
                    tracing::error!(error = %e, "savepoint failed");
                    lost = true;
                    break;
                }
                let ok = job.run(conn);
                let end = if ok { Ok(()) } else { exec(conn, "ROLLBACK TO job") };
                if let Err(e) = end.and_then(|_| exec(conn, "RELEASE job")) {
                    tracing::error!(error = %e, "savepoint release failed");
                }
            }
            if lost || conn.is_autocommit() {
                Err("the database rolled the transaction back (disk full or I/O error)".to_string())
            } else {
                exec(conn, "COMMIT").map_err(|e| e.to_string())
            }
        }
    };
    if let Err(why) = &commit {
        stats.failed.fetch_add(1, Ordering::Relaxed);
        tracing::error!(error = %why, jobs = batch.len(), "database commit failed");
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
    let took = started.elapsed().as_micros() as u64;
    stats.longest_us.fetch_max(took, Ordering::Relaxed);
    if took >= 20_000 {
        stats.slow.fetch_add(1, Ordering::Relaxed);
    }
    for job in batch.drain(..) {
        job.finish(commit.as_ref().map(|_| ()).map_err(String::as_str));
    }
}

/// Runs one statement, prepared once per connection.
fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn migrate(conn: &mut Connection) -> Result<(), rusqlite::Error> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let version = version.max(0) as usize;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "database migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc as sync;
    use std::time::Duration;

    use super::*;
    use crate::lang::Lang;

    /// Guards against a hang, never a timing assertion: a read that queued behind the held job
    /// would wait for ever, and the test would fail here instead of hanging.
    const HANG: Duration = Duration::from_secs(60);

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("kefu.db")).unwrap();
        (dir, store)
    }

    /// Holds the writer thread inside a write job (its row written, not committed) until
    /// `release` is sent or dropped; returns once the job is running.
    async fn hold_writer(store: &Store, conv: &str) -> (sync::Sender<()>, tokio::task::JoinHandle<()>) {
        let (held_tx, held_rx) = sync::channel::<()>();
        let (release_tx, release_rx) = sync::channel::<()>();
        let (store, id) = (store.clone(), conv.to_string());
        let job = tokio::spawn(async move {
            store
                .call(move |conn| {
                    insert_message(conn, &id, None, Sender::Bot, "held", None)?;
                    held_tx.send(()).unwrap();
                    let _ = release_rx.recv();
                    Ok(())
                })
                .await
                .unwrap()
        });
        tokio::task::spawn_blocking(move || held_rx.recv()).await.unwrap().unwrap();
        (release_tx, job)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_do_not_wait_behind_a_held_write() {
        let (_dir, store) = open();
        let conv = store.open_conversation(None, Lang::Zh).await.unwrap();
        store.add_message(conv.id.clone(), Sender::Shopper, "你好".into(), None).await.unwrap();
        let (release, job) = hold_writer(&store, &conv.id).await;

        // the writer is stuck inside a transaction: analytics and console reads still complete,
        // and see what was committed before, not the held job's uncommitted row
        let rows = tokio::time::timeout(HANG, store.analytics_rows("0".into(), "9".into()))
            .await
            .expect("an analytics read completes while a write is held")
            .unwrap();
        assert_eq!(rows.conversations.len(), 1);
        let context = tokio::time::timeout(HANG, store.conversation_context(conv.id.clone()))
            .await
            .expect("a console read completes while a write is held")
            .unwrap()
            .unwrap();
        assert_eq!(context.transcript.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["你好"]);
        let found = tokio::time::timeout(HANG, store.search_conversations(None, None, None, None, 10))
            .await
            .expect("a search completes while a write is held")
            .unwrap();
        assert_eq!(found.len(), 1);

        release.send(()).unwrap();
        job.await.unwrap();
        // read-your-writes: once the write's Ok is back, a read on another connection sees it
        let context = store.conversation_context(conv.id.clone()).await.unwrap().unwrap();
        assert_eq!(context.transcript.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["你好", "held"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_held_read_does_not_delay_a_commit() {
        let (_dir, store) = open();
        let conv = store.open_conversation(None, Lang::Zh).await.unwrap();
        let (held_tx, held_rx) = sync::channel::<()>();
        let (release_tx, release_rx) = sync::channel::<()>();
        let reader = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .read(move |conn| {
                        let n: i64 = conn.query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))?;
                        held_tx.send(()).unwrap();
                        let _ = release_rx.recv();
                        // still the snapshot the read started with
                        let m: i64 = conn.query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))?;
                        Ok((n, m))
                    })
                    .await
                    .unwrap()
            })
        };
        tokio::task::spawn_blocking(move || held_rx.recv()).await.unwrap().unwrap();

        // a read transaction is open on a reader: a shopper's commit goes through all the same
        tokio::time::timeout(HANG, store.add_message(conv.id.clone(), Sender::Shopper, "在吗".into(), None))
            .await
            .expect("a commit completes while a read is held")
            .unwrap();
        // and the other reader serves reads meanwhile
        tokio::time::timeout(HANG, store.tickets(None)).await.expect("another read completes").unwrap();

        release_tx.send(()).unwrap();
        assert_eq!(reader.await.unwrap(), (0, 0));
        assert_eq!(store.conversation_context(conv.id).await.unwrap().unwrap().transcript.len(), 1);
    }

    #[tokio::test]
    async fn readers_cannot_write() {
        let (_dir, store) = open();
        let r = store.read(|conn| Ok(conn.execute("DELETE FROM settings", [])?)).await;
        assert!(r.is_err(), "{r:?}");
    }

    #[tokio::test]
    async fn a_locked_database_is_a_typed_busy_error() {
        let (dir, store) = open();
        let locker = Connection::open(dir.path().join("kefu.db")).unwrap();
        locker.execute_batch("BEGIN IMMEDIATE").unwrap();
        let r = store.open_conversation(None, Lang::En).await;
        assert!(matches!(r, Err(StoreError::Busy(_))), "{r:?}");
        // reads go on meanwhile
        assert!(store.tickets(None).await.unwrap().is_empty());
        locker.execute_batch("ROLLBACK").unwrap();
        store.open_conversation(None, Lang::En).await.unwrap();
    }
}
