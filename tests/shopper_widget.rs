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

fn faq_ids(replies: &[Value]) -> Vec<&str> {
    replies.iter().filter_map(|r| r["faq_id"].as_str()).collect()
}

fn card_skus(replies: &[Value]) -> Vec<&str> {
    replies
        .iter()
        .flat_map(|r| r["cards"].as_array().into_iter().flatten())
        .filter_map(|c| c["sku"].as_str())
        .collect()
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

/// Item 2: a fit question about a named product, the product in focus or the page's product
/// gets the store's size advice (the FAQ entry) and that product's sizes, in both languages.
#[tokio::test]
async fn a_fit_question_about_a_product_gets_the_size_advice_and_its_sizes() {
    let s = TestServer::start().await;

    let mut c = guest(&s, None).await;
    let r = say(&mut c, "高腰直筒牛仔裤 身高165 体重110斤 穿什么码").await;
    assert_eq!(faq_ids(&r), ["size-by-height-weight"], "{r:?}");
    let text = texts(&r);
    assert!(text.contains("尺码助手"), "{text}");
    assert!(text.contains("高腰直筒牛仔裤的尺码有：S/M/L/XL/XXL"), "{text}");
    assert_eq!(card_skus(&r), ["QM-WO-002"]);
    // the product stays in focus for the next question
    let r = say(&mut c, "那深蓝色S码有货吗").await;
    assert!(texts(&r).contains("深蓝色S码有货"), "{r:?}");

    let mut c = guest(&s, None).await;
    say(&mut c, "do you have the chinos?").await;
    let r = say(&mut c, "I’m 180cm 75kg, what size should I get?").await;
    assert_eq!(faq_ids(&r), ["size-by-height-weight"], "{r:?}");
    let text = texts(&r);
    assert!(text.contains("size helper"), "{text}");
    assert!(text.contains("Stretch Slim-Fit Chinos comes in S/M/L/XL/XXL"), "{text}");
    assert!(!text.contains("Size M"), "{text}");

    // on a shoe's page: the shoe-size advice and the shoe's sizes
    let mut c = guest(&s, Some(json!({"product": "QM-SH-001"}))).await;
    let r = say(&mut c, "我平时穿38 这双选几码").await;
    let text = texts(&r);
    assert_eq!(faq_ids(&r), ["shoe-size"], "{text}");
    assert!(text.contains("经典低帮帆布鞋的尺码有：35/36"), "{text}");

    // a question about sizes there are is still the catalog's answer alone
    let mut c = guest(&s, None).await;
    let r = say(&mut c, "高腰直筒牛仔裤有什么尺码").await;
    assert!(faq_ids(&r).is_empty(), "{r:?}");
    assert!(texts(&r).contains("目前有货的尺码"), "{r:?}");
}
