//! Backups and restores of a PostgreSQL database (issue 21 item 5, issue 19 item 7): the same
//! commands and manifest as SQLite's (`store::backup`), with PostgreSQL's own tools doing the copy.
//!
//! `backup` opens a read-only REPEATABLE READ transaction, exports its snapshot, counts the rows
//! in it, and has `pg_dump --snapshot` dump exactly that snapshot (custom format, no owners or
//! grants), so the manifest's counts are the dump's, while the service goes on writing. The
//! dump is written beside its destination (0600), fsynced and renamed into place; the manifest
//! (format [`FORMAT`], SHA-256, schema version, counts) beside it.
//!
//! `restore` checks the checksum and that `pg_restore` can read the archive, refuses a database
//! that other sessions are using (a running kefu node holds connections) or that already holds a
//! kefu schema (unless `force`), then runs `pg_restore --single-transaction`: the database gets
//! the whole backup or stays as it was. The restored counts are compared with the manifest's.
//!
//! The password (if the URL has one) goes to the tools in `PGPASSWORD`, never on their command
//! line, where every local user could read it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use deadpool_postgres::tokio_postgres::{self, NoTls};

use super::redact;
use crate::store::backup::{
    destination, new_private_file, partial_path, sha256_of, write_manifest, BackupError, Counts, Manifest,
};

/// The manifest's `format` for a PostgreSQL backup (`pg_dump`'s custom format).
pub const FORMAT: &str = "kefu-backup/pg-1";

/// The tables whose rows a manifest counts (the same as SQLite's).
const COUNTED: [&str; 6] = ["conversations", "messages", "feedback", "tickets", "shoppers", "orders"];

fn db_err(url: &str) -> impl Fn(tokio_postgres::Error) -> BackupError + '_ {
    move |e| {
        let message = match e.as_db_error() {
            Some(db) => db.message().to_string(),
            None => e.to_string(),
        };
        BackupError::Postgres { database: redact(url), message }
    }
}

fn file(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |e| BackupError::File { path: path.to_path_buf(), source: e }
}

async fn connect(url: &str) -> Result<tokio_postgres::Client, BackupError> {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.map_err(db_err(url))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "backup connection closed");
        }
    });
    Ok(client)
}

/// Schema version and counts, as the client's transaction sees them; `None` when the database
/// holds no kefu schema.
async fn info(client: &tokio_postgres::Client, url: &str) -> Result<Option<(i64, Counts)>, BackupError> {
    let has: bool = client
        .query_one("SELECT to_regclass('schema_version') IS NOT NULL", &[])
        .await
        .map_err(db_err(url))?
        .get(0);
    if !has {
        return Ok(None);
    }
    let version: i64 = client
        .query_one("SELECT COALESCE(MAX(version), 0)::bigint FROM schema_version", &[])
        .await
        .map_err(db_err(url))?
        .get(0);
    let mut n = [0i64; COUNTED.len()];
    for (i, table) in COUNTED.iter().enumerate() {
        n[i] = client
            .query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
            .await
            .map_err(db_err(url))?
            .get(0);
    }
    let counts = Counts {
        conversations: n[0],
        messages: n[1],
        feedback: n[2],
        tickets: n[3],
        shoppers: n[4],
        orders: n[5],
    };
    Ok(Some((version, counts)))
}

/// `pg_dump`/`pg_restore` with the URL's connection settings as arguments and environment (the
/// password only in `PGPASSWORD`).
fn tool(name: &str, url: &str) -> Result<Command, BackupError> {
    let config: tokio_postgres::Config =
        url.parse().map_err(|e| BackupError::Postgres { database: redact(url), message: format!("{e}") })?;
    let mut cmd = Command::new(name);
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    cmd.env_remove("PGPASSWORD");
    if let Some(host) = config.get_hosts().first() {
        match host {
            tokio_postgres::config::Host::Tcp(h) => cmd.env("PGHOST", h),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => cmd.env("PGHOST", p),
        };
    }
    if let Some(port) = config.get_ports().first() {
        cmd.env("PGPORT", port.to_string());
    }
    if let Some(user) = config.get_user() {
        cmd.env("PGUSER", user);
    }
    if let Some(db) = config.get_dbname() {
        cmd.env("PGDATABASE", db);
    }
    if let Some(pw) = config.get_password() {
        cmd.env("PGPASSWORD", String::from_utf8_lossy(pw).into_owned());
    }
    Ok(cmd)
}

/// Runs `cmd` off the async threads; its error output on failure.
async fn run(name: &'static str, mut cmd: Command) -> Result<(), BackupError> {
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .map_err(|e| BackupError::Tool { tool: name, message: e.to_string() })?
        .map_err(|e| BackupError::Tool {
            tool: name,
            message: if e.kind() == std::io::ErrorKind::NotFound {
                format!("{name} is not installed (Debian: apt-get install postgresql-client)")
            } else {
                e.to_string()
            },
        })?;
    if out.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(BackupError::Tool { tool: name, message: format!("{}: {}", out.status, stderr.trim()) })
    }
}

/// Dumps the database at `url` (live) to `dest`, a new file (or, when `dest` is a folder,
/// `kefu-YYYYMMDDTHHMMSSZ.pgdump` in it), and writes its manifest.
pub async fn backup(url: &str, dest: &Path) -> Result<(PathBuf, Manifest), BackupError> {
    let now = chrono::Utc::now();
    let (dest, manifest_file) = destination(dest, "pgdump", now)?;
    let client = connect(url).await?;
    client.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await.map_err(db_err(url))?;
    let snapshot: String =
        client.query_one("SELECT pg_export_snapshot()", &[]).await.map_err(db_err(url))?.get(0);
    let Some((schema_version, counts)) = info(&client, url).await? else {
        return Err(BackupError::NotKefu { path: redact(url).into(), why: "no kefu schema".into() });
    };

    let partial = partial_path(&dest);
    let _ = std::fs::remove_file(&partial);
    new_private_file(&partial)?;
    let mut cmd = tool("pg_dump", url)?;
    cmd.arg("--format=custom")
        .arg("--no-owner")
        .arg("--no-privileges")
        .arg(format!("--snapshot={snapshot}"))
        // the cluster bus's large messages: minutes-lived, nothing to restore
        .arg("--exclude-table-data=kefu_bus_payloads")
        .arg("--file")
        .arg(&partial);
    let dumped = run("pg_dump", cmd).await;
    // the snapshot only had to live while pg_dump attached to it
    let _ = client.batch_execute("COMMIT").await;
    if let Err(e) = dumped {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::File::open(&partial).and_then(|f| f.sync_all()).map_err(file(&partial))?;
    std::fs::rename(&partial, &dest).map_err(file(&dest))?;
    let (sha256, bytes) = sha256_of(&dest)?;
    let manifest = Manifest {
        format: FORMAT.into(),
        file: dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        sha256,
        bytes,
        schema_version,
        kefu_version: env!("CARGO_PKG_VERSION").into(),
        created_at: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        counts,
    };
    write_manifest(&manifest_file, &manifest)?;
    Ok((dest, manifest))
}

/// Checks a PostgreSQL backup against its manifest: the format, the checksum, a schema this
/// binary knows, and an archive `pg_restore` can read.
pub async fn verify(src: &Path) -> Result<Manifest, BackupError> {
    let manifest = crate::store::backup::read_manifest(src, FORMAT)?;
    let known = super::SCHEMA_VERSION;
    if manifest.schema_version > known {
        return Err(BackupError::Newer { path: src.into(), found: manifest.schema_version, known });
    }
    let mut cmd = Command::new("pg_restore");
    cmd.arg("--list").arg(src).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    run("pg_restore", cmd).await.map_err(|e| match e {
        BackupError::Tool { message, .. } if !message.contains("not installed") => {
            BackupError::Corrupt { path: src.into(), report: message }
        }
        other => other,
    })?;
    Ok(manifest)
}

/// Restores the backup `src` (checked first, see [`verify`]) into the database at `url`. A
/// database that already holds kefu's tables is replaced only with `force`, and never while
/// other sessions are connected to it.
pub async fn restore(src: &Path, url: &str, force: bool) -> Result<Manifest, BackupError> {
    let manifest = verify(src).await?;
    let client = connect(url).await?;
    let others: i64 = client
        .query_one(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .map_err(db_err(url))?
        .get(0);
    if others > 0 {
        return Err(BackupError::DatabaseInUse { database: redact(url), sessions: others });
    }
    if info(&client, url).await?.is_some() && !force {
        return Err(BackupError::WouldReplace(redact(url).into()));
    }
    let mut cmd = tool("pg_restore", url)?;
    cmd.arg("--clean")
        .arg("--if-exists")
        .arg("--no-owner")
        .arg("--no-privileges")
        .arg("--single-transaction")
        .arg("--exit-on-error")
        .arg("--dbname")
        .arg(config_dbname(url)?)
        .arg(src);
    run("pg_restore", cmd).await?;
    match info(&client, url).await? {
        Some((version, counts)) if version == manifest.schema_version && counts == manifest.counts => {
            Ok(manifest)
        }
        found => Err(BackupError::Postgres {
            database: redact(url),
            message: format!(
                "the restored database does not match the manifest (schema and counts {found:?}, expected {} and {:?})",
                manifest.schema_version, manifest.counts
            ),
        }),
    }
}

/// The database name `pg_restore --dbname` connects to (the rest comes from the environment).
fn config_dbname(url: &str) -> Result<String, BackupError> {
    let config: tokio_postgres::Config =
        url.parse().map_err(|e| BackupError::Postgres { database: redact(url), message: format!("{e}") })?;
    Ok(config.get_dbname().or(config.get_user()).unwrap_or("postgres").to_string())
}
