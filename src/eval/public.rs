//! The intent classifier on public data sets that are never shipped with kefu (they live in
//! `../shared/data`, see its README): SMP2017 (Chinese requests of 30 non-store domains plus
//! chit-chat) and CLINC150 (English, 150 intents plus out-of-scope queries).
//!
//! Every function here answers `Ok(None)` when its data is absent, so commands and tests can skip
//! with a clear message instead of failing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::intent::data::{self, Example};
use crate::intent::labels::OUT_OF_SCOPE;
use crate::intent::{IntentError, IntentModel};

/// Where the public data sets are: `$KEFU_SHARED_DATA`, else `../shared/data` from the working
/// directory (the crate root when run by cargo).
pub fn shared_data_dir() -> PathBuf {
    std::env::var_os("KEFU_SHARED_DATA").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("../shared/data"))
}

/// The SMP2017 domain that is chit-chat; every other domain is out of scope for a store.
pub const SMP_CHAT: &str = "chat";
/// What a chit-chat message may come out as without the store misreading it: a greeting, a
/// thanks/goodbye, or out of scope (the bot's polite "I can help with shopping here").
pub const CHAT_OK: [&str; 3] = ["greeting", "thanks_goodbye", OUT_OF_SCOPE];

#[derive(Debug, Clone, Serialize)]
pub struct DomainScore {
    pub domain: String,
    pub examples: usize,
    /// Share predicted out of scope.
    pub out_of_scope: f64,
    /// The store intents it was mistaken for, most frequent first.
    pub mistaken_for: Vec<(String, usize)>,
}

/// SMP2017: how much of the non-store Chinese requests the classifier leaves out of scope.
#[derive(Debug, Clone, Serialize)]
pub struct SmpReport {
    pub examples: usize,
    /// Messages of the 30 non-chat domains.
    pub non_chat: usize,
    /// Share of them predicted `out_of_scope`.
    pub non_chat_out_of_scope: f64,
    pub chat: usize,
    /// Predicted labels of the chit-chat messages, most frequent first.
    pub chat_predicted: Vec<(String, usize)>,
    /// Share of chit-chat predicted greeting, thanks_goodbye or out_of_scope.
    pub chat_handled: f64,
    pub per_domain: Vec<DomainScore>,
    /// Non-chat messages not predicted out of scope: (domain, text, predicted).
    pub misses: Vec<(String, String, String)>,
}

fn predict_all(model: &IntentModel, examples: &[Example]) -> Result<Vec<String>, IntentError> {
    let mut preds = Vec::with_capacity(examples.len());
    for chunk in examples.chunks(256) {
        let texts: Vec<&str> = chunk.iter().map(|e| e.text.as_str()).collect();
        for p in model.probabilities(&texts)? {
            preds.push(model.decide(&p, 1).intent);
        }
    }
    Ok(preds)
}

fn ranked(m: BTreeMap<String, usize>) -> Vec<(String, usize)> {
    let mut v: Vec<(String, usize)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// Scores `model` on an SMP2017 JSONL file (`{"text","label"}` with its domain labels).
/// `Ok(None)` when the file does not exist.
pub fn smp2017(model: &IntentModel, path: &Path) -> anyhow::Result<Option<SmpReport>> {
    if !path.exists() {
        return Ok(None);
    }
    let examples = data::load(path, None).map_err(|d| anyhow::anyhow!("{d}"))?;
    let preds = predict_all(model, &examples)?;
    let mut domains: BTreeMap<String, (usize, usize, BTreeMap<String, usize>)> = BTreeMap::new();
    let mut chat_pred: BTreeMap<String, usize> = BTreeMap::new();
    let (mut chat, mut chat_ok, mut non_chat, mut non_chat_oos) = (0, 0, 0, 0);
    let mut misses = Vec::new();
    for (e, p) in examples.iter().zip(&preds) {
        if e.label == SMP_CHAT {
            chat += 1;
            chat_ok += CHAT_OK.contains(&p.as_str()) as usize;
            *chat_pred.entry(p.clone()).or_default() += 1;
            continue;
        }
        non_chat += 1;
        let d = domains.entry(e.label.clone()).or_default();
        d.0 += 1;
        if p == OUT_OF_SCOPE {
            non_chat_oos += 1;
            d.1 += 1;
        } else {
            *d.2.entry(p.clone()).or_default() += 1;
            misses.push((e.label.clone(), e.text.clone(), p.clone()));
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let mut per_domain: Vec<DomainScore> = domains
        .into_iter()
        .map(|(domain, (n, oos, wrong))| DomainScore {
            domain,
            examples: n,
            out_of_scope: ratio(oos, n),
            mistaken_for: ranked(wrong),
        })
        .collect();
    per_domain
        .sort_by(|a, b| a.out_of_scope.total_cmp(&b.out_of_scope).then_with(|| a.domain.cmp(&b.domain)));
    Ok(Some(SmpReport {
        examples: examples.len(),
        non_chat,
        non_chat_out_of_scope: ratio(non_chat_oos, non_chat),
        chat,
        chat_predicted: ranked(chat_pred),
        chat_handled: ratio(chat_ok, chat),
        per_domain,
        misses,
    }))
}

impl SmpReport {
    pub fn render(&self, show_misses: bool) -> String {
        let mut s = format!(
            "{} examples. Non-chat domains: {} messages, {:.3} predicted out_of_scope (target ≥ 0.92).\n",
            self.examples, self.non_chat, self.non_chat_out_of_scope
        );
        let chat: Vec<String> = self.chat_predicted.iter().map(|(l, n)| format!("{l} {n}")).collect();
        s += &format!(
            "Chit-chat (`chat`): {} messages, {:.3} handled as greeting / thanks_goodbye / out_of_scope; predicted: {}\n",
            self.chat,
            self.chat_handled,
            chat.join(", ")
        );
        s += "\ndomain        examples  out_of_scope  mistaken for\n";
        for d in &self.per_domain {
            let wrong: Vec<String> = d.mistaken_for.iter().map(|(l, n)| format!("{l} {n}")).collect();
            s += &format!(
                "{:<13} {:>8}  {:>12.3}  {}\n",
                d.domain,
                d.examples,
                d.out_of_scope,
                wrong.join(", ")
            );
        }
        if show_misses && !self.misses.is_empty() {
            s += "\nnot out of scope (domain → predicted: text)\n";
            for (d, t, p) in &self.misses {
                s += &format!("  {d} → {p}: {t}\n");
            }
        }
        s
    }
}

/// CLINC150 val scored with the same report as the store's held-out set (label `oos` is out of
/// scope). `Ok(None)` when the file does not exist.
pub fn clinc150(model: &IntentModel, val: &Path) -> anyhow::Result<Option<super::intents::IntentReport>> {
    if !val.exists() {
        return Ok(None);
    }
    let examples = data::load(val, Some("oos")).map_err(|d| anyhow::anyhow!("{d}"))?;
    Ok(Some(super::intents::evaluate(model, &examples)?))
}

/// The JDDC development set (real JD.com shopper messages, labelled in
/// `knowledge/eval/jddc/labels.tsv`, loaded by [`super::jddc`]): intent accuracy over the
/// messages that can be classified alone (labels `context` and `system` left out) and the share
/// of store questions (every label but out_of_scope) predicted out_of_scope.
#[derive(Debug, Clone, Serialize)]
pub struct JddcReport {
    /// Labelled messages, `context` and `system` included.
    pub labelled: usize,
    pub report: super::intents::IntentReport,
    pub store_questions: usize,
    /// Share of store questions predicted out_of_scope.
    pub store_called_out_of_scope: f64,
    /// Wrong predictions: (reference, true, predicted). The text is not copied here: it stays in
    /// the data set (research use only); `kefu eval jddc --misses` prints it to the terminal.
    pub misses: Vec<(String, String, String)>,
}

/// Scores `model` on the JDDC development set. `Ok(None)` when the questions file is absent.
pub fn jddc(
    model: &IntentModel,
    questions: &Path,
    labels: &Path,
) -> anyhow::Result<Option<(JddcReport, Vec<String>)>> {
    if !questions.is_file() {
        return Ok(None);
    }
    let turns = super::jddc::load(questions, labels)?;
    let kept: Vec<&super::jddc::LabelledTurn> = turns
        .iter()
        .filter(|t| t.intent != super::jddc::CONTEXT && t.intent != super::jddc::SYSTEM)
        .collect();
    let examples = super::jddc::to_examples(&turns);
    let preds = predict_all(model, &examples)?;
    let report = super::intents::evaluate(model, &examples)?;
    let store: Vec<usize> = (0..examples.len()).filter(|&i| examples[i].label != OUT_OF_SCOPE).collect();
    let called_oos = store.iter().filter(|&&i| preds[i] == OUT_OF_SCOPE).count();
    let mut misses = Vec::new();
    let mut texts = Vec::new();
    for (i, (e, p)) in examples.iter().zip(&preds).enumerate() {
        if e.label != *p {
            misses.push((kept[i].reference.clone(), e.label.clone(), p.clone()));
            texts.push(e.text.clone());
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    Ok(Some((
        JddcReport {
            labelled: turns.len(),
            report,
            store_questions: store.len(),
            store_called_out_of_scope: ratio(called_oos, store.len()),
            misses,
        },
        texts,
    )))
}

impl JddcReport {
    pub fn render(&self, texts: Option<&[String]>) -> String {
        let mut s = format!(
            "JDDC dev: {} labelled messages, {} classifiable alone (context/system left out).\n\
             intent accuracy {:.3} (target ≥ 0.85); store questions called out_of_scope {:.3} of {} (target ≤ 0.05)\n\n",
            self.labelled,
            self.report.examples,
            self.report.accuracy,
            self.store_called_out_of_scope,
            self.store_questions
        );
        s += &self.report.render();
        if let Some(texts) = texts {
            s += "\nmisses (reference  true → predicted: text)\n";
            for ((r, t, p), text) in self.misses.iter().zip(texts) {
                s += &format!("  {r}  {t} → {p}: {text}\n");
            }
        }
        s
    }
}
