//! A shopper's erasure and the retention periods on PostgreSQL: the same rows changed as
//! `store::erasure` changes on SQLite (see there for what is kept), an erasure in one
//! transaction, a retention batch in one short transaction.

use deadpool_postgres::Transaction;

use super::conversations::decode;
use super::PgStore;
use crate::knowledge::Order;
use crate::records::FeedbackRecord;
use crate::store::erasure::{anonymise_feedback, anonymise_order, event_needles, unix_secs};
use crate::store::{now, ErasedCounts, Erasure, Retained, StoreError, ERASED};

fn encode<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn count(n: u64) -> usize {
    n as usize
}

impl PgStore {
    pub(super) async fn erase_shopper_pg(
        &self,
        shopper_id: String,
        by: String,
    ) -> Result<Option<Erasure>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let id = &shopper_id;
        // one erasure of a shopper at a time (a second waits, then changes nothing)
        tx.execute("SELECT pg_advisory_xact_lock(hashtext('kefu-erase:' || $1))", &[id]).await?;
        let known: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM shoppers WHERE id = $1)
                     OR EXISTS (SELECT 1 FROM conversations WHERE shopper_id = $1)
                     OR EXISTS (SELECT 1 FROM tickets WHERE shopper_id = $1)
                     OR EXISTS (SELECT 1 FROM erasures WHERE shopper_id = $1)",
                &[id],
            )
            .await?
            .try_get(0)?;
        if !known {
            return Ok(None);
        }
        let counts = erase(&tx, id).await?;
        let at = now();
        let row = tx
            .query_one(
                "INSERT INTO erasures (shopper_id, erased_by, erased_at, counts) VALUES ($1, $2, $3, $4) RETURNING id",
                &[id, &by, &at, &encode(&counts)?],
            )
            .await?;
        let erasure = Erasure { id: row.try_get(0)?, shopper_id: shopper_id.clone(), by, at, counts };
        tx.commit().await?;
        Ok(Some(erasure))
    }

    pub(super) async fn erasures_pg(&self, shopper_id: Option<String>) -> Result<Vec<Erasure>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT id, shopper_id, erased_by, erased_at, counts FROM erasures
                 WHERE $1::text IS NULL OR shopper_id = $1 ORDER BY id DESC",
                &[&shopper_id],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Erasure {
                    id: r.try_get(0)?,
                    shopper_id: r.try_get(1)?,
                    by: r.try_get(2)?,
                    at: r.try_get(3)?,
                    counts: decode(r.try_get(4)?)?,
                })
            })
            .collect()
    }

    pub(super) async fn purge_expired_pg(
        &self,
        kind: Retained,
        before: String,
        limit: usize,
    ) -> Result<usize, StoreError> {
        let limit = limit.clamp(1, 10_000) as i64;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let purged = purge(&tx, kind, &before, limit).await?;
        tx.commit().await?;
        Ok(purged)
    }
}

async fn erase(tx: &Transaction<'_>, shopper_id: &String) -> Result<ErasedCounts, StoreError> {
    let mut n = ErasedCounts::default();
    let conversations: Vec<String> = tx
        .query("SELECT id FROM conversations WHERE shopper_id = $1 ORDER BY id", &[shopper_id])
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let ids = &conversations;
    n.conversations = conversations.len();
    tx.execute(
        "UPDATE conversations SET dialogue = NULL WHERE id = ANY($1) AND dialogue IS NOT NULL",
        &[ids],
    )
    .await?;
    n.messages = count(
        tx.execute(
            "UPDATE messages SET text = $2,
               meta = CASE WHEN meta IS NOT NULL AND meta::jsonb ? 'image' THEN (meta::jsonb - 'image')::text
                           ELSE meta END
             WHERE conversation_id = ANY($1) AND (text <> $2 OR (meta IS NOT NULL AND meta::jsonb ? 'image'))",
            &[ids, &ERASED],
        )
        .await?,
    );
    n.notes = count(
        tx.execute(
            "UPDATE notes SET text = $2 WHERE conversation_id = ANY($1) AND text <> $2",
            &[ids, &ERASED],
        )
        .await?,
    );
    tx.execute(
        "DELETE FROM image_data WHERE id IN (SELECT id FROM images WHERE conversation_id = ANY($1))",
        &[ids],
    )
    .await?;
    n.images = count(tx.execute("DELETE FROM images WHERE conversation_id = ANY($1)", &[ids]).await?);
    let feedback = tx
        .query(
            "SELECT conversation_id, record FROM feedback WHERE conversation_id = ANY($1) FOR UPDATE",
            &[ids],
        )
        .await?;
    for row in &feedback {
        let conversation: String = row.try_get(0)?;
        let mut record: FeedbackRecord = decode(row.try_get(1)?)?;
        if anonymise_feedback(&mut record, false) {
            n.feedback += 1;
        }
        tx.execute(
            "UPDATE feedback SET comment = NULL, record = $2 WHERE conversation_id = $1",
            &[&conversation, &encode(&record)?],
        )
        .await?;
    }
    n.tickets = count(
        tx.execute(
            "UPDATE tickets SET text = $3, contact = NULL, answer = CASE WHEN answer IS NULL THEN NULL ELSE $3 END
             WHERE (conversation_id = ANY($1) OR shopper_id = $2)
               AND (text <> $3 OR contact IS NOT NULL OR answer <> $3)",
            &[ids, shopper_id, &ERASED],
        )
        .await?,
    );
    let orders = tx
        .query(
            "SELECT order_no, data FROM orders WHERE shopper_id = $1 ORDER BY order_no FOR UPDATE",
            &[shopper_id],
        )
        .await?;
    let mut numbers: Vec<String> = Vec::with_capacity(orders.len());
    for row in &orders {
        let order_no: String = row.try_get(0)?;
        let mut order: Order = decode(row.try_get(1)?)?;
        if anonymise_order(&mut order) {
            tx.execute("UPDATE orders SET data = $2 WHERE order_no = $1", &[&order_no, &encode(&order)?])
                .await?;
            n.orders += 1;
        }
        numbers.push(order_no);
    }
    n.phone_guesses =
        count(tx.execute("DELETE FROM phone_guesses WHERE order_no = ANY($1)", &[&numbers]).await?);
    n.returns = count(
        tx.execute(
            "UPDATE returns SET reason = $3 WHERE (conversation_id = ANY($1) OR order_no = ANY($2)) AND reason <> $3",
            &[ids, &numbers, &ERASED],
        )
        .await?,
    );
    n.profile = count(
        tx.execute(
            "UPDATE shoppers SET name = '', phone = '' WHERE id = $1 AND (name <> '' OR phone <> '')",
            &[shopper_id],
        )
        .await?,
    );
    let needles = event_needles(shopper_id, &conversations);
    // deliveries go with their events (ON DELETE CASCADE)
    n.webhook_events = count(
        tx.execute(
            "DELETE FROM webhook_events WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) AS n WHERE strpos(body, n) > 0)",
            &[&needles],
        )
        .await?,
    );
    Ok(n)
}

async fn purge(
    tx: &Transaction<'_>,
    kind: Retained,
    before: &String,
    limit: i64,
) -> Result<usize, StoreError> {
    Ok(match kind {
        Retained::Messages => {
            // ids grow with time: the oldest `limit` by id, those of them expired
            let ids: Vec<i64> = tx
                .query(
                    "SELECT id FROM (SELECT id, created_at FROM messages ORDER BY id LIMIT $2) o WHERE created_at < $1",
                    &[before, &limit],
                )
                .await?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
            tx.execute("DELETE FROM images WHERE message_id = ANY($1)", &[&ids]).await?;
            let mut purged = count(tx.execute("DELETE FROM messages WHERE id = ANY($1)", &[&ids]).await?);
            // photos uploaded but never sent (their bytes go with them: ON DELETE CASCADE)
            purged += count(
                tx.execute(
                    "DELETE FROM images WHERE id IN (SELECT id FROM images
                       WHERE message_id IS NULL AND created_at < $1 ORDER BY created_at LIMIT $2)",
                    &[before, &limit],
                )
                .await?,
            );
            purged
        }
        Retained::Notes => count(
            tx.execute(
                "DELETE FROM notes WHERE id IN
                   (SELECT id FROM (SELECT id, created_at FROM notes ORDER BY id LIMIT $2) o WHERE created_at < $1)",
                &[before, &limit],
            )
            .await?,
        ),
        Retained::Tickets => count(
            tx.execute(
                "DELETE FROM tickets WHERE id IN (SELECT id FROM tickets
                   WHERE status IN ('answered', 'closed') AND created_at < $1 ORDER BY created_at LIMIT $2)",
                &[before, &limit],
            )
            .await?,
        ),
        Retained::Feedback => {
            let rows = tx
                .query(
                    "SELECT conversation_id, record FROM feedback WHERE anonymised_at IS NULL AND updated_at < $1
                     ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED",
                    &[before, &limit],
                )
                .await?;
            let at = now();
            for row in &rows {
                let conversation: String = row.try_get(0)?;
                let mut record: FeedbackRecord = decode(row.try_get(1)?)?;
                anonymise_feedback(&mut record, true);
                tx.execute(
                    "UPDATE feedback SET comment = NULL, record = $2, anonymised_at = $3 WHERE conversation_id = $1",
                    &[&conversation, &encode(&record)?, &at],
                )
                .await?;
            }
            rows.len()
        }
        Retained::Logins => {
            let secs = unix_secs(before).map_err(StoreError::Query)?;
            count(
                tx.execute(
                    "DELETE FROM login_failures WHERE name IN
                       (SELECT name FROM login_failures WHERE updated_at < $1 ORDER BY updated_at LIMIT $2)",
                    &[&secs, &limit],
                )
                .await?,
            ) + count(
                tx.execute(
                    "DELETE FROM phone_guesses WHERE order_no IN
                       (SELECT order_no FROM phone_guesses WHERE updated_at < $1 ORDER BY updated_at LIMIT $2)",
                    &[before, &limit],
                )
                .await?,
            )
        }
    })
}
