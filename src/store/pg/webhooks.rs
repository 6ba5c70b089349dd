//! [`WebhookStore`] on PostgreSQL: the outbound webhooks' endpoints, deliveries and delivery log
//! (the same rows and rules as `store::webhooks`; the events are written by the other
//! aggregates' transactions through `events::record_event`).
//!
//! Fan-out and commit order: an event's `seq` is taken when it is inserted, but transactions
//! commit in any order, so a reader can see seq 6 committed while seq 5 is still in flight; an
//! endpoint's `last_seq` moved past 6 would skip 5 for ever. So the fan-out first finds a *safe
//! head*: it takes `LOCK TABLE webhook_events IN SHARE MODE` (which waits for every transaction
//! that has inserted an event to end, and holds new inserts back meanwhile), reads the newest
//! seq, and commits at once. Every seq up to it is then committed or rolled back, and every
//! later insert gets a higher one. The deliveries are created in a second transaction that
//! holds each endpoint's row (`SELECT … FOR UPDATE`), so two nodes fanning out at once create
//! each delivery once (and `UNIQUE (event_seq, endpoint)` backs it). Attempts and replays change
//! one delivery row each, under its row lock, and a delivered one never changes again.
//!
//! Sending: every node's worker polls [`WebhookStore::webhook_due`], which *claims* what it
//! returns (`FOR UPDATE SKIP LOCKED`, then the next attempt moved to the end of a lease in the
//! same statement), so two nodes never send one delivery at once while the lease holds. A node
//! killed mid-send leaves the delivery due again when its lease ends, and another node sends it:
//! delivery is at least once, and receivers deduplicate by `Kefu-Event-Id`.

use deadpool_postgres::tokio_postgres::Row;
use deadpool_postgres::Transaction;

use super::PgStore;
use crate::store::traits::WebhookStore;
use crate::store::webhooks::{
    now_ms, Attempt, AttemptEnd, DeliveryQuery, DeliveryRow, DeliveryStatus, DueDelivery, EndpointCounts,
    EndpointSpec, Replay, ROW_COLUMNS,
};
use crate::store::{now, StoreError};

fn delivery_row(r: &Row) -> Result<DeliveryRow, StoreError> {
    let status: String = r.try_get(4)?;
    Ok(DeliveryRow {
        id: r.try_get(0)?,
        endpoint: r.try_get(1)?,
        event_id: r.try_get(2)?,
        kind: r.try_get(3)?,
        status: DeliveryStatus::parse(&status).map_err(|e| e.into_store())?,
        attempts: r.try_get::<_, i64>(5)? as u32,
        last_status: r.try_get::<_, Option<i64>>(6)?.map(|s| s as u16),
        last_error: r.try_get(7)?,
        last_attempt_at: r.try_get(8)?,
        next_attempt_ms: r.try_get(9)?,
        delivered_at: r.try_get(10)?,
        created_at: r.try_get(11)?,
    })
}

/// One delivery, its row held (`FOR UPDATE`) for the rest of the transaction.
async fn locked_delivery(tx: &Transaction<'_>, id: i64) -> Result<Option<DeliveryRow>, StoreError> {
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM webhook_deliveries d JOIN webhook_events e ON e.seq = d.event_seq
         WHERE d.id = $1 FOR UPDATE OF d"
    );
    let st = tx.prepare_cached(&sql).await?;
    tx.query_opt(&st, &[&id]).await?.as_ref().map(delivery_row).transpose()
}

impl PgStore {
    /// The newest seq below which no event can still appear (see the module's doc).
    async fn safe_head(&self) -> Result<i64, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.batch_execute("LOCK TABLE webhook_events IN SHARE MODE").await?;
        let head = tx.query_one("SELECT COALESCE(MAX(seq), 0) FROM webhook_events", &[]).await?.try_get(0)?;
        tx.commit().await?;
        Ok(head)
    }
}

impl WebhookStore for PgStore {
    async fn webhook_head(&self) -> Result<i64, StoreError> {
        let client = self.pool.get().await?;
        let st = client.prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM webhook_events").await?;
        Ok(client.query_one(&st, &[]).await?.try_get(0)?)
    }

    async fn webhook_fan_out(&self, endpoints: Vec<EndpointSpec>) -> Result<usize, StoreError> {
        let head = self.safe_head().await?;
        let (at, at_ms) = (now(), now_ms());
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let register = tx
            .prepare_cached(
                "INSERT INTO webhook_endpoints (url, last_seq, first_seen) VALUES ($1, $2, $3)
                 ON CONFLICT (url) DO NOTHING",
            )
            .await?;
        let hold =
            tx.prepare_cached("SELECT last_seq FROM webhook_endpoints WHERE url = $1 FOR UPDATE").await?;
        let create = tx
            .prepare_cached(
                "INSERT INTO webhook_deliveries (event_seq, endpoint, status, attempts, since_ms, next_attempt_ms, created_at)
                 SELECT seq, $1, 'pending', 0, $2, $2, $3 FROM webhook_events
                 WHERE seq > $4 AND seq <= $5 AND ($6::text[] IS NULL OR kind = ANY ($6))
                 ORDER BY seq
                 ON CONFLICT (event_seq, endpoint) DO NOTHING",
            )
            .await?;
        let advance = tx
            .prepare_cached("UPDATE webhook_endpoints SET last_seq = GREATEST(last_seq, $2) WHERE url = $1")
            .await?;
        let mut created = 0;
        for e in endpoints {
            tx.execute(&register, &[&e.url, &head, &at]).await?;
            let last: i64 = tx.query_one(&hold, &[&e.url]).await?.try_get(0)?;
            let kinds = (!e.kinds.is_empty()).then(|| e.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>());
            created += tx.execute(&create, &[&e.url, &at_ms, &at, &last, &head, &kinds]).await? as usize;
            tx.execute(&advance, &[&e.url, &head]).await?;
        }
        tx.commit().await?;
        Ok(created)
    }

    async fn webhook_due(
        &self,
        endpoints: Vec<String>,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let client = self.pool.get().await?;
        // one statement: the due rows not locked by another node's claim right now, locked,
        // their next attempt moved to the lease's end; a claim committed meanwhile is re-checked
        // (the row is no longer due) before it is taken
        let st = client
            .prepare_cached(
                "WITH due AS (
                   SELECT d.id, d.next_attempt_ms FROM webhook_deliveries d
                   WHERE d.status = 'pending' AND d.next_attempt_ms <= $1 AND d.endpoint = ANY ($3)
                   ORDER BY d.next_attempt_ms, d.id LIMIT $2
                   FOR UPDATE SKIP LOCKED),
                 claimed AS (
                   UPDATE webhook_deliveries d SET next_attempt_ms = $4 FROM due WHERE d.id = due.id
                   RETURNING d.id, d.endpoint, d.event_seq, d.attempts, d.since_ms, due.next_attempt_ms AS was)
                 SELECT c.id, c.endpoint, e.id, e.kind, e.body, c.attempts, c.since_ms
                 FROM claimed c JOIN webhook_events e ON e.seq = c.event_seq
                 ORDER BY c.was, c.id",
            )
            .await?;
        let limit = limit.min(i64::MAX as usize) as i64;
        let until = now_ms.saturating_add(lease_ms.max(0));
        let rows = client.query(&st, &[&now_ms, &limit, &endpoints, &until]).await?;
        rows.iter()
            .map(|r| {
                Ok(DueDelivery {
                    id: r.try_get(0)?,
                    endpoint: r.try_get(1)?,
                    event_id: r.try_get(2)?,
                    kind: r.try_get(3)?,
                    body: r.try_get(4)?,
                    attempts: r.try_get::<_, i64>(5)? as u32,
                    since_ms: r.try_get(6)?,
                })
            })
            .collect()
    }

    async fn webhook_attempted(&self, attempts: Vec<Attempt>) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let st = tx
            .prepare_cached(
                "UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, next_attempt_ms = $3,
                   last_attempt_at = $4, last_status = $5, last_error = $6, delivered_at = $7
                 WHERE id = $1 AND status = 'pending'",
            )
            .await?;
        let at = now();
        for a in attempts {
            let (status, next, delivered) = match a.end {
                AttemptEnd::Delivered => (DeliveryStatus::Delivered, None, Some(at.clone())),
                AttemptEnd::Retry { at_ms } => (DeliveryStatus::Pending, Some(at_ms), None),
                AttemptEnd::GiveUp => (DeliveryStatus::Failed, None, None),
            };
            let http_status = a.http_status.map(i64::from);
            tx.execute(&st, &[&a.delivery, &status.as_str(), &next, &at, &http_status, &a.error, &delivered])
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn webhook_deliveries(&self, q: DeliveryQuery) -> Result<Vec<DeliveryRow>, StoreError> {
        let client = self.pool.get().await?;
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM webhook_deliveries d JOIN webhook_events e ON e.seq = d.event_seq
             WHERE ($1::text IS NULL OR d.endpoint = $1) AND ($2::text IS NULL OR d.status = $2)
               AND ($3::bigint IS NULL OR d.id < $3)
             ORDER BY d.id DESC LIMIT $4"
        );
        let st = client.prepare_cached(&sql).await?;
        let status = q.status.map(DeliveryStatus::as_str);
        let limit = q.limit.min(i64::MAX as usize) as i64;
        client
            .query(&st, &[&q.endpoint, &status, &q.before, &limit])
            .await?
            .iter()
            .map(delivery_row)
            .collect()
    }

    async fn webhook_endpoint_counts(&self) -> Result<Vec<(String, EndpointCounts)>, StoreError> {
        let client = self.pool.get().await?;
        let st = client
            .prepare_cached(
                "SELECT endpoint, COUNT(*) FILTER (WHERE status = 'pending'),
                   COUNT(*) FILTER (WHERE status = 'delivered'), COUNT(*) FILTER (WHERE status = 'failed'),
                   MAX(delivered_at)
                 FROM webhook_deliveries GROUP BY endpoint ORDER BY endpoint",
            )
            .await?;
        let rows = client.query(&st, &[]).await?;
        rows.iter()
            .map(|r| {
                let counts = EndpointCounts {
                    pending: r.try_get::<_, i64>(1)? as u64,
                    delivered: r.try_get::<_, i64>(2)? as u64,
                    failed: r.try_get::<_, i64>(3)? as u64,
                    last_delivered_at: r.try_get(4)?,
                };
                Ok((r.try_get(0)?, counts))
            })
            .collect()
    }

    async fn webhook_replay(&self, id: i64) -> Result<Replay, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let Some(mut row) = locked_delivery(&tx, id).await? else { return Ok(Replay::NotFound) };
        if row.status == DeliveryStatus::Delivered {
            return Ok(Replay::AlreadyDelivered(row));
        }
        let st = tx
            .prepare_cached(
                "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, since_ms = $2, next_attempt_ms = $2
                 WHERE id = $1",
            )
            .await?;
        let at_ms = now_ms();
        tx.execute(&st, &[&id, &at_ms]).await?;
        tx.commit().await?;
        (row.status, row.attempts, row.next_attempt_ms) = (DeliveryStatus::Pending, 0, Some(at_ms));
        Ok(Replay::Queued(row))
    }

    async fn webhook_prune(&self, before: String) -> Result<usize, StoreError> {
        let client = self.pool.get().await?;
        let st = client
            .prepare_cached(
                "DELETE FROM webhook_events WHERE created_at < $1 AND NOT EXISTS
                   (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = webhook_events.seq AND d.status = 'pending')",
            )
            .await?;
        Ok(client.execute(&st, &[&before]).await? as usize)
    }
}
