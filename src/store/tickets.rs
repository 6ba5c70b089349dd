//! Tickets: what a shopper leaves for the agents when none could take the conversation (a
//! message and how to reach them): `open`, then `answered` (an agent replied: the answer is an
//! agent message in the ticket's conversation, shown to the shopper on their next visit), then
//! `closed`.

use rusqlite::{params, Connection};

use super::records::insert_message;
use super::webhooks::{EventData, TicketAnswered, TicketCreated};
use super::{new_id, now, Fail, Sender, Store, StoreError};
use crate::lang::Lang;
use crate::records::MessageMeta;

pub(super) const TICKET_COLUMNS: &str =
    "id, conversation_id, shopper_id, lang, text, contact, status, created_at, \
     closed_by, closed_at, answer, answered_by, answered_at, delivered_at";

fn ticket_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Ticket> {
    Ok(Ticket {
        id: r.get(0)?,
        conversation_id: r.get(1)?,
        shopper_id: r.get(2)?,
        lang: Lang::parse(&r.get::<_, String>(3)?).unwrap_or(Lang::Zh),
        text: r.get(4)?,
        contact: r.get(5)?,
        status: r.get(6)?,
        created_at: r.get(7)?,
        closed_by: r.get(8)?,
        closed_at: r.get(9)?,
        answer: r.get(10)?,
        answered_by: r.get(11)?,
        answered_at: r.get(12)?,
        delivered_at: r.get(13)?,
    })
}

fn ticket_by_id(conn: &Connection, id: &str) -> Result<Option<Ticket>, Fail> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .prepare_cached(&format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?1"))?
        .query_row(params![id], ticket_row)
        .optional()?)
}

/// The agent message that carries a ticket's answer (its client id keeps it stored once per
/// conversation).
fn answer_message(
    conn: &Connection,
    conversation_id: &str,
    t: &Ticket,
    agent: &str,
    text: &str,
) -> Result<(), Fail> {
    let key = format!("ticket:{}", t.id);
    let meta =
        MessageMeta { agent: Some(agent.to_string()), ticket: Some(t.id.clone()), ..MessageMeta::default() };
    insert_message(conn, conversation_id, Some(&key), Sender::Agent, text, Some(&meta))?;
    Ok(())
}

/// A shopper's message for the agents, left when no agent was available.
#[derive(Debug, Clone)]
pub struct Ticket {
    pub id: String,
    pub conversation_id: String,
    pub shopper_id: Option<String>,
    pub lang: Lang,
    pub text: String,
    pub contact: Option<String>,
    pub status: String,
    pub created_at: String,
    pub closed_by: Option<String>,
    pub closed_at: Option<String>,
    /// The agent's reply (status `answered`, and kept once `closed`).
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<String>,
    /// When the shopper was shown the answer (their next visit).
    pub delivered_at: Option<String>,
}

impl Store {
    /// Stores a new open ticket.
    pub async fn create_ticket(
        &self,
        conversation_id: String,
        shopper_id: Option<String>,
        lang: Lang,
        text: String,
        contact: Option<String>,
    ) -> Result<Ticket, StoreError> {
        self.call(move |conn| {
            let t = Ticket {
                id: new_id("T", 10),
                conversation_id,
                shopper_id,
                lang,
                text,
                contact,
                status: "open".into(),
                created_at: now(),
                closed_by: None,
                closed_at: None,
                answer: None,
                answered_by: None,
                answered_at: None,
                delivered_at: None,
            };
            conn.execute(
                "INSERT INTO tickets (id, conversation_id, shopper_id, lang, text, contact, status, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![t.id, t.conversation_id, t.shopper_id, t.lang.code(), t.text, t.contact, t.status, t.created_at],
            )?;
            super::webhooks::record_event(conn, EventData::TicketCreated(TicketCreated::from(&t)))?;
            Ok(t)
        })
        .await
    }

    /// Tickets with a status (`open`, `answered`, `closed`), or all, oldest first.
    pub async fn tickets(&self, status: Option<String>) -> Result<Vec<Ticket>, StoreError> {
        self.read(move |conn| {
            let mut st = conn.prepare(&format!(
                "SELECT {TICKET_COLUMNS} FROM tickets WHERE ?1 IS NULL OR status = ?1 ORDER BY created_at, id"
            ))?;
            let rows = st.query_map(params![status], ticket_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// One ticket by id, whatever its status.
    pub async fn ticket(&self, id: String) -> Result<Option<Ticket>, StoreError> {
        self.read(move |conn| ticket_by_id(conn, &id)).await
    }

    /// Closes an open or answered ticket; false when there is none with that id.
    pub async fn close_ticket(&self, id: String, by: String) -> Result<bool, StoreError> {
        self.call(move |conn| {
            let n = conn.execute(
                "UPDATE tickets SET status = 'closed', closed_by = ?2, closed_at = ?3
                 WHERE id = ?1 AND status IN ('open', 'answered')",
                params![id, by, now()],
            )?;
            Ok(n == 1)
        })
        .await
    }

    /// Answers an open ticket in one job: the answer becomes an agent message in the ticket's
    /// conversation, the ticket `answered`, and a `ticket.answered` event is written for the
    /// webhooks (so a store can forward it through its own channel). None when there is no open
    /// ticket with that id.
    pub async fn answer_ticket(
        &self,
        id: String,
        by: String,
        text: String,
    ) -> Result<Option<Ticket>, StoreError> {
        self.call(move |conn| {
            let Some(mut t) = ticket_by_id(conn, &id)?.filter(|t| t.status == "open") else { return Ok(None) };
            answer_message(conn, &t.conversation_id, &t, &by, &text)?;
            let at = now();
            conn.execute(
                "UPDATE tickets SET status = 'answered', answer = ?2, answered_by = ?3, answered_at = ?4 WHERE id = ?1",
                params![id, text, by, at],
            )?;
            (t.status, t.answer, t.answered_by, t.answered_at) = ("answered".into(), Some(text), Some(by), Some(at));
            super::webhooks::record_event(conn, EventData::TicketAnswered(TicketAnswered::from(&t)))?;
            Ok(Some(t))
        })
        .await
    }

    /// Answered tickets not yet shown to the shopper, of this conversation or (signed in) of
    /// this shopper, oldest first. A read: most visits have none, and pay no write for it.
    pub async fn undelivered_answers(
        &self,
        conversation_id: String,
        shopper_id: Option<String>,
    ) -> Result<Vec<Ticket>, StoreError> {
        self.read(move |conn| {
            let mut st = conn.prepare(&format!(
                "SELECT {TICKET_COLUMNS} FROM tickets
                 WHERE answer IS NOT NULL AND delivered_at IS NULL
                   AND (conversation_id = ?1 OR (?2 IS NOT NULL AND shopper_id = ?2))
                 ORDER BY answered_at, id"
            ))?;
            let rows = st.query_map(params![conversation_id, shopper_id], ticket_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Marks these tickets' answers shown to the shopper in `conversation_id`: an answer from
    /// another conversation (the shopper's earlier one) is first copied into this one, so it is in
    /// the history they see now and on every reload. How many were marked.
    pub async fn deliver_answers(
        &self,
        conversation_id: String,
        tickets: Vec<String>,
    ) -> Result<usize, StoreError> {
        self.call(move |conn| {
            let mut marked = 0;
            for id in tickets {
                let Some(t) = ticket_by_id(conn, &id)?.filter(|t| t.delivered_at.is_none()) else { continue };
                let (Some(answer), Some(by)) = (t.answer.as_deref(), t.answered_by.as_deref()) else {
                    continue;
                };
                if t.conversation_id != conversation_id {
                    answer_message(conn, &conversation_id, &t, by, answer)?;
                }
                marked +=
                    conn.execute("UPDATE tickets SET delivered_at = ?2 WHERE id = ?1", params![id, now()])?;
            }
            Ok(marked)
        })
        .await
    }
}
