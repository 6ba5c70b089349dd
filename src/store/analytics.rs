//! The rows the trainers' analytics are computed from: conversations with their feedback,
//! the shopper turns with the bot's replies, and the agents' handoffs, for a time range. The
//! sums and rates are computed in `crate::analytics`.

use rusqlite::params;
use serde::Serialize;

use super::review_rows::{turns, ReviewTurn};
use super::{Store, StoreError};

/// A conversation started in the range, with what its feedback record says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversationStats {
    pub id: String,
    pub started_at: String,
    /// Why it was first handed to a person, if it was.
    pub escalation_reason: Option<String>,
    /// The feedback record's `resolution` (`bot_resolved`, `escalated`, `agent_resolved`,
    /// `abandoned`); none without a record.
    pub resolution: Option<String>,
    pub has_record: bool,
    pub rating: Option<u8>,
    /// An agent wrote in it.
    pub agent_replied: bool,
}

/// A handoff an agent took in the range, with its timestamps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandoffTimes {
    pub agent: String,
    pub assigned_at: String,
    pub first_response_at: Option<String>,
    pub ended_at: Option<String>,
}

/// Everything the analytics of a range are computed from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AnalyticsRows {
    pub conversations: Vec<ConversationStats>,
    pub turns: Vec<ReviewTurn>,
    pub handoffs: Vec<HandoffTimes>,
}

impl Store {
    /// The rows of `[from, to)` (RFC 3339 UTC strings), read in one job: conversations by start,
    /// turns by the shopper message's time, handoffs by assignment.
    pub async fn analytics_rows(&self, from: String, to: String) -> Result<AnalyticsRows, StoreError> {
        self.read(move |conn| {
            let mut st = conn.prepare_cached(
                "SELECT c.id, c.started_at, c.escalation_reason, json_extract(f.record, '$.resolution'),
                        f.conversation_id IS NOT NULL, f.rating,
                        EXISTS (SELECT 1 FROM messages a WHERE a.conversation_id = c.id AND a.sender = 'agent')
                 FROM conversations c LEFT JOIN feedback f ON f.conversation_id = c.id
                 WHERE c.started_at >= ?1 AND c.started_at < ?2 ORDER BY c.started_at, c.id",
            )?;
            let conversations = st
                .query_map(params![from, to], |r| {
                    Ok(ConversationStats {
                        id: r.get(0)?,
                        started_at: r.get(1)?,
                        escalation_reason: r.get(2)?,
                        resolution: r.get(3)?,
                        has_record: r.get(4)?,
                        rating: r.get(5)?,
                        agent_replied: r.get(6)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            let mut st = conn.prepare_cached(
                "SELECT agent, assigned_at, first_response_at, ended_at FROM handoffs
                 WHERE agent IS NOT NULL AND assigned_at >= ?1 AND assigned_at < ?2 ORDER BY id",
            )?;
            let handoffs = st
                .query_map(params![from, to], |r| {
                    Ok(HandoffTimes {
                        agent: r.get(0)?,
                        assigned_at: r.get(1)?,
                        first_response_at: r.get(2)?,
                        ended_at: r.get(3)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            let turns = turns(conn, Some(from.as_str()), Some(to.as_str()))?;
            Ok(AnalyticsRows { conversations, turns, handoffs })
        })
        .await
    }
}
