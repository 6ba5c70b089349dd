//! Issue 15: what an unauthenticated client can make the server spend. Each test first does
//! what the attack did — idle sockets by the hundred against a low descriptor limit, headers
//! that never finish, WebSockets that never say hello, a thousand hellos — then checks that the
//! server still serves everyone else and that the limits said no. The real binary runs as a
//! child process where the descriptor limit matters (`ulimit -n`); the in-process server
//! elsewhere. No timing assertions: waits have generous deadlines, nothing asserts speed.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::http::{closed_by_server, connect_from, http, http_on, Answer};
use common::process::Kefu;
use common::server::TestServer;
use common::ws::Client;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// `kefu serve` under `ulimit -n fd_limit`, logging at info, with the default shared limits
/// (this file tests them).
fn server(fd_limit: u32, env: &[(&str, &str)]) -> Kefu {
    Kefu::fresh().fd_limit(fd_limit).shared_limits().env("KEFU_LOG", "info").envs(env).start()
}

/// `GET /healthz` from `from`: the status, or the error.
async fn healthz(from: &str, addr: SocketAddr) -> Result<u16, String> {
    let tcp = connect_from(from, addr).await.map_err(|e| e.to_string())?;
    let answer = tokio::time::timeout(Duration::from_secs(20), http_on(tcp, "GET", "/healthz", None, None))
        .await
        .map_err(|_| "no answer".to_string())?
        .map_err(|e| e.to_string())?;
    Ok(answer.status)
}

/// A shopper's `hello` over a WebSocket from the local address `from`: the first frame back.
async fn hello_from(from: &str, addr: SocketAddr) -> String {
    let mut c = Client::over(connect_from(from, addr).await.unwrap(), addr, "/ws/chat").await;
    c.send(json!({"type": "hello"})).await;
    c.next().await.expect("an answer").to_string()
}

/// An answer as text, lower-case: its header lines, then its body.
fn lower(a: &Answer) -> String {
    let head: String = a.headers.iter().map(|(n, v)| format!("{n}: {v}\n")).collect();
    (head + &a.body).to_ascii_lowercase()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_under_a_low_descriptor_limit_starve_nobody() {
    // the attack: far more idle sockets than the server has descriptors (256), from one address
    let mut server =
        server(256, &[("KEFU_HEADER_TIMEOUT_SECS", "3"), ("KEFU_MAX_CONNECTIONS_PER_ADDRESS", "100")]);
    server.wait_log("max_connections lowered", Duration::from_secs(5));
    let mut idle = Vec::new();
    for _ in 0..400 {
        if let Ok(s) = connect_from("127.0.0.1", server.addr).await {
            idle.push(s);
        }
    }
    // another client is served at once: the attacker got at most 100 of the 192 seats
    assert_eq!(healthz("127.0.0.2", server.addr).await, Ok(200));
    assert!(hello_from("127.0.0.2", server.addr).await.contains("welcome"));
    // and the refusals are in the log
    server.wait_log("connection refused", Duration::from_secs(10));
    // many more, from many addresses: the total stays below the descriptor limit
    for i in 0..300 {
        if let Ok(s) = connect_from(&format!("127.0.1.{}", 1 + i % 200), server.addr).await {
            idle.push(s);
        }
    }
    // the idle ones are closed once their header time is up, and the server serves again
    let mut closed = 0;
    for s in idle.iter_mut() {
        if closed_by_server(s, Duration::from_secs(30)).await {
            closed += 1;
        }
    }
    assert_eq!(closed, idle.len(), "every idle socket was closed by the server");
    drop(idle);
    assert_eq!(healthz("127.0.0.1", server.addr).await, Ok(200));
    let (mut c, _) = Client::shopper(server.addr, None).await;
    c.say("你好").await;
    assert!(server.alive());
    let log = server.log();
    assert!(!log.contains("Too many open files"), "the server never ran out of descriptors:\n{log}");
}

#[tokio::test]
async fn headers_that_never_finish_and_websockets_that_never_say_hello_are_closed() {
    let s = TestServer::start_with(|c| {
        c.header_timeout_secs = 1;
        c.hello_timeout_secs = 1;
    })
    .await;
    // half a request, then silence
    let mut slow = TcpStream::connect(s.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    assert!(closed_by_server(&mut slow, Duration::from_secs(20)).await, "slow headers are cut off");
    // a kept-alive connection that goes quiet after its request
    let mut kept = TcpStream::connect(s.addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    assert!(closed_by_server(&mut kept, Duration::from_secs(20)).await, "idle keep-alive is closed");
    // a WebSocket that never says hello gets a policy close
    let mut ws = Client::connect(s.addr, "/ws/chat").await;
    let close = ws.close_frame().await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1008);
    assert!(close.reason.contains("hello"), "{close:?}");
    // one that says hello in time is served
    let (mut c, _) = Client::shopper(s.addr, None).await;
    c.say("你好").await;
}

#[tokio::test]
async fn a_thousand_hellos_make_only_the_addresss_conversations_per_minute() {
    let s = TestServer::start_with(|c| {
        c.address_conversations_per_minute = 5;
        c.shopper_conversations_per_minute = 3;
    })
    .await;
    let mut welcomed = 0;
    let mut limited = 0;
    for _ in 0..20 {
        let mut c = Client::connect(s.addr, "/ws/chat").await;
        c.send(json!({"type": "hello"})).await;
        let (v, _) = c.until(|v| v["type"] == "welcome" || v["type"] == "error").await;
        match v["type"].as_str() {
            Some("welcome") => welcomed += 1,
            _ => {
                assert_eq!(v["code"], "rate_limited", "{v}");
                limited += 1;
            }
        }
    }
    assert_eq!((welcomed, limited), (5, 15));
    let db = rusqlite::Connection::open(&s.app.config.database).unwrap();
    let rows: i64 = db.query_row("SELECT COUNT(*) FROM conversations", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 5, "refused hellos made no rows");
    // another address is not limited by this one
    assert!(hello_from("127.0.0.3", s.addr).await.contains("welcome"));
}

#[tokio::test]
async fn a_shoppers_messages_are_limited_across_connections_and_resending_costs_nothing() {
    let s = TestServer::start_with(|c| c.shopper_messages_per_minute = 4).await;
    let (mut a, _) = Client::shopper(s.addr, Some("S1001")).await;
    let (mut b, _) = Client::shopper(s.addr, Some("S1001")).await;
    a.say("你好").await;
    a.say("你好呀").await;
    b.say("在吗").await;
    // a resend of an acknowledged message is acknowledged again, not charged
    a.send(json!({"type": "message", "id": "m1", "text": "你好"})).await;
    a.until(|v| v["type"] == "ack" && v["id"] == "m1").await;
    b.say("在吗在吗").await;
    // the fifth new message in the minute, on either connection, is refused
    b.send(json!({"type": "message", "id": "x", "text": "还在吗"})).await;
    let (e, _) = b.until_type("error").await;
    assert_eq!(e["code"], "rate_limited", "{e}");
    // a guest on the same address is someone else
    let (mut guest, _) = Client::shopper(s.addr, None).await;
    guest.say("你好").await;
}

#[tokio::test]
async fn every_page_has_a_csp_and_metrics_need_an_admin() {
    let s = TestServer::start_with(|_| {}).await;
    let raw = |path: &'static str, token: Option<String>| {
        let addr = s.addr;
        async move { http(addr, "GET", path, token.as_deref(), None).await.unwrap() }
    };
    for path in ["/", "/product/QM-WO-004", "/agent", "/trainer", "/healthz", "/api/me", "/nowhere"] {
        let r = raw(path, None).await;
        let csp = r.header("content-security-policy").unwrap_or_else(|| panic!("{path}: {r:?}"));
        let csp = csp.to_ascii_lowercase();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("script-src *") && !csp.contains("'unsafe-eval'"), "{path}: {csp}");
    }
    // the demo store runs its own inline scripts by hash, never any inline script
    let home = lower(&raw("/", None).await);
    assert!(home.contains("'sha256-") && !home.contains("script-src 'self' 'unsafe-inline'"), "{home}");
    assert_eq!(raw("/metrics", None).await.status, 401);
    let agent = common::token(&s.app, "li", kefu::identity::Role::Agent).await;
    assert_eq!(raw("/metrics", Some(agent)).await.status, 403);
    let admin = common::token(&s.app, "boss", kefu::identity::Role::Admin).await;
    let m = raw("/metrics", Some(admin)).await;
    assert!(m.status == 200 && lower(&m).contains("kefu_open_connections"), "{m:?}");
}
