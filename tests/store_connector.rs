//! kefu with `orders_source = "http"` against the reference store (`examples/store`) as a real
//! process, over the real `/ws/chat`: order status and a return that lands in the store (and
//! its `return.requested` webhook, once); the store answering 503, 500 and too slowly, the
//! circuit breaker opening (no more calls reach the store) and closing again once the store
//! recovers; signed events from the store's back office telling a shopper in an open
//! conversation that their order shipped, as it happens (and, with the embedded source, the
//! stored order changed); stock changes reaching product answers, by event and by the
//! periodic catalog sync; forged, stale and replayed events refused.

mod common;

use std::time::{Duration, Instant};

use common::http::http;
use common::process::{Kefu, RefStore};
use common::ws::Client;
use serde_json::{json, Value};

const KEY: &str = "store-api-key-0123456789";
/// S1001's order in transit, and the wool coat delivered the day before the demo's "now".
const SHIPPED: &str = "261123115788241675";
const COAT: &str = "261122958843983379";
/// S1001's order paid and waiting to ship.
const PAID: &str = "261124866711367179";

fn kefu_on(store: &RefStore, extra: &[(&str, &str)]) -> Kefu {
    let url = store.url();
    Kefu::fresh()
        .envs(&[
            ("KEFU_ORDERS_SOURCE", "http"),
            ("KEFU_ORDERS_URL", &url),
            ("KEFU_ORDERS_API_KEY", KEY),
            ("KEFU_ORDERS_TIMEOUT_MS", "500"),
            ("KEFU_ORDERS_RETRIES", "1"),
            ("KEFU_ORDERS_RETRY_BASE_MS", "20"),
        ])
        .envs(extra)
        .start()
}

async fn ask(c: &mut Client, text: &str, context: Option<Value>) -> String {
    let (_, turn) = c.turn(text, context).await;
    let replies: Vec<&Value> = turn.iter().filter(|v| v["type"] == "reply").collect();
    assert!(!replies.is_empty(), "{turn:#?}");
    replies.iter().map(|r| r["text"].as_str().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

async fn fault(store: &RefStore, mode: &str, delay_ms: u64) {
    let body = json!({"mode": mode, "delay_ms": delay_ms}).to_string();
    let a = http(store.addr, "POST", "/admin/fault", None, Some(&body)).await.unwrap();
    assert_eq!(a.status_code().as_u16(), 204);
}

async fn calls(store: &RefStore) -> u64 {
    let a = http(store.addr, "GET", "/admin/calls", None, None).await.unwrap();
    a.body.trim().parse().unwrap()
}

const UNAVAILABLE_ZH: &str = "订单系统暂时连接不上";

#[tokio::test]
async fn order_status_and_a_return_come_from_the_store() {
    let store = RefStore::start(KEY);
    let kefu = kefu_on(&store, &[]);
    let (mut zh, conv) = Client::shopper(kefu.addr, Some("S1001")).await;
    let t = ask(&mut zh, &format!("查物流 {SHIPPED}"), Some(json!({"order": SHIPPED}))).await;
    assert!(t.contains("运输中"), "{t}");
    let t = ask(&mut zh, "退货", Some(json!({"order": COAT}))).await;
    assert!(t.contains("符合七天无理由退货"), "{t}");
    let t = ask(&mut zh, "确认", None).await;
    assert!(t.contains("退货申请已提交"), "{t}");
    // the return is the store's: opened there once, for this conversation
    let path = format!("/api/v1/orders/{COAT}/returns");
    let a = http(store.addr, "GET", &path, Some(KEY), None).await.unwrap();
    let returns = a.json()["returns"].as_array().unwrap().clone();
    assert_eq!(returns.len(), 1, "{returns:#?}");
    assert_eq!(returns[0]["conversation_id"], conv.as_str());
    assert!(returns[0]["id"].as_str().unwrap().starts_with("RS"), "{returns:#?}");
    // the API refuses a caller without the key
    let a = http(store.addr, "GET", &path, None, None).await.unwrap();
    assert_eq!(a.status_code().as_u16(), 401);
    // in English too
    let (mut en, _) = Client::shopper(kefu.addr, Some("S1001")).await;
    let t = ask(&mut en, &format!("where is my order {SHIPPED}"), None).await;
    assert!(t.to_lowercase().contains("transit"), "{t}");
}

#[tokio::test]
async fn a_failing_store_is_said_so_and_the_breaker_opens_and_closes() {
    let store = RefStore::start(KEY);
    // no cache, so every turn asks the store; the breaker opens after 3 failures, for 1 s
    let kefu = kefu_on(
        &store,
        &[
            ("KEFU_ORDERS_CACHE_TTL_MS", "0"),
            ("KEFU_ORDERS_BREAKER_FAILURES", "3"),
            ("KEFU_ORDERS_BREAKER_OPEN_MS", "1000"),
        ],
    );
    let (mut zh, _) = Client::shopper(kefu.addr, Some("S1001")).await;
    let status = format!("查物流 {SHIPPED}");
    let t = ask(&mut zh, &status, None).await;
    assert!(t.contains("运输中"), "{t}");

    // 500: the bot says it cannot check now and offers a person, never a guess (two failures:
    // the read and its one retry)
    fault(&store, "error", 0).await;
    let t = ask(&mut zh, &status, None).await;
    assert!(t.contains(UNAVAILABLE_ZH) && t.contains("转人工") && !t.contains("运输中"), "{t}");
    // down (503): the third failure opens the breaker
    fault(&store, "down", 0).await;
    let t = ask(&mut zh, &status, None).await;
    assert!(t.contains(UNAVAILABLE_ZH), "{t}");
    // open: the store is not called at all, the answer is at once
    let before = calls(&store).await;
    let t = ask(&mut zh, &status, None).await;
    assert!(t.contains(UNAVAILABLE_ZH), "{t}");
    assert_eq!(calls(&store).await, before, "an open breaker calls nobody");

    // slow (longer than the 500 ms timeout): still unavailable once the breaker lets a probe by
    fault(&store, "slow", 2000).await;
    let (mut en, _) = Client::shopper(kefu.addr, Some("S1001")).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let before = calls(&store).await;
        let t = ask(&mut en, &format!("where is my order {SHIPPED}"), None).await;
        assert!(t.contains("can't reach the order system") && t.contains("agent"), "{t}");
        if calls(&store).await > before {
            break; // the half-open probe reached the store and timed out
        }
        assert!(Instant::now() < deadline, "the breaker never let a probe through");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // recovered: once the breaker's probe succeeds, orders are answered again
    fault(&store, "ok", 0).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let t = ask(&mut zh, &status, None).await;
        if t.contains("运输中") {
            break;
        }
        assert!(t.contains(UNAVAILABLE_ZH), "{t}");
        assert!(Instant::now() < deadline, "never answered again after the store recovered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let t = ask(&mut zh, &status, None).await;
    assert!(t.contains("运输中"), "{t}");
}

/// Not a check, a measurement (`cargo test --release --test store_connector -- --ignored
/// --nocapture`): a shopper's order-status turn, embedded vs. through the reference store on
/// loopback with no cache, p50 and p99 of the time from sending to the first reply.
#[tokio::test]
#[ignore]
async fn turn_latency_through_the_store() {
    let store = RefStore::start(KEY);
    let lifted = ("KEFU_MESSAGES_PER_MINUTE", "100000");
    let http_kefu = kefu_on(&store, &[("KEFU_ORDERS_CACHE_TTL_MS", "0"), lifted]);
    let embedded = Kefu::fresh().envs(&[lifted]).start();
    for (name, kefu) in [("embedded", &embedded), ("http", &http_kefu)] {
        let (mut c, _) = Client::shopper(kefu.addr, Some("S1001")).await;
        let status = format!("查物流 {SHIPPED}");
        let mut times = Vec::new();
        for i in 0..220 {
            let id = format!("lat{i}");
            let t0 = Instant::now();
            c.send(json!({"type": "message", "id": id, "text": status})).await;
            // the frames of the turn before are all in front of this ack
            c.until(|v| v["type"] == "ack" && v["id"] == id).await;
            let (reply, _) = c.until_type("reply").await;
            if i >= 20 {
                times.push(t0.elapsed());
            }
            assert!(reply["text"].as_str().unwrap().contains("运输中"), "{reply}");
        }
        times.sort();
        let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
        println!("{name}: p50 {:?} p99 {:?} ({} turns)", at(0.5), at(0.99), times.len());
    }
}

const EVENTS_SECRET: &str = "store-events-secret-0123456789";

/// A store event signed with the shared scheme at `ts` (Unix seconds).
async fn post_event(kefu: &Kefu, body: &str, ts: i64, secret: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sig = kefu::webhooks::signature::sign(secret.as_bytes(), ts, body.as_bytes());
    let mut s = tokio::net::TcpStream::connect(kefu.addr).await.unwrap();
    let head = format!(
        "POST /api/store/events HTTP/1.1\r\nHost: kefu\r\nConnection: close\r\nContent-Type: application/json\r\nKefu-Timestamp: {ts}\r\nKefu-Signature: {sig}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).await.unwrap();
    raw[9..12].parse().unwrap()
}

#[tokio::test]
async fn signed_store_events_are_taken_once_and_forged_ones_refused() {
    let store = RefStore::start(KEY);
    let kefu = kefu_on(&store, &[("KEFU_STORE_EVENTS_SECRET", EVENTS_SECRET)]);
    let now = chrono::Utc::now().timestamp();
    let event = json!({"id": "ev-1", "type": "order.updated", "order_no": SHIPPED, "status": "delivered"})
        .to_string();
    assert_eq!(post_event(&kefu, &event, now, "another-secret-0123456789").await, 401, "wrong secret");
    assert_eq!(post_event(&kefu, &event, now - 3600, EVENTS_SECRET).await, 401, "stale timestamp");
    assert_eq!(post_event(&kefu, &event, now, EVENTS_SECRET).await, 204);
    assert_eq!(post_event(&kefu, &event, now, EVENTS_SECRET).await, 409, "replayed id");
    let unknown = json!({"id": "ev-2", "type": "order.deleted"}).to_string();
    assert_eq!(post_event(&kefu, &unknown, now, EVENTS_SECRET).await, 400);
    // the shopper is still answered from the store after the change was announced
    let (mut zh, _) = Client::shopper(kefu.addr, Some("S1001")).await;
    let t = ask(&mut zh, &format!("查物流 {SHIPPED}"), None).await;
    assert!(t.contains("运输中"), "{t}");
}

/// Tells the reference store where kefu takes its events.
async fn point_store_at(store: &RefStore, kefu: &Kefu) {
    let body = json!({"url": format!("http://{}/api/store/events", kefu.addr), "secret": EVENTS_SECRET});
    let a = http(store.addr, "POST", "/admin/kefu", None, Some(&body.to_string())).await.unwrap();
    assert_eq!(a.status_code().as_u16(), 204);
}

/// A change in the store's back office (`POST /admin/…`): its answer.
async fn back_office(store: &RefStore, path: &str, body: Value) -> Value {
    let a = http(store.addr, "POST", path, None, Some(&body.to_string())).await.unwrap();
    assert_eq!(a.status_code().as_u16(), 200, "{}", a.body);
    a.json()
}

fn text(v: &Value) -> &str {
    v["text"].as_str().unwrap_or("")
}

#[tokio::test]
async fn an_order_shipped_in_the_store_is_told_to_the_shopper_as_it_happens() {
    let store = RefStore::start(KEY);
    let kefu = kefu_on(&store, &[("KEFU_STORE_EVENTS_SECRET", EVENTS_SECRET)]);
    point_store_at(&store, &kefu).await;
    // two conversations about the paid order (Chinese, English), one about another order
    let (mut zh, conv) = Client::shopper(kefu.addr, Some("S1001")).await;
    let t = ask(&mut zh, &format!("查物流 {PAID}"), None).await;
    assert!(t.contains("待发货"), "{t}");
    let (mut en, _) =
        Client::shopper_with(kefu.addr, json!({"token": common::ws::shopper_token("S1001"), "lang": "en"}))
            .await;
    let t = ask(&mut en, &format!("where is my order {PAID}"), None).await;
    assert!(t.contains("waiting to ship"), "{t}");
    let (mut other, _) = Client::shopper(kefu.addr, Some("S1001")).await;
    ask(&mut other, &format!("查物流 {SHIPPED}"), None).await;

    // the back office ships it: the store posts a signed order.updated to kefu
    let shipped = json!({"status": "shipped", "courier": "SF", "tracking_no": "SF1000001",
                         "tracking": {"zh": "顺丰已揽收", "en": "Picked up by SF Express"}});
    let a = back_office(&store, &format!("/admin/orders/{PAID}"), shipped).await;
    assert_eq!(a["kefu_status"], 204, "{a}");
    let (notice, _) = zh.until_type("reply").await;
    assert_eq!(notice["from"], "bot");
    assert!(text(&notice).starts_with(&format!("您的订单 {PAID} 已发货（SF SF1000001）")), "{notice}");
    assert!(text(&notice).contains("顺丰已揽收"), "{notice}");
    let (notice, _) = en.until_type("reply").await;
    assert!(text(&notice).starts_with(&format!("Your order {PAID} has shipped (SF SF1000001).")), "{notice}");
    assert!(text(&notice).contains("Picked up by SF Express"), "{notice}");
    // the next question gets the new status at once (the cache was forgotten)
    let t = ask(&mut zh, &format!("查物流 {PAID}"), None).await;
    assert!(t.contains("已发货") && t.contains("顺丰已揽收"), "{t}");
    // the conversation about another order heard nothing: its next turn holds no notice
    let (before, turn) = other.turn("谢谢", None).await;
    assert!(before.iter().chain(&turn).all(|v| !text(v).contains(PAID)), "{before:#?} {turn:#?}");
    // the notice is in the conversation's history on resume
    drop(zh);
    let mut again = Client::connect(kefu.addr, "/ws/chat").await;
    let w = again.hello(json!({"token": common::ws::shopper_token("S1001"), "resume": conv})).await;
    let history = w["history"].as_array().unwrap();
    assert!(
        history.iter().any(|m| m["from"] == "bot" && text(m).contains("已发货（SF SF1000001）")),
        "{history:#?}"
    );
    // delivered, later: told again in the resumed conversation
    let a = back_office(&store, &format!("/admin/orders/{PAID}"), json!({"status": "delivered"})).await;
    assert_eq!(a["kefu_status"], 204, "{a}");
    let (notice, _) = again.until_type("reply").await;
    assert_eq!(text(&notice), format!("您的订单 {PAID} 已签收。"));
}

#[tokio::test]
async fn with_the_embedded_source_a_signed_event_changes_the_stored_order_and_tells_the_shopper() {
    let kefu = Kefu::fresh().envs(&[("KEFU_STORE_EVENTS_SECRET", EVENTS_SECRET)]).start();
    let (mut zh, _) = Client::shopper(kefu.addr, Some("S1001")).await;
    // the signed-in shopper's order list: the paid order is among the cards shown
    let t = ask(&mut zh, "我的订单到哪了", None).await;
    assert!(!t.is_empty());
    let now = chrono::Utc::now().timestamp();
    let event = json!({"id": "evt-embedded-1", "type": "order.updated", "order_no": PAID, "status": "shipped",
                       "courier": "YTO", "tracking_no": "YT42",
                       "tracking": {"time": "2026-11-25T09:30:00+08:00", "zh": "已出库", "en": "Left the warehouse"}})
    .to_string();
    assert_eq!(post_event(&kefu, &event, now, EVENTS_SECRET).await, 204);
    let (notice, _) = zh.until_type("reply").await;
    assert!(text(&notice).starts_with(&format!("您的订单 {PAID} 已发货（YTO YT42）")), "{notice}");
    // the stored order changed: a new conversation is told the new status
    let (mut later, _) = Client::shopper(kefu.addr, Some("S1001")).await;
    let t = ask(&mut later, &format!("查物流 {PAID}"), None).await;
    assert!(t.contains("已发货") && t.contains("已出库"), "{t}");
    assert_eq!(post_event(&kefu, &event, now, EVENTS_SECRET).await, 409, "replayed id");
}

/// The shopper's question about one variant's stock, on the coat's page: the reply.
async fn coat_stock(kefu: &Kefu) -> String {
    let (mut c, _) = Client::shopper_with(
        kefu.addr,
        json!({"token": common::ws::shopper_token("S1001"), "context": {"product": "QM-WO-004"}}),
    )
    .await;
    ask(&mut c, "驼色M码有货吗", None).await
}

/// Asks until the coat's answer contains `what` (catalog sync runs in the background).
async fn coat_stock_becomes(kefu: &Kefu, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let t = coat_stock(kefu).await;
        if t.contains(what) {
            return;
        }
        assert!(Instant::now() < deadline, "never {what:?}: {t}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn stock_changed_in_the_store_reaches_product_answers() {
    let store = RefStore::start(KEY);
    // periodic sync every second; events at once
    let kefu =
        kefu_on(&store, &[("KEFU_STORE_EVENTS_SECRET", EVENTS_SECRET), ("KEFU_CATALOG_SYNC_SECS", "1")]);
    point_store_at(&store, &kefu).await;
    let t = coat_stock(&kefu).await;
    assert!(t.contains("库存4件"), "{t}");
    // sold out, announced with a stock.changed event
    let sold_out = json!({"sku": "QM-WO-004", "color": "camel", "size": "M", "stock": 0});
    let a = back_office(&store, "/admin/stock", sold_out).await;
    assert_eq!(a["kefu_status"], 204, "{a}");
    coat_stock_becomes(&kefu, "暂时缺货").await;
    // restocked without an event: the periodic sync brings it
    let restocked = json!({"sku": "QM-WO-004", "color": "camel", "size": "M", "stock": 7, "notify": false});
    let a = back_office(&store, "/admin/stock", restocked).await;
    assert!(a["kefu_status"].is_null(), "{a}");
    coat_stock_becomes(&kefu, "库存7件").await;
}

type Bodies = std::sync::Arc<std::sync::Mutex<Vec<Value>>>;

async fn hooked(
    axum::extract::State(b): axum::extract::State<Bodies>,
    body: String,
) -> axum::http::StatusCode {
    b.lock().unwrap().push(serde_json::from_str(&body).unwrap());
    axum::http::StatusCode::OK
}

#[tokio::test]
async fn a_return_opened_in_the_store_is_announced_once_by_webhook() {
    use std::sync::Arc;
    // a receiver for kefu's outbound webhooks
    let bodies: Bodies = Arc::default();
    let app = axum::Router::new().route("/hook", axum::routing::post(hooked)).with_state(bodies.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!(
        "http://{}/hook secret=whsec-0123456789abcdef events=return.requested",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let store = RefStore::start(KEY);
    let kefu = kefu_on(&store, &[("KEFU_WEBHOOKS", &hook), ("KEFU_WEBHOOK_RETRY_BASE_MS", "20")]);
    let (mut zh, conv) = Client::shopper(kefu.addr, Some("S1001")).await;
    let t = ask(&mut zh, "退货", Some(json!({"order": COAT}))).await;
    assert!(t.contains("符合七天无理由退货"), "{t}");
    let t = ask(&mut zh, "确认", None).await;
    assert!(t.contains("退货申请已提交"), "{t}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let event = loop {
        if let Some(e) = bodies.lock().unwrap().first().cloned() {
            break e;
        }
        assert!(Instant::now() < deadline, "no return.requested webhook");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(event["type"], "return.requested");
    assert_eq!(event["data"]["order_no"], COAT);
    assert_eq!(event["data"]["conversation_id"], conv.as_str());
    assert!(event["data"]["id"].as_str().unwrap().starts_with("RS"), "the store's id: {event}");
    // confirming again is answered with the same return, and announced no second time
    let t = ask(&mut zh, "退货", Some(json!({"order": COAT}))).await;
    assert!(!t.is_empty());
    let (mut later, _) = Client::shopper(kefu.addr, Some("S1001")).await;
    ask(&mut later, "你好", None).await;
    assert_eq!(bodies.lock().unwrap().len(), 1, "{:#?}", bodies.lock().unwrap());
}
