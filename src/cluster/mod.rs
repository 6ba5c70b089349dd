//! Several kefu nodes on one PostgreSQL database (issue 19, item 2): which node this is
//! ([`NodeId`], random per start), the messages between nodes ([`bus`]: PostgreSQL's
//! LISTEN/NOTIFY) and which node runs the agent desk ([`leader`]: a session-level advisory
//! lock). The desk's own side of it (links to sessions on other nodes, forwarding to the
//! leader, taking over) is `agents::desk::node`.
//!
//! Why LISTEN/NOTIFY and not a broker (Redis, NATS): the nodes already share PostgreSQL, so
//! there is no extra server to install, run, secure, back up or monitor, and one failure domain
//! fewer: a node that reaches the database reaches the others. What it costs: a notification is
//! at most ~8000 bytes (larger messages go through a table, see [`bus`]), delivery is at most
//! once (a node that was disconnected re-registers what it holds instead of replaying), and
//! every message passes through the database server — fine for the desk's traffic (relays,
//! typing, presence), not meant for bulk data.
//!
//! One node, no PostgreSQL ([`Cluster::local`]): the bus delivers in-process and this node is
//! always the leader; the desk then starts exactly as it always did (no bus hops at all).

pub mod bus;
pub mod leader;

use std::sync::Arc;

use deadpool_postgres::tokio_postgres;
use tokio::sync::watch;
use tokio::task::AbortHandle;

pub use bus::{Bus, BusEvent, To};
pub use leader::{Leader, LiveNodes};

/// One running kefu process in a cluster: random at each start, so a restarted node is a new
/// node (whatever the old one held was re-registered or restored meanwhile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct NodeId(pub u64);

impl NodeId {
    pub fn random() -> NodeId {
        NodeId(rand::random())
    }

    /// The 16 hex digits [`NodeId`]'s `Display` writes.
    pub fn parse(s: &str) -> Option<NodeId> {
        (s.len() == 16).then(|| u64::from_str_radix(s, 16).ok()).flatten().map(NodeId)
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("the cluster's database URL is not valid: {0}")]
    Url(String),
    #[error("cannot reach the cluster's database: {0}")]
    Connect(String),
    #[error("the cluster's database refused: {0}")]
    Query(String),
}

/// This node's place in the cluster: its id, the bus and who leads. Cheap to clone; the
/// connections close when the last clone is dropped (or on [`Cluster::stop`]).
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

struct Inner {
    node: NodeId,
    bus: Bus,
    leader: watch::Receiver<Option<Leader>>,
    /// The nodes connected to the database, while this node leads.
    live: watch::Receiver<LiveNodes>,
    /// Kept for a local cluster (the leader never changes); the PostgreSQL one's is the
    /// leadership task's.
    _local_leader: Option<watch::Sender<Option<Leader>>>,
    tasks: Vec<AbortHandle>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Cluster {
    /// A single node without PostgreSQL: the bus is in-process and this node always leads.
    pub fn local() -> Cluster {
        let node = NodeId::random();
        let (tx, leader) = watch::channel(Some(Leader { node, term: 0 }));
        let (_, live) = watch::channel(Some(Arc::new(std::collections::BTreeSet::from([node]))));
        let inner =
            Inner { node, bus: Bus::local(node), leader, live, _local_leader: Some(tx), tasks: vec![] };
        Cluster { inner: Arc::new(inner) }
    }

    /// Joins the cluster on the PostgreSQL database at `url` as a new node: three connections of
    /// its own (listening, publishing, the leadership lock), each reconnecting by itself.
    /// Returns once this node listens (so nothing sent to it afterwards is missed).
    pub async fn connect(url: &str) -> Result<Cluster, ClusterError> {
        let config: tokio_postgres::Config = url.parse().map_err(|e| ClusterError::Url(format!("{e}")))?;
        let node = NodeId::random();
        let (bus, mut tasks) = bus::connect(config.clone(), node).await?;
        let (tx, leader) = watch::channel(None);
        let (live_tx, live) = watch::channel(None);
        tasks.push(tokio::spawn(leader::run(config, node, tx, live_tx)).abort_handle());
        tracing::info!(node = %node, "joined the cluster");
        Ok(Cluster { inner: Arc::new(Inner { node, bus, leader, live, _local_leader: None, tasks }) })
    }

    pub fn node(&self) -> NodeId {
        self.inner.node
    }

    pub fn bus(&self) -> &Bus {
        &self.inner.bus
    }

    /// Whether this is [`Cluster::local`]: one node, nothing crosses a process.
    pub fn is_local(&self) -> bool {
        self.inner._local_leader.is_some()
    }

    /// Who leads, as this node last learnt it (`None`: not known right now). Closed when the
    /// cluster stops.
    pub fn leader(&self) -> watch::Receiver<Option<Leader>> {
        self.inner.leader.clone()
    }

    /// While this node leads: the nodes connected to the database (read every second), so the
    /// desk can let go of the sessions of a node that died. `None` otherwise.
    pub fn live_nodes(&self) -> LiveNodes {
        self.inner.live.borrow().clone()
    }

    /// Whether a leader is known (for readiness: without one, desk requests wait and then fail).
    pub fn leader_known(&self) -> bool {
        self.inner.leader.borrow().is_some()
    }

    /// Whether this node leads now.
    pub fn leading(&self) -> bool {
        self.inner.leader.borrow().as_ref().is_some_and(|l| l.node == self.inner.node)
    }

    /// Drops this node's connections at once, as if the process were killed: the database frees
    /// its lock, and everything here that depends on the cluster stops.
    pub fn stop(&self) {
        for t in &self.inner.tasks {
            t.abort();
        }
    }
}

/// Exponential backoff for reconnecting: 100 ms doubling to 5 s, with jitter.
pub(crate) struct Backoff(u32);

impl Backoff {
    pub(crate) fn new() -> Backoff {
        Backoff(0)
    }

    pub(crate) fn reset(&mut self) {
        self.0 = 0;
    }

    pub(crate) fn next(&mut self) -> std::time::Duration {
        let ms = (100u64 << self.0.min(6)).min(5_000);
        self.0 += 1;
        std::time::Duration::from_millis(ms / 2 + rand::random_range(0..=ms / 2))
    }
}
