//! Canned responses in the store: seeded from the knowledge base, then edited by staff with
//! optimistic concurrency (every change names the version it was made from; a stale version is
//! a [`CannedChange::Conflict`], never a silent overwrite).
//!
//! A response deleted by staff leaves a tombstone in `settings` (`canned_deleted:<id>`), so the
//! seed does not bring it back on the next start.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{now, Fail, Store, StoreError};
use crate::knowledge::Canned;
use crate::lang::Lang;

/// A stored canned response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CannedResponse {
    pub id: String,
    pub lang: Lang,
    pub title: String,
    pub text: String,
    /// 1 when created or seeded, one more at every update.
    pub version: i64,
    /// The staff member who last created or changed it; `None` for a seeded one never edited.
    pub updated_by: Option<String>,
    pub updated_at: String,
}

/// The result of a change made from a known version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CannedChange<T> {
    Done(T),
    /// Someone changed it since the version given: nothing was written; this is the current one.
    Conflict(CannedResponse),
    NotFound,
}

pub(super) fn tombstone(id: &str) -> String {
    format!("canned_deleted:{id}")
}

const COLUMNS: &str = "id, lang, title, text, version, updated_by, updated_at";

/// The columns of [`COLUMNS`], as read.
type Columns = (String, String, String, String, i64, Option<String>, String);

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Columns> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
}

fn typed((id, lang, title, text, version, updated_by, updated_at): Columns) -> Result<CannedResponse, Fail> {
    let lang = Lang::ALL
        .into_iter()
        .find(|l| l.code() == lang)
        .ok_or_else(|| Fail::Corrupt(format!("canned response {id:?}: lang {lang:?}")))?;
    Ok(CannedResponse { id, lang, title, text, version, updated_by, updated_at })
}

fn get(conn: &Connection, id: &str) -> Result<Option<CannedResponse>, Fail> {
    let sql = format!("SELECT {COLUMNS} FROM canned_responses WHERE id = ?1");
    conn.prepare_cached(&sql)?.query_row(params![id], row).optional()?.map(typed).transpose()
}

pub(super) fn random_id(lang: Lang) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let body: String = (0..10)
        .map(|_| char::from(b"0123456789abcdefghijklmnopqrstuvwxyz"[rng.random_range(0..36)]))
        .collect();
    format!("{}-{body}", lang.code())
}

impl Store {
    /// Adds the knowledge base's canned responses that are not stored yet. One already stored
    /// (edited or not) is left alone, and one deleted by staff is not added again. Returns how
    /// many were added.
    pub async fn seed_canned(&self, canned: Vec<Canned>) -> Result<usize, StoreError> {
        self.call(move |conn| {
            let mut n = 0;
            for c in &canned {
                let deleted: bool = conn
                    .prepare_cached("SELECT EXISTS (SELECT 1 FROM settings WHERE key = ?1)")?
                    .query_row(params![tombstone(&c.id)], |r| r.get(0))?;
                if !deleted {
                    n += conn.prepare_cached(
                        "INSERT OR IGNORE INTO canned_responses (id, lang, title, text, version, updated_at) VALUES (?1, ?2, ?3, ?4, 1, ?5)",
                    )?
                    .execute(params![c.id, c.lang.code(), c.title, c.text, now()])?;
                }
            }
            Ok(n)
        })
        .await
    }

    /// The canned responses, of one language or all, Chinese first, then by title.
    pub async fn canned(&self, lang: Option<Lang>) -> Result<Vec<CannedResponse>, StoreError> {
        self.read(move |conn| {
            let sql = format!(
                "SELECT {COLUMNS} FROM canned_responses WHERE ?1 IS NULL OR lang = ?1 ORDER BY lang DESC, title, id"
            );
            let mut st = conn.prepare_cached(&sql)?;
            let rows = st.query_map(params![lang.map(Lang::code)], row)?;
            rows.map(|r| typed(r?)).collect()
        })
        .await
    }

    /// One canned response.
    pub async fn canned_response(&self, id: String) -> Result<Option<CannedResponse>, StoreError> {
        self.read(move |conn| get(conn, &id)).await
    }

    /// Adds a canned response at version 1 (or one past its last version if the id was used before), with `id` or a new one (`zh-…`, `en-…`). `None`
    /// when `id` is taken. Fields are stored as given: validate them first
    /// (`knowledge::canned::check_*`).
    pub async fn create_canned(
        &self,
        id: Option<String>,
        lang: Lang,
        title: String,
        text: String,
        by: String,
    ) -> Result<Option<CannedResponse>, StoreError> {
        self.call(move |conn| {
            let generated = id.is_none();
            for _ in 0..5 {
                let new_id = id.clone().unwrap_or_else(|| random_id(lang));
                // versions keep counting through a delete and a re-create: an editor still holding
                // the deleted response's version cannot overwrite the new one
                let last: Option<i64> = conn.query_row(
                    "SELECT MAX(version) FROM kb_revisions WHERE kind = 'canned' AND entry_id = ?1",
                    params![new_id],
                    |r| r.get(0),
                )?;
                let c = CannedResponse {
                    id: new_id,
                    lang,
                    title: title.clone(),
                    text: text.clone(),
                    version: last.unwrap_or(0) + 1,
                    updated_by: Some(by.clone()),
                    updated_at: now(),
                };
                let n = conn.execute(
                    "INSERT OR IGNORE INTO canned_responses (id, lang, title, text, version, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![c.id, c.lang.code(), c.title, c.text, c.version, c.updated_by, c.updated_at],
                )?;
                if n == 1 {
                    let after = serde_json::to_value(&c).ok();
                    super::kb::record_revision(conn, "canned", &c.id, c.version, "create", &by, None, after)?;
                    return Ok(Some(c));
                }
                if !generated {
                    break;
                }
            }
            Ok(None)
        })
        .await
    }

    /// Replaces a canned response's language, title and text if it is still at
    /// `expected_version`; the version goes up by one.
    pub async fn update_canned(
        &self,
        id: String,
        expected_version: i64,
        lang: Lang,
        title: String,
        text: String,
        by: String,
    ) -> Result<CannedChange<CannedResponse>, StoreError> {
        self.call(move |conn| {
            let before = get(conn, &id)?;
            let n = conn.execute(
                "UPDATE canned_responses SET lang = ?3, title = ?4, text = ?5, version = version + 1, updated_by = ?6, updated_at = ?7
                 WHERE id = ?1 AND version = ?2",
                params![id, expected_version, lang.code(), title, text, by, now()],
            )?;
            let current = get(conn, &id)?;
            Ok(match (n, current) {
                (_, None) => CannedChange::NotFound,
                (1, Some(c)) => {
                    let (b, a) = (serde_json::to_value(&before).ok(), serde_json::to_value(&c).ok());
                    super::kb::record_revision(conn, "canned", &id, c.version, "update", &by, b, a)?;
                    CannedChange::Done(c)
                }
                (_, Some(c)) => CannedChange::Conflict(c),
            })
        })
        .await
    }

    /// Deletes a canned response if it is still at `expected_version`, and keeps the seed from
    /// adding it again.
    pub async fn delete_canned(
        &self,
        id: String,
        expected_version: i64,
        by: String,
    ) -> Result<CannedChange<()>, StoreError> {
        self.call(move |conn| {
            let before = get(conn, &id)?;
            let n = conn.execute(
                "DELETE FROM canned_responses WHERE id = ?1 AND version = ?2",
                params![id, expected_version],
            )?;
            if n == 1 {
                conn.execute(
                    "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)",
                    params![tombstone(&id), now()],
                )?;
                let b = serde_json::to_value(&before).ok();
                super::kb::record_revision(
                    conn,
                    "canned",
                    &id,
                    expected_version + 1,
                    "delete",
                    &by,
                    b,
                    None,
                )?;
                return Ok(CannedChange::Done(()));
            }
            Ok(match get(conn, &id)? {
                Some(c) => CannedChange::Conflict(c),
                None => CannedChange::NotFound,
            })
        })
        .await
    }

    /// Puts a canned response back as `before` (a revision's earlier state; `None`: it did not
    /// exist, so it is deleted), as a new version with a `revert` revision.
    pub async fn restore_canned(
        &self,
        id: String,
        before: Option<serde_json::Value>,
        by: String,
    ) -> Result<Option<CannedResponse>, StoreError> {
        self.call(move |conn| {
            let current = get(conn, &id)?;
            let last: Option<i64> = conn.query_row(
                "SELECT MAX(version) FROM kb_revisions WHERE kind = 'canned' AND entry_id = ?1",
                params![id],
                |r| r.get(0),
            )?;
            let version = last.unwrap_or(0).max(current.as_ref().map_or(0, |c| c.version)) + 1;
            let was = serde_json::to_value(&current).ok().filter(|v| !v.is_null());
            let Some(b) = before else {
                conn.execute("DELETE FROM canned_responses WHERE id = ?1", params![id])?;
                conn.execute(
                    "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)",
                    params![tombstone(&id), now()],
                )?;
                super::kb::record_revision(conn, "canned", &id, version, "revert", &by, was, None)?;
                return Ok(None);
            };
            let field = |k: &str| b.get(k).and_then(|v| v.as_str()).map(str::to_string);
            let (Some(lang), Some(title), Some(text)) = (field("lang"), field("title"), field("text")) else {
                return Err(Fail::Corrupt(format!("revision of canned response {id} is incomplete")));
            };
            conn.execute(
                "INSERT INTO canned_responses (id, lang, title, text, version, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(id) DO UPDATE SET lang = excluded.lang, title = excluded.title, text = excluded.text,
                   version = excluded.version, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                params![id, lang, title, text, version, by, now()],
            )?;
            let now_is = get(conn, &id)?;
            let after = serde_json::to_value(&now_is).ok();
            super::kb::record_revision(conn, "canned", &id, version, "revert", &by, was, after)?;
            Ok(now_is)
        })
        .await
    }
}
