//! End to end: a real tokio-tungstenite client against the real server on 127.0.0.1.

mod common;

use common::http::http;
use common::server::{knowledge as kb, TestServer, NOW};
use common::ws::{shopper_token as token, Client};
use futures_util::SinkExt;
use kefu::config::Config;
use kefu::identity::{sign, Claims};
use kefu::knowledge::demo::OrderStatus;
use kefu::store::prelude::*;
use kefu::time::Clock;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

async fn start() -> TestServer {
    start_with(|_| {}).await
}

async fn start_with(tune: impl FnOnce(&mut Config)) -> TestServer {
    TestServer::start_with(|c| {
        c.max_message_chars = 500;
        tune(c);
        assert!(matches!(c.clock(), Clock::Fixed(_)));
    })
    .await
}

/// hello (with a token, resuming) → the conversation id and the welcome (the status after it
/// is read).
async fn hello(c: &mut Client, token: Option<&str>, resume: Option<&str>) -> (String, Value) {
    let w = c.hello(json!({"token": token, "resume": resume})).await;
    (w["conversation_id"].as_str().unwrap().to_string(), w)
}

/// Sends a message (nothing may come before its ack) and returns the frames of the turn.
async fn say(c: &mut Client, text: &str) -> Vec<Value> {
    let (before, after) = c.turn(text, None).await;
    assert!(before.is_empty(), "nothing before the ack: {before:?}");
    after
}

fn replies(frames: &[Value]) -> Vec<&Value> {
    frames.iter().filter(|f| f["type"] == "reply").collect()
}

fn all_text(frames: &[Value]) -> String {
    replies(frames)
        .iter()
        .map(|r| r["text"].as_str().unwrap_or("").to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn guests_get_faq_answers_in_both_languages() {
    let s = start().await;
    let mut c = Client::connect(s.addr, "/ws/chat").await;
    hello(&mut c, None, None).await;
    let r = say(&mut c, "运费险怎么理赔").await;
    assert_eq!(replies(&r)[0]["faq_id"], "shipping-insurance-claim", "{r:?}");
    assert!(all_text(&r).contains("运费险"));
    let r = say(&mut c, "how much is shipping").await;
    assert_eq!(replies(&r)[0]["faq_id"], "shipping-fee", "{r:?}");
    assert!(all_text(&r).is_ascii() || all_text(&r).contains("¥"), "answered in English: {r:?}");
    let r = say(&mut c, "你好").await;
    assert_eq!(replies(&r)[0]["intent"], "greeting");
}

#[tokio::test]
async fn a_shopper_sees_their_own_order_and_never_someone_elses() {
    let s = start().await;
    let kb = kb();
    let mine = kb.orders.iter().find(|o| o.status == OrderStatus::Shipped).unwrap();
    let theirs = kb.orders.iter().find(|o| o.shopper_id != mine.shopper_id).unwrap();
    let mut c = Client::connect(s.addr, "/ws/chat").await;
    hello(&mut c, Some(&token(&mine.shopper_id)), None).await;

    let r = say(&mut c, &format!("亲 我的订单{}到哪了", mine.order_no)).await;
    let rep = replies(&r)[0];
    assert_eq!(rep["cards"][0]["order_no"], mine.order_no.as_str(), "{r:?}");
    assert!(rep["text"].as_str().unwrap().contains("运输中"));

    let r = say(&mut c, &format!("where is order {}", theirs.order_no)).await;
    let text = all_text(&r);
    assert!(text.contains("couldn't find"), "{text}");
    assert!(replies(&r).iter().all(|r| r["cards"].as_array().is_none_or(|c| c.is_empty())), "no card: {r:?}");
    assert!(!text.contains(&theirs.address.name), "no detail of the other order leaks");

    // "where is my order" without a number lists my recent orders and asks which
    let r = say(&mut c, "我的快递到哪了").await;
    let cards = replies(&r)[0]["cards"].as_array().unwrap().clone();
    assert!(!cards.is_empty());
    assert!(cards
        .iter()
        .all(|c| kb.orders.iter().any(|o| o.order_no == c["order_no"] && o.shopper_id == mine.shopper_id)));
    // …and the next message answers that question
    let r = say(&mut c, cards[0]["order_no"].as_str().unwrap()).await;
    assert_eq!(replies(&r)[0]["cards"][0]["order_no"], cards[0]["order_no"]);
}

#[tokio::test]
async fn guests_prove_an_order_with_the_phone_digits() {
    let s = start().await;
    let o = &kb().orders[0];
    let last4 = &o.address.phone[o.address.phone.len() - 4..];
    let mut c = Client::connect(s.addr, "/ws/chat").await;
    hello(&mut c, None, None).await;
    let r = say(&mut c, &format!("{} 这个订单怎么样了", o.order_no)).await;
    assert!(all_text(&r).contains("后4位"), "{r:?}");
    let r = say(&mut c, "0000").await;
    assert!(all_text(&r).contains("不匹配"), "{r:?}");
    let r = say(&mut c, &format!("{} 到哪了", o.order_no)).await;
    assert!(all_text(&r).contains("后4位"));
    let r = say(&mut c, &format!("尾号{last4}")).await;
    assert_eq!(replies(&r)[0]["cards"][0]["order_no"], o.order_no.as_str(), "{r:?}");
}

#[tokio::test]
async fn returns_eligible_refused_and_created() {
    let s = start().await;
    let kb = kb();
    let now = chrono::DateTime::parse_from_rfc3339(NOW).unwrap();
    let recent = |o: &&kefu::knowledge::Order| {
        o.status == OrderStatus::Delivered
            && o.return_info.is_none()
            && o.delivered_at
                .as_deref()
                .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
                .is_some_and(|d| now - d < chrono::Duration::days(6))
            && o.items.iter().all(|i| kb.product(&i.sku).unwrap().returnable)
    };
    let eligible = kb.orders.iter().find(recent).expect("a recently delivered order");
    let old = kb
        .orders
        .iter()
        .find(|o| {
            o.shopper_id == eligible.shopper_id
                && o.status == OrderStatus::Delivered
                && o.delivered_at
                    .as_deref()
                    .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
                    .is_some_and(|d| now - d > chrono::Duration::days(8))
        })
        .or(None);
    let mut c = Client::connect(s.addr, "/ws/chat").await;
    hello(&mut c, Some(&token(&eligible.shopper_id)), None).await;
    if let Some(old) = old {
        let r = say(&mut c, &format!("订单{}我要退货", old.order_no)).await;
        assert!(all_text(&r).contains("已超过七天"), "{r:?}");
    }
    let r = say(&mut c, &format!("订单{}想退货", eligible.order_no)).await;
    let text = all_text(&r);
    assert!(text.contains("符合七天无理由"), "{text}");
    assert!(text.contains(if eligible.shipping_insurance { "有运费险" } else { "没有运费险" }), "{text}");
    let r = say(&mut c, "确认").await;
    let text = all_text(&r);
    let id = text.split("退货单号 ").nth(1).expect("a return id").chars().take(11).collect::<String>();
    assert!(id.starts_with('R'), "{text}");
    let stored = s.app.store.returns_for(eligible.order_no.clone()).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, id);
    // asking again reports the open return instead of opening another
    let r = say(&mut c, &format!("订单{}想退货", eligible.order_no)).await;
    assert!(all_text(&r).contains(&id), "{r:?}");
    assert_eq!(s.app.store.returns_for(eligible.order_no.clone()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn product_questions_are_answered_from_catalog_data() {
    let s = start().await;
    let mut c = Client::connect(s.addr, "/ws/chat").await;
    hello(&mut c, None, None).await;
    let r = say(&mut c, "重磅纯棉宽松T恤有XL码吗").await;
    let rep = replies(&r)[0];
    assert_eq!(rep["cards"][0]["kind"], "product", "{r:?}");
    assert_eq!(rep["cards"][0]["sku"], "QM-WO-001");
    assert!(rep["text"].as_str().unwrap().contains("¥"));
}

#[tokio::test]
async fn unclear_and_human_requests_escalate() {
    let s = start().await;
    let mut c = Client::connect(s.addr, "/ws/chat").await;
    let (conv, _) = hello(&mut c, None, None).await;
    let r = say(&mut c, "转人工").await;
    assert!(all_text(&r).contains("人工客服"), "{r:?}");
    assert!(r.iter().any(|f| f["type"] == "status" && f["state"] == "waiting_agent"), "{r:?}");
    let queue = s.app.desk.snapshot().await.unwrap().queue;
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].conversation_id, conv);
    assert_eq!(queue[0].reason, "requested");

    // two unresolved turns in a row escalate too
    let mut c = Client::connect(s.addr, "/ws/chat").await;
    hello(&mut c, None, None).await;
    say(&mut c, "asdkjh qwpoe zmxn").await;
    let r = say(&mut c, "qqq wwwww eeee rrrr").await;
    assert!(r.iter().any(|f| f["type"] == "status" && f["state"] == "waiting_agent"), "{r:?}");
    let queue = s.app.desk.snapshot().await.unwrap().queue;
    assert_eq!(queue.iter().map(|q| q.reason.as_str()).collect::<Vec<_>>(), ["requested", "unresolved"]);
}

#[tokio::test]
async fn rating_ends_in_an_exported_feedback_record() {
    let s = start().await;
    let mut c = Client::connect(s.addr, "/ws/chat").await;
    let (conv, _) = hello(&mut c, None, None).await;
    say(&mut c, "发票怎么开").await;
    c.send(json!({"type": "end"})).await;
    let (req, _) = c.until_type("rating_request").await;
    assert_eq!(req["scale"].as_array().unwrap().len(), 5);
    c.send(json!({"type": "rating", "score": 7})).await;
    let (e, _) = c.until_type("error").await;
    assert_eq!(e["code"], "bad_rating");
    c.send(json!({"type": "rating", "score": 4, "comment": "回答很快 <b>赞</b>"})).await;
    c.until_type("reply").await;
    let records = s.app.store.feedback_since(String::new()).await.unwrap();
    let r = common::server::record_of(&records, &conv);
    assert_eq!(r["rating"], 4);
    assert_eq!(r["comment"], "回答很快 <b>赞</b>");
    assert_eq!(r["resolution"], "bot_resolved");
    assert!(r["faq_ids"].as_array().unwrap().iter().any(|f| f == "invoice-electronic"));
    assert_eq!(r["shopper_messages"], 1);
    let csv = kefu::store::export::render(&records, true).unwrap();
    assert!(csv.starts_with("conversation_id,shopper_id,lang"));
    assert!(csv.contains(&conv));
}

#[tokio::test]
async fn resume_replays_history_and_a_resent_message_is_stored_once() {
    let s = start().await;
    let mut c = Client::connect(s.addr, "/ws/chat").await;
    let (conv, _) = hello(&mut c, None, None).await;
    c.send(json!({"type": "message", "id": "same-1", "text": "七天无理由怎么退"})).await;
    c.until_type("ack").await;
    c.until_type("reply").await;
    drop(c);

    let mut c = Client::connect(s.addr, "/ws/chat").await;
    let (again, welcome) = hello(&mut c, None, Some(&conv)).await;
    assert_eq!(again, conv);
    let history = welcome["history"].as_array().unwrap();
    assert!(history.iter().any(|h| h["text"] == "七天无理由怎么退" && h["from"] == "shopper"));
    assert!(history.iter().any(|h| h["from"] == "bot"));
    // the same client id again: acknowledged, not stored twice
    c.send(json!({"type": "message", "id": "same-1", "text": "七天无理由怎么退"})).await;
    let (ack, _) = c.until_type("ack").await;
    assert_eq!(ack["id"], "same-1");
    let msgs = s.app.store.messages(conv.clone()).await.unwrap();
    assert_eq!(msgs.iter().filter(|m| m.client_msg_id.as_deref() == Some("same-1")).count(), 1);

    // someone else cannot resume it with a token
    let mut other = Client::connect(s.addr, "/ws/chat").await;
    other.send(json!({"type": "hello", "token": token("S1001"), "resume": conv})).await;
    let (e, _) = other.until_type("error").await;
    assert_eq!(e["code"], "unknown_conversation");
}

#[tokio::test]
async fn bad_frames_get_errors_and_the_connection_stays_usable() {
    let s = start().await;
    let mut c = Client::connect(s.addr, "/ws/chat").await;
    c.send(json!({"type": "message", "id": "x", "text": "hi"})).await;
    assert_eq!(c.until_type("error").await.0["code"], "not_started");
    hello(&mut c, None, None).await;
    c.ws.send(Message::Text("{not json".into())).await.unwrap();
    assert_eq!(c.until_type("error").await.0["code"], "malformed_frame");
    c.send(json!({"type": "sing"})).await;
    assert_eq!(c.until_type("error").await.0["code"], "unknown_type");
    c.ws.send(Message::Binary(vec![1, 2, 3].into())).await.unwrap();
    assert_eq!(c.until_type("error").await.0["code"], "binary_not_supported");
    c.send(json!({"type": "message", "id": "long", "text": "退".repeat(501)})).await;
    assert_eq!(c.until_type("error").await.0["code"], "too_long");
    c.send(json!({"type": "message", "id": "blank", "text": "   "})).await;
    assert_eq!(c.until_type("error").await.0["code"], "empty_message");
    c.send(json!({"type": "hello", "token": "forged.token.here"})).await;
    assert_eq!(c.until_type("error").await.0["code"], "already_started");
    // still works
    let r = say(&mut c, "发票怎么开").await;
    assert_eq!(replies(&r)[0]["faq_id"], "invoice-electronic");

    // a bad token is refused
    let mut c = Client::connect(s.addr, "/ws/chat").await;
    c.send(json!({"type": "hello", "token": sign("another-secret-0123456789", &Claims { sub: "S1001".into(), exp: i64::MAX })})).await;
    assert_eq!(c.until_type("error").await.0["code"], "bad_token");
}

#[tokio::test]
async fn health_and_metrics_endpoints() {
    // /metrics on its own address (no token); on the main one it needs an admin (staff_auth.rs)
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let metrics: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let s = start_with(|c| c.metrics_listen = Some(metrics)).await;
    let mut c = Client::connect(s.addr, "/ws/chat").await;
    hello(&mut c, None, None).await;
    say(&mut c, "转人工").await;
    let healthz = http(s.addr, "GET", "/healthz", None, None).await.unwrap();
    assert!(healthz.body.ends_with("ok"));
    let m = http(metrics, "GET", "/metrics", None, None).await.unwrap();
    assert_eq!(m.status, 200, "{m:?}");
    let m = m.body;
    assert!(m.contains("kefu_connections 1"), "{m}");
    assert!(m.contains("kefu_messages_total 1"), "{m}");
    assert!(m.contains("kefu_escalations_total{reason=\"requested\"} 1"), "{m}");
    assert!(m.contains("kefu_reply_latency_seconds_count 1"), "{m}");
}

#[tokio::test]
async fn complaints_escalate_and_are_flagged_in_the_feedback_record() {
    let s = start().await;
    let mut c = Client::connect(s.addr, "/ws/chat").await;
    let (conv, _) = hello(&mut c, None, None).await;
    let r = say(&mut c, "你们什么破服务 我要投诉！").await;
    assert!(r.iter().any(|f| f["type"] == "status" && f["state"] == "waiting_agent"), "{r:?}");
    c.send(json!({"type": "end"})).await;
    c.until_type("rating_request").await;
    let records = s.app.store.feedback_since(String::new()).await.unwrap();
    let r = common::server::record_of(&records, &conv);
    assert_eq!(r["complaint"], true);
    assert_eq!(r["resolution"], "escalated");
    assert_eq!(r["escalation_reason"], "complaint");
}

#[tokio::test]
async fn non_returnable_items_and_existing_returns_are_explained() {
    let s = start().await;
    let kb = kb();
    let now = chrono::DateTime::parse_from_rfc3339(NOW).unwrap();
    let returned =
        kb.orders.iter().find(|o| o.return_info.as_ref().is_some_and(|r| r.status == "refunded")).unwrap();
    let mut c = Client::connect(s.addr, "/ws/chat").await;
    hello(&mut c, Some(&token(&returned.shopper_id)), None).await;
    let r = say(&mut c, &format!("订单{}退款到了吗", returned.order_no)).await;
    let text = all_text(&r);
    assert!(
        text.contains(&returned.return_info.as_ref().unwrap().return_id) && text.contains("已退款"),
        "{text}"
    );

    let blocked = kb.orders.iter().find(|o| {
        o.status == OrderStatus::Delivered
            && o.return_info.is_none()
            && o.delivered_at
                .as_deref()
                .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
                .is_some_and(|d| now - d < chrono::Duration::days(6))
            && o.items.iter().all(|i| !kb.product(&i.sku).unwrap().returnable)
    });
    let o = blocked.expect("the demo data has a recent order of non-returnable items only");
    let mut c = Client::connect(s.addr, "/ws/chat").await;
    hello(&mut c, Some(&token(&o.shopper_id)), None).await;
    let r = say(&mut c, &format!("I want to return order {}", o.order_no)).await;
    assert!(all_text(&r).contains("can't be returned"), "{r:?}");
}

#[tokio::test]
async fn phone_digits_cannot_be_brute_forced() {
    let s = start().await;
    let o = &kb().orders[1];
    let last4 = &o.address.phone[o.address.phone.len() - 4..];
    let wrong = if last4 == "0000" { "1111" } else { "0000" };
    for _ in 0..5 {
        let mut c = Client::connect(s.addr, "/ws/chat").await;
        hello(&mut c, None, None).await;
        say(&mut c, &format!("{} 到哪了", o.order_no)).await;
        let r = say(&mut c, wrong).await;
        assert!(all_text(&r).contains("不匹配"), "{r:?}");
    }
    let mut c = Client::connect(s.addr, "/ws/chat").await;
    hello(&mut c, None, None).await;
    say(&mut c, &format!("{} 到哪了", o.order_no)).await;
    let r = say(&mut c, last4).await;
    assert!(all_text(&r).contains("错误次数过多"), "even the right digits are refused now: {r:?}");
}

#[tokio::test]
async fn a_rating_given_before_the_end_survives_it() {
    let s = start().await;
    let mut c = Client::connect(s.addr, "/ws/chat").await;
    let (conv, _) = hello(&mut c, None, None).await;
    say(&mut c, "运费多少").await;
    c.send(json!({"type": "rating", "score": 5, "comment": "=cmd|' /C calc'!A0"})).await;
    c.until_type("reply").await;
    c.send(json!({"type": "end"})).await;
    c.until_type("rating_request").await;
    let records = s.app.store.feedback_since(String::new()).await.unwrap();
    let r = common::server::record_of(&records, &conv);
    assert_eq!(r["rating"], 5);
    assert!(r["faq_ids"].as_array().unwrap().iter().any(|f| f == "shipping-fee"));
    let csv = kefu::store::export::render(&records, true).unwrap();
    assert!(csv.contains("'=cmd"), "formulas are defused in CSV: {csv}");
}
