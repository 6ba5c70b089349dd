//! Backups and restores of the SQLite database while the service runs (issue 21, item 5).
//!
//! `backup` copies the live database with SQLite's online backup API in one step: one read
//! transaction on a connection of its own, so the copy is a consistent snapshot (everything
//! committed before it started, nothing after) and, the database being in WAL mode, writers
//! are never blocked meanwhile. The copy is written beside its destination, switched to a single
//! self-contained file (rollback journal, no `-wal`), checked (`PRAGMA integrity_check`),
//! fsynced and renamed into place, mode 0600, then described by a manifest beside it
//! (`DEST.manifest.json`: SHA-256, size, schema version, counts).
//!
//! `restore` refuses a backup whose checksum does not match its manifest, that is not an intact
//! kefu database, or whose schema is newer than this binary's. It writes into the target with
//! the backup API too, holding the target's exclusive lock from before the first page is written
//! to the end: a database a running service holds cannot be taken (refused with
//! [`BackupError::InUse`]), and a service started meanwhile fails to open it rather than see
//! half a restore. A crash mid-restore leaves the old database or the new one (the copy is one
//! transaction in the target's rollback journal).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use sha2::Digest;

/// The manifest's `format`.
pub const FORMAT: &str = "kefu-backup/1";

/// Tables every kefu database has (from migrations 1-3): what makes a file "a kefu database".
const KEFU_TABLES: &[&str] =
    &["conversations", "messages", "feedback", "shoppers", "orders", "settings", "users"];

/// Why a backup or a restore was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    #[error("{0} already exists; choose another name or remove it first")]
    Exists(PathBuf),
    #[error("{path}: {message}")]
    Sqlite { path: PathBuf, message: String },
    #[error("no manifest {0} beside the backup (it holds the checksum); a backup is checked before it is restored")]
    NoManifest(PathBuf),
    #[error("manifest {path} cannot be read: {message}")]
    BadManifest { path: PathBuf, message: String },
    #[error("checksum mismatch: {path} has SHA-256 {actual}, its manifest says {expected} (the file was changed or damaged)")]
    Checksum { path: PathBuf, expected: String, actual: String },
    #[error("{path} is not a kefu database: {why}")]
    NotKefu { path: PathBuf, why: String },
    #[error("{path} failed SQLite's integrity check: {report}")]
    Corrupt { path: PathBuf, report: String },
    #[error("{path} has schema version {found}, newer than this kefu knows ({known}); restore it with a kefu at least as new as the one that made it")]
    Newer { path: PathBuf, found: i64, known: i64 },
    #[error(
        "{path} has schema version {found} but its manifest says {manifest}: they do not belong together"
    )]
    Mismatch { path: PathBuf, found: i64, manifest: i64 },
    #[error("{0} is in use (a running kefu holds it): stop the service before restoring over its database, or restore into another path and point `database` at it")]
    InUse(PathBuf),
    #[error("{0} already holds a database; pass --force to replace it")]
    WouldReplace(PathBuf),
    #[error("{database} is in use ({sessions} other sessions are connected, a running kefu holds connections): stop every node before restoring over its database, or restore into another database and point `database` at it")]
    DatabaseInUse { database: String, sessions: i64 },
    #[error("{database}: {message}")]
    Postgres { database: String, message: String },
    #[error("{tool} failed: {message}")]
    Tool { tool: &'static str, message: String },
}

/// What a backup is: written beside it as `NAME.manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// The backup's file name (in the same folder as the manifest).
    pub file: String,
    /// SHA-256 of the whole file, lower-case hex.
    pub sha256: String,
    pub bytes: u64,
    /// `PRAGMA user_version`: the number of kefu migrations applied.
    pub schema_version: i64,
    /// The kefu that made it.
    pub kefu_version: String,
    /// When the snapshot was taken (RFC 3339, UTC).
    pub created_at: String,
    pub counts: Counts,
}

/// Rows in a database, to compare a backup and a restore with the original at a glance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub conversations: i64,
    pub messages: i64,
    pub feedback: i64,
    pub tickets: i64,
    pub shoppers: i64,
    pub orders: i64,
}

/// What [`inspect`] finds in a database file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbInfo {
    pub schema_version: i64,
    pub counts: Counts,
}

/// The schema version this binary migrates to.
pub fn schema_version() -> i64 {
    super::MIGRATIONS.len() as i64
}

/// Where `dest`'s manifest goes: `dest` + `.manifest.json`.
pub fn manifest_path(dest: &Path) -> PathBuf {
    let mut p = dest.as_os_str().to_owned();
    p.push(".manifest.json");
    PathBuf::from(p)
}

fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> BackupError + '_ {
    move |e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
            BackupError::Corrupt { path: path.into(), report: e.to_string() }
        }
        Some(rusqlite::ErrorCode::NotADatabase) => {
            BackupError::NotKefu { path: path.into(), why: "not an SQLite database".into() }
        }
        _ => BackupError::Sqlite { path: path.to_path_buf(), message: e.to_string() },
    }
}

fn file(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |e| BackupError::File { path: path.to_path_buf(), source: e }
}

/// Where a backup taken at `now` goes: `dest`, or `kefu-YYYYMMDDTHHMMSSZ.EXT` in it when it is a
/// folder, and its manifest; refused when either exists (a backup never overwrites).
pub(crate) fn destination(
    dest: &Path,
    ext: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(PathBuf, PathBuf), BackupError> {
    let dest = if dest.is_dir() {
        dest.join(format!("kefu-{}.{ext}", now.format("%Y%m%dT%H%M%SZ")))
    } else {
        dest.into()
    };
    let manifest_file = manifest_path(&dest);
    for p in [&dest, &manifest_file] {
        if p.exists() {
            return Err(BackupError::Exists(p.clone()));
        }
    }
    Ok((dest, manifest_file))
}

/// Copies the database at `db` (live or not) to `dest`, a new file (or, when `dest` is a
/// folder, `kefu-YYYYMMDDTHHMMSSZ.db` in it), and writes its manifest. Blocking.
pub fn backup(db: &Path, dest: &Path) -> Result<(PathBuf, Manifest), BackupError> {
    let now = chrono::Utc::now();
    let (dest, manifest_file) = destination(dest, "db", now)?;
    if !db.exists() {
        return Err(BackupError::File {
            path: db.into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no database here"),
        });
    }
    // never migrate or change the live database: a plain connection that only reads
    let src =
        Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(sql(db))?;
    src.pragma_update(None, "query_only", true).map_err(sql(db))?;
    src.busy_timeout(Duration::from_secs(5)).map_err(sql(db))?;
    check_kefu(&src, db)?;

    let partial = partial_path(&dest);
    let _ = std::fs::remove_file(&partial);
    new_private_file(&partial)?;
    let result = (|| {
        let mut dst = Connection::open(&partial).map_err(sql(&partial))?;
        copy(&src, &mut dst, &partial)?;
        // one self-contained file: no -wal beside it
        dst.pragma_update(None, "journal_mode", "DELETE").map_err(sql(&partial))?;
        integrity(&dst, &partial)?;
        let info = info_of(&dst, &partial)?;
        drop(dst);
        std::fs::File::open(&partial).and_then(|f| f.sync_all()).map_err(file(&partial))?;
        Ok(info)
    })();
    let info = match result {
        Ok(info) => info,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, &dest).map_err(file(&dest))?;
    let (sha256, bytes) = sha256_of(&dest)?;
    let manifest = Manifest {
        format: FORMAT.into(),
        file: dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        sha256,
        bytes,
        schema_version: info.schema_version,
        kefu_version: env!("CARGO_PKG_VERSION").into(),
        created_at: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        counts: info.counts,
    };
    write_manifest(&manifest_file, &manifest)?;
    Ok((dest, manifest))
}

/// Where a file is written before it is renamed into place: `path` + `.partial`.
pub(crate) fn partial_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".partial");
    PathBuf::from(p)
}

/// Writes `manifest` to `manifest_file` (0600, fsynced, renamed into place, its folder synced).
pub(crate) fn write_manifest(manifest_file: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let tmp = partial_path(manifest_file);
    let _ = std::fs::remove_file(&tmp);
    new_private_file(&tmp)?;
    let json = serde_json::to_vec_pretty(manifest).expect("a manifest serialises");
    std::fs::write(&tmp, json).map_err(file(&tmp))?;
    std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(file(&tmp))?;
    std::fs::rename(&tmp, manifest_file).map_err(file(manifest_file))?;
    if let Some(dir) = manifest_file.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

/// Reads the manifest beside the backup `src` and checks its format and the file's checksum.
pub(crate) fn read_manifest(src: &Path, format: &str) -> Result<Manifest, BackupError> {
    let manifest_file = manifest_path(src);
    let text = match std::fs::read_to_string(&manifest_file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BackupError::NoManifest(manifest_file))
        }
        Err(e) => return Err(BackupError::File { path: manifest_file, source: e }),
    };
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| BackupError::BadManifest { path: manifest_file.clone(), message: e.to_string() })?;
    if manifest.format != format {
        let message = format!("format {:?}, expected {format:?}", manifest.format);
        return Err(BackupError::BadManifest { path: manifest_file, message });
    }
    let (actual, _) = sha256_of(src)?;
    if !actual.eq_ignore_ascii_case(&manifest.sha256) {
        return Err(BackupError::Checksum { path: src.into(), expected: manifest.sha256, actual });
    }
    Ok(manifest)
}

/// Checks a backup against its manifest: checksum, an intact kefu database, a schema this
/// binary knows, the schema version the manifest names.
pub fn verify(src: &Path) -> Result<Manifest, BackupError> {
    let manifest = read_manifest(src, FORMAT)?;
    let info = inspect(src)?;
    if info.schema_version != manifest.schema_version {
        return Err(BackupError::Mismatch {
            path: src.into(),
            found: info.schema_version,
            manifest: manifest.schema_version,
        });
    }
    Ok(manifest)
}

/// Opens a database file read-only and checks it: an intact kefu database (integrity check)
/// of a schema version this binary knows. Its version and row counts.
pub fn inspect(path: &Path) -> Result<DbInfo, BackupError> {
    if !path.is_file() {
        return Err(BackupError::File {
            path: path.into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    let conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(sql(path))?;
    conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |_| Ok(())).map_err(sql(path))?;
    integrity(&conn, path)?;
    check_kefu(&conn, path)?;
    let info = info_of(&conn, path)?;
    if info.schema_version > schema_version() {
        return Err(BackupError::Newer {
            path: path.into(),
            found: info.schema_version,
            known: schema_version(),
        });
    }
    Ok(info)
}

/// Restores the backup `src` (checked first, see [`verify`]) into `db`. An existing database
/// at `db` is replaced only with `force`, and never while another process holds it open.
pub fn restore(src: &Path, db: &Path, force: bool) -> Result<Manifest, BackupError> {
    let manifest = verify(src)?;
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        super::create_private_dir(dir).map_err(file(dir))?;
    }
    let existed = std::fs::metadata(db).map(|m| m.len() > 0).unwrap_or(false);
    if existed && !force {
        return Err(BackupError::WouldReplace(db.into()));
    }
    super::create_private_file(db).map_err(file(db))?;
    let mut target = Connection::open(db).map_err(sql(db))?;
    // taken now and kept until this connection closes: nobody else may have the database open
    // (leaving WAL mode needs every other connection gone), and nobody can open it meanwhile
    target.pragma_update(None, "locking_mode", "EXCLUSIVE").map_err(sql(db))?;
    let held = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            BackupError::InUse(db.into())
        }
        _ => sql(db)(e),
    };
    let mode: String = target.query_row("PRAGMA journal_mode=DELETE", [], |r| r.get(0)).map_err(held)?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(BackupError::InUse(db.into()));
    }
    target.execute_batch("BEGIN EXCLUSIVE; COMMIT;").map_err(held)?;
    let source =
        Connection::open_with_flags(src, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(sql(src))?;
    copy(&source, &mut target, db)?;
    // the copy carries the backup's header; keep the target a rollback-journal file until the
    // service opens it (and switches it to WAL itself)
    target.pragma_update(None, "journal_mode", "DELETE").map_err(sql(db))?;
    integrity(&target, db)?;
    drop(target);
    std::fs::File::open(db).and_then(|f| f.sync_all()).map_err(file(db))?;
    super::make_private(db).map_err(file(db))?;
    Ok(manifest)
}

/// Every page of `src` into `dst` in one step: one read transaction on the source (a
/// consistent snapshot; in WAL mode writers go on meanwhile), one write transaction on `dst`.
fn copy(src: &Connection, dst: &mut Connection, dst_path: &Path) -> Result<(), BackupError> {
    let backup = Backup::new(src, dst).map_err(sql(dst_path))?;
    let mut tries = 0;
    loop {
        match backup.step(-1).map_err(sql(dst_path))? {
            StepResult::Done => return Ok(()),
            // a lock held for a moment (a checkpoint, a commit's last step): try again
            StepResult::Busy | StepResult::Locked | StepResult::More if tries < 100 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            other => {
                return Err(BackupError::Sqlite {
                    path: dst_path.into(),
                    message: format!("the copy did not finish ({other:?}): the database stayed locked"),
                })
            }
        }
    }
}

fn integrity(conn: &Connection, path: &Path) -> Result<(), BackupError> {
    let mut st = conn.prepare("PRAGMA integrity_check").map_err(sql(path))?;
    let lines: Vec<String> =
        st.query_map([], |r| r.get(0)).map_err(sql(path))?.collect::<Result<_, _>>().map_err(sql(path))?;
    if lines.len() == 1 && lines[0] == "ok" {
        Ok(())
    } else {
        let report = lines.into_iter().take(5).collect::<Vec<_>>().join("; ");
        Err(BackupError::Corrupt { path: path.into(), report })
    }
}

fn check_kefu(conn: &Connection, path: &Path) -> Result<(), BackupError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(sql(path))?;
    if version < 1 {
        return Err(BackupError::NotKefu {
            path: path.into(),
            why: "no kefu schema version (user_version 0)".into(),
        });
    }
    let mut missing = Vec::new();
    for t in KEFU_TABLES {
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [t], |r| {
                r.get(0)
            })
            .map_err(sql(path))?;
        if n == 0 {
            missing.push(*t);
        }
    }
    if !missing.is_empty() {
        return Err(BackupError::NotKefu {
            path: path.into(),
            why: format!("no table {}", missing.join(", ")),
        });
    }
    Ok(())
}

fn info_of(conn: &Connection, path: &Path) -> Result<DbInfo, BackupError> {
    let schema_version: i64 =
        conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(sql(path))?;
    let count = |table: &str| -> Result<i64, BackupError> {
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).map_err(sql(path))
    };
    let counts = Counts {
        conversations: count("conversations")?,
        messages: count("messages")?,
        feedback: count("feedback")?,
        tickets: if schema_version >= 3 { count("tickets")? } else { 0 },
        shoppers: count("shoppers")?,
        orders: count("orders")?,
    };
    Ok(DbInfo { schema_version, counts })
}

pub(crate) fn sha256_of(path: &Path) -> Result<(String, u64), BackupError> {
    let mut f = std::fs::File::open(path).map_err(file(path))?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(file(path))?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        hasher.update(&buf[..n]);
    }
    let digest = hasher.finalize();
    Ok((digest.iter().map(|b| format!("{b:02x}")).collect(), bytes))
}

/// A new file with mode 0600 (never readable by others, not even for a moment).
pub(crate) fn new_private_file(path: &Path) -> Result<(), BackupError> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path).map(drop).map_err(file(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::Lang;
    use crate::store::{Sender, Store};

    async fn live(dir: &Path) -> Store {
        let store = Store::open(&dir.join("kefu.db")).unwrap();
        let conv = store.open_conversation(None, Lang::Zh).await.unwrap();
        store.add_message(conv.id, Sender::Shopper, "你好".into(), None).await.unwrap();
        store
    }

    #[tokio::test]
    async fn a_backup_is_checked_restored_and_refused_when_changed() {
        let dir = tempfile::tempdir().unwrap();
        let _store = live(dir.path()).await;
        let dest = dir.path().join("b.db");
        let (path, manifest) = backup(&dir.path().join("kefu.db"), &dest).unwrap();
        assert_eq!(path, dest);
        assert_eq!(manifest.schema_version, schema_version());
        assert_eq!((manifest.counts.conversations, manifest.counts.messages), (1, 1));
        #[cfg(unix)]
        for p in [&dest, &manifest_path(&dest)] {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(p).unwrap().permissions().mode() & 0o777, 0o600, "{p:?}");
        }
        assert!(matches!(backup(&dir.path().join("kefu.db"), &dest), Err(BackupError::Exists(_))));
        assert_eq!(verify(&dest).unwrap(), manifest);

        // into a fresh path, then not over it again without --force
        let target = dir.path().join("restored/kefu.db");
        restore(&dest, &target, false).unwrap();
        assert_eq!(inspect(&target).unwrap().counts, manifest.counts);
        assert!(matches!(restore(&dest, &target, false), Err(BackupError::WouldReplace(_))));
        restore(&dest, &target, true).unwrap();

        // over a database someone holds open: refused
        let held = Store::open(&target).unwrap();
        held.open_conversation(None, Lang::En).await.unwrap();
        let r = restore(&dest, &target, true);
        assert!(matches!(r, Err(BackupError::InUse(_))), "{r:?}");

        // one byte changed: the checksum no longer matches
        let mut bytes = std::fs::read(&dest).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&dest, &bytes).unwrap();
        let r = restore(&dest, &dir.path().join("other.db"), false);
        assert!(matches!(r, Err(BackupError::Checksum { .. })), "{r:?}");
        assert!(!dir.path().join("other.db").exists());
    }
}
