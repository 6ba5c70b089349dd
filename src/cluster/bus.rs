//! Messages between nodes over PostgreSQL's LISTEN/NOTIFY.
//!
//! Each node listens on its own channel (`kefu_n_<node id>`) and on `kefu_all`, on a dedicated
//! connection polled here (`Connection::poll_message`); a second connection publishes, one
//! message after another in the order given (pipelined), so what one node sends another
//! arrives in order. A message is a topic and a JSON body; the notification's payload is
//! `<from> <topic> <body>`. A payload over [`INLINE_MAX`] bytes (PostgreSQL takes less than
//! 8000; agents' and shoppers' messages reach 100,000 characters) goes into the unlogged table
//! `kefu_bus_payloads` in the same statement, and the notification carries `@<id>`; the
//! receiver reads it back. Rows older than [`KEEP_PAYLOADS`] are pruned.
//!
//! Delivery is at most once. A listening connection that drops is reconnected with backoff
//! and listens again; notifications sent meanwhile are lost, so the subscribers are told
//! ([`BusEvent::Reconnected`]) and re-register what they hold. A publishing connection that
//! drops loses the messages of the batch that failed (logged), then reconnects.
//!
//! [`Bus::local`]: one node, no PostgreSQL: a message to this node (or to all) is handed to the
//! subscriber directly.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deadpool_postgres::tokio_postgres::{self, AsyncMessage, NoTls};
use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;

use super::{Backoff, ClusterError, NodeId};

/// The largest payload sent in the notification itself (PostgreSQL's limit is 8000 bytes).
pub const INLINE_MAX: usize = 7_900;
/// How long a large payload is kept for its receivers.
pub const KEEP_PAYLOADS: Duration = Duration::from_secs(300);
/// The channel every node listens on.
const ALL: &str = "kefu_all";
/// The advisory lock the payload table is created under (two nodes starting at once).
const SCHEMA_LOCK: i64 = 0x6b65_6675_0003;
const SCHEMA: &str = "CREATE UNLOGGED TABLE IF NOT EXISTS kefu_bus_payloads (
    id bigserial PRIMARY KEY,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now())";

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum To {
    Node(NodeId),
    /// Every node, this one included.
    All,
}

/// What a subscriber of a topic receives.
#[derive(Debug, Clone, PartialEq)]
pub enum BusEvent {
    /// A message: who sent it and its JSON body.
    Message { from: NodeId, body: String },
    /// The listening connection was lost and is back: messages sent meanwhile are lost.
    Reconnected,
}

/// One message to publish.
struct Outgoing {
    channel: String,
    /// `<from> <topic> `, then the body (inline) or `@` and the stored payload's id.
    head: String,
    body: String,
}

/// This node's end of the bus. Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

struct Inner {
    node: NodeId,
    subscribers: Mutex<HashMap<String, mpsc::UnboundedSender<BusEvent>>>,
    /// The publisher's queue; `None` for a local bus.
    out: Option<mpsc::UnboundedSender<Outgoing>>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("node", &self.inner.node)
            .field("local", &self.inner.out.is_none())
            .finish()
    }
}

fn channel(node: NodeId) -> String {
    format!("kefu_n_{node}")
}

impl Bus {
    /// A bus for one node without PostgreSQL.
    pub fn local(node: NodeId) -> Bus {
        Bus { inner: Arc::new(Inner { node, subscribers: Mutex::default(), out: None }) }
    }

    pub fn node(&self) -> NodeId {
        self.inner.node
    }

    /// The messages of `topic` from now on (a topic has one subscriber: a second replaces it).
    pub fn subscribe(&self, topic: &str) -> mpsc::UnboundedReceiver<BusEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.inner.subscribers.lock().expect("bus subscribers").insert(topic.to_string(), tx);
        rx
    }

    /// Sends `msg` on `topic` without waiting (at most once; see the module's note).
    pub fn send<T: Serialize>(&self, to: To, topic: &str, msg: &T) {
        debug_assert!(!topic.contains(' '), "a topic is one word");
        let body = match serde_json::to_string(msg) {
            Ok(b) => b,
            Err(e) => return tracing::error!(error = %e, topic, "could not encode a bus message"),
        };
        let Some(out) = &self.inner.out else {
            if to == To::All || to == To::Node(self.inner.node) {
                self.deliver(self.inner.node, topic, body);
            }
            return;
        };
        let channel = match to {
            To::Node(n) => channel(n),
            To::All => ALL.to_string(),
        };
        let head = format!("{} {topic} ", self.inner.node);
        if out.send(Outgoing { channel, head, body }).is_err() {
            tracing::warn!(topic, "the bus is stopped; a message was not sent");
        }
    }

    fn deliver(&self, from: NodeId, topic: &str, body: String) {
        let subscribers = self.inner.subscribers.lock().expect("bus subscribers");
        if let Some(tx) = subscribers.get(topic) {
            let _ = tx.send(BusEvent::Message { from, body });
        }
    }

    fn reconnected(&self) {
        for tx in self.inner.subscribers.lock().expect("bus subscribers").values() {
            let _ = tx.send(BusEvent::Reconnected);
        }
    }

    /// A notification's payload: delivered to its topic's subscriber (a stored one read first).
    async fn received(&self, client: &tokio_postgres::Client, payload: &str) {
        let mut parts = payload.splitn(3, ' ');
        let (Some(from), Some(topic), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return tracing::warn!("a bus notification without a sender and topic; ignored");
        };
        let Some(from) = NodeId::parse(from) else {
            return tracing::warn!("a bus notification from an unknown sender; ignored");
        };
        let body = match body.strip_prefix('@').map(str::parse::<i64>) {
            None => body.to_string(),
            Some(Ok(id)) => {
                match client.query_opt("SELECT body FROM kefu_bus_payloads WHERE id = $1", &[&id]).await {
                    Ok(Some(row)) => row.get(0),
                    Ok(None) => {
                        return tracing::warn!(id, "a large bus message was pruned before it was read")
                    }
                    Err(e) => return tracing::warn!(error = %e, id, "could not read a large bus message"),
                }
            }
            Some(Err(_)) => return tracing::warn!("a bus notification with a bad payload reference"),
        };
        self.deliver(from, topic, body);
    }
}

/// Connects the bus of `node`: the payload table, then the listening connection (returns once
/// it listens) and the publisher. The tasks run until aborted.
pub(super) async fn connect(
    config: tokio_postgres::Config,
    node: NodeId,
) -> Result<(Bus, Vec<AbortHandle>), ClusterError> {
    create_table(&config).await?;
    let (tx, rx) = mpsc::unbounded_channel();
    let bus = Bus { inner: Arc::new(Inner { node, subscribers: Mutex::default(), out: Some(tx) }) };
    let (listening, mut ready) = watch::channel(false);
    let listener = tokio::spawn(listen(config.clone(), bus.clone(), listening)).abort_handle();
    let publisher = tokio::spawn(publish(config, rx)).abort_handle();
    let waited = tokio::time::timeout(Duration::from_secs(10), ready.wait_for(|l| *l)).await;
    if !matches!(waited, Ok(Ok(_))) {
        listener.abort();
        publisher.abort();
        return Err(ClusterError::Connect("the bus could not start listening within 10 s".into()));
    }
    Ok((bus, vec![listener, publisher]))
}

async fn create_table(config: &tokio_postgres::Config) -> Result<(), ClusterError> {
    let (mut client, conn) = config.connect(NoTls).await.map_err(|e| ClusterError::Connect(e.to_string()))?;
    let task = tokio::spawn(conn);
    let result = async {
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK]).await?;
        tx.batch_execute(SCHEMA).await?;
        tx.commit().await
    }
    .await
    .map_err(|e| ClusterError::Query(e.to_string()));
    drop(client);
    let _ = task.await;
    result
}

/// The listening connection, reconnected with backoff for as long as the bus runs.
async fn listen(mut config: tokio_postgres::Config, bus: Bus, listening: watch::Sender<bool>) {
    config.application_name(format!("kefu-bus {}", bus.node()));
    let mut backoff = Backoff::new();
    let mut first = true;
    loop {
        let e = listen_once(&config, &bus, &listening, &mut first, &mut backoff).await;
        tracing::warn!(error = %e, node = %bus.node(), "the bus's listening connection is down; reconnecting");
        tokio::time::sleep(backoff.next()).await;
    }
}

async fn listen_once(
    config: &tokio_postgres::Config,
    bus: &Bus,
    listening: &watch::Sender<bool>,
    first: &mut bool,
    backoff: &mut Backoff,
) -> String {
    let (client, mut conn) = match config.connect(NoTls).await {
        Ok(c) => c,
        Err(e) => return e.to_string(),
    };
    // the connection is polled here, for its notifications; queries go through `client`
    let (tx, mut notes) = mpsc::unbounded_channel();
    let pump = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(m) = messages.next().await {
            match m {
                Ok(AsyncMessage::Notification(n)) => {
                    let _ = tx.send(n);
                }
                Ok(_) => {}
                Err(e) => return e.to_string(),
            }
        }
        "the connection closed".to_string()
    });
    let _pump = AbortOnDrop(pump.abort_handle());
    let listen = format!("LISTEN {}; LISTEN {ALL}", channel(bus.node()));
    if let Err(e) = client.batch_execute(&listen).await {
        return e.to_string();
    }
    backoff.reset();
    if !std::mem::take(first) {
        tracing::info!(node = %bus.node(), "the bus is listening again");
        bus.reconnected();
    }
    listening.send_replace(true);
    while let Some(n) = notes.recv().await {
        bus.received(&client, n.payload()).await;
    }
    match pump.await {
        Ok(reason) => reason,
        Err(e) => e.to_string(),
    }
}

/// Aborts a task when dropped (a connection's poller outlives nothing it served).
struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The publishing connection: sends what is queued, in order, reconnecting with backoff.
async fn publish(mut config: tokio_postgres::Config, mut rx: mpsc::UnboundedReceiver<Outgoing>) {
    config.application_name("kefu-bus-publish");
    let mut backoff = Backoff::new();
    let mut batch = Vec::new();
    let mut pruned = Instant::now();
    loop {
        let (client, conn) = match config.connect(NoTls).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "the bus cannot publish; reconnecting");
                tokio::time::sleep(backoff.next()).await;
                continue;
            }
        };
        let _conn = AbortOnDrop(tokio::spawn(conn).abort_handle());
        let statements = match prepare(&client).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "the bus cannot publish; reconnecting");
                tokio::time::sleep(backoff.next()).await;
                continue;
            }
        };
        backoff.reset();
        loop {
            if rx.recv_many(&mut batch, 256).await == 0 {
                return; // the bus is gone
            }
            let sent = send_batch(&client, &statements, &batch).await;
            let lost = batch.len();
            batch.clear();
            if let Err(e) = sent {
                tracing::warn!(error = %e, lost, "the bus lost messages; reconnecting");
                break;
            }
            if pruned.elapsed() > Duration::from_secs(60) {
                pruned = Instant::now();
                let keep = format!("{} seconds", KEEP_PAYLOADS.as_secs());
                let prune = "DELETE FROM kefu_bus_payloads WHERE created_at < now() - $1::text::interval";
                if let Err(e) = client.execute(prune, &[&keep]).await {
                    tracing::warn!(error = %e, "could not prune the bus's payloads");
                }
            }
        }
    }
}

/// The publisher's two statements: a notification, and a stored payload with its notification.
async fn prepare(
    client: &tokio_postgres::Client,
) -> Result<(tokio_postgres::Statement, tokio_postgres::Statement), tokio_postgres::Error> {
    let inline = client.prepare("SELECT pg_notify($1::text, $2::text || $3::text)").await?;
    let stored = client
        .prepare(
            "WITH p AS (INSERT INTO kefu_bus_payloads (body) VALUES ($3::text) RETURNING id)
             SELECT pg_notify($1::text, $2::text || '@' || p.id) FROM p",
        )
        .await?;
    Ok((inline, stored))
}

/// One statement per message, pipelined on the connection (sent at once, run in order).
async fn send_batch(
    client: &tokio_postgres::Client,
    (inline, stored): &(tokio_postgres::Statement, tokio_postgres::Statement),
    batch: &[Outgoing],
) -> Result<(), tokio_postgres::Error> {
    let sends = batch.iter().map(|m| {
        let statement = if m.head.len() + m.body.len() > INLINE_MAX { stored } else { inline };
        client.execute_raw(statement, [m.channel.as_str(), m.head.as_str(), m.body.as_str()])
    });
    futures_util::future::try_join_all(sends).await?;
    Ok(())
}
