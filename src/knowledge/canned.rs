//! Canned responses: the ready-made replies human agents pick by title, one language each.
//! `knowledge/canned.toml` holds the shipped ones; the store keeps the live, editable copies
//! (seeded from this file, never overwritten by it).
//!
//! ```toml
//! [[canned]]
//! id = "greeting-zh"        # stable id: lowercase letters, digits, '-'
//! lang = "zh"               # zh | en
//! title = "问候"            # the shortcut agents pick it by
//! text = "亲，您好～欢迎光临栖木生活……"
//! ```
//!
//! The field rules ([`check_id`], [`check_lang`], [`check_title`], [`check_text`]) are the same
//! for the file and for the staff API that edits the stored copies.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::diagnostic::{parse_toml, Diagnostic, Diagnostics, LineIndex};
use crate::lang::Lang;

/// Longest text of a canned response, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Longest title, in characters (a title is a shortcut, not a sentence).
pub const MAX_TITLE_CHARS: usize = 100;
/// Longest id, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// One validated canned response of the knowledge base.
#[derive(Debug, Clone, Serialize)]
pub struct Canned {
    pub id: String,
    pub lang: Lang,
    pub title: String,
    pub text: String,
    /// File and line of the entry, for messages.
    pub file: String,
    pub line: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    canned: Vec<Spanned<RawCanned>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCanned {
    id: Option<Spanned<String>>,
    lang: Option<Spanned<String>>,
    title: Option<Spanned<String>>,
    text: Option<Spanned<String>>,
}

/// An id as the file and the API accept it: 1–64 lowercase letters, digits and '-', not
/// starting with '-'.
pub fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "bad id {id:?}: use up to {MAX_ID_LEN} lowercase letters, digits and '-' (e.g. \"greeting-zh\")"
        ))
    }
}

/// The language of a canned response: exactly "zh" or "en".
pub fn check_lang(lang: &str) -> Result<Lang, String> {
    Lang::ALL
        .into_iter()
        .find(|l| l.code() == lang)
        .ok_or_else(|| format!("bad lang {lang:?}: use \"zh\" or \"en\""))
}

/// The title, trimmed: not empty, at most [`MAX_TITLE_CHARS`] characters.
pub fn check_title(title: &str) -> Result<&str, String> {
    let t = title.trim();
    let n = t.chars().count();
    if t.is_empty() {
        Err("empty title".into())
    } else if n > MAX_TITLE_CHARS {
        Err(format!("title is {n} characters long, at most {MAX_TITLE_CHARS} allowed"))
    } else {
        Ok(t)
    }
}

/// The text, trimmed: not empty, at most [`MAX_TEXT_CHARS`] characters.
pub fn check_text(text: &str) -> Result<&str, String> {
    let t = text.trim();
    let n = t.chars().count();
    if t.is_empty() {
        Err("empty text".into())
    } else if n > MAX_TEXT_CHARS {
        Err(format!("text is {n} characters long, at most {MAX_TEXT_CHARS} allowed"))
    } else {
        Ok(t)
    }
}

/// Parses and validates the canned-responses file. Problems are added to `diags`; the entries
/// that are valid are returned (the caller refuses the whole knowledge base when `diags` is
/// non-empty). Ids must be unique within the file.
pub fn parse_file(path: &Path, text: &str, diags: &mut Diagnostics) -> Vec<Canned> {
    let lines = LineIndex::new(text);
    let raw: RawFile = match parse_toml(path, text, &lines) {
        Ok(raw) => raw,
        Err(d) => {
            diags.push(d);
            return Vec::new();
        }
    };
    let file = path.display().to_string();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for entry in raw.canned {
        let entry_line = lines.line(entry.span().start);
        let raw = entry.into_inner();
        let before = diags.len();
        let mut err = |line: usize, msg: String| diags.push(Diagnostic::new(path, Some(line), msg));
        let id = match &raw.id {
            Some(id) => {
                if let Err(why) = check_id(id.get_ref()) {
                    err(lines.line(id.span().start), why);
                }
                id.get_ref().clone()
            }
            None => {
                err(entry_line, "canned response has no id".into());
                String::new()
            }
        };
        let label = if id.is_empty() { "canned response".to_string() } else { format!("canned {id:?}") };
        if !id.is_empty() {
            if let Some(first) = first_line.get(&id) {
                err(entry_line, format!("duplicate canned id {id:?} (first defined at {file}:{first})"));
            } else {
                first_line.insert(id.clone(), entry_line);
            }
        }
        let lang = match &raw.lang {
            Some(l) => check_lang(l.get_ref())
                .map_err(|why| err(lines.line(l.span().start), format!("{label}: {why}")))
                .ok(),
            None => {
                err(entry_line, format!("{label}: missing lang"));
                None
            }
        };
        let mut field = |name: &str,
                         value: &Option<Spanned<String>>,
                         check: fn(&str) -> Result<&str, String>| {
            match value {
                Some(v) => match check(v.get_ref()) {
                    Ok(v) => v.to_string(),
                    Err(why) => {
                        err(lines.line(v.span().start), format!("{label}: {why}"));
                        String::new()
                    }
                },
                None => {
                    err(entry_line, format!("{label}: missing {name}"));
                    String::new()
                }
            }
        };
        let title = field("title", &raw.title, check_title);
        let text = field("text", &raw.text, check_text);
        if let (true, Some(lang)) = (diags.len() == before, lang) {
            out.push(Canned { id, lang, title, text, file: file.clone(), line: entry_line });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[canned]]
id = "greeting-zh"
lang = "zh"
title = "问候"
text = "亲，您好～"

[[canned]]
id = "greeting-en"
lang = "en"
title = "Greeting"
text = """
Hello, welcome!
"""
"#;

    fn parse(text: &str) -> (Vec<Canned>, Vec<String>) {
        let mut diags = Diagnostics::default();
        let out = parse_file(Path::new("knowledge/canned.toml"), text, &mut diags);
        (out, diags.iter().map(|d| d.to_string()).collect())
    }

    fn has(problems: &[String], line: usize, needle: &str) -> bool {
        problems
            .iter()
            .any(|p| p.starts_with(&format!("knowledge/canned.toml:{line}:")) && p.contains(needle))
    }

    #[test]
    fn a_valid_file_parses_with_trimmed_texts() {
        let (out, p) = parse(GOOD);
        assert_eq!(p, Vec::<String>::new());
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].id.as_str(), out[0].lang, out[0].line), ("greeting-zh", Lang::Zh, 2));
        assert_eq!((out[1].lang, out[1].text.as_str()), (Lang::En, "Hello, welcome!"));
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let (_, p) = parse(&GOOD.replace("title = \"Greeting\"", "title = \"Greeting\"\ntags = [\"x\"]"));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(has(&p, 12, "tags"), "{p:?}");
        let (_, p) = parse("[[canned_response]]\nid = \"x\"\n");
        assert!(p.len() == 1 && p[0].contains("canned_response"), "{p:?}");
    }

    #[test]
    fn missing_and_empty_fields_and_bad_lang_are_all_reported() {
        let text = r#"[[canned]]
lang = "zh"
title = "问候"
text = "亲"

[[canned]]
id = "two"
lang = "fr"
title = "  "

[[canned]]
id = "Three"
lang = "zh-cn"
title = "x"
text = ""
"#;
        let (out, p) = parse(text);
        assert!(out.is_empty());
        assert!(has(&p, 1, "canned response has no id"), "{p:?}");
        assert!(has(&p, 8, "canned \"two\": bad lang \"fr\""), "{p:?}");
        assert!(has(&p, 9, "canned \"two\": empty title"), "{p:?}");
        assert!(has(&p, 6, "canned \"two\": missing text"), "{p:?}");
        assert!(has(&p, 12, "bad id \"Three\""), "{p:?}");
        assert!(has(&p, 13, "bad lang \"zh-cn\""), "only zh and en exactly: {p:?}");
        assert!(has(&p, 15, "empty text"), "{p:?}");
        assert_eq!(p.len(), 7, "{p:?}");
    }

    #[test]
    fn duplicate_ids_name_both_places() {
        let (out, p) = parse(&GOOD.replace("greeting-en", "greeting-zh"));
        assert_eq!(out.len(), 1);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            has(&p, 8, "duplicate canned id \"greeting-zh\" (first defined at knowledge/canned.toml:2)"),
            "{p:?}"
        );
    }

    #[test]
    fn over_long_text_is_refused() {
        let long = "好".repeat(MAX_TEXT_CHARS + 1);
        let (_, p) = parse(&GOOD.replace("亲，您好～", &long));
        assert!(has(&p, 6, "text is 2001 characters long, at most 2000 allowed"), "{p:?}");
        let exact = "好".repeat(MAX_TEXT_CHARS);
        assert_eq!(parse(&GOOD.replace("亲，您好～", &exact)).1, Vec::<String>::new());
    }

    #[test]
    fn bad_syntax_names_the_line() {
        let (_, p) = parse("[[canned]]\nid = \"x\"\ntext = \"unterminated\n");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(has(&p, 3, "bad syntax"), "{p:?}");
    }
}
