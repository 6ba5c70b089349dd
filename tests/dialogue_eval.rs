//! The held-out multi-turn dialogue evaluation (`knowledge/eval/dialogues.toml`, `kefu eval
//! dialogue`) on the shipped knowledge base and intent model. The floors are what is measured:
//! 147 of 163 turns when the set was written, every turn since the router fixes that followed
//! (docs/quality.md). A change that makes a turn fail must say why.

use std::path::Path;

use kefu::eval::dialogue;
use kefu::knowledge::KnowledgeBase;
use kefu::lang::Lang;

/// Turns (of 163) and conversations (of 58) that pass.
const TURNS_PASSED: usize = 163;
const CONVERSATIONS_PASSED: usize = 58;
/// Turns passed per language (zh of 89, en of 74).
const ZH_TURNS_PASSED: usize = 89;
const EN_TURNS_PASSED: usize = 74;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn the_shipped_dialogues_pass_at_least_as_often_as_measured() {
    let kb = KnowledgeBase::load(&root().join("knowledge")).unwrap();
    let conversations =
        dialogue::load(&dialogue::default_data(&kb.root), &kb).unwrap_or_else(|d| panic!("{d}"));
    assert!(conversations.len() >= 40, "{} conversations", conversations.len());
    for lang in Lang::ALL {
        let n = conversations.iter().filter(|c| c.lang == lang).count();
        assert!(n >= 20, "{n} conversations in {lang}");
    }
    let engines = dialogue::engines(&kb, &root().join("models/intent")).unwrap();
    let report = dialogue::evaluate(&kb, engines, &conversations, dialogue::demo_now()).await.unwrap();
    let text = report.render(false);
    eprintln!("{text}");
    for kind in dialogue::KINDS {
        assert!(report.per_kind.contains_key(kind), "no turn measures {kind}");
    }
    assert!(report.overall.turns_passed >= TURNS_PASSED, "fewer turns pass than measured:\n{text}");
    assert!(
        report.overall.conversations_passed >= CONVERSATIONS_PASSED,
        "fewer conversations pass than measured:\n{text}"
    );
    assert!(report.per_lang[&Lang::Zh].turns_passed >= ZH_TURNS_PASSED, "{text}");
    assert!(report.per_lang[&Lang::En].turns_passed >= EN_TURNS_PASSED, "{text}");
}

#[test]
fn a_bad_entry_is_named_by_conversation_turn_and_line() {
    let kb = KnowledgeBase::load(&root().join("knowledge")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dialogues.toml");
    std::fs::write(
        &path,
        r#"
[[conversation]]
id = "ok-one"
kind = "position"
shopper = "S1001"
turns = [
  { text = "我的快递到哪了", order_cards = 5 },
  { text = "第二个", card_ordr = "261123115788241675" },
  { text = "第三个" },
]

[[conversation]]
id = "bad-header"
kind = "positions"
shoper = "S1001"
turns = [{ text = "hi", decision = "greeting" }]

[[conversation]]
id = "bad-refs"
kind = "tap"
turns = [{ text = "问这件", tap = { product = "NO-SUCH" }, card_order = "123" }]
"#,
    )
    .unwrap();
    let problems = dialogue::load(&path, &kb).unwrap_err().to_string();
    for expected in [
        ":8: conversation \"ok-one\", turn 2: unknown field `card_ordr`",
        ":9: conversation \"ok-one\", turn 3: nothing to check",
        ":12: conversation \"bad-header\": unknown field `shoper`",
        ":21: conversation \"bad-refs\", turn 1: tap: unknown product \"NO-SUCH\"",
        "conversation \"bad-refs\", turn 1: expected card: unknown order \"123\"",
    ] {
        assert!(problems.contains(expected), "{expected:?} not in:\n{problems}");
    }
}
