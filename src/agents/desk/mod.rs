//! The service desk: one task that owns the queue, the roster of agents and who owns which
//! conversation. Shopper sessions, agent sessions and the console API talk to it over one
//! channel, so every decision (claim, assignment, transfer) is taken in order by one owner:
//! two agents can never own the same conversation.
//!
//! Decisions apart from I/O: the desk is a state machine ([`state`]) that takes one event at a
//! time and decides at once, never awaiting the store; what must be stored goes to a persister
//! task ([`persist`]) that stores it and sends back a completion, on which the desk tells the
//! agents and shoppers. So the desk's loop never waits on the disk, and everything said is
//! stored before it is relayed or acknowledged (the desk writes agent messages and the system
//! announcements itself): a side that is offline reads it from the transcript later.
//!
//! Here: the handle ([`Desk`]) and what it carries. By job: [`state`] (what the desk owns, the
//! events it takes), [`driver`] (the task: events in, effects out), [`persist`] (the writes and
//! their lanes), [`stored`] (what follows a stored write), [`restore`] (start-up), [`outbox`]
//! (the effects: frames to agents, events to shoppers, writes), [`assign`] (queue to agent and
//! back), [`shoppers`] (escalations, a shopper ending), [`roster`] (agents connecting,
//! disconnecting, the grace period), [`actions`] (what an agent asks for).

mod actions;
mod assign;
mod driver;
mod node;
mod outbox;
mod persist;
mod recall;
mod remote;
mod restore;
mod roster;
mod shoppers;
mod state;
mod stored;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::protocol::{AgentFrame, AgentInfo, AgentMsg, Presence};
use super::queue::QueueItem;
use crate::cluster::Cluster;
use crate::images::ImageRef;
use crate::lang::Lang;
use crate::records::{EscalationContext, Page};
use crate::store::{AccountStore, ConversationStore, HandoffStore, StoreError};
use crate::time::hours::BusinessHours;
use crate::time::Clock;

pub use node::REPLY_TIMEOUT;
pub use remote::{Line, Remote};

/// Events queued for one shopper session.
const SHOPPER_EVENTS: usize = 64;
/// Conversations waiting at most; beyond this, escalations are told nobody is available (the
/// shopper can still leave a message).
const MAX_QUEUE: usize = 5000;

/// One shopper session's line from the desk (on this node or another). The id tells a session
/// from the one before it.
#[derive(Debug, Clone)]
pub struct ShopperLink {
    pub id: u64,
    tx: Line<ShopperEvent>,
}

impl ShopperLink {
    pub fn new() -> (ShopperLink, mpsc::Receiver<ShopperEvent>) {
        let (tx, rx) = mpsc::channel(SHOPPER_EVENTS);
        (ShopperLink { id: fresh_id(), tx: Line::Local(tx) }, rx)
    }
}

/// An id for a shopper link or an agent connection. The leader's desk compares the ids of
/// sessions on every node, so they count from a random base per process (the high 32 bits):
/// two nodes do not hand out the same one.
pub fn fresh_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static BASE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let base = *BASE.get_or_init(|| u64::from(rand::random::<u32>()) << 32);
    base.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed))
}

/// How the desk works (from the service config).
#[derive(Debug, Clone)]
pub struct DeskConfig {
    /// How long an agent who dropped keeps their conversations.
    pub grace: Duration,
    /// How long after sending an agent may recall a message.
    pub recall_window: Duration,
    pub default_capacity: usize,
    pub max_capacity: usize,
    pub max_message_chars: usize,
    pub hours: Option<BusinessHours>,
    pub clock: Clock,
}

/// A conversation handed to the human agents.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Escalation {
    pub conversation_id: String,
    pub shopper_id: Option<String>,
    pub lang: Lang,
    pub reason: String,
    /// What the bot knew: intents seen, FAQ ids, flows, orders discussed, returns created.
    pub bot: EscalationContext,
}

/// What a shopper is told right after escalating.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Availability {
    /// An agent took it at once (a `Joined` event follows).
    Assigned,
    /// Waiting: place in line and an estimate.
    Queued { position: usize, wait_secs: Option<u64> },
    /// No agent serving the language is online.
    NoAgents,
    /// Outside business hours.
    Closed { hours: String },
}

/// What the desk tells a shopper session (the text is already stored).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ShopperEvent {
    Joined {
        agent: String,
        text: String,
    },
    Message {
        agent: String,
        text: String,
        /// The stored message's id (a later `Recalled` names it).
        id: i64,
    },
    /// The agent took back the message `id`: the shopper no longer sees its text.
    Recalled {
        id: i64,
    },
    Typing {
        agent: String,
    },
    /// Back in the queue (transfer, or the agent was gone too long). `leave_message`: no other
    /// agent was online, so the shopper is offered the message form with the notice.
    Requeued {
        text: String,
        leave_message: bool,
    },
    HandedBack {
        text: String,
    },
    Resolved {
        text: String,
    },
}

/// The queue and the roster, for the console API.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    pub queue: Vec<QueueItem>,
    pub agents: Vec<AgentInfo>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the service desk has stopped")]
    Stopped,
}

/// A new agent connection. `close` is notified when the desk drops the connection (replaced by
/// a newer one, or not keeping up): the session then closes the socket.
#[derive(Debug)]
pub struct AgentHello {
    pub close: Arc<tokio::sync::Notify>,
    pub name: String,
    pub display_name: String,
    pub capacity: Option<usize>,
    pub langs: Option<Vec<Lang>>,
    pub presence: Option<Presence>,
    /// An admin may recall any agent's message (within the window).
    pub admin: bool,
    pub conn: u64,
    /// Its frames: the session's channel (`out.into()`), or another node's session.
    pub tx: Line<AgentFrame>,
}

enum DeskMsg {
    Escalate {
        e: Box<Escalation>,
        link: ShopperLink,
        reply: oneshot::Sender<Result<Availability, StoreError>>,
    },
    ShopperOnline {
        conv: String,
        link: ShopperLink,
    },
    ShopperOffline {
        conv: String,
        link: u64,
    },
    ShopperSaid {
        conv: String,
        id: i64,
        text: String,
        at: String,
        image: Option<ImageRef>,
    },
    ShopperTyping {
        conv: String,
    },
    ShopperPage {
        conv: String,
        page: Page,
    },
    ShopperEnded {
        conv: String,
        reply: oneshot::Sender<()>,
    },
    AgentHello(AgentHello),
    AgentGone {
        name: String,
        conn: u64,
    },
    Agent {
        name: String,
        conn: u64,
        msg: AgentMsg,
    },
    Snapshot {
        reply: oneshot::Sender<Snapshot>,
    },
}

/// A handle to the desk task. Cheap to clone.
#[derive(Clone)]
pub struct Desk {
    tx: mpsc::Sender<DeskMsg>,
}

impl Desk {
    /// Starts this node's desk in `cluster`, first putting back every conversation that was
    /// waiting for or talking to an agent when the service last stopped (their agents get the
    /// grace period to return). A local cluster (one node, no PostgreSQL) runs it here; otherwise the desk runs on the node that leads, is
    /// restored there from the database whenever the lead moves, and this handle reaches it
    /// wherever it runs (see [`node`]). Returns at once: requests made before a leader is known
    /// wait for one (at most [`REPLY_TIMEOUT`]).
    pub async fn start_clustered<S>(
        store: S,
        config: DeskConfig,
        cluster: &Cluster,
    ) -> Result<Desk, StoreError>
    where
        S: HandoffStore + ConversationStore + AccountStore + Clone + 'static,
    {
        if cluster.is_local() {
            let open = restore::read(&store).await?;
            let (tx, _driver) = node::launch(store, config, open);
            return Ok(Desk { tx });
        }
        let (tx, rx) = mpsc::channel(4096);
        tokio::spawn(node::run(store, config, cluster.clone(), rx));
        Ok(Desk { tx })
    }

    async fn send(&self, m: DeskMsg) {
        if self.tx.send(m).await.is_err() {
            tracing::error!("the service desk has stopped");
        }
    }

    /// Queues a conversation for a person; `tx` receives what happens to it.
    pub async fn escalate(&self, e: Escalation, link: ShopperLink) -> Result<Availability, DeskError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(DeskMsg::Escalate { e: Box::new(e), link, reply })
            .await
            .map_err(|_| DeskError::Stopped)?;
        Ok(rx.await.map_err(|_| DeskError::Stopped)??)
    }

    /// A shopper whose conversation is with (or waiting for) agents is connected.
    pub async fn shopper_online(&self, conv: String, link: ShopperLink) {
        self.send(DeskMsg::ShopperOnline { conv, link }).await
    }

    /// The session with this link left (a newer session of the same conversation is kept).
    pub async fn shopper_offline(&self, conv: String, link: u64) {
        self.send(DeskMsg::ShopperOffline { conv, link }).await
    }

    /// A shopper message, already stored (row `id`), for the agent who owns the conversation;
    /// `image` when it is a photo.
    pub async fn shopper_said(
        &self,
        conv: String,
        id: i64,
        text: String,
        at: String,
        image: Option<ImageRef>,
    ) {
        self.send(DeskMsg::ShopperSaid { conv, id, text, at, image }).await
    }

    pub async fn shopper_typing(&self, conv: String) {
        self.send(DeskMsg::ShopperTyping { conv }).await
    }

    /// The shopper of a conversation with (or waiting for) agents is on another page.
    pub async fn shopper_page(&self, conv: String, page: Page) {
        self.send(DeskMsg::ShopperPage { conv, page }).await
    }

    /// The shopper ended the conversation; returns once the desk has let go of it.
    pub async fn shopper_ended(&self, conv: String) {
        let (reply, rx) = oneshot::channel();
        self.send(DeskMsg::ShopperEnded { conv, reply }).await;
        let _ = rx.await;
    }

    pub async fn agent_hello(&self, hello: AgentHello) {
        self.send(DeskMsg::AgentHello(hello)).await
    }

    pub async fn agent_gone(&self, name: String, conn: u64) {
        self.send(DeskMsg::AgentGone { name, conn }).await
    }

    pub async fn agent(&self, name: String, conn: u64, msg: AgentMsg) {
        self.send(DeskMsg::Agent { name, conn, msg }).await
    }

    pub async fn snapshot(&self) -> Result<Snapshot, DeskError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(DeskMsg::Snapshot { reply }).await.map_err(|_| DeskError::Stopped)?;
        rx.await.map_err(|_| DeskError::Stopped)
    }
}
