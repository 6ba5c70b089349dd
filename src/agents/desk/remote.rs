//! Links that cross nodes, and what crosses the wire (see [`super::node`]).
//!
//! A session's line from the desk ([`Line`]) is its mpsc on this node, or [`Remote`]: the node
//! that holds the session, reached over the bus. The state machine keeps lines as they come and
//! never looks inside; the driver delivers to a local one as always and sends a remote one's
//! frames and events to its node ([`ToNode`]), which hands them to the session's own mpsc.
//! The other way, a node that does not lead forwards its sessions' requests to the leader
//! ([`ToLeader`]), naming its sessions by their local ids and its callers' replies by number.

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::{Availability, Escalation, ShopperEvent, Snapshot};
use crate::agents::protocol::{AgentFrame, AgentMsg, Presence};
use crate::cluster::{Bus, NodeId, To};
use crate::images::ImageRef;
use crate::lang::Lang;
use crate::records::Page;

/// The bus topic of the desk's messages.
pub(crate) const TOPIC: &str = "desk";

/// Where a session's frames or events go.
#[derive(Debug, Clone)]
pub enum Line<T> {
    /// The session's own channel, on this node.
    Local(mpsc::Sender<T>),
    /// A session on another node.
    Remote(Remote),
}

impl<T> From<mpsc::Sender<T>> for Line<T> {
    fn from(tx: mpsc::Sender<T>) -> Line<T> {
        Line::Local(tx)
    }
}

/// The node holding a session, and the bus to it.
#[derive(Debug, Clone)]
pub struct Remote {
    pub(crate) node: NodeId,
    pub(crate) bus: Bus,
}

impl Remote {
    pub(crate) fn send(&self, m: ToNode) {
        self.bus.send(To::Node(self.node), TOPIC, &Wire::Node(m));
    }
}

/// A desk message on the bus.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Wire {
    Leader(ToLeader),
    Node(ToNode),
}

/// A node's session asks the leader's desk (the handle's messages; `link`, `conn` and `reply`
/// are the sending node's own numbers).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ToLeader {
    Escalate { e: Escalation, link: u64, reply: u64 },
    ShopperOnline { conv: String, link: u64 },
    ShopperOffline { conv: String, link: u64 },
    ShopperSaid { conv: String, id: i64, text: String, at: String, image: Option<ImageRef> },
    ShopperTyping { conv: String },
    ShopperPage { conv: String, page: Page },
    ShopperEnded { conv: String, reply: u64 },
    AgentHello(RemoteHello),
    AgentGone { name: String, conn: u64 },
    Agent { name: String, conn: u64, msg: AgentMsg },
    Snapshot { reply: u64 },
}

/// An agent connection on another node (an `AgentHello` without its channels).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RemoteHello {
    pub(crate) name: String,
    pub(crate) display_name: String,
    pub(crate) capacity: Option<usize>,
    pub(crate) langs: Option<Vec<Lang>>,
    pub(crate) presence: Option<Presence>,
    pub(crate) admin: bool,
    pub(crate) conn: u64,
}

/// The leader's desk tells a node's session, or answers a node's caller.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ToNode {
    Shopper {
        conv: String,
        link: u64,
        event: ShopperEvent,
    },
    Agent {
        conn: u64,
        frame: AgentFrame,
    },
    /// The agent connected again elsewhere: this connection is told why, then closed.
    Replaced {
        conn: u64,
    },
    /// An escalation's answer (a store error as its message).
    Escalated {
        reply: u64,
        result: Result<Availability, String>,
    },
    Ended {
        reply: u64,
    },
    Snapshot {
        reply: u64,
        snapshot: Snapshot,
    },
    /// The leader lost messages (its listening connection dropped): sign in again.
    Resync,
}
