//! Retrieval evaluation of the FAQ search on a held-out set (`knowledge/eval/faq.toml`), and the
//! choice of the decision thresholds on it.
//!
//! ```toml
//! [[case]]
//! lang = "zh"
//! q = "买了三天就降价了 差价能退不"
//! expect = "price-protection"     # an FAQ id, or "none" when no FAQ answers it
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::diagnostic::{parse_toml, Diagnostic, Diagnostics, LineIndex};
use crate::knowledge::KnowledgeBase;
use crate::lang::Lang;
use crate::search::decision::LangThresholds;
use crate::search::{FaqIndex, SearchError, Thresholds};

/// The expected answer of a question that no FAQ answers.
pub const NONE: &str = "none";
/// How many hits are ranked for MRR.
const RANK_DEPTH: usize = 10;
/// Precision the tuned `answer` threshold must reach: answered questions are right this often.
pub const ANSWER_PRECISION: f64 = 0.9;

#[derive(Debug, Clone)]
pub struct Case {
    pub lang: Lang,
    pub question: String,
    /// `None` when no FAQ answers the question.
    pub expect: Option<String>,
    pub line: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    case: Vec<Spanned<RawCase>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    lang: String,
    q: String,
    expect: String,
}

/// Reads an evaluation set, checking every expected id exists in the knowledge base.
pub fn load_cases(path: &Path, kb: &KnowledgeBase) -> Result<Vec<Case>, Diagnostics> {
    let mut diags = Diagnostics::default();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            diags.push(Diagnostic::new(path, None, format!("cannot read: {e}")));
            return Err(diags);
        }
    };
    let lines = LineIndex::new(&text);
    let raw: RawFile = parse_toml(path, &text, &lines).map_err(|d| Diagnostics(vec![d]))?;
    let mut cases = Vec::new();
    for c in raw.case {
        let line = lines.line(c.span().start);
        let c = c.into_inner();
        let Some(lang) = Lang::parse(&c.lang) else {
            diags.push(Diagnostic::new(path, Some(line), format!("unknown language {:?}", c.lang)));
            continue;
        };
        if c.q.trim().is_empty() {
            diags.push(Diagnostic::new(path, Some(line), "empty question"));
            continue;
        }
        let expect = if c.expect == NONE { None } else { Some(c.expect) };
        if let Some(id) = &expect {
            if kb.faq(id).is_none() {
                diags.push(Diagnostic::new(path, Some(line), format!("unknown FAQ id {id:?}")));
                continue;
            }
        }
        cases.push(Case { lang, question: c.q, expect, line });
    }
    if diags.is_empty() {
        Ok(cases)
    } else {
        Err(diags)
    }
}

/// One case's ranking outcome.
#[derive(Debug, Clone)]
struct Outcome {
    lang: Lang,
    expect: Option<String>,
    /// 1-based rank of the expected id among the hits, if found.
    rank: Option<usize>,
    top1: Option<String>,
    confidence: f32,
}

/// Metrics for one language.
#[derive(Debug, Clone, Serialize)]
pub struct LangReport {
    pub lang: Lang,
    pub answerable: usize,
    pub unanswerable: usize,
    pub top1_accuracy: f64,
    pub top3_recall: f64,
    pub mrr: f64,
    pub no_match_precision: f64,
    pub no_match_recall: f64,
    pub no_match_f1: f64,
    /// No-match F1 with thresholds chosen on the other half of the cases (2-fold, by position):
    /// an estimate that does not grade the thresholds on the questions they were chosen on.
    pub no_match_f1_cross_validated: f64,
    /// Share of answerable questions answered directly with the right entry.
    pub answered_correctly: f64,
    /// Of the questions answered directly, the share answered with the right entry.
    pub answer_precision: f64,
    pub thresholds: LangThresholds,
    /// Answerable questions whose best hit was wrong: (question, expected, got).
    pub misses: Vec<(String, String, String)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FaqReport {
    pub cases: usize,
    pub languages: Vec<LangReport>,
}

fn rank_all(index: &FaqIndex, cases: &[Case]) -> Result<Vec<(Outcome, String)>, SearchError> {
    cases
        .iter()
        .map(|c| {
            let hits = index.hits(&c.question, RANK_DEPTH)?;
            let rank = c.expect.as_ref().and_then(|e| hits.iter().position(|h| &h.id == e).map(|p| p + 1));
            Ok((
                Outcome {
                    lang: c.lang,
                    expect: c.expect.clone(),
                    rank,
                    top1: hits.first().map(|h| h.id.clone()),
                    confidence: FaqIndex::confidence(&hits),
                },
                c.question.clone(),
            ))
        })
        .collect()
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// No-match precision, recall and F1 when everything below `suggest` is no-match.
fn no_match_prf(outcomes: &[&Outcome], suggest: f32) -> (f64, f64, f64) {
    let predicted = outcomes.iter().filter(|o| o.confidence < suggest).count();
    let actual = outcomes.iter().filter(|o| o.expect.is_none()).count();
    let tp = outcomes.iter().filter(|o| o.confidence < suggest && o.expect.is_none()).count();
    let (p, r) = (ratio(tp, predicted), ratio(tp, actual));
    (p, r, f1(p, r))
}

/// (answered right, answered) when everything at or above `answer` is answered directly.
fn answered(outcomes: &[&Outcome], answer: f32) -> (usize, usize) {
    let ans: Vec<_> = outcomes.iter().filter(|o| o.confidence >= answer).collect();
    let right = ans.iter().filter(|o| o.expect.is_some() && o.rank == Some(1)).count();
    (right, ans.len())
}

/// Chooses thresholds for one language: `suggest` maximises no-match F1; `answer` is the lowest
/// value at or above it whose direct answers are right at least [`ANSWER_PRECISION`] of the time.
fn tune_lang(outcomes: &[&Outcome]) -> LangThresholds {
    let mut candidates: Vec<f32> = outcomes.iter().map(|o| o.confidence).collect();
    candidates.push(0.0);
    candidates.push(f32::MAX);
    candidates.sort_by(f32::total_cmp);
    candidates.dedup();
    let mut best = (f64::MIN, 0.0f32);
    for w in candidates.windows(2) {
        // a cut half-way between two observed confidences generalises better than either end
        let cut = if w[1] == f32::MAX { w[0] + 1.0 } else { (w[0] + w[1]) / 2.0 };
        let (_, _, f) = no_match_prf(outcomes, cut);
        if f > best.0 {
            best = (f, cut);
        }
    }
    let suggest = best.1;
    let mut answer = f32::MAX;
    for &c in candidates.iter().rev() {
        if c < suggest {
            break;
        }
        let (right, n) = answered(outcomes, c);
        if n > 0 && ratio(right, n) >= ANSWER_PRECISION {
            answer = c;
        }
    }
    if answer == f32::MAX {
        answer = suggest.max(candidates.iter().copied().filter(|c| *c < f32::MAX).fold(0.0, f32::max));
    }
    LangThresholds { answer, suggest }
}

/// Mean no-match F1 over two folds, each graded with thresholds tuned on the other fold.
fn cross_validated_f1(outcomes: &[&Outcome]) -> f64 {
    let fold = |k: usize| -> Vec<&Outcome> {
        outcomes.iter().enumerate().filter(|(i, _)| i % 2 == k).map(|(_, o)| *o).collect()
    };
    let (a, b) = (fold(0), fold(1));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let on_b = no_match_prf(&b, tune_lang(&a).suggest).2;
    let on_a = no_match_prf(&a, tune_lang(&b).suggest).2;
    (on_a + on_b) / 2.0
}

/// Chooses thresholds on the evaluation cases.
pub fn tune(index: &FaqIndex, cases: &[Case]) -> Result<Thresholds, SearchError> {
    let ranked = rank_all(index, cases)?;
    let mut t = *index.thresholds();
    for lang in Lang::ALL {
        let outs: Vec<&Outcome> = ranked.iter().map(|(o, _)| o).filter(|o| o.lang == lang).collect();
        if !outs.is_empty() {
            t.set(lang, tune_lang(&outs));
        }
    }
    Ok(t)
}

/// Evaluates the index with its current thresholds.
pub fn evaluate(index: &FaqIndex, cases: &[Case]) -> Result<FaqReport, SearchError> {
    let ranked = rank_all(index, cases)?;
    let mut by_lang: BTreeMap<Lang, Vec<&(Outcome, String)>> = BTreeMap::new();
    for r in &ranked {
        by_lang.entry(r.0.lang).or_default().push(r);
    }
    let mut languages = Vec::new();
    for (lang, rs) in by_lang {
        let outs: Vec<&Outcome> = rs.iter().map(|(o, _)| o).collect();
        let t = index.thresholds().get(lang);
        let ans: Vec<&&Outcome> = outs.iter().filter(|o| o.expect.is_some()).collect();
        let n = ans.len();
        let top1 = ans.iter().filter(|o| o.rank == Some(1)).count();
        let top3 = ans.iter().filter(|o| o.rank.is_some_and(|r| r <= 3)).count();
        let mrr: f64 = ans.iter().map(|o| o.rank.map_or(0.0, |r| 1.0 / r as f64)).sum::<f64>();
        let (p, r, f) = no_match_prf(&outs, t.suggest);
        let (right, answered_n) = answered(&outs, t.answer);
        let misses = rs
            .iter()
            .filter(|(o, _)| o.expect.is_some() && o.rank != Some(1))
            .map(|(o, q)| {
                (q.clone(), o.expect.clone().unwrap_or_default(), o.top1.clone().unwrap_or_default())
            })
            .collect();
        languages.push(LangReport {
            lang,
            answerable: n,
            unanswerable: outs.len() - n,
            top1_accuracy: ratio(top1, n),
            top3_recall: ratio(top3, n),
            mrr: if n == 0 { 0.0 } else { mrr / n as f64 },
            no_match_precision: p,
            no_match_recall: r,
            no_match_f1: f,
            no_match_f1_cross_validated: cross_validated_f1(&outs),
            answered_correctly: ratio(right, n),
            answer_precision: ratio(right, answered_n),
            thresholds: t,
            misses,
        });
    }
    Ok(FaqReport { cases: cases.len(), languages })
}

impl FaqReport {
    /// A table for people.
    pub fn render(&self, show_misses: bool) -> String {
        let mut s = format!("FAQ retrieval on {} held-out questions\n", self.cases);
        s += "lang  answerable  none  top1   top3   MRR    no-match P/R/F1     F1(2-fold)  answered-right  answer-precision  thresholds(answer/suggest)\n";
        for l in &self.languages {
            s += &format!(
                "{:<5} {:>10} {:>5}  {:.3}  {:.3}  {:.3}  {:.3}/{:.3}/{:.3}   {:>10.3}  {:>14.3}  {:>16.3}  {:.2}/{:.2}\n",
                l.lang.code(),
                l.answerable,
                l.unanswerable,
                l.top1_accuracy,
                l.top3_recall,
                l.mrr,
                l.no_match_precision,
                l.no_match_recall,
                l.no_match_f1,
                l.no_match_f1_cross_validated,
                l.answered_correctly,
                l.answer_precision,
                l.thresholds.answer,
                l.thresholds.suggest
            );
        }
        if show_misses {
            for l in &self.languages {
                for (q, e, g) in &l.misses {
                    s += &format!("miss [{}] {q}  expected {e}, got {g}\n", l.lang);
                }
            }
        }
        s
    }
}
