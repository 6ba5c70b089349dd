//! Multi-turn dialogue evaluation: scripted conversations (`knowledge/eval/dialogues.toml`) run
//! through the real [`Router`] in process, each on a fresh copy of the demo database at the
//! demo's "now", and every turn's reply checked against what it should be.
//!
//! ```toml
//! [[conversation]]
//! id = "zh-position-orders"
//! kind = "position"            # what the conversation measures (see KINDS)
//! shopper = "S1001"            # signed in; absent = guest
//! lang = "zh"                  # absent: the first turn's language
//! page = { product = "QM-WO-004" }   # the page chatted from (product and/or order)
//! turns = [
//!   { text = "在吗 我的快递到哪了", order_cards = 5 },
//!   { text = "第二个", card_order = "261123115788241675", says = "运输中" },
//!   { text = "问这件", tap = { product = "QM-WO-001" }, card_product = "QM-WO-001", kind = "tap" },
//! ]
//! ```
//!
//! A turn may also have `page` (the shopper moved to another page before it) and `kind` (it
//! measures another kind of reference than its conversation). Expectations, all optional but
//! at least one per turn: `card_order` / `card_product` (the first order / product card),
//! `order_cards` / `product_cards` (how many), `picks` (the first product card is the n-th
//! product card of the turn before: "第一个" after a list of suggestions, whatever they were),
//! `says` / `not_says` (substrings of the replies' text, one or a list), `asks_which_product` (the "which product?" question is pending after the turn),
//! `escalates`, `decision` (the first reply's: answer, suggest, no_match, out_of_scope, flow,
//! greeting, escalate).

use crate::store::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::diagnostic::{parse_toml, Diagnostic, Diagnostics, LineIndex};
use crate::dialogue::{
    BotReply, Card, DialogueState, Engines, Outcome, Page, Pending, ReplyDecision, Router,
};
use crate::intent::IntentModel;
use crate::knowledge::KnowledgeBase;
use crate::lang::{detect, Lang};
use crate::search::Thresholds;
use crate::store::{Backend, Store};
use crate::time::Clock;

/// The demo orders' dates are relative to this instant (`fixed_time` of the tests and demos).
pub const DEMO_NOW: &str = "2026-11-25T09:00:00+08:00";

/// The kinds of reference a conversation or turn measures.
pub const KINDS: [&str; 10] = [
    "position",      // 第一个 / the second one / 最新的那个 / the latest in the last list
    "tap",           // a tapped order or product card
    "owned",         // 我买的牛仔裤 / the coat I bought
    "this",          // 这件 / it / this one: the product in focus
    "follow_up",     // colour and size follow-ups keeping the product in focus
    "page",          // the page's product (or order)
    "which_product", // a product question with nothing in focus: ask which, then a pick
    "return_list",   // signed-in 我要退货: the list, a pick, confirm or cancel
    "no_leak",       // the context must not carry over to an unrelated message
    "guest",         // guests: order number, then the phone's last 4 digits
];

/// The default data file under the knowledge folder.
pub fn default_data(knowledge: &Path) -> PathBuf {
    knowledge.join("eval").join("dialogues.toml")
}

/// A product and/or order: the page chatted from, or a tapped card.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    #[serde(default)]
    pub product: Option<String>,
    #[serde(default)]
    pub order: Option<String>,
}

/// One substring or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Texts {
    One(String),
    Many(Vec<String>),
}

impl From<Texts> for Vec<String> {
    fn from(t: Texts) -> Vec<String> {
        match t {
            Texts::One(s) => vec![s],
            Texts::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    id: String,
    kind: String,
    #[serde(default)]
    shopper: Option<String>,
    #[serde(default)]
    lang: Option<Lang>,
    #[serde(default)]
    page: Option<Target>,
    /// Free text for the reader (why the conversation is there).
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTurn {
    text: String,
    #[serde(default)]
    tap: Option<Target>,
    #[serde(default)]
    page: Option<Target>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    card_order: Option<String>,
    #[serde(default)]
    card_product: Option<String>,
    #[serde(default)]
    order_cards: Option<usize>,
    #[serde(default)]
    product_cards: Option<usize>,
    #[serde(default)]
    picks: Option<usize>,
    #[serde(default)]
    says: Option<Texts>,
    #[serde(default)]
    not_says: Option<Texts>,
    #[serde(default)]
    asks_which_product: Option<bool>,
    #[serde(default)]
    escalates: Option<bool>,
    #[serde(default)]
    decision: Option<ReplyDecision>,
}

/// What one turn's reply must show.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Expect {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_order: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_product: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_cards: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_cards: Option<usize>,
    /// 1-based: the first product card is this one of the previous turn's product cards.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picks: Option<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub says: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_says: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asks_which_product: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalates: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<ReplyDecision>,
}

impl Expect {
    fn is_empty(&self) -> bool {
        self.card_order.is_none()
            && self.card_product.is_none()
            && self.order_cards.is_none()
            && self.product_cards.is_none()
            && self.picks.is_none()
            && self.says.is_empty()
            && self.not_says.is_empty()
            && self.asks_which_product.is_none()
            && self.escalates.is_none()
            && self.decision.is_none()
    }
}

#[derive(Debug, Clone)]
pub struct ScriptTurn {
    pub text: String,
    pub tap: Option<Target>,
    pub page: Option<Target>,
    /// This turn's kind (the conversation's unless the turn names another).
    pub kind: String,
    pub expect: Expect,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct Script {
    pub id: String,
    pub kind: String,
    pub shopper: Option<String>,
    pub lang: Lang,
    pub page: Option<Target>,
    pub turns: Vec<ScriptTurn>,
    pub line: usize,
}

/// The first pass: where each conversation and turn starts (the values come from the second).
#[derive(Deserialize)]
struct SpansFile {
    #[serde(default)]
    conversation: Vec<Spanned<SpansConversation>>,
}

#[derive(Deserialize)]
struct SpansConversation {
    #[serde(default)]
    turns: Vec<Spanned<toml::Table>>,
}

/// Reads the conversations, checking every shopper, sku, order number and kind against the
/// knowledge base. Every problem is reported with its line, conversation and turn.
pub fn load(path: &Path, kb: &KnowledgeBase) -> Result<Vec<Script>, Diagnostics> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Diagnostics(vec![Diagnostic::new(path, None, format!("cannot read: {e}"))]))?;
    let lines = LineIndex::new(&text);
    let spans: SpansFile = parse_toml(path, &text, &lines).map_err(|d| Diagnostics(vec![d]))?;
    let mut doc: toml::Table = parse_toml(path, &text, &lines).map_err(|d| Diagnostics(vec![d]))?;
    let mut diags = Diagnostics::default();
    if let Some(k) = doc.keys().find(|k| *k != "conversation") {
        diags.push(Diagnostic::new(
            path,
            None,
            format!("unknown top-level key {k:?} (expected [[conversation]])"),
        ));
    }
    let raw = match doc.remove("conversation") {
        Some(toml::Value::Array(a)) => a,
        Some(_) => {
            diags.push(Diagnostic::new(
                path,
                None,
                "`conversation` must be an array of tables ([[conversation]])",
            ));
            return Err(diags);
        }
        None => Vec::new(),
    };
    let mut out = Vec::new();
    let mut ids = BTreeSet::new();
    for (i, (value, span)) in raw.into_iter().zip(&spans.conversation).enumerate() {
        let line = lines.line(span.span().start);
        let mut table = match value {
            toml::Value::Table(t) => t,
            _ => {
                diags.push(Diagnostic::new(
                    path,
                    Some(line),
                    format!("conversation #{}: not a table", i + 1),
                ));
                continue;
            }
        };
        let name = match table.get("id").and_then(|v| v.as_str()) {
            Some(id) => format!("conversation {id:?}"),
            None => format!("conversation #{}", i + 1),
        };
        let mut bad = |line: usize, turn: Option<usize>, msg: String| {
            let turn = turn.map(|t| format!(", turn {t}")).unwrap_or_default();
            diags.push(Diagnostic::new(path, Some(line), format!("{name}{turn}: {msg}")));
        };
        let raw_turns = match table.remove("turns") {
            Some(toml::Value::Array(a)) => a,
            Some(_) => {
                bad(line, None, "`turns` must be an array of tables".into());
                continue;
            }
            None => {
                bad(line, None, "no `turns`".into());
                continue;
            }
        };
        let header: RawHeader = match toml::Value::Table(table).try_into() {
            Ok(h) => h,
            Err(e) => {
                bad(line, None, e.message().trim().to_string());
                continue;
            }
        };
        if !ids.insert(header.id.clone()) {
            bad(line, None, "the id is used twice".into());
        }
        if !KINDS.contains(&header.kind.as_str()) {
            bad(line, None, format!("unknown kind {:?} (one of {})", header.kind, KINDS.join(", ")));
        }
        if let Some(s) = &header.shopper {
            if !kb.shoppers.iter().any(|x| &x.id == s) {
                bad(line, None, format!("unknown shopper {s:?}"));
            }
        }
        if let Some(p) = &header.page {
            for problem in target_problems(kb, p) {
                bad(line, None, format!("page: {problem}"));
            }
        }
        if raw_turns.is_empty() {
            bad(line, None, "no turns".into());
        }
        let turn_spans = &span.get_ref().turns;
        let mut turns = Vec::new();
        for (j, value) in raw_turns.into_iter().enumerate() {
            let tline = turn_spans.get(j).map_or(line, |s| lines.line(s.span().start));
            let t: RawTurn = match value.try_into() {
                Ok(t) => t,
                Err(e) => {
                    bad(tline, Some(j + 1), e.message().trim().to_string());
                    continue;
                }
            };
            let mut problems = Vec::new();
            if t.text.trim().is_empty() {
                problems.push("empty text".to_string());
            }
            for (what, target) in [("tap", &t.tap), ("page", &t.page)] {
                if let Some(target) = target {
                    problems.extend(target_problems(kb, target).into_iter().map(|p| format!("{what}: {p}")));
                }
            }
            if let Some(k) = t.kind.as_deref().filter(|k| !KINDS.contains(k)) {
                problems.push(format!("unknown kind {k:?}"));
            }
            let check = Target { product: t.card_product.clone(), order: t.card_order.clone() };
            problems.extend(target_problems(kb, &check).into_iter().map(|p| format!("expected card: {p}")));
            let expect = Expect {
                card_order: t.card_order,
                card_product: t.card_product,
                order_cards: t.order_cards,
                product_cards: t.product_cards,
                picks: t.picks,
                says: t.says.map(Vec::from).unwrap_or_default(),
                not_says: t.not_says.map(Vec::from).unwrap_or_default(),
                asks_which_product: t.asks_which_product,
                escalates: t.escalates,
                decision: t.decision,
            };
            if expect.is_empty() {
                problems.push("nothing to check (give the turn at least one expectation)".into());
            }
            if expect.picks == Some(0) {
                problems.push("`picks` counts from 1".into());
            }
            if expect.picks.is_some() && j == 0 {
                problems.push("`picks` needs a turn before it".into());
            }
            if expect.says.iter().chain(&expect.not_says).any(|s| s.is_empty()) {
                problems.push("an empty `says` / `not_says` substring".into());
            }
            if !problems.is_empty() {
                for p in problems {
                    bad(tline, Some(j + 1), p);
                }
                continue;
            }
            turns.push(ScriptTurn {
                text: t.text,
                tap: t.tap,
                page: t.page,
                kind: t.kind.unwrap_or_else(|| header.kind.clone()),
                expect,
                line: tline,
            });
        }
        let lang = header.lang.or_else(|| turns.first().map(|t| detect(&t.text))).unwrap_or(Lang::Zh);
        out.push(Script {
            id: header.id,
            kind: header.kind,
            shopper: header.shopper,
            lang,
            page: header.page,
            turns,
            line,
        });
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}

fn target_problems(kb: &KnowledgeBase, t: &Target) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(sku) = &t.product {
        if !kb.products.iter().any(|p| &p.sku == sku) {
            out.push(format!("unknown product {sku:?}"));
        }
    }
    if let Some(no) = &t.order {
        if !kb.orders.iter().any(|o| &o.order_no == no) {
            out.push(format!("unknown order {no:?}"));
        }
    }
    out
}

/// The engines the service would use, from the knowledge folder and an intent model folder.
pub fn engines(kb: &KnowledgeBase, model: &Path) -> anyhow::Result<Arc<Engines>> {
    let thresholds = Thresholds::load(&kb.root)?;
    let intents = Arc::new(IntentModel::load(model)?);
    Ok(Arc::new(Engines::build(&kb.faqs, thresholds, kb.products.clone(), intents)?))
}

/// What the bot did in one turn, as far as the expectations look.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Actual {
    pub text: String,
    pub decision: Option<ReplyDecision>,
    /// The first reply's intent (the classifier's, or the flow's that answered) and the
    /// classifier's confidence when it is the classifier's.
    pub intent: Option<String>,
    pub confidence: Option<f32>,
    pub order_cards: Vec<String>,
    pub product_cards: Vec<String>,
    pub suggestions: Vec<String>,
    pub asks_which_product: bool,
    pub escalates: bool,
}

impl Actual {
    fn of(outcome: &Outcome, st: &DialogueState) -> Actual {
        let cards = || outcome.replies.iter().flat_map(|r: &BotReply| r.cards.iter());
        Actual {
            text: outcome.replies.iter().map(|r| r.text.as_str()).collect::<Vec<_>>().join("\n"),
            decision: outcome.replies.first().and_then(|r| r.decision),
            intent: outcome.replies.first().and_then(|r| r.intent.clone()),
            confidence: outcome.replies.first().and_then(|r| r.confidence),
            order_cards: cards()
                .filter_map(|c| match c {
                    Card::Order { order_no, .. } => Some(order_no.clone()),
                    _ => None,
                })
                .collect(),
            product_cards: cards()
                .filter_map(|c| match c {
                    Card::Product { sku, .. } => Some(sku.clone()),
                    _ => None,
                })
                .collect(),
            suggestions: outcome.replies.iter().flat_map(|r| r.suggestions.iter().cloned()).collect(),
            asks_which_product: matches!(st.pending, Some(Pending::Product { .. })),
            escalates: outcome.escalate.is_some(),
        }
    }
}

/// The expectations a reply misses, each in a few words. `before` is the previous turn's reply.
pub fn check(e: &Expect, a: &Actual, before: Option<&Actual>) -> Vec<String> {
    let mut missed = Vec::new();
    let first = |v: &[String]| v.first().cloned().unwrap_or_else(|| "none".into());
    if let Some(no) = &e.card_order {
        if a.order_cards.first() != Some(no) {
            missed.push(format!("card_order {no} (got {})", first(&a.order_cards)));
        }
    }
    if let Some(sku) = &e.card_product {
        if a.product_cards.first() != Some(sku) {
            missed.push(format!("card_product {sku} (got {})", first(&a.product_cards)));
        }
    }
    if let Some(n) = e.order_cards {
        if a.order_cards.len() != n {
            missed.push(format!("order_cards {n} (got {})", a.order_cards.len()));
        }
    }
    if let Some(n) = e.product_cards {
        if a.product_cards.len() != n {
            missed.push(format!("product_cards {n} (got {})", a.product_cards.len()));
        }
    }
    if let Some(n) = e.picks {
        let shown = before.map_or(&[][..], |b| &b.product_cards[..]);
        match shown.get(n - 1) {
            Some(sku) if a.product_cards.first() == Some(sku) => {}
            Some(sku) => missed.push(format!("picks {n}: {sku} (got {})", first(&a.product_cards))),
            None => missed.push(format!(
                "picks {n} (the turn before showed {} product card(s); got {})",
                shown.len(),
                first(&a.product_cards)
            )),
        }
    }
    for s in &e.says {
        if !a.text.contains(s.as_str()) {
            missed.push(format!("says {s:?}"));
        }
    }
    for s in &e.not_says {
        if a.text.contains(s.as_str()) {
            missed.push(format!("not_says {s:?}"));
        }
    }
    if let Some(w) = e.asks_which_product {
        if a.asks_which_product != w {
            missed.push(format!("asks_which_product = {w}"));
        }
    }
    if let Some(w) = e.escalates {
        if a.escalates != w {
            missed.push(format!("escalates = {w}"));
        }
    }
    if let Some(d) = e.decision {
        if a.decision != Some(d) {
            let got = a.decision.map_or("none".to_string(), |d| format!("{d:?}"));
            missed.push(format!("decision {d:?} (got {got})"));
        }
    }
    missed
}

/// One turn as it went.
#[derive(Debug, Clone, Serialize)]
pub struct TurnResult {
    pub conversation: String,
    /// 1-based.
    pub turn: usize,
    pub line: usize,
    pub lang: Lang,
    pub kind: String,
    pub text: String,
    /// The expectations missed (empty: passed).
    pub missed: Vec<String>,
    pub actual: Actual,
}

impl TurnResult {
    pub fn passed(&self) -> bool {
        self.missed.is_empty()
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Score {
    pub turns_passed: usize,
    pub turns: usize,
    pub conversations_passed: usize,
    pub conversations: usize,
}

impl Score {
    pub fn turn_rate(&self) -> f64 {
        ratio(self.turns_passed, self.turns)
    }

    pub fn conversation_rate(&self) -> f64 {
        ratio(self.conversations_passed, self.conversations)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DialogueReport {
    pub overall: Score,
    pub turn_rate: f64,
    pub conversation_rate: f64,
    pub per_lang: BTreeMap<Lang, Score>,
    /// Turns by their kind; conversations by the conversation's kind.
    pub per_kind: BTreeMap<String, Score>,
    /// The turns that missed an expectation.
    pub failures: Vec<TurnResult>,
    /// Every turn, in order (for a transcript).
    #[serde(skip)]
    pub turns: Vec<TurnResult>,
}

/// Runs every conversation through a [`Router`] built on `engines`, each on a fresh database
/// seeded with the demo shoppers and orders (a return opened in one conversation is not seen by
/// the next), at the instant `now`.
pub async fn evaluate(
    kb: &KnowledgeBase,
    engines: Arc<Engines>,
    conversations: &[Script],
    now: DateTime<FixedOffset>,
) -> anyhow::Result<DialogueReport> {
    let scratch = Scratch::new()?;
    let mut turns = Vec::new();
    let mut conv_passed: Vec<(Lang, String, bool)> = Vec::new();
    for (i, c) in conversations.iter().enumerate() {
        let store = Backend::from(Store::open(&scratch.0.join(format!("c{i}.db")))?);
        store.seed(kb.shoppers.clone(), kb.orders.clone()).await?;
        let orders = Arc::new(crate::orders::Embedded::new(store.clone()));
        let router = Router::new(engines.clone(), orders, Arc::new(store.clone()), Clock::Fixed(now));
        let conv = store.open_conversation(c.shopper.clone(), c.lang).await?;
        let mut st = DialogueState::new(c.lang, c.shopper.clone());
        if let Some(p) = &c.page {
            let page = router.checked_page(p.product.clone(), p.order.clone(), None);
            router.set_page(&mut st, page);
        }
        let mut all = true;
        let mut before: Option<Actual> = None;
        for (j, t) in c.turns.iter().enumerate() {
            if let Some(p) = &t.page {
                let page = router.checked_page(p.product.clone(), p.order.clone(), None);
                router.set_page(&mut st, page);
            }
            let tapped: Option<Page> =
                t.tap.as_ref().map(|p| router.checked_page(p.product.clone(), p.order.clone(), None));
            let outcome = router.handle(&mut st, &conv.id, &t.text, tapped.as_ref()).await?;
            let actual = Actual::of(&outcome, &st);
            let missed = check(&t.expect, &actual, before.as_ref());
            before = Some(actual.clone());
            all &= missed.is_empty();
            turns.push(TurnResult {
                conversation: c.id.clone(),
                turn: j + 1,
                line: t.line,
                lang: c.lang,
                kind: t.kind.clone(),
                text: t.text.clone(),
                missed,
                actual,
            });
        }
        conv_passed.push((c.lang, c.kind.clone(), all));
    }
    let mut overall = Score::default();
    let mut per_lang: BTreeMap<Lang, Score> = BTreeMap::new();
    let mut per_kind: BTreeMap<String, Score> = BTreeMap::new();
    for t in &turns {
        let ok = t.passed() as usize;
        for s in
            [&mut overall, per_lang.entry(t.lang).or_default(), per_kind.entry(t.kind.clone()).or_default()]
        {
            s.turns += 1;
            s.turns_passed += ok;
        }
    }
    for (lang, kind, ok) in conv_passed {
        for s in [&mut overall, per_lang.entry(lang).or_default(), per_kind.entry(kind).or_default()] {
            s.conversations += 1;
            s.conversations_passed += ok as usize;
        }
    }
    Ok(DialogueReport {
        overall,
        turn_rate: overall.turn_rate(),
        conversation_rate: overall.conversation_rate(),
        per_lang,
        per_kind,
        failures: turns.iter().filter(|t| !t.passed()).cloned().collect(),
        turns,
    })
}

/// A folder for the evaluation's databases, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Scratch> {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("kefu-eval-dialogue-{}-{nanos}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn describe(a: &Actual) -> String {
    let mut s = format!("decision {}", a.decision.map_or("none".into(), |d| format!("{d:?}")));
    if let Some(i) = &a.intent {
        s += &format!(" (intent {i}{})", a.confidence.map_or(String::new(), |c| format!(" {c:.2}")));
    }
    if !a.order_cards.is_empty() {
        s += &format!(", order cards [{}]", a.order_cards.join(", "));
    }
    if !a.product_cards.is_empty() {
        s += &format!(", product cards [{}]", a.product_cards.join(", "));
    }
    if a.asks_which_product {
        s += ", asks which product";
    }
    if a.escalates {
        s += ", escalates";
    }
    s
}

impl DialogueReport {
    /// The numbers, then every failing turn (or, with `transcript`, every turn).
    pub fn render(&self, transcript: bool) -> String {
        let mut s = String::new();
        let line = |name: &str, sc: &Score| {
            format!(
                "  {name:<14} turns {:>3}/{:<3} {:>5.1}%   conversations {:>2}/{:<2} {:>5.1}%\n",
                sc.turns_passed,
                sc.turns,
                100.0 * sc.turn_rate(),
                sc.conversations_passed,
                sc.conversations,
                100.0 * sc.conversation_rate()
            )
        };
        s += "dialogue evaluation\n";
        s += &line("overall", &self.overall);
        s += "by language\n";
        for (lang, sc) in &self.per_lang {
            s += &line(lang.code(), sc);
        }
        s += "by kind (turns by the turn's kind, conversations by the conversation's)\n";
        for (kind, sc) in &self.per_kind {
            s += &line(kind, sc);
        }
        let shown: Vec<&TurnResult> =
            if transcript { self.turns.iter().collect() } else { self.failures.iter().collect() };
        if !shown.is_empty() {
            s += if transcript { "\nturns\n" } else { "\nfailures\n" };
        }
        for t in shown {
            let mark = if t.passed() { "ok  " } else { "FAIL" };
            s += &format!(
                "{mark} {} turn {} [{}, line {}]: {:?}\n",
                t.conversation, t.turn, t.kind, t.line, t.text
            );
            for m in &t.missed {
                s += &format!("       expected {m}\n");
            }
            s += &format!("       got {}\n", describe(&t.actual));
            for l in t.actual.text.lines() {
                s += &format!("       | {l}\n");
            }
        }
        s
    }
}

/// Parses [`DEMO_NOW`].
pub fn demo_now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(DEMO_NOW).expect("DEMO_NOW is RFC 3339")
}
