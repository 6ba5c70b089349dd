//! What a shopper stumbled on in the widget (issue 17), end to end: a real tokio-tungstenite
//! client against the real server on 127.0.0.1, several turns deep, in Chinese and English.

mod common;

use common::server::TestServer;
use common::ws::Client;
use serde_json::{json, Value};

/// A guest (optionally on a product page) who said hello.
async fn guest(s: &TestServer, context: Option<Value>) -> Client {
    let mut hello = json!({});
    if let Some(c) = context {
        hello["context"] = c;
    }
    Client::shopper_with(s.addr, hello).await.0
}

/// One shopper message: the bot's replies to it (texts, FAQ ids, product cards' skus).
async fn say(c: &mut Client, text: &str) -> Vec<Value> {
    let (before, after) = c.turn(text, None).await;
    assert!(before.is_empty(), "nothing before the ack: {before:?}");
    after.into_iter().filter(|f| f["type"] == "reply").collect()
}

fn texts(replies: &[Value]) -> String {
    replies.iter().map(|r| r["text"].as_str().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// Item 1: "I'm" is never the size M, in English or in a Chinese message, typed with a straight
/// or a curly apostrophe, and a later follow-up does not inherit an M that was never asked.
#[tokio::test]
async fn i_m_is_never_read_as_the_size_m() {
    let s = TestServer::start().await;

    let mut c = guest(&s, None).await;
    let r = say(&mut c, "I’m wondering if the chinos come in black").await;
    let text = texts(&r);
    assert!(text.contains("Black is in stock in: S, M, L, XL, XXL"), "{text}");
    assert!(!text.contains("in M"), "{text}");
    let r = say(&mut c, "I'm wondering about navy too").await;
    let text = texts(&r);
    assert!(text.contains("Navy is in stock in"), "no size carried over: {text}");
    let r = say(&mut c, "and in L?").await;
    assert!(texts(&r).contains("Navy in L: in stock"), "{r:?}");

    let mut c = guest(&s, None).await;
    let r = say(&mut c, "弹力修身休闲裤有黑色吗").await;
    assert!(texts(&r).contains("黑色有货的尺码"), "{r:?}");
    let r = say(&mut c, "I’m 175 这条有卡其色吗").await;
    let text = texts(&r);
    assert!(text.contains("卡其色有货的尺码"), "{text}");
    assert!(!text.contains("M码"), "{text}");
    let r = say(&mut c, "那黑色的呢").await;
    let text = texts(&r);
    assert!(text.contains("黑色有货的尺码"), "no size M in focus: {text}");
}
