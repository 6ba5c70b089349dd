//! "试一试" (try it): one question through the FAQ search and through two intent models side by
//! side, the one in force and a candidate, so a trainer sees what a change or a new model does
//! before shoppers do. Pure: the engines and models in, a typed answer out; nothing is stored
//! and no conversation is touched.

use serde::Serialize;

use crate::intent::{IntentError, IntentModel};
use crate::knowledge::Faq;
use crate::lang::{detect, Lang};
use crate::search::{Decision, FaqIndex, SearchError};

/// FAQ hits and intents shown.
pub const TOP: usize = 3;
/// Longest question tried (the chat's own limit is the same order).
pub const MAX_CHARS: usize = 1000;

/// Why a question cannot be tried.
#[derive(Debug, thiserror::Error)]
pub enum TryError {
    #[error("type a question (1 to {MAX_CHARS} characters)")]
    Empty,
    #[error("the question is longer than {MAX_CHARS} characters")]
    TooLong,
    #[error("FAQ search: {0}")]
    Search(#[from] SearchError),
    #[error("intent model: {0}")]
    Intent(#[from] IntentError),
}

/// One FAQ entry the search found.
#[derive(Debug, Clone, Serialize)]
pub struct TriedHit {
    pub id: String,
    pub score: f32,
    /// The entry's first phrasing and its answer, in the question's language.
    pub question: String,
    pub answer: String,
}

/// What the FAQ search decides (with the knowledge base as it is live now).
#[derive(Debug, Clone, Serialize)]
pub struct TriedFaq {
    pub decision: Decision,
    /// The best hit's score, which the decision compares with the language's thresholds.
    pub confidence: f32,
    pub answer_threshold: f32,
    pub suggest_threshold: f32,
    pub hits: Vec<TriedHit>,
}

/// One intent and its probability.
#[derive(Debug, Clone, Serialize)]
pub struct TriedIntent {
    pub intent: String,
    pub probability: f32,
}

/// What one model makes of the question.
#[derive(Debug, Clone, Serialize)]
pub struct TriedModel {
    pub version: String,
    /// The intent the router would act on (`out_of_scope` when the model is not sure enough).
    pub intent: String,
    pub confidence: f32,
    /// The best [`TOP`] labels by probability.
    pub top: Vec<TriedIntent>,
}

/// The whole answer.
#[derive(Debug, Clone, Serialize)]
pub struct Tried {
    pub text: String,
    pub lang: Lang,
    pub faq: TriedFaq,
    pub active: TriedModel,
    /// None when no other version was asked for.
    pub candidate: Option<TriedModel>,
}

/// The question as tried: trimmed, not empty, not too long.
pub fn question(text: &str) -> Result<&str, TryError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(TryError::Empty);
    }
    if text.chars().count() > MAX_CHARS {
        return Err(TryError::TooLong);
    }
    Ok(text)
}

fn hit(faq: Option<&Faq>, id: &str, score: f32, lang: Lang) -> TriedHit {
    TriedHit {
        id: id.to_string(),
        score,
        question: faq.and_then(|f| f.content(lang).questions.first().cloned()).unwrap_or_default(),
        answer: faq.map(|f| f.answer(lang).to_string()).unwrap_or_default(),
    }
}

fn model(version: &str, m: &IntentModel, text: &str) -> Result<TriedModel, TryError> {
    let p = m.predict(text, TOP)?;
    Ok(TriedModel {
        version: version.to_string(),
        intent: p.intent,
        confidence: p.confidence,
        top: p.top.into_iter().map(|(intent, probability)| TriedIntent { intent, probability }).collect(),
    })
}

/// Tries `text` on the FAQ index and the model in force, and on `candidate` when given.
pub fn try_question(
    text: &str,
    faqs: &FaqIndex,
    active: (&str, &IntentModel),
    candidate: Option<(&str, &IntentModel)>,
) -> Result<Tried, TryError> {
    let text = question(text)?;
    let lang = detect(text);
    let result = faqs.ask(text, TOP)?;
    let limits = faqs.thresholds().get(lang);
    let faq = TriedFaq {
        decision: result.decision,
        confidence: result.confidence,
        answer_threshold: limits.answer,
        suggest_threshold: limits.suggest,
        hits: result.hits.iter().map(|h| hit(faqs.faq(&h.id), &h.id, h.score, lang)).collect(),
    };
    Ok(Tried {
        text: text.to_string(),
        lang,
        faq,
        active: model(active.0, active.1, text)?,
        candidate: candidate.map(|(v, m)| model(v, m, text)).transpose()?,
    })
}
