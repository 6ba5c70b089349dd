//! The JDDC 2019 development set as a labelled set of real shopper messages.
//!
//! The data (`dev_question.txt`, research use only) lives outside the repository, in
//! `../shared/data/jddc_dev`; the repository holds only references and labels
//! (`knowledge/eval/jddc/labels.tsv`, rules in `docs/labelling.md`). This module parses the data
//! into messages with stable references and joins them with the labels.
//!
//! References: `<session id>/c<k>.<m>` is the k-th `Q:` line of the session's `<context>`
//! (1-based) and its m-th message; `<session id>/q<n>.<m>` is message m of the follow-up turn
//! `<Qn>`. Messages are the pieces of a turn split on `!@@@!`, trimmed, empty pieces skipped.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::intent::data::Example;
use crate::intent::labels::is_store_intent;

/// Label of a message that cannot be classified on its own (answers the agent, filler).
pub const CONTEXT: &str = "context";
/// Label of a line the shopper did not type (`用户发起转人工`, `NULL`).
pub const SYSTEM: &str = "system";

/// Separator of several messages in one turn.
const MESSAGE_SEPARATOR: &str = "!@@@!";

/// One shopper message of the data, with its reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub reference: String,
    pub text: String,
}

/// One labelled shopper message. `intent` is a store intent, [`CONTEXT`] or [`SYSTEM`].
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledTurn {
    pub reference: String,
    pub text: String,
    pub intent: String,
}

#[derive(Debug, thiserror::Error)]
pub enum JddcError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}:{line}: {message}", path.display())]
    BadData { path: PathBuf, line: usize, message: String },
    #[error("{}:{line}: bad label line: {message}", path.display())]
    BadLabel { path: PathBuf, line: usize, message: String },
    #[error("{}:{line}: reference {reference:?} is not in {}", path.display(), data.display())]
    UnknownReference { path: PathBuf, line: usize, reference: String, data: PathBuf },
    #[error("{}:{line}: reference {reference:?} is labelled twice (first on line {first})", path.display())]
    DuplicateReference { path: PathBuf, line: usize, reference: String, first: usize },
}

/// The project's root (where `Cargo.toml` is).
fn project_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Where the JDDC questions are by default: `$KEFU_SHARED_DATA/jddc_dev/dev_question.txt`, else
/// `../shared/data/jddc_dev/dev_question.txt` relative to the project root. `None` when the file
/// is absent, so callers can skip.
pub fn default_question_file() -> Option<PathBuf> {
    let shared = std::env::var_os("KEFU_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join("../shared/data"));
    let path = shared.join("jddc_dev/dev_question.txt");
    path.is_file().then_some(path)
}

/// The shipped label file, `knowledge/eval/jddc/labels.tsv` under the project root.
pub fn default_labels_file() -> PathBuf {
    project_root().join("knowledge/eval/jddc/labels.tsv")
}

fn read(path: &Path) -> Result<String, JddcError> {
    std::fs::read_to_string(path).map_err(|source| JddcError::Io { path: path.to_path_buf(), source })
}

/// The messages of one turn: split on `!@@@!`, trimmed, empty pieces skipped.
fn split_turn(turn: &str) -> impl Iterator<Item = &str> {
    turn.split(MESSAGE_SEPARATOR).map(str::trim).filter(|p| !p.is_empty())
}

/// Parses the text of a `dev_question.txt`: every shopper message with its reference, in order.
/// On a malformed line, returns its line number (1-based) and what is wrong.
pub fn parse_questions(text: &str) -> Result<Vec<Message>, (usize, String)> {
    let mut out = Vec::new();
    let mut session: Option<String> = None;
    let mut context_turns = 0usize;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end_matches('\r');
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed == "<context>" || trimmed == "</context>" {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("</session") {
            let id = rest.trim().trim_end_matches('>').trim();
            if session.as_deref() != Some(id) {
                return Err((line_no, format!("end of session {id:?} without its start")));
            }
            session = None;
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("<session ") {
            let id = rest.trim_end_matches('>').trim();
            if id.is_empty() || id.contains('/') || id.contains(char::is_whitespace) {
                return Err((line_no, format!("bad session id {id:?}")));
            }
            session = Some(id.to_string());
            context_turns = 0;
            continue;
        }
        let Some(id) = session.as_deref() else {
            return Err((line_no, "text outside a <session>".to_string()));
        };
        if let Some(turn) = line.strip_prefix("Q:") {
            context_turns += 1;
            for (m, piece) in split_turn(turn).enumerate() {
                out.push(Message {
                    reference: format!("{id}/c{context_turns}.{}", m + 1),
                    text: piece.to_string(),
                });
            }
        } else if line.starts_with("A:") {
            // the agents' replies are not shopper messages
        } else if let Some((n, turn)) = follow_up(trimmed) {
            for (m, piece) in split_turn(turn).enumerate() {
                out.push(Message { reference: format!("{id}/q{n}.{}", m + 1), text: piece.to_string() });
            }
        } else {
            return Err((line_no, "expected Q:, A:, <Qn>…</Qn> or a session/context tag".to_string()));
        }
    }
    if let Some(id) = session {
        return Err((text.lines().count(), format!("session {id:?} is not closed")));
    }
    Ok(out)
}

/// `<Qn>text</Qn>` → (n, text).
fn follow_up(line: &str) -> Option<(u32, &str)> {
    let rest = line.strip_prefix("<Q")?;
    let (n, rest) = rest.split_once('>')?;
    let n: u32 = n.parse().ok()?;
    let body = rest.strip_suffix(&format!("</Q{n}>"))?;
    Some((n, body))
}

/// Every shopper message of a `dev_question.txt` file.
pub fn read_questions(question_file: &Path) -> Result<Vec<Message>, JddcError> {
    parse_questions(&read(question_file)?).map_err(|(line, message)| JddcError::BadData {
        path: question_file.to_path_buf(),
        line,
        message,
    })
}

/// Reads a label file: `(reference, intent, line)` per label, in file order.
pub fn read_labels(labels_file: &Path) -> Result<Vec<(String, String, usize)>, JddcError> {
    let text = read(labels_file)?;
    let bad =
        |line: usize, message: String| JddcError::BadLabel { path: labels_file.to_path_buf(), line, message };
    let mut out = Vec::new();
    let mut first: HashMap<String, usize> = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = l.split('\t').map(str::trim).collect();
        let &[reference, intent] = fields.as_slice() else {
            return Err(bad(line, format!("expected `ref<TAB>intent`, found {} field(s)", fields.len())));
        };
        if reference.is_empty() || intent.is_empty() {
            return Err(bad(line, "empty reference or intent".to_string()));
        }
        if !(is_store_intent(intent) || intent == CONTEXT || intent == SYSTEM) {
            return Err(bad(
                line,
                format!("unknown intent {intent:?} (a store intent, {CONTEXT} or {SYSTEM})"),
            ));
        }
        if let Some(&f) = first.get(reference) {
            return Err(JddcError::DuplicateReference {
                path: labels_file.to_path_buf(),
                line,
                reference: reference.to_string(),
                first: f,
            });
        }
        first.insert(reference.to_string(), line);
        out.push((reference.to_string(), intent.to_string(), line));
    }
    Ok(out)
}

/// The labelled messages of `question_file`, in the data's order. Messages without a label are
/// left out ([`read_questions`] lists them all); a label whose reference is not in the data is an
/// error naming the label file and line.
pub fn load(question_file: &Path, labels_file: &Path) -> Result<Vec<LabelledTurn>, JddcError> {
    let messages = read_questions(question_file)?;
    let labels = read_labels(labels_file)?;
    let index: HashMap<&str, usize> =
        messages.iter().enumerate().map(|(i, m)| (m.reference.as_str(), i)).collect();
    let mut intents: Vec<Option<String>> = vec![None; messages.len()];
    for (reference, intent, line) in labels {
        let Some(&i) = index.get(reference.as_str()) else {
            return Err(JddcError::UnknownReference {
                path: labels_file.to_path_buf(),
                line,
                reference,
                data: question_file.to_path_buf(),
            });
        };
        intents[i] = Some(intent);
    }
    Ok(messages
        .into_iter()
        .zip(intents)
        .filter_map(|(m, intent)| {
            intent.map(|intent| LabelledTurn { reference: m.reference, text: m.text, intent })
        })
        .collect())
}

/// The labelled messages as classifier examples, without [`CONTEXT`] and [`SYSTEM`], for
/// [`crate::eval::intents::evaluate`].
pub fn to_examples(turns: &[LabelledTurn]) -> Vec<Example> {
    turns
        .iter()
        .filter(|t| t.intent != CONTEXT && t.intent != SYSTEM)
        .map(|t| Example::new(t.text.clone(), t.intent.clone()))
        .collect()
}

/// How many messages carry each label (including [`CONTEXT`] and [`SYSTEM`]).
pub fn label_counts(turns: &[LabelledTurn]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for t in turns {
        *counts.entry(t.intent.clone()).or_default() += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    // Invented sessions in the JDDC format (not JDDC text).
    const SAMPLE: &str = "<session x_1>\n<context>\nQ:\t在吗\nA:\t您好<sep>在的<sep>NULL\nQ:\t我的台灯到哪了!@@@! !@@@!单号[数字x]\nQ:\t谢谢\n</context>\n<Q1>能开发票吗</Q1>\n<Q2>好的!@@@!那运费呢</Q2>\n</session x_1>\n\n<session y_2>\n<context>\nQ:\t用户发起转人工\nA:\t欢迎<sep>欢迎<sep>欢迎\n</context>\n<Q1>NULL</Q1>\n<Q10>拜拜</Q10>\n</session y_2>\n";

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn parses_references_and_splits_messages() {
        let m = parse_questions(SAMPLE).unwrap();
        let pairs: Vec<(&str, &str)> = m.iter().map(|m| (m.reference.as_str(), m.text.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("x_1/c1.1", "在吗"),
                ("x_1/c2.1", "我的台灯到哪了"),
                ("x_1/c2.2", "单号[数字x]"),
                ("x_1/c3.1", "谢谢"),
                ("x_1/q1.1", "能开发票吗"),
                ("x_1/q2.1", "好的"),
                ("x_1/q2.2", "那运费呢"),
                ("y_2/c1.1", "用户发起转人工"),
                ("y_2/q1.1", "NULL"),
                ("y_2/q10.1", "拜拜"),
            ]
        );
    }

    #[test]
    fn malformed_data_names_the_line() {
        let err = parse_questions("<session a>\n<context>\nX:\tfoo\n").unwrap_err();
        assert_eq!(err.0, 3);
        assert!(parse_questions("Q:\t你好\n").is_err(), "a turn outside a session");
        assert!(parse_questions("<session a>\nQ:\t你好\n").is_err(), "an unclosed session");
        assert!(parse_questions("<session a>\n<Q1>你好</Q2>\n</session a>\n").is_err());
    }

    #[test]
    fn loads_labels_and_converts_to_examples() {
        let dir = tempfile::tempdir().unwrap();
        let q = write(dir.path(), "q.txt", SAMPLE);
        let labels = "# ref<TAB>intent\n\nx_1/c1.1\tgreeting\nx_1/c2.1\torder_status\nx_1/c2.2\tcontext\n\
                      x_1/q2.2\tshipping_delivery\ny_2/c1.1\tsystem\ny_2/q10.1\tthanks_goodbye\n";
        let l = write(dir.path(), "labels.tsv", labels);
        let turns = load(&q, &l).unwrap();
        assert_eq!(turns.len(), 6);
        assert_eq!(
            turns[1],
            LabelledTurn {
                reference: "x_1/c2.1".into(),
                text: "我的台灯到哪了".into(),
                intent: "order_status".into()
            }
        );
        let counts = label_counts(&turns);
        assert_eq!(counts["context"], 1);
        assert_eq!(counts["system"], 1);
        let examples = to_examples(&turns);
        let got: Vec<(&str, &str)> = examples.iter().map(|e| (e.text.as_str(), e.label.as_str())).collect();
        assert_eq!(
            got,
            [
                ("在吗", "greeting"),
                ("我的台灯到哪了", "order_status"),
                ("那运费呢", "shipping_delivery"),
                ("拜拜", "thanks_goodbye"),
            ]
        );
    }

    #[test]
    fn label_errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let q = write(dir.path(), "q.txt", SAMPLE);
        let cases = [
            ("x_1/c1.1\tgreeting\nx_1/c9.1\tgreeting\n", 2, "is not in"),
            ("# c\nx_1/c1.1 greeting\n", 2, "bad label line"),
            ("x_1/c1.1\tgreetings\n", 1, "unknown intent"),
            ("x_1/c1.1\tgreeting\n\nx_1/c1.1\tcontext\n", 3, "labelled twice"),
        ];
        for (labels, line, what) in cases {
            let l = write(dir.path(), "labels.tsv", labels);
            let err = load(&q, &l).unwrap_err().to_string();
            assert!(err.contains(&format!("labels.tsv:{line}:")), "{err}");
            assert!(err.contains(what), "{err}");
        }
        let missing = load(&dir.path().join("nope.txt"), &dir.path().join("labels.tsv")).unwrap_err();
        assert!(matches!(missing, JddcError::Io { .. }));
    }

    /// The shipped labels cover every message of the real data exactly once (skips without it).
    #[test]
    fn shipped_labels_cover_the_data() {
        let Some(q) = default_question_file() else {
            eprintln!("skipped: JDDC data not found (../shared/data/jddc_dev, or set KEFU_SHARED_DATA)");
            return;
        };
        let messages = read_questions(&q).unwrap();
        let turns = load(&q, &default_labels_file()).unwrap();
        assert_eq!(turns.len(), messages.len(), "every message is labelled");
    }

    /// The shipped intent model on the JDDC labels. Slow-ish and informative, not a gate:
    /// `cargo test --release --lib eval::jddc -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn shipped_model_on_jddc() {
        let Some(q) = default_question_file() else {
            eprintln!("skipped: JDDC data not found");
            return;
        };
        let turns = load(&q, &default_labels_file()).unwrap();
        let examples = to_examples(&turns);
        let model = crate::intent::IntentModel::load(&project_root().join("models/intent")).unwrap();
        let report = crate::eval::intents::evaluate(&model, &examples).unwrap();
        // the report keeps only the top confusions: count out-of-scope calls directly
        let oos = crate::intent::labels::OUT_OF_SCOPE;
        let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
        let probs = model.probabilities(&texts).unwrap();
        let store = examples.iter().filter(|e| e.label != oos).count();
        let called_oos = examples
            .iter()
            .zip(&probs)
            .filter(|(e, p)| e.label != oos && model.decide(p, 1).intent == oos)
            .count();
        println!("labels: {:?}", label_counts(&turns));
        print!("{}", report.render());
        println!("store questions called out_of_scope: {called_oos}/{store}");
    }
}
