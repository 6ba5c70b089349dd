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
use crate::store::review::{ReviewAction, ReviewDecision, ReviewKey, Turn};

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
    pub at: String,
    pub reasons: Vec<Reason>,
    /// The FAQ entry the bot answered with, if it did.
    pub faq_id: Option<String>,
    grams: Vec<(char, char)>,
}

/// One phrasing of a group, where and when it was said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Example {
    pub text: String,
    pub conversation_id: String,
    pub at: String,
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
    pub examples: Vec<Example>,
    /// Messages per reason (one message may have several).
    pub reasons: BTreeMap<Reason, usize>,
    pub last_seen: String,
    /// The FAQ entry the bot most often answered these with, if any.
    pub faq_id: Option<String>,
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

/// The shopper messages among `turns` (oldest first) the bot did not resolve, with why:
/// the first reply was a no-match, a suggestion or out of scope; the message led to an
/// escalation; or its conversation was rated 1–2 (then any message but greetings and flow
/// steps, such as an order number). A bare request for a person ("转人工") is not a question
/// for the knowledge base: the escalation counts against the shopper's message before it.
/// Turns whose replies carry no decision (stored before decisions were) are skipped.
pub fn unresolved(turns: &[Turn]) -> Vec<Item> {
    let mut reasons: Vec<Vec<Reason>> = vec![Vec::new(); turns.len()];
    let mut previous: HashMap<&str, usize> = HashMap::new();
    for (i, t) in turns.iter().enumerate() {
        let before = previous.insert(t.conversation_id.as_str(), i);
        let Some(decision) = t.replies.first().and_then(|r| r.decision.as_deref()) else { continue };
        match decision {
            "no_match" => reasons[i].push(Reason::NoMatch),
            "suggest" => reasons[i].push(Reason::Suggest),
            "out_of_scope" => reasons[i].push(Reason::OutOfScope),
            "escalate" => match (t.escalation.as_deref(), before) {
                (Some("requested"), Some(b)) => {
                    reasons[b].push(Reason::Escalated);
                    continue;
                }
                _ => reasons[i].push(Reason::Escalated),
            },
            _ => {}
        }
        let step = matches!(decision, "greeting" | "flow");
        if !step && t.rating.is_some_and(|r| (1..=2).contains(&r)) {
            reasons[i].push(Reason::LowRating);
        }
    }
    turns
        .iter()
        .zip(reasons)
        .filter(|(_, r)| !r.is_empty())
        .map(|(t, mut reasons)| {
            reasons.sort();
            reasons.dedup();
            let norm = normalize(&t.text);
            Item {
                grams: bigrams(&norm),
                norm,
                lang: detect(&t.text),
                text: t.text.clone(),
                conversation_id: t.conversation_id.clone(),
                at: t.at.clone(),
                reasons,
                faq_id: t.replies.iter().find_map(|r| r.faq_id.clone()),
            }
        })
        .collect()
}

/// Leaves out messages of groups trainers decided about: a dismissal hides the group's
/// question and its near-duplicates for good; a resolution hides those asked up to it (asked
/// again after a fix, they come back: the fix did not work).
pub fn exclude(items: Vec<Item>, decisions: &[ReviewDecision]) -> Vec<Item> {
    let decided: Vec<(&ReviewDecision, Vec<(char, char)>)> =
        decisions.iter().map(|d| (d, bigrams(&d.text))).collect();
    items
        .into_iter()
        .filter(|item| {
            !decided.iter().any(|(d, grams)| {
                d.lang == item.lang
                    && (d.action == ReviewAction::Dismiss || item.at <= d.at)
                    && (d.text == item.norm || dice(grams, &item.grams) >= SIMILARITY)
            })
        })
        .collect()
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
    let mut examples: Vec<Example> = Vec::new();
    for &i in &members {
        let it = &items[i];
        if examples.len() < EXAMPLES && !examples.iter().any(|e| e.text == it.text) {
            examples.push(Example {
                text: it.text.clone(),
                conversation_id: it.conversation_id.clone(),
                at: it.at.clone(),
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::review::ReplyMeta;

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

    fn turn(id: i64, conv: &str, text: &str, decision: &str) -> Turn {
        Turn {
            message_id: id,
            conversation_id: conv.into(),
            text: text.into(),
            at: format!("2026-11-25T08:00:{id:02}.000Z"),
            rating: None,
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
                ("转人工", &[Reason::Escalated][..]),
                ("asdf qwer", &[Reason::NoMatch][..]),
                ("zxcv uiop", &[Reason::Escalated][..]),
            ]
        );
        assert_eq!(items[1].faq_id.as_deref(), Some("invoice-electronic"));
        // replies stored before decisions were recorded are not guessed at
        let mut old = turn(9, "c5", "随便问问", "no_match");
        old.replies[0].decision = None;
        assert!(unresolved(&[old]).is_empty());
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
        let turns: Vec<Turn> =
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
        let turns: Vec<Turn> =
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
        let left = exclude(items.clone(), &[decision(ReviewAction::Dismiss, "2026-11-25T08:00:00.000Z")]);
        assert_eq!(left.iter().map(|i| i.text.as_str()).collect::<Vec<_>>(), ["你们老板是谁"]);
        // resolved between the first and the second message: the second is still a failure
        let left = exclude(items.clone(), &[decision(ReviewAction::Phrasing, "2026-11-25T08:00:01.500Z")]);
        assert_eq!(
            left.iter().map(|i| i.text.as_str()).collect::<Vec<_>>(),
            ["今天上海天气怎么样", "你们老板是谁"]
        );
        assert!(find(&items, "0000000000000000").is_none());
    }
}
