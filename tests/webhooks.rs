//! Outbound webhooks end to end, against a real HTTP receiver on 127.0.0.1 that checks every
//! request's signature and can fail on purpose: an escalation over the real /ws/chat is
//! delivered signed; failures are retried; a delivery pending when kefu is killed (-9) is
//! delivered exactly once after the restart; replay and the delivery log through the admin API;
//! other staff get 403.

mod common;

use kefu::store::prelude::*;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::server::TestServer;
use common::ws::Client;
use kefu::config::WebhookEndpoint;
use kefu::identity::Role;
use kefu::webhooks::signature::{self, EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use serde_json::Value;

const SECRET: &str = "whsec-test-0123456789abcdef";
/// Generous: the conditions waited for are met in well under a second on an idle machine.
const PATIENCE: Duration = Duration::from_secs(60);

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Hit {
    event_id: String,
    body: Value,
    signed: bool,
    /// What the receiver answered.
    status: u16,
}

/// A webhook receiver: verifies signatures (401 when wrong) and answers 500 while `failing`
/// is above zero (each failure counts it down; `u32::MAX`: always).
#[derive(Clone, Default)]
struct Receiver {
    hits: Arc<Mutex<Vec<Hit>>>,
    failing: Arc<AtomicU32>,
}

impl Receiver {
    async fn start() -> (Receiver, String) {
        let r = Receiver::default();
        let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (r, url)
    }

    fn fail(&self, times: u32) {
        self.failing.store(times, Ordering::SeqCst);
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// Waits until some hit matches `pred`; returns every hit so far.
    async fn wait(&self, what: &str, pred: impl Fn(&Hit) -> bool) -> Vec<Hit> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let hits = self.hits();
            if hits.iter().any(&pred) {
                return hits;
            }
            assert!(Instant::now() < deadline, "no {what}; got {hits:#?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Acknowledged hits of an event.
    fn acks(&self, event_id: &str) -> usize {
        self.hits().iter().filter(|h| h.event_id == event_id && h.status == 200).count()
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    let signed = signature::verify(
        SECRET.as_bytes(),
        h(TIMESTAMP_HEADER),
        h(SIGNATURE_HEADER),
        &body,
        now,
        signature::DEFAULT_TOLERANCE,
    )
    .is_ok();
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let event_id = h(EVENT_ID_HEADER).unwrap_or_default().to_string();
    let failing = r.failing.load(Ordering::SeqCst);
    let status = if !signed {
        StatusCode::UNAUTHORIZED
    } else if failing > 0 {
        if failing != u32::MAX {
            r.failing.store(failing - 1, Ordering::SeqCst);
        }
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    r.hits.lock().unwrap().push(Hit { event_id, body: parsed, signed, status: status.as_u16() });
    status
}

fn endpoint(url: &str, events: &[&str]) -> WebhookEndpoint {
    WebhookEndpoint {
        url: url.into(),
        secret: SECRET.into(),
        events: events.iter().map(|e| e.to_string()).collect(),
    }
}

fn is_escalation_of(conv: &str) -> impl Fn(&Hit) -> bool + '_ {
    move |h| h.body["type"] == "conversation.escalated" && h.body["data"]["conversation_id"] == conv
}

async fn escalate(addr: std::net::SocketAddr) -> (Client, String) {
    let (mut shopper, conv) = Client::shopper(addr, Some("S1001")).await;
    shopper.say("转人工").await;
    shopper.until(|v| v["type"] == "status" && v["state"] == "waiting_agent").await;
    (shopper, conv)
}

async fn admin_and_agent(s: &TestServer) -> (String, String) {
    s.add_staff(&[("boss", "Boss", Role::Admin), ("li", "Li", Role::Agent)], "password-123").await;
    (s.login("boss", "password-123").await, s.login("li", "password-123").await)
}

/// Polls the delivery log until a delivery of `event_id` matches `pred`.
async fn logged(s: &TestServer, admin: &str, event_id: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, page) = s.get("/api/webhooks/deliveries?limit=200", admin).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let found =
            page["deliveries"].as_array().unwrap().iter().find(|d| d["event_id"] == event_id).cloned();
        if let Some(d) = found.filter(&pred) {
            return d;
        }
        assert!(Instant::now() < deadline, "no such delivery of {event_id}: {page:#}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_escalation_is_delivered_signed_and_failures_are_retried() {
    let (receiver, url) = Receiver::start().await;
    receiver.fail(2);
    let s = TestServer::start_with(|c| {
        c.webhooks = vec![endpoint(&url, &[])];
        c.webhook_retry_base_ms = 20;
    })
    .await;
    let (admin, agent) = admin_and_agent(&s).await;
    let (_shopper, conv) = escalate(s.addr).await;

    let hits =
        receiver.wait("acknowledged escalation", |h| is_escalation_of(&conv)(h) && h.status == 200).await;
    let tries: Vec<&Hit> = hits.iter().filter(|h| is_escalation_of(&conv)(h)).collect();
    // two failures on purpose, then the acknowledgement; the same event id and body each time
    assert_eq!(tries.iter().map(|h| h.status).collect::<Vec<_>>(), [500, 500, 200], "{tries:#?}");
    assert!(tries.iter().all(|h| h.signed && h.event_id == tries[0].event_id && h.body == tries[0].body));
    let event = &tries[0].body;
    assert_eq!(event["id"], tries[0].event_id.as_str());
    assert!(event["id"].as_str().unwrap().starts_with("evt_"), "{event}");
    assert_eq!(event["data"]["shopper_id"], "S1001");
    assert_eq!(event["data"]["reason"], "requested");
    assert_eq!(event["data"]["lang"], "zh");
    assert!(event["data"]["handoff_id"].is_i64() && event["created_at"].is_string(), "{event}");

    let d = logged(&s, &admin, &tries[0].event_id, |d| d["status"] == "delivered").await;
    assert_eq!((d["attempts"].as_i64(), d["last_status"].as_i64()), (Some(3), Some(200)), "{d}");
    assert_eq!(d["kind"], "conversation.escalated");
    assert_eq!(d["endpoint"], url.as_str());
    assert!(d["next_attempt_at"].is_null() && d["delivered_at"].is_string(), "{d}");
    // acknowledged: a replay is refused, and it is never sent again
    let uri = format!("/api/webhooks/deliveries/{}/replay", d["id"]);
    let (status, body) = s.call("POST", &uri, Some(&admin), None).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::CONFLICT, Some("already_delivered")), "{body}");
    assert_eq!(receiver.acks(&tries[0].event_id), 1);

    // the endpoints: the URL and its counts, never the secret
    let (status, list) = s.get("/api/webhooks/endpoints", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list[0]["url"], url.as_str());
    assert!(list[0]["delivered"].as_u64().unwrap() >= 1, "{list}");
    assert!(!list.to_string().contains(SECRET), "{list}");

    // admins only
    for uri in ["/api/webhooks/endpoints", "/api/webhooks/deliveries"] {
        let (status, _) = s.get(uri, &agent).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{uri}");
    }
    let (status, _) = s.call("POST", &uri, Some(&agent), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s.call("GET", "/api/webhooks/deliveries", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = s.get("/api/webhooks/deliveries?limit=100000", &admin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_failed_delivery_is_replayed_from_the_admin_api_and_the_log_pages() {
    let (receiver, url) = Receiver::start().await;
    receiver.fail(u32::MAX);
    let s = TestServer::start_with(|c| {
        c.webhooks = vec![endpoint(&url, &["conversation.escalated", "ticket.created"])];
        c.webhook_retry_base_ms = 10;
        c.webhook_max_attempts = 2;
    })
    .await;
    let (admin, _) = admin_and_agent(&s).await;
    let (_a, conv) = escalate(s.addr).await;
    let hits = receiver.wait("an attempt", is_escalation_of(&conv)).await;
    let event_id = hits.iter().find(|h| is_escalation_of(&conv)(h)).unwrap().event_id.clone();
    let failed = logged(&s, &admin, &event_id, |d| d["status"] == "failed").await;
    assert_eq!(
        (failed["attempts"].as_i64(), failed["last_status"].as_i64()),
        (Some(2), Some(500)),
        "{failed}"
    );
    assert_eq!(failed["last_error"], "HTTP 500");

    receiver.fail(0);
    let uri = format!("/api/webhooks/deliveries/{}/replay", failed["id"]);
    let (status, body) = s.call("POST", &uri, Some(&admin), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "pending");
    receiver.wait("the replay", |h| h.event_id == event_id && h.status == 200).await;
    let d = logged(&s, &admin, &event_id, |d| d["status"] == "delivered").await;
    assert_eq!(d["attempts"], 1, "a replay starts a new series: {d}");
    assert_eq!(receiver.acks(&event_id), 1);
    let (status, _) = s.call("POST", "/api/webhooks/deliveries/999999/replay", Some(&admin), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // more escalations, then the log read in pages of 2: newest first, each once
    for _ in 0..3 {
        let (_c, conv) = escalate(s.addr).await;
        receiver.wait("another escalation", |h| is_escalation_of(&conv)(h) && h.status == 200).await;
    }
    let (mut ids, mut before) = (Vec::new(), String::new());
    loop {
        let (status, page) = s.get(&format!("/api/webhooks/deliveries?limit=2{before}"), &admin).await;
        assert_eq!(status, StatusCode::OK);
        ids.extend(page["deliveries"].as_array().unwrap().iter().map(|d| d["id"].as_i64().unwrap()));
        match page["next_before"].as_i64() {
            Some(b) => before = format!("&before={b}"),
            None => break,
        }
    }
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    // the endpoint asked for escalations and tickets only: no feedback records came
    assert!(receiver.hits().iter().all(|h| h.body["type"] != "feedback.written"));
}

#[tokio::test]
async fn a_pending_delivery_is_delivered_exactly_once_after_kill_9() {
    use common::process::Kefu;
    let (receiver, url) = Receiver::start().await;
    receiver.fail(u32::MAX);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kefu.db");
    let hooks = format!("{url} secret={SECRET} events=conversation.escalated");
    let env = [
        ("KEFU_WEBHOOKS", hooks.as_str()),
        ("KEFU_WEBHOOK_RETRY_BASE_MS", "20"),
        ("KEFU_WEBHOOK_RETRY_MAX_SECS", "1"),
        ("KEFU_WEBHOOK_MAX_ATTEMPTS", "100000"),
    ];
    let mut kefu = Kefu::start(&db, &env);
    let (_shopper, conv) = escalate(kefu.addr).await;
    // kefu is retrying it: kill it in the middle
    let hits = receiver.wait("a failed attempt", is_escalation_of(&conv)).await;
    let event_id = hits.iter().find(|h| is_escalation_of(&conv)(h)).unwrap().event_id.clone();
    kefu.kill();
    assert_eq!(receiver.acks(&event_id), 0);

    receiver.fail(0);
    let kefu = Kefu::start(&db, &env);
    receiver.wait("the delivery after the restart", |h| h.event_id == event_id && h.status == 200).await;
    // another event, delivered after it: the worker has gone round many times since
    let (_other, later) = escalate(kefu.addr).await;
    receiver.wait("a later delivery", |h| is_escalation_of(&later)(h) && h.status == 200).await;
    assert_eq!(receiver.acks(&event_id), 1, "{:#?}", receiver.hits());
    assert!(receiver.hits().iter().all(|h| h.signed));
}

/// A measurement, not a test (run on request): how fast the outbox drains to a receiver on
/// loopback. `cargo test --test webhooks -- --ignored --nocapture throughput`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn throughput_from_the_outbox_to_a_loopback_receiver() {
    const EVENTS: usize = 5000;
    let (receiver, url) = Receiver::start().await;
    let s = TestServer::start_with(|c| c.webhooks = vec![endpoint(&url, &["ticket.created"])]).await;
    let conv = s.app.store.open_conversation(None, kefu::lang::Lang::En).await.unwrap().id;
    let started = Instant::now();
    // tickets written 64 at a time (one commit shares many), each with its event
    let mut written = 0;
    while written < EVENTS {
        let batch: Vec<_> = (0..64.min(EVENTS - written))
            .map(|_| {
                let (store, conv) = (s.app.store.clone(), conv.clone());
                tokio::spawn(async move {
                    store.create_ticket(conv, None, kefu::lang::Lang::En, "later".into(), None).await.unwrap()
                })
            })
            .collect();
        for t in batch {
            t.await.unwrap();
        }
        written += 64;
    }
    let stored = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(600);
    while receiver.hits().iter().filter(|h| h.status == 200).count() < EVENTS {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let all = started.elapsed();
    println!(
        "{EVENTS} events: written in {:.2} s; all delivered {:.2} s after the first was written: {:.0} deliveries/s",
        stored.as_secs_f64(),
        all.as_secs_f64(),
        EVENTS as f64 / all.as_secs_f64()
    );
    assert_eq!(receiver.hits().len(), EVENTS, "each delivered once");
}
