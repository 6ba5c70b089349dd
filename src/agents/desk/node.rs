//! The desk on a node of a cluster (several kefu processes on one PostgreSQL database): the
//! task behind the [`super::Desk`] handle of [`super::Desk::start_clustered`].
//!
//! One node leads ([`crate::cluster::leader`]) and runs the desk's state machine, driver and
//! persister exactly as a single node does, restored from the database exactly as at start-up.
//! Every node keeps the registry of its own live sessions (shopper links, agent connections)
//! and routes its handle's messages: to its own desk when it leads, else over the bus to the
//! leader ([`ToLeader`]), which turns them back into desk messages whose links are
//! [`Line::Remote`]; the leader's driver sends what is meant for a remote session to its node
//! ([`ToNode`]), which hands it to the session's mpsc. A caller's reply (an escalation's
//! availability, a shopper's end, a snapshot) waits here under a number, at most
//! [`REPLY_TIMEOUT`].
//!
//! When the leader changes (it died and another node took the lock), or messages were lost (a
//! node's listening connection dropped; when it was the leader's, it asks all to), every node
//! re-registers its live sessions with the new leader: shoppers as
//! online, agents as connecting again (so they keep their conversations within the grace
//! period and get their contexts again). Replies still awaited from the old leader fail at
//! once (the caller gets `DeskError::Stopped`). While no leader is known, requests wait here
//! (at most [`REPLY_TIMEOUT`], then they fail the same way).
//!
//! A node that dies (kill -9, a lost machine) tells nobody. The leader keeps which sessions each
//! other node registered ([`NodeSessions`]) and reads which nodes are connected to the database
//! every second (`Cluster::live_nodes`); a node missing for [`NODE_GONE_AFTER`] is let go: its
//! agents are gone (their grace period starts, as for a dropped connection: reconnecting
//! through another node within it keeps their conversations), its shoppers offline.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::task::JoinHandle;

use super::remote::{Line, Remote, RemoteHello, ToLeader, ToNode, Wire, TOPIC};
use super::state::State;
use super::{
    driver, persist, restore, AgentHello, Availability, DeskConfig, DeskMsg, ShopperEvent, ShopperLink,
    Snapshot,
};
use crate::agents::protocol::{AgentFrame, AgentMsg, Presence};
use crate::cluster::{Bus, BusEvent, Cluster, Leader, NodeId, To};
use crate::lang::Lang;
use crate::store::{AccountStore, ConversationStore, HandoffStore, StoreError};

/// How long a caller waits for the leader's answer (or for a leader to be known).
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests held at most while no leader is known.
const MAX_HELD: usize = 10_000;
/// How long a node may be missing from the database before the leader lets its sessions go:
/// longer than a node's reconnection backoff (5 s), so a blip is not a death.
pub const NODE_GONE_AFTER: Duration = Duration::from_secs(8);

/// What another node registered with this leader: its shoppers' links by conversation, its
/// agents' connections.
#[derive(Default)]
struct NodeSessions {
    shoppers: HashMap<String, u64>,
    agents: HashMap<u64, String>,
}

impl NodeSessions {
    /// Notes what a request from that node says about its sessions.
    fn note(&mut self, m: &ToLeader) {
        match m {
            ToLeader::Escalate { e, link, .. } => {
                self.shoppers.insert(e.conversation_id.clone(), *link);
            }
            ToLeader::ShopperOnline { conv, link } => {
                self.shoppers.insert(conv.clone(), *link);
            }
            ToLeader::ShopperOffline { conv, link } => {
                if self.shoppers.get(conv) == Some(link) {
                    self.shoppers.remove(conv);
                }
            }
            ToLeader::ShopperEnded { conv, .. } => {
                self.shoppers.remove(conv);
            }
            ToLeader::AgentHello(h) => {
                self.agents.insert(h.conn, h.name.clone());
            }
            ToLeader::AgentGone { conn, .. } => {
                self.agents.remove(conn);
            }
            _ => {}
        }
    }

    /// The desk messages that let every session of a dead node go.
    fn let_go(self) -> Vec<DeskMsg> {
        let agents = self.agents.into_iter().map(|(conn, name)| DeskMsg::AgentGone { name, conn });
        let shoppers = self.shoppers.into_iter().map(|(conv, link)| DeskMsg::ShopperOffline { conv, link });
        agents.chain(shoppers).collect()
    }
}

/// An agent connection on this node, as needed to sign it in again with a new leader.
struct LocalAgent {
    name: String,
    display_name: String,
    capacity: Option<usize>,
    langs: Option<Vec<Lang>>,
    presence: Option<Presence>,
    admin: bool,
    tx: mpsc::Sender<AgentFrame>,
    close: Arc<Notify>,
}

/// A caller on this node waiting for the leader's answer.
enum Pending {
    Escalate(oneshot::Sender<Result<Availability, StoreError>>),
    Ended(oneshot::Sender<()>),
    Snapshot(oneshot::Sender<Snapshot>),
}

enum Role {
    /// No leader known right now: requests are held.
    Unknown,
    Following(NodeId),
    /// This node runs the desk.
    Leading {
        tx: mpsc::Sender<DeskMsg>,
        driver: JoinHandle<()>,
    },
}

struct Node<S> {
    store: S,
    config: DeskConfig,
    bus: Bus,
    me: NodeId,
    leader: Option<Leader>,
    role: Role,
    /// This node's shopper sessions with the desk, by conversation: the link's id and channel.
    shoppers: HashMap<String, (u64, mpsc::Sender<ShopperEvent>)>,
    /// This node's agent connections, by connection id.
    agents: HashMap<u64, LocalAgent>,
    pending: HashMap<u64, (Instant, Pending)>,
    next_reply: u64,
    held: VecDeque<(Instant, DeskMsg)>,
    /// While leading: the sessions other nodes registered, and since when a node is missing.
    remote: HashMap<NodeId, NodeSessions>,
    missing: HashMap<NodeId, Instant>,
    cluster: Cluster,
}

/// Runs this node's side of the desk until the handle is dropped or the cluster stops.
pub(super) async fn run<S>(store: S, config: DeskConfig, cluster: Cluster, mut rx: mpsc::Receiver<DeskMsg>)
where
    S: HandoffStore + ConversationStore + AccountStore + Clone + 'static,
{
    let bus = cluster.bus().clone();
    let mut events = bus.subscribe(TOPIC);
    let mut leader = cluster.leader();
    let mut node = Node {
        store,
        config,
        me: cluster.node(),
        bus,
        leader: None,
        role: Role::Unknown,
        shoppers: HashMap::new(),
        agents: HashMap::new(),
        pending: HashMap::new(),
        next_reply: 1,
        held: VecDeque::new(),
        remote: HashMap::new(),
        missing: HashMap::new(),
        cluster: cluster.clone(),
    };
    let first = *leader.borrow_and_update();
    node.follow(first, &mut leader).await;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            biased;
            changed = leader.changed() => {
                if changed.is_err() {
                    break; // the cluster stopped: this node is gone
                }
                let l = *leader.borrow_and_update();
                node.follow(l, &mut leader).await;
            }
            e = events.recv() => {
                let Some(e) = e else { break };
                // a message from the new leader's followers may come before its news
                if leader.has_changed().unwrap_or(false) {
                    let l = *leader.borrow_and_update();
                    node.follow(l, &mut leader).await;
                }
                node.bus_event(e).await;
            }
            m = rx.recv() => match m {
                Some(m) => node.local(m).await,
                None => break,
            },
            _ = tick.tick() => {
                node.expire();
                node.let_go_of_dead_nodes().await;
            }
        }
    }
    node.stop();
}

impl<S> Node<S>
where
    S: HandoffStore + ConversationStore + AccountStore + Clone + 'static,
{
    /// Who leads is `leader` now: step down, take over or follow, then re-register this node's
    /// sessions with the leader and send what was held.
    async fn follow(&mut self, mut leader: Option<Leader>, watch: &mut watch::Receiver<Option<Leader>>) {
        loop {
            if leader == self.leader && !matches!(self.role, Role::Unknown) {
                return;
            }
            if let Role::Leading { driver, .. } = &self.role {
                tracing::warn!(node = %self.me, "this node no longer leads the desk; stopping its desk");
                driver.abort();
            }
            self.role = Role::Unknown;
            self.leader = leader;
            // answers from the old leader will not come
            self.pending.clear();
            // a new leader hears every node's sessions again
            self.remote.clear();
            self.missing.clear();
            match leader {
                None => return,
                Some(l) if l.node == self.me => match restore::read(&self.store).await {
                    Ok(open) => {
                        let (tx, driver) = launch(self.store.clone(), self.config.clone(), open);
                        self.role = Role::Leading { tx, driver };
                        tracing::info!(node = %self.me, "desk restored on this node");
                    }
                    Err(e) => {
                        // leading without a desk helps nobody: try again, unless the lead moved
                        tracing::error!(error = %e, "could not restore the desk; trying again");
                        self.leader = None;
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        leader = *watch.borrow_and_update();
                        continue;
                    }
                },
                Some(l) => self.role = Role::Following(l.node),
            }
            break;
        }
        self.reregister().await;
        while let Some((_, m)) = self.held.pop_front() {
            self.route(m).await;
        }
    }

    /// Signs this node's live sessions in with the leader again.
    async fn reregister(&mut self) {
        self.shoppers.retain(|_, (_, tx)| !tx.is_closed());
        self.agents.retain(|_, a| !a.tx.is_closed());
        let shoppers: Vec<DeskMsg> = self
            .shoppers
            .iter()
            .map(|(conv, (id, tx))| DeskMsg::ShopperOnline {
                conv: conv.clone(),
                link: ShopperLink { id: *id, tx: Line::Local(tx.clone()) },
            })
            .collect();
        let agents: Vec<DeskMsg> = self
            .agents
            .iter()
            .map(|(conn, a)| {
                DeskMsg::AgentHello(AgentHello {
                    close: a.close.clone(),
                    name: a.name.clone(),
                    display_name: a.display_name.clone(),
                    capacity: a.capacity,
                    langs: a.langs.clone(),
                    presence: a.presence,
                    admin: a.admin,
                    conn: *conn,
                    tx: Line::Local(a.tx.clone()),
                })
            })
            .collect();
        if !shoppers.is_empty() || !agents.is_empty() {
            tracing::info!(
                shoppers = shoppers.len(),
                agents = agents.len(),
                "re-registering with the desk's leader"
            );
        }
        for m in agents.into_iter().chain(shoppers) {
            self.route(m).await;
        }
    }

    /// A message from this node's handle: noted in the registry, then routed.
    async fn local(&mut self, m: DeskMsg) {
        match &m {
            DeskMsg::Escalate { e, link, .. } => self.keep_shopper(&e.conversation_id, link),
            DeskMsg::ShopperOnline { conv, link } => self.keep_shopper(conv, link),
            DeskMsg::ShopperOffline { conv, link } => self.forget_shopper(conv, *link),
            DeskMsg::ShopperEnded { conv, .. } => {
                self.shoppers.remove(conv);
            }
            DeskMsg::AgentHello(h) => {
                if let Line::Local(tx) = &h.tx {
                    let a = LocalAgent {
                        name: h.name.clone(),
                        display_name: h.display_name.clone(),
                        capacity: h.capacity,
                        langs: h.langs.clone(),
                        presence: h.presence,
                        admin: h.admin,
                        tx: tx.clone(),
                        close: h.close.clone(),
                    };
                    self.agents.insert(h.conn, a);
                }
            }
            DeskMsg::AgentGone { conn, .. } => {
                self.agents.remove(conn);
            }
            DeskMsg::Agent { conn, msg, .. } => {
                if let Some(a) = self.agents.get_mut(conn) {
                    match msg {
                        AgentMsg::Presence { state } => a.presence = Some(*state),
                        AgentMsg::Capacity { max } => a.capacity = Some(*max),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        self.route(m).await;
    }

    fn keep_shopper(&mut self, conv: &str, link: &ShopperLink) {
        if let Line::Local(tx) = &link.tx {
            self.shoppers.insert(conv.to_string(), (link.id, tx.clone()));
        }
    }

    /// The shopper link `link` of `conv` is no longer live (a newer one is kept).
    fn forget_shopper(&mut self, conv: &str, link: u64) {
        if self.shoppers.get(conv).is_some_and(|(id, _)| *id == link) {
            self.shoppers.remove(conv);
        }
    }

    /// To this node's desk, to the leader, or held until a leader is known.
    async fn route(&mut self, m: DeskMsg) {
        match &self.role {
            Role::Leading { tx, .. } => {
                if tx.send(m).await.is_err() {
                    tracing::error!("the service desk has stopped");
                }
            }
            Role::Following(leader) => {
                let to = To::Node(*leader);
                let w = self.outgoing(m);
                self.bus.send(to, TOPIC, &Wire::Leader(w));
            }
            Role::Unknown => {
                if self.held.len() >= MAX_HELD {
                    tracing::warn!("no desk leader known and too much waiting for one; dropping a request");
                    self.held.pop_front();
                }
                self.held.push_back((Instant::now(), m));
            }
        }
    }

    fn wait(&mut self, p: Pending) -> u64 {
        let n = self.next_reply;
        self.next_reply += 1;
        self.pending.insert(n, (Instant::now(), p));
        n
    }

    /// A handle's message as this node sends it to the leader.
    fn outgoing(&mut self, m: DeskMsg) -> ToLeader {
        match m {
            DeskMsg::Escalate { e, link, reply } => {
                ToLeader::Escalate { e: *e, link: link.id, reply: self.wait(Pending::Escalate(reply)) }
            }
            DeskMsg::ShopperOnline { conv, link } => ToLeader::ShopperOnline { conv, link: link.id },
            DeskMsg::ShopperOffline { conv, link } => ToLeader::ShopperOffline { conv, link },
            DeskMsg::ShopperSaid { conv, id, text, at, image } => {
                ToLeader::ShopperSaid { conv, id, text, at, image }
            }
            DeskMsg::ShopperTyping { conv } => ToLeader::ShopperTyping { conv },
            DeskMsg::ShopperPage { conv, page } => ToLeader::ShopperPage { conv, page },
            DeskMsg::ShopperEnded { conv, reply } => {
                ToLeader::ShopperEnded { conv, reply: self.wait(Pending::Ended(reply)) }
            }
            DeskMsg::AgentHello(h) => ToLeader::AgentHello(RemoteHello {
                name: h.name,
                display_name: h.display_name,
                capacity: h.capacity,
                langs: h.langs,
                presence: h.presence,
                admin: h.admin,
                conn: h.conn,
            }),
            DeskMsg::AgentGone { name, conn } => ToLeader::AgentGone { name, conn },
            DeskMsg::Agent { name, conn, msg } => ToLeader::Agent { name, conn, msg },
            DeskMsg::Snapshot { reply } => ToLeader::Snapshot { reply: self.wait(Pending::Snapshot(reply)) },
        }
    }

    async fn bus_event(&mut self, e: BusEvent) {
        let (from, body) = match e {
            BusEvent::Reconnected => {
                // what was sent to this node meanwhile is lost: the leader hears it all again
                // (a leader asks every node to, since their requests to it were lost)
                match self.role {
                    Role::Leading { .. } => self.bus.send(To::All, TOPIC, &Wire::Node(ToNode::Resync)),
                    _ => self.reregister().await,
                }
                return;
            }
            BusEvent::Message { from, body } => (from, body),
        };
        match serde_json::from_str::<Wire>(&body) {
            Ok(Wire::Leader(m)) => match &self.role {
                Role::Leading { .. } => {
                    self.remote.entry(from).or_default().note(&m);
                    let m = self.incoming(from, m);
                    self.route(m).await;
                }
                _ => {
                    tracing::debug!(from = %from, "a desk request for the leader reached a follower; dropped")
                }
            },
            Ok(Wire::Node(m)) => self.deliver(m).await,
            Err(e) => tracing::warn!(error = %e, from = %from, "an unreadable desk message; dropped"),
        }
    }

    /// A request from node `from`'s session, as a message for this node's desk: its links lead
    /// back to `from`, its reply is sent there once the desk answers.
    fn incoming(&self, from: NodeId, m: ToLeader) -> DeskMsg {
        let remote = Remote { node: from, bus: self.bus.clone() };
        let link = |id: u64| ShopperLink { id, tx: Line::Remote(remote.clone()) };
        match m {
            ToLeader::Escalate { e, link: l, reply } => {
                let (tx, rx) = oneshot::channel();
                answer(rx, remote.clone(), move |r: Result<Availability, StoreError>| ToNode::Escalated {
                    reply,
                    result: r.map_err(|e| e.to_string()),
                });
                DeskMsg::Escalate { e: Box::new(e), link: link(l), reply: tx }
            }
            ToLeader::ShopperOnline { conv, link: l } => DeskMsg::ShopperOnline { conv, link: link(l) },
            ToLeader::ShopperOffline { conv, link } => DeskMsg::ShopperOffline { conv, link },
            ToLeader::ShopperSaid { conv, id, text, at, image } => {
                DeskMsg::ShopperSaid { conv, id, text, at, image }
            }
            ToLeader::ShopperTyping { conv } => DeskMsg::ShopperTyping { conv },
            ToLeader::ShopperPage { conv, page } => DeskMsg::ShopperPage { conv, page },
            ToLeader::ShopperEnded { conv, reply } => {
                let (tx, rx) = oneshot::channel();
                answer(rx, remote.clone(), move |()| ToNode::Ended { reply });
                DeskMsg::ShopperEnded { conv, reply: tx }
            }
            ToLeader::AgentHello(h) => DeskMsg::AgentHello(AgentHello {
                // the node holding the connection closes it (told by `ToNode::Replaced`)
                close: Arc::new(Notify::new()),
                name: h.name,
                display_name: h.display_name,
                capacity: h.capacity,
                langs: h.langs,
                presence: h.presence,
                admin: h.admin,
                conn: h.conn,
                tx: Line::Remote(remote.clone()),
            }),
            ToLeader::AgentGone { name, conn } => DeskMsg::AgentGone { name, conn },
            ToLeader::Agent { name, conn, msg } => DeskMsg::Agent { name, conn, msg },
            ToLeader::Snapshot { reply } => {
                let (tx, rx) = oneshot::channel();
                answer(rx, remote.clone(), move |snapshot| ToNode::Snapshot { reply, snapshot });
                DeskMsg::Snapshot { reply: tx }
            }
        }
    }

    /// What the leader's desk sent to one of this node's sessions or callers. A session that is
    /// gone or cannot keep up is let go, as the driver does with local ones: a shopper's link
    /// is reported offline, an agent's connection is closed (it then reports itself gone).
    async fn deliver(&mut self, m: ToNode) {
        match m {
            ToNode::Shopper { conv, link, event } => {
                let last = matches!(event, ShopperEvent::HandedBack { .. } | ShopperEvent::Resolved { .. });
                let delivered = match self.shoppers.get(&conv) {
                    Some((id, tx)) if *id == link => tx.try_send(event).is_ok(),
                    _ => false,
                };
                if !delivered || last {
                    self.forget_shopper(&conv, link);
                }
                if !delivered {
                    self.route(DeskMsg::ShopperOffline { conv, link }).await;
                }
            }
            ToNode::Agent { conn, frame } => {
                let Some(a) = self.agents.get(&conn) else { return };
                let droppable = matches!(frame, AgentFrame::Typing { .. } | AgentFrame::Queue { .. });
                if let Err(e) = a.tx.try_send(frame) {
                    if droppable && matches!(e, mpsc::error::TrySendError::Full(_)) {
                        return;
                    }
                    tracing::warn!(agent = %a.name, "agent connection not keeping up; closing it");
                    a.close.notify_one();
                    self.agents.remove(&conn);
                }
            }
            ToNode::Replaced { conn } => {
                if let Some(a) = self.agents.remove(&conn) {
                    a.close.notify_one();
                    let _ = a.tx.try_send(driver::replaced());
                }
            }
            ToNode::Escalated { reply, result } => {
                if let Some((_, Pending::Escalate(tx))) = self.pending.remove(&reply) {
                    let _ = tx.send(result.map_err(StoreError::Unavailable));
                }
            }
            ToNode::Ended { reply } => {
                if let Some((_, Pending::Ended(tx))) = self.pending.remove(&reply) {
                    let _ = tx.send(());
                }
            }
            ToNode::Snapshot { reply, snapshot } => {
                if let Some((_, Pending::Snapshot(tx))) = self.pending.remove(&reply) {
                    let _ = tx.send(snapshot);
                }
            }
            ToNode::Resync => {
                if !matches!(self.role, Role::Leading { .. }) {
                    self.reregister().await;
                }
            }
        }
    }

    /// Callers waiting too long get their error (the sender is dropped).
    fn expire(&mut self) {
        let now = Instant::now();
        let late = |at: &Instant| now.saturating_duration_since(*at) >= REPLY_TIMEOUT;
        let before = self.pending.len();
        self.pending.retain(|_, (at, _)| !late(at));
        let expired = before - self.pending.len();
        if expired > 0 {
            tracing::warn!(expired, "no answer from the desk's leader in time");
        }
        while self.held.front().is_some_and(|(at, _)| late(at)) {
            self.held.pop_front();
        }
    }

    /// While leading: the sessions of a node missing from the database for [`NODE_GONE_AFTER`]
    /// are let go (agents gone, shoppers offline), as if each had dropped its connection.
    async fn let_go_of_dead_nodes(&mut self) {
        if !matches!(self.role, Role::Leading { .. }) || self.remote.is_empty() {
            return;
        }
        let Some(live) = self.cluster.live_nodes() else { return };
        let now = Instant::now();
        self.missing.retain(|n, _| !live.contains(n));
        let mut dead = Vec::new();
        for node in self.remote.keys().filter(|n| !live.contains(*n)) {
            let since = *self.missing.entry(*node).or_insert(now);
            if now.saturating_duration_since(since) >= NODE_GONE_AFTER {
                dead.push(*node);
            }
        }
        for node in dead {
            self.missing.remove(&node);
            let Some(sessions) = self.remote.remove(&node) else { continue };
            tracing::warn!(
                node = %node,
                agents = sessions.agents.len(),
                shoppers = sessions.shoppers.len(),
                "a node left the cluster without a word; letting its sessions go"
            );
            for m in sessions.let_go() {
                self.route(m).await;
            }
        }
    }

    /// The cluster stopped: this node's desk stops, its agents' connections close (they connect
    /// again through another node), its callers get their errors.
    fn stop(&mut self) {
        if let Role::Leading { driver, .. } = &self.role {
            driver.abort();
        }
        for a in self.agents.values() {
            a.close.notify_one();
        }
        tracing::warn!(node = %self.me, "the desk on this node stopped");
    }
}

/// Sends the desk's answer `rx` to the node that asked, once it comes (nothing if the desk
/// stops first: the caller's wait runs out there).
fn answer<T: Send + 'static>(
    rx: oneshot::Receiver<T>,
    to: Remote,
    make: impl FnOnce(T) -> ToNode + Send + 'static,
) {
    tokio::spawn(async move {
        if let Ok(v) = rx.await {
            to.send(make(v));
        }
    });
}

/// Starts a desk restored from `open`: the state machine's driver and its persister, exactly as
/// a single node's desk starts.
pub(super) fn launch<S>(
    store: S,
    config: DeskConfig,
    open: restore::Open,
) -> (mpsc::Sender<DeskMsg>, JoinHandle<()>)
where
    S: HandoffStore + ConversationStore + Clone + 'static,
{
    let (tx, rx) = mpsc::channel(4096);
    let mut state = State::new(config);
    state.restore(open);
    let (writes, completions) = persist::spawn(store);
    (tx, tokio::spawn(driver::run(state, rx, writes, completions)))
}
