//! What a shopper stumbled on in the widget (issue 17), end to end: a real tokio-tungstenite
//! client against the real server on 127.0.0.1, several turns deep, in Chinese and English.

mod common;

use common::server::TestServer;
use common::ws::Client;
use kefu::identity::Role;
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

/// A message's frames after its ack: everything up to the first reply or error and what follows
/// at once (the whole turn).
async fn turn(c: &mut Client, text: &str) -> Vec<Value> {
    c.turn(text, None).await.1
}

fn replies(frames: &[Value]) -> Vec<&Value> {
    frames.iter().filter(|f| f["type"] == "reply").collect()
}

/// Item 5: asking for a person while already waiting says where the shopper stands (or that
/// nobody is online), never "transferring you" again; with nobody online the first answer says
/// so at once, in one line, with the message form.
#[tokio::test]
async fn asking_for_a_person_again_while_waiting_says_where_you_stand() {
    let s = TestServer::start().await;

    // nobody online, in Chinese: one line each time, the second says the shopper is in line
    let mut c = guest(&s, None).await;
    let r = turn(&mut c, "转人工").await;
    assert!(r.iter().any(|f| f["type"] == "status" && f["state"] == "waiting_agent"), "{r:?}");
    let said = replies(&r);
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0]["text"].as_str().unwrap().contains("现在没有人工客服在线"), "{said:?}");
    assert!(!said[0]["text"].as_str().unwrap().contains("正在为您转接"), "{said:?}");
    assert_eq!(said[0]["actions"], json!(["leave_message"]));
    let r = say(&mut c, "七天无理由退货怎么退").await;
    assert!(r[0]["faq_id"].is_string(), "the bot answers while the shopper waits: {r:?}");
    for again in ["转人工", "人工客服在吗 我要转人工"] {
        let r = turn(&mut c, again).await;
        assert!(!r.iter().any(|f| f["type"] == "status"), "no new state: {r:?}");
        let said = replies(&r);
        assert_eq!(said.len(), 1, "{said:?}");
        let text = said[0]["text"].as_str().unwrap();
        assert!(text.starts_with("您已经在排队了，不过现在没有人工客服在线"), "{text}");
        assert_eq!(said[0]["actions"], json!(["leave_message"]));
    }
    assert_eq!(s.app.desk.snapshot().await.unwrap().queue.len(), 1, "one place in line, no second handoff");

    // an agent online but busy (capacity 1): the place in line, first and when asked again
    s.add_staff(&[("li", "Li", Role::Agent)], "agent-password-1").await;
    let token = s.login("li", "agent-password-1").await;
    let (mut li, _) = Client::agent(s.addr, &token, json!({"langs": ["zh", "en"], "capacity": 1})).await;
    let (_, conv) = li.until_type("assigned").await;
    let _ = conv;
    let mut en = guest(&s, None).await;
    say(&mut en, "where is the size chart").await;
    let r = turn(&mut en, "I want to talk to a human").await;
    let said = replies(&r);
    assert_eq!(said.len(), 1, "{said:?}");
    let text = said[0]["text"].as_str().unwrap();
    assert!(text.starts_with("I'm transferring you to a human agent: you're next, about"), "{text}");
    assert_eq!(said[0]["actions"], Value::Null, "an agent will come: no message form");
    let r = turn(&mut en, "agent").await;
    let text = replies(&r)[0]["text"].as_str().unwrap().to_string();
    assert!(text.starts_with("You're already in line: you're next, about"), "{text}");
    assert!(!text.contains("transferring"), "{text}");
}

/// Item 5: a message for the agents is confirmed once (the `ticket` frame and one line, which
/// stays in the transcript); a rating is thanked once, in keeping with the score: after a low
/// one the shopper is offered a person or a message, never "enjoy your shopping".
#[tokio::test]
async fn tickets_and_ratings_are_confirmed_once_and_a_low_rating_offers_help() {
    let s = TestServer::start().await;

    let (mut c, conv) = Client::shopper_with(s.addr, json!({})).await;
    turn(&mut c, "转人工").await;
    c.send(json!({"type": "ticket", "text": "衣服破了个洞，请联系我", "contact": "138****0000"})).await;
    let (ticket, before) = c.until_type("ticket").await;
    assert!(before.is_empty(), "{before:?}");
    let id = ticket["id"].as_str().unwrap().to_string();
    let (confirm, _) = c.until_type("reply").await;
    assert_eq!(confirm["text"], format!("已收到您的留言（编号 {id}），客服会尽快联系您。"));
    // on the next visit the confirmation is still there, once
    drop(c);
    let mut again = Client::connect(s.addr, "/ws/chat").await;
    let w = again.hello(json!({"resume": conv})).await;
    let history: Vec<&str> =
        w["history"].as_array().unwrap().iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(history.iter().filter(|t| t.contains(&id)).count(), 1, "{history:?}");

    // ratings, one thanks each
    for (lang, question, score, expected, low) in [
        ("zh", "发票怎么开", 2u8, "抱歉这次没能让您满意", true),
        ("zh", "发票怎么开", 5, "感谢您的评价，祝您购物愉快！", false),
        ("en", "how much is shipping", 1, "Sorry we didn't get it right this time", true),
        ("en", "how much is shipping", 3, "Thank you for your rating; we'll keep working", false),
    ] {
        let mut c = Client::shopper_with(s.addr, json!({"lang": lang})).await.0;
        say(&mut c, question).await;
        c.send(json!({"type": "end"})).await;
        c.until_type("rating_request").await;
        c.send(json!({"type": "rating", "score": score})).await;
        let (thanks, _) = c.until_type("reply").await;
        let text = thanks["text"].as_str().unwrap();
        assert!(text.starts_with(expected), "{lang} {score}: {text}");
        assert!(!(low && (text.contains("祝您购物愉快") || text.contains("Happy shopping"))), "{text}");
        if low {
            let chip = if lang == "zh" { "转人工" } else { "Talk to an agent" };
            assert_eq!(thanks["suggestions"], json!([chip]), "{thanks}");
            assert_eq!(thanks["actions"], json!(["leave_message"]), "{thanks}");
            // the message form works on the ended conversation
            c.send(json!({"type": "ticket", "text": "the parcel was damaged"})).await;
            c.until_type("ticket").await;
        } else {
            assert!(thanks["suggestions"].is_null() && thanks["actions"].is_null(), "{thanks}");
        }
        c.send(json!({"type": "typing"})).await;
        c.send(json!({"type": "end"})).await;
        let (_, extra) = c.until_type("rating_request").await;
        assert!(
            replies(&extra).iter().all(|r| !r["text"].as_str().unwrap_or("").contains("感谢")),
            "one thanks: {extra:?}"
        );
    }
}

/// Item 4: cards carry what the widget needs to show times in the shopper's language and the
/// store's timezone (`welcome`'s `timezone`, the tracking time apart from its text), and size
/// names in the shopper's language ("one-size" is 均码 / One size).
#[tokio::test]
async fn cards_carry_times_apart_and_sizes_by_name() {
    let s = TestServer::start().await;
    let mut c = Client::connect(s.addr, "/ws/chat").await;
    let w = c.hello(json!({"token": common::ws::shopper_token("S1001")})).await;
    assert_eq!(w["timezone"], "+08:00");
    let r = say(&mut c, "我的快递到哪了").await;
    let cards: Vec<&Value> = r.iter().flat_map(|r| r["cards"].as_array().into_iter().flatten()).collect();
    let tracked = cards.iter().find(|c| c["latest_tracking_at"].is_string()).expect("an order with tracking");
    let at = tracked["latest_tracking_at"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
    let text = tracked["latest_tracking"].as_str().unwrap();
    assert!(!text.starts_with("20"), "the text alone, no raw time: {text}");

    for (lang, q, name) in
        [("zh", "帆布托特包有货吗", "均码"), ("en", "is the canvas tote bag in stock", "One size")]
    {
        let mut c = guest(&s, None).await;
        let _ = lang;
        let r = say(&mut c, q).await;
        let sizes: Vec<&Value> = r
            .iter()
            .flat_map(|r| r["cards"].as_array().into_iter().flatten())
            .flat_map(|c| c["sizes"].as_array().unwrap())
            .collect();
        assert!(sizes.iter().any(|s| s == &name), "{q}: {sizes:?}");
        assert!(!sizes.iter().any(|s| s == &"one-size"), "{q}: {sizes:?}");
    }
}
