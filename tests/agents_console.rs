//! What the agent console relies on from the server (issue 17, agent items 4-6), end to end:
//! real WebSocket clients (a shopper on `/ws/chat`, agents on `/ws/agent`) and the staff API
//! against the real server on 127.0.0.1.

mod common;

use axum::http::StatusCode;
use common::server::TestServer;
use common::ws::{shopper_token, Client};
use kefu::identity::Role;
use serde_json::{json, Value};

const PASSWORD: &str = "agent-password-1";

async fn start() -> TestServer {
    let s = TestServer::start().await;
    s.add_staff(&[("li", "Li", Role::Agent), ("amy", "Amy", Role::Agent)], PASSWORD).await;
    s
}

fn is_reply_with(v: &Value, text: &str) -> bool {
    v["type"] == "reply" && v["text"].as_str().is_some_and(|t| t.contains(text))
}

/// 退回排队 with no colleague online: the shopper is told nobody can take over yet and offered
/// the message form (never "another agent is coming"), the agent's `done` carries the warning;
/// with a colleague online the ordinary notice and no warning. The shopper's page travels with
/// the conversation: at escalation, when it changes, in the queue and to the next agent.
#[tokio::test]
async fn back_to_the_queue_with_nobody_online_offers_a_message_and_warns_the_agent() {
    let s = start().await;
    let (mut li, _) =
        Client::agent(s.addr, &s.login("li", PASSWORD).await, json!({"langs": ["zh"], "capacity": 3})).await;

    let hello = json!({"token": shopper_token("S1001"),
        "context": {"product": "QM-WO-002", "url": "/product/QM-WO-002?from=home"}});
    let (mut shopper, conv) = Client::shopper_with(s.addr, hello).await;
    shopper.say("转人工").await;
    let a = li.assigned(&conv).await;
    assert_eq!(a["bot"]["page"], json!({"product": "QM-WO-002", "order": null, "url": "/product/QM-WO-002"}));
    shopper.until(|v| v["type"] == "status" && v["state"] == "agent").await;

    // the shopper moves to another page: the agent who has the conversation hears it
    shopper
        .send(json!({"type": "context", "context": {"product": "QM-BA-002", "url": "/product/QM-BA-002"}}))
        .await;
    let (page, _) = li.until(|v| v["type"] == "page").await;
    assert_eq!(page["conversation_id"], conv.as_str());
    assert_eq!(page["page"]["product"], "QM-BA-002");

    // li puts it back in the queue, and nobody else is online
    li.send(json!({"type": "transfer", "conversation_id": conv})).await;
    let (done, before) = li.until(|v| v["type"] == "done" && v["op"] == "transfer").await;
    assert_eq!(done["warning"], "no_agents", "{done}");
    assert!(before.iter().any(|f| f["type"] == "ended" && f["outcome"] == "transferred"), "{before:#?}");
    let (notice, before) = shopper.until(|v| is_reply_with(v, "没有其他客服在线")).await;
    assert_eq!(notice["from"], "system");
    let text = notice["text"].as_str().unwrap();
    assert!(text.contains("留言") && !text.contains("正在为您转接"), "no promise of another agent: {text}");
    assert!(!before.iter().any(|v| is_reply_with(v, "转接其他客服")), "{before:#?}");
    assert_eq!(notice["actions"], json!(["leave_message"]));
    // the queue shows where the shopper is
    let (queue, _) =
        li.until(|v| v["type"] == "queue" && v["items"].as_array().is_some_and(|i| !i.is_empty())).await;
    assert_eq!(queue["items"][0]["page"]["product"], "QM-BA-002", "{queue}");
    // the offered form works
    shopper
        .send(json!({"type": "ticket", "text": "请尽快联系我，想换个颜色", "contact": "13800001234"}))
        .await;
    shopper.until_type("ticket").await;

    // amy comes online and gets it with the page as it is now; her 退回排队 with li online
    // promises li, without a warning, and li gets it
    let (mut amy, _) =
        Client::agent(s.addr, &s.login("amy", PASSWORD).await, json!({"langs": ["zh"], "capacity": 3})).await;
    let a = amy.assigned(&conv).await;
    assert_eq!(a["bot"]["page"]["product"], "QM-BA-002");
    amy.send(json!({"type": "transfer", "conversation_id": conv})).await;
    let (done, _) = amy.until(|v| v["type"] == "done" && v["op"] == "transfer").await;
    assert!(done.get("warning").is_none(), "{done}");
    let (notice, _) = shopper.until(|v| is_reply_with(v, "正在为您转接其他客服")).await;
    assert!(notice.get("actions").is_none(), "{notice}");
    li.assigned(&conv).await;
}

/// The console's product lookup ranks name and category matches above the rest: "牛仔裤" is the
/// jeans alone (not a bag of 牛皮), "鞋" every shoe.
#[tokio::test]
async fn product_lookup_ranks_names_and_categories_first() {
    let s = start().await;
    let token = s.login("li", PASSWORD).await;
    let skus = |v: &Value| -> Vec<String> {
        v.as_array().unwrap().iter().map(|p| p["sku"].as_str().unwrap().to_string()).collect()
    };
    let (st, hits) = s.get(&format!("/api/products?limit=5&q={}", urlencode("牛仔裤")), &token).await;
    assert_eq!(st, StatusCode::OK, "{hits}");
    assert_eq!(skus(&hits), ["QM-WO-002"]);
    let (_, hits) = s.get(&format!("/api/products?limit=10&q={}", urlencode("鞋")), &token).await;
    let shoes = skus(&hits);
    assert_eq!(shoes.len(), 6, "{shoes:?}");
    assert!(shoes.iter().all(|s| s.starts_with("QM-SH-")), "{shoes:?}");
    let (_, hits) = s.get("/api/products?limit=5&q=jeans", &token).await;
    assert_eq!(skus(&hits)[0], "QM-WO-002");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}
