//! [`HandoffStore`] on PostgreSQL: handoffs (open, requeue, assign, end), the agents' messages
//! and recalls, internal notes and the agent part of the feedback record, with the same rows and
//! rules as `store::handoffs`. Tickets are in `tickets.rs`, the console's reads in
//! `agent_reads.rs`; the trait's implementation, here, calls them.
//!
//! Several nodes: the desk relies on a handoff write being durable at `Ok` (one transaction,
//! committed before it returns) and on one owner per handoff. `assign_handoff` and
//! `accept_agent_message` take the handoff's **row lock** (`SELECT … FOR UPDATE`) first, so calls
//! for one handoff from any number of nodes run one after the other: the second assignment finds
//! the agent the first one committed and is refused (`StoreError::Constraint`, nothing written);
//! a message re-sent with the same client id finds the first one (`Accepted::Known`; the unique
//! (conversation, client id) index with `ON CONFLICT DO NOTHING` covers a message racing under
//! another handoff of the same conversation). `end_handoff` ends a handoff once (`WHERE ended_at
//! IS NULL`, re-checked by PostgreSQL after waiting for a concurrent end), so `conversation.
//! resolved` is written once. `close_with_agent` changes the stored feedback record in one
//! `UPDATE` (its row lock), never a read-modify-write that could lose a concurrent rating.

use deadpool_postgres::tokio_postgres::Row;
use deadpool_postgres::{GenericClient, Transaction};

use super::conversations::{decode, insert_message};
use super::events::record_event;
use super::PgStore;
use crate::lang::Lang;
use crate::records::{EscalationContext, FeedbackRecord, MessageMeta};
use crate::store::handoffs::{summarize, taken, HANDOFF_COLUMNS};
use crate::store::webhooks::{Assigned, Escalated, EventData, Resolved};
use crate::store::{
    now, Accepted, AgentSummary, ConversationContext, ConversationRow, ConversationState, Handoff,
    HandoffOutcome, HandoffStore, Note, OpenHandoff, Profile, Sender, StoreError, StoredMessage, Ticket,
};

pub(super) fn handoff_row(r: &Row) -> Result<Handoff, StoreError> {
    let context: String = r.try_get(3)?;
    Ok(Handoff {
        id: r.try_get(0)?,
        conversation_id: r.try_get(1)?,
        reason: r.try_get(2)?,
        context: serde_json::from_str(&context).unwrap_or_default(),
        queued_at: r.try_get(4)?,
        agent: r.try_get(5)?,
        assigned_at: r.try_get(6)?,
        first_response_at: r.try_get(7)?,
        ended_at: r.try_get(8)?,
        outcome: r.try_get(9)?,
    })
}

/// A conversation's handoffs, oldest first.
pub(super) async fn handoffs_of(
    client: &impl GenericClient,
    conversation_id: &str,
) -> Result<Vec<Handoff>, StoreError> {
    let sql = format!("SELECT {HANDOFF_COLUMNS} FROM handoffs WHERE conversation_id = $1 ORDER BY id");
    let st = client.prepare_cached(&sql).await?;
    client.query(&st, &[&conversation_id]).await?.iter().map(handoff_row).collect()
}

/// A conversation's internal notes, oldest first.
pub(super) async fn notes_of(
    client: &impl GenericClient,
    conversation_id: &str,
) -> Result<Vec<Note>, StoreError> {
    let st = client
        .prepare_cached(
            "SELECT id, agent, text, created_at FROM notes WHERE conversation_id = $1 ORDER BY id",
        )
        .await?;
    let rows = client.query(&st, &[&conversation_id]).await?;
    rows.iter()
        .map(|r| {
            Ok(Note {
                id: r.try_get(0)?,
                agent: r.try_get(1)?,
                text: r.try_get(2)?,
                created_at: r.try_get(3)?,
            })
        })
        .collect()
}

/// The conversation moves to `state` (closing it records when).
async fn set_state(tx: &Transaction<'_>, id: &str, state: ConversationState) -> Result<(), StoreError> {
    let ended = (state == ConversationState::Closed).then(now);
    let st = tx
        .prepare_cached(
            "UPDATE conversations SET state = $2, ended_at = COALESCE($3, ended_at) WHERE id = $1",
        )
        .await?;
    tx.execute(&st, &[&id, &state.as_str(), &ended]).await?;
    Ok(())
}

/// A system line in the conversation (what the shopper is told about the handoff).
async fn announce(
    tx: &Transaction<'_>,
    conversation_id: &str,
    text: &str,
    meta: &MessageMeta,
) -> Result<i64, StoreError> {
    insert_message(tx, conversation_id, None, Sender::System, text, Some(meta)).await
}

async fn open_handoff(
    tx: &Transaction<'_>,
    conversation_id: String,
    reason: String,
    context: EscalationContext,
) -> Result<Handoff, StoreError> {
    let queued_at = now();
    let st = tx
        .prepare_cached(
            "INSERT INTO handoffs (conversation_id, reason, context, queued_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .await?;
    let json = serde_json::to_string(&context).expect("context serialises");
    let id: i64 = tx.query_one(&st, &[&conversation_id, &reason, &json, &queued_at]).await?.try_get(0)?;
    let st = tx
        .prepare_cached(
            "UPDATE conversations SET state = 'waiting_agent', escalation_reason = COALESCE(escalation_reason, $2)
             WHERE id = $1",
        )
        .await?;
    tx.execute(&st, &[&conversation_id, &reason]).await?;
    Ok(Handoff {
        id,
        conversation_id,
        reason,
        context,
        queued_at,
        agent: None,
        assigned_at: None,
        first_response_at: None,
        ended_at: None,
        outcome: None,
    })
}

/// `conversation.escalated` for a handoff just opened (the conversation's shopper and language).
async fn record_escalated(tx: &Transaction<'_>, h: &Handoff) -> Result<(), StoreError> {
    let st = tx.prepare_cached("SELECT shopper_id, lang FROM conversations WHERE id = $1").await?;
    let who = tx.query_opt(&st, &[&h.conversation_id]).await?;
    let (shopper_id, lang) = match who {
        Some(r) => (r.try_get(0)?, Lang::parse(r.try_get(1)?)),
        None => (None, None),
    };
    let escalated = Escalated {
        conversation_id: h.conversation_id.clone(),
        handoff_id: h.id,
        shopper_id,
        lang,
        reason: h.reason.clone(),
        queued_at: h.queued_at.clone(),
    };
    record_event(tx, EventData::ConversationEscalated(escalated)).await
}

async fn end_handoff(
    tx: &Transaction<'_>,
    handoff: i64,
    conversation_id: &str,
    outcome: HandoffOutcome,
    state: ConversationState,
    announcement: Option<String>,
) -> Result<(), StoreError> {
    // RETURNING the agent: `conversation.resolved` names who resolved it
    let st = tx
        .prepare_cached(
            "UPDATE handoffs SET ended_at = $2, outcome = $3 WHERE id = $1 AND ended_at IS NULL RETURNING agent",
        )
        .await?;
    let ended = tx.query_opt(&st, &[&handoff, &now(), &outcome.as_str()]).await?;
    if let (Some(row), HandoffOutcome::Resolved) = (ended, outcome) {
        let resolved = Resolved {
            conversation_id: conversation_id.to_string(),
            handoff_id: handoff,
            agent: row.try_get(0)?,
            resolved_at: now(),
        };
        record_event(tx, EventData::ConversationResolved(resolved)).await?;
    }
    set_state(tx, conversation_id, state).await?;
    if let Some(text) = announcement {
        announce(tx, conversation_id, &text, &MessageMeta::event(outcome.as_str())).await?;
    }
    Ok(())
}

/// Holds the handoff's row for the rest of the transaction: its agent and whether it ended, or
/// None when there is no such handoff.
async fn lock_handoff(
    tx: &Transaction<'_>,
    handoff: i64,
) -> Result<Option<(Option<String>, bool)>, StoreError> {
    let st = tx
        .prepare_cached("SELECT agent, ended_at IS NOT NULL FROM handoffs WHERE id = $1 FOR UPDATE")
        .await?;
    tx.query_opt(&st, &[&handoff]).await?.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}

impl HandoffStore for PgStore {
    async fn open_handoff(
        &self,
        conversation_id: String,
        reason: String,
        context: EscalationContext,
    ) -> Result<Handoff, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let h = open_handoff(&tx, conversation_id, reason, context).await?;
        record_escalated(&tx, &h).await?;
        tx.commit().await?;
        Ok(h)
    }

    async fn requeue_handoff(
        &self,
        handoff: i64,
        conversation_id: String,
        outcome: HandoffOutcome,
        reason: String,
        context: EscalationContext,
        announcement: String,
    ) -> Result<Handoff, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let state = ConversationState::WaitingAgent;
        end_handoff(&tx, handoff, &conversation_id, outcome, state, Some(announcement)).await?;
        let h = open_handoff(&tx, conversation_id, reason, context).await?;
        tx.commit().await?;
        Ok(h)
    }

    async fn assign_handoff(
        &self,
        handoff: i64,
        conversation_id: String,
        agent: String,
        announcement: String,
    ) -> Result<StoredMessage, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if !matches!(lock_handoff(&tx, handoff).await?, Some((None, false))) {
            return Err(StoreError::Constraint(taken(handoff)));
        }
        let at = now();
        let st = tx.prepare_cached("UPDATE handoffs SET agent = $2, assigned_at = $3 WHERE id = $1").await?;
        tx.execute(&st, &[&handoff, &agent, &at]).await?;
        set_state(&tx, &conversation_id, ConversationState::Agent).await?;
        let meta = MessageMeta { agent: Some(agent.clone()), ..MessageMeta::event("joined") };
        let id = announce(&tx, &conversation_id, &announcement, &meta).await?;
        let assigned = Assigned {
            conversation_id: conversation_id.clone(),
            handoff_id: handoff,
            agent,
            assigned_at: at.clone(),
        };
        record_event(&tx, EventData::ConversationAssigned(assigned)).await?;
        tx.commit().await?;
        Ok(StoredMessage {
            id,
            client_msg_id: None,
            sender: Sender::System,
            text: announcement,
            meta: Some(meta),
            created_at: at,
            recalled_at: None,
            recalled_by: None,
        })
    }

    async fn end_handoff(
        &self,
        handoff: i64,
        conversation_id: String,
        outcome: HandoffOutcome,
        state: ConversationState,
        announcement: Option<String>,
    ) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        end_handoff(&tx, handoff, &conversation_id, outcome, state, announcement).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn accept_agent_message(
        &self,
        handoff: i64,
        conversation_id: String,
        agent: String,
        client_msg_id: String,
        text: String,
    ) -> Result<Accepted, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        lock_handoff(&tx, handoff).await?;
        // agents' ids live in their own namespace: they never collide with the shopper's
        let key = format!("agent:{agent}:{client_msg_id}");
        let meta = MessageMeta { agent: Some(agent), ..MessageMeta::default() };
        let st = tx
            .prepare_cached(
                "INSERT INTO messages (conversation_id, client_msg_id, sender, text, meta, created_at)
                 VALUES ($1, $2, 'agent', $3, $4, $5)
                 ON CONFLICT (conversation_id, client_msg_id) DO NOTHING RETURNING id",
            )
            .await?;
        let meta = serde_json::to_string(&meta).expect("meta serialises");
        let row = tx.query_opt(&st, &[&conversation_id, &key, &text, &meta, &now()]).await?;
        let Some(row) = row else { return Ok(Accepted::Known { answered: true }) };
        let id: i64 = row.try_get(0)?;
        let st = tx
            .prepare_cached(
                "UPDATE handoffs SET first_response_at = $2 WHERE id = $1 AND first_response_at IS NULL",
            )
            .await?;
        tx.execute(&st, &[&handoff, &now()]).await?;
        tx.commit().await?;
        Ok(Accepted::New(id))
    }

    async fn open_handoffs(&self) -> Result<Vec<OpenHandoff>, StoreError> {
        let client = self.pool.get().await?;
        let columns = HANDOFF_COLUMNS.split(", ").map(|c| format!("h.{c}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT {columns}, c.lang, c.shopper_id, s.name, COALESCE(s.vip, 0)
             FROM handoffs h JOIN conversations c ON c.id = h.conversation_id
             LEFT JOIN shoppers s ON s.id = c.shopper_id
             WHERE h.ended_at IS NULL AND c.state IN ('waiting_agent', 'agent') ORDER BY h.id"
        );
        let st = client.prepare_cached(&sql).await?;
        let rows = client.query(&st, &[]).await?;
        rows.iter()
            .map(|r| {
                Ok(OpenHandoff {
                    handoff: handoff_row(r)?,
                    lang: Lang::parse(r.try_get(10)?).unwrap_or(Lang::Zh),
                    shopper_id: r.try_get(11)?,
                    shopper_name: r.try_get(12)?,
                    vip: r.try_get::<_, i64>(13)? != 0,
                })
            })
            .collect()
    }

    async fn recall_message(
        &self,
        conversation_id: String,
        message_id: i64,
        by: String,
    ) -> Result<Option<String>, StoreError> {
        let client = self.pool.get().await?;
        let at = now();
        let st = client
            .prepare_cached(
                "UPDATE messages SET recalled_at = $3, recalled_by = $4
                 WHERE id = $1 AND conversation_id = $2 AND sender = 'agent' AND recalled_at IS NULL",
            )
            .await?;
        let n = client.execute(&st, &[&message_id, &conversation_id, &at, &by]).await?;
        Ok((n == 1).then_some(at))
    }

    async fn add_note(
        &self,
        conversation_id: String,
        agent: String,
        text: String,
    ) -> Result<Note, StoreError> {
        let client = self.pool.get().await?;
        let created_at = now();
        let st = client
            .prepare_cached(
                "INSERT INTO notes (conversation_id, agent, text, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .await?;
        let id = client.query_one(&st, &[&conversation_id, &agent, &text, &created_at]).await?.try_get(0)?;
        Ok(Note { id, agent, text, created_at })
    }

    async fn conversation_context(
        &self,
        conversation_id: String,
    ) -> Result<Option<ConversationContext>, StoreError> {
        super::agent_reads::conversation_context(self, conversation_id).await
    }

    async fn agent_summary(&self, conversation_id: String) -> Result<Option<AgentSummary>, StoreError> {
        let client = self.pool.get().await?;
        Ok(summarize(&handoffs_of(&client, &conversation_id).await?))
    }

    async fn close_with_agent(&self, conversation_id: String, resolution: String) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        set_state(&tx, &conversation_id, ConversationState::Closed).await?;
        if let Some(s) = summarize(&handoffs_of(&tx, &conversation_id).await?) {
            // the record is JSON text as on SQLite; these keys are set as SQLite's json_set does
            let st = tx
                .prepare_cached(
                    "UPDATE feedback SET updated_at = $2, record = (record::jsonb || jsonb_build_object(
                       'resolution', $3::text, 'agent_id', $4::text, 'agent_outcome', 'resolved',
                       'queue_wait_secs', $5::float8, 'first_response_secs', $6::float8,
                       'handle_secs', $7::float8, 'ended_at', $2::text))::text
                     WHERE conversation_id = $1 RETURNING record",
                )
                .await?;
            let params: [&(dyn deadpool_postgres::tokio_postgres::types::ToSql + Sync); 7] = [
                &conversation_id,
                &now(),
                &resolution,
                &s.agent_id,
                &s.queue_wait_secs,
                &s.first_response_secs,
                &s.handle_secs,
            ];
            // `feedback.written` with the record as stored (none when the shopper left no record)
            if let Some(row) = tx.query_opt(&st, &params).await? {
                let stored: FeedbackRecord = decode(row.try_get(0)?)?;
                record_event(&tx, EventData::FeedbackWritten(Box::new(stored))).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn create_ticket(
        &self,
        conversation_id: String,
        shopper_id: Option<String>,
        lang: Lang,
        text: String,
        contact: Option<String>,
    ) -> Result<Ticket, StoreError> {
        super::tickets::create(self, conversation_id, shopper_id, lang, text, contact).await
    }

    async fn tickets(&self, status: Option<String>) -> Result<Vec<Ticket>, StoreError> {
        super::tickets::list(self, status).await
    }

    async fn ticket(&self, id: String) -> Result<Option<Ticket>, StoreError> {
        super::tickets::one(self, id).await
    }

    async fn close_ticket(&self, id: String, by: String) -> Result<bool, StoreError> {
        super::tickets::close(self, id, by).await
    }

    async fn answer_ticket(
        &self,
        id: String,
        by: String,
        text: String,
    ) -> Result<Option<Ticket>, StoreError> {
        super::tickets::answer(self, id, by, text).await
    }

    async fn undelivered_answers(
        &self,
        conversation_id: String,
        shopper_id: Option<String>,
    ) -> Result<Vec<Ticket>, StoreError> {
        super::tickets::undelivered(self, conversation_id, shopper_id).await
    }

    async fn deliver_answers(
        &self,
        conversation_id: String,
        tickets: Vec<String>,
    ) -> Result<usize, StoreError> {
        super::tickets::deliver(self, conversation_id, tickets).await
    }

    async fn search_conversations(
        &self,
        shopper: Option<String>,
        order: Option<String>,
        from: Option<String>,
        to: Option<String>,
        limit: usize,
    ) -> Result<Vec<ConversationRow>, StoreError> {
        super::agent_reads::search(self, shopper, order, from, to, limit).await
    }

    async fn profile(&self, shopper_id: String) -> Result<Option<Profile>, StoreError> {
        super::agent_reads::shopper_profile(self, shopper_id).await
    }
}
