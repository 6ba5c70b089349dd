//! [`AnalyticsReads`] on PostgreSQL: the trainers' analytics rows, the review queue's turns and
//! the feedback export (the same rows as `store::analytics`, `store::review_rows` and
//! `store::records::feedback_since`). A read of several queries is one snapshot, as on a SQLite
//! reader; on PostgreSQL no read waits for a write nor delays one.

use deadpool_postgres::tokio_postgres::IsolationLevel;
use deadpool_postgres::{GenericClient, Object, Transaction};

use super::conversations::decode;
use super::PgStore;
use crate::records::FeedbackRecord;
use crate::store::analytics::{AnalyticsRows, ConversationStats, HandoffTimes};
use crate::store::review_rows::{ReplyMeta, ReviewTurn};
use crate::store::{AnalyticsReads, StoreError};

/// A read-only transaction that sees one snapshot for all its statements.
pub(super) async fn snapshot(client: &mut Object) -> Result<Transaction<'_>, StoreError> {
    Ok(client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?)
}

/// A rating as the record types hold it (a stored one out of range is corrupt data).
pub(super) fn rating(v: Option<i64>) -> Result<Option<u8>, StoreError> {
    v.map(|r| u8::try_from(r).map_err(|_| StoreError::Corrupt(format!("rating {r}")))).transpose()
}

/// Shopper messages sent in `[from, to)` (none = unbounded) that the bot answered, with its
/// replies, oldest first; notices that are not answers (`meta.event`) left out.
async fn turns(
    client: &impl GenericClient,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Vec<ReviewTurn>, StoreError> {
    let st = client
        .prepare_cached(
            "SELECT s.id, s.conversation_id, s.text, s.created_at, f.rating,
                    b.meta::jsonb ->> 'decision', b.meta::jsonb ->> 'intent', b.meta::jsonb ->> 'faq_id',
                    CASE WHEN b.meta::jsonb ->> 'decision' = 'escalate' THEN
                      (SELECT h.reason FROM handoffs h WHERE h.conversation_id = s.conversation_id
                         AND h.queued_at >= s.created_at ORDER BY h.id LIMIT 1) END,
                    EXISTS (SELECT 1 FROM messages a WHERE a.conversation_id = s.conversation_id AND a.sender = 'agent')
             FROM messages s
             JOIN messages b ON b.conversation_id = s.conversation_id AND b.sender = 'bot' AND b.id > s.id
               AND b.id < COALESCE((SELECT MIN(n.id) FROM messages n WHERE n.conversation_id = s.conversation_id
                                    AND n.sender = 'shopper' AND n.id > s.id), 9223372036854775807)
             LEFT JOIN feedback f ON f.conversation_id = s.conversation_id
             WHERE s.sender = 'shopper' AND s.text <> '[erased]' AND ($1::text IS NULL OR s.created_at >= $1)
               AND ($2::text IS NULL OR s.created_at < $2)
               AND b.meta IS NOT NULL AND b.meta::jsonb ->> 'event' IS NULL
             ORDER BY s.id, b.id",
        )
        .await?;
    let mut turns: Vec<ReviewTurn> = Vec::new();
    for r in client.query(&st, &[&from, &to]).await? {
        let id: i64 = r.try_get(0)?;
        let reply = ReplyMeta { decision: r.try_get(5)?, intent: r.try_get(6)?, faq_id: r.try_get(7)? };
        let escalation: Option<String> = r.try_get(8)?;
        match turns.last_mut().filter(|t| t.message_id == id) {
            Some(t) => {
                t.replies.push(reply);
                if t.escalation.is_none() {
                    t.escalation = escalation;
                }
            }
            None => turns.push(ReviewTurn {
                message_id: id,
                conversation_id: r.try_get(1)?,
                text: r.try_get(2)?,
                at: r.try_get(3)?,
                rating: rating(r.try_get(4)?)?,
                agent_replied: r.try_get(9)?,
                escalation,
                replies: vec![reply],
            }),
        }
    }
    Ok(turns)
}

impl AnalyticsReads for PgStore {
    /// The rows of `[from, to)` in one snapshot: conversations by start, turns by the shopper
    /// message's time, handoffs by assignment.
    async fn analytics_rows(&self, from: String, to: String) -> Result<AnalyticsRows, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = snapshot(&mut client).await?;
        let st = tx
            .prepare_cached(
                "SELECT c.id, c.started_at, c.escalation_reason, f.record::jsonb ->> 'resolution',
                        f.conversation_id IS NOT NULL, f.rating,
                        EXISTS (SELECT 1 FROM messages a WHERE a.conversation_id = c.id AND a.sender = 'agent')
                 FROM conversations c LEFT JOIN feedback f ON f.conversation_id = c.id
                 WHERE c.started_at >= $1 AND c.started_at < $2 ORDER BY c.started_at, c.id",
            )
            .await?;
        let conversations = tx
            .query(&st, &[&from, &to])
            .await?
            .iter()
            .map(|r| {
                Ok(ConversationStats {
                    id: r.try_get(0)?,
                    started_at: r.try_get(1)?,
                    escalation_reason: r.try_get(2)?,
                    resolution: r.try_get(3)?,
                    has_record: r.try_get(4)?,
                    rating: rating(r.try_get(5)?)?,
                    agent_replied: r.try_get(6)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let st = tx
            .prepare_cached(
                "SELECT agent, assigned_at, first_response_at, ended_at FROM handoffs
                 WHERE agent IS NOT NULL AND assigned_at >= $1 AND assigned_at < $2 ORDER BY id",
            )
            .await?;
        let handoffs = tx
            .query(&st, &[&from, &to])
            .await?
            .iter()
            .map(|r| {
                Ok(HandoffTimes {
                    agent: r.try_get(0)?,
                    assigned_at: r.try_get(1)?,
                    first_response_at: r.try_get(2)?,
                    ended_at: r.try_get(3)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let turns = turns(&tx, Some(&from), Some(&to)).await?;
        tx.commit().await?;
        Ok(AnalyticsRows { conversations, turns, handoffs })
    }

    async fn review_turns(
        &self,
        from: Option<String>,
        to: Option<String>,
    ) -> Result<Vec<ReviewTurn>, StoreError> {
        let client = self.pool.get().await?;
        turns(&client, from.as_deref(), to.as_deref()).await
    }

    /// Feedback records updated at or after `since` (an RFC 3339 prefix such as "2026-11-01").
    async fn feedback_since(&self, since: String) -> Result<Vec<FeedbackRecord>, StoreError> {
        let client = self.pool.get().await?;
        let st = client
            .prepare_cached("SELECT record FROM feedback WHERE updated_at >= $1 ORDER BY updated_at")
            .await?;
        client.query(&st, &[&since]).await?.iter().map(|r| decode(r.try_get(0)?)).collect()
    }
}
