//! The knowledge base refuses bad files with messages that name the file and the line.

use std::fs;
use std::path::{Path, PathBuf};

use kefu::knowledge::KnowledgeBase;

const GOOD_ENTRY: &str = r#"
[[faq]]
id = "gift-wrap"
category = "pre-sale"
intent = "product_question"
tags = ["礼盒", "gift"]

[faq.zh]
questions = ["能包成礼物吗", "有礼盒吗", "送人的 可以包装吗"]
answer = "亲，结算时选择礼盒包装即可，免费。"

[faq.en]
questions = ["can you gift wrap it", "gift box?", "is gift wrapping free"]
answer = "Yes: choose gift wrap at checkout, it's free."
"#;

/// A knowledge folder with the shipped catalog and demo data and the given FAQ files.
fn kb_with(faq_files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("knowledge");
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    for sub in ["catalog", "demo"] {
        fs::create_dir_all(root.join(sub)).unwrap();
        for e in fs::read_dir(shipped.join(sub)).unwrap() {
            let e = e.unwrap();
            fs::copy(e.path(), root.join(sub).join(e.file_name())).unwrap();
        }
    }
    fs::create_dir_all(root.join("faq")).unwrap();
    for (name, text) in faq_files {
        fs::write(root.join("faq").join(name), text).unwrap();
    }
    (dir, root)
}

fn problems(root: &Path) -> Vec<String> {
    match KnowledgeBase::load(root) {
        Ok(_) => Vec::new(),
        Err(d) => d.iter().map(|d| d.to_string()).collect(),
    }
}

fn has(problems: &[String], file: &str, line: usize, needle: &str) -> bool {
    problems.iter().any(|p| p.contains(&format!("{file}:{line}:")) && p.contains(needle))
}

#[test]
fn shipped_knowledge_base_is_valid_and_complete() {
    let kb = KnowledgeBase::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge")).unwrap();
    assert!(kb.faqs.len() >= 80, "{} FAQ entries", kb.faqs.len());
    assert!(kb.products.len() >= 60);
    assert!(kb.orders.len() >= 200);
    assert!(kb.shoppers.len() >= 30);
    for f in &kb.faqs {
        assert!(f.zh.questions.len() >= 3 && f.en.questions.len() >= 3, "{}", f.id);
    }
}

#[test]
fn a_valid_file_loads() {
    let (_d, root) = kb_with(&[("a.toml", GOOD_ENTRY)]);
    assert_eq!(problems(&root), Vec::<String>::new());
}

#[test]
fn duplicate_ids_across_files_name_both_places() {
    let (_d, root) = kb_with(&[("a.toml", GOOD_ENTRY), ("b.toml", GOOD_ENTRY)]);
    let p = problems(&root);
    assert!(has(&p, "b.toml", 2, "duplicate FAQ id \"gift-wrap\""), "{p:?}");
    assert!(p.iter().any(|x| x.contains("a.toml:2")), "first definition named: {p:?}");
}

#[test]
fn missing_language_empty_question_unknown_category_are_all_reported() {
    let text = r#"[[faq]]
id = "one"
category = "pre-sale"
tags = ["x"]
[faq.zh]
questions = ["能包成礼物吗", "有礼盒吗", "送人的 可以包装吗"]
answer = "可以"

[[faq]]
id = "two"
category = "mid-sale"
[faq.zh]
questions = ["a", "b", "c"]
answer = "可以"
[faq.en]
questions = ["a", "  ", "c"]
answer = "yes"
"#;
    let (_d, root) = kb_with(&[("bad.toml", text)]);
    let p = problems(&root);
    assert!(has(&p, "bad.toml", 1, "missing language en"), "{p:?}");
    assert!(has(&p, "bad.toml", 11, "unknown category \"mid-sale\""), "{p:?}");
    assert!(has(&p, "bad.toml", 16, "empty en question"), "{p:?}");
    assert_eq!(p.len(), 3, "{p:?}");
}

#[test]
fn bad_syntax_names_the_line() {
    let text = "[[faq]]\nid = \"x\"\ncategory = \"pre-sale\n";
    let (_d, root) = kb_with(&[("broken.toml", text)]);
    let p = problems(&root);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(has(&p, "broken.toml", 3, "bad syntax"), "{p:?}");
}

#[test]
fn unknown_keys_and_too_few_questions_are_errors() {
    let text = GOOD_ENTRY.replace("intent = \"product_question\"", "intnet = \"x\"");
    let (_d, root) = kb_with(&[("k.toml", &text)]);
    let p = problems(&root);
    assert!(p.iter().any(|x| x.contains("k.toml:") && x.contains("intnet")), "{p:?}");

    let text = GOOD_ENTRY
        .replace(r#"["can you gift wrap it", "gift box?", "is gift wrapping free"]"#, r#"["gift box?"]"#);
    let (_d, root) = kb_with(&[("q.toml", &text)]);
    let p = problems(&root);
    assert!(has(&p, "q.toml", 13, "at least 3 needed"), "{p:?}");
}

#[test]
fn broken_catalog_and_orders_are_refused() {
    let (_d, root) = kb_with(&[("a.toml", GOOD_ENTRY)]);
    let catalog = root.join("catalog/products.toml");
    let text = fs::read_to_string(&catalog).unwrap();
    fs::write(&catalog, text.replacen("category = \"women\"", "category = \"toys\"", 1)).unwrap();
    let orders = root.join("demo/orders.json");
    let text = fs::read_to_string(&orders).unwrap();
    fs::write(&orders, text.replacen("\"shopper_id\": \"S10", "\"shopper_id\": \"X10", 1)).unwrap();
    let p = problems(&root);
    assert!(
        p.iter().any(|x| x.contains("products.toml:") && x.contains("unknown category \"toys\"")),
        "{p:?}"
    );
    assert!(p.iter().any(|x| x.contains("orders.json:") && x.contains("unknown shopper")), "{p:?}");
}

#[test]
fn a_missing_folder_is_a_clear_error() {
    let p = problems(Path::new("/nonexistent/knowledge"));
    assert_eq!(p, vec!["/nonexistent/knowledge: knowledge folder not found".to_string()]);
}
