//! Issue 15, item 7: a shopper's control characters and terminal escape sequences never reach
//! the CSV export.

mod common;

use common::server::TestServer;
use common::ws::Client;
use kefu::store::prelude::*;
use serde_json::json;

#[tokio::test]
async fn ansi_escape_sequences_from_a_shopper_are_stripped_from_the_csv_export() {
    let s = TestServer::start_with(|_| {}).await;
    let (mut c, conv) = Client::shopper(s.addr, None).await;
    c.say("发票怎么开\u{1b}[2J").await;
    c.send(json!({"type": "end"})).await;
    c.until_type("rating_request").await;
    let comment = "\u{1b}[31mred\u{1b}[0m \u{1b}]0;pwned\u{7}title\u{7f}\u{85}\u{9b}1;1Hok\u{0}\r\nline\ttab";
    c.send(json!({"type": "rating", "score": 4, "comment": comment})).await;
    c.until_type("reply").await;
    let records = s.app.store.feedback_since(String::new()).await.unwrap();
    let r = common::server::record_of(&records, &conv);
    // what was sent, but a NUL made visible (U+FFFD): PostgreSQL cannot store U+0000 in text
    let kept = comment.replace('\0', "\u{fffd}");
    assert_eq!(r["comment"], kept, "the stored record keeps what was sent");

    let csv = kefu::store::export::render(&records, true).unwrap();
    let line = csv.split("\n").skip(1).collect::<Vec<_>>().join("\n");
    assert!(line.contains(&conv));
    for bad in ['\u{1b}', '\u{7}', '\u{7f}', '\u{85}', '\u{9b}', '\u{0}', '\r'] {
        assert!(!line.contains(bad), "{bad:?} in {line:?}");
    }
    assert!(!line.contains("[31m") && !line.contains("[0m") && !line.contains("pwned"), "{line:?}");
    assert!(line.contains("red title") || line.contains("red titleok"), "{line:?}");
    assert!(line.contains("line\ttab"), "tab and newline are kept: {line:?}");
}

#[test]
fn an_escape_sequence_cannot_hide_a_formula() {
    let records = vec![serde_json::from_value(json!({
        "conversation_id": "c1", "shopper_id": null, "lang": "zh", "started_at": "", "ended_at": "",
        "shopper_messages": 1, "bot_messages": 1, "agent_messages": 0, "resolution": "abandoned",
        "comment": "\u{1b}[0m=HYPERLINK(\"http://x\")",
        "faq_ids": ["\u{1b}[1m+a", "b"],
    }))
    .unwrap()];
    let csv = kefu::store::export::render(&records, true).unwrap();
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(csv.contains("'+a|b"), "{csv}");
    assert!(!csv.contains('\u{1b}'), "{csv}");
    assert_eq!(
        kefu::store::export::strip_controls("a\u{1b}[38;5;196mb\u{1b}(Bc\u{1b}]8;;http://x\u{1b}\\d"),
        "abcd"
    );
}
