//! Labelled examples for the classifier: the project's TOML files (`knowledge/intents/*.toml`,
//! one file per intent with `zh` and `en` lists) or any public data set as JSONL
//! (`{"text": .., "label": ..}`) or CSV (columns `text,label`; `utterance,intent` also accepted).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::{parse_toml, Diagnostic, Diagnostics, LineIndex};
use crate::lang::{detect, Lang};

/// One labelled message.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub text: String,
    pub label: String,
    pub lang: Lang,
}

impl Example {
    pub fn new(text: impl Into<String>, label: impl Into<String>) -> Example {
        let text = text.into();
        let lang = detect(&text);
        Example { text, label: label.into(), lang }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IntentFile {
    intent: Spanned<String>,
    #[serde(default)]
    zh: Vec<Spanned<String>>,
    #[serde(default)]
    en: Vec<Spanned<String>>,
}

/// Loads examples from a folder of intent TOML files, a `.jsonl` file or a `.csv` file.
/// `oos_alias` renames a data set's out-of-scope label (CLINC150's `oos`) to `out_of_scope`.
pub fn load(path: &Path, oos_alias: Option<&str>) -> Result<Vec<Example>, Diagnostics> {
    let mut examples = if path.is_dir() {
        load_toml_dir(path)?
    } else {
        match path.extension().and_then(|e| e.to_str()) {
            Some("jsonl") | Some("json") => load_jsonl(path)?,
            Some("csv") => load_csv(path)?,
            Some("toml") => load_toml_files(&[path.to_path_buf()])?,
            _ => {
                let mut d = Diagnostics::default();
                d.push(Diagnostic::new(
                    path,
                    None,
                    "expected a folder of .toml files, a .jsonl or a .csv file",
                ));
                return Err(d);
            }
        }
    };
    if let Some(alias) = oos_alias {
        for e in &mut examples {
            if e.label == alias {
                e.label = crate::intent::labels::OUT_OF_SCOPE.to_string();
            }
        }
    }
    if examples.is_empty() {
        let mut d = Diagnostics::default();
        d.push(Diagnostic::new(path, None, "no examples found"));
        return Err(d);
    }
    Ok(examples)
}

fn load_toml_dir(dir: &Path) -> Result<Vec<Example>, Diagnostics> {
    let mut diags = Diagnostics::default();
    let files = crate::diagnostic::toml_files(dir, &mut diags);
    if !diags.is_empty() {
        return Err(diags);
    }
    load_toml_files(&files)
}

fn load_toml_files(files: &[std::path::PathBuf]) -> Result<Vec<Example>, Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut out = Vec::new();
    let mut seen_labels: HashSet<String> = HashSet::new();
    for file in files {
        let Some(text) = crate::diagnostic::read(file, &mut diags) else { continue };
        out.extend(parse_intent(file, &text, &mut diags, &mut seen_labels));
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}

/// One intent file's examples (problems go to `diags`; `seen` catches an intent defined twice).
fn parse_intent(
    file: &Path,
    text: &str,
    diags: &mut Diagnostics,
    seen: &mut HashSet<String>,
) -> Vec<Example> {
    let mut out = Vec::new();
    let lines = LineIndex::new(text);
    let raw: IntentFile = match parse_toml(file, text, &lines) {
        Ok(r) => r,
        Err(d) => {
            diags.push(d);
            return out;
        }
    };
    let label = raw.intent.get_ref().trim().to_string();
    if label.is_empty() {
        diags.push(Diagnostic::new(file, Some(lines.line(raw.intent.span().start)), "empty intent name"));
        return out;
    }
    if !seen.insert(label.clone()) {
        diags.push(Diagnostic::new(
            file,
            Some(lines.line(raw.intent.span().start)),
            format!("intent {label:?} is defined in more than one file"),
        ));
    }
    for (lang, list) in [(Lang::Zh, &raw.zh), (Lang::En, &raw.en)] {
        if list.is_empty() {
            diags.push(Diagnostic::new(file, Some(1), format!("intent {label:?} has no {lang} examples")));
        }
        for ex in list {
            if ex.get_ref().trim().is_empty() {
                diags.push(Diagnostic::new(file, Some(lines.line(ex.span().start)), "empty example"));
            } else {
                out.push(Example { text: ex.get_ref().clone(), label: label.clone(), lang });
            }
        }
    }
    out
}

/// An intent with its examples, as trainers edit it over the API, as it is stored, and as one
/// `knowledge/intents/*.toml` file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntentDoc {
    pub intent: String,
    pub zh: Vec<String>,
    pub en: Vec<String>,
}

impl IntentDoc {
    /// The intent in the file format.
    pub fn to_toml(&self) -> String {
        let list = |items: &[String]| {
            let body: Vec<String> =
                items.iter().map(|i| format!("  {},", toml::Value::String(i.clone()))).collect();
            if body.is_empty() {
                "[]".to_string()
            } else {
                format!("[\n{}\n]", body.join("\n"))
            }
        };
        format!(
            "intent = {}\nzh = {}\nen = {}\n",
            toml::Value::String(self.intent.clone()),
            list(&self.zh),
            list(&self.en)
        )
    }

    /// Checks the intent as `kefu check` checks a file (plus a name that is a valid label);
    /// the problems are the same messages.
    pub fn validate(&self) -> Result<Vec<Example>, Vec<String>> {
        let mut diags = Diagnostics::default();
        let examples =
            parse_intent(Path::new("intent.toml"), &self.to_toml(), &mut diags, &mut HashSet::new());
        let mut problems: Vec<String> = diags.0.into_iter().map(|d| d.message).collect();
        let name_ok = !self.intent.is_empty()
            && self.intent.len() <= 64
            && self.intent.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !name_ok {
            problems
                .push(format!("bad intent name {:?}: use lowercase letters, digits and '_'", self.intent));
        }
        if problems.is_empty() {
            Ok(examples)
        } else {
            Err(problems)
        }
    }

    /// Examples grouped back into intents, by name.
    pub fn from_examples(examples: &[Example]) -> Vec<IntentDoc> {
        let mut by: BTreeMap<&str, IntentDoc> = BTreeMap::new();
        for e in examples {
            let d = by.entry(&e.label).or_insert_with(|| IntentDoc {
                intent: e.label.clone(),
                zh: vec![],
                en: vec![],
            });
            match e.lang {
                Lang::Zh => d.zh.push(e.text.clone()),
                Lang::En => d.en.push(e.text.clone()),
            }
        }
        by.into_values().collect()
    }
}

#[derive(Deserialize)]
struct JsonLine {
    text: String,
    label: String,
}

fn load_jsonl(path: &Path) -> Result<Vec<Example>, Diagnostics> {
    let mut diags = Diagnostics::default();
    let Some(text) = crate::diagnostic::read(path, &mut diags) else { return Err(diags) };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<JsonLine>(line) {
            Ok(j) if !j.text.trim().is_empty() => out.push(Example::new(j.text, j.label)),
            Ok(_) => diags.push(Diagnostic::new(path, Some(i + 1), "empty text")),
            Err(e) => diags.push(Diagnostic::new(path, Some(i + 1), format!("bad JSON line: {e}"))),
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}

fn load_csv(path: &Path) -> Result<Vec<Example>, Diagnostics> {
    let mut diags = Diagnostics::default();
    let err = |line: Option<usize>, msg: String| {
        let mut d = Diagnostics::default();
        d.push(Diagnostic::new(path, line, msg));
        d
    };
    let mut reader = csv::Reader::from_path(path).map_err(|e| err(None, e.to_string()))?;
    let headers = reader.headers().map_err(|e| err(Some(1), e.to_string()))?.clone();
    let find = |names: &[&str]| headers.iter().position(|h| names.contains(&h.trim()));
    let (Some(t), Some(l)) = (find(&["text", "utterance"]), find(&["label", "intent"])) else {
        return Err(err(Some(1), "CSV needs columns text,label (or utterance,intent)".into()));
    };
    let mut out = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        match rec {
            Ok(r) => match (r.get(t), r.get(l)) {
                (Some(text), Some(label)) if !text.trim().is_empty() => out.push(Example::new(text, label)),
                _ => diags.push(Diagnostic::new(path, Some(i + 2), "missing text or label")),
            },
            Err(e) => diags.push(Diagnostic::new(path, Some(i + 2), e.to_string())),
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}

/// Splits off a development set: `fraction` of each label's examples (at least one for labels
/// with five or more), chosen by a seeded shuffle so the split is the same every run.
pub fn split_dev(examples: &[Example], fraction: f64, seed: u64) -> (Vec<Example>, Vec<Example>) {
    let mut by_label: BTreeMap<&str, Vec<&Example>> = BTreeMap::new();
    for e in examples {
        by_label.entry(&e.label).or_default().push(e);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xde5e_ed00);
    let (mut train, mut dev) = (Vec::new(), Vec::new());
    for (_, mut list) in by_label {
        list.shuffle(&mut rng);
        let n_dev =
            if list.len() >= 5 { ((list.len() as f64 * fraction).round() as usize).max(1) } else { 0 };
        for (i, e) in list.into_iter().enumerate() {
            if i < n_dev {
                dev.push(e.clone());
            } else {
                train.push(e.clone());
            }
        }
    }
    (train, dev)
}
