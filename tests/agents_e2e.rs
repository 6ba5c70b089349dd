//! Human agents end to end: real WebSocket clients (shoppers on `/ws/chat`, agents on
//! `/ws/agent`) against the real server on 127.0.0.1.

mod common;

use common::ws::{shopper_token, Client};
use kefu::store::prelude::*;

use axum::http::StatusCode;
use common::server::{build, TestServer, SECRET};
use kefu::config::Config;
use kefu::identity::{sign, Claims, Role, StaffClaims, STAFF_AUDIENCE};
use serde_json::{json, Value};

const PASSWORD: &str = "agent-password-1";

/// The server with two agents, a trainer and an admin, all with [`PASSWORD`].
async fn start_with(tune: impl FnOnce(&mut Config)) -> TestServer {
    let s = TestServer::start_with(tune).await;
    let staff = [
        ("li", "Li", Role::Agent),
        ("amy", "Amy", Role::Agent),
        ("wang", "Wang", Role::Trainer),
        ("boss", "Boss", Role::Admin),
    ];
    s.add_staff(&staff, PASSWORD).await;
    s
}

async fn start() -> TestServer {
    start_with(|_| {}).await
}

fn texts(frames: &[Value]) -> String {
    frames.iter().filter_map(|f| f["text"].as_str()).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn one_shopper_two_agents_through_the_whole_escalation() {
    let s = start().await;
    let (mut li, welcome) =
        Client::agent(s.addr, &s.login("li", PASSWORD).await, json!({"langs": ["zh"], "capacity": 3})).await;
    assert_eq!(welcome["agent"]["display_name"], "Li");
    assert_eq!(welcome["agent"]["capacity"], 3);

    // the shopper talks about an order with the bot, then asks for a person
    let (mut shopper, conv) = Client::shopper(s.addr, Some("S1001")).await;
    shopper.say("我的订单261101219383734421到哪了").await;
    shopper.until(|v| v["type"] == "reply").await;
    shopper.say("转人工").await;
    let (status, before) = shopper.until(|v| v["type"] == "status" && v["state"] == "agent").await;
    assert_eq!(status["agent"], "Li");
    assert!(before.iter().any(|f| f["type"] == "status" && f["state"] == "waiting_agent"), "{before:#?}");
    let (joined, _) = shopper.until_type("reply").await;
    assert_eq!(joined["from"], "system");
    assert!(joined["text"].as_str().unwrap().contains("已为您转接人工客服「Li」"), "{joined}");

    // Li sees everything the bot knew
    let a = li.assigned(&conv).await;
    assert_eq!(a["reason"], "requested");
    assert_eq!(a["bot"]["orders_discussed"], json!(["261101219383734421"]));
    assert!(a["bot"]["intents_seen"].as_array().unwrap().iter().any(|i| i == "order_status"), "{}", a["bot"]);
    let ctx = &a["context"];
    let transcript = texts(ctx["transcript"].as_array().unwrap());
    assert!(transcript.contains("261101219383734421") && transcript.contains("转人工"), "{transcript}");
    assert_eq!(ctx["orders"][0]["order_no"], "261101219383734421");
    assert_eq!(ctx["shopper"]["id"], "S1001");
    assert_eq!(ctx["shopper"]["vip"], true);
    assert!(ctx["shopper"]["recent_orders"].as_array().unwrap().len() >= 2);

    // live both ways, with typing
    shopper.say("你好，我想改一下收货地址").await;
    let (m, _) = li.until_type("message").await;
    assert_eq!((m["from"].as_str(), m["text"].as_str()), (Some("shopper"), Some("你好，我想改一下收货地址")));
    li.send(json!({"type": "typing", "conversation_id": conv})).await;
    let (t, _) = shopper.until_type("typing").await;
    assert_eq!(t["agent"], "Li");
    li.send(json!({"type": "message", "conversation_id": conv, "id": "a1", "text": "您好，这边帮您看一下"}))
        .await;
    li.until(|v| v["type"] == "ack" && v["id"] == "a1").await;
    let (r, _) = shopper.until_type("reply").await;
    assert_eq!((r["from"].as_str(), r["agent"].as_str()), (Some("agent"), Some("Li")));
    assert_eq!(r["text"], "您好，这边帮您看一下");
    // a re-sent agent message is acknowledged again, not stored twice
    li.send(json!({"type": "message", "conversation_id": conv, "id": "a1", "text": "您好，这边帮您看一下"}))
        .await;
    li.until(|v| v["type"] == "ack" && v["id"] == "a1").await;

    // an internal note never reaches the shopper
    li.send(json!({"type": "note", "conversation_id": conv, "text": "VIP，地址修改需主管确认"})).await;
    let (n, _) = li.until_type("note").await;
    assert_eq!(n["note"]["agent"], "li");

    // transfer to Amy: she gets the whole story, notes included
    let (mut amy, _) =
        Client::agent(s.addr, &s.login("amy", PASSWORD).await, json!({"langs": ["zh", "en"]})).await;
    li.send(json!({"type": "transfer", "conversation_id": conv, "to": "amy"})).await;
    let (ended, _) = li.until_type("ended").await;
    assert_eq!(ended["outcome"], "transferred");
    let a = amy.assigned(&conv).await;
    assert_eq!(a["reason"], "transfer");
    let transcript = texts(a["context"]["transcript"].as_array().unwrap());
    assert!(transcript.contains("您好，这边帮您看一下"), "{transcript}");
    assert_eq!(transcript.matches("您好，这边帮您看一下").count(), 1, "stored once");
    assert_eq!(a["context"]["notes"][0]["text"], "VIP，地址修改需主管确认");
    let (status, _) = shopper.until(|v| v["type"] == "status" && v["state"] == "agent").await;
    assert_eq!(status["agent"], "Amy");
    amy.send(json!({"type": "message", "conversation_id": conv, "id": "x1", "text": "地址已经帮您改好了"}))
        .await;
    let (r, seen) = shopper.until(|v| v["type"] == "reply" && v["from"] == "agent").await;
    assert_eq!((r["agent"].as_str(), r["text"].as_str()), (Some("Amy"), Some("地址已经帮您改好了")));
    assert!(!texts(&seen).contains("主管确认"), "the note stays internal: {seen:#?}");

    // resolve → rating → a feedback record naming the agent, with timings
    amy.send(json!({"type": "resolve", "conversation_id": conv})).await;
    amy.until(|v| v["type"] == "done" && v["op"] == "resolve").await;
    let (_, before) = shopper.until_type("rating_request").await;
    assert!(before.iter().any(|f| f["type"] == "status" && f["state"] == "closed"), "{before:#?}");
    shopper.send(json!({"type": "rating", "score": 5, "comment": "Amy很专业"})).await;
    shopper.until_type("reply").await;
    let records = s.app.store.feedback_since(String::new()).await.unwrap();
    let r = common::server::record_of(&records, &conv);
    assert_eq!(r["resolution"], "agent_resolved");
    assert_eq!(r["agent_id"], "amy");
    assert_eq!(r["rating"], 5);
    for k in ["queue_wait_secs", "first_response_secs", "handle_secs"] {
        assert!(r[k].as_f64().is_some_and(|v| v >= 0.0), "{k}: {r}");
    }
    let stored = s.app.store.messages(conv.clone()).await.unwrap();
    assert!(stored.iter().all(|m| !m.text.contains("主管确认")), "notes are not messages");

    // the console: the conversation's detail and search
    let token = s.login("li", PASSWORD).await;
    let (st, detail) = s.get(&format!("/api/conversations/{conv}"), &token).await;
    assert_eq!(st, StatusCode::OK, "{detail}");
    assert_eq!(detail["handoffs"].as_array().unwrap().len(), 2);
    assert_eq!(detail["handoffs"][1]["outcome"], "resolved");
    assert_eq!(detail["orders"][0]["order_no"], "261101219383734421");
    let (_, found) = s.get("/api/conversations?shopper=S1001", &token).await;
    assert!(found.as_array().unwrap().iter().any(|c| c["id"] == conv.as_str()), "{found}");
    let (_, found) = s.get("/api/conversations?order=261101219383734421&from=2026-01-01", &token).await;
    assert!(found.as_array().unwrap().iter().any(|c| c["id"] == conv.as_str()), "{found}");
    let (_, found) = s.get("/api/conversations?shopper=S1002", &token).await;
    assert!(found.as_array().unwrap().is_empty());
    let (st, _) = s.get("/api/conversations?from=yesterday", &token).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = s.get("/api/conversations/c-nope", &token).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn agent_socket_and_console_refuse_bad_tokens_and_wrong_roles() {
    let s = start().await;
    let now = chrono::Utc::now().timestamp();
    let staff =
        |sub: &str, role, exp| StaffClaims { sub: sub.into(), role, aud: STAFF_AUDIENCE.into(), exp, gen: 0 };
    let expired = sign(&s.app.staff_secret, &staff("li", Role::Agent, now - 10));
    let forged = sign("not-the-server-secret", &staff("li", Role::Agent, now + 3600));
    let shopper = sign(SECRET, &Claims { sub: "S1001".into(), exp: now + 3600 });
    let trainer = s.login("wang", PASSWORD).await;
    for (what, token, code) in [
        ("expired", expired.as_str(), "unauthorized"),
        ("forged", forged.as_str(), "unauthorized"),
        ("shopper token", shopper.as_str(), "unauthorized"),
        ("garbage", "x.y.z", "unauthorized"),
        ("trainer", trainer.as_str(), "forbidden"),
    ] {
        let mut c = Client::connect(s.addr, "/ws/agent").await;
        c.send(json!({"type": "hello", "token": token})).await;
        let e = c.next().await.unwrap_or_else(|| panic!("{what}: an error frame first"));
        assert_eq!((e["type"].as_str(), e["code"].as_str()), (Some("error"), Some(code)), "{what}: {e}");
        assert!(c.next().await.is_none(), "{what}: then closed");
    }
    // anything before hello is refused
    let mut c = Client::connect(s.addr, "/ws/agent").await;
    c.send(json!({"type": "claim", "conversation_id": "c1"})).await;
    assert_eq!(c.next().await.unwrap()["code"], "unauthorized");
    assert!(c.next().await.is_none());

    // the console API: no token, a shopper token, a trainer on the queue
    for uri in ["/api/queue", "/api/tickets", "/api/conversations/mine"] {
        let (st, _) = s.call("GET", uri, None, None).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{uri}");
        let (st, _) = s.get(uri, &shopper).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{uri}");
        let (st, body) = s.get(uri, &trainer).await;
        assert_eq!((st, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{uri}");
    }
}

#[tokio::test]
async fn two_agents_claiming_at_once_never_share_a_conversation() {
    let s = start().await;
    // away: nothing is assigned automatically, both must claim
    let (mut li, _) =
        Client::agent(s.addr, &s.login("li", PASSWORD).await, json!({"presence": "away", "capacity": 20}))
            .await;
    let (mut amy, _) =
        Client::agent(s.addr, &s.login("amy", PASSWORD).await, json!({"presence": "away", "capacity": 20}))
            .await;
    let mut convs = Vec::new();
    let mut shoppers = Vec::new();
    for _ in 0..8 {
        let (mut c, conv) = Client::shopper(s.addr, None).await;
        c.say("转人工").await;
        c.until(|v| v["type"] == "status" && v["state"] == "waiting_agent").await;
        convs.push(conv);
        shoppers.push(c);
    }
    // both claim every conversation, back to back
    for conv in &convs {
        let claim = json!({"type": "claim", "conversation_id": conv});
        let (a, b) = tokio::join!(li.send(claim.clone()), amy.send(claim.clone()));
        let _ = (a, b);
    }
    let mut owners = std::collections::HashMap::new();
    for (name, agent) in [("li", &mut li), ("amy", &mut amy)] {
        let mut answered = 0;
        while answered < convs.len() {
            let f = agent.next().await.expect("open");
            let conv = f["conversation_id"].as_str().unwrap_or_default().to_string();
            match f["type"].as_str() {
                Some("done") if f["op"] == "claim" => {
                    assert!(owners.insert(conv.clone(), name).is_none(), "{conv} claimed twice");
                    answered += 1;
                }
                Some("error") => {
                    assert_eq!(f["code"], "already_taken", "{f}");
                    answered += 1;
                }
                _ => {}
            }
        }
    }
    assert_eq!(owners.len(), convs.len(), "every conversation has exactly one owner");
    // and the store agrees: one assigned handoff each
    for conv in &convs {
        let ctx = s.app.store.conversation_context(conv.clone()).await.unwrap().unwrap();
        let agents: Vec<_> = ctx.handoffs.iter().filter_map(|h| h.agent.clone()).collect();
        assert_eq!(agents, [owners[conv].to_string()], "{conv}");
    }
    // claiming what is not waiting is refused
    li.send(json!({"type": "claim", "conversation_id": "c-not-waiting"})).await;
    let (e, _) = li.until_type("error").await;
    assert_eq!(e["code"], "not_waiting");
    // and nobody speaks in a conversation that is not theirs
    let other = if owners[&convs[0]] == "li" { &mut amy } else { &mut li };
    other.send(json!({"type": "message", "conversation_id": convs[0], "id": "z", "text": "hi"})).await;
    let (e, _) = other.until_type("error").await;
    assert_eq!(e["code"], "not_yours");
}

#[tokio::test]
async fn an_agent_who_drops_keeps_conversations_for_the_grace_period_then_they_are_requeued() {
    let s = start_with(|c| c.agent_grace_secs = 3).await;
    let (li, _) = Client::agent(s.addr, &s.login("li", PASSWORD).await, json!({})).await;
    let (mut shopper, conv) = Client::shopper(s.addr, Some("S1002")).await;
    shopper.say("转人工").await;
    shopper.until(|v| v["type"] == "status" && v["state"] == "agent").await;
    drop(li);

    // within the grace period: the shopper's message is stored; Li comes back and has it
    shopper.say("还在吗？").await;
    let (mut li, welcome) = Client::agent(s.addr, &s.login("li", PASSWORD).await, json!({})).await;
    assert_eq!(welcome["agent"]["conversations"], json!([conv]));
    let a = li.assigned(&conv).await;
    assert!(texts(a["context"]["transcript"].as_array().unwrap()).contains("还在吗？"));
    li.send(json!({"type": "message", "conversation_id": conv, "id": "a1", "text": "在的，您请说"})).await;
    let (r, _) = shopper.until(|v| v["type"] == "reply" && v["from"] == "agent").await;
    assert_eq!(r["text"], "在的，您请说");

    // gone for longer than the grace period: back to the queue, and the next agent gets it all
    drop(li);
    shopper.say("人呢").await;
    let (st, _) = shopper.until(|v| v["type"] == "status" && v["state"] == "waiting_agent").await;
    assert_eq!(st["state"], "waiting_agent");
    let queue = s.app.desk.snapshot().await.unwrap().queue;
    assert_eq!(queue.iter().map(|q| q.reason.as_str()).collect::<Vec<_>>(), ["agent_disconnected"]);
    let (mut amy, _) = Client::agent(s.addr, &s.login("amy", PASSWORD).await, json!({})).await;
    let a = amy.assigned(&conv).await;
    let transcript = texts(a["context"]["transcript"].as_array().unwrap());
    for said in ["还在吗？", "在的，您请说", "人呢"] {
        assert!(transcript.contains(said), "{said} in {transcript}");
    }
    let (st, _) = shopper.until(|v| v["type"] == "status" && v["state"] == "agent").await;
    assert_eq!(st["agent"], "Amy");

    // hand back to the bot: the bot answers again
    amy.send(json!({"type": "handback", "conversation_id": conv})).await;
    shopper.until(|v| v["type"] == "status" && v["state"] == "bot").await;
    shopper.say("退货运费谁出").await;
    let (r, _) = shopper.until_type("reply").await;
    assert_eq!(r["from"], "bot");
}

#[tokio::test]
async fn with_nobody_available_the_shopper_can_leave_a_message_and_the_bot_keeps_answering() {
    let s = start().await;
    let (mut shopper, conv) = Client::shopper(s.addr, Some("S1003")).await;
    shopper.say("转人工").await;
    let (r, _) = shopper.until(|v| v["type"] == "reply" && v["actions"].is_array()).await;
    assert!(r["text"].as_str().unwrap().contains("没有人工客服在线"), "{r}");
    assert_eq!(r["actions"], json!(["leave_message"]));
    // the bot still answers while the shopper waits
    shopper.say("七天无理由退货怎么退").await;
    let (r, _) = shopper.until_type("reply").await;
    assert_eq!(r["from"], "bot");
    assert!(r["faq_id"].is_string(), "{r}");
    // a message for the agents becomes a ticket
    shopper
        .send(json!({"type": "ticket", "text": "请回电，想买沙发的定制尺寸", "contact": "138****0000"}))
        .await;
    let (t, _) = shopper.until_type("ticket").await;
    let id = t["id"].as_str().unwrap().to_string();
    shopper.send(json!({"type": "ticket", "text": "   "})).await;
    let (e, _) = shopper.until_type("error").await;
    assert_eq!(e["code"], "empty_message");

    let token = s.login("li", PASSWORD).await;
    let (st, tickets) = s.get("/api/tickets?status=open", &token).await;
    assert_eq!(st, StatusCode::OK);
    let tk = tickets.as_array().unwrap().iter().find(|t| t["id"] == id.as_str()).expect("the ticket").clone();
    assert_eq!(
        (tk["conversation_id"].as_str(), tk["shopper_id"].as_str()),
        (Some(conv.as_str()), Some("S1003"))
    );
    let (st, _) = s.call("POST", &format!("/api/tickets/{id}/close"), Some(&token), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = s.call("POST", &format!("/api/tickets/{id}/close"), Some(&token), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "closed once");
    let (_, open) = s.get("/api/tickets?status=open", &token).await;
    assert!(open.as_array().unwrap().is_empty());

    // an agent who comes online still picks the conversation up from the queue
    let (mut li, _) = Client::agent(s.addr, &s.login("li", PASSWORD).await, json!({})).await;
    li.assigned(&conv).await;

    // outside business hours the shopper is told the hours
    let closed = start_with(|c| c.business_hours = Some("22:00-23:00".into())).await;
    let (mut shopper, _) = Client::shopper(closed.addr, None).await;
    shopper.say("转人工").await;
    let (r, _) = shopper.until(|v| v["type"] == "reply" && v["actions"].is_array()).await;
    assert!(r["text"].as_str().unwrap().contains("22:00–23:00"), "{r}");
}

#[tokio::test]
async fn vip_shoppers_are_served_first_and_agents_get_their_language() {
    let s = start().await;
    let (mut plain, plain_conv) = Client::shopper(s.addr, Some("S1002")).await;
    plain.say("转人工").await;
    let (mut vip, vip_conv) = Client::shopper(s.addr, Some("S1005")).await;
    vip.say("转人工").await;
    let (mut english, en_conv) = Client::shopper(s.addr, None).await;
    english.say("I want to talk to a human").await;
    vip.until(|v| v["type"] == "status" && v["state"] == "waiting_agent").await;
    english.until(|v| v["type"] == "status" && v["state"] == "waiting_agent").await;
    let token = s.login("li", PASSWORD).await;
    let (_, snap) = s.get("/api/queue", &token).await;
    let order: Vec<&str> =
        snap["queue"].as_array().unwrap().iter().map(|q| q["conversation_id"].as_str().unwrap()).collect();
    assert_eq!(
        order,
        [vip_conv.as_str(), plain_conv.as_str(), en_conv.as_str()],
        "VIP first, then longest wait"
    );

    // a Chinese-only agent with one seat gets the VIP; the English shopper waits for Amy
    let (mut li, _) =
        Client::agent(s.addr, &s.login("li", PASSWORD).await, json!({"langs": ["zh"], "capacity": 1})).await;
    li.assigned(&vip_conv).await;
    let (mut amy, _) =
        Client::agent(s.addr, &s.login("amy", PASSWORD).await, json!({"langs": ["en"], "capacity": 1})).await;
    amy.assigned(&en_conv).await;
    let (_, mine) = s.get("/api/conversations/mine", &token).await;
    assert_eq!(
        mine.as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect::<Vec<_>>(),
        [vip_conv.as_str()]
    );
    let (_, snap) = s.get("/api/queue", &token).await;
    assert_eq!(snap["queue"].as_array().unwrap().len(), 1, "{snap}");
    let metrics = common::get_text(&s.app, "/metrics", &s.login("boss", PASSWORD).await).await;
    for line in ["kefu_agent_queue_waiting 1", "kefu_agents_connected 2", "kefu_agent_conversations 2"] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    // Li frees her seat by resolving: the next in line comes to her
    li.send(json!({"type": "resolve", "conversation_id": vip_conv})).await;
    li.assigned(&plain_conv).await;
}

#[tokio::test]
async fn a_shopper_who_drops_misses_nothing_and_a_restart_keeps_the_queue() {
    let s = start().await;
    let (mut li, _) = Client::agent(s.addr, &s.login("li", PASSWORD).await, json!({})).await;
    let (mut shopper, conv) = Client::shopper(s.addr, Some("S1004")).await;
    shopper.say("转人工").await;
    shopper.until(|v| v["type"] == "status" && v["state"] == "agent").await;
    li.assigned(&conv).await;
    drop(shopper);
    li.until(|v| v["type"] == "shopper" && v["online"] == false).await;
    // Li answers while the shopper is away: stored, and there on resume
    li.send(json!({"type": "message", "conversation_id": conv, "id": "a1", "text": "订单已经帮您加急了"}))
        .await;
    li.until(|v| v["type"] == "ack").await;
    let mut back = Client::connect(s.addr, "/ws/chat").await;
    let token = shopper_token("S1004");
    back.send(json!({"type": "hello", "token": token, "resume": conv})).await;
    let (w, _) = back.until_type("welcome").await;
    let last = w["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["from"].as_str(), last["text"].as_str()), (Some("agent"), Some("订单已经帮您加急了")));
    assert!(last.get("client_id").is_none(), "agents' message ids are not shown to shoppers: {last}");
    let (st, _) = back.until_type("status").await;
    assert_eq!(st["state"], "agent");
    li.until(|v| v["type"] == "shopper" && v["online"] == true).await;
    // and the live relay works again on the new connection
    back.send(json!({"type": "message", "id": "r1", "text": "谢谢！"})).await;
    let (m, _) = li.until_type("message").await;
    assert_eq!(m["text"], "谢谢！");
    li.send(json!({"type": "message", "conversation_id": conv, "id": "a2", "text": "不客气"})).await;
    let (r, _) = back.until(|v| v["type"] == "reply" && v["from"] == "agent").await;
    assert_eq!(r["text"], "不客气");

    // a waiting conversation survives a restart of the service (same database)
    let (mut waiting, waiting_conv) = Client::shopper(s.addr, None).await;
    li.send(json!({"type": "presence", "state": "away"})).await;
    li.until(|v| v["type"] == "done" && v["op"] == "presence").await;
    waiting.say("转人工").await;
    waiting.until(|v| v["type"] == "status" && v["state"] == "waiting_agent").await;
    let mut config = s.app.config.clone();
    config.listen = "127.0.0.1:0".parse().unwrap();
    let restarted = build(config).await;
    let snap = restarted.desk.snapshot().await.unwrap();
    assert_eq!(
        snap.queue.iter().map(|q| q.conversation_id.as_str()).collect::<Vec<_>>(),
        [waiting_conv.as_str()]
    );
    let li_seat = snap.agents.iter().find(|a| a.name == "li").expect("Li's conversation is kept for her");
    assert_eq!(li_seat.conversations, std::slice::from_ref(&conv));
    assert!(!li_seat.connected);
}

#[tokio::test]
async fn agents_search_the_catalog_with_stock() {
    let s = start().await;
    let li = s.login("li", PASSWORD).await;
    let (st, all) = s.get("/api/products", &li).await;
    assert_eq!(st, StatusCode::OK, "{all}");
    assert_eq!(all.as_array().unwrap().len(), 67, "the whole demo catalog");

    let (st, hits) = s.get("/api/products?q=%E7%89%9B%E4%BB%94%E8%A3%A4", &li).await; // 牛仔裤
    assert_eq!(st, StatusCode::OK, "{hits}");
    let first = &hits[0];
    assert!(first["name"]["zh"].as_str().unwrap().contains("牛仔"), "{first}");
    assert!(first["variants"][0]["stock"].is_u64(), "stock per variant: {first}");
    let (_, en) = s.get("/api/products?q=jeans&limit=3", &li).await;
    assert!(!en.as_array().unwrap().is_empty() && en.as_array().unwrap().len() <= 3, "{en}");

    let (st, _) = s.call("GET", "/api/products", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, e) = s.get("/api/products?size=M", &li).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
}
