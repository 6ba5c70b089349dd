//! The router: one decision per shopper message, from the pending question, the references
//! ("第一个", "这件"), the intent classifier and the FAQ search; the flows do the rest.

use std::sync::Arc;

use super::engines::Engines;
use super::reply::{faq_answer, faq_reply, BotReply, FaqLookup, Outcome};
use super::state::{DialogueState, Listed, Pending, Picked, Purpose};
use super::texts::{self, t};
use super::turn::Turn;
use super::{orders, products, reference, returns};
use crate::lang::{detect, Lang};
use crate::orders::{OrderError, OrderSource, PhoneGuesses};
use crate::records::{Page, ReplyDecision};
use crate::search::Decision;
use crate::store::StoreError;
use crate::time::Clock;

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

/// Least classifier confidence at which a "complaint" or "human_agent" intent hands the
/// conversation over (explicit words such as 转人工 always do, see [`asks_for_human`]).
pub const ESCALATE_CONFIDENCE: f32 = 0.5;

/// Intent confidence above which a matching FAQ entry is trusted one step more.
pub const AGREEMENT_CONFIDENCE: f32 = 0.8;

/// Fuses the two engines: when the classifier is confident and the best FAQ entry is linked to
/// the same intent, the entry is given as the answer. Short questions ("how much is shipping")
/// score low in BM25 but are unambiguous to both engines. From "no match" only when no other
/// close entry has that intent too: agreeing on "account" is no agreement on which account
/// question ("咋个弄账号嘛" is not "how do I delete my account").
fn agree(r: &mut crate::search::FaqResult, engines: &Engines, intent: &str, confidence: f32) {
    let linked = |id: &str| engines.faq.faq(id).and_then(|f| f.intent.as_deref()) == Some(intent);
    let best = r.best().is_some_and(|h| linked(&h.id));
    let rival = r.hits.iter().skip(1).any(|h| linked(&h.id));
    if best && confidence >= AGREEMENT_CONFIDENCE && (r.decision == Decision::Suggest || !rival) {
        r.decision = Decision::Answer;
    }
}

/// Routes shopper messages.
#[derive(Clone)]
pub struct Router {
    /// The engines in force: swapped whole when a trainer changes the knowledge base or
    /// activates a model; a turn in progress keeps the engines it started with.
    pub engines: Arc<arc_swap::ArcSwap<Engines>>,
    /// Where orders and returns come from (kefu's demo data, or a store's own system).
    pub orders: Arc<dyn OrderSource>,
    /// Guests' phone-digit guesses and their lockout (kefu's own state).
    pub guesses: Arc<dyn PhoneGuesses>,
    pub clock: Clock,
}

impl Router {
    pub fn new(
        engines: Arc<Engines>,
        orders: Arc<dyn OrderSource>,
        guesses: Arc<dyn PhoneGuesses>,
        clock: Clock,
    ) -> Router {
        let engines = Arc::new(arc_swap::ArcSwap::new(engines));
        Router { engines, orders, guesses, clock }
    }

    /// The engines in force now.
    pub fn engines(&self) -> Arc<Engines> {
        self.engines.load_full()
    }

    /// What a turn starting now works with.
    pub fn turn(&self) -> Turn {
        Turn {
            engines: self.engines(),
            orders: self.orders.clone(),
            guesses: self.guesses.clone(),
            clock: self.clock,
        }
    }

    /// Puts new engines made from the current ones in force (read-copy-update: a concurrent
    /// change to another part is never lost); conversations pick them up from their next message.
    pub fn update_engines(&self, f: impl Fn(&Engines) -> Engines) {
        self.engines.rcu(|current| Arc::new(f(current)));
    }
}

/// The intent a message's own words name without doubt: returning something, or where an
/// order is.
fn flow_words(text: &str) -> Option<&'static str> {
    let t = crate::lang::normalize(text);
    if reference::mentions_return(text) {
        return Some("return_refund");
    }
    [
        "到哪了",
        "到哪里了",
        "物流",
        "快递",
        "发货了吗",
        "签收了",
        "什么时候发货",
        "查订单",
        "where is",
        "where's",
        "track my",
        "tracking",
        "has my order",
        "my package",
        "my parcel",
    ]
    .iter()
    .any(|w| t.contains(w))
    .then_some("order_status")
}

/// A flow's replies are that flow's intent, whatever the classifier made of a bare "第一个".
fn flow_of(mut outcome: Outcome, intent: &str) -> Outcome {
    for r in &mut outcome.replies {
        r.intent.get_or_insert_with(|| intent.to_string());
    }
    outcome
}

/// The message says too little to change the conversation's language: a size ("XL"), a yes or
/// no ("ok"), a number.
fn says_too_little(text: &str) -> bool {
    let t = crate::lang::normalize(text);
    let t = t.trim_matches(|c: char| !c.is_alphanumeric());
    !t.contains(' ') && (products::size_asked(t).is_some() || returns::yes_or_no(t).is_some() || t.len() <= 3)
}

const ORDER_INTENTS: [&str; 2] = ["order_status", "return_refund"];

/// A card the shopper tapped: the order or product it showed.
#[derive(Debug, Clone, Default)]
struct Tapped {
    pub order: Option<String>,
    pub product: Option<String>,
}

/// Keeps only the scheme, host and path of a page address: query strings and fragments can
/// hold e-mail addresses, tokens or tracking ids, which kefu has no use for.
fn page_address(url: &str) -> Option<String> {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let base = &url[..end];
    (!base.is_empty() && base.chars().count() <= MAX_URL_CHARS).then(|| base.to_string())
}

impl Router {
    /// Checks a page context from the widget: an unknown product or a malformed order number is
    /// dropped (logged; never an error: a store's page may name things kefu doesn't know), the
    /// address loses its query string.
    pub fn checked_page(&self, product: Option<String>, order: Option<String>, url: Option<String>) -> Page {
        let engines = self.engines();
        let product = product.filter(|sku| {
            let known = engines.product(sku).is_some();
            if !known {
                tracing::warn!(sku = %sku.chars().take(64).collect::<String>(), "page context names an unknown product; ignored");
            }
            known
        });
        let order = order.filter(|no| {
            let ok = crate::knowledge::demo::is_order_no(no);
            if !ok {
                tracing::warn!("page context has a malformed order number; ignored");
            }
            ok
        });
        Page { product, order, url: url.as_deref().and_then(page_address) }
    }

    /// The shopper is on another page now: its product becomes "this one".
    pub fn set_page(&self, st: &mut DialogueState, page: Page) {
        if page.product.is_some() && page.product != st.page.product {
            st.focus.product = None;
        }
        if page.order.is_some() && page.order != st.page.order {
            st.focus.order = None;
        }
        st.page = page;
    }

    /// Decides the bot's answer to one message of a conversation. `tapped` is what a tapped
    /// card identified (its order or product, checked by [`Router::checked_page`]), when the
    /// message came from a card.
    ///
    /// When the order source cannot answer, the shopper is told so and offered a person (never
    /// a guess), and the dialogue state is left as it was before the message, so a question
    /// pending then (a confirmation, the phone digits) can be answered again once the source is
    /// back. Only kefu's own database failing is an error.
    pub async fn handle(
        &self,
        st: &mut DialogueState,
        conversation_id: &str,
        text: &str,
        tapped: Option<&Page>,
    ) -> Result<Outcome, StoreError> {
        let before = st.clone();
        match self.route(st, conversation_id, text, tapped).await {
            Ok(outcome) => Ok(outcome),
            Err(OrderError::Store(e)) => Err(e),
            Err(e) => {
                // a source that answers nonsense is a broken contract; one that does not answer is
                // an outage: either way the shopper is told, never given a guess
                match e {
                    OrderError::Invalid(_) => {
                        tracing::error!(source = self.orders.name(), error = %e, "orders could not be checked")
                    }
                    _ => {
                        tracing::warn!(source = self.orders.name(), error = %e, "orders could not be checked")
                    }
                }
                Ok(orders_unavailable(st, before))
            }
        }
    }

    async fn route(
        &self,
        st: &mut DialogueState,
        conversation_id: &str,
        text: &str,
        tapped: Option<&Page>,
    ) -> Result<Outcome, OrderError> {
        st.turn = st.turn.saturating_add(1);
        let lang = detect(text);
        let letters = text.chars().filter(|c| c.is_ascii_alphabetic()).count();
        if lang == Lang::Zh || (letters >= 2 && !says_too_little(text)) {
            st.lang = lang;
        }
        if asks_for_human(text) {
            DialogueState::note(&mut st.seen.intents_seen, &"human_agent".to_string());
            return Ok(self.escalate(st, "requested"));
        }
        // one set of engines for the whole turn, even if a trainer swaps in new ones meanwhile
        let cx = self.turn();
        let engines = cx.engines.clone();
        let tapped = Tapped {
            order: tapped.and_then(|p| p.order.clone()),
            product: tapped.and_then(|p| p.product.clone()).filter(|sku| engines.product(sku).is_some()),
        };
        if let Some(pending) = st.pending.take() {
            let flow = match &pending {
                Pending::OrderNumber { purpose } | Pending::PhoneDigits { purpose, .. } => match purpose {
                    Purpose::Status => "order_status",
                    Purpose::Return => "return_refund",
                },
                Pending::ConfirmReturn { .. } => "return_refund",
                Pending::Product { .. } => "product_question",
            };
            let answered =
                self.continue_pending(st, &cx, conversation_id, pending, text, tapped.order.clone()).await?;
            if let Some(outcome) = answered {
                st.unresolved = 0;
                let mut outcome = flow_of(outcome, flow);
                for r in &mut outcome.replies {
                    r.decision.get_or_insert(ReplyDecision::Flow);
                }
                return Ok(outcome);
            }
        }
        let prediction = engines.intents.predict(text, 3).ok();
        let mut intent =
            prediction.as_ref().map(|p| p.intent.clone()).unwrap_or_else(|| "out_of_scope".into());
        if intent == crate::intent::labels::OUT_OF_SCOPE {
            // the flows' own words are never out of scope, whatever the classifier says
            if let Some(i) = flow_words(text) {
                intent = i.to_string();
            }
        }
        let confidence = prediction.as_ref().map(|p| p.confidence);
        DialogueState::note(&mut st.seen.intents_seen, &intent);
        // searched only if the decision asks for it
        let faq = FaqLookup::new(
            &engines,
            text,
            prediction.as_ref().map(|p| (p.intent.as_str(), p.confidence)),
            agree,
        );
        let reading = Reading { text, intent: &intent, confidence, faq: &faq, tapped };
        let mut outcome = self.decide(st, &cx, reading).await?;
        for r in &mut outcome.replies {
            // the classifier's confidence goes only with the classifier's intent
            if r.intent.is_none() && r.confidence.is_none() {
                r.confidence = confidence;
            }
            r.intent.get_or_insert(intent.clone());
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

    /// The order a message points at, if any: a number in it, a tapped card, a place in the
    /// order list just shown, one of the shopper's orders by what was bought in it
    /// ("我买的牛仔裤" with an order question), "this order" (the one in focus), or the order page
    /// the shopper is on.
    async fn order_reference(
        &self,
        st: &mut DialogueState,
        engines: &Engines,
        text: &str,
        order_intent: bool,
        tapped: Option<String>,
    ) -> Result<Option<String>, OrderError> {
        if let Some(no) = orders::find_order_number(text).or(tapped) {
            return Ok(Some(no));
        }
        if let Some(Picked::Order(no)) = st.pick(text) {
            return Ok(Some(no));
        }
        // "the tee I bought?" right after talking about an order is about orders too
        if (order_intent || st.focus.order.is_some()) && reference::owned(text) {
            if let Some(no) = self.owned_order(st, engines, text).await? {
                return Ok(Some(no));
            }
        }
        let this = reference::demonstrative(text);
        if this && reference::about_order(text) {
            if let Some(no) = st.focus.order.clone() {
                return Ok(Some(no));
            }
        }
        // "能退吗" right after an order was shown asks about that order ("我要退货" asks for the list)
        let question = ["吗", "?", "？", "能不能", "可不可以"].iter().any(|q| text.contains(q));
        if order_intent
            && question
            && reference::mentions_return(text)
            && !this
            && reference::short(text)
            && products::named(engines, text).is_none()
        {
            if let Some(no) = st.focus.order.clone() {
                return Ok(Some(no));
            }
        }
        Ok(st.page.order.clone().filter(|_| order_intent))
    }

    /// One of the shopper's own orders named by the kind of product bought in it. The product
    /// search comes first, so the store is asked only when the text names a kind.
    async fn owned_order(
        &self,
        st: &DialogueState,
        engines: &Engines,
        text: &str,
    ) -> Result<Option<String>, OrderError> {
        let skus = orders::kinds_named(engines, text);
        if skus.is_empty() {
            return Ok(None);
        }
        let mine = match &st.shopper_id {
            Some(id) => {
                self.orders.recent_orders(id, OWNED_ORDERS).await?.into_iter().map(|o| o.order).collect()
            }
            None => self.orders.orders(&st.verified_orders.iter().cloned().collect::<Vec<_>>()).await?,
        };
        Ok(orders::owned_order(&mine, &skus))
    }

    async fn decide(
        &self,
        st: &mut DialogueState,
        cx: &Turn,
        reading: Reading<'_>,
    ) -> Result<Outcome, OrderError> {
        let engines: &Engines = &cx.engines;
        let Reading { text, intent, confidence, faq, tapped } = reading;
        let lang = st.lang;
        let order_intent = ORDER_INTENTS.contains(&intent);
        // "where is …? I need it before I return home" asks where it is
        let returning = reference::mentions_return(text)
            || (intent == "return_refund" && flow_words(text) != Some("order_status"));
        // a tapped product card, or an item picked from the list just shown, comes first: the
        // shopper said exactly what they mean
        if tapped.order.is_none() {
            let picked = match tapped.product.clone() {
                Some(sku) => Some(Picked::Product(sku)),
                None => st.pick(text),
            };
            match picked {
                Some(Picked::Faq(id)) => {
                    if let Some(f) = engines.faq.faq(&id).cloned() {
                        return Ok(Outcome::reply(faq_reply(st, &f)));
                    }
                }
                Some(Picked::Order(no)) => return self.order_flow(cx, st, no, returning).await,
                Some(Picked::Product(sku)) => {
                    if let Some(p) = engines.product(&sku) {
                        return Ok(flow_of(products::answer(st, p, text), "product_question"));
                    }
                }
                None => {}
            }
        }
        // a hand-over is never made on a guess: an unsure "complaint" or "human" goes on like any
        // other store question (which offers a person when it has no answer)
        let sure = confidence.is_some_and(|c| c >= ESCALATE_CONFIDENCE);
        if tapped.order.is_none() && sure {
            match intent {
                "human_agent" => return Ok(self.escalate(st, "requested")),
                "complaint" => {
                    st.seen.complaint = true;
                    return Ok(self.escalate(st, "complaint"));
                }
                _ => {}
            }
        }
        if let Some(no) = self.order_reference(st, engines, text, order_intent, tapped.order).await? {
            return self.order_flow(cx, st, no, returning).await;
        }
        if intent == "order_status" {
            return orders::ask_which(cx, st, Purpose::Status, Some(faq)).await;
        }
        let this = reference::demonstrative(text) && !reference::about_order(text);
        let in_focus = st.product_in_focus().map(str::to_string);
        if intent == "return_refund" || (returning && this) {
            // "这件能退吗" on a product page: that product's return terms
            if let (true, Some(sku)) = (this && !reference::owned(text), in_focus.as_deref()) {
                if let Some(p) = engines.product(sku) {
                    return Ok(self.product_returns(st, engines, p, faq.get()));
                }
            }
            return returns::ask_which(cx, st, faq, text).await;
        }
        let variant = products::about_variant(text);
        // the product search only where a named product can matter (see `product_talk`)
        let named =
            (intent == "product_question" || variant || intent == crate::intent::labels::OUT_OF_SCOPE)
                .then(|| products::named(engines, text))
                .flatten();
        // "this" makes a product question of a store question only: "can you sing it a song"
        // on a product page is not about the product
        // a message that names one of the store's products is about shopping here
        let product_talk = intent == "product_question"
            || (variant && (named.is_some() || in_focus.is_some()))
            || (named.is_some() && intent == crate::intent::labels::OUT_OF_SCOPE);
        if product_talk {
            // "this one" is the product in focus, unless the shopper names another kind of
            // product with it ("这件大衣" while looking at a tee)
            let focus = in_focus.filter(|_| this || variant);
            let target = match (named, focus) {
                (Some(n), Some(f)) if n != f => {
                    let names_kind = engines.product(&n).is_some_and(|p| products::names_kind(p, text));
                    Some(if names_kind { n } else { f })
                }
                (n, f) => n.or(f),
            };
            if let Some(p) = target.as_deref().and_then(|sku| engines.product(sku)) {
                // "身高165 穿什么码": the size advice and this product's sizes
                if let Some(fit) = products::asks_fit(text)
                    .then(|| products::fit_answer(engines, st, p, faq.get()))
                    .flatten()
                {
                    return Ok(flow_of(fit, "product_question"));
                }
                // "这件怎么洗": a policy question about the product in focus is the FAQ's, the
                // product stays in focus; colours, sizes, stock and price are the catalog's
                if !variant && !products::names_variant_of(p, text) {
                    if let Some(answer) = faq_answer(engines, st, faq.get()) {
                        st.focus_product(&p.sku);
                        return Ok(Outcome::reply(answer));
                    }
                }
                return Ok(flow_of(products::answer(st, p, text), "product_question"));
            }
            // a size or colour of "this", with no product anywhere: ask, never guess
            if this || products::size_asked(text).is_some() || products::names_color(text) {
                return Ok(products::ask_which(engines, st, text));
            }
            if let Some(answer) = faq_answer(engines, st, faq.get()) {
                return Ok(Outcome::reply(answer));
            }
            if variant {
                return Ok(products::ask_which(engines, st, text));
            }
            return Ok(self.faq_or_clarify(engines, st, faq.get(), intent));
        }
        // "那白色的呢" with no product anywhere: which product?
        if (products::size_asked(text).is_some() || products::names_color(text)) && reference::short(text) {
            return Ok(products::ask_which(engines, st, text));
        }
        Ok(match intent {
            "greeting" => Outcome::reply(BotReply::greeting(texts::greeting(lang))),
            "thanks_goodbye" => Outcome::reply(BotReply::greeting(texts::thanks(lang))),
            _ => self.faq_or_clarify(engines, st, faq.get(), intent),
        })
    }

    /// An order the shopper pointed at: its return, or its status.
    async fn order_flow(
        &self,
        cx: &Turn,
        st: &mut DialogueState,
        no: String,
        returning: bool,
    ) -> Result<Outcome, OrderError> {
        Ok(if returning {
            flow_of(returns::start(cx, st, no).await?, "return_refund")
        } else {
            flow_of(orders::status(cx, st, no, Purpose::Status).await?, "order_status")
        })
    }

    /// "Can I return this?" about the product in focus: its no-reason return terms, and the
    /// policy answer when the FAQ has one.
    fn product_returns(
        &self,
        st: &mut DialogueState,
        engines: &Engines,
        p: &crate::knowledge::Product,
        faq: Option<&crate::search::FaqResult>,
    ) -> Outcome {
        let lang = st.lang;
        st.unresolved = 0;
        DialogueState::note(&mut st.seen.flows, &"product".to_string());
        let text = if p.returnable {
            t(
                lang,
                &format!("{}支持七天无理由退货：签收后7天内，商品吊牌、包装完好即可申请。", p.name.zh),
                &format!("{} can be returned without a reason within 7 days of delivery, with its tags and packaging intact.", p.name.en),
            )
        } else {
            let why = p.non_returnable_reason.as_ref().map(|r| r.get(lang).to_string()).unwrap_or_default();
            t(
                lang,
                &format!("{}不支持七天无理由退货（{why}），质量问题除外。", p.name.zh),
                &format!(
                    "{} can't be returned without a reason ({why}); faulty items are always covered.",
                    p.name.en
                ),
            )
        };
        let mut replies = vec![BotReply { text, cards: vec![products::card(lang, p)], ..Default::default() }];
        replies.extend(faq_answer(engines, st, faq));
        Outcome { replies, escalate: None }
    }

    /// An FAQ answer when the search is confident; otherwise suggestions. A store question the
    /// bot cannot answer gets the closest FAQ questions and the offer of a person, never "I
    /// can't help"; only what is not about shopping here gets the out-of-scope reply.
    fn faq_or_clarify(
        &self,
        engines: &Engines,
        st: &mut DialogueState,
        faq: Option<&crate::search::FaqResult>,
        intent: &str,
    ) -> Outcome {
        let lang = st.lang;
        if let Some(answer) = faq_answer(engines, st, faq) {
            return Outcome::reply(answer);
        }
        st.unresolved += 1;
        let suggest = |ids: Vec<String>, st: &mut DialogueState, text: String, decision: ReplyDecision| {
            let faqs: Vec<&crate::knowledge::Faq> = ids.iter().filter_map(|id| engines.faq.faq(id)).collect();
            st.show(Listed::Faqs(faqs.iter().map(|f| f.id.clone()).collect()));
            Outcome::reply(BotReply {
                text,
                suggestions: faqs.iter().map(|f| f.content(lang).questions[0].clone()).collect(),
                decision: Some(decision),
                ..Default::default()
            })
        };
        let hits: Vec<String> =
            faq.map(|r| r.hits.iter().map(|h| h.id.clone()).collect()).unwrap_or_default();
        match faq {
            Some(r) if r.decision == Decision::Suggest => {
                suggest(hits, st, texts::not_sure(lang), ReplyDecision::Suggest)
            }
            _ if intent != crate::intent::labels::OUT_OF_SCOPE => {
                // a store question with nothing close: the entries of its intent, then the nearest
                let mut ids: Vec<String> = engines
                    .faq
                    .faqs()
                    .iter()
                    .filter(|f| f.intent.as_deref() == Some(intent))
                    .map(|f| f.id.clone())
                    .take(2)
                    .collect();
                for h in hits {
                    if ids.len() < 3 && !ids.contains(&h) {
                        ids.push(h);
                    }
                }
                suggest(ids, st, texts::clarify(lang), ReplyDecision::NoMatch)
            }
            _ => {
                st.show(Listed::Nothing);
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

    /// The answer to the question a flow asked, or `None` when the message is something else
    /// (then the question is dropped and the message routed as new).
    async fn continue_pending(
        &self,
        st: &mut DialogueState,
        cx: &Turn,
        conversation_id: &str,
        pending: Pending,
        text: &str,
        tapped_order: Option<String>,
    ) -> Result<Option<Outcome>, OrderError> {
        let lang = st.lang;
        let engines: &Engines = &cx.engines;
        match pending {
            Pending::ConfirmReturn { order_no } => match returns::yes_or_no(text) {
                Some(true) => Ok(Some(returns::create(cx, st, &order_no, conversation_id).await?)),
                Some(false) => Ok(Some(Outcome::reply(BotReply::text(t(
                    lang,
                    "好的，退货申请没有提交。还有其他可以帮您的吗？",
                    "OK, I haven't opened the return. Anything else I can help with?",
                ))))),
                None => Ok(None),
            },
            Pending::PhoneDigits { order_no, purpose } => match orders::find_phone_digits(text) {
                Some(digits) => match orders::verify_guest(cx, st, &order_no, &digits).await? {
                    Some(refused) => Ok(Some(refused)),
                    None if purpose == Purpose::Return => Ok(Some(returns::start(cx, st, order_no).await?)),
                    None => Ok(Some(orders::status(cx, st, order_no, purpose).await?)),
                },
                None => Ok(None),
            },
            Pending::OrderNumber { purpose } => {
                let returning = purpose == Purpose::Return || reference::mentions_return(text);
                match self.order_reference(st, engines, text, true, tapped_order).await? {
                    Some(no) => Ok(Some(self.order_flow(cx, st, no, returning).await?)),
                    None => Ok(None),
                }
            }
            Pending::Product { question } => {
                let picked = match st.pick(text) {
                    Some(Picked::Product(sku)) => Some(sku),
                    _ => products::named(engines, text),
                };
                match picked.as_deref().and_then(|sku| engines.product(sku)) {
                    // the question asked before, about the product picked now
                    Some(p) => Ok(Some(products::answer(st, p, &format!("{question} {text}")))),
                    None => Ok(None),
                }
            }
        }
    }
}

/// The reply when the order source could not answer: the state as it was before the message
/// (only the turn count and the language move on), and an honest "cannot check right now" with
/// the offer of a person.
fn orders_unavailable(st: &mut DialogueState, before: DialogueState) -> Outcome {
    let (turn, lang) = (st.turn, st.lang);
    *st = before;
    st.turn = turn;
    st.lang = lang;
    Outcome::reply(BotReply {
        decision: Some(ReplyDecision::Flow),
        ..BotReply::text(texts::orders_unavailable(lang))
    })
}

/// One message and what the engines made of it, for [`Router::decide`].
struct Reading<'a> {
    text: &'a str,
    intent: &'a str,
    confidence: Option<f32>,
    faq: &'a FaqLookup<'a>,
    tapped: Tapped,
}

/// Page URLs longer than this are dropped from the context.
const MAX_URL_CHARS: usize = 2048;
/// The shopper's orders searched for "我买的…".
const OWNED_ORDERS: usize = 20;
