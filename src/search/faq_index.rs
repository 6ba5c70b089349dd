//! The FAQ index: one document per FAQ entry holding all its phrasings in both languages, its
//! tags and its answers, so a mixed question (我的order到哪了) matches through either language.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use serde::Serialize;

use super::analyzer::{CHARS, WORDS};
use super::decision::{Decision, Thresholds};
use super::text_index::{Doc, FieldSpec, TextIndex};
use super::SearchError;
use crate::knowledge::Faq;
use crate::lang::{detect, Lang};

/// Field weights, chosen by measurement on the evaluation set (ARCHITECTURE.md): one document
/// per FAQ beat one per phrasing by 5-10 points of top-1, and the character field weighs as
/// much as the word field because shoppers' typos (退火, 发漂) break jieba's words.
const FIELDS: [FieldSpec; 4] = [
    FieldSpec { name: "questions", analyzer: WORDS, weight: 2.0 },
    FieldSpec { name: "question_chars", analyzer: CHARS, weight: 2.0 },
    FieldSpec { name: "tags", analyzer: WORDS, weight: 1.0 },
    FieldSpec { name: "answer", analyzer: WORDS, weight: 0.3 },
];
/// The place of `question_chars` in [`FIELDS`]: the re-ranker's tokens.
const QUESTION_CHARS: usize = 1;

/// One scored FAQ entry.
#[derive(Debug, Clone, Serialize)]
pub struct FaqHit {
    pub id: String,
    pub score: f32,
}

/// The result of asking the FAQ search a question.
#[derive(Debug, Clone, Serialize)]
pub struct FaqResult {
    /// The language of the question (answers should be given in it).
    pub lang: Lang,
    pub decision: Decision,
    /// The confidence the decision was taken on.
    pub confidence: f32,
    /// Best hits first.
    pub hits: Vec<FaqHit>,
}

impl FaqResult {
    pub fn best(&self) -> Option<&FaqHit> {
        self.hits.first()
    }
}

/// Search over FAQ entries, with the decision thresholds chosen on the evaluation set.
pub struct FaqIndex {
    index: TextIndex,
    /// Per entry (same order as `faqs`), the shingles of each phrasing, for re-ranking.
    phrasings: Vec<Vec<Shingles>>,
    faqs: Vec<Faq>,
    by_id: HashMap<String, usize>,
    thresholds: Thresholds,
}

impl FaqIndex {
    pub fn build(faqs: &[Faq], thresholds: Thresholds) -> Result<FaqIndex, SearchError> {
        let docs = faqs.iter().map(|f| Doc {
            key: f.id.clone(),
            texts: vec![
                all_questions(f),
                all_questions(f),
                f.tags.join(" "),
                format!("{}\n{}", f.zh.answer, f.en.answer),
            ],
        });
        let index = TextIndex::build(&FIELDS, docs)?;
        let by_id = faqs.iter().enumerate().map(|(i, f)| (f.id.clone(), i)).collect();
        let phrasings = faqs
            .iter()
            .map(|f| {
                f.zh.questions
                    .iter()
                    .chain(&f.en.questions)
                    .map(|q| shingles(index.analyze(q).field(QUESTION_CHARS)))
                    .collect()
            })
            .collect();
        Ok(FaqIndex { index, phrasings, faqs: faqs.to_vec(), by_id, thresholds })
    }

    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }

    pub fn set_thresholds(&mut self, t: Thresholds) {
        self.thresholds = t;
    }

    /// Every entry, in the knowledge base's order.
    pub fn faqs(&self) -> &[Faq] {
        &self.faqs
    }

    pub fn faq(&self, id: &str) -> Option<&Faq> {
        self.by_id.get(id).map(|&i| &self.faqs[i])
    }

    /// Scored hits only, without a decision (what evaluation and tuning need).
    ///
    /// BM25 over all of an entry's phrasings favours long entries with repeated words, so the
    /// best [`RERANK_DEPTH`] are re-ranked: each gains [`PHRASING_WEIGHT`] × the similarity of
    /// the question to the entry's closest phrasing (Dice over characters/words and their
    /// pairs), so a question worded like a known phrasing wins.
    pub fn hits(&self, question: &str, limit: usize) -> Result<Vec<FaqHit>, SearchError> {
        TextIndex::check_query(question)?;
        // one analysis of the question for the search and the re-ranker
        let terms = self.index.analyze(question);
        let q = shingles(terms.field(QUESTION_CHARS));
        let mut hits: Vec<FaqHit> =
            self.index
                .search_terms(&terms, limit.max(RERANK_DEPTH))?
                .into_iter()
                .map(|(id, score)| {
                    let sim = self.by_id.get(&id).map_or(0.0, |&i| {
                        self.phrasings[i].iter().map(|p| dice(&q, p)).fold(0.0f32, f32::max)
                    });
                    FaqHit { id, score: score + PHRASING_WEIGHT * sim }
                })
                .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        hits.truncate(limit);
        Ok(hits)
    }

    /// The confidence a decision is taken on: the best hit's BM25 score. (Measured against
    /// the score per query term, per square root and per log of the term count: none gave a
    /// better no-match F1 over both languages on the evaluation set.)
    pub fn confidence(hits: &[FaqHit]) -> f32 {
        hits.first().map_or(0.0, |h| h.score)
    }

    /// Asks a question: the best `limit` hits and the decision.
    pub fn ask(&self, question: &str, limit: usize) -> Result<FaqResult, SearchError> {
        let lang = detect(question);
        let hits = self.hits(question, limit.max(1))?;
        let confidence = Self::confidence(&hits);
        let decision = self.thresholds.decide(lang, confidence);
        Ok(FaqResult { lang, decision, confidence, hits })
    }
}

/// How many BM25 hits are re-ranked by phrasing similarity.
pub const RERANK_DEPTH: usize = 10;
/// Score added for a question identical to a phrasing (similarity 1), chosen on the
/// evaluation set among 0, 10, 20, 40 and 60.
pub const PHRASING_WEIGHT: f32 = 20.0;

/// A set of shingles (tokens and pairs of neighbouring tokens) as their sorted, deduplicated
/// 64-bit hashes: comparing two is a merge of two short arrays, with no allocation (the
/// re-ranker compares a question with ~230 phrasings per search).
type Shingles = Vec<u64>;

fn shingles(tokens: &[String]) -> Shingles {
    fn hash(v: impl Hash) -> u64 {
        // SipHash with fixed keys: the same hashes in every process
        let mut h = std::hash::DefaultHasher::new();
        v.hash(&mut h);
        h.finish()
    }
    let mut s: Shingles =
        tokens.iter().map(hash).chain(tokens.windows(2).map(|w| hash((&w[0], &w[1])))).collect();
    s.sort_unstable();
    s.dedup();
    s
}

/// Dice similarity of two shingle sets.
fn dice(a: &[u64], b: &[u64]) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    // a merge without branches on the comparison (the re-ranker runs ~230 of these per
    // search, and which side advances is a coin toss the branch predictor keeps losing)
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        common += usize::from(x == y);
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    2.0 * common as f32 / (a.len() + b.len()) as f32
}

fn all_questions(f: &Faq) -> String {
    f.zh.questions.iter().chain(&f.en.questions).cloned().collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dice_counts_the_shared_shingles() {
        let set = |t: &[&str]| shingles(&t.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let (a, b) = (set(&["运", "费", "险", "怎", "么"]), set(&["运", "费", "险", "理", "赔"]));
        // 3 shared tokens and 2 shared pairs (运费, 费险) of 9 each
        assert_eq!(dice(&a, &b), 2.0 * 5.0 / 18.0);
        assert_eq!(dice(&a, &a), 1.0);
        assert_eq!(dice(&a, &set(&["xl"])), 0.0);
        assert_eq!(dice(&a, &[]), 0.0);
    }
}
