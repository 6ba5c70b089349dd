//! What the router answers with: replies ([`BotReply`], with [`Card`]s), the [`Outcome`] of one
//! message, and FAQ entries turned into replies.

use serde::Serialize;

use super::engines::Engines;
use super::state::DialogueState;
pub use crate::records::ReplyDecision;
use crate::search::{Decision, FaqResult};

/// A summary card shown with a reply: an order or a product.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Card {
    Order {
        order_no: String,
        status: String,
        status_text: String,
        created_at: String,
        total: f64,
        items: Vec<String>,
        /// The latest tracking event, in the shopper's language.
        latest_tracking: Option<String>,
        /// When it happened (RFC 3339): the widget shows it in the shopper's language and the
        /// store's timezone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        latest_tracking_at: Option<String>,
        /// What the shopper can do with the order from its card.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        actions: Vec<CardAction>,
    },
    Product {
        sku: String,
        name: String,
        price: f64,
        in_stock: bool,
        colors: Vec<String>,
        sizes: Vec<String>,
    },
}

/// A button on an order card; the widget sends a message about that order when it is tapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardAction {
    /// Show its status and tracking.
    Track,
    /// Start a return (only on orders that can be returned now).
    Return,
}

/// One bot reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BotReply {
    pub text: String,
    pub intent: Option<String>,
    pub confidence: Option<f32>,
    pub faq_id: Option<String>,
    pub decision: Option<ReplyDecision>,
    pub suggestions: Vec<String>,
    pub cards: Vec<Card>,
}

impl BotReply {
    pub fn text(text: String) -> Self {
        BotReply { text, ..Default::default() }
    }

    pub(super) fn greeting(text: String) -> Self {
        BotReply { decision: Some(ReplyDecision::Greeting), ..BotReply::text(text) }
    }
}

/// What the router decided for one message.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Outcome {
    pub replies: Vec<BotReply>,
    /// Hand the conversation to a human, for this reason.
    pub escalate: Option<String>,
}

impl Outcome {
    pub(super) fn reply(r: BotReply) -> Self {
        Outcome { replies: vec![r], escalate: None }
    }
}

/// An FAQ entry as the reply (noted for the feedback record).
pub fn faq_reply(st: &mut DialogueState, f: &crate::knowledge::Faq) -> BotReply {
    DialogueState::note(&mut st.seen.faq_ids, &f.id);
    st.unresolved = 0;
    BotReply {
        text: f.answer(st.lang).to_string(),
        faq_id: Some(f.id.clone()),
        decision: Some(ReplyDecision::Answer),
        ..Default::default()
    }
}

/// The FAQ search's reading of a message, made the first time a branch of the decision asks
/// for it: an order number, a greeting, a picked item or a signed-in shopper's "where is my
/// order" never needs it, and the search is the costliest part of a turn after the classifier.
pub struct FaqLookup<'a> {
    engines: &'a Engines,
    text: &'a str,
    /// The classifier's intent and confidence, fused with the search by `fuse`.
    intent: Option<(&'a str, f32)>,
    fuse: fn(&mut FaqResult, &Engines, &str, f32),
    result: std::sync::OnceLock<Option<FaqResult>>,
}

impl<'a> FaqLookup<'a> {
    pub fn new(
        engines: &'a Engines,
        text: &'a str,
        intent: Option<(&'a str, f32)>,
        fuse: fn(&mut FaqResult, &Engines, &str, f32),
    ) -> Self {
        FaqLookup { engines, text, intent, fuse, result: std::sync::OnceLock::new() }
    }

    /// The search's result (searched now if not yet); `None` when the search refused the text.
    pub fn get(&self) -> Option<&FaqResult> {
        self.result
            .get_or_init(|| {
                let mut faq = self.engines.faq.ask(self.text, 3).ok();
                if let (Some(r), Some((intent, confidence))) = (faq.as_mut(), self.intent) {
                    (self.fuse)(r, self.engines, intent, confidence);
                }
                faq
            })
            .as_ref()
    }
}

/// The FAQ entry as a reply when the search decided to answer (noted for the feedback
/// record); `None` otherwise.
pub fn faq_answer(engines: &Engines, st: &mut DialogueState, faq: Option<&FaqResult>) -> Option<BotReply> {
    let r = faq.filter(|r| r.decision == Decision::Answer)?;
    let f = engines.faq.faq(&r.best()?.id)?;
    Some(faq_reply(st, f))
}
