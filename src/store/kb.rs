//! The editable knowledge base in the store: current entries and their revisions. Every write
//! names the version it starts from, so two trainers editing the same entry never silently
//! overwrite each other: the second gets a conflict with the current entry.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::records::from_json;
use super::{now, Fail, Store, StoreError};

/// An entry as stored.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KbEntry {
    pub kind: String,
    pub id: String,
    pub version: i64,
    pub updated_by: String,
    pub updated_at: String,
    pub entry: serde_json::Value,
}

/// One change to an entry.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Revision {
    pub id: i64,
    pub kind: String,
    pub entry_id: String,
    pub version: i64,
    pub action: String,
    pub author: String,
    pub at: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// What a write expects to find.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Expect {
    /// No entry with this id (create).
    Absent,
    /// The entry at this version (update, delete).
    Version(i64),
    /// Whatever is there (revert, import).
    Any,
}

/// What became of a write.
#[derive(Debug, Clone, PartialEq)]
pub enum KbWrite {
    /// Written: the entry as it is now (None when deleted) and the revision recorded.
    Done { entry: Option<KbEntry>, revision: i64 },
    /// Nothing changed (the entry already was like that).
    Unchanged,
    /// The entry is not as expected: here is what is there now.
    Conflict { current: Option<KbEntry> },
}

fn entry_row(r: &rusqlite::Row) -> rusqlite::Result<(String, String, String, i64, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
}

fn to_entry(row: (String, String, String, i64, String, String)) -> Result<KbEntry, Fail> {
    let (kind, id, data, version, updated_by, updated_at) = row;
    Ok(KbEntry { kind, id, version, updated_by, updated_at, entry: from_json(&data)? })
}

fn get(conn: &Connection, kind: &str, id: &str) -> Result<Option<KbEntry>, Fail> {
    let row = conn
        .prepare_cached(
            "SELECT kind, id, data, version, updated_by, updated_at FROM kb_entries WHERE kind = ?1 AND id = ?2",
        )?
        .query_row(params![kind, id], entry_row)
        .optional()?;
    row.map(to_entry).transpose()
}

/// Writes one entry (or deletes it with `data` None) if it is as `expect`ed, with a revision.
fn write(
    conn: &Connection,
    kind: &str,
    id: &str,
    expect: Expect,
    data: Option<&serde_json::Value>,
    action: &str,
    author: &str,
) -> Result<KbWrite, Fail> {
    let current = get(conn, kind, id)?;
    let ok = match (expect, &current) {
        (Expect::Absent, None) | (Expect::Any, _) => true,
        (Expect::Version(v), Some(c)) => c.version == v,
        _ => false,
    };
    if !ok {
        return Ok(KbWrite::Conflict { current });
    }
    if current.as_ref().map(|c| &c.entry) == data {
        return Ok(KbWrite::Unchanged);
    }
    // versions keep counting through a delete and a re-create
    let last: Option<i64> = conn
        .prepare_cached("SELECT MAX(version) FROM kb_revisions WHERE kind = ?1 AND entry_id = ?2")?
        .query_row(params![kind, id], |r| r.get(0))?;
    let version = last.unwrap_or(0).max(current.as_ref().map_or(0, |c| c.version)) + 1;
    let at = now();
    match data {
        Some(d) => {
            conn.prepare_cached(
                "INSERT INTO kb_entries (kind, id, data, version, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(kind, id) DO UPDATE SET data = excluded.data, version = excluded.version,
                   updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            )?
            .execute(params![kind, id, d.to_string(), version, author, at])?;
        }
        None => {
            conn.prepare_cached("DELETE FROM kb_entries WHERE kind = ?1 AND id = ?2")?
                .execute(params![kind, id])?;
        }
    }
    conn.prepare_cached(
        "INSERT INTO kb_revisions (kind, entry_id, version, action, author, at, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        kind,
        id,
        version,
        action,
        author,
        at,
        current.as_ref().map(|c| c.entry.to_string()),
        data.map(|d| d.to_string())
    ])?;
    let revision = conn.last_insert_rowid();
    Ok(KbWrite::Done { entry: get(conn, kind, id)?, revision })
}

/// Records a change made elsewhere (canned responses keep their own table) as a revision.
#[allow(clippy::too_many_arguments)]
pub(super) fn record_revision(
    conn: &Connection,
    kind: &str,
    id: &str,
    version: i64,
    action: &str,
    author: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<(), Fail> {
    conn.prepare_cached(
        "INSERT INTO kb_revisions (kind, entry_id, version, action, author, at, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![kind, id, version, action, author, now(), before.map(|b| b.to_string()), after.map(|a| a.to_string())])?;
    Ok(())
}

fn revision_row(r: &rusqlite::Row) -> rusqlite::Result<Revision> {
    let json = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
    Ok(Revision {
        id: r.get(0)?,
        kind: r.get(1)?,
        entry_id: r.get(2)?,
        version: r.get(3)?,
        action: r.get(4)?,
        author: r.get(5)?,
        at: r.get(6)?,
        before: json(r.get(7)?),
        after: json(r.get(8)?),
    })
}

const REVISION_COLUMNS: &str = "id, kind, entry_id, version, action, author, at, before, after";

impl Store {
    /// Every entry of a kind, by id.
    pub async fn kb_entries(&self, kind: &'static str) -> Result<Vec<KbEntry>, StoreError> {
        self.read(move |conn| {
            let mut st = conn.prepare_cached(
                "SELECT kind, id, data, version, updated_by, updated_at FROM kb_entries WHERE kind = ?1 ORDER BY id",
            )?;
            let rows = st.query_map(params![kind], entry_row)?.collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(to_entry).collect()
        })
        .await
    }

    pub async fn kb_entry(&self, kind: &'static str, id: String) -> Result<Option<KbEntry>, StoreError> {
        self.read(move |conn| get(conn, kind, &id)).await
    }

    /// Creates, updates or (with `data` None) deletes an entry if it is as expected.
    pub async fn kb_write(
        &self,
        kind: &'static str,
        id: String,
        expect: Expect,
        data: Option<serde_json::Value>,
        action: &'static str,
        author: String,
    ) -> Result<KbWrite, StoreError> {
        self.call(move |conn| write(conn, kind, &id, expect, data.as_ref(), action, &author)).await
    }

    /// Makes the entries of a kind exactly `entries` (one commit, a revision per change);
    /// returns how many entries changed.
    pub async fn kb_import(
        &self,
        kind: &'static str,
        entries: Vec<(String, serde_json::Value)>,
        author: String,
    ) -> Result<usize, StoreError> {
        self.call(move |conn| {
            let mut changed = 0;
            let keep: std::collections::HashSet<&str> = entries.iter().map(|(id, _)| id.as_str()).collect();
            let existing: Vec<String> = conn
                .prepare_cached("SELECT id FROM kb_entries WHERE kind = ?1")?
                .query_map(params![kind], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            for id in existing.iter().filter(|id| !keep.contains(id.as_str())) {
                if matches!(
                    write(conn, kind, id, Expect::Any, None, "import", &author)?,
                    KbWrite::Done { .. }
                ) {
                    changed += 1;
                }
            }
            for (id, data) in &entries {
                if matches!(
                    write(conn, kind, id, Expect::Any, Some(data), "import", &author)?,
                    KbWrite::Done { .. }
                ) {
                    changed += 1;
                }
            }
            Ok(changed)
        })
        .await
    }

    /// An entry's revisions, newest first.
    pub async fn kb_history(&self, kind: &'static str, id: String) -> Result<Vec<Revision>, StoreError> {
        self.read(move |conn| {
            let mut st = conn.prepare_cached(&format!(
                "SELECT {REVISION_COLUMNS} FROM kb_revisions WHERE kind = ?1 AND entry_id = ?2 ORDER BY id DESC"
            ))?;
            let rows = st.query_map(params![kind, id], revision_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Every revision of every entry of a kind, by entry then oldest first (for what is derived
    /// from whole histories, such as whether an FAQ's two answers were edited together).
    pub async fn kb_revisions(&self, kind: &'static str) -> Result<Vec<Revision>, StoreError> {
        self.read(move |conn| {
            let mut st = conn.prepare_cached(&format!(
                "SELECT {REVISION_COLUMNS} FROM kb_revisions WHERE kind = ?1 ORDER BY entry_id, id"
            ))?;
            let rows = st.query_map(params![kind], revision_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    pub async fn kb_revision(&self, id: i64) -> Result<Option<Revision>, StoreError> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached(&format!("SELECT {REVISION_COLUMNS} FROM kb_revisions WHERE id = ?1"))?
                .query_row(params![id], revision_row)
                .optional()?)
        })
        .await
    }

    /// A value from the settings table.
    pub async fn setting(&self, key: &'static str) -> Result<Option<String>, StoreError> {
        self.read(move |conn| {
            Ok(conn
                .query_row("SELECT value FROM settings WHERE key = ?1", params![key], |r| r.get(0))
                .optional()?)
        })
        .await
    }

    pub async fn set_setting(&self, key: &'static str, value: String) -> Result<(), StoreError> {
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
        .await
    }
}
