//! Handoffs in the store: a conversation queued for a person, who took it, when they first
//! answered, how it ended; the agents' messages and internal notes; the agent part of the
//! feedback record. Tickets are in `tickets.rs`, what agents read about a conversation in
//! `agent_reads.rs`.

use rusqlite::{params, Connection, OptionalExtension};

use super::records::insert_message;
use super::webhooks::{Assigned, EventData};
use super::{now, Accepted, ConversationState, Fail, Sender, Store, StoreError, StoredMessage};
use crate::lang::Lang;
use crate::records::{EscalationContext, MessageMeta};

/// How a handoff ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffOutcome {
    /// The agent resolved the conversation.
    Resolved,
    /// The agent gave the conversation back to the bot.
    HandedBack,
    /// Moved to another agent or back to the queue (a new handoff follows).
    Transferred,
    /// The agent was gone longer than the grace period (a new handoff follows).
    Requeued,
    /// The shopper ended the conversation.
    ShopperEnded,
}

impl HandoffOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            HandoffOutcome::Resolved => "resolved",
            HandoffOutcome::HandedBack => "handed_back",
            HandoffOutcome::Transferred => "transferred",
            HandoffOutcome::Requeued => "requeued",
            HandoffOutcome::ShopperEnded => "shopper_ended",
        }
    }
}

/// A handoff row.
#[derive(Debug, Clone)]
pub struct Handoff {
    pub id: i64,
    pub conversation_id: String,
    pub reason: String,
    pub context: EscalationContext,
    pub queued_at: String,
    pub agent: Option<String>,
    pub assigned_at: Option<String>,
    pub first_response_at: Option<String>,
    pub ended_at: Option<String>,
    pub outcome: Option<String>,
}

/// A handoff still open (after a restart, the desk rebuilds its queue from these).
#[derive(Debug, Clone)]
pub struct OpenHandoff {
    pub handoff: Handoff,
    pub lang: Lang,
    pub shopper_id: Option<String>,
    pub shopper_name: Option<String>,
    pub vip: bool,
}

/// An internal note (agents only; never sent to the shopper).
#[derive(Debug, Clone)]
pub struct Note {
    pub id: i64,
    pub agent: String,
    pub text: String,
    pub created_at: String,
}

/// The agent part of a feedback record: who handled it and how fast.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSummary {
    pub agent_id: Option<String>,
    pub outcome: Option<String>,
    pub queue_wait_secs: Option<f64>,
    pub first_response_secs: Option<f64>,
    pub handle_secs: Option<f64>,
}

fn secs_between(a: &str, b: &str) -> Option<f64> {
    let a = chrono::DateTime::parse_from_rfc3339(a).ok()?;
    let b = chrono::DateTime::parse_from_rfc3339(b).ok()?;
    Some((b - a).num_milliseconds() as f64 / 1000.0)
}

pub(super) const HANDOFF_COLUMNS: &str =
    "id, conversation_id, reason, context, queued_at, agent, assigned_at, first_response_at, ended_at, outcome";

fn handoff_row(r: &rusqlite::Row) -> rusqlite::Result<Handoff> {
    let context: String = r.get(3)?;
    Ok(Handoff {
        id: r.get(0)?,
        conversation_id: r.get(1)?,
        reason: r.get(2)?,
        context: serde_json::from_str(&context).unwrap_or_default(),
        queued_at: r.get(4)?,
        agent: r.get(5)?,
        assigned_at: r.get(6)?,
        first_response_at: r.get(7)?,
        ended_at: r.get(8)?,
        outcome: r.get(9)?,
    })
}

pub(super) fn handoffs_of(conn: &Connection, conversation_id: &str) -> Result<Vec<Handoff>, Fail> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {HANDOFF_COLUMNS} FROM handoffs WHERE conversation_id = ?1 ORDER BY id"
    ))?;
    let rows = st.query_map(params![conversation_id], handoff_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn set_state(conn: &Connection, id: &str, state: ConversationState) -> Result<(), Fail> {
    let ended = (state == ConversationState::Closed).then(now);
    conn.execute(
        "UPDATE conversations SET state = ?2, ended_at = COALESCE(?3, ended_at) WHERE id = ?1",
        params![id, state.as_str(), ended],
    )?;
    Ok(())
}

pub(super) fn notes_of(conn: &Connection, conversation_id: &str) -> Result<Vec<Note>, Fail> {
    let mut st = conn.prepare_cached(
        "SELECT id, agent, text, created_at FROM notes WHERE conversation_id = ?1 ORDER BY id",
    )?;
    let rows = st.query_map(params![conversation_id], |r| {
        Ok(Note { id: r.get(0)?, agent: r.get(1)?, text: r.get(2)?, created_at: r.get(3)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The agent summary of a conversation's handoffs: the last agent who held it, the first queue
/// wait and first response, and the time from first assignment to the last handoff's end.
pub(super) fn agent_summary(conn: &Connection, conversation_id: &str) -> Result<Option<AgentSummary>, Fail> {
    Ok(summarize(&handoffs_of(conn, conversation_id)?))
}

/// [`agent_summary`] from a conversation's handoffs, oldest first (pure: every backend's).
pub(super) fn summarize(handoffs: &[Handoff]) -> Option<AgentSummary> {
    let last = handoffs.last()?;
    let first_assigned = handoffs.iter().find(|h| h.assigned_at.is_some());
    let queue_wait_secs = first_assigned.and_then(|h| secs_between(&h.queued_at, h.assigned_at.as_deref()?));
    // from the first agent getting it to the first answer from any agent
    let first_response_secs = first_assigned.and_then(|a| {
        let answered = handoffs.iter().find_map(|h| h.first_response_at.as_deref())?;
        secs_between(a.assigned_at.as_deref()?, answered)
    });
    let handle_secs = first_assigned
        .and_then(|h| h.assigned_at.as_deref())
        .and_then(|a| secs_between(a, last.ended_at.as_deref()?));
    let agent_id = handoffs.iter().rev().find_map(|h| h.agent.clone());
    Some(AgentSummary {
        agent_id,
        outcome: last.outcome.clone(),
        queue_wait_secs,
        first_response_secs,
        handle_secs,
    })
}

/// Why a handoff could not be assigned.
pub(super) fn taken(handoff: i64) -> String {
    format!("handoff {handoff} is not waiting for an agent (taken, ended or unknown)")
}

fn open_handoff(
    conn: &Connection,
    conversation_id: String,
    reason: String,
    context: EscalationContext,
) -> Result<Handoff, Fail> {
    let queued_at = now();
    conn.execute(
        "INSERT INTO handoffs (conversation_id, reason, context, queued_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            conversation_id,
            reason,
            serde_json::to_string(&context).expect("context serialises"),
            queued_at
        ],
    )?;
    let id = conn.last_insert_rowid();
    conn.execute(
            "UPDATE conversations SET state = 'waiting_agent', escalation_reason = COALESCE(escalation_reason, ?2) WHERE id = ?1",
            params![conversation_id, reason],
        )?;
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

fn end_handoff(
    conn: &Connection,
    handoff: i64,
    conversation_id: &str,
    outcome: HandoffOutcome,
    state: ConversationState,
    announcement: Option<String>,
) -> Result<(), Fail> {
    let ended = conn.execute(
        "UPDATE handoffs SET ended_at = ?2, outcome = ?3 WHERE id = ?1 AND ended_at IS NULL",
        params![handoff, now(), outcome.as_str()],
    )?;
    if ended > 0 && outcome == HandoffOutcome::Resolved {
        super::webhooks::record_resolved(conn, handoff, conversation_id)?;
    }
    set_state(conn, conversation_id, state)?;
    if let Some(text) = announcement {
        let meta = MessageMeta::event(outcome.as_str());
        insert_message(conn, conversation_id, None, Sender::System, &text, Some(&meta))?;
    }
    Ok(())
}

impl Store {
    /// Queues a conversation for a person: a new handoff, and the conversation waits for an agent.
    pub async fn open_handoff(
        &self,
        conversation_id: String,
        reason: String,
        context: EscalationContext,
    ) -> Result<Handoff, StoreError> {
        self.call(move |conn| {
            let h = open_handoff(conn, conversation_id, reason, context)?;
            super::webhooks::record_escalated(conn, &h)?;
            Ok(h)
        })
        .await
    }

    /// Ends an agent's handoff and queues the conversation again (a new handoff), with the
    /// shopper's notice, in one commit: it is never owned by nobody and queued nowhere.
    pub async fn requeue_handoff(
        &self,
        handoff: i64,
        conversation_id: String,
        outcome: HandoffOutcome,
        reason: String,
        context: EscalationContext,
        announcement: String,
    ) -> Result<Handoff, StoreError> {
        self.call(move |conn| {
            end_handoff(
                conn,
                handoff,
                &conversation_id,
                outcome,
                ConversationState::WaitingAgent,
                Some(announcement),
            )?;
            open_handoff(conn, conversation_id, reason, context)
        })
        .await
    }

    /// Gives a queued handoff to an agent and tells the shopper (a system message), in one commit.
    /// One owner per handoff: one that already has an agent, or has ended, is refused
    /// (`StoreError::Constraint`) and nothing is written.
    pub async fn assign_handoff(
        &self,
        handoff: i64,
        conversation_id: String,
        agent: String,
        announcement: String,
    ) -> Result<StoredMessage, StoreError> {
        self.call(move |conn| {
            let at = now();
            let n = conn.execute(
                "UPDATE handoffs SET agent = ?2, assigned_at = ?3
                 WHERE id = ?1 AND agent IS NULL AND ended_at IS NULL",
                params![handoff, agent, at],
            )?;
            if n == 0 {
                return Err(Fail::Constraint(taken(handoff)));
            }
            set_state(conn, &conversation_id, ConversationState::Agent)?;
            let meta = MessageMeta { agent: Some(agent.clone()), ..MessageMeta::event("joined") };
            let id =
                insert_message(conn, &conversation_id, None, Sender::System, &announcement, Some(&meta))?;
            let assigned = Assigned {
                conversation_id: conversation_id.clone(),
                handoff_id: handoff,
                agent,
                assigned_at: at.clone(),
            };
            super::webhooks::record_event(conn, EventData::ConversationAssigned(assigned))?;
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
        })
        .await
    }

    /// Ends a handoff; the conversation moves to `state` and the shopper gets `announcement`
    /// (a system message) when there is one. All in one commit.
    pub async fn end_handoff(
        &self,
        handoff: i64,
        conversation_id: String,
        outcome: HandoffOutcome,
        state: ConversationState,
        announcement: Option<String>,
    ) -> Result<(), StoreError> {
        self.call(move |conn| end_handoff(conn, handoff, &conversation_id, outcome, state, announcement))
            .await
    }

    /// Stores an agent's message once per client id (a re-sent one is found, not stored again)
    /// and marks the handoff's first response.
    pub async fn accept_agent_message(
        &self,
        handoff: i64,
        conversation_id: String,
        agent: String,
        client_msg_id: String,
        text: String,
    ) -> Result<Accepted, StoreError> {
        self.call(move |conn| {
            // agents' ids live in their own namespace: they never collide with the shopper's
            let key = format!("agent:{agent}:{client_msg_id}");
            let known: Option<i64> = conn
                .prepare_cached("SELECT id FROM messages WHERE conversation_id = ?1 AND client_msg_id = ?2")?
                .query_row(params![conversation_id, key], |r| r.get(0))
                .optional()?;
            if known.is_some() {
                return Ok(Accepted::Known { answered: true });
            }
            let meta = MessageMeta { agent: Some(agent.clone()), ..MessageMeta::default() };
            let id = insert_message(conn, &conversation_id, Some(&key), Sender::Agent, &text, Some(&meta))?;
            conn.execute(
                "UPDATE handoffs SET first_response_at = ?2 WHERE id = ?1 AND first_response_at IS NULL",
                params![handoff, now()],
            )?;
            Ok(Accepted::New(id))
        })
        .await
    }

    /// Handoffs not yet ended, oldest first, with what the queue needs to order them.
    pub async fn open_handoffs(&self) -> Result<Vec<OpenHandoff>, StoreError> {
        self.read(move |conn| {
            let mut st = conn.prepare(&format!(
                "SELECT {}, c.lang, c.shopper_id, s.name, COALESCE(s.vip, 0)
                 FROM handoffs h JOIN conversations c ON c.id = h.conversation_id
                 LEFT JOIN shoppers s ON s.id = c.shopper_id
                 WHERE h.ended_at IS NULL AND c.state IN ('waiting_agent', 'agent') ORDER BY h.id",
                HANDOFF_COLUMNS.split(", ").map(|c| format!("h.{c}")).collect::<Vec<_>>().join(", ")
            ))?;
            let rows = st.query_map([], |r| {
                Ok(OpenHandoff {
                    handoff: handoff_row(r)?,
                    lang: Lang::parse(&r.get::<_, String>(10)?).unwrap_or(Lang::Zh),
                    shopper_id: r.get(11)?,
                    shopper_name: r.get(12)?,
                    vip: r.get(13)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Marks an agent's message recalled (`by`, now): the shopper sees only that it was
    /// recalled, staff keep the text. The recall window and who may recall are the desk's
    /// decision; here only an agent's message of that conversation not yet recalled is marked.
    /// Returns when it was recalled, or None when there is no such message (or it already was).
    pub async fn recall_message(
        &self,
        conversation_id: String,
        message_id: i64,
        by: String,
    ) -> Result<Option<String>, StoreError> {
        self.call(move |conn| {
            let at = now();
            let n = conn.execute(
                "UPDATE messages SET recalled_at = ?3, recalled_by = ?4
                 WHERE id = ?1 AND conversation_id = ?2 AND sender = 'agent' AND recalled_at IS NULL",
                params![message_id, conversation_id, at, by],
            )?;
            Ok((n == 1).then_some(at))
        })
        .await
    }

    /// Stores an agent's internal note on a conversation (shown to agents, never to the shopper).
    pub async fn add_note(
        &self,
        conversation_id: String,
        agent: String,
        text: String,
    ) -> Result<Note, StoreError> {
        self.call(move |conn| {
            let created_at = now();
            conn.execute(
                "INSERT INTO notes (conversation_id, agent, text, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![conversation_id, agent, text, created_at],
            )?;
            Ok(Note { id: conn.last_insert_rowid(), agent, text, created_at })
        })
        .await
    }

    /// The agent part of a conversation's feedback record.
    pub async fn agent_summary(&self, conversation_id: String) -> Result<Option<AgentSummary>, StoreError> {
        self.read(move |conn| agent_summary(conn, &conversation_id)).await
    }

    /// Closes a conversation whose shopper is not connected: the feedback record (written when
    /// they left) gets the agent's part and the resolution.
    pub async fn close_with_agent(
        &self,
        conversation_id: String,
        resolution: String,
    ) -> Result<(), StoreError> {
        self.call(move |conn| {
            set_state(conn, &conversation_id, ConversationState::Closed)?;
            if let Some(s) = agent_summary(conn, &conversation_id)? {
                conn.execute(
                    "UPDATE feedback SET updated_at = ?2, record = json_set(record,
                       '$.resolution', ?3, '$.agent_id', ?4, '$.agent_outcome', 'resolved', '$.queue_wait_secs', ?5,
                       '$.first_response_secs', ?6, '$.handle_secs', ?7, '$.ended_at', ?2)
                     WHERE conversation_id = ?1",
                    params![
                        conversation_id,
                        now(),
                        resolution,
                        s.agent_id,
                        s.queue_wait_secs,
                        s.first_response_secs,
                        s.handle_secs
                    ],
                )?;
                super::webhooks::record_feedback(conn, &conversation_id)?;
            }
            Ok(())
        })
        .await
    }
}
