//! The review queue's rules (pure: turns in, groups out). Which shopper messages the bot did
//! not resolve, and why; near-duplicates grouped by character-bigram similarity; groups a
//! trainer dismissed or resolved left out.
//!
//! Grouping is greedy and deterministic: distinct normalised texts, most frequent first (ties
//! by language, then text), each joins the group whose representative it is most similar to
//! (Dice over character bigrams ≥ [`SIMILARITY`]) or starts a new one as its representative.
//! Comparing with representatives only keeps chains (a ~ b ~ c, a ≁ c) from growing one group
//! without bound.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::lang::{detect, is_cjk, Lang};
use crate::store::review_rows::{ReviewAction, ReviewDecision, ReviewKey, ReviewTurn};

/// Two questions whose normalised texts share this much (Dice coefficient over character
/// bigrams) are the same question. Chosen on the pairs in this module's tests: the same
/// question reworded scores 0.57–1.0, different questions with the same frame ("这件衣服起球吗"
/// / "这件衣服掉色吗", "能开发票吗" / "能开专票吗") 0.5 at most.
pub const SIMILARITY: f64 = 0.55;

/// Most examples shown per group.
pub const EXAMPLES: usize = 5;

/// Why a shopper message is in the review queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The FAQ had nothing close enough.
    NoMatch,
    /// The bot was not sure and offered suggestions.
    Suggest,
    /// Outside what the bot handles.
    OutOfScope,
    /// It led to a hand-over to a person.
    Escalated,
    /// Its conversation was rated 1 or 2.
    LowRating,
}

/// A shopper message the bot did not resolve.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub text: String,
    /// [`normalize`]d text.
    pub norm: String,
    pub lang: Lang,
    pub conversation_id: String,
    /// The stored shopper message (to find it in the conversation's transcript).
    pub message_id: i64,
    pub at: String,
    pub reasons: Vec<Reason>,
    /// The FAQ entry the bot answered with, if it did.
    pub faq_id: Option<String>,
    /// The later message of the same conversation whose reply handed the shopper to a person
    /// ("转人工"), when that is not this message itself.
    pub escalated_by: Option<String>,
    /// What trainers decided about this message's group since (see [`mark`]); None: still open.
    pub decided: Option<ReviewAction>,
    grams: Vec<(char, char)>,
}

/// One phrasing of a group, where and when it was said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewExample {
    pub text: String,
    pub conversation_id: String,
    pub message_id: i64,
    pub at: String,
    /// The shopper's later message that asked for a person, when that is what escalated.
    pub escalated_by: Option<String>,
}

/// Near-identical unresolved questions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// Stable id: a hash of the representative's normalised text ([`key`]).
    pub key: String,
    pub representative: String,
    pub lang: Lang,
    pub count: usize,
    /// Up to [`EXAMPLES`] distinct texts, newest first.
    pub examples: Vec<ReviewExample>,
    /// Messages per reason (one message may have several).
    pub reasons: BTreeMap<Reason, usize>,
    pub last_seen: String,
    /// The FAQ entry the bot most often answered these with, if any.
    pub faq_id: Option<String>,
    /// Messages of the group trainers dismissed since (counted in analytics, which are
    /// history; never in the review queue, which shows open ones only).
    pub dismissed: usize,
    /// Messages of the group trainers resolved by a knowledge-base change since.
    pub resolved: usize,
}

/// English words that carry no topic: left out before comparing English questions, so that
/// "where is my order" and "where is the store" are not alike for their shared frame.
const EN_STOP_WORDS: &[&str] = &[
    "a", "am", "an", "are", "be", "can", "could", "did", "do", "does", "for", "has", "have", "how", "i",
    "in", "is", "it", "me", "my", "of", "on", "our", "please", "s", "that", "the", "there", "this", "to",
    "we", "what", "whats", "when", "where", "which", "who", "why", "will", "with", "would", "you", "your",
];

/// The text compared and hashed: NFKC, lower case, punctuation and symbols dropped, words
/// separated by one space (none next to a Chinese character); in text without Chinese, English
/// stop words dropped unless nothing else is left.
pub fn normalize(text: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in crate::lang::normalize(text).chars() {
        if !c.is_alphanumeric() {
            gap = true;
            continue;
        }
        if gap && !is_cjk(c) && out.chars().last().is_some_and(|p| !is_cjk(p)) {
            out.push(' ');
        }
        gap = false;
        out.push(c);
    }
    if out.chars().any(is_cjk) {
        return out;
    }
    let content: Vec<&str> = out.split(' ').filter(|w| !EN_STOP_WORDS.contains(w)).collect();
    if content.is_empty() {
        out
    } else {
        content.join(" ")
    }
}

/// The distinct character bigrams of a normalised text (a single character stands alone).
fn bigrams(norm: &str) -> Vec<(char, char)> {
    let chars: Vec<char> = norm.chars().collect();
    let mut grams: Vec<(char, char)> = match chars.len() {
        0 => vec![],
        1 => vec![(chars[0], '\0')],
        _ => chars.windows(2).map(|w| (w[0], w[1])).collect(),
    };
    grams.sort_unstable();
    grams.dedup();
    grams
}

/// Dice coefficient of two sorted, distinct bigram lists: 1 for the same text, 0 for nothing shared.
fn dice(a: &[(char, char)], b: &[(char, char)]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut shared) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    2.0 * shared as f64 / (a.len() + b.len()) as f64
}

/// How alike two shopper questions are (Dice over the bigrams of their normalised texts).
pub fn similarity(a: &str, b: &str) -> f64 {
    dice(&bigrams(&normalize(a)), &bigrams(&normalize(b)))
}

/// A group's key: the first 16 hex digits of the SHA-256 of a normalised text.
pub fn key(norm: &str) -> String {
    Sha256::digest(norm.as_bytes())[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// A message that only points at something (an order number, a phone number's last digits,
/// a tracking code): a run of at least 4 digits and at most 6 other letters ("订单 2611…",
/// "order 2611…", "尾号 5678"). Not a question for the knowledge base, whatever the bot made
/// of it. Measurements ("身高165体重110斤", "180cm 75kg") have shorter runs and stay questions.
pub fn is_bare_reference(norm: &str) -> bool {
    let (mut run, mut longest) = (0, 0);
    for c in norm.chars() {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let rest = norm.chars().filter(|c| !c.is_ascii_digit() && !c.is_whitespace()).count();
    longest >= 4 && rest <= 6
}

/// How a turn counts for the review queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A question or statement the bot had to understand: it can be a failure.
    Question,
    /// A step of a flow or a greeting (an order number asked for, "yes", "hello").
    Step,
    /// A plain request for a person ("转人工"): the failure, if any, was the question before.
    HumanRequest,
}

fn role(t: &ReviewTurn, norm: &str) -> Role {
    let decision = t.replies.first().and_then(|r| r.decision.as_deref());
    // every escalation reply names the intent human_agent: the handoff's reason tells a
    // request for a person from a complaint or a conversation going nowhere
    if decision == Some("escalate") && t.escalation.as_deref() == Some("requested") {
        Role::HumanRequest
    } else if matches!(decision, Some("greeting" | "flow")) || is_bare_reference(norm) {
        Role::Step
    } else {
        Role::Question
    }
}

/// The shopper messages among `turns` (oldest first) the bot did not resolve, with why:
/// - its first reply was a no-match, a suggestion or out of scope;
/// - its reply handed the shopper to a person (a complaint, two turns unresolved): the message
///   that actually escalated is the item;
/// - a plain request for a person ("转人工") is not a question for the knowledge base: the
///   escalation counts against the conversation's last question before it (not a flow step
///   such as an order number, not a greeting), and the item says which message asked for the
///   person; with no question before it, nothing is listed;
/// - its conversation was rated 1–2 *and no agent wrote in it*: a low rating after an agent
///   took over is about the agent, not the bot.
///
/// Flow steps, greetings and bare references (an order number) are never items. Turns whose
/// replies carry no decision (stored before decisions were) are skipped.
pub fn unresolved(turns: &[ReviewTurn]) -> Vec<Item> {
    let norms: Vec<String> = turns.iter().map(|t| normalize(&t.text)).collect();
    let roles: Vec<Role> = turns.iter().zip(&norms).map(|(t, n)| role(t, n)).collect();
    let mut reasons: Vec<Vec<Reason>> = vec![Vec::new(); turns.len()];
    let mut escalated_by: Vec<Option<String>> = vec![None; turns.len()];
    // per conversation, the last question seen
    let mut last_question: HashMap<&str, usize> = HashMap::new();
    for (i, t) in turns.iter().enumerate() {
        let Some(decision) = t.replies.first().and_then(|r| r.decision.as_deref()) else { continue };
        let conv = t.conversation_id.as_str();
        match roles[i] {
            Role::HumanRequest => {
                if decision == "escalate" {
                    if let Some(&q) = last_question.get(conv) {
                        reasons[q].push(Reason::Escalated);
                        escalated_by[q].get_or_insert_with(|| t.text.clone());
                    }
                }
            }
            Role::Step => {}
            Role::Question => {
                last_question.insert(conv, i);
                match decision {
                    "no_match" => reasons[i].push(Reason::NoMatch),
                    "suggest" => reasons[i].push(Reason::Suggest),
                    "out_of_scope" => reasons[i].push(Reason::OutOfScope),
                    "escalate" => reasons[i].push(Reason::Escalated),
                    _ => {}
                }
                if !t.agent_replied && t.rating.is_some_and(|r| (1..=2).contains(&r)) {
                    reasons[i].push(Reason::LowRating);
                }
            }
        }
    }
    turns
        .iter()
        .zip(norms)
        .zip(reasons.into_iter().zip(escalated_by))
        .filter(|(_, (r, _))| !r.is_empty())
        .map(|((t, norm), (mut reasons, escalated_by))| {
            reasons.sort();
            reasons.dedup();
            Item {
                grams: bigrams(&norm),
                norm,
                lang: detect(&t.text),
                text: t.text.clone(),
                conversation_id: t.conversation_id.clone(),
                message_id: t.message_id,
                at: t.at.clone(),
                reasons,
                faq_id: t.replies.iter().find_map(|r| r.faq_id.clone()),
                escalated_by,
                decided: None,
            }
        })
        .collect()
}

/// Marks the messages of groups trainers decided about: a dismissal covers the group's
/// question and its near-duplicates for good; a resolution covers those asked up to it (asked
/// again after a fix, they are open again: the fix did not work). When several decisions cover
/// a message, the latest counts.
pub fn mark(mut items: Vec<Item>, decisions: &[ReviewDecision]) -> Vec<Item> {
    let decided: Vec<(&ReviewDecision, Vec<(char, char)>)> =
        decisions.iter().map(|d| (d, bigrams(&d.text))).collect();
    for item in &mut items {
        item.decided = decided
            .iter()
            .rev()
            .find(|(d, grams)| {
                d.lang == item.lang
                    && (d.action == ReviewAction::Dismiss || item.at <= d.at)
                    && (d.text == item.norm || dice(grams, &item.grams) >= SIMILARITY)
            })
            .map(|(d, _)| d.action);
    }
    items
}

/// The review queue's messages: those no decision covers (see [`mark`]).
pub fn open(items: Vec<Item>, decisions: &[ReviewDecision]) -> Vec<Item> {
    mark(items, decisions).into_iter().filter(|i| i.decided.is_none()).collect()
}

/// The group key of a message among `items`, as a decision stores it.
pub fn find(items: &[Item], group_key: &str) -> Option<ReviewKey> {
    items.iter().find(|i| key(&i.norm) == group_key).map(|i| ReviewKey {
        key: group_key.to_string(),
        text: i.norm.clone(),
        lang: i.lang,
    })
}

/// Groups near-duplicate messages; the most asked first (then the most recent, then by key).
pub fn group(items: &[Item]) -> Vec<Group> {
    // distinct normalised texts per language, most frequent first
    let mut distinct: BTreeMap<(Lang, &str), Vec<usize>> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        distinct.entry((item.lang, item.norm.as_str())).or_default().push(i);
    }
    let mut distinct: Vec<((Lang, &str), Vec<usize>)> = distinct.into_iter().collect();
    distinct.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    // (representative's first item, members)
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    for ((lang, _), members) in distinct {
        let first = members[0];
        let mut best: Option<(usize, f64)> = None;
        for (g, (rep, _)) in groups.iter().enumerate() {
            if items[*rep].lang != lang {
                continue;
            }
            let s = dice(&items[*rep].grams, &items[first].grams);
            if s >= SIMILARITY && best.is_none_or(|(_, b)| s > b) {
                best = Some((g, s));
            }
        }
        match best {
            Some((g, _)) => groups[g].1.extend(members),
            None => groups.push((first, members)),
        }
    }
    let mut out: Vec<Group> =
        groups.into_iter().map(|(rep, members)| summarise(items, rep, members)).collect();
    out.sort_by(|a, b| {
        b.count.cmp(&a.count).then_with(|| b.last_seen.cmp(&a.last_seen)).then_with(|| a.key.cmp(&b.key))
    });
    out
}

fn summarise(items: &[Item], rep: usize, mut members: Vec<usize>) -> Group {
    // newest first
    members.sort_by(|a, b| items[*b].at.cmp(&items[*a].at).then_with(|| b.cmp(a)));
    let rep_norm = &items[rep].norm;
    let representative = members
        .iter()
        .map(|&i| &items[i])
        .find(|i| &i.norm == rep_norm)
        .map_or_else(|| items[rep].text.clone(), |i| i.text.clone());
    let mut examples: Vec<ReviewExample> = Vec::new();
    for &i in &members {
        let it = &items[i];
        if examples.len() < EXAMPLES && !examples.iter().any(|e| e.text == it.text) {
            examples.push(ReviewExample {
                text: it.text.clone(),
                conversation_id: it.conversation_id.clone(),
                message_id: it.message_id,
                at: it.at.clone(),
                escalated_by: it.escalated_by.clone(),
            });
        }
    }
    let mut reasons: BTreeMap<Reason, usize> = BTreeMap::new();
    let mut faqs: BTreeMap<&str, usize> = BTreeMap::new();
    for &i in &members {
        for r in &items[i].reasons {
            *reasons.entry(*r).or_default() += 1;
        }
        if let Some(f) = &items[i].faq_id {
            *faqs.entry(f.as_str()).or_default() += 1;
        }
    }
    // the most frequent; among equals the first by id (max_by keeps the last maximum)
    let faq_id = faqs.iter().rev().max_by_key(|(_, n)| **n).map(|(f, _)| f.to_string());
    Group {
        key: key(rep_norm),
        representative,
        lang: items[rep].lang,
        count: members.len(),
        last_seen: items[members[0]].at.clone(),
        examples,
        reasons,
        faq_id,
        dismissed: members.iter().filter(|&&i| items[i].decided == Some(ReviewAction::Dismiss)).count(),
        resolved: members
            .iter()
            .filter(|&&i| items[i].decided.is_some_and(|a| a != ReviewAction::Dismiss))
            .count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::review_rows::ReplyMeta;

    /// Pairs the threshold was chosen on: the same question reworded, and different questions
    /// that share a frame.
    const SAME: &[(&str, &str)] = &[
        ("今天北京天气怎么样", "今天上海天气怎么样"),
        ("你们支持花呗分期吗", "支持花呗分期吗"),
        ("可以用花呗吗", "能用花呗吗"),
        ("你们老板是谁", "你们老板是谁啊？"),
        ("有没有优惠券", "有优惠券吗"),
        ("能开发票吗", "可以开发票吗"),
        ("can i pay with apple pay", "Can I pay using Apple Pay?"),
        ("what's the weather in beijing", "what is the weather in shanghai"),
        ("is there a discount code", "do you have a discount code?"),
        ("Do you have a store in Beijing?", "do you have a shop in beijing"),
        ("how do i get an invoice", "How can I get an invoice"),
    ];
    const DIFFERENT: &[(&str, &str)] = &[
        ("发票怎么开", "退货怎么办"),
        ("运费多少", "价格多少"),
        ("今天天气怎么样", "今天发货吗"),
        ("这件衣服起球吗", "这件衣服掉色吗"),
        ("能开发票吗", "能开专票吗"),
        ("where is my order", "where is the store"),
        ("do you ship to canada", "do you sell gift cards"),
        ("how do i get an invoice", "how do i get a refund"),
        ("你们老板是谁", "你们客服电话是多少"),
        ("what is your phone number", "what is your return policy"),
    ];

    #[test]
    fn the_threshold_separates_rewordings_from_other_questions() {
        for (a, b) in SAME {
            let s = similarity(a, b);
            assert!(s >= SIMILARITY, "{a} / {b}: {s:.3} should be the same question");
        }
        for (a, b) in DIFFERENT {
            let s = similarity(a, b);
            assert!(s < SIMILARITY, "{a} / {b}: {s:.3} should be different questions");
        }
    }

    #[test]
    fn normalises_case_width_punctuation_and_stop_words() {
        assert_eq!(normalize("亲，ＸＬ码 有货吗？？"), "亲xl码有货吗");
        assert_eq!(normalize("我的 order 到哪了"), "我的order到哪了");
        assert_eq!(normalize("Where is MY order?!"), "order");
        assert_eq!(normalize("What is it?"), "what is it");
        assert_eq!(key(&normalize("Where is my order")), key(&normalize("where's my ORDER")));
        assert_eq!(key("x").len(), 16);
    }

    fn turn(id: i64, conv: &str, text: &str, decision: &str) -> ReviewTurn {
        ReviewTurn {
            message_id: id,
            conversation_id: conv.into(),
            text: text.into(),
            at: format!("2026-11-25T08:00:{id:02}.000Z"),
            rating: None,
            agent_replied: false,
            escalation: None,
            replies: vec![ReplyMeta {
                decision: Some(decision.into()),
                intent: None,
                faq_id: (decision == "answer").then(|| "invoice-electronic".into()),
            }],
        }
    }

    #[test]
    fn finds_unresolved_messages_and_why() {
        let mut turns = vec![
            turn(1, "c1", "今天北京天气怎么样", "out_of_scope"),
            turn(2, "c1", "转人工", "escalate"),
            turn(3, "c2", "你好", "greeting"),
            turn(4, "c2", "发票怎么开", "answer"),
            turn(5, "c2", "261101219383734421", "flow"),
            turn(6, "c3", "转人工", "escalate"),
            turn(7, "c4", "asdf qwer", "no_match"),
            turn(8, "c4", "zxcv uiop", "escalate"),
        ];
        turns[1].escalation = Some("requested".into());
        turns[5].escalation = Some("requested".into());
        turns[7].escalation = Some("unresolved".into());
        for t in &mut turns[2..5] {
            t.rating = Some(1);
        }
        let items = unresolved(&turns);
        let got: Vec<(&str, &[Reason])> =
            items.iter().map(|i| (i.text.as_str(), i.reasons.as_slice())).collect();
        assert_eq!(
            got,
            [
                ("今天北京天气怎么样", &[Reason::OutOfScope, Reason::Escalated][..]),
                ("发票怎么开", &[Reason::LowRating][..]),
                ("asdf qwer", &[Reason::NoMatch][..]),
                ("zxcv uiop", &[Reason::Escalated][..]),
            ]
        );
        assert_eq!(items[0].escalated_by.as_deref(), Some("转人工"));
        assert_eq!((items[0].conversation_id.as_str(), items[0].message_id), ("c1", 1));
        // the message that escalated by itself names no other
        assert_eq!(items[3].escalated_by, None);
        assert_eq!(items[1].faq_id.as_deref(), Some("invoice-electronic"));
        // replies stored before decisions were recorded are not guessed at
        let mut old = turn(9, "c5", "随便问问", "no_match");
        old.replies[0].decision = None;
        assert!(unresolved(&[old]).is_empty());
    }

    #[test]
    fn order_numbers_and_plain_requests_for_a_person_are_not_listed() {
        // a question, an order number for the order flow, then a person asked for: the
        // escalation is the question's, said by "转人工"; the order number is never an item
        let mut turns = vec![
            turn(1, "c1", "你们的衣服会不会缩水", "suggest"),
            turn(2, "c1", "261101219383734421", "flow"),
            turn(3, "c1", "人工客服", "escalate"),
            // a bare number the bot did not understand: still not a question
            turn(4, "c2", "订单 2611012193", "no_match"),
            turn(5, "c2", "转人工", "escalate"),
            // only a request for a person: nothing to learn
            turn(6, "c3", "我要找真人", "escalate"),
            // a complaint escalates by itself: that sentence is listed
            turn(7, "c4", "你们发的货是坏的，我要投诉", "escalate"),
        ];
        turns[2].escalation = Some("requested".into());
        turns[4].escalation = Some("requested".into());
        turns[5].escalation = Some("requested".into());
        turns[6].escalation = Some("complaint".into());
        // as the router stores them, every escalation reply names the intent human_agent
        for t in &mut turns {
            if t.replies[0].decision.as_deref() == Some("escalate") {
                t.replies[0].intent = Some("human_agent".into());
            }
        }
        let items = unresolved(&turns);
        let got: Vec<(&str, &[Reason], Option<&str>)> = items
            .iter()
            .map(|i| (i.text.as_str(), i.reasons.as_slice(), i.escalated_by.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("你们的衣服会不会缩水", &[Reason::Suggest, Reason::Escalated][..], Some("人工客服")),
                ("你们发的货是坏的，我要投诉", &[Reason::Escalated][..], None),
            ]
        );
        assert!(is_bare_reference(&normalize("261101219383734421")));
        assert!(is_bare_reference(&normalize("Order #2611 0121 9383")));
        assert!(is_bare_reference(&normalize("尾号 5678")));
        assert!(!is_bare_reference(&normalize("2611012193 这个订单什么时候发货")));
        assert!(!is_bare_reference(&normalize("运费多少")));
        assert!(!is_bare_reference(&normalize("身高165体重110斤")));
        assert!(!is_bare_reference(&normalize("I'm 180cm 75kg")));
    }

    #[test]
    fn a_low_rating_after_an_agent_is_not_the_bots() {
        let mut turns = vec![
            turn(1, "bot-only", "这个能机洗吗", "answer"),
            turn(2, "with-agent", "这个能机洗吗", "answer"),
            turn(3, "with-agent", "转人工", "escalate"),
        ];
        turns[2].escalation = Some("requested".into());
        for t in &mut turns {
            t.rating = Some(1);
        }
        turns[1].agent_replied = true;
        turns[2].agent_replied = true;
        let items = unresolved(&turns);
        let got: Vec<(&str, &[Reason])> =
            items.iter().map(|i| (i.conversation_id.as_str(), i.reasons.as_slice())).collect();
        // the bot's answer was rated 1 with nobody else involved: the bot's failure; with an
        // agent, the shopper still asked for a person after the answer (the bot's), but the
        // rating is the agent's
        assert_eq!(got, [("bot-only", &[Reason::LowRating][..]), ("with-agent", &[Reason::Escalated][..])]);
    }

    #[test]
    fn groups_near_duplicates_deterministically() {
        let texts = [
            ("今天上海天气怎么样", "c3"),
            ("今天北京天气怎么样", "c1"),
            ("今天北京天气怎么样？", "c2"),
            ("你们老板是谁", "c4"),
            ("what's the weather in beijing", "c5"),
        ];
        let turns: Vec<ReviewTurn> =
            texts.iter().enumerate().map(|(i, (t, c))| turn(i as i64 + 1, c, t, "out_of_scope")).collect();
        let items = unresolved(&turns);
        let groups = group(&items);
        assert_eq!(groups.len(), 3, "{groups:#?}");
        let weather = &groups[0];
        assert_eq!(weather.count, 3);
        assert_eq!(weather.lang, Lang::Zh);
        assert_eq!(weather.key, key("今天北京天气怎么样"));
        // the representative is the most asked phrasing, as it was last written
        assert_eq!(weather.representative, "今天北京天气怎么样？");
        let examples: Vec<&str> = weather.examples.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(examples, ["今天北京天气怎么样？", "今天北京天气怎么样", "今天上海天气怎么样"]);
        assert_eq!(weather.examples[0].conversation_id, "c2");
        assert_eq!(weather.last_seen, "2026-11-25T08:00:03.000Z");
        assert_eq!(weather.reasons, BTreeMap::from([(Reason::OutOfScope, 3)]));
        // languages never mix; equal counts: the newest first
        assert_eq!(groups[1].representative, "what's the weather in beijing");
        assert_eq!(groups[2].representative, "你们老板是谁");
        // the same input in another order groups the same way
        let mut reversed = items.clone();
        reversed.reverse();
        assert_eq!(group(&reversed), groups);
    }

    #[test]
    fn dismissed_groups_stay_out_and_resolved_ones_come_back_when_asked_again() {
        let turns: Vec<ReviewTurn> =
            [("今天北京天气怎么样", "c1"), ("今天上海天气怎么样", "c2"), ("你们老板是谁", "c3")]
                .iter()
                .enumerate()
                .map(|(i, (t, c))| turn(i as i64 + 1, c, t, "no_match"))
                .collect();
        let items = unresolved(&turns);
        let k = group(&items)[0].key.clone();
        let found = find(&items, &k).unwrap();
        assert_eq!(found.lang, Lang::Zh);
        let decision = |action, at: &str| ReviewDecision {
            id: 1,
            key: found.key.clone(),
            text: found.text.clone(),
            lang: found.lang,
            action,
            target: None,
            by: "wang".into(),
            at: at.into(),
        };
        let dismissed = [decision(ReviewAction::Dismiss, "2026-11-25T08:00:00.000Z")];
        let left = open(items.clone(), &dismissed);
        assert_eq!(left.iter().map(|i| i.text.as_str()).collect::<Vec<_>>(), ["你们老板是谁"]);
        // resolved between the first and the second message: the second is still a failure
        let resolved = [decision(ReviewAction::Phrasing, "2026-11-25T08:00:01.500Z")];
        let left = open(items.clone(), &resolved);
        assert_eq!(
            left.iter().map(|i| i.text.as_str()).collect::<Vec<_>>(),
            ["今天上海天气怎么样", "你们老板是谁"]
        );
        // analytics keep them all, marked: the group says how many were dismissed or resolved
        let groups = group(&mark(items.clone(), &dismissed));
        assert_eq!((groups[0].count, groups[0].dismissed, groups[0].resolved), (2, 2, 0));
        assert_eq!((groups[1].count, groups[1].dismissed), (1, 0));
        let groups = group(&mark(items.clone(), &resolved));
        assert_eq!((groups[0].count, groups[0].dismissed, groups[0].resolved), (2, 0, 1));
        assert!(find(&items, "0000000000000000").is_none());
    }
}
