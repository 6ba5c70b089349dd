//! Several nodes on one PostgreSQL (issue 19, item 2): the bus (LISTEN/NOTIFY; a round trip, a
//! payload over NOTIFY's limit, a listening connection killed and back), the desk's leadership
//! and two desks ("nodes") in one process on one database: a shopper on one node and the agent
//! on the other, both ways, typing, concurrent claims from both nodes, and the leader killed.
//!
//! Each node has its own `PgStore` (its own pool) on the same database, as separate processes
//! would; the bus and the lock are PostgreSQL's too. The single-node case (a local cluster) runs
//! on SQLite without PostgreSQL. Run with `KEFU_TEST_POSTGRES` (`scripts/postgres` prints it); without it the
//! tests print "skipped" and pass, unless `KEFU_TEST_POSTGRES_REQUIRED=1`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use kefu::agents::desk::{fresh_id, AgentHello};
use kefu::agents::protocol::{AgentErrorCode, AgentFrame, AgentMsg, Presence};
use kefu::agents::{Availability, Desk, DeskConfig, Escalation, ShopperEvent, ShopperLink};
use kefu::cluster::{BusEvent, Cluster, To};
use kefu::identity::Role;
use kefu::lang::Lang;
use kefu::records::EscalationContext;
use kefu::store::{Account, AccountStore, ConversationStore, Store};
use kefu::time::Clock;
use tokio::sync::{mpsc, Notify};

use common::postgres::Postgres;

/// How long any one expected thing may take before the test fails (never a timing assertion:
/// everything arrives long before).
const WAIT: Duration = Duration::from_secs(30);

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, f).await.unwrap_or_else(|_| panic!("{what}: nothing within {WAIT:?}"))
}

async fn message(rx: &mut mpsc::UnboundedReceiver<BusEvent>) -> (kefu::cluster::NodeId, String) {
    within("a bus message", async {
        loop {
            if let BusEvent::Message { from, body } = rx.recv().await.expect("bus open") {
                return (from, body);
            }
        }
    })
    .await
}

/// Until `cluster` knows its leader is `node`.
async fn led_by(cluster: &Cluster, node: kefu::cluster::NodeId) {
    let mut leader = cluster.leader();
    within("the leader", leader.wait_for(|l| l.is_some_and(|l| l.node == node))).await.unwrap();
}

#[tokio::test]
async fn bus_round_trip_and_broadcast() {
    let Some(pg) = Postgres::new("bus_round_trip").await else { return };
    let (a, b) = (pg.node().await, pg.node().await);
    let mut at_a = a.bus().subscribe("t");
    let mut at_b = b.bus().subscribe("t");
    a.bus().send(To::Node(b.node()), "t", &"你好 over the bus");
    let (from, body) = message(&mut at_b).await;
    assert_eq!(from, a.node());
    assert_eq!(serde_json::from_str::<String>(&body).unwrap(), "你好 over the bus");
    // in order, as sent
    for i in 0..50 {
        b.bus().send(To::Node(a.node()), "t", &i);
    }
    for i in 0..50 {
        assert_eq!(message(&mut at_a).await.1, i.to_string());
    }
    // to all: both nodes, the sender too
    b.bus().send(To::All, "t", &"everyone");
    assert_eq!(message(&mut at_a).await, (b.node(), "\"everyone\"".to_string()));
    assert_eq!(message(&mut at_b).await, (b.node(), "\"everyone\"".to_string()));
    pg.finish().await;
}

#[tokio::test]
async fn bus_payload_over_the_notify_limit() {
    let Some(pg) = Postgres::new("bus_big").await else { return };
    let (a, b) = (pg.node().await, pg.node().await);
    let mut at_b = b.bus().subscribe("t");
    let big = "货到了吗？".repeat(20_000); // 100,000 characters, 300,000 bytes
    a.bus().send(To::Node(b.node()), "t", &big);
    a.bus().send(To::Node(b.node()), "t", &"small, after it");
    assert_eq!(serde_json::from_str::<String>(&message(&mut at_b).await.1).unwrap(), big);
    assert_eq!(message(&mut at_b).await.1, "\"small, after it\"");
    pg.finish().await;
}

#[tokio::test]
async fn bus_listener_killed_reconnects_and_listens_again() {
    let Some(pg) = Postgres::new("bus_reconnect").await else { return };
    let (a, b) = (pg.node().await, pg.node().await);
    let mut at_b = b.bus().subscribe("t");
    let kill = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1";
    let killed = pg.admin.execute(kill, &[&format!("kefu-bus {}", b.node())]).await.unwrap();
    assert_eq!(killed, 1);
    within("reconnected", async { while at_b.recv().await.expect("bus open") != BusEvent::Reconnected {} })
        .await;
    a.bus().send(To::Node(b.node()), "t", &"after the reconnect");
    assert_eq!(message(&mut at_b).await.1, "\"after the reconnect\"");
    pg.finish().await;
}

fn config() -> DeskConfig {
    DeskConfig {
        grace: Duration::from_secs(120),
        recall_window: Duration::from_secs(120),
        default_capacity: 3,
        max_capacity: 10,
        max_message_chars: 100_000,
        hours: None,
        clock: Clock::System,
    }
}

/// An agent connected to one node's desk.
struct Agent {
    name: String,
    conn: u64,
    rx: mpsc::Receiver<AgentFrame>,
    close: Arc<Notify>,
}

impl Agent {
    async fn connect(desk: &Desk, name: &str, presence: Presence) -> Agent {
        let (tx, rx) = mpsc::channel(256);
        let close = Arc::new(Notify::new());
        let conn = fresh_id();
        desk.agent_hello(AgentHello {
            close: close.clone(),
            name: name.into(),
            display_name: name.to_uppercase(),
            capacity: Some(3),
            langs: None,
            presence: Some(presence),
            admin: false,
            conn,
            tx: tx.into(),
        })
        .await;
        let mut a = Agent { name: name.into(), conn, rx, close };
        a.frame("welcome", |f| matches!(f, AgentFrame::Welcome { .. })).await;
        a
    }

    async fn send(&self, desk: &Desk, msg: AgentMsg) {
        desk.agent(self.name.clone(), self.conn, msg).await
    }

    /// The next frame `want` accepts (others are skipped).
    async fn frame(&mut self, what: &str, want: impl Fn(&AgentFrame) -> bool) -> AgentFrame {
        let name = self.name.clone();
        within(&format!("{name}: {what}"), async {
            loop {
                let f = self.rx.recv().await.expect("agent line open");
                if want(&f) {
                    return f;
                }
            }
        })
        .await
    }

    /// `done` or an error about `conv`, whichever comes first.
    async fn outcome(&mut self, conv: &str) -> AgentFrame {
        self.frame("done or error", |f| match f {
            AgentFrame::Done { conversation_id, .. } => conversation_id == conv,
            AgentFrame::Error { conversation_id, .. } => conversation_id.as_deref() == Some(conv),
            _ => false,
        })
        .await
    }
}

async fn event(
    rx: &mut mpsc::Receiver<ShopperEvent>,
    what: &str,
    want: impl Fn(&ShopperEvent) -> bool,
) -> ShopperEvent {
    within(what, async {
        loop {
            let e = rx.recv().await.expect("shopper line open");
            if want(&e) {
                return e;
            }
        }
    })
    .await
}

fn escalation(conv: &str) -> Escalation {
    Escalation {
        conversation_id: conv.into(),
        shopper_id: None,
        lang: Lang::Zh,
        reason: "requested".into(),
        bot: EscalationContext::default(),
    }
}

/// A SQLite store with the agents.
async fn sqlite() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("kefu.db")).unwrap();
    agents(&store).await;
    (dir, store)
}

/// The agents ann, bob and cat (their handoffs name them).
async fn agents(store: &impl AccountStore) {
    for name in ["ann", "bob", "cat"] {
        let account = Account {
            name: name.into(),
            display_name: name.to_uppercase(),
            role: Role::Agent,
            password_hash: "$argon2id$not-a-real-hash".into(),
            created_at: String::new(),
            token_gen: 0,
        };
        assert!(store.add_account(account).await.unwrap());
    }
}

/// One node without PostgreSQL: the desk runs in the process as it always did.
#[tokio::test]
async fn a_local_cluster_runs_the_desk_in_process() {
    let (_dir, store) = sqlite().await;
    let local = Cluster::local();
    assert!(local.is_local() && local.leading());
    let desk = Desk::start_clustered(store.clone(), config(), &local).await.unwrap();
    let mut bob = Agent::connect(&desk, "bob", Presence::Online).await;
    let conv = store.open_conversation(None, Lang::En).await.unwrap().id;
    let (link, mut shopper) = ShopperLink::new();
    assert_eq!(desk.escalate(escalation(&conv), link).await.unwrap(), Availability::Assigned);
    bob.frame("assigned", |f| matches!(f, AgentFrame::Assigned { .. })).await;
    event(&mut shopper, "joined", |e| matches!(e, ShopperEvent::Joined { .. })).await;
}

/// A leader that never answers (its node runs no desk): a follower's caller gets an error
/// (after `REPLY_TIMEOUT`), not a wait without end.
#[tokio::test]
async fn a_silent_leader_fails_callers_in_bounded_time() {
    let Some(pg) = Postgres::new("silent").await else { return };
    let store = pg.store().await;
    agents(&store).await;
    let a = pg.node().await;
    led_by(&a, a.node()).await;
    let b = pg.node().await;
    led_by(&b, a.node()).await;
    let desk_b = Desk::start_clustered(pg.store().await, config(), &b).await.unwrap();
    let conv = store.open_conversation(None, Lang::Zh).await.unwrap().id;
    let (link, _shopper) = ShopperLink::new();
    let answer = within("an error", desk_b.escalate(escalation(&conv), link)).await;
    assert!(matches!(answer, Err(kefu::agents::desk::DeskError::Stopped)), "{answer:?}");
    pg.finish().await;
}

/// A node whose listening connection is killed misses what was sent meanwhile: a follower signs
/// its sessions in again, a leader asks every node to; the agent keeps the same connection
/// (not replaced) and goes on.
#[tokio::test]
async fn a_follower_that_lost_messages_re_registers() {
    let Some(pg) = Postgres::new("re_register").await else { return };
    let store = pg.store().await;
    agents(&store).await;
    let a = pg.node().await;
    led_by(&a, a.node()).await;
    let b = pg.node().await;
    led_by(&b, a.node()).await;
    let desk_a = Desk::start_clustered(store.clone(), config(), &a).await.unwrap();
    let desk_b = Desk::start_clustered(pg.store().await, config(), &b).await.unwrap();
    let mut bob = Agent::connect(&desk_b, "bob", Presence::Online).await;
    let conv = store.open_conversation(None, Lang::Zh).await.unwrap().id;
    let (link, mut shopper) = ShopperLink::new();
    assert_eq!(desk_a.escalate(escalation(&conv), link).await.unwrap(), Availability::Assigned);
    bob.frame("assigned", |f| matches!(f, AgentFrame::Assigned { .. })).await;

    let kill = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1";
    assert_eq!(pg.admin.execute(kill, &[&format!("kefu-bus {}", b.node())]).await.unwrap(), 1);
    bob.frame("welcome again", |f| matches!(f, AgentFrame::Welcome { .. })).await;
    bob.frame("assigned again", |f| matches!(f, AgentFrame::Assigned { .. })).await;
    let msg = AgentMsg::Message { conversation_id: conv.clone(), id: "m1".into(), text: "我在".into() };
    bob.send(&desk_b, msg).await;
    let said = event(&mut shopper, "message", |e| matches!(e, ShopperEvent::Message { .. })).await;
    assert!(matches!(said, ShopperEvent::Message { text, .. } if text == "我在"));

    // the leader's listening connection this time: it asks every node to sign in again
    assert_eq!(pg.admin.execute(kill, &[&format!("kefu-bus {}", a.node())]).await.unwrap(), 1);
    bob.frame("welcome once more", |f| matches!(f, AgentFrame::Welcome { .. })).await;
    bob.frame("assigned once more", |f| matches!(f, AgentFrame::Assigned { .. })).await;
    let msg = AgentMsg::Message { conversation_id: conv.clone(), id: "m2".into(), text: "还在".into() };
    bob.send(&desk_b, msg).await;
    let said = event(&mut shopper, "message", |e| matches!(e, ShopperEvent::Message { .. })).await;
    assert!(matches!(said, ShopperEvent::Message { text, .. } if text == "还在"));
    // the connection was never told to close
    assert!(tokio::time::timeout(Duration::from_millis(200), bob.close.notified()).await.is_err());
    pg.finish().await;
}

/// Two nodes on one database, A leading: a shopper on A, agents on both; concurrent claims
/// from both nodes; then A is killed and B takes over with every conversation where it was.
#[tokio::test]
async fn two_desks_across_nodes_and_failover() {
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("kefu=debug").try_init();
    let Some(pg) = Postgres::new("desks").await else { return };
    let store = pg.store().await;
    agents(&store).await;

    let a = pg.node().await;
    led_by(&a, a.node()).await;
    let b = pg.node().await;
    led_by(&b, a.node()).await;
    let desk_a = Desk::start_clustered(store.clone(), config(), &a).await.unwrap();
    let desk_b = Desk::start_clustered(pg.store().await, config(), &b).await.unwrap();

    // the agent on B, the shopper on A
    let mut bob = Agent::connect(&desk_b, "bob", Presence::Online).await;
    let conv1 = store.open_conversation(None, Lang::Zh).await.unwrap().id;
    let (link, mut shopper) = ShopperLink::new();
    let availability = desk_a.escalate(escalation(&conv1), link).await.unwrap();
    assert_eq!(availability, Availability::Assigned);
    bob.frame(
        "assigned",
        |f| matches!(f, AgentFrame::Assigned { conversation_id, .. } if *conversation_id == conv1),
    )
    .await;
    event(&mut shopper, "joined", |e| matches!(e, ShopperEvent::Joined { agent, .. } if agent == "BOB"))
        .await;

    // agent → shopper, 100,000 characters (over NOTIFY's limit both ways of the relay)
    let long = "您好，".repeat(33_333) + "好";
    let msg = AgentMsg::Message { conversation_id: conv1.clone(), id: "m1".into(), text: long.clone() };
    bob.send(&desk_b, msg).await;
    bob.frame("ack", |f| matches!(f, AgentFrame::Ack { id, message_id: Some(_) } if id == "m1")).await;
    let said = event(&mut shopper, "message", |e| matches!(e, ShopperEvent::Message { .. })).await;
    assert!(matches!(said, ShopperEvent::Message { agent, text, .. } if agent == "BOB" && text == long));

    // shopper → agent, and typing both ways
    desk_a.shopper_typing(conv1.clone()).await;
    bob.frame("typing", |f| matches!(f, AgentFrame::Typing { conversation_id } if *conversation_id == conv1))
        .await;
    desk_a.shopper_said(conv1.clone(), 7, "在吗".into(), "2026-12-03T10:00:00.000Z".into(), None).await;
    let got = bob.frame("message", |f| matches!(f, AgentFrame::Message { .. })).await;
    assert!(matches!(got, AgentFrame::Message { text, id: 7, .. } if text == "在吗"));
    bob.send(&desk_b, AgentMsg::Typing { conversation_id: conv1.clone() }).await;
    event(&mut shopper, "typing", |e| matches!(e, ShopperEvent::Typing { agent } if agent == "BOB")).await;

    // presence crosses too: bob steps away, and the snapshot asked on either node says so
    bob.send(&desk_b, AgentMsg::Presence { state: Presence::Away }).await;
    bob.outcome("").await;
    for desk in [&desk_a, &desk_b] {
        let snapshot = desk.snapshot().await.unwrap();
        let seen = snapshot.agents.iter().find(|i| i.name == "bob").unwrap();
        assert_eq!(
            (seen.presence, seen.connected, seen.conversations.clone()),
            (Presence::Away, true, vec![conv1.clone()])
        );
    }

    // concurrent claims from both nodes: one owner
    let mut ann = Agent::connect(&desk_a, "ann", Presence::Away).await;
    let mut cat = Agent::connect(&desk_b, "cat", Presence::Away).await;
    let conv2 = store.open_conversation(None, Lang::Zh).await.unwrap().id;
    let (link2, _shopper2) = ShopperLink::new();
    desk_a.escalate(escalation(&conv2), link2).await.unwrap();
    let claim = AgentMsg::Claim { conversation_id: conv2.clone() };
    tokio::join!(ann.send(&desk_a, claim.clone()), cat.send(&desk_b, claim.clone()));
    let (ann_got, cat_got) = tokio::join!(ann.outcome(&conv2), cat.outcome(&conv2));
    let won = |f: &AgentFrame| matches!(f, AgentFrame::Done { op, .. } if op == "claim");
    let lost = |f: &AgentFrame| matches!(f, AgentFrame::Error { code: AgentErrorCode::AlreadyTaken, .. });
    assert!(
        (won(&ann_got) && lost(&cat_got)) || (lost(&ann_got) && won(&cat_got)),
        "one claim wins: {ann_got:?} / {cat_got:?}"
    );
    let owner2 = if won(&ann_got) { "ann" } else { "cat" };

    // a third waits in the queue (nobody is online)
    let conv3 = store.open_conversation(None, Lang::Zh).await.unwrap().id;
    let (link3, _shopper3) = ShopperLink::new();
    assert_eq!(desk_b.escalate(escalation(&conv3), link3).await.unwrap(), Availability::NoAgents);

    // the leader dies: B takes the lock, restores the desk from the database, and B's agents
    // sign in again with it (keeping their conversations)
    a.stop();
    drop(ann);
    led_by(&b, b.node()).await;
    bob.frame("welcome again", |f| matches!(f, AgentFrame::Welcome { .. })).await;
    bob.frame(
        "conv1 again",
        |f| matches!(f, AgentFrame::Assigned { conversation_id, .. } if *conversation_id == conv1),
    )
    .await;
    let snapshot = desk_b.snapshot().await.unwrap();
    assert_eq!(
        snapshot.queue.iter().map(|q| q.conversation_id.clone()).collect::<Vec<_>>(),
        vec![conv3.clone()]
    );
    let owns = |name: &str| snapshot.agents.iter().find(|i| i.name == name).map(|i| i.conversations.clone());
    assert_eq!(owns("bob"), Some(vec![conv1.clone()]));
    assert_eq!(owns(owner2), Some(vec![conv2.clone()]));

    // the shopper of conv1 comes back through B; bob goes on talking to them
    let (link, mut shopper) = ShopperLink::new();
    desk_b.shopper_online(conv1.clone(), link).await;
    bob.frame("shopper online", |f| matches!(f, AgentFrame::Shopper { online: true, .. })).await;
    let msg = AgentMsg::Message { conversation_id: conv1.clone(), id: "m2".into(), text: "还在".into() };
    bob.send(&desk_b, msg).await;
    let said =
        event(&mut shopper, "message after failover", |e| matches!(e, ShopperEvent::Message { .. })).await;
    assert!(matches!(said, ShopperEvent::Message { text, .. } if text == "还在"));
    drop(cat);
    b.stop();
    pg.finish().await;
}

/// A follower killed with an agent on it tells nobody: the leader sees the node gone from the
/// database and lets its sessions go, so the agent's grace period starts as for a dropped
/// connection, and when it runs out the conversation goes back to the queue (not held by a
/// ghost). The dead node's shopper is offline.
#[tokio::test]
async fn a_dead_followers_agents_get_their_grace_period_and_no_more() {
    let Some(pg) = Postgres::new("dead_follower").await else { return };
    let store = pg.store().await;
    agents(&store).await;
    let a = pg.node().await;
    led_by(&a, a.node()).await;
    let b = pg.node().await;
    led_by(&b, a.node()).await;
    let short = DeskConfig { grace: Duration::from_secs(2), ..config() };
    let desk_a = Desk::start_clustered(store.clone(), short.clone(), &a).await.unwrap();
    let desk_b = Desk::start_clustered(pg.store().await, short, &b).await.unwrap();

    // bob on B owns conv1, whose shopper is on A; conv2's shopper is on B
    let mut bob = Agent::connect(&desk_b, "bob", Presence::Online).await;
    let conv1 = store.open_conversation(None, Lang::Zh).await.unwrap().id;
    let (link, _shopper) = ShopperLink::new();
    assert_eq!(desk_a.escalate(escalation(&conv1), link).await.unwrap(), Availability::Assigned);
    bob.frame("assigned", |f| matches!(f, AgentFrame::Assigned { .. })).await;
    let conv2 = store.open_conversation(None, Lang::Zh).await.unwrap().id;
    let (link2, _shopper2) = ShopperLink::new();
    assert_eq!(desk_b.escalate(escalation(&conv2), link2).await.unwrap(), Availability::Assigned);
    bob.frame("assigned conv2", |f| matches!(f, AgentFrame::Assigned { .. })).await;

    // B dies without a word (its connections dropped, as by kill -9)
    b.stop();
    drop(desk_b);
    let snapshot = within("bob let go and conv1 back in the queue", async {
        loop {
            let s = desk_a.snapshot().await.unwrap();
            if s.queue.iter().any(|q| q.conversation_id == conv1) {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
    .await;
    let seen = snapshot.agents.iter().find(|i| i.name == "bob");
    assert!(seen.is_none_or(|i| !i.connected && i.conversations.is_empty()), "{seen:?}");
    assert!(snapshot.queue.iter().any(|q| q.conversation_id == conv2), "{:?}", snapshot.queue);
    a.stop();
    pg.finish().await;
}
