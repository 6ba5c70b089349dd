//! Evaluation of the intent classifier on held-out examples: accuracy, macro-F1, per-intent
//! precision/recall, out-of-scope precision/recall, the most confused pairs, per language.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::intent::data::Example;
use crate::intent::labels::OUT_OF_SCOPE;
use crate::intent::{IntentError, IntentModel};
use crate::lang::Lang;

#[derive(Debug, Clone, Serialize)]
pub struct LabelScore {
    pub label: String,
    pub support: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LangScore {
    pub lang: Lang,
    pub examples: usize,
    pub accuracy: f64,
    pub in_scope_accuracy: f64,
    pub oos_recall: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IntentReport {
    pub examples: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    /// Accuracy on the examples whose true label is in scope (out-of-scope predictions count as wrong).
    pub in_scope_accuracy: f64,
    pub oos_precision: Option<f64>,
    pub oos_recall: Option<f64>,
    pub per_label: Vec<LabelScore>,
    pub per_lang: Vec<LangScore>,
    /// (true, predicted, count), most frequent first.
    pub confused: Vec<(String, String, usize)>,
    pub threshold: f32,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Evaluates `model` on `examples`.
pub fn evaluate(model: &IntentModel, examples: &[Example]) -> Result<IntentReport, IntentError> {
    let mut preds = Vec::with_capacity(examples.len());
    for chunk in examples.chunks(256) {
        let texts: Vec<&str> = chunk.iter().map(|e| e.text.as_str()).collect();
        for p in model.probabilities(&texts)? {
            preds.push(model.decide(&p, 1).intent);
        }
    }
    Ok(score(examples, &preds, model.config.oos_threshold))
}

fn score(examples: &[Example], preds: &[String], threshold: f32) -> IntentReport {
    let mut labels: Vec<String> =
        examples.iter().map(|e| e.label.clone()).chain(preds.iter().cloned()).collect();
    labels.sort();
    labels.dedup();
    let mut tp: BTreeMap<&str, usize> = BTreeMap::new();
    let mut predicted: BTreeMap<&str, usize> = BTreeMap::new();
    let mut actual: BTreeMap<&str, usize> = BTreeMap::new();
    let mut confused: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (e, p) in examples.iter().zip(preds) {
        *actual.entry(&e.label).or_default() += 1;
        *predicted.entry(p).or_default() += 1;
        if *p == e.label {
            *tp.entry(p).or_default() += 1;
        } else {
            *confused.entry((e.label.clone(), p.clone())).or_default() += 1;
        }
    }
    let per_label: Vec<LabelScore> = labels
        .iter()
        .filter(|l| actual.contains_key(l.as_str()))
        .map(|l| {
            let t = tp.get(l.as_str()).copied().unwrap_or(0);
            let p = ratio(t, predicted.get(l.as_str()).copied().unwrap_or(0));
            let r = ratio(t, actual[l.as_str()]);
            let f1 = if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) };
            LabelScore { label: l.clone(), support: actual[l.as_str()], precision: p, recall: r, f1 }
        })
        .collect();
    let macro_f1 = per_label.iter().map(|s| s.f1).sum::<f64>() / per_label.len().max(1) as f64;
    let correct = examples.iter().zip(preds).filter(|(e, p)| e.label == **p).count();
    let in_scope = |e: &&Example| e.label != OUT_OF_SCOPE;
    let ins: Vec<(&Example, &String)> = examples.iter().zip(preds).filter(|(e, _)| in_scope(e)).collect();
    let in_scope_accuracy = ratio(ins.iter().filter(|(e, p)| e.label == **p).count(), ins.len());
    let oos_actual = actual.get(OUT_OF_SCOPE).copied().unwrap_or(0);
    let oos_pred = predicted.get(OUT_OF_SCOPE).copied().unwrap_or(0);
    let oos_tp = tp.get(OUT_OF_SCOPE).copied().unwrap_or(0);
    let per_lang = Lang::ALL
        .iter()
        .filter_map(|&lang| {
            let pairs: Vec<(&Example, &String)> =
                examples.iter().zip(preds).filter(|(e, _)| e.lang == lang).collect();
            if pairs.is_empty() {
                return None;
            }
            let acc = ratio(pairs.iter().filter(|(e, p)| e.label == **p).count(), pairs.len());
            let ins: Vec<_> = pairs.iter().filter(|(e, _)| e.label != OUT_OF_SCOPE).collect();
            let oos: Vec<_> = pairs.iter().filter(|(e, _)| e.label == OUT_OF_SCOPE).collect();
            Some(LangScore {
                lang,
                examples: pairs.len(),
                accuracy: acc,
                in_scope_accuracy: ratio(ins.iter().filter(|(e, p)| e.label == **p).count(), ins.len()),
                oos_recall: (!oos.is_empty()).then(|| {
                    ratio(oos.iter().filter(|(_, p)| p.as_str() == OUT_OF_SCOPE).count(), oos.len())
                }),
            })
        })
        .collect();
    let mut confused: Vec<(String, String, usize)> =
        confused.into_iter().map(|((a, b), n)| (a, b, n)).collect();
    confused.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    confused.truncate(10);
    IntentReport {
        examples: examples.len(),
        accuracy: ratio(correct, examples.len()),
        macro_f1,
        in_scope_accuracy,
        oos_precision: (oos_pred > 0 || oos_actual > 0).then(|| ratio(oos_tp, oos_pred)),
        oos_recall: (oos_actual > 0).then(|| ratio(oos_tp, oos_actual)),
        per_label,
        per_lang,
        confused,
        threshold,
    }
}

impl IntentReport {
    pub fn render(&self) -> String {
        let opt = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.3}"));
        let mut s = format!(
            "{} examples  accuracy {:.3}  macro-F1 {:.3}  in-scope accuracy {:.3}  out-of-scope P {} R {}  (threshold {:.3})\n",
            self.examples,
            self.accuracy,
            self.macro_f1,
            self.in_scope_accuracy,
            opt(self.oos_precision),
            opt(self.oos_recall),
            self.threshold
        );
        for l in &self.per_lang {
            s += &format!(
                "  [{}] {} examples  accuracy {:.3}  in-scope accuracy {:.3}  out-of-scope recall {}\n",
                l.lang,
                l.examples,
                l.accuracy,
                l.in_scope_accuracy,
                opt(l.oos_recall)
            );
        }
        if self.per_label.len() <= 40 {
            s += "\nintent                 support  precision  recall  F1\n";
            for l in &self.per_label {
                s += &format!(
                    "{:<22} {:>7}  {:>9.3}  {:>6.3}  {:.3}\n",
                    l.label, l.support, l.precision, l.recall, l.f1
                );
            }
        }
        if !self.confused.is_empty() {
            s += "\nmost confused (true → predicted: count)\n";
            for (a, b, n) in &self.confused {
                s += &format!("  {a} → {b}: {n}\n");
            }
        }
        s
    }
}
