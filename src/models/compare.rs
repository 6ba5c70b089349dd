//! Old vs new: two evaluations of the held-out set side by side (overall, out of scope, per
//! language, per intent) and the rule that decides whether the new model may replace the old
//! one without an explicit override.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::eval::intents::{IntentReport, LabelScore};
use crate::lang::Lang;

/// How much worse a candidate may be and still count as "not worse", in absolute points of
/// macro-F1 and of accuracy. 0.005 is about 4 of the 848 held-out examples. Measured: the store's
/// data retrained with seeds 1–5 lands 0.002–0.007 below the shipped model (seed 42) on both
/// numbers, so this rule lets most chance differences through and refuses the larger ones; the
/// same data and seed give the same model, which always passes.
pub const TOLERANCE: f64 = 0.005;

/// The headline numbers of one model.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub version: String,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub in_scope_accuracy: f64,
    pub oos_precision: Option<f64>,
    pub oos_recall: Option<f64>,
}

/// Candidate minus active.
#[derive(Debug, Clone, Serialize)]
pub struct Delta {
    pub accuracy: f64,
    pub macro_f1: f64,
    pub in_scope_accuracy: f64,
    pub oos_precision: Option<f64>,
    pub oos_recall: Option<f64>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// One intent, old and new.
#[derive(Debug, Clone, Serialize)]
pub struct IntentRow {
    pub intent: String,
    /// Held-out examples of this intent.
    pub support: usize,
    pub active: Prf,
    pub candidate: Prf,
    pub delta: Prf,
}

#[derive(Debug, Clone, Serialize)]
pub struct LangRow {
    pub lang: Lang,
    pub examples: usize,
    pub active_accuracy: f64,
    pub candidate_accuracy: f64,
    pub delta: f64,
}

/// The candidate against the active model on the same held-out examples.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub examples: usize,
    pub active: Side,
    pub candidate: Side,
    pub delta: Delta,
    pub per_lang: Vec<LangRow>,
    pub per_intent: Vec<IntentRow>,
    pub tolerance: f64,
    /// Candidate macro-F1 ≥ active − tolerance and candidate accuracy ≥ active − tolerance.
    pub not_worse: bool,
    /// Why it is worse (empty when it is not), in English for the command line.
    pub reasons: Vec<String>,
    /// The same reasons as numbers, for a page to say in its own language.
    pub shortfalls: Vec<Shortfall>,
}

/// A headline number on which the candidate is more than [`TOLERANCE`] below the active model.
#[derive(Debug, Clone, Serialize)]
pub struct Shortfall {
    /// `macro_f1` or `accuracy` (the [`Side`] field's name).
    pub metric: &'static str,
    pub active: f64,
    pub candidate: f64,
}

fn side(version: &str, r: &IntentReport) -> Side {
    Side {
        version: version.to_string(),
        accuracy: r.accuracy,
        macro_f1: r.macro_f1,
        in_scope_accuracy: r.in_scope_accuracy,
        oos_precision: r.oos_precision,
        oos_recall: r.oos_recall,
    }
}

fn prf(s: Option<&LabelScore>) -> Prf {
    s.map_or(Prf { precision: 0.0, recall: 0.0, f1: 0.0 }, |s| Prf {
        precision: s.precision,
        recall: s.recall,
        f1: s.f1,
    })
}

fn sub(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? - b?)
}

/// Compares two evaluations of the same held-out examples.
pub fn compare(
    active_version: &str,
    active: &IntentReport,
    candidate_version: &str,
    candidate: &IntentReport,
) -> Comparison {
    let labels: BTreeSet<&str> =
        active.per_label.iter().chain(&candidate.per_label).map(|s| s.label.as_str()).collect();
    let per_intent = labels
        .into_iter()
        .map(|label| {
            let a = active.per_label.iter().find(|s| s.label == label);
            let c = candidate.per_label.iter().find(|s| s.label == label);
            let (pa, pc) = (prf(a), prf(c));
            IntentRow {
                intent: label.to_string(),
                support: a.or(c).map_or(0, |s| s.support),
                active: pa,
                candidate: pc,
                delta: Prf {
                    precision: pc.precision - pa.precision,
                    recall: pc.recall - pa.recall,
                    f1: pc.f1 - pa.f1,
                },
            }
        })
        .collect();
    let per_lang = active
        .per_lang
        .iter()
        .filter_map(|a| {
            let c = candidate.per_lang.iter().find(|c| c.lang == a.lang)?;
            Some(LangRow {
                lang: a.lang,
                examples: a.examples,
                active_accuracy: a.accuracy,
                candidate_accuracy: c.accuracy,
                delta: c.accuracy - a.accuracy,
            })
        })
        .collect();
    let mut reasons = Vec::new();
    let mut shortfalls = Vec::new();
    for (metric, what, new, old) in [
        ("macro_f1", "macro-F1", candidate.macro_f1, active.macro_f1),
        ("accuracy", "accuracy", candidate.accuracy, active.accuracy),
    ] {
        // the small epsilon keeps a model identical to the active one "not worse" whatever the
        // rounding
        if new + 1e-9 < old - TOLERANCE {
            reasons.push(format!(
                "{what} {new:.3} is {:.3} below the active model's {old:.3} (tolerance {TOLERANCE})",
                old - new
            ));
            shortfalls.push(Shortfall { metric, active: old, candidate: new });
        }
    }
    Comparison {
        examples: candidate.examples,
        active: side(active_version, active),
        candidate: side(candidate_version, candidate),
        delta: Delta {
            accuracy: candidate.accuracy - active.accuracy,
            macro_f1: candidate.macro_f1 - active.macro_f1,
            in_scope_accuracy: candidate.in_scope_accuracy - active.in_scope_accuracy,
            oos_precision: sub(candidate.oos_precision, active.oos_precision),
            oos_recall: sub(candidate.oos_recall, active.oos_recall),
        },
        per_lang,
        per_intent,
        tolerance: TOLERANCE,
        not_worse: reasons.is_empty(),
        reasons,
        shortfalls,
    }
}

impl Comparison {
    /// A text table for the command line.
    pub fn render(&self) -> String {
        let opt = |x: Option<f64>| x.map_or("    -".to_string(), |v| format!("{v:.3}"));
        let optd = |x: Option<f64>| x.map_or("     -".to_string(), |v| format!("{v:+.3}"));
        let (a, c, d) = (&self.active, &self.candidate, &self.delta);
        let mut s = format!(
            "{} held-out examples: active {} vs candidate {}\n\n{:<22} {:>7}  {:>9}  {:>6}\n",
            self.examples, a.version, c.version, "", "active", "candidate", "delta"
        );
        for (name, x, y, z) in [
            ("accuracy", a.accuracy, c.accuracy, d.accuracy),
            ("macro-F1", a.macro_f1, c.macro_f1, d.macro_f1),
            ("in-scope accuracy", a.in_scope_accuracy, c.in_scope_accuracy, d.in_scope_accuracy),
        ] {
            s += &format!("{name:<22} {x:>7.3}  {y:>9.3}  {z:>+6.3}\n");
        }
        for (name, x, y, z) in [
            ("out-of-scope P", a.oos_precision, c.oos_precision, d.oos_precision),
            ("out-of-scope R", a.oos_recall, c.oos_recall, d.oos_recall),
        ] {
            s += &format!("{name:<22} {:>7}  {:>9}  {:>6}\n", opt(x), opt(y), optd(z));
        }
        for l in &self.per_lang {
            s += &format!(
                "{:<22} {:>7.3}  {:>9.3}  {:>+6.3}\n",
                format!("accuracy [{}]", l.lang),
                l.active_accuracy,
                l.candidate_accuracy,
                l.delta
            );
        }
        s += &format!(
            "\n{:<22} {:>7}  {:>17}  {:>17}  {:>6}\n",
            "intent", "support", "active P/R/F1", "candidate P/R/F1", "ΔF1"
        );
        for r in &self.per_intent {
            s += &format!(
                "{:<22} {:>7}  {:.3}/{:.3}/{:.3}  {:.3}/{:.3}/{:.3}  {:>+6.3}\n",
                r.intent,
                r.support,
                r.active.precision,
                r.active.recall,
                r.active.f1,
                r.candidate.precision,
                r.candidate.recall,
                r.candidate.f1,
                r.delta.f1
            );
        }
        if self.not_worse {
            s += &format!("\nnot worse than the active model (tolerance {})\n", self.tolerance);
        } else {
            s += "\nworse than the active model:\n";
            for r in &self.reasons {
                s += &format!("  - {r}\n");
            }
        }
        s
    }
}
