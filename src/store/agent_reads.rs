//! What the agents read about conversations: everything stored about one (to take it over, or
//! for the console's detail), a shopper's profile, and conversation search. Reads only, on the
//! reader threads.

use rusqlite::{params, Connection, OptionalExtension};

use super::handoffs::{handoffs_of, notes_of, Handoff, Note};
use super::records::query_messages;
use super::{ConversationState, Fail, ReturnRequest, Store, StoreError, StoredMessage};
use crate::knowledge::{Order, Shopper};
use crate::lang::Lang;

/// A shopper as an agent sees them: who they are, their recent orders and how they rated us.
#[derive(Debug, Clone)]
pub struct Profile {
    pub id: String,
    pub name: String,
    pub tier: String,
    pub vip: bool,
    pub recent_orders: Vec<Order>,
    pub past_ratings: Vec<u8>,
    pub average_rating: Option<f64>,
    pub conversations: u32,
}

/// Everything stored about a conversation that an agent needs to take it over.
#[derive(Debug, Clone)]
pub struct ConversationContext {
    pub conversation_id: String,
    pub lang: Lang,
    pub state: ConversationState,
    pub started_at: String,
    pub escalation_reason: Option<String>,
    pub transcript: Vec<StoredMessage>,
    pub notes: Vec<Note>,
    pub handoffs: Vec<Handoff>,
    /// Orders the bot discussed (full details) and their returns.
    pub orders: Vec<Order>,
    pub returns: Vec<ReturnRequest>,
    pub shopper: Option<Profile>,
}

/// A conversation found by search.
#[derive(Debug, Clone)]
pub struct ConversationRow {
    pub id: String,
    pub shopper_id: Option<String>,
    pub lang: Lang,
    pub state: ConversationState,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub escalation_reason: Option<String>,
    pub rating: Option<u8>,
    pub messages: u32,
}

impl Store {
    /// Everything an agent needs to take a conversation over (one read).
    pub async fn conversation_context(
        &self,
        conversation_id: String,
    ) -> Result<Option<ConversationContext>, StoreError> {
        self.read(move |conn| {
            let Some(conv) = super::records::conversation_row(conn, &conversation_id)? else {
                return Ok(None);
            };
            let transcript = query_messages(conn, &conversation_id, usize::MAX)?;
            let handoffs = handoffs_of(conn, &conversation_id)?;
            // the orders the bot discussed, as the latest hand-over recorded them
            let orders_discussed: Vec<String> =
                handoffs.last().map(|h| h.context.seen.orders_discussed.clone()).unwrap_or_default();
            let mut orders = Vec::new();
            let mut returns = Vec::new();
            for no in &orders_discussed {
                let data: Option<String> = conn
                    .query_row(
                        "SELECT data FROM orders WHERE order_no = ?1 AND shopper_id IS ?2",
                        params![no, conv.shopper_id],
                        |r| r.get(0),
                    )
                    .optional()?;
                // a guest's orders were proved with the phone digits before the bot named them
                let data = match data {
                    Some(d) => Some(d),
                    None if conv.shopper_id.is_none() => conn
                        .query_row("SELECT data FROM orders WHERE order_no = ?1", params![no], |r| r.get(0))
                        .optional()?,
                    None => None,
                };
                if let Some(d) = data {
                    orders.push(super::records::from_json::<Order>(&d)?);
                    returns.extend(super::records::returns_of(conn, no)?);
                }
            }
            let shopper = match &conv.shopper_id {
                Some(id) => profile(conn, id)?,
                None => None,
            };
            Ok(Some(ConversationContext {
                conversation_id: conv.id.clone(),
                lang: conv.lang,
                state: conv.state,
                started_at: conv.started_at,
                escalation_reason: conv.escalation_reason,
                transcript,
                notes: notes_of(conn, &conversation_id)?,
                handoffs,
                orders,
                returns,
                shopper,
            }))
        })
        .await
    }

    /// Conversations by shopper, by order discussed (its number in any message) and by start
    /// date (`from`, `to`: RFC 3339 prefixes, inclusive), newest first.
    pub async fn search_conversations(
        &self,
        shopper: Option<String>,
        order: Option<String>,
        from: Option<String>,
        to: Option<String>,
        limit: usize,
    ) -> Result<Vec<ConversationRow>, StoreError> {
        self.read(move |conn| {
            // `to` is inclusive of the whole day or minute it names
            let to = to.map(|t| format!("{t}\u{10FFFF}"));
            let mut st = conn.prepare(
                "SELECT c.id, c.shopper_id, c.lang, c.state, c.started_at, c.ended_at, c.escalation_reason, f.rating,
                        (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)
                 FROM conversations c LEFT JOIN feedback f ON f.conversation_id = c.id
                 WHERE (?1 IS NULL OR c.shopper_id = ?1)
                   AND (?2 IS NULL OR c.id IN (SELECT conversation_id FROM messages WHERE instr(text, ?2) > 0)
                        OR c.id IN (SELECT conversation_id FROM returns WHERE order_no = ?2))
                   AND (?3 IS NULL OR c.started_at >= ?3) AND (?4 IS NULL OR c.started_at <= ?4)
                 ORDER BY c.started_at DESC LIMIT ?5",
            )?;
            let rows = st.query_map(params![shopper, order, from, to, limit as i64], |r| {
                Ok(ConversationRow {
                    id: r.get(0)?,
                    shopper_id: r.get(1)?,
                    lang: Lang::parse(&r.get::<_, String>(2)?).unwrap_or(Lang::Zh),
                    state: ConversationState::parse(&r.get::<_, String>(3)?),
                    started_at: r.get(4)?,
                    ended_at: r.get(5)?,
                    escalation_reason: r.get(6)?,
                    rating: r.get(7)?,
                    messages: r.get(8)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// A shopper's profile for the agent console.
    pub async fn profile(&self, shopper_id: String) -> Result<Option<Profile>, StoreError> {
        self.read(move |conn| profile(conn, &shopper_id)).await
    }
}

fn profile(conn: &Connection, shopper_id: &str) -> Result<Option<Profile>, Fail> {
    let shopper: Option<Shopper> = super::records::shopper_row(conn, shopper_id)?;
    let Some(s) = shopper else { return Ok(None) };
    let mut st = conn
        .prepare_cached("SELECT data FROM orders WHERE shopper_id = ?1 ORDER BY created_at DESC LIMIT 5")?;
    let recent_orders = st
        .query_map(params![shopper_id], |r| r.get::<_, String>(0))?
        .map(|d| super::records::from_json::<Order>(&d?))
        .collect::<Result<Vec<_>, _>>()?;
    let mut st = conn.prepare_cached(
        "SELECT f.rating FROM feedback f JOIN conversations c ON c.id = f.conversation_id
         WHERE c.shopper_id = ?1 AND f.rating IS NOT NULL ORDER BY f.updated_at DESC LIMIT 20",
    )?;
    let past_ratings =
        st.query_map(params![shopper_id], |r| r.get::<_, u8>(0))?.collect::<Result<Vec<_>, _>>()?;
    let average_rating = (!past_ratings.is_empty())
        .then(|| past_ratings.iter().map(|&r| r as f64).sum::<f64>() / past_ratings.len() as f64);
    let conversations: u32 = conn.query_row(
        "SELECT COUNT(*) FROM conversations WHERE shopper_id = ?1",
        params![shopper_id],
        |r| r.get(0),
    )?;
    Ok(Some(Profile {
        id: s.id,
        name: s.name,
        tier: s.tier,
        vip: s.vip,
        recent_orders,
        past_ratings,
        average_rating,
        conversations,
    }))
}
