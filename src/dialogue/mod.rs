//! The dialogue router: every shopper message goes through the intent classifier and the FAQ
//! search, then exactly one decision: a flow (order status, returns, products), an FAQ answer,
//! a greeting, a clarifying question, or a hand-over to a human.
//!
//! Flows that ask something (which order? last four digits of the phone? confirm the return?)
//! leave a [`Pending`] question in the [`DialogueState`], answered by the next message.
//! This module knows nothing about WebSockets: the chat layer calls [`Router::handle`].

pub mod orders;
pub mod products;
pub mod returns;
pub mod texts;

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use crate::intent::IntentModel;
use crate::knowledge::Product;
use crate::lang::{detect, Lang};
use crate::search::{Decision, FaqIndex, ProductIndex};
use crate::store::{Store, StoreError};
use texts::t;

/// The engines the router consults, loaded once and shared by every conversation.
///
/// Each part is shared, so new engines that differ in one part (a rebuilt FAQ index, a newly
/// activated model) are cheap to make: `Engines { faq: Arc::new(new_index), ..(*old).clone() }`.
#[derive(Clone)]
pub struct Engines {
    pub faq: Arc<FaqIndex>,
    pub products: Arc<ProductIndex>,
    pub intents: Arc<IntentModel>,
    pub catalog: Arc<Vec<Product>>,
}

impl Engines {
    pub fn product(&self, sku: &str) -> Option<&Product> {
        self.catalog.iter().find(|p| p.sku == sku)
    }
}

/// Where "now" comes from: the system clock, or a fixed instant (demos and tests, so the
/// 7-day return window of the demo orders does not move).
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    System,
    Fixed(DateTime<FixedOffset>),
}

impl Clock {
    pub fn now(&self) -> DateTime<FixedOffset> {
        match self {
            Clock::System => chrono::Utc::now().fixed_offset(),
            Clock::Fixed(t) => *t,
        }
    }
}

/// What a flow is asking the shopper for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Pending {
    /// Which order? (then show its status, or start a return)
    OrderNumber { purpose: Purpose },
    /// Guests prove an order is theirs with the last four digits of its phone number.
    PhoneDigits { order_no: String, purpose: Purpose },
    /// Yes or no to opening the return.
    ConfirmReturn { order_no: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Status,
    Return,
}

/// Per-conversation dialogue memory. Also the source of the feedback record.
#[derive(Debug, Clone, Serialize)]
pub struct DialogueState {
    pub lang: Lang,
    pub shopper_id: Option<String>,
    /// Orders a guest proved with the phone digits.
    pub verified_orders: HashSet<String>,
    pub pending: Option<Pending>,
    /// Unresolved bot turns in a row; two escalate.
    pub unresolved: u32,
    pub intents_seen: Vec<String>,
    pub faq_ids: Vec<String>,
    pub flows: Vec<String>,
    pub orders_discussed: Vec<String>,
    pub returns_created: Vec<String>,
    pub complaint: bool,
    pub escalation_reason: Option<String>,
}

impl DialogueState {
    pub fn new(lang: Lang, shopper_id: Option<String>) -> Self {
        DialogueState {
            lang,
            shopper_id,
            verified_orders: HashSet::new(),
            pending: None,
            unresolved: 0,
            intents_seen: Vec::new(),
            faq_ids: Vec::new(),
            flows: Vec::new(),
            orders_discussed: Vec::new(),
            returns_created: Vec::new(),
            complaint: false,
            escalation_reason: None,
        }
    }

    fn note<T: PartialEq + Clone>(list: &mut Vec<T>, item: &T) {
        if !list.contains(item) {
            list.push(item.clone());
        }
    }
}

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
        latest_tracking: Option<String>,
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

/// How the router arrived at a reply (stored with it, read by the trainers' review queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyDecision {
    /// A confident FAQ answer.
    Answer,
    /// Not sure: "did you mean one of these?"
    Suggest,
    /// The FAQ had nothing close enough.
    NoMatch,
    /// The classifier said out of scope and the FAQ had nothing either.
    OutOfScope,
    /// A flow (orders, returns, products) or its follow-up question.
    Flow,
    /// Hello, thanks, goodbye.
    Greeting,
    /// Handed to a human.
    Escalate,
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

    fn greeting(text: String) -> Self {
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
    fn reply(r: BotReply) -> Self {
        Outcome { replies: vec![r], escalate: None }
    }
}

/// Words that ask for a person, whatever the classifier says.
fn asks_for_human(text: &str) -> bool {
    let t = text.to_lowercase();
    let bare = t.trim().trim_matches(|c: char| !c.is_alphanumeric() && !crate::lang::is_cjk(c));
    ["转人工", "人工客服", "找人工", "要人工", "找真人", "人工服务"].iter().any(|w| t.contains(w))
        || ["人工", "human", "agent", "human agent", "real person"].contains(&bare)
        || [
            "talk to a human",
            "speak to a human",
            "real person",
            "live agent",
            "human agent",
            "talk to an agent",
            "speak to an agent",
            "speak to someone",
            "talk to someone",
        ]
        .iter()
        .any(|w| t.contains(w))
}

/// Intent confidence above which a matching FAQ entry is trusted one step more.
pub const AGREEMENT_CONFIDENCE: f32 = 0.8;

/// Fuses the two engines: when the classifier is confident and the best FAQ entry is linked to
/// the same intent, the entry is given as the answer. Short questions ("how much is shipping")
/// score low in BM25 but are unambiguous to both engines.
fn agree(r: &mut crate::search::FaqResult, engines: &Engines, intent: &str, confidence: f32) {
    let linked =
        r.best().and_then(|h| engines.faq.faq(&h.id)).and_then(|f| f.intent.as_deref()) == Some(intent);
    if linked && confidence >= AGREEMENT_CONFIDENCE {
        r.decision = Decision::Answer;
    }
}

/// Routes shopper messages.
#[derive(Clone)]
pub struct Router {
    /// The engines in force: swapped whole when a trainer changes the knowledge base or
    /// activates a model; a turn in progress keeps the engines it started with.
    pub engines: Arc<arc_swap::ArcSwap<Engines>>,
    pub store: Store,
    pub clock: Clock,
    /// Wrong phone-digit guesses per order number, across all conversations: an order is
    /// locked for guests after [`orders::MAX_PHONE_GUESSES`], so its digits cannot be brute-forced.
    pub phone_guesses: Arc<std::sync::Mutex<std::collections::HashMap<String, u32>>>,
}

impl Router {
    pub fn new(engines: Arc<Engines>, store: Store, clock: Clock) -> Router {
        let engines = Arc::new(arc_swap::ArcSwap::new(engines));
        Router { engines, store, clock, phone_guesses: Default::default() }
    }

    /// The engines in force now.
    pub fn engines(&self) -> Arc<Engines> {
        self.engines.load_full()
    }

    /// Puts new engines made from the current ones in force (read-copy-update: a concurrent
    /// change to another part is never lost); conversations pick them up from their next message.
    pub fn update_engines(&self, f: impl Fn(&Engines) -> Engines) {
        self.engines.rcu(|current| Arc::new(f(current)));
    }
}

impl Router {
    /// Decides the bot's answer to one message of a conversation.
    pub async fn handle(
        &self,
        st: &mut DialogueState,
        conversation_id: &str,
        text: &str,
    ) -> Result<Outcome, StoreError> {
        let lang = detect(text);
        if lang == Lang::Zh || text.chars().filter(|c| c.is_ascii_alphabetic()).count() >= 2 {
            st.lang = lang;
        }
        let lang = st.lang;
        if asks_for_human(text) {
            DialogueState::note(&mut st.intents_seen, &"human_agent".to_string());
            return Ok(self.escalate(st, "requested"));
        }
        if let Some(pending) = st.pending.take() {
            if let Some(mut outcome) = self.continue_pending(st, conversation_id, pending, text).await? {
                st.unresolved = 0;
                for r in &mut outcome.replies {
                    r.decision.get_or_insert(ReplyDecision::Flow);
                }
                return Ok(outcome);
            }
        }
        // one set of engines for the whole turn, even if a trainer swaps in new ones meanwhile
        let engines = self.engines();
        let prediction = engines.intents.predict(text, 3).ok();
        let intent = prediction.as_ref().map(|p| p.intent.clone()).unwrap_or_else(|| "out_of_scope".into());
        let confidence = prediction.as_ref().map(|p| p.confidence);
        DialogueState::note(&mut st.intents_seen, &intent);
        let mut faq = engines.faq.ask(text, 3).ok();
        if let (Some(r), Some(p)) = (faq.as_mut(), prediction.as_ref()) {
            agree(r, &engines, &p.intent, p.confidence);
        }
        let order_no = orders::find_order_number(text);

        let mut outcome = match (intent.as_str(), order_no) {
            ("human_agent", _) => return Ok(self.escalate(st, "requested")),
            ("complaint", _) => {
                st.complaint = true;
                return Ok(self.escalate(st, "complaint"));
            }
            ("return_refund", Some(no)) => returns::start(self, st, no, conversation_id).await?,
            (_, Some(no)) => orders::status(self, st, no, Purpose::Status).await?,
            ("order_status", None) => orders::ask_which(self, st, Purpose::Status, faq.as_ref()).await?,
            ("return_refund", None) => returns::ask_which(self, st, faq.as_ref()).await?,
            ("greeting", None) => Outcome::reply(BotReply::greeting(texts::greeting(lang))),
            ("thanks_goodbye", None) => Outcome::reply(BotReply::greeting(texts::thanks(lang))),
            ("product_question", None) => match products::answer(self, st, text) {
                Some(o) => o,
                None => self.faq_or_clarify(&engines, st, faq.as_ref()),
            },
            _ => self.faq_or_clarify(&engines, st, faq.as_ref()),
        };
        for r in &mut outcome.replies {
            r.intent.get_or_insert(intent.clone());
            if r.confidence.is_none() {
                r.confidence = confidence;
            }
            // what no other branch named is a flow's reply; no FAQ match for an out-of-scope intent is out of scope
            let decision = r.decision.get_or_insert(ReplyDecision::Flow);
            if intent == "out_of_scope" && *decision == ReplyDecision::NoMatch {
                *decision = ReplyDecision::OutOfScope;
            }
        }
        if outcome.escalate.is_none() && st.unresolved >= 2 {
            return Ok(self.escalate(st, "unresolved"));
        }
        Ok(outcome)
    }

    /// The FAQ entry as a reply when the search decided to answer (noted for the feedback
    /// record); `None` otherwise.
    fn faq_answer(
        &self,
        engines: &Engines,
        st: &mut DialogueState,
        faq: Option<&crate::search::FaqResult>,
    ) -> Option<BotReply> {
        let r = faq.filter(|r| r.decision == Decision::Answer)?;
        let f = engines.faq.faq(&r.best()?.id)?;
        DialogueState::note(&mut st.faq_ids, &f.id);
        st.unresolved = 0;
        Some(BotReply {
            text: f.answer(st.lang).to_string(),
            faq_id: Some(f.id.clone()),
            decision: Some(ReplyDecision::Answer),
            ..Default::default()
        })
    }

    /// An FAQ answer when the search is confident, suggestions when it is not sure, otherwise
    /// an honest "I can't help with that" (which counts as unresolved).
    fn faq_or_clarify(
        &self,
        engines: &Engines,
        st: &mut DialogueState,
        faq: Option<&crate::search::FaqResult>,
    ) -> Outcome {
        let lang = st.lang;
        if let Some(answer) = self.faq_answer(engines, st, faq) {
            return Outcome::reply(answer);
        }
        match faq {
            Some(r) if r.decision == Decision::Suggest => {
                st.unresolved += 1;
                let suggestions = r
                    .hits
                    .iter()
                    .filter_map(|h| engines.faq.faq(&h.id))
                    .map(|f| f.content(lang).questions[0].clone())
                    .collect();
                Outcome::reply(BotReply {
                    text: texts::not_sure(lang),
                    suggestions,
                    decision: Some(ReplyDecision::Suggest),
                    ..Default::default()
                })
            }
            _ => {
                st.unresolved += 1;
                let text = texts::out_of_scope(lang);
                Outcome::reply(BotReply { decision: Some(ReplyDecision::NoMatch), ..BotReply::text(text) })
            }
        }
    }

    fn escalate(&self, st: &mut DialogueState, reason: &str) -> Outcome {
        st.escalation_reason = Some(reason.to_string());
        st.pending = None;
        Outcome {
            replies: vec![BotReply {
                text: texts::escalated(st.lang),
                intent: Some("human_agent".into()),
                decision: Some(ReplyDecision::Escalate),
                ..Default::default()
            }],
            escalate: Some(reason.to_string()),
        }
    }

    async fn continue_pending(
        &self,
        st: &mut DialogueState,
        conversation_id: &str,
        pending: Pending,
        text: &str,
    ) -> Result<Option<Outcome>, StoreError> {
        let lang = st.lang;
        match pending {
            Pending::ConfirmReturn { order_no } => match returns::yes_or_no(text) {
                Some(true) => Ok(Some(returns::create(self, st, &order_no, conversation_id).await?)),
                Some(false) => Ok(Some(Outcome::reply(BotReply::text(t(
                    lang,
                    "好的，退货申请没有提交。还有其他可以帮您的吗？",
                    "OK, I haven't opened the return. Anything else I can help with?",
                ))))),
                None => Ok(None),
            },
            Pending::PhoneDigits { order_no, purpose } => match orders::find_phone_digits(text) {
                Some(digits) => Ok(Some(
                    orders::verify_guest(self, st, &order_no, &digits, purpose, conversation_id).await?,
                )),
                None => Ok(None),
            },
            Pending::OrderNumber { purpose } => match orders::find_order_number(text) {
                Some(no) => Ok(Some(match purpose {
                    Purpose::Status => orders::status(self, st, no, Purpose::Status).await?,
                    Purpose::Return => returns::start(self, st, no, conversation_id).await?,
                })),
                None => Ok(None),
            },
        }
    }
}
