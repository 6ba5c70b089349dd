//! The FAQ index: one document per FAQ entry holding all its phrasings in both languages, its
//! tags and its answers, so a mixed question (我的order到哪了) matches through either language.

use std::collections::HashMap;

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
        Ok(FaqIndex { index, faqs: faqs.to_vec(), by_id, thresholds })
    }

    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }

    pub fn set_thresholds(&mut self, t: Thresholds) {
        self.thresholds = t;
    }

    pub fn faq(&self, id: &str) -> Option<&Faq> {
        self.by_id.get(id).map(|&i| &self.faqs[i])
    }

    /// Scored hits only, without a decision (what evaluation and tuning need).
    pub fn hits(&self, question: &str, limit: usize) -> Result<Vec<FaqHit>, SearchError> {
        Ok(self.index.search(question, limit)?.into_iter().map(|(id, score)| FaqHit { id, score }).collect())
    }

    /// The confidence a decision is taken on: the best hit's BM25 score. (Measured against
    /// the score per query term, per square root and per log of the term count: none gave a
    /// better no-match F1 over both languages on the evaluation set.)
    pub fn confidence(&self, _question: &str, hits: &[FaqHit]) -> f32 {
        hits.first().map_or(0.0, |h| h.score)
    }

    /// Asks a question: the best `limit` hits and the decision.
    pub fn ask(&self, question: &str, limit: usize) -> Result<FaqResult, SearchError> {
        let lang = detect(question);
        let hits = self.hits(question, limit.max(1))?;
        let confidence = self.confidence(question, &hits);
        let decision = self.thresholds.decide(lang, confidence);
        Ok(FaqResult { lang, decision, confidence, hits })
    }
}

fn all_questions(f: &Faq) -> String {
    f.zh.questions.iter().chain(&f.en.questions).cloned().collect::<Vec<_>>().join("\n")
}
