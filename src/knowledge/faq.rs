//! FAQ entries: the TOML format under `knowledge/faq/`, its validation and the in-memory model.
//!
//! ```toml
//! [[faq]]
//! id = "return-7day-policy"
//! category = "after-sale"
//! intent = "return_refund"
//! tags = ["七天无理由", "return"]
//! [faq.zh]
//! questions = ["七天无理由怎么退", "亲 衣服不喜欢能退吗", "收到货几天内可以退货"]
//! answer = "亲，……"
//! [faq.en]
//! questions = ["can i return it", "whats the 7 day return policy", "how long do i have to return"]
//! answer = "Yes, ..."
//! ```

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::diagnostic::{parse_toml, Diagnostic, Diagnostics, LineIndex};
use crate::intent::labels::is_store_intent;
use crate::lang::Lang;

/// Fewest question phrasings an entry must have per language.
pub const MIN_QUESTIONS_PER_LANG: usize = 3;
/// Limits on entries edited over the API.
pub const MAX_QUESTIONS_PER_LANG: usize = 100;
pub const MAX_QUESTION_CHARS: usize = 300;
pub const MAX_ANSWER_CHARS: usize = 4000;
pub const MAX_TAGS: usize = 30;

/// Where an FAQ sits in the shopping journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    PreSale,
    InSale,
    AfterSale,
    Account,
    Policy,
}

impl Category {
    pub const ALL: [Category; 5] =
        [Category::PreSale, Category::InSale, Category::AfterSale, Category::Account, Category::Policy];

    pub fn name(self) -> &'static str {
        match self {
            Category::PreSale => "pre-sale",
            Category::InSale => "in-sale",
            Category::AfterSale => "after-sale",
            Category::Account => "account",
            Category::Policy => "policy",
        }
    }

    fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.name() == s)
    }
}

/// The questions and the answer of an FAQ in one language.
#[derive(Debug, Clone, Serialize)]
pub struct LangContent {
    pub questions: Vec<String>,
    pub answer: String,
}

/// One validated FAQ entry.
#[derive(Debug, Clone, Serialize)]
pub struct Faq {
    pub id: String,
    pub category: Category,
    pub intent: Option<String>,
    pub tags: Vec<String>,
    pub zh: LangContent,
    pub en: LangContent,
    /// File and line of the entry, for messages.
    pub file: String,
    pub line: usize,
}

impl Faq {
    pub fn content(&self, lang: Lang) -> &LangContent {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }

    pub fn answer(&self, lang: Lang) -> &str {
        &self.content(lang).answer
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    faq: Vec<Spanned<RawFaq>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFaq {
    id: Option<Spanned<String>>,
    category: Option<Spanned<String>>,
    intent: Option<Spanned<String>>,
    #[serde(default)]
    tags: Vec<Spanned<String>>,
    zh: Option<Spanned<RawLang>>,
    en: Option<Spanned<RawLang>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLang {
    questions: Option<Spanned<Vec<Spanned<String>>>>,
    answer: Option<Spanned<String>>,
}

/// Parses and validates one FAQ file. Problems are added to `diags`; the entries that are valid
/// are returned (the caller refuses the whole knowledge base when `diags` is non-empty).
pub fn parse_file(path: &Path, text: &str, diags: &mut Diagnostics) -> Vec<Faq> {
    let lines = LineIndex::new(text);
    let raw: RawFile = match parse_toml(path, text, &lines) {
        Ok(raw) => raw,
        Err(d) => {
            diags.push(d);
            return Vec::new();
        }
    };
    let file = path.display().to_string();
    let mut out = Vec::new();
    for entry in raw.faq {
        let entry_line = lines.line(entry.span().start);
        let raw = entry.into_inner();
        let mut ok = true;
        let mut err = |line: usize, msg: String| {
            diags.push(Diagnostic::new(path, Some(line), msg));
        };
        let id = match &raw.id {
            Some(id) if is_valid_id(id.get_ref()) => id.get_ref().clone(),
            Some(id) => {
                err(
                    lines.line(id.span().start),
                    format!(
                        "bad id {:?}: use lowercase letters, digits and '-' (e.g. \"return-7day-policy\")",
                        id.get_ref()
                    ),
                );
                ok = false;
                String::new()
            }
            None => {
                err(entry_line, "FAQ entry has no id".into());
                ok = false;
                String::new()
            }
        };
        let label = if id.is_empty() { "FAQ entry".to_string() } else { format!("FAQ {id:?}") };
        let category = match &raw.category {
            Some(c) => match Category::parse(c.get_ref()) {
                Some(c) => Some(c),
                None => {
                    let known: Vec<_> = Category::ALL.iter().map(|c| c.name()).collect();
                    err(
                        lines.line(c.span().start),
                        format!("{label}: unknown category {:?} (known: {})", c.get_ref(), known.join(", ")),
                    );
                    None
                }
            },
            None => {
                err(entry_line, format!("{label}: missing category"));
                None
            }
        };
        if let Some(intent) = &raw.intent {
            if !is_store_intent(intent.get_ref()) {
                err(
                    lines.line(intent.span().start),
                    format!("{label}: unknown intent {:?}", intent.get_ref()),
                );
                ok = false;
            }
        }
        let mut tags = Vec::new();
        for t in &raw.tags {
            if t.get_ref().trim().is_empty() {
                err(lines.line(t.span().start), format!("{label}: empty tag"));
                ok = false;
            } else {
                tags.push(t.get_ref().trim().to_string());
            }
        }
        let mut content = |lang: Lang, block: &Option<Spanned<RawLang>>| -> Option<LangContent> {
            let Some(block) = block else {
                diags.push(Diagnostic::new(
                    path,
                    Some(entry_line),
                    format!("{label}: missing language {lang} (add a [faq.{lang}] table)"),
                ));
                return None;
            };
            let block_line = lines.line(block.span().start);
            let b = block.get_ref();
            let mut good = true;
            let mut questions = Vec::new();
            let (raw_questions, questions_line) = match &b.questions {
                Some(q) => (q.get_ref().as_slice(), lines.line(q.span().start)),
                None => (&[][..], block_line),
            };
            for q in raw_questions {
                if q.get_ref().trim().is_empty() {
                    diags.push(Diagnostic::new(
                        path,
                        Some(lines.line(q.span().start)),
                        format!("{label}: empty {lang} question"),
                    ));
                    good = false;
                } else {
                    questions.push(q.get_ref().trim().to_string());
                }
            }
            if raw_questions.len() < MIN_QUESTIONS_PER_LANG {
                diags.push(Diagnostic::new(
                    path,
                    Some(questions_line),
                    format!(
                        "{label}: {} {lang} question(s), at least {MIN_QUESTIONS_PER_LANG} needed",
                        raw_questions.len()
                    ),
                ));
                good = false;
            }
            let answer = match &b.answer {
                Some(a) if !a.get_ref().trim().is_empty() => a.get_ref().trim().to_string(),
                Some(a) => {
                    diags.push(Diagnostic::new(
                        path,
                        Some(lines.line(a.span().start)),
                        format!("{label}: empty {lang} answer"),
                    ));
                    good = false;
                    String::new()
                }
                None => {
                    diags.push(Diagnostic::new(
                        path,
                        Some(block_line),
                        format!("{label}: missing {lang} answer"),
                    ));
                    good = false;
                    String::new()
                }
            };
            good.then_some(LangContent { questions, answer })
        };
        let zh = content(Lang::Zh, &raw.zh);
        let en = content(Lang::En, &raw.en);
        if let (true, Some(category), Some(zh), Some(en)) = (ok, category, zh, en) {
            out.push(Faq {
                id,
                category,
                intent: raw.intent.map(|i| i.into_inner()),
                tags,
                zh,
                en,
                file: file.clone(),
                line: entry_line,
            });
        }
    }
    out
}

/// Reports ids used by more than one entry, across all files.
pub fn check_duplicate_ids(faqs: &[Faq], diags: &mut Diagnostics) {
    let mut seen: HashMap<&str, &Faq> = HashMap::new();
    for f in faqs {
        if let Some(first) = seen.get(f.id.as_str()) {
            diags.push(Diagnostic::new(
                Path::new(&f.file),
                Some(f.line),
                format!("duplicate FAQ id {:?} (first defined at {}:{})", f.id, first.file, first.line),
            ));
        } else {
            seen.insert(&f.id, f);
        }
    }
}

fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
}

/// An FAQ entry as trainers edit it over the API and as it is stored: the file format's fields,
/// as JSON. It becomes a validated [`Faq`] only through [`FaqDoc::validate`], which runs the
/// same checks (and gives the same messages) as `kefu check`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaqDoc {
    pub id: String,
    pub category: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub zh: LangDoc,
    pub en: LangDoc,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LangDoc {
    pub questions: Vec<String>,
    pub answer: String,
}

impl From<&Faq> for FaqDoc {
    fn from(f: &Faq) -> FaqDoc {
        let lang = |c: &LangContent| LangDoc { questions: c.questions.clone(), answer: c.answer.clone() };
        FaqDoc {
            id: f.id.clone(),
            category: f.category.name().to_string(),
            intent: f.intent.clone(),
            tags: f.tags.clone(),
            zh: lang(&f.zh),
            en: lang(&f.en),
        }
    }
}

/// A TOML basic string (quoted and escaped).
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn toml_list(items: &[String]) -> String {
    if items.is_empty() {
        return "[]".into();
    }
    let body: Vec<String> = items.iter().map(|i| format!("  {},", toml_str(i))).collect();
    format!("[\n{}\n]", body.join("\n"))
}

impl FaqDoc {
    /// The entry in the knowledge-base file format (one `[[faq]]` table).
    pub fn to_toml(&self) -> String {
        let mut out =
            format!("[[faq]]\nid = {}\ncategory = {}\n", toml_str(&self.id), toml_str(&self.category));
        if let Some(i) = &self.intent {
            out += &format!("intent = {}\n", toml_str(i));
        }
        let tags: Vec<String> = self.tags.iter().map(|t| toml_str(t)).collect();
        out += &format!("tags = [{}]\n", tags.join(", "));
        for (lang, c) in [("zh", &self.zh), ("en", &self.en)] {
            out += &format!(
                "\n[faq.{lang}]\nquestions = {}\nanswer = {}\n",
                toml_list(&c.questions),
                toml_str(&c.answer)
            );
        }
        out
    }

    /// Validates the entry with the knowledge base's own checks; the problems are the messages
    /// `kefu check` would print for it.
    pub fn validate(&self) -> Result<Faq, Vec<String>> {
        let path = Path::new("faq.toml");
        let mut diags = Diagnostics::default();
        let mut faqs = parse_file(path, &self.to_toml(), &mut diags);
        let mut problems: Vec<String> = diags.0.into_iter().map(|d| d.message).collect();
        problems.extend(self.size_problems());
        match (problems.is_empty(), faqs.pop()) {
            (true, Some(f)) => Ok(f),
            _ => Err(problems),
        }
    }

    /// Limits on an edited entry (a shopper gets the answer; every phrasing is compared with
    /// their question).
    fn size_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let id = &self.id;
        if self.tags.len() > MAX_TAGS {
            out.push(format!("FAQ {id:?}: {} tags, at most {MAX_TAGS}", self.tags.len()));
        }
        for (lang, c) in [("zh", &self.zh), ("en", &self.en)] {
            if c.questions.len() > MAX_QUESTIONS_PER_LANG {
                let n = c.questions.len();
                out.push(format!("FAQ {id:?}: {n} {lang} questions, at most {MAX_QUESTIONS_PER_LANG}"));
            }
            if c.questions.iter().any(|q| q.chars().count() > MAX_QUESTION_CHARS) {
                out.push(format!(
                    "FAQ {id:?}: a {lang} question is longer than {MAX_QUESTION_CHARS} characters"
                ));
            }
            if c.answer.chars().count() > MAX_ANSWER_CHARS {
                out.push(format!(
                    "FAQ {id:?}: the {lang} answer is longer than {MAX_ANSWER_CHARS} characters"
                ));
            }
        }
        out
    }
}

/// Entries as knowledge-base files: one file per category (`after-sale` → `after_sale.toml`).
pub fn to_files(docs: &[FaqDoc]) -> Vec<(String, String)> {
    let mut by_file: std::collections::BTreeMap<String, Vec<&FaqDoc>> = Default::default();
    for d in docs {
        by_file.entry(format!("{}.toml", d.category.replace('-', "_"))).or_default().push(d);
    }
    by_file
        .into_iter()
        .map(|(name, docs)| {
            let mut text = String::from(
                "# Written by `kefu kb export` from the knowledge base as trainers edited it.\n\
                 # Every fact here must agree with knowledge/STORE_POLICY.md.\n",
            );
            for d in docs {
                text += "\n";
                text += &d.to_toml();
            }
            (name, text)
        })
        .collect()
}

#[cfg(test)]
mod doc_tests {
    use super::*;

    #[test]
    fn documents_round_trip_and_are_checked_like_files() {
        let doc = FaqDoc {
            id: "gift-wrap".into(),
            category: "pre-sale".into(),
            intent: Some("product_question".into()),
            tags: vec!["礼品".into()],
            zh: LangDoc {
                questions: vec!["能包装成礼物吗".into(), "有礼盒吗".into(), "送人能\"包装\"吗".into()],
                answer: "亲，可以的。\n下单备注即可。".into(),
            },
            en: LangDoc {
                questions: vec![
                    "gift wrap?".into(),
                    "do you have gift boxes".into(),
                    "can you wrap it".into(),
                ],
                answer: "Yes.".into(),
            },
        };
        let faq = doc.validate().unwrap();
        assert_eq!(FaqDoc::from(&faq), doc);
        let mut bad = doc.clone();
        bad.en.questions.truncate(1);
        bad.category = "sale".into();
        let problems = bad.validate().unwrap_err();
        assert!(problems.iter().any(|p| p.contains("unknown category \"sale\"")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("1 en question(s), at least 3 needed")), "{problems:?}");
    }
}
