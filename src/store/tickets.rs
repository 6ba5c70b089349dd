//! Tickets: what a shopper leaves for the agents when none could take the conversation (a
//! message and how to reach them), open until an agent closes it.

use rusqlite::params;

use super::webhooks::{EventData, TicketCreated};
use super::{new_id, now, Store, StoreError};
use crate::lang::Lang;

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

    /// Tickets with a status (`open`, `closed`), or all, oldest first.
    pub async fn tickets(&self, status: Option<String>) -> Result<Vec<Ticket>, StoreError> {
        self.read(move |conn| {
            let mut st = conn.prepare(
                "SELECT id, conversation_id, shopper_id, lang, text, contact, status, created_at, closed_by, closed_at
                 FROM tickets WHERE ?1 IS NULL OR status = ?1 ORDER BY created_at, id",
            )?;
            let rows = st.query_map(params![status], |r| {
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
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Closes an open ticket; false when there is no open ticket with that id.
    pub async fn close_ticket(&self, id: String, by: String) -> Result<bool, StoreError> {
        self.call(move |conn| {
            let n = conn.execute(
                "UPDATE tickets SET status = 'closed', closed_by = ?2, closed_at = ?3 WHERE id = ?1 AND status = 'open'",
                params![id, by, now()],
            )?;
            Ok(n == 1)
        })
        .await
    }
}
