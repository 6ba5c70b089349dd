//! The trainers' review queue in the store: shopper messages with the bot's replies to them
//! (read back from the messages' `meta`), and the trainers' decisions about groups of them
//! (dismissed, or resolved by a knowledge-base change). Grouping is not done here: see
//! `crate::analytics::review_queue`.

use rusqlite::params;
use serde::Serialize;

use super::{now, Fail, Store, StoreError};
use crate::lang::Lang;

/// What the bot's reply to a shopper message says about how it was decided (from its `meta`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplyMeta {
    /// `answer`, `suggest`, `no_match`, `out_of_scope`, `flow`, `greeting`, `escalate`; none
    /// in replies stored before decisions were recorded.
    pub decision: Option<String>,
    pub intent: Option<String>,
    pub faq_id: Option<String>,
}

/// A shopper message and the bot's replies to it (the bot messages after it, up to the
/// shopper's next message in the same conversation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewTurn {
    pub message_id: i64,
    pub conversation_id: String,
    pub text: String,
    /// When the shopper sent it (RFC 3339, UTC).
    pub at: String,
    /// The conversation's rating, if it has one.
    pub rating: Option<u8>,
    /// An agent wrote in the conversation (then a low rating is about the agent, not the bot).
    pub agent_replied: bool,
    /// The reason of the handoff a reply of this turn started (`requested`, `complaint`,
    /// `unresolved`, …), when one did.
    pub escalation: Option<String>,
    pub replies: Vec<ReplyMeta>,
}

/// What a trainer did about a review group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewAction {
    /// Not worth acting on: hidden from the queue for good.
    Dismiss,
    /// Resolved by adding the question as a phrasing of an FAQ entry.
    Phrasing,
    /// Resolved by a new FAQ entry.
    Faq,
    /// Resolved by adding the question to an intent's training examples.
    Intent,
}

impl ReviewAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewAction::Dismiss => "dismiss",
            ReviewAction::Phrasing => "phrasing",
            ReviewAction::Faq => "faq",
            ReviewAction::Intent => "intent",
        }
    }

    pub fn parse(s: &str) -> Option<ReviewAction> {
        match s {
            "dismiss" => Some(ReviewAction::Dismiss),
            "phrasing" => Some(ReviewAction::Phrasing),
            "faq" => Some(ReviewAction::Faq),
            "intent" => Some(ReviewAction::Intent),
            _ => None,
        }
    }
}

/// A review group as a decision names it: its key and the normalised text of its
/// representative (later near-duplicates are matched against the text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewKey {
    pub key: String,
    pub text: String,
    pub lang: Lang,
}

/// A stored decision about a review group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewDecision {
    pub id: i64,
    pub key: String,
    pub text: String,
    pub lang: Lang,
    pub action: ReviewAction,
    pub target: Option<String>,
    pub by: String,
    pub at: String,
}

/// Shopper messages sent in `[from, to)` (RFC 3339 UTC strings; none = unbounded) that the bot
/// answered, with its replies, oldest first. Notices that are not answers (`meta.event`, such
/// as the expected wait after an escalation) are left out.
pub(super) fn turns(
    conn: &rusqlite::Connection,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Vec<ReviewTurn>, Fail> {
    let mut st = conn.prepare_cached(
        "SELECT s.id, s.conversation_id, s.text, s.created_at, f.rating,
                json_extract(b.meta, '$.decision'), json_extract(b.meta, '$.intent'), json_extract(b.meta, '$.faq_id'),
                CASE WHEN json_extract(b.meta, '$.decision') = 'escalate' THEN
                  (SELECT h.reason FROM handoffs h WHERE h.conversation_id = s.conversation_id
                     AND h.queued_at >= s.created_at ORDER BY h.id LIMIT 1) END,
                EXISTS (SELECT 1 FROM messages a WHERE a.conversation_id = s.conversation_id AND a.sender = 'agent')
         FROM messages s
         JOIN messages b ON b.conversation_id = s.conversation_id AND b.sender = 'bot' AND b.id > s.id
           AND b.id < COALESCE((SELECT MIN(n.id) FROM messages n WHERE n.conversation_id = s.conversation_id
                                AND n.sender = 'shopper' AND n.id > s.id), 9223372036854775807)
         LEFT JOIN feedback f ON f.conversation_id = s.conversation_id
         WHERE s.sender = 'shopper' AND (?1 IS NULL OR s.created_at >= ?1) AND (?2 IS NULL OR s.created_at < ?2)
           AND s.text <> '[erased]'
           AND b.meta IS NOT NULL AND json_extract(b.meta, '$.event') IS NULL
         ORDER BY s.id, b.id",
    )?;
    let mut rows = st.query(params![from, to])?;
    let mut turns: Vec<ReviewTurn> = Vec::new();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let reply = ReplyMeta { decision: r.get(5)?, intent: r.get(6)?, faq_id: r.get(7)? };
        let escalation: Option<String> = r.get(8)?;
        let agent_replied: bool = r.get(9)?;
        match turns.last_mut().filter(|t| t.message_id == id) {
            Some(t) => {
                t.replies.push(reply);
                if t.escalation.is_none() {
                    t.escalation = escalation;
                }
            }
            None => turns.push(ReviewTurn {
                message_id: id,
                conversation_id: r.get(1)?,
                text: r.get(2)?,
                at: r.get(3)?,
                rating: r.get(4)?,
                agent_replied,
                escalation,
                replies: vec![reply],
            }),
        }
    }
    Ok(turns)
}

impl Store {
    /// Shopper messages in `[from, to)` with the bot's replies (see [`ReviewTurn`]).
    pub async fn review_turns(
        &self,
        from: Option<String>,
        to: Option<String>,
    ) -> Result<Vec<ReviewTurn>, StoreError> {
        self.read(move |conn| turns(conn, from.as_deref(), to.as_deref())).await
    }

    /// Every decision trainers made about review groups, oldest first.
    pub async fn review_decisions(&self) -> Result<Vec<ReviewDecision>, StoreError> {
        self.read(move |conn| {
            let mut st = conn.prepare_cached(
                "SELECT id, key, text, lang, action, target, decided_by, decided_at FROM review_dismissals ORDER BY id",
            )?;
            let rows = st.query_map([], |r| {
                let action: String = r.get(4)?;
                Ok(ReviewDecision {
                    id: r.get(0)?,
                    key: r.get(1)?,
                    text: r.get(2)?,
                    lang: Lang::parse(&r.get::<_, String>(3)?).unwrap_or(Lang::Zh),
                    action: ReviewAction::parse(&action).unwrap_or(ReviewAction::Dismiss),
                    target: r.get(5)?,
                    by: r.get(6)?,
                    at: r.get(7)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// Records what a trainer did about a review group: dismissed it, or resolved it by a
    /// knowledge-base change (`target`: the FAQ id or intent). The group leaves the queue.
    pub async fn resolve_review(
        &self,
        key: ReviewKey,
        action: ReviewAction,
        target: Option<String>,
        by: String,
    ) -> Result<ReviewDecision, StoreError> {
        self.call(move |conn| {
            let at = now();
            conn.prepare_cached(
                "INSERT INTO review_dismissals (key, text, lang, action, target, decided_by, decided_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                key.key,
                key.text,
                key.lang.code(),
                action.as_str(),
                target,
                by,
                at
            ])?;
            Ok(ReviewDecision {
                id: conn.last_insert_rowid(),
                key: key.key,
                text: key.text,
                lang: key.lang,
                action,
                target,
                by,
                at,
            })
        })
        .await
    }
}
