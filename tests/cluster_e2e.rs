//! Two real `kefu serve` processes on one PostgreSQL database (issue 19, items 3 and 5): a
//! shopper on node A and the agent on node B talk both ways live, a transfer reaches an agent on
//! node A, a trainer's edit on node B is answered on node A; and kill -9 of a node under load
//! (the desk's leader, and a follower): its shoppers resume through the other node with every
//! acknowledged message kept, the agent who reconnects within the grace period still owns their
//! conversation, the waiting one keeps its queue place, and the other node is ready.
//!
//! Real WebSocket clients and HTTP on 127.0.0.1, real PostgreSQL (`KEFU_TEST_POSTGRES`;
//! `scripts/postgres` prints it): without it the tests print "skipped" and pass, unless
//! `KEFU_TEST_POSTGRES_REQUIRED=1`. Waits are bounded (a hang guard), never timing assertions.

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::http::http;
use common::postgres::Postgres;
use common::process::{add_user, Kefu};
use common::ws::Client;
use kefu::store::{ConversationStore, Sender};
use serde_json::{json, Value};

const PASSWORD: &str = "cluster-password-1";
/// How long an outcome may take to show (a hang guard, never a speed assertion).
const WAIT: Duration = Duration::from_secs(60);

/// A node on the test's database, logging when it takes the desk's lead.
fn node(pg: &Postgres) -> Kefu {
    Kefu::postgres(&pg.url)
        .env("KEFU_LOG", "warn,kefu::agents::desk::node=info")
        .env("KEFU_MESSAGES_PER_MINUTE", "100000")
        .env("KEFU_MAX_CONNECTIONS_PER_ADDRESS", "100000")
        .start()
}

/// Whether `node` runs the desk (its log says it took the lead).
fn leads(node: &Kefu) -> bool {
    node.log().contains("desk restored on this node")
}

/// Waits until `node`'s /healthz answers 200.
async fn ready(node: &Kefu) {
    let deadline = Instant::now() + WAIT;
    while node.healthz().await != 200 {
        assert!(Instant::now() < deadline, "/healthz never 200:\n{}", node.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A staff token from `POST /api/login` on `addr`.
async fn login(addr: SocketAddr, name: &str) -> String {
    let body = json!({"name": name, "password": PASSWORD}).to_string();
    let a = http(addr, "POST", "/api/login", None, Some(&body)).await.unwrap();
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()["token"].as_str().unwrap().to_string()
}

/// `METHOD path` with a staff token over HTTP: status and JSON body.
async fn api(addr: SocketAddr, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let body = body.map(|b| b.to_string());
    let a = http(addr, method, path, Some(token), body.as_deref()).await.unwrap();
    (a.status, a.json())
}

fn texts(frames: &[Value]) -> String {
    frames.iter().filter_map(|f| f["text"].as_str()).collect::<Vec<_>>().join("\n")
}

/// A guest shopper resuming `conv` on `addr`: the client, the welcome and the status after it.
async fn resume(addr: SocketAddr, conv: &str) -> (Client, Value, Value) {
    let mut c = Client::connect(addr, "/ws/chat").await;
    c.send(json!({"type": "hello", "lang": "zh", "resume": conv})).await;
    let (w, _) = c.until(|v| v["type"] == "welcome" || v["type"] == "error").await;
    assert_eq!(w["type"], "welcome", "{w}");
    let (st, _) = c.until_type("status").await;
    (c, w, st)
}

/// The shopper messages' client ids stored for `conv`, in order.
async fn stored_ids(pg: &Postgres, conv: &str) -> Vec<String> {
    let store = pg.store().await;
    let messages = store.messages(conv.to_string()).await.unwrap();
    messages.into_iter().filter(|m| m.sender == Sender::Shopper).filter_map(|m| m.client_msg_id).collect()
}

// ---------------------------------------------------------------------------------------------
// shopper on A, agents on B and A, a trainer on B

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopper_on_one_node_agents_on_both_and_a_trainer_edit_on_the_other() {
    let Some(pg) = Postgres::new("cluster_e2e").await else { return };
    let a = node(&pg);
    let b = node(&pg);
    ready(&a).await;
    ready(&b).await;
    let db = Path::new(&pg.url);
    add_user(db, "li", "agent", PASSWORD);
    add_user(db, "amy", "agent", PASSWORD);
    add_user(db, "wang", "trainer", PASSWORD);

    // Li on B, away (so nothing is assigned to her: she claims)
    let (mut li, _) = Client::agent(b.addr, &login(b.addr, "li").await, json!({"presence": "away"})).await;

    // a shopper on A asks for a person: waiting in the queue
    let (mut shopper, conv) = Client::shopper(a.addr, None).await;
    shopper.say("转人工").await;
    shopper.until(|v| v["type"] == "status" && v["state"] == "waiting_agent").await;

    // Li on B sees it in the queue and claims it
    li.until(|v| {
        v["type"] == "queue"
            && v["items"].as_array().unwrap().iter().any(|i| i["conversation_id"] == conv.as_str())
    })
    .await;
    li.send(json!({"type": "claim", "conversation_id": conv})).await;
    let assigned = li.assigned(&conv).await;
    assert!(texts(assigned["context"]["transcript"].as_array().unwrap()).contains("转人工"), "{assigned}");
    let (status, _) = shopper.until(|v| v["type"] == "status" && v["state"] == "agent").await;
    assert_eq!(status["agent"], "li");

    // live both ways across the nodes, typing included
    shopper.say("你好，我想改一下收货地址").await;
    let (m, _) = li.until_type("message").await;
    assert_eq!(
        (m["conversation_id"].as_str(), m["text"].as_str()),
        (Some(conv.as_str()), Some("你好，我想改一下收货地址"))
    );
    li.send(json!({"type": "typing", "conversation_id": conv})).await;
    let (t, _) = shopper.until_type("typing").await;
    assert_eq!(t["agent"], "li");
    li.send(
        json!({"type": "message", "conversation_id": conv, "id": "li-1", "text": "您好，这边帮您看一下"}),
    )
    .await;
    li.until(|v| v["type"] == "ack" && v["id"] == "li-1").await;
    let (r, _) = shopper.until(|v| v["type"] == "reply" && v["from"] == "agent").await;
    assert_eq!((r["agent"].as_str(), r["text"].as_str()), (Some("li"), Some("您好，这边帮您看一下")));

    // Amy on A; Li (on B) transfers to her: she gets the whole story and answers
    let (mut amy, _) = Client::agent(a.addr, &login(a.addr, "amy").await, json!({})).await;
    li.send(json!({"type": "transfer", "conversation_id": conv, "to": "amy"})).await;
    let (ended, _) = li.until_type("ended").await;
    assert_eq!(ended["outcome"], "transferred");
    let got = amy.assigned(&conv).await;
    assert_eq!(got["reason"], "transfer");
    let transcript = texts(got["context"]["transcript"].as_array().unwrap());
    assert_eq!(transcript.matches("您好，这边帮您看一下").count(), 1, "{transcript}");
    shopper.until(|v| v["type"] == "status" && v["state"] == "agent" && v["agent"] == "amy").await;
    amy.send(
        json!({"type": "message", "conversation_id": conv, "id": "amy-1", "text": "地址已经帮您改好了"}),
    )
    .await;
    let (r, _) = shopper.until(|v| v["type"] == "reply" && v["from"] == "agent").await;
    assert_eq!((r["agent"].as_str(), r["text"].as_str()), (Some("amy"), Some("地址已经帮您改好了")));
    shopper.say("谢谢").await;
    let (m, _) = amy.until_type("message").await;
    assert_eq!(m["text"], "谢谢");
    amy.send(json!({"type": "resolve", "conversation_id": conv})).await;
    amy.until(|v| v["type"] == "done" && v["op"] == "resolve").await;
    shopper.until_type("rating_request").await;

    // a trainer on B edits an answer; a shopper on A gets the edited one
    let wang = login(b.addr, "wang").await;
    let (st, entry) = api(b.addr, "GET", "/api/kb/faqs/register-login", &wang, None).await;
    assert_eq!(st, 200, "{entry}");
    let version = entry["version"].as_i64().unwrap();
    let mut doc = entry["entry"].clone();
    let edited = "亲，点击页面右上角「登录」，输入手机号和验证码即可注册（集群测试）";
    doc["zh"]["answer"] = json!(edited);
    let (st, updated) = api(
        b.addr,
        "PUT",
        "/api/kb/faqs/register-login",
        &wang,
        Some(json!({"version": version, "entry": doc})),
    )
    .await;
    assert_eq!(st, 200, "{updated}");
    // the edit reaches A over the bus: ask until it answers with it (bounded)
    let deadline = Instant::now() + WAIT;
    loop {
        let (mut s, _) = Client::shopper(a.addr, None).await;
        let answer = s.ask("怎么注册").await;
        assert_eq!(answer["faq_id"], "register-login", "{answer}");
        if answer["text"] == edited {
            break;
        }
        assert!(Instant::now() < deadline, "node A never answered with B's edit: {answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop((a, b));
    pg.finish().await;
}

// ---------------------------------------------------------------------------------------------
// kill -9 under load

/// What one chatting shopper knows when it stops: its conversation, the ids acknowledged, and
/// the one sent without an answer (the connection died first).
struct Chat {
    conv: String,
    acked: Vec<String>,
    in_flight: Option<String>,
}

/// Sends a message; Ok once it is acknowledged, Err when the connection ends or errs first.
async fn offer(c: &mut Client, id: &str, text: &str) -> Result<(), String> {
    if !c.try_send(json!({"type": "message", "id": id, "text": text})).await {
        return Err("gone".into());
    }
    loop {
        let Some(v) = c.next().await else { return Err("gone".into()) };
        match v["type"].as_str() {
            Some("ack") if v["id"] == id => return Ok(()),
            Some("error") => return Err(v["code"].as_str().unwrap_or("?").to_string()),
            _ => {}
        }
    }
}

/// A guest shopper on `addr` chatting with the bot until `stop` or its connection ends.
fn chatter(
    addr: SocketAddr,
    n: usize,
    stop: Arc<AtomicBool>,
    started: Arc<AtomicUsize>,
    acked_total: Arc<AtomicUsize>,
) -> tokio::task::JoinHandle<Chat> {
    const TEXTS: [&str; 4] = ["运费险怎么理赔", "what is your return policy", "你好", "双十一有什么优惠"];
    tokio::spawn(async move {
        let (mut c, conv) = Client::shopper(addr, None).await;
        started.fetch_add(1, Ordering::SeqCst);
        let mut acked = Vec::new();
        for k in 0.. {
            if stop.load(Ordering::SeqCst) {
                return Chat { conv, acked, in_flight: None };
            }
            let id = format!("s{n}-m{k}");
            match offer(&mut c, &id, TEXTS[k % TEXTS.len()]).await {
                Ok(()) => {
                    acked.push(id);
                    acked_total.fetch_add(1, Ordering::SeqCst);
                }
                Err(_) => return Chat { conv, acked, in_flight: Some(id) },
            }
        }
        unreachable!()
    })
}

/// Two nodes; 20 shoppers chatting, 10 on each; Li on the victim owns one escalated
/// conversation (its shopper on the other node), another waits in the queue (its shopper on the
/// victim); then the victim gets SIGKILL.
async fn kill_9_under_load(kill_the_leader: bool) {
    let Some(pg) = Postgres::new(if kill_the_leader { "kill_leader" } else { "kill_follower" }).await else {
        return;
    };
    let first = node(&pg);
    ready(&first).await;
    let second = node(&pg);
    ready(&second).await;
    let deadline = Instant::now() + WAIT;
    while !leads(&first) && !leads(&second) {
        assert!(Instant::now() < deadline, "no node leads");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (mut victim, survivor) =
        if leads(&first) == kill_the_leader { (first, second) } else { (second, first) };
    let db = Path::new(&pg.url);
    add_user(db, "li", "agent", PASSWORD);

    // Li on the victim, one seat: she gets X (its shopper on the survivor); Y (on the victim) waits
    let li_token = login(victim.addr, "li").await;
    let (mut li, _) = Client::agent(victim.addr, &li_token, json!({"langs": ["zh"], "capacity": 1})).await;
    let (mut x, conv_x) = Client::shopper(survivor.addr, None).await;
    x.say("转人工").await;
    x.until(|v| v["type"] == "status" && v["state"] == "agent").await;
    li.assigned(&conv_x).await;
    let (mut y, conv_y) = Client::shopper(victim.addr, None).await;
    y.say("转人工").await;
    y.until(|v| v["type"] == "status" && v["state"] == "waiting_agent").await;
    let (st, before) = api(survivor.addr, "GET", "/api/queue", &li_token, None).await;
    assert_eq!(st, 200, "{before}");
    let queued = |snapshot: &Value| {
        snapshot["queue"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["conversation_id"] == conv_y.as_str())
            .cloned()
    };
    let y_before = queued(&before).expect("Y waits in the queue");

    // the load: 10 shoppers on each node
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicUsize::new(0));
    let acked_total = Arc::new(AtomicUsize::new(0));
    let mut on_victim = Vec::new();
    let mut on_survivor = Vec::new();
    for n in 0..20 {
        let addr = if n % 2 == 0 { victim.addr } else { survivor.addr };
        let t = chatter(addr, n, stop.clone(), started.clone(), acked_total.clone());
        if n % 2 == 0 {
            on_victim.push(t)
        } else {
            on_survivor.push(t)
        }
    }
    let deadline = Instant::now() + WAIT * 2;
    // every shopper said hello, and many messages went through
    while started.load(Ordering::SeqCst) < 20 || acked_total.load(Ordering::SeqCst) < 200 {
        assert!(Instant::now() < deadline, "the load never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    victim.kill(); // SIGKILL, in the middle of the load
    let mut victims = Vec::new();
    for t in on_victim {
        victims.push(t.await.unwrap());
    }
    stop.store(true, Ordering::SeqCst);
    let mut others = Vec::new();
    for t in on_survivor {
        others.push(t.await.unwrap());
    }
    let acked: usize = victims.iter().chain(&others).map(|c| c.acked.len()).sum();
    eprintln!(
        "killed the {}; {acked} messages acknowledged",
        if kill_the_leader { "leader" } else { "follower" }
    );
    assert!(victims.iter().all(|c| c.in_flight.is_some()), "the victim's shoppers lost their connection");
    assert!(others.iter().all(|c| c.in_flight.is_none()), "the survivor's shoppers went on undisturbed");

    // the survivor is (or stays) ready, and leads the desk
    ready(&survivor).await;
    let deadline = Instant::now() + WAIT;
    while !leads(&survivor) {
        assert!(Instant::now() < deadline, "the survivor never took the lead:\n{}", survivor.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // every acknowledged message is stored, once, in order (the survivor's shoppers' too)
    for c in victims.iter().chain(&others) {
        let stored = stored_ids(&pg, &c.conv).await;
        assert_eq!(&stored[..c.acked.len()], &c.acked[..], "acked messages of {} stored in order", c.conv);
        assert_eq!(stored.iter().collect::<BTreeSet<_>>().len(), stored.len(), "none stored twice");
        assert!(stored.len() <= c.acked.len() + 1, "at most the one in flight more");
    }
    // the victim's shoppers resume through the survivor, re-send what was in flight, go on
    for c in &victims {
        let (mut s, w, _) = resume(survivor.addr, &c.conv).await;
        assert_eq!(w["conversation_id"], c.conv.as_str());
        let history: Vec<&str> =
            w["history"].as_array().unwrap().iter().filter_map(|h| h["client_id"].as_str()).collect();
        for id in &c.acked {
            assert!(history.contains(&id.as_str()), "{id} in the resumed history of {}", c.conv);
        }
        let id = c.in_flight.as_deref().unwrap();
        offer(&mut s, id, "运费险怎么理赔").await.unwrap();
        offer(&mut s, &format!("{id}-after"), "你好").await.unwrap();
        let stored = stored_ids(&pg, &c.conv).await;
        assert_eq!(stored.iter().filter(|s| *s == id).count(), 1, "the re-sent message is stored once");
    }

    // Li reconnects through the survivor within the grace period (her token is good on every
    // node): X is still hers, live both ways; Y kept its queue place
    let (st, after) = api(survivor.addr, "GET", "/api/queue", &li_token, None).await;
    assert_eq!(st, 200, "{after}");
    let li_row = after["agents"].as_array().unwrap().iter().find(|a| a["name"] == "li").cloned();
    assert!(
        li_row.as_ref().is_some_and(|a| a["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == conv_x.as_str())),
        "Li still owns X while she is away: {after}"
    );
    let y_after = queued(&after).expect("Y still waits in the queue");
    assert_eq!(y_after["queued_at"], y_before["queued_at"], "Y keeps its place");
    drop(li);
    let (mut li, _) = Client::agent(survivor.addr, &li_token, json!({"langs": ["zh"], "capacity": 1})).await;
    li.assigned(&conv_x).await;
    x.say("还在吗？").await;
    let (m, _) = li.until(|v| v["type"] == "message" && v["text"] == "还在吗？").await;
    assert_eq!(m["conversation_id"], conv_x.as_str());
    li.send(json!({"type": "message", "conversation_id": conv_x, "id": "li-after", "text": "在的，您请说"}))
        .await;
    li.until(|v| v["type"] == "ack" && v["id"] == "li-after").await;
    let (r, _) = x.until(|v| v["type"] == "reply" && v["from"] == "agent").await;
    assert_eq!(r["text"], "在的，您请说");
    let (_, _, st) = resume(survivor.addr, &conv_y).await;
    assert_eq!(st["state"], "waiting_agent", "Y's shopper is still waiting: {st}");
    drop(y);
    let (_, after) = api(survivor.addr, "GET", "/api/queue", &li_token, None).await;
    assert_eq!(queued(&after).expect("Y still queued")["queued_at"], y_before["queued_at"]);
    assert_eq!(survivor.healthz().await, 200);
    drop(survivor);
    pg.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_desk_leader_under_load() {
    kill_9_under_load(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_a_follower_under_load() {
    kill_9_under_load(false).await;
}
