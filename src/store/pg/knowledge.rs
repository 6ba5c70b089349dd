//! [`KnowledgeStore`] on PostgreSQL: the live knowledge base (entries, versions, revisions),
//! settings, canned responses and the trainers' review decisions (the same rows and rules as
//! `store::kb`, `store::canned` and `store::review_rows`).
//!
//! A versioned write reads the current entry, checks the version it was made from and writes:
//! it holds an advisory lock on the entry (kind and id) for its transaction, so two nodes
//! editing the same entry are serialised and the second sees a conflict, never a lost update.

use crate::store::canned::{random_id, tombstone};
use deadpool_postgres::tokio_postgres::Row;
use deadpool_postgres::Transaction;

use super::PgStore;
use crate::knowledge::Canned;
use crate::lang::Lang;
use crate::store::review_rows::{ReviewAction, ReviewDecision, ReviewKey};
use crate::store::{
    now, CannedChange, CannedResponse, Expect, KbEntry, KbWrite, KnowledgeStore, Revision, StoreError,
};

const ENTRY_COLUMNS: &str = "kind, id, data, version, updated_by, updated_at";
const REVISION_COLUMNS: &str = "id, kind, entry_id, version, action, author, at, before, after";
const CANNED_COLUMNS: &str = "id, lang, title, text, version, updated_by, updated_at";

fn json(s: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn entry_row(r: &Row) -> Result<KbEntry, StoreError> {
    let data: String = r.try_get(2)?;
    Ok(KbEntry {
        kind: r.try_get(0)?,
        id: r.try_get(1)?,
        version: r.try_get(3)?,
        updated_by: r.try_get(4)?,
        updated_at: r.try_get(5)?,
        entry: json(&data)?,
    })
}

fn revision_row(r: &Row) -> Result<Revision, StoreError> {
    let json = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
    Ok(Revision {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        entry_id: r.try_get(2)?,
        version: r.try_get(3)?,
        action: r.try_get(4)?,
        author: r.try_get(5)?,
        at: r.try_get(6)?,
        before: json(r.try_get(7)?),
        after: json(r.try_get(8)?),
    })
}

fn canned_row(r: &Row) -> Result<CannedResponse, StoreError> {
    let id: String = r.try_get(0)?;
    let lang: String = r.try_get(1)?;
    let lang = Lang::parse(&lang)
        .ok_or_else(|| StoreError::Corrupt(format!("canned response {id:?}: lang {lang:?}")))?;
    Ok(CannedResponse {
        id,
        lang,
        title: r.try_get(2)?,
        text: r.try_get(3)?,
        version: r.try_get(4)?,
        updated_by: r.try_get(5)?,
        updated_at: r.try_get(6)?,
    })
}

/// Holds the entry `kind`/`id` for the rest of the transaction.
async fn lock(tx: &Transaction<'_>, kind: &str, id: &str) -> Result<(), StoreError> {
    let st = tx
        .prepare_cached("SELECT pg_advisory_xact_lock(hashtextextended($1::text || ':' || $2::text, 0))")
        .await?;
    tx.execute(&st, &[&kind, &id]).await?;
    Ok(())
}

async fn get(tx: &Transaction<'_>, kind: &str, id: &str) -> Result<Option<KbEntry>, StoreError> {
    let st = tx
        .prepare_cached(&format!("SELECT {ENTRY_COLUMNS} FROM kb_entries WHERE kind = $1 AND id = $2"))
        .await?;
    tx.query_opt(&st, &[&kind, &id]).await?.as_ref().map(entry_row).transpose()
}

/// The last version an entry had, through deletes (0 for none).
async fn last_version(tx: &Transaction<'_>, kind: &str, id: &str) -> Result<i64, StoreError> {
    let st = tx
        .prepare_cached(
            "SELECT COALESCE(MAX(version), 0) FROM kb_revisions WHERE kind = $1 AND entry_id = $2",
        )
        .await?;
    Ok(tx.query_one(&st, &[&kind, &id]).await?.try_get(0)?)
}

#[allow(clippy::too_many_arguments)]
async fn record_revision(
    tx: &Transaction<'_>,
    kind: &str,
    id: &str,
    version: i64,
    action: &str,
    author: &str,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> Result<i64, StoreError> {
    let st = tx
        .prepare_cached(
            "INSERT INTO kb_revisions (kind, entry_id, version, action, author, at, before, after)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .await?;
    let (before, after) = (before.map(|b| b.to_string()), after.map(|a| a.to_string()));
    let row = tx.query_one(&st, &[&kind, &id, &version, &action, &author, &now(), &before, &after]).await?;
    Ok(row.try_get(0)?)
}

/// Writes one entry (or deletes it with `data` None) if it is as `expect`ed, with a revision.
async fn write(
    tx: &Transaction<'_>,
    kind: &str,
    id: &str,
    expect: Expect,
    data: Option<&serde_json::Value>,
    action: &str,
    author: &str,
) -> Result<KbWrite, StoreError> {
    lock(tx, kind, id).await?;
    let current = get(tx, kind, id).await?;
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
    let version = last_version(tx, kind, id).await?.max(current.as_ref().map_or(0, |c| c.version)) + 1;
    match data {
        Some(d) => {
            let st = tx
                .prepare_cached(
                    "INSERT INTO kb_entries (kind, id, data, version, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data, version = excluded.version,
                       updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                )
                .await?;
            tx.execute(&st, &[&kind, &id, &d.to_string(), &version, &author, &now()]).await?;
        }
        None => {
            let st = tx.prepare_cached("DELETE FROM kb_entries WHERE kind = $1 AND id = $2").await?;
            tx.execute(&st, &[&kind, &id]).await?;
        }
    }
    let before = current.as_ref().map(|c| &c.entry);
    let revision = record_revision(tx, kind, id, version, action, author, before, data).await?;
    Ok(KbWrite::Done { entry: get(tx, kind, id).await?, revision })
}

async fn get_canned(tx: &Transaction<'_>, id: &str) -> Result<Option<CannedResponse>, StoreError> {
    let st =
        tx.prepare_cached(&format!("SELECT {CANNED_COLUMNS} FROM canned_responses WHERE id = $1")).await?;
    tx.query_opt(&st, &[&id]).await?.as_ref().map(canned_row).transpose()
}

async fn set_tombstone(tx: &Transaction<'_>, id: &str) -> Result<(), StoreError> {
    let st = tx
        .prepare_cached(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .await?;
    tx.execute(&st, &[&tombstone(id), &now()]).await?;
    Ok(())
}

impl KnowledgeStore for PgStore {
    async fn kb_entries(&self, kind: &'static str) -> Result<Vec<KbEntry>, StoreError> {
        let client = self.pool.get().await?;
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM kb_entries WHERE kind = $1 ORDER BY id COLLATE \"C\"");
        let st = client.prepare_cached(&sql).await?;
        client.query(&st, &[&kind]).await?.iter().map(entry_row).collect()
    }

    async fn kb_entry(&self, kind: &'static str, id: String) -> Result<Option<KbEntry>, StoreError> {
        let client = self.pool.get().await?;
        let st = client
            .prepare_cached(&format!("SELECT {ENTRY_COLUMNS} FROM kb_entries WHERE kind = $1 AND id = $2"))
            .await?;
        client.query_opt(&st, &[&kind, &id]).await?.as_ref().map(entry_row).transpose()
    }

    async fn kb_write(
        &self,
        kind: &'static str,
        id: String,
        expect: Expect,
        data: Option<serde_json::Value>,
        action: &'static str,
        author: String,
    ) -> Result<KbWrite, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let out = write(&tx, kind, &id, expect, data.as_ref(), action, &author).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// One transaction; imports of the same kind are serialised by a lock on the kind.
    async fn kb_import(
        &self,
        kind: &'static str,
        entries: Vec<(String, serde_json::Value)>,
        author: String,
    ) -> Result<usize, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        lock(&tx, "kb-import", kind).await?;
        let keep: std::collections::HashSet<&str> = entries.iter().map(|(id, _)| id.as_str()).collect();
        let st =
            tx.prepare_cached("SELECT id FROM kb_entries WHERE kind = $1 ORDER BY id COLLATE \"C\"").await?;
        let existing: Vec<String> =
            tx.query(&st, &[&kind]).await?.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?;
        let mut changed = 0;
        for id in existing.iter().filter(|id| !keep.contains(id.as_str())) {
            if matches!(
                write(&tx, kind, id, Expect::Any, None, "import", &author).await?,
                KbWrite::Done { .. }
            ) {
                changed += 1;
            }
        }
        for (id, data) in &entries {
            if matches!(
                write(&tx, kind, id, Expect::Any, Some(data), "import", &author).await?,
                KbWrite::Done { .. }
            ) {
                changed += 1;
            }
        }
        tx.commit().await?;
        Ok(changed)
    }

    async fn kb_history(&self, kind: &'static str, id: String) -> Result<Vec<Revision>, StoreError> {
        let client = self.pool.get().await?;
        let sql = format!(
            "SELECT {REVISION_COLUMNS} FROM kb_revisions WHERE kind = $1 AND entry_id = $2 ORDER BY id DESC"
        );
        let st = client.prepare_cached(&sql).await?;
        client.query(&st, &[&kind, &id]).await?.iter().map(revision_row).collect()
    }

    async fn kb_revision(&self, id: i64) -> Result<Option<Revision>, StoreError> {
        let client = self.pool.get().await?;
        let st = client
            .prepare_cached(&format!("SELECT {REVISION_COLUMNS} FROM kb_revisions WHERE id = $1"))
            .await?;
        client.query_opt(&st, &[&id]).await?.as_ref().map(revision_row).transpose()
    }

    async fn kb_revisions(&self, kind: &'static str) -> Result<Vec<Revision>, StoreError> {
        let client = self.pool.get().await?;
        let st = client
            .prepare_cached(&format!(
                "SELECT {REVISION_COLUMNS} FROM kb_revisions WHERE kind = $1 ORDER BY entry_id COLLATE \"C\", id"
            ))
            .await?;
        client.query(&st, &[&kind]).await?.iter().map(revision_row).collect()
    }

    async fn setting(&self, key: &'static str) -> Result<Option<String>, StoreError> {
        let client = self.pool.get().await?;
        let st = client.prepare_cached("SELECT value FROM settings WHERE key = $1").await?;
        Ok(client.query_opt(&st, &[&key]).await?.map(|r| r.try_get(0)).transpose()?)
    }

    async fn set_setting(&self, key: &'static str, value: String) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        let st = client
            .prepare_cached(
                "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .await?;
        client.execute(&st, &[&key, &value]).await?;
        Ok(())
    }

    async fn seed_canned(&self, canned: Vec<Canned>) -> Result<usize, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // not one a staff member deleted (its tombstone), not one already there
        let st = tx
            .prepare_cached(
                "INSERT INTO canned_responses (id, lang, title, text, version, updated_at)
                 SELECT $1, $2, $3, $4, 1, $5 WHERE NOT EXISTS (SELECT 1 FROM settings WHERE key = $6)
                 ON CONFLICT (id) DO NOTHING",
            )
            .await?;
        let mut n = 0;
        for c in &canned {
            n += tx
                .execute(&st, &[&c.id, &c.lang.code(), &c.title, &c.text, &now(), &tombstone(&c.id)])
                .await?;
        }
        tx.commit().await?;
        Ok(n as usize)
    }

    async fn canned(&self, lang: Option<Lang>) -> Result<Vec<CannedResponse>, StoreError> {
        let client = self.pool.get().await?;
        let sql = format!(
            "SELECT {CANNED_COLUMNS} FROM canned_responses WHERE $1::text IS NULL OR lang = $1
             ORDER BY lang COLLATE \"C\" DESC, title COLLATE \"C\", id COLLATE \"C\""
        );
        let st = client.prepare_cached(&sql).await?;
        client.query(&st, &[&lang.map(Lang::code)]).await?.iter().map(canned_row).collect()
    }

    async fn canned_response(&self, id: String) -> Result<Option<CannedResponse>, StoreError> {
        let client = self.pool.get().await?;
        let st = client
            .prepare_cached(&format!("SELECT {CANNED_COLUMNS} FROM canned_responses WHERE id = $1"))
            .await?;
        client.query_opt(&st, &[&id]).await?.as_ref().map(canned_row).transpose()
    }

    async fn create_canned(
        &self,
        id: Option<String>,
        lang: Lang,
        title: String,
        text: String,
        by: String,
    ) -> Result<Option<CannedResponse>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let generated = id.is_none();
        for _ in 0..5 {
            let new_id = id.clone().unwrap_or_else(|| random_id(lang));
            lock(&tx, "canned", &new_id).await?;
            // versions keep counting through a delete and a re-create
            let c = CannedResponse {
                version: last_version(&tx, "canned", &new_id).await? + 1,
                id: new_id,
                lang,
                title: title.clone(),
                text: text.clone(),
                updated_by: Some(by.clone()),
                updated_at: now(),
            };
            let st = tx
                .prepare_cached(
                    "INSERT INTO canned_responses (id, lang, title, text, version, updated_by, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
                )
                .await?;
            let n = tx
                .execute(
                    &st,
                    &[&c.id, &c.lang.code(), &c.title, &c.text, &c.version, &c.updated_by, &c.updated_at],
                )
                .await?;
            if n == 1 {
                let after = serde_json::to_value(&c).ok();
                record_revision(&tx, "canned", &c.id, c.version, "create", &by, None, after.as_ref()).await?;
                tx.commit().await?;
                return Ok(Some(c));
            }
            if !generated {
                break;
            }
        }
        tx.commit().await?;
        Ok(None)
    }

    async fn update_canned(
        &self,
        id: String,
        expected_version: i64,
        lang: Lang,
        title: String,
        text: String,
        by: String,
    ) -> Result<CannedChange<CannedResponse>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        lock(&tx, "canned", &id).await?;
        let before = get_canned(&tx, &id).await?;
        let st = tx
            .prepare_cached(
                "UPDATE canned_responses SET lang = $3, title = $4, text = $5, version = version + 1,
                   updated_by = $6, updated_at = $7
                 WHERE id = $1 AND version = $2",
            )
            .await?;
        let n = tx.execute(&st, &[&id, &expected_version, &lang.code(), &title, &text, &by, &now()]).await?;
        let out = match (n, get_canned(&tx, &id).await?) {
            (_, None) => CannedChange::NotFound,
            (1, Some(c)) => {
                let (b, a) = (serde_json::to_value(&before).ok(), serde_json::to_value(&c).ok());
                record_revision(&tx, "canned", &id, c.version, "update", &by, b.as_ref(), a.as_ref()).await?;
                CannedChange::Done(c)
            }
            (_, Some(c)) => CannedChange::Conflict(c),
        };
        tx.commit().await?;
        Ok(out)
    }

    async fn delete_canned(
        &self,
        id: String,
        expected_version: i64,
        by: String,
    ) -> Result<CannedChange<()>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        lock(&tx, "canned", &id).await?;
        let before = get_canned(&tx, &id).await?;
        let st = tx.prepare_cached("DELETE FROM canned_responses WHERE id = $1 AND version = $2").await?;
        let out = if tx.execute(&st, &[&id, &expected_version]).await? == 1 {
            set_tombstone(&tx, &id).await?;
            let b = serde_json::to_value(&before).ok();
            record_revision(&tx, "canned", &id, expected_version + 1, "delete", &by, b.as_ref(), None)
                .await?;
            CannedChange::Done(())
        } else {
            match get_canned(&tx, &id).await? {
                Some(c) => CannedChange::Conflict(c),
                None => CannedChange::NotFound,
            }
        };
        tx.commit().await?;
        Ok(out)
    }

    async fn restore_canned(
        &self,
        id: String,
        before: Option<serde_json::Value>,
        by: String,
    ) -> Result<Option<CannedResponse>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        lock(&tx, "canned", &id).await?;
        let current = get_canned(&tx, &id).await?;
        let version =
            last_version(&tx, "canned", &id).await?.max(current.as_ref().map_or(0, |c| c.version)) + 1;
        let was = serde_json::to_value(&current).ok().filter(|v| !v.is_null());
        let Some(b) = before else {
            tx.execute("DELETE FROM canned_responses WHERE id = $1", &[&id]).await?;
            set_tombstone(&tx, &id).await?;
            record_revision(&tx, "canned", &id, version, "revert", &by, was.as_ref(), None).await?;
            tx.commit().await?;
            return Ok(None);
        };
        let field = |k: &str| b.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let (Some(lang), Some(title), Some(text)) = (field("lang"), field("title"), field("text")) else {
            return Err(StoreError::Corrupt(format!("revision of canned response {id} is incomplete")));
        };
        let st = tx
            .prepare_cached(
                "INSERT INTO canned_responses (id, lang, title, text, version, updated_by, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (id) DO UPDATE SET lang = excluded.lang, title = excluded.title, text = excluded.text,
                   version = excluded.version, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            )
            .await?;
        tx.execute(&st, &[&id, &lang, &title, &text, &version, &by, &now()]).await?;
        let now_is = get_canned(&tx, &id).await?;
        let after = serde_json::to_value(&now_is).ok();
        record_revision(&tx, "canned", &id, version, "revert", &by, was.as_ref(), after.as_ref()).await?;
        tx.commit().await?;
        Ok(now_is)
    }

    async fn review_decisions(&self) -> Result<Vec<ReviewDecision>, StoreError> {
        let client = self.pool.get().await?;
        let st = client
            .prepare_cached(
                "SELECT id, key, text, lang, action, target, decided_by, decided_at FROM review_dismissals ORDER BY id",
            )
            .await?;
        let rows = client.query(&st, &[]).await?;
        rows.iter()
            .map(|r| {
                let (lang, action): (String, String) = (r.try_get(3)?, r.try_get(4)?);
                Ok(ReviewDecision {
                    id: r.try_get(0)?,
                    key: r.try_get(1)?,
                    text: r.try_get(2)?,
                    lang: Lang::parse(&lang).unwrap_or(Lang::Zh),
                    action: ReviewAction::parse(&action).unwrap_or(ReviewAction::Dismiss),
                    target: r.try_get(5)?,
                    by: r.try_get(6)?,
                    at: r.try_get(7)?,
                })
            })
            .collect()
    }

    async fn resolve_review(
        &self,
        key: ReviewKey,
        action: ReviewAction,
        target: Option<String>,
        by: String,
    ) -> Result<ReviewDecision, StoreError> {
        let client = self.pool.get().await?;
        let at = now();
        let st = client
            .prepare_cached(
                "INSERT INTO review_dismissals (key, text, lang, action, target, decided_by, decided_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .await?;
        let row = client
            .query_one(&st, &[&key.key, &key.text, &key.lang.code(), &action.as_str(), &target, &by, &at])
            .await?;
        Ok(ReviewDecision {
            id: row.try_get(0)?,
            key: key.key,
            text: key.text,
            lang: key.lang,
            action,
            target,
            by,
            at,
        })
    }
}
