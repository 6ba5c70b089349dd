//! What several nodes on one PostgreSQL share besides the desk (issue 19): the rate limits
//! (each node reports what it handed out over the bus, the others take it from their own
//! buckets: `chat::rates_sync`) and the order updates a store announces (published to every
//! node, each passes them to the live sessions it holds: `chat::live_sync`).
//!
//! Two nodes in one process on one throwaway database (`common::postgres`), each with its own
//! `Cluster::connect`: the shared parts alone, then two whole services (`kefu::app::build` on a
//! `postgres://` database, listening on 127.0.0.1) with real WebSocket clients and a signed
//! store event over TCP. A local cluster (one node, SQLite) needs no PostgreSQL. Run with
//! `KEFU_TEST_POSTGRES` (`scripts/postgres` prints it); without it the PostgreSQL tests print
//! "skipped" and pass, unless `KEFU_TEST_POSTGRES_REQUIRED=1`.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kefu::chat::live::LiveSessions;
use kefu::chat::rates::{Debited, Limited, Rates};
use kefu::chat::{live_sync, rates_sync};
use kefu::cluster::Cluster;
use kefu::config::Config;
use kefu::orders::events::OrderUpdate;
use serde_json::json;

use common::postgres::Postgres;
use common::ws::Client;

/// How long any one expected thing may take before the test fails (never a timing assertion:
/// everything arrives long before).
const WAIT: Duration = Duration::from_secs(30);

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, f).await.unwrap_or_else(|_| panic!("{what}: nothing within {WAIT:?}"))
}

/// Until `rates` has taken at least `n` tokens for the other nodes, counted by `count`.
async fn debited(rates: &Rates, count: impl Fn(&Debited) -> u64, n: u64) {
    within("the other node's report", async {
        while count(&rates.debited()) < n {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

fn update(order_no: &str, tracking_no: &str) -> OrderUpdate {
    OrderUpdate { order_no: order_no.into(), tracking_no: Some(tracking_no.into()), ..Default::default() }
}

// ---------------------------------------------------------------------------------------------
// the shared parts alone

#[tokio::test]
async fn a_local_cluster_shares_nothing_and_delivers_as_before() {
    let cluster = Cluster::local();
    let rates = Arc::new(Rates::new(&Config { address_conversations_per_minute: 2, ..Config::default() }));
    assert!(rates_sync::start(rates.clone(), &cluster).is_none());
    let ip: IpAddr = "203.0.113.9".parse().unwrap();
    assert!(rates.new_conversation(ip, None).is_ok() && rates.new_conversation(ip, None).is_ok());
    assert_eq!(rates.new_conversation(ip, None), Err(Limited::Address));
    assert!(rates.drain_consumed().is_empty(), "nothing counted for other nodes");

    let live = Arc::new(LiveSessions::new());
    assert!(live_sync::start(live.clone(), &cluster).is_none());
    let (session, mut rx) = live.join("c1");
    live.watch("c1", session, ["o1".to_string()].into());
    assert_eq!(live_sync::order_updated(&live, &cluster, update("o1", "T1")), 1);
    assert_eq!(rx.try_recv().unwrap().tracking_no.as_deref(), Some("T1"));
    assert!(rx.try_recv().is_err(), "once");
}

/// Tokens one node hands out are taken from the other's buckets: a limit of 3 new conversations
/// a minute is 3 for both nodes together, for addresses and shoppers alike, both ways.
#[tokio::test]
async fn two_nodes_share_the_rate_limits() {
    let Some(pg) = Postgres::new("shared_rates").await else { return };
    let (a, b) = (pg.node().await, pg.node().await);
    let config = Config {
        address_conversations_per_minute: 3,
        shopper_messages_per_minute: 4,
        address_messages_per_minute: 1_000,
        ..Config::default()
    };
    let (rates_a, rates_b) = (Arc::new(Rates::new(&config)), Arc::new(Rates::new(&config)));
    assert!(rates_sync::start(rates_a.clone(), &a).is_some());
    assert!(rates_sync::start(rates_b.clone(), &b).is_some());
    let ip: IpAddr = "198.51.100.23".parse().unwrap();

    assert!((0..3).all(|_| rates_a.new_conversation(ip, None).is_ok()));
    debited(&rates_b, |d| d.address_conversations, 3).await;
    assert_eq!(rates_b.new_conversation(ip, None), Err(Limited::Address), "node a spent them");
    let other: IpAddr = "198.51.100.24".parse().unwrap();
    assert_eq!(rates_b.new_conversation(other, None), Ok(()), "another address is another bucket");

    // three of a shopper's four messages a minute, on b
    for _ in 0..3 {
        rates_b.message(other, Some("S1001")).unwrap();
    }
    // 1 new conversation, 3 shopper messages and 3 address messages reach a
    debited(&rates_a, Debited::total, 7).await;
    assert_eq!(
        rates_a.debited(),
        Debited { address_conversations: 1, address_messages: 3, shopper_messages: 3, ..Debited::default() }
    );
    assert_eq!(rates_a.message(ip, Some("S1001")), Ok(()), "the fourth");
    assert_eq!(rates_a.message(ip, Some("S1001")), Err(Limited::Shopper));
    assert_eq!(rates_a.message(ip, Some("S1002")), Ok(()));
    drop((a, b));
    pg.finish().await;
}

/// An order update published on one node reaches the session about that order on the other,
/// and a session on the publishing node hears it exactly once (directly, not again over the bus).
#[tokio::test]
async fn an_order_update_reaches_the_session_on_either_node_once() {
    let Some(pg) = Postgres::new("live_updates").await else { return };
    let (a, b) = (pg.node().await, pg.node().await);
    let (live_a, live_b) = (Arc::new(LiveSessions::new()), Arc::new(LiveSessions::new()));
    live_sync::start(live_a.clone(), &a).unwrap();
    live_sync::start(live_b.clone(), &b).unwrap();
    let (on_a, mut at_a) = live_a.join("conv-a");
    live_a.watch("conv-a", on_a, ["o1".to_string()].into());
    let (on_b, mut at_b) = live_b.join("conv-b");
    live_b.watch("conv-b", on_b, ["o1".to_string(), "o2".to_string()].into());

    assert_eq!(live_sync::order_updated(&live_a, &a, update("o1", "T1")), 1, "a's own session at once");
    let heard = within("the update on b", at_b.recv()).await.unwrap();
    assert_eq!(heard.tracking_no.as_deref(), Some("T1"));
    // b publishes after it heard T1, so a's bus brings a's own T1 back before T2: a's session
    // hears T1 (directly), then T2 (from b), nothing in between
    assert_eq!(live_sync::order_updated(&live_b, &b, update("o1", "T2")), 1);
    assert_eq!(at_a.try_recv().unwrap().tracking_no.as_deref(), Some("T1"));
    let next = within("the update from b", at_a.recv()).await.unwrap();
    assert_eq!(next.tracking_no.as_deref(), Some("T2"), "T1 was not passed on twice");
    assert_eq!(at_b.try_recv().unwrap().tracking_no.as_deref(), Some("T2"));
    // an order no session on a is about: only b hears it
    live_sync::order_updated(&live_a, &a, update("o2", "T3"));
    assert_eq!(within("o2 on b", at_b.recv()).await.unwrap().tracking_no.as_deref(), Some("T3"));
    live_sync::order_updated(&live_b, &b, update("o1", "T4"));
    assert_eq!(within("T4 on a", at_a.recv()).await.unwrap().tracking_no.as_deref(), Some("T4"));
    drop((a, b));
    pg.finish().await;
}

// ---------------------------------------------------------------------------------------------
// two whole services

const EVENTS_SECRET: &str = "store-events-secret-0123456789";
/// S1001's order paid and waiting to ship (knowledge/demo/orders.json).
const PAID: &str = "261124866711367179";

/// One node: the test config (fixed clock, shopper tokens) on the PostgreSQL database `url`,
/// its model versions in `models`, store events signed with [`EVENTS_SECRET`].
async fn node(
    url: &str,
    models: &Path,
    tune: impl FnOnce(&mut Config),
) -> (Arc<kefu::app::AppState>, SocketAddr) {
    let mut config = common::server::test_config(Path::new(url));
    config.model_store = models.to_path_buf();
    config.store_events_secret = Some(EVENTS_SECRET.into());
    tune(&mut config);
    let app = common::server::build(config).await;
    let (addr, _) = common::server::serve(&app).await;
    (app, addr)
}

/// A store event signed with the shared scheme, posted to `addr`: the HTTP status.
async fn post_event(addr: SocketAddr, body: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let ts = chrono::Utc::now().timestamp();
    let sig = kefu::webhooks::signature::sign(EVENTS_SECRET.as_bytes(), ts, body.as_bytes());
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/store/events HTTP/1.1\r\nHost: kefu\r\nConnection: close\r\nContent-Type: application/json\r\nKefu-Timestamp: {ts}\r\nKefu-Signature: {sig}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).await.unwrap();
    raw[9..12].parse().unwrap()
}

/// Two services on one database: new conversations from one address are limited across both
/// (refused on b once a spent the minute's 3), and an order shipped by a store event posted to
/// b is told to the shopper whose session a holds.
#[tokio::test]
async fn two_services_share_limits_and_order_updates() {
    let Some(pg) = Postgres::new("two_services").await else { return };
    let models = tempfile::tempdir().unwrap();
    let limit = |c: &mut Config| c.address_conversations_per_minute = 3;
    let (app_a, addr_a) = node(&pg.url, &models.path().join("a"), limit).await;
    let (app_b, addr_b) = node(&pg.url, &models.path().join("b"), limit).await;

    // the shopper on a asks about the paid order: that conversation is now about it
    let (mut shopper, _) = Client::shopper(addr_a, Some("S1001")).await;
    let reply = shopper.ask(&format!("查物流 {PAID}")).await;
    assert!(reply["text"].as_str().unwrap().contains("待发货"), "{reply}");
    // two more new conversations on a: the address's 3 are spent, on b too once it hears
    for _ in 0..2 {
        Client::shopper(addr_a, None).await;
    }
    debited(&app_b.chat.rates, |d| d.address_conversations, 3).await;
    let mut refused = Client::connect(addr_b, "/ws/chat").await;
    refused.send(json!({"type": "hello"})).await;
    let (error, _) = refused.until_type("error").await;
    assert_eq!(error["code"], "rate_limited", "{error}");

    // the store ships it and tells b
    let event = json!({"id": "ev-ship-1", "type": "order.updated", "order_no": PAID, "status": "shipped",
                       "courier": "SF", "tracking_no": "SF1000001"});
    assert_eq!(post_event(addr_b, &event.to_string()).await, 204);
    let (notice, _) = shopper.until_type("reply").await;
    assert!(notice["text"].as_str().unwrap().starts_with(&format!("您的订单 {PAID} 已发货")), "{notice}");
    drop((app_a, app_b));
    pg.finish().await;
}
