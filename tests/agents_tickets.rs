//! Issue 17, agent items 2 and 3, end to end (real server on 127.0.0.1, real WebSocket clients):
//! an agent recalls (撤回) a message they just sent — the shopper sees it recalled live and after
//! reconnecting, staff keep it marked; refused past the window and for another agent, allowed
//! for an admin. Tickets: linked to their conversation, answered by an agent (the shopper sees
//! the answer on their next visit, in a new conversation or the same guest conversation;
//! `ticket.answered` goes to the webhooks), open → answered → closed.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use common::server::TestServer;
use common::ws::{shopper_token, Client};
use kefu::config::{Config, WebhookEndpoint};
use kefu::identity::Role;
use serde_json::{json, Value};

const PASSWORD: &str = "agent-password-1";

async fn start_with(tune: impl FnOnce(&mut Config)) -> TestServer {
    let s = TestServer::start_with(tune).await;
    let staff = [("li", "Li", Role::Agent), ("amy", "Amy", Role::Agent), ("boss", "Boss", Role::Admin)];
    s.add_staff(&staff, PASSWORD).await;
    s
}

async fn agent(s: &TestServer, name: &str) -> Client {
    Client::agent(s.addr, &s.login(name, PASSWORD).await, json!({"langs": ["zh"], "capacity": 3})).await.0
}

/// A signed-in shopper handed to `li`: the shopper's client and the conversation id.
async fn with_li(s: &TestServer, li: &mut Client, shopper: &str) -> (Client, String) {
    let (mut c, conv) = Client::shopper(s.addr, Some(shopper)).await;
    c.say("转人工").await;
    c.until(|v| v["type"] == "status" && v["state"] == "agent").await;
    li.assigned(&conv).await;
    (c, conv)
}

/// `li` says `text` as `id`: the stored message id from the ack.
async fn li_says(li: &mut Client, conv: &str, id: &str, text: &str) -> i64 {
    li.send(json!({"type": "message", "conversation_id": conv, "id": id, "text": text})).await;
    let (ack, _) = li.until(|v| v["type"] == "ack" && v["id"] == id).await;
    ack["message_id"].as_i64().unwrap_or_else(|| panic!("the ack names the stored id: {ack}"))
}

fn recall(conv: &str, message_id: i64) -> Value {
    json!({"type": "recall", "conversation_id": conv, "message_id": message_id})
}

#[tokio::test]
async fn a_recalled_message_disappears_for_the_shopper_live_and_after_reconnect_and_staff_keep_it() {
    let s = start_with(|_| {}).await;
    let mut li = agent(&s, "li").await;
    let (mut shopper, conv) = with_li(&s, &mut li, "S1001").await;

    let wrong = li_says(&mut li, &conv, "a1", "您的订单 261101000000000009 已退款").await;
    let (r, _) = shopper.until(|v| v["type"] == "reply" && v["from"] == "agent").await;
    assert_eq!(r["message_id"], wrong, "{r}");
    let kept = li_says(&mut li, &conv, "a2", "您好，这边帮您看一下").await;
    shopper.until(|v| v["type"] == "reply" && v["message_id"] == kept).await;

    // another agent may not recall it
    let mut amy = agent(&s, "amy").await;
    amy.send(recall(&conv, wrong)).await;
    let (e, _) = amy.until_type("error").await;
    assert_eq!(e["code"], "not_yours", "{e}");

    // li may: li hears it is done, the shopper that it was recalled (no text)
    li.send(recall(&conv, wrong)).await;
    let (done, _) = li.until_type("recalled").await;
    assert_eq!((done["message_id"].as_i64(), done["by"].as_str()), (Some(wrong), Some("li")), "{done}");
    assert!(done["at"].is_string());
    let (rc, _) = shopper.until_type("recalled").await;
    assert_eq!(rc, json!({"type": "recalled", "message_id": wrong}));
    // twice: refused, plainly
    li.send(recall(&conv, wrong)).await;
    let (e, _) = li.until_type("error").await;
    assert_eq!(e["code"], "recall_window_passed", "{e}");

    // the shopper comes back: the recalled message is marked, its text gone; the other is there
    drop(shopper);
    let mut back = Client::connect(s.addr, "/ws/chat").await;
    let w = back.hello(json!({"token": shopper_token("S1001"), "resume": conv})).await;
    let history = w["history"].as_array().unwrap();
    let item = history.iter().find(|h| h["message_id"] == wrong).expect("the recalled message in history");
    assert_eq!(
        (item["from"].as_str(), item["text"].as_str(), &item["recalled"]),
        (Some("agent"), Some(""), &json!(true))
    );
    assert!(!w.to_string().contains("已退款"), "the recalled text never reaches the shopper: {w}");
    let other = history.iter().find(|h| h["message_id"] == kept).unwrap();
    assert_eq!((other["text"].as_str(), other.get("recalled")), (Some("您好，这边帮您看一下"), None));

    // staff keep it, marked recalled with who and when
    let token = s.login("li", PASSWORD).await;
    let (st, detail) = s.get(&format!("/api/conversations/{conv}"), &token).await;
    assert_eq!(st, StatusCode::OK);
    let line = detail["transcript"].as_array().unwrap().iter().find(|m| m["id"] == wrong).unwrap().clone();
    assert_eq!(line["text"], "您的订单 261101000000000009 已退款");
    assert_eq!(line["recalled"]["by"], "li");
    assert_eq!(line["recalled"]["at"], done["at"]);

    // an admin may recall an agent's message; the owner hears it too
    let mut boss = agent(&s, "boss").await;
    boss.send(recall(&conv, kept)).await;
    let (b, _) = boss.until_type("recalled").await;
    assert_eq!(b["by"], "boss");
    let (l, _) = li.until(|v| v["type"] == "recalled" && v["message_id"] == kept).await;
    assert_eq!(l["by"], "boss");
    back.until(|v| v["type"] == "recalled" && v["message_id"] == kept).await;
}

#[tokio::test]
async fn a_recall_after_the_window_is_refused_and_the_message_stays() {
    // a window of 0 s: every recall comes too late (no waiting, no clock in the test)
    let s = start_with(|c| c.recall_window_secs = 0).await;
    let mut li = agent(&s, "li").await;
    let (shopper, conv) = with_li(&s, &mut li, "S1002").await;
    let id = li_says(&mut li, &conv, "a1", "稍等").await;
    li.send(recall(&conv, id)).await;
    let (e, _) = li.until_type("error").await;
    assert_eq!(
        (e["code"].as_str(), e["conversation_id"].as_str()),
        (Some("recall_window_passed"), Some(conv.as_str()))
    );
    assert!(e["message"].as_str().unwrap().contains("can no longer be recalled"), "{e}");
    drop(shopper);
    let mut back = Client::connect(s.addr, "/ws/chat").await;
    let w = back.hello(json!({"token": shopper_token("S1002"), "resume": conv})).await;
    let item = w["history"].as_array().unwrap().iter().find(|h| h["message_id"] == id).unwrap().clone();
    assert_eq!((item["text"].as_str(), item.get("recalled")), (Some("稍等"), None));
}

/// A webhook receiver that keeps every body it gets.
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<Value>>>);

impl Receiver {
    async fn start() -> (Receiver, String) {
        let r = Receiver::default();
        let app = axum::Router::new()
            .route(
                "/hook",
                axum::routing::post(|State(r): State<Receiver>, body: Bytes| async move {
                    r.0.lock().unwrap().push(serde_json::from_slice(&body).unwrap());
                    StatusCode::OK
                }),
            )
            .with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (r, url)
    }

    /// Waits (at most a minute: the worker delivers in well under a second) for an event.
    async fn event(&self, kind: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(e) = self.0.lock().unwrap().iter().find(|e| e["type"] == kind) {
                return e.clone();
            }
            assert!(Instant::now() < deadline, "no {kind} event");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A shopper who asks for a person with nobody online and leaves a message: the ticket id.
async fn leave_ticket(c: &mut Client, text: &str) -> String {
    c.say("转人工").await;
    c.until(|v| v["type"] == "reply" && v["actions"] == json!(["leave_message"])).await;
    c.send(json!({"type": "ticket", "text": text, "contact": "13800001234"})).await;
    let (t, _) = c.until_type("ticket").await;
    t["id"].as_str().unwrap().to_string()
}

fn ids(tickets: &Value) -> Vec<String> {
    tickets.as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn an_answered_ticket_reaches_the_shopper_on_their_next_visit_and_the_store() {
    let (receiver, url) = Receiver::start().await;
    let s = start_with(|c| {
        c.webhooks = vec![WebhookEndpoint { url, secret: "whsec-0123456789abcdef".into(), events: vec![] }]
    })
    .await;
    let token = s.login("li", PASSWORD).await;

    // a signed-in shopper and a guest each leave a message, then go
    let (mut signed, signed_conv) = Client::shopper(s.addr, Some("S1003")).await;
    let t1 = leave_ticket(&mut signed, "沙发能做定制尺寸吗？请回电").await;
    signed.end(None).await;
    drop(signed);
    let (mut guest, guest_conv) = Client::shopper(s.addr, None).await;
    let t2 = leave_ticket(&mut guest, "发票怎么开").await;
    drop(guest);

    // each ticket names its conversation, whose transcript staff can open
    let (st, open) = s.get("/api/tickets?status=open", &token).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(ids(&open), [t1.clone(), t2.clone()]);
    assert_eq!(open[0]["conversation_id"], signed_conv.as_str());
    assert_eq!((open[0]["status"].as_str(), &open[0]["answer"]), (Some("open"), &Value::Null));
    let (st, detail) =
        s.get(&format!("/api/conversations/{}", open[1]["conversation_id"].as_str().unwrap()), &token).await;
    assert_eq!(st, StatusCode::OK);
    assert!(detail["transcript"].to_string().contains("转人工"));

    // replies: checked, then stored; once only
    let reply = |id: &str| format!("/api/tickets/{id}/reply");
    let (st, _) = s.call("POST", &reply(&t1), Some(&token), Some(json!({"text": "  "}))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = s.call("POST", &reply("T-none"), Some(&token), Some(json!({"text": "好的"}))).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let answer = "可以定制，尺寸请发给我们，客服会在今天内回电。";
    let (st, t) = s.call("POST", &reply(&t1), Some(&token), Some(json!({"text": answer}))).await;
    assert_eq!(st, StatusCode::OK, "{t}");
    assert_eq!(
        (t["status"].as_str(), t["answer"].as_str(), t["answered_by"].as_str()),
        (Some("answered"), Some(answer), Some("li"))
    );
    assert!(t["answered_at"].is_string() && t["delivered_at"].is_null(), "{t}");
    let (st, e) = s.call("POST", &reply(&t1), Some(&token), Some(json!({"text": "again"}))).await;
    assert_eq!((st, e["error"].as_str()), (StatusCode::CONFLICT, Some("not_open")), "{e}");
    let (_, answered) = s.get("/api/tickets?status=answered", &token).await;
    assert_eq!(ids(&answered), std::slice::from_ref(&t1));
    let (_, open) = s.get("/api/tickets?status=open", &token).await;
    assert_eq!(ids(&open), std::slice::from_ref(&t2));
    let (st, _) = s.get("/api/tickets?status=lost", &token).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    // the store hears it (and can forward it through its own channel)
    let event = receiver.event("ticket.answered").await;
    assert_eq!(event["data"]["ticket_id"], t1.as_str());
    assert_eq!(event["data"]["shopper_id"], "S1003");
    assert_eq!(event["data"]["answer"], answer);
    assert_eq!(event["data"]["contact"], "13800001234");

    // the signed-in shopper's next visit (a new conversation): the answer is there, with the
    // ticket's number, and stays there on reload (once)
    let (next, next_conv) = Client::shopper(s.addr, Some("S1003")).await;
    assert_ne!(next_conv, signed_conv);
    drop(next);
    let mut again = Client::connect(s.addr, "/ws/chat").await;
    let w = again.hello(json!({"token": shopper_token("S1003"), "resume": next_conv})).await;
    let shown: Vec<&Value> =
        w["history"].as_array().unwrap().iter().filter(|h| h["ticket"] == t1.as_str()).collect();
    assert_eq!(shown.len(), 1, "{w}");
    assert_eq!((shown[0]["from"].as_str(), shown[0]["text"].as_str()), (Some("agent"), Some(answer)));
    let (_, all) = s.get("/api/tickets", &token).await;
    assert!(all[0]["delivered_at"].is_string(), "{all}");
    // and the ticket's own conversation has it too, for staff
    let (_, detail) = s.get(&format!("/api/conversations/{signed_conv}"), &token).await;
    assert!(detail["transcript"].to_string().contains(answer));
    // another shopper's new conversation does not
    let mut other = Client::connect(s.addr, "/ws/chat").await;
    let w = other.hello(json!({"token": shopper_token("S1001")})).await;
    assert_eq!(w["history"], json!([]), "{w}");

    // the guest comes back to the same conversation: the answer is in it
    let (st, _) = s.call("POST", &reply(&t2), Some(&token), Some(json!({"text": "在订单页申请即可"}))).await;
    assert_eq!(st, StatusCode::OK);
    let mut guest = Client::connect(s.addr, "/ws/chat").await;
    let w = guest.hello(json!({"resume": guest_conv})).await;
    let last = w["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["text"].as_str(), last["ticket"].as_str()),
        (Some("在订单页申请即可"), Some(t2.as_str()))
    );

    // closed: from answered (and from open); listed as closed
    for t in [&t1, &t2] {
        let (st, _) = s.call("POST", &format!("/api/tickets/{t}/close"), Some(&token), None).await;
        assert_eq!(st, StatusCode::NO_CONTENT);
    }
    let (_, closed) = s.get("/api/tickets?status=closed", &token).await;
    assert_eq!(ids(&closed), [t1.clone(), t2.clone()]);
    assert_eq!(closed[0]["answer"], answer, "the answer is kept once closed");
    let (st, _) = s.call("POST", &reply(&t1), Some(&token), Some(json!({"text": "late"}))).await;
    assert_eq!(st, StatusCode::CONFLICT);
}
