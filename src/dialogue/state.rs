//! What the bot remembers of one conversation: the question a flow is waiting on, what it last
//! listed, what is in focus (an order; a product with its colour and size), the page the
//! shopper is on, and what the feedback record needs.
//!
//! It is typed and serialisable: the chat layer stores it with every bot turn, so a resumed
//! conversation, even after a server restart, continues a half-finished flow.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::reference;
use crate::lang::Lang;
use crate::records::{EscalationContext, FeedbackRecord, Page, Resolution, Seen};
use crate::store::{AgentSummary, Conversation};

/// The stored form's version; a state stored by another version is dropped, never misread.
pub const STATE_VERSION: u32 = 1;

/// What a flow is asking the shopper for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pending {
    /// Which order? (then show its status, or start a return)
    OrderNumber { purpose: Purpose },
    /// Guests prove an order is theirs with the last four digits of its phone number.
    PhoneDigits { order_no: String, purpose: Purpose },
    /// Yes or no to opening the return.
    ConfirmReturn { order_no: String },
    /// Which product? (a product question named none; the suggestions are in `listed`, the
    /// question is answered once the shopper picks one)
    Product { question: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Status,
    Return,
}

/// What the bot last showed as a list, in the order shown: "第一个" / "the second one" picks
/// from it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "items", rename_all = "snake_case")]
pub enum Listed {
    #[default]
    Nothing,
    /// Order numbers (order cards), newest first.
    Orders(Vec<String>),
    /// Product skus (product cards or suggestions).
    Products(Vec<String>),
    /// FAQ ids of "did you mean" suggestions.
    Faqs(Vec<String>),
}

/// Turns after the one that showed a list during which "第一个" still points into it.
pub const LIST_TURNS: u32 = 2;

/// What a position in the last list picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Picked {
    Order(String),
    Product(String),
    Faq(String),
}

/// A product being talked about, with the colour and size last asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductFocus {
    pub sku: String,
    /// A colour id of the product.
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub size: Option<String>,
}

/// What the conversation is about right now: "它" / "this one" / "那白色的呢" refer to it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Focus {
    #[serde(default)]
    pub order: Option<String>,
    #[serde(default)]
    pub product: Option<ProductFocus>,
}

/// Per-conversation dialogue memory. Also the source of the feedback record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DialogueState {
    #[serde(default)]
    pub version: u32,
    pub lang: Lang,
    pub shopper_id: Option<String>,
    /// Orders a guest proved with the phone digits.
    #[serde(default)]
    pub verified_orders: BTreeSet<String>,
    #[serde(default)]
    pub pending: Option<Pending>,
    #[serde(default)]
    pub listed: Listed,
    /// The shopper's messages routed so far, and the one after which `listed` was shown (a
    /// list is pointed into for [`LIST_TURNS`] turns, then it is stale).
    #[serde(default)]
    pub turn: u32,
    #[serde(default)]
    pub listed_turn: u32,
    #[serde(default)]
    pub focus: Focus,
    #[serde(default)]
    pub page: Page,
    /// Unresolved bot turns in a row; two escalate.
    #[serde(default)]
    pub unresolved: u32,
    /// What the bot saw and did: the feedback record's and the escalation context's part.
    #[serde(flatten)]
    pub seen: Seen,
    #[serde(default)]
    pub escalation_reason: Option<String>,
}

impl DialogueState {
    /// What the agent who takes this conversation should know from the bot.
    pub fn escalation_context(&self) -> EscalationContext {
        EscalationContext {
            seen: self.seen.clone(),
            page: self.page.clone(),
            product_in_focus: self.product_in_focus().map(str::to_string),
        }
    }

    /// The conversation's feedback record as it stands: from this state, the stored
    /// conversation, its message counts (shopper, bot, agent) and the agents' part. An escalated
    /// conversation says `escalated` (or `agent_resolved`) whatever `resolution` is asked for.
    pub fn feedback_record(
        &self,
        conv: &Conversation,
        counts: [usize; 3],
        agent: Option<&AgentSummary>,
        resolution: Resolution,
        ended_at: String,
    ) -> FeedbackRecord {
        let escalation_reason = self.escalation_reason.clone().or_else(|| conv.escalation_reason.clone());
        let resolution = match agent {
            Some(a) if a.outcome.as_deref() == Some("resolved") => Resolution::AgentResolved,
            _ if escalation_reason.is_some() => Resolution::Escalated,
            _ => resolution,
        };
        FeedbackRecord {
            conversation_id: conv.id.clone(),
            shopper_id: conv.shopper_id.clone(),
            lang: self.lang,
            started_at: conv.started_at.clone(),
            ended_at,
            shopper_messages: counts[0],
            bot_messages: counts[1],
            agent_messages: counts[2],
            seen: self.seen.clone(),
            resolution,
            escalation_reason,
            agent_id: agent.and_then(|a| a.agent_id.clone()),
            agent_outcome: agent.and_then(|a| a.outcome.clone()),
            queue_wait_secs: agent.and_then(|a| a.queue_wait_secs),
            first_response_secs: agent.and_then(|a| a.first_response_secs),
            handle_secs: agent.and_then(|a| a.handle_secs),
            rating: None,
            comment: None,
            attachments: 0,
        }
    }

    pub fn new(lang: Lang, shopper_id: Option<String>) -> Self {
        DialogueState {
            version: STATE_VERSION,
            lang,
            shopper_id,
            verified_orders: BTreeSet::new(),
            pending: None,
            listed: Listed::Nothing,
            turn: 0,
            listed_turn: 0,
            focus: Focus::default(),
            page: Page::default(),
            unresolved: 0,
            seen: Seen::default(),
            escalation_reason: None,
        }
    }

    /// The stored form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("the dialogue state serialises")
    }

    /// A stored state, for this shopper only; `None` when it is unreadable, from another
    /// version, or someone else's (the caller starts afresh).
    pub fn from_json(json: &str, shopper_id: Option<&str>) -> Option<Self> {
        let st: DialogueState = serde_json::from_str(json).ok()?;
        (st.version == STATE_VERSION && st.shopper_id.as_deref() == shopper_id).then_some(st)
    }

    pub(crate) fn note<T: PartialEq + Clone>(list: &mut Vec<T>, item: &T) {
        if !list.contains(item) {
            list.push(item.clone());
        }
    }

    /// Shows a list: positions point into it for the next [`LIST_TURNS`] turns.
    pub fn show(&mut self, list: Listed) {
        self.listed = list;
        self.listed_turn = self.turn;
    }

    /// The item of the recent list a short message points at ("第一个", "the latest"); picking
    /// keeps the list fresh ("第一个" … "那第二个呢").
    pub fn pick(&mut self, text: &str) -> Option<Picked> {
        if !reference::short(text) || self.turn.saturating_sub(self.listed_turn) > LIST_TURNS {
            return None;
        }
        let pos = reference::position(text)?;
        let at = |v: &Vec<String>| pos.index(v.len()).map(|i| v[i].clone());
        let picked = match &self.listed {
            Listed::Nothing => None,
            Listed::Orders(v) => at(v).map(Picked::Order),
            Listed::Products(v) => at(v).map(Picked::Product),
            Listed::Faqs(v) => at(v).map(Picked::Faq),
        };
        if picked.is_some() {
            self.listed_turn = self.turn;
        }
        picked
    }

    /// The product a "this one" means: the one in focus, else the page's.
    pub fn product_in_focus(&self) -> Option<&str> {
        self.focus.product.as_ref().map(|p| p.sku.as_str()).or(self.page.product.as_deref())
    }

    /// Puts a product in focus; the colour and size carry over only for the same product.
    pub fn focus_product(&mut self, sku: &str) {
        if self.focus.product.as_ref().is_none_or(|p| p.sku != sku) {
            self.focus.product = Some(ProductFocus { sku: sku.to_string(), color: None, size: None });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_another_shopper() {
        let mut st = DialogueState::new(Lang::Zh, Some("S1".into()));
        st.pending = Some(Pending::ConfirmReturn { order_no: "1".repeat(18) });
        st.listed = Listed::Orders(vec!["a".into(), "b".into()]);
        st.focus_product("QM-WO-001");
        st.verified_orders.insert("x".into());
        let json = st.to_json();
        assert_eq!(DialogueState::from_json(&json, Some("S1")), Some(st.clone()));
        assert_eq!(DialogueState::from_json(&json, Some("S2")), None);
        assert_eq!(DialogueState::from_json(&json, None), None);
        assert_eq!(DialogueState::from_json("{", Some("S1")), None);
        let mut old = st.clone();
        old.version = STATE_VERSION + 1;
        assert_eq!(DialogueState::from_json(&old.to_json(), Some("S1")), None, "another version is dropped");
    }

    #[test]
    fn a_list_goes_stale() {
        let mut st = DialogueState::new(Lang::Zh, None);
        st.turn = 1;
        st.show(Listed::Orders(vec!["a".into(), "b".into()]));
        st.turn = 2;
        assert_eq!(st.pick("第二个"), Some(Picked::Order("b".into())));
        st.turn = 4;
        assert_eq!(st.pick("第一个"), Some(Picked::Order("a".into())), "a pick keeps it fresh");
        st.turn = 7;
        assert_eq!(st.pick("第一个"), None);
        assert_eq!(st.pick("我想问一下第一个订单到底什么时候能发货呢"), None, "only short messages point");
    }

    #[test]
    fn focus_keeps_colour_for_the_same_product_only() {
        let mut st = DialogueState::new(Lang::En, None);
        st.focus_product("A");
        st.focus.product.as_mut().unwrap().color = Some("white".into());
        st.focus_product("A");
        assert_eq!(st.focus.product.as_ref().unwrap().color.as_deref(), Some("white"));
        st.focus_product("B");
        assert_eq!(st.focus.product.as_ref().unwrap().color, None);
        st.page.product = Some("C".into());
        assert_eq!(st.product_in_focus(), Some("B"));
        st.focus.product = None;
        assert_eq!(st.product_in_focus(), Some("C"));
    }
}
