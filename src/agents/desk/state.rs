//! The desk's state machine and what it owns: the queue, the roster of agents (presence,
//! capacity, languages, connection, grace deadline), who owns which conversation, the
//! conversations whose handoff is being stored, the connected shopper sessions.
//!
//! It takes one event at a time ([`State::handle`] for the handle's messages,
//! [`State::persisted`] for the persister's completions, [`State::tick`] for the clock) and
//! decides at once, without awaiting anything: ownership changes when decided (so claims are
//! settled in order), and what must be told or stored is collected as [`Effect`]s for the
//! driver. Replies to a caller waiting on a oneshot are sent directly (that never blocks).

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use tokio::sync::oneshot;

use super::outbox::{AgentLine, Effect};
use super::{Availability, DeskConfig, DeskMsg, ShopperLink, Snapshot};
use crate::agents::protocol::{AgentFrame, AgentInfo, Presence};
use crate::agents::queue::{Queue, Waiting};
use crate::lang::Lang;
use crate::store::{Sender, StoreError};

pub(crate) struct Agent {
    pub(crate) display_name: String,
    pub(crate) presence: Presence,
    pub(crate) capacity: usize,
    pub(crate) langs: Vec<Lang>,
    /// The live connection; None while disconnected.
    pub(crate) conn: Option<AgentLine>,
    /// Disconnected with conversations: they go back to the queue at this instant.
    pub(crate) grace_until: Option<Instant>,
    pub(crate) conversations: BTreeSet<String>,
}

impl Agent {
    pub(crate) fn info(&self, name: &str) -> AgentInfo {
        AgentInfo {
            name: name.to_string(),
            display_name: self.display_name.clone(),
            presence: self.presence,
            connected: self.conn.is_some(),
            capacity: self.capacity,
            langs: self.langs.clone(),
            conversations: self.conversations.iter().cloned().collect(),
        }
    }
}

/// A conversation an agent owns, with what is needed to queue it again.
pub(crate) struct Owned {
    pub(crate) agent: String,
    pub(crate) waiting: Waiting,
    /// When this agent got it (for the average handle time behind wait estimates).
    pub(crate) since: Instant,
    /// While the agent's copy of the context is being read: that read's number, and the frames
    /// about the conversation held until it is sent.
    pub(crate) loading: Option<(u64, Vec<AgentFrame>)>,
}

/// A conversation whose new handoff is being stored (an escalation, or a requeue): it joins the
/// queue once the handoff exists, so the desk only ever hands out stored handoffs.
pub(crate) struct Moving {
    /// Escalations waiting to hear the availability.
    pub(crate) replies: Vec<oneshot::Sender<Result<Availability, StoreError>>>,
    /// The shopper ended the conversation meanwhile: end the new handoff, then answer this.
    pub(crate) ended: Option<oneshot::Sender<()>>,
}

/// Everything the desk owns.
pub(crate) struct State {
    pub(crate) config: DeskConfig,
    pub(crate) queue: Queue,
    pub(crate) agents: HashMap<String, Agent>,
    pub(crate) owners: HashMap<String, Owned>,
    pub(crate) moving: HashMap<String, Moving>,
    /// Connected shopper sessions whose conversation is with (or waiting for) agents.
    pub(crate) shoppers: HashMap<String, ShopperLink>,
    pub(crate) average_handle_secs: f64,
    pub(crate) resolved: u64,
    /// The time of the event being decided (set by the driver; tests set their own).
    pub(crate) now: Instant,
    /// Writes handed to the persister and not yet completed.
    pub(crate) pending: usize,
    /// Numbers context reads, so a stale one is recognised.
    pub(crate) loads: u64,
    /// What the decisions so far produced (see [`State::take_effects`]).
    pub(crate) out: Vec<Effect>,
    /// Agents' messages still within the recall window, by stored id, and who is an admin
    /// (see [`super::recall`]).
    pub(crate) sent: HashMap<i64, super::recall::Sent>,
    pub(crate) admins: std::collections::HashSet<String>,
}

impl State {
    pub(crate) fn new(config: DeskConfig) -> State {
        State {
            config,
            queue: Queue::default(),
            agents: HashMap::new(),
            owners: HashMap::new(),
            moving: HashMap::new(),
            shoppers: HashMap::new(),
            average_handle_secs: 300.0,
            resolved: 0,
            now: Instant::now(),
            pending: 0,
            loads: 0,
            out: Vec::new(),
            sent: HashMap::new(),
            admins: Default::default(),
        }
    }

    pub(crate) fn handle(&mut self, m: DeskMsg) {
        match m {
            DeskMsg::Escalate { e, link, reply } => self.escalate(*e, link, reply),
            DeskMsg::ShopperOnline { conv, link } => {
                self.shoppers.insert(conv.clone(), link);
                self.tell_owner(&conv, AgentFrame::Shopper { conversation_id: conv.clone(), online: true });
            }
            DeskMsg::ShopperOffline { conv, link } => {
                if self.shoppers.get(&conv).is_some_and(|l| l.id == link) {
                    self.shoppers.remove(&conv);
                    self.tell_owner(
                        &conv,
                        AgentFrame::Shopper { conversation_id: conv.clone(), online: false },
                    );
                }
            }
            DeskMsg::ShopperSaid { conv, id, text, at, image } => {
                let frame = AgentFrame::Message {
                    conversation_id: conv.clone(),
                    id,
                    from: Sender::Shopper,
                    text,
                    at,
                    image,
                };
                self.tell_owner(&conv, frame);
            }
            DeskMsg::ShopperTyping { conv } => {
                self.tell_owner(&conv, AgentFrame::Typing { conversation_id: conv.clone() });
            }
            DeskMsg::ShopperPage { conv, page } => self.shopper_page(&conv, page),
            DeskMsg::ShopperEnded { conv, reply } => self.shopper_ended(&conv, reply),
            DeskMsg::AgentHello(h) => self.agent_hello(h),
            DeskMsg::AgentGone { name, conn } => self.agent_gone(&name, conn),
            DeskMsg::Agent { name, conn, msg } => {
                let current =
                    self.agents.get(&name).and_then(|a| a.conn.as_ref()).is_some_and(|l| l.conn == conn);
                if current {
                    self.agent_request(&name, msg);
                }
            }
            DeskMsg::Snapshot { reply } => {
                let _ = reply.send(self.snapshot());
            }
        }
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let mut agents: Vec<AgentInfo> = self.agents.iter().map(|(n, a)| a.info(n)).collect();
        agents.sort_by(|a, b| a.name.cmp(&b.name));
        Snapshot { queue: self.queue.items(self.now), agents }
    }

    /// The clock moved on: agents gone past the grace period lose their conversations to the
    /// queue, and anything waiting that fits an agent is assigned.
    pub(crate) fn tick(&mut self) {
        self.expire_grace();
        self.assign_waiting();
        self.forget_old_sent();
    }
}
