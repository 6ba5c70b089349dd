//! The service desk: one task that owns the queue, the roster of agents and who owns which
//! conversation. Shopper sessions, agent sessions and the console API talk to it over one
//! channel, so every decision (claim, assignment, transfer) is taken in order by one owner:
//! two agents can never own the same conversation.
//!
//! Everything said is stored before it is relayed (the desk writes agent messages and the
//! system announcements itself), so a side that is offline reads it from the transcript later.

use crate::records::EscalationContext;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::protocol::{AgentErrorCode, AgentFrame, AgentInfo, AgentMsg, Presence};
use super::queue::{self, Queue, QueueItem, Seat, Waiting};
use crate::dialogue::texts::t;
use crate::lang::Lang;
use crate::store::{Accepted, ConversationState, Outcome, Sender, Store, StoreError};
use crate::time::hours::BusinessHours;
use crate::time::Clock;

/// Events queued for one shopper session.
const SHOPPER_EVENTS: usize = 64;
/// Conversations waiting at most; beyond this, escalations are told nobody is available (the
/// shopper can still leave a message).
const MAX_QUEUE: usize = 5000;

/// One shopper session's line from the desk. The id tells a session from the one before it.
#[derive(Debug, Clone)]
pub struct ShopperLink {
    pub id: u64,
    tx: mpsc::Sender<ShopperEvent>,
}

impl ShopperLink {
    pub fn new() -> (ShopperLink, mpsc::Receiver<ShopperEvent>) {
        static IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let (tx, rx) = mpsc::channel(SHOPPER_EVENTS);
        (ShopperLink { id: IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed), tx }, rx)
    }
}

/// How the desk works (from the service config).
#[derive(Debug, Clone)]
pub struct DeskConfig {
    /// How long an agent who dropped keeps their conversations.
    pub grace: Duration,
    pub default_capacity: usize,
    pub max_capacity: usize,
    pub max_message_chars: usize,
    pub hours: Option<BusinessHours>,
    pub clock: Clock,
}

/// A conversation handed to the human agents.
#[derive(Debug, Clone)]
pub struct Escalation {
    pub conversation_id: String,
    pub shopper_id: Option<String>,
    pub lang: Lang,
    pub reason: String,
    /// What the bot knew: intents seen, FAQ ids, flows, orders discussed, returns created.
    pub bot: EscalationContext,
}

/// What a shopper is told right after escalating.
#[derive(Debug, Clone, PartialEq)]
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
#[derive(Debug, Clone, PartialEq)]
pub enum ShopperEvent {
    Joined {
        agent: String,
        text: String,
    },
    Message {
        agent: String,
        text: String,
    },
    Typing {
        agent: String,
    },
    /// Back in the queue (transfer, or the agent was gone too long).
    Requeued {
        text: String,
    },
    HandedBack {
        text: String,
    },
    Resolved {
        text: String,
    },
}

/// The queue and the roster, for the console API.
#[derive(Debug, Clone, serde::Serialize)]
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
    pub conn: u64,
    pub tx: mpsc::Sender<AgentFrame>,
}

enum DeskMsg {
    Escalate { e: Escalation, link: ShopperLink, reply: oneshot::Sender<Result<Availability, StoreError>> },
    ShopperOnline { conv: String, link: ShopperLink },
    ShopperOffline { conv: String, link: u64 },
    ShopperSaid { conv: String, id: i64, text: String, at: String },
    ShopperTyping { conv: String },
    ShopperEnded { conv: String, reply: oneshot::Sender<()> },
    AgentHello(AgentHello),
    AgentGone { name: String, conn: u64 },
    Agent { name: String, conn: u64, msg: AgentMsg },
    Snapshot { reply: oneshot::Sender<Snapshot> },
}

/// A handle to the desk task. Cheap to clone.
#[derive(Clone)]
pub struct Desk {
    tx: mpsc::Sender<DeskMsg>,
}

impl Desk {
    /// Starts the desk, first putting back every conversation that was waiting for or talking
    /// to an agent when the service last stopped (their agents get the grace period to return).
    pub async fn start(store: Store, config: DeskConfig) -> Result<Desk, StoreError> {
        let (tx, rx) = mpsc::channel(4096);
        let mut state = State {
            store,
            config,
            queue: Queue::default(),
            agents: HashMap::new(),
            owners: HashMap::new(),
            shoppers: HashMap::new(),
            average_handle_secs: 300.0,
            resolved: 0,
        };
        state.restore().await?;
        tokio::spawn(state.run(rx));
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
        self.tx.send(DeskMsg::Escalate { e, link, reply }).await.map_err(|_| DeskError::Stopped)?;
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

    /// A shopper message, already stored (row `id`), for the agent who owns the conversation.
    pub async fn shopper_said(&self, conv: String, id: i64, text: String, at: String) {
        self.send(DeskMsg::ShopperSaid { conv, id, text, at }).await
    }

    pub async fn shopper_typing(&self, conv: String) {
        self.send(DeskMsg::ShopperTyping { conv }).await
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

struct Agent {
    display_name: String,
    presence: Presence,
    capacity: usize,
    langs: Vec<Lang>,
    /// The live connection (id, frames, its close signal); None while disconnected.
    conn: Option<(u64, mpsc::Sender<AgentFrame>, Arc<tokio::sync::Notify>)>,
    /// Disconnected with conversations: they go back to the queue at this instant.
    grace_until: Option<Instant>,
    conversations: BTreeSet<String>,
}

impl Agent {
    fn info(&self, name: &str) -> AgentInfo {
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
struct Owned {
    agent: String,
    waiting: Waiting,
    /// When this agent got it (for the average handle time behind wait estimates).
    since: Instant,
}

struct State {
    store: Store,
    config: DeskConfig,
    queue: Queue,
    agents: HashMap<String, Agent>,
    owners: HashMap<String, Owned>,
    /// Connected shopper sessions whose conversation is with (or waiting for) agents.
    shoppers: HashMap<String, ShopperLink>,
    average_handle_secs: f64,
    resolved: u64,
}

impl State {
    async fn restore(&mut self) -> Result<(), StoreError> {
        let open = self.store.open_handoffs().await?;
        let now = Instant::now();
        for o in open {
            let waiting = Waiting {
                conversation_id: o.handoff.conversation_id.clone(),
                handoff: o.handoff.id,
                lang: o.lang,
                vip: o.vip,
                reason: o.handoff.reason.clone(),
                shopper_id: o.shopper_id,
                shopper_name: o.shopper_name,
                queued_at: o.handoff.queued_at.clone(),
                since: now,
                bot: o.handoff.context,
                exclude: None,
            };
            match o.handoff.agent.filter(|_| o.handoff.assigned_at.is_some()) {
                None => self.queue.push(waiting),
                Some(agent) => {
                    let display_name = match self.store.account(agent.clone()).await? {
                        Some(a) => a.display_name,
                        None => agent.clone(),
                    };
                    let slot = self.agents.entry(agent.clone()).or_insert_with(|| Agent {
                        display_name,
                        presence: Presence::Online,
                        capacity: self.config.default_capacity,
                        langs: vec![Lang::Zh, Lang::En],
                        conn: None,
                        grace_until: Some(now + self.config.grace),
                        conversations: BTreeSet::new(),
                    });
                    slot.conversations.insert(waiting.conversation_id.clone());
                    let conv = waiting.conversation_id.clone();
                    self.owners.insert(conv, Owned { agent, waiting, since: now });
                }
            }
        }
        if !self.queue.is_empty() || !self.owners.is_empty() {
            tracing::info!(waiting = self.queue.len(), owned = self.owners.len(), "agent desk restored");
        }
        Ok(())
    }

    async fn run(mut self, mut rx: mpsc::Receiver<DeskMsg>) {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                m = rx.recv() => match m {
                    Some(m) => self.handle(m).await,
                    None => break,
                },
                _ = tick.tick() => self.expire_grace().await,
            }
        }
    }

    async fn handle(&mut self, m: DeskMsg) {
        match m {
            DeskMsg::Escalate { e, link, reply } => {
                let r = self.escalate(e, link).await;
                let _ = reply.send(r);
            }
            DeskMsg::ShopperOnline { conv, link } => {
                self.shoppers.insert(conv.clone(), link);
                self.to_owner(&conv, AgentFrame::Shopper { conversation_id: conv.clone(), online: true });
            }
            DeskMsg::ShopperOffline { conv, link } => {
                if self.shoppers.get(&conv).is_some_and(|l| l.id == link) {
                    self.shoppers.remove(&conv);
                    self.to_owner(
                        &conv,
                        AgentFrame::Shopper { conversation_id: conv.clone(), online: false },
                    );
                }
            }
            DeskMsg::ShopperSaid { conv, id, text, at } => {
                let frame = AgentFrame::Message {
                    conversation_id: conv.clone(),
                    id,
                    from: Sender::Shopper,
                    text,
                    at,
                };
                self.to_owner(&conv, frame);
            }
            DeskMsg::ShopperTyping { conv } => {
                self.to_owner(&conv, AgentFrame::Typing { conversation_id: conv.clone() });
            }
            DeskMsg::ShopperEnded { conv, reply } => {
                self.shopper_ended(&conv).await;
                let _ = reply.send(());
            }
            DeskMsg::AgentHello(h) => self.agent_hello(h).await,
            DeskMsg::AgentGone { name, conn } => {
                if let Some(a) = self.agents.get_mut(&name) {
                    if a.conn.as_ref().is_some_and(|(c, _, _)| *c == conn) {
                        a.conn = None;
                        if !a.conversations.is_empty() {
                            a.grace_until = Some(Instant::now() + self.config.grace);
                        }
                        tracing::info!(agent = %name, kept = a.conversations.len(), "agent disconnected");
                    }
                }
            }
            DeskMsg::Agent { name, conn, msg } => {
                let current =
                    self.agents.get(&name).and_then(|a| a.conn.as_ref()).is_some_and(|(c, _, _)| *c == conn);
                if current {
                    self.agent_request(&name, msg).await;
                }
            }
            DeskMsg::Snapshot { reply } => {
                let mut agents: Vec<AgentInfo> = self.agents.iter().map(|(n, a)| a.info(n)).collect();
                agents.sort_by(|a, b| a.name.cmp(&b.name));
                let _ = reply.send(Snapshot { queue: self.queue.items(Instant::now()), agents });
            }
        }
    }

    // ---- sending ----

    /// Sends a frame to an agent's live connection. Typing and queue updates are dropped when
    /// it is behind; a connection that cannot take a real frame is closed (what it missed is in
    /// the transcript it gets on reconnecting).
    fn to_agent(&mut self, name: &str, frame: AgentFrame) {
        let Some(a) = self.agents.get_mut(name) else { return };
        let Some((_, tx, close)) = &a.conn else { return };
        let droppable = matches!(frame, AgentFrame::Typing { .. } | AgentFrame::Queue { .. });
        if let Err(e) = tx.try_send(frame) {
            if droppable && matches!(e, mpsc::error::TrySendError::Full(_)) {
                return;
            }
            tracing::warn!(agent = %name, "agent connection not keeping up; closing it");
            close.notify_one();
            a.conn = None;
            if !a.conversations.is_empty() {
                a.grace_until = Some(Instant::now() + self.config.grace);
            }
        }
    }

    fn to_owner(&mut self, conv: &str, frame: AgentFrame) {
        if let Some(agent) = self.owners.get(conv).map(|o| o.agent.clone()) {
            self.to_agent(&agent, frame);
        }
    }

    /// Tells a shopper session; a session that cannot keep up is let go (it closes, and the
    /// shopper's client resumes from the stored transcript).
    fn to_shopper(&mut self, conv: &str, event: ShopperEvent) {
        if let Some(link) = self.shoppers.get(conv) {
            if link.tx.try_send(event).is_err() {
                self.shoppers.remove(conv);
            }
        }
    }

    fn error(&mut self, agent: &str, code: AgentErrorCode, message: impl Into<String>, conv: Option<&str>) {
        let frame =
            AgentFrame::Error { code, message: message.into(), conversation_id: conv.map(str::to_string) };
        self.to_agent(agent, frame);
    }

    fn broadcast_queue(&mut self) {
        let items = self.queue.items(Instant::now());
        let names: Vec<String> =
            self.agents.iter().filter(|(_, a)| a.conn.is_some()).map(|(n, _)| n.clone()).collect();
        for n in names {
            self.to_agent(&n, AgentFrame::Queue { items: items.clone() });
        }
    }

    // ---- assignment ----

    fn seats(&self) -> Vec<Seat<'_>> {
        self.agents
            .iter()
            .map(|(name, a)| Seat {
                name,
                available: a.conn.is_some() && a.presence == Presence::Online,
                langs: &a.langs,
                capacity: a.capacity,
                load: a.conversations.len(),
            })
            .collect()
    }

    /// Gives waiting conversations to available agents, in queue order, while any fits.
    async fn assign_waiting(&mut self) {
        let mut changed = false;
        loop {
            let next = {
                let seats = self.seats();
                self.queue.ordered().into_iter().find_map(|w| {
                    let seats: Vec<Seat> =
                        seats.iter().filter(|s| Some(s.name) != w.exclude.as_deref()).cloned().collect();
                    queue::pick(&seats, w.lang).map(|a| (w.conversation_id.clone(), a.to_string()))
                })
            };
            let Some((conv, agent)) = next else { break };
            changed = true;
            if self.assign(&conv, &agent).await.is_err() {
                break;
            }
        }
        if changed {
            self.broadcast_queue();
        }
    }

    /// Gives a waiting conversation to an agent: stored (with the shopper's announcement), then
    /// the agent gets the full context and the shopper is told.
    async fn assign(&mut self, conv: &str, agent: &str) -> Result<(), StoreError> {
        let Some(waiting) = self.queue.remove(conv) else { return Ok(()) };
        let display =
            self.agents.get(agent).map(|a| a.display_name.clone()).unwrap_or_else(|| agent.to_string());
        let text = t(
            waiting.lang,
            &format!("已为您转接人工客服「{display}」，请问有什么可以帮您？"),
            &format!("You're now chatting with {display}. How can I help?"),
        );
        if let Err(e) = self
            .store
            .assign_handoff(waiting.handoff, conv.to_string(), agent.to_string(), text.clone())
            .await
        {
            tracing::error!(error = %e, conversation = %conv, "could not assign");
            self.queue.push(waiting);
            return Err(e);
        }
        let bot = waiting.bot.clone();
        let reason = waiting.reason.clone();
        if let Some(a) = self.agents.get_mut(agent) {
            a.conversations.insert(conv.to_string());
        }
        self.owners
            .insert(conv.to_string(), Owned { agent: agent.to_string(), waiting, since: Instant::now() });
        tracing::info!(conversation = %conv, agent = %agent, "assigned");
        self.send_context(agent, conv, reason, bot).await;
        self.to_shopper(conv, ShopperEvent::Joined { agent: display, text });
        Ok(())
    }

    async fn send_context(&mut self, agent: &str, conv: &str, reason: String, bot: EscalationContext) {
        match self.store.conversation_context(conv.to_string()).await {
            Ok(Some(context)) => {
                let frame = AgentFrame::Assigned {
                    conversation_id: conv.to_string(),
                    reason,
                    bot,
                    context: Box::new(context),
                };
                self.to_agent(agent, frame);
            }
            Ok(None) => tracing::error!(conversation = %conv, "assigned conversation not found"),
            Err(e) => {
                tracing::error!(error = %e, "could not read a conversation's context");
                let m = "could not load this conversation; reconnect to get it again";
                self.error(agent, AgentErrorCode::StorageUnavailable, m, Some(conv));
            }
        }
    }

    fn availability(&self, conv: &str, lang: Lang) -> Availability {
        if self.owners.contains_key(conv) {
            return Availability::Assigned;
        }
        if let Some(h) = &self.config.hours {
            if !h.is_open(self.config.clock.now()) {
                return Availability::Closed { hours: h.describe() };
            }
        }
        let seats = self.seats();
        let position = self.queue.position(conv).unwrap_or(1);
        match queue::expected_wait_secs(position, &seats, lang, self.average_handle_secs) {
            None => Availability::NoAgents,
            Some(wait) => Availability::Queued { position, wait_secs: Some(wait) },
        }
    }

    async fn escalate(&mut self, e: Escalation, link: ShopperLink) -> Result<Availability, StoreError> {
        let conv = e.conversation_id.clone();
        self.shoppers.insert(conv.clone(), link);
        if self.queue.len() >= MAX_QUEUE && !self.queue.contains(&conv) && !self.owners.contains_key(&conv) {
            tracing::warn!(waiting = self.queue.len(), "agent queue full; not queueing");
            return Ok(Availability::NoAgents);
        }
        if !self.owners.contains_key(&conv) && !self.queue.contains(&conv) {
            let shopper = match &e.shopper_id {
                Some(id) => self.store.shopper(id.clone()).await?,
                None => None,
            };
            let handoff = self.store.open_handoff(conv.clone(), e.reason.clone(), e.bot.clone()).await?;
            self.queue.push(Waiting {
                conversation_id: conv.clone(),
                handoff: handoff.id,
                lang: e.lang,
                vip: shopper.as_ref().is_some_and(|s| s.vip),
                reason: e.reason,
                shopper_id: e.shopper_id,
                shopper_name: shopper.map(|s| s.name),
                queued_at: handoff.queued_at,
                since: Instant::now(),
                bot: e.bot,
                exclude: None,
            });
            self.broadcast_queue();
            self.assign_waiting().await;
        }
        Ok(self.availability(&conv, e.lang))
    }

    // ---- agents ----

    async fn agent_hello(&mut self, h: AgentHello) {
        let capacity = h.capacity.unwrap_or(self.config.default_capacity).clamp(1, self.config.max_capacity);
        let langs = h.langs.filter(|l| !l.is_empty()).unwrap_or_else(|| vec![Lang::Zh, Lang::En]);
        let slot = self.agents.entry(h.name.clone()).or_insert_with(|| Agent {
            display_name: h.display_name.clone(),
            presence: Presence::Online,
            capacity,
            langs: langs.clone(),
            conn: None,
            grace_until: None,
            conversations: BTreeSet::new(),
        });
        if let Some((_, old, close)) = slot.conn.take() {
            close.notify_one();
            let m = "you connected again from somewhere else; this connection is closed".to_string();
            let _ = old.try_send(AgentFrame::Error {
                code: AgentErrorCode::Replaced,
                message: m,
                conversation_id: None,
            });
        }
        slot.display_name = h.display_name;
        slot.capacity = capacity;
        slot.langs = langs;
        slot.presence = h.presence.unwrap_or(Presence::Online);
        slot.conn = Some((h.conn, h.tx, h.close));
        slot.grace_until = None;
        let info = slot.info(&h.name);
        let owned: Vec<String> = slot.conversations.iter().cloned().collect();
        tracing::info!(agent = %h.name, capacity, kept = owned.len(), "agent connected");
        self.to_agent(&h.name, AgentFrame::Welcome { agent: info });
        // conversations kept through a reconnect come back whole: nothing said meanwhile is lost
        for conv in owned {
            let Some(o) = self.owners.get(&conv) else { continue };
            let (reason, bot) = (o.waiting.reason.clone(), o.waiting.bot.clone());
            self.send_context(&h.name, &conv, reason, bot).await;
        }
        let items = self.queue.items(Instant::now());
        self.to_agent(&h.name, AgentFrame::Queue { items });
        self.assign_waiting().await;
    }

    /// The conversation if `agent` owns it; otherwise tells them why not.
    fn owned_by(&mut self, agent: &str, conv: &str) -> Option<i64> {
        match self.owners.get(conv) {
            Some(o) if o.agent == agent => Some(o.waiting.handoff),
            _ => {
                self.error(
                    agent,
                    AgentErrorCode::NotYours,
                    "this conversation is not assigned to you",
                    Some(conv),
                );
                None
            }
        }
    }

    fn done(&mut self, agent: &str, op: &str, conv: &str) {
        self.to_agent(agent, AgentFrame::Done { op: op.into(), conversation_id: conv.into() });
    }

    async fn agent_request(&mut self, agent: &str, msg: AgentMsg) {
        match msg {
            AgentMsg::Hello { .. } => {
                self.error(agent, AgentErrorCode::AlreadyStarted, "already signed in", None);
            }
            AgentMsg::Presence { state } => {
                if let Some(a) = self.agents.get_mut(agent) {
                    a.presence = state;
                }
                self.done(agent, "presence", "");
                if state == Presence::Online {
                    self.assign_waiting().await;
                }
            }
            AgentMsg::Capacity { max } => {
                let max = max.clamp(1, self.config.max_capacity);
                if let Some(a) = self.agents.get_mut(agent) {
                    a.capacity = max;
                }
                self.done(agent, "capacity", "");
                self.assign_waiting().await;
            }
            AgentMsg::Claim { conversation_id: conv } => self.claim(agent, &conv).await,
            AgentMsg::Message { conversation_id: conv, id, text } => {
                self.agent_says(agent, &conv, id, text).await
            }
            AgentMsg::Typing { conversation_id: conv } => {
                if self.owners.get(&conv).is_some_and(|o| o.agent == agent) {
                    let display = self.agents.get(agent).map(|a| a.display_name.clone()).unwrap_or_default();
                    self.to_shopper(&conv, ShopperEvent::Typing { agent: display });
                }
            }
            AgentMsg::Note { conversation_id: conv, text } => {
                if self.owned_by(agent, &conv).is_none() {
                    return;
                }
                if let Some(problem) = self.check_text(&text) {
                    return self.error(agent, AgentErrorCode::BadRequest, problem, Some(&conv));
                }
                match self.store.add_note(conv.clone(), agent.to_string(), text).await {
                    Ok(note) => self.to_agent(agent, AgentFrame::Note { conversation_id: conv, note }),
                    Err(e) => self.storage_error(agent, e, &conv),
                }
            }
            AgentMsg::Transfer { conversation_id: conv, to } => self.transfer(agent, &conv, to).await,
            AgentMsg::Resolve { conversation_id: conv } => self.resolve(agent, &conv).await,
            AgentMsg::Handback { conversation_id: conv } => self.hand_back(agent, &conv).await,
        }
    }

    fn check_text(&self, text: &str) -> Option<String> {
        let chars = text.chars().count();
        if text.trim().is_empty() {
            Some("text is empty".into())
        } else if chars > self.config.max_message_chars {
            Some(format!("text is {chars} characters, at most {}", self.config.max_message_chars))
        } else {
            None
        }
    }

    fn storage_error(&mut self, agent: &str, e: StoreError, conv: &str) {
        tracing::error!(error = %e, "store failed");
        let m = "could not save right now; please resend in a moment";
        self.error(agent, AgentErrorCode::StorageUnavailable, m, Some(conv));
    }

    async fn claim(&mut self, agent: &str, conv: &str) {
        if let Some(o) = self.owners.get(conv) {
            if o.agent == agent {
                return self.done(agent, "claim", conv);
            }
            let m = "another agent has already taken this conversation";
            return self.error(agent, AgentErrorCode::AlreadyTaken, m, Some(conv));
        }
        if !self.queue.contains(conv) {
            return self.error(
                agent,
                AgentErrorCode::NotWaiting,
                "this conversation is not waiting for an agent",
                Some(conv),
            );
        }
        match self.assign(conv, agent).await {
            Ok(()) => self.done(agent, "claim", conv),
            Err(e) => self.storage_error(agent, e, conv),
        }
        self.broadcast_queue();
    }

    async fn agent_says(&mut self, agent: &str, conv: &str, id: String, text: String) {
        let Some(handoff) = self.owned_by(agent, conv) else { return };
        if let Some(problem) = self.check_text(&text) {
            return self.error(agent, AgentErrorCode::BadRequest, problem, Some(conv));
        }
        if id.trim().is_empty() || id.chars().count() > 128 {
            return self.error(
                agent,
                AgentErrorCode::BadRequest,
                "message needs a non-empty id (≤128)",
                Some(conv),
            );
        }
        match self
            .store
            .accept_agent_message(handoff, conv.to_string(), agent.to_string(), id.clone(), text.clone())
            .await
        {
            Ok(Accepted::New(_)) => {
                self.to_agent(agent, AgentFrame::Ack { id });
                let display = self.agents.get(agent).map(|a| a.display_name.clone()).unwrap_or_default();
                self.to_shopper(conv, ShopperEvent::Message { agent: display, text });
            }
            Ok(_) => self.to_agent(agent, AgentFrame::Ack { id }),
            Err(e) => self.storage_error(agent, e, conv),
        }
    }

    /// Takes a conversation away from its agent (the handoff ends with `outcome`).
    fn release(&mut self, conv: &str, outcome: Outcome) -> Option<Owned> {
        let owned = self.owners.remove(conv)?;
        if let Some(a) = self.agents.get_mut(&owned.agent) {
            a.conversations.remove(conv);
        }
        let frame = AgentFrame::Ended { conversation_id: conv.to_string(), outcome: outcome.as_str().into() };
        self.to_agent(&owned.agent.clone(), frame);
        Some(owned)
    }

    /// Puts a conversation back in the queue with a new handoff (`exclude`: not back to them).
    async fn requeue(
        &mut self,
        conv: &str,
        outcome: Outcome,
        reason: &str,
        exclude: Option<String>,
    ) -> Result<(), StoreError> {
        let Some(owned) = self.owners.get(conv) else { return Ok(()) };
        let (handoff, lang) = (owned.waiting.handoff, owned.waiting.lang);
        let text = t(
            lang,
            "正在为您转接其他客服，请稍候，您的聊天记录会一并转交。",
            "Transferring you to another agent; they'll see everything so far. One moment please.",
        );
        let bot = owned.waiting.bot.clone();
        let new = self
            .store
            .requeue_handoff(
                handoff,
                conv.to_string(),
                outcome,
                reason.to_string(),
                bot.clone(),
                text.clone(),
            )
            .await?;
        let owned = self.release(conv, outcome).expect("owned above");
        self.queue.push(Waiting {
            handoff: new.id,
            reason: reason.to_string(),
            queued_at: new.queued_at,
            bot,
            exclude,
            ..owned.waiting
        });
        self.to_shopper(conv, ShopperEvent::Requeued { text });
        self.broadcast_queue();
        Ok(())
    }

    async fn transfer(&mut self, agent: &str, conv: &str, to: Option<String>) {
        if self.owned_by(agent, conv).is_none() {
            return;
        }
        let Some(to) = to else {
            match self.requeue(conv, Outcome::Transferred, "transfer", Some(agent.to_string())).await {
                Ok(()) => self.done(agent, "transfer", conv),
                Err(e) => self.storage_error(agent, e, conv),
            }
            return self.assign_waiting().await;
        };
        let lang = self.owners.get(conv).map(|o| o.waiting.lang).unwrap_or(Lang::Zh);
        let problem = match self.agents.get(&to) {
            _ if to == agent => Some("that is you"),
            None => Some("no such agent is signed in"),
            Some(a) if a.conn.is_none() => Some("that agent is not connected"),
            Some(a) if !a.langs.contains(&lang) => {
                Some("that agent does not serve this conversation's language")
            }
            Some(a) if a.conversations.len() >= a.capacity => Some("that agent has no free seat"),
            Some(_) => None,
        };
        if let Some(p) = problem {
            return self.error(
                agent,
                AgentErrorCode::UnknownAgent,
                format!("cannot transfer to {to}: {p}"),
                Some(conv),
            );
        }
        // through the queue (a new handoff, so each agent's timings stay their own), straight to `to`
        if let Err(e) = self.requeue(conv, Outcome::Transferred, "transfer", None).await {
            return self.storage_error(agent, e, conv);
        }
        match self.assign(conv, &to).await {
            Ok(()) => self.done(agent, "transfer", conv),
            Err(e) => self.storage_error(agent, e, conv),
        }
        self.broadcast_queue();
    }

    async fn resolve(&mut self, agent: &str, conv: &str) {
        let Some(handoff) = self.owned_by(agent, conv) else { return };
        let lang = self.owners.get(conv).map(|o| o.waiting.lang).unwrap_or(Lang::Zh);
        let text = t(
            lang,
            "本次服务已结束，感谢您的耐心。请为本次服务打个分吧～",
            "This chat is resolved. Thank you for your patience! Please rate the service.",
        );
        let store = self.store.clone();
        let end = store
            .end_handoff(
                handoff,
                conv.to_string(),
                Outcome::Resolved,
                ConversationState::Closed,
                Some(text.clone()),
            )
            .await;
        if let Err(e) = end {
            return self.storage_error(agent, e, conv);
        }
        if let Some(owned) = self.release(conv, Outcome::Resolved) {
            self.observe_handle_time(&owned);
        }
        if self.shoppers.contains_key(conv) {
            // the shopper's session writes the feedback record and asks for the rating
            self.to_shopper(conv, ShopperEvent::Resolved { text });
            self.shoppers.remove(conv);
        } else if let Err(e) = store.close_with_agent(conv.to_string(), "agent_resolved".into()).await {
            tracing::error!(error = %e, "could not complete the feedback record");
        }
        self.done(agent, "resolve", conv);
        self.assign_waiting().await;
    }

    fn observe_handle_time(&mut self, owned: &Owned) {
        let secs = owned.since.elapsed().as_secs_f64().max(1.0);
        self.resolved += 1;
        let n = self.resolved.min(50) as f64;
        self.average_handle_secs += (secs - self.average_handle_secs) / n;
    }

    async fn hand_back(&mut self, agent: &str, conv: &str) {
        let Some(handoff) = self.owned_by(agent, conv) else { return };
        let lang = self.owners.get(conv).map(|o| o.waiting.lang).unwrap_or(Lang::Zh);
        let text = t(
            lang,
            "人工客服已将您转回智能助手，有问题随时问我；需要人工时说“转人工”即可。",
            "You're back with the assistant. Ask me anything; say \"human agent\" any time to reach a person again.",
        );
        let end = self
            .store
            .end_handoff(
                handoff,
                conv.to_string(),
                Outcome::HandedBack,
                ConversationState::Bot,
                Some(text.clone()),
            )
            .await;
        if let Err(e) = end {
            return self.storage_error(agent, e, conv);
        }
        self.release(conv, Outcome::HandedBack);
        self.to_shopper(conv, ShopperEvent::HandedBack { text });
        self.shoppers.remove(conv);
        self.done(agent, "handback", conv);
        self.assign_waiting().await;
    }

    async fn shopper_ended(&mut self, conv: &str) {
        let handoff = match (self.owners.get(conv), self.queue.remove(conv)) {
            (Some(o), _) => o.waiting.handoff,
            (None, Some(w)) => {
                self.broadcast_queue();
                w.handoff
            }
            (None, None) => return,
        };
        self.shoppers.remove(conv);
        let end = self
            .store
            .end_handoff(handoff, conv.to_string(), Outcome::ShopperEnded, ConversationState::Closed, None)
            .await;
        if let Err(e) = end {
            tracing::error!(error = %e, "could not end handoff");
        }
        self.release(conv, Outcome::ShopperEnded);
        self.assign_waiting().await;
    }

    /// Agents gone longer than the grace period lose their conversations to the queue.
    async fn expire_grace(&mut self) {
        let now = Instant::now();
        let expired: Vec<String> = self
            .agents
            .iter()
            .filter(|(_, a)| a.conn.is_none() && a.grace_until.is_some_and(|g| g <= now))
            .map(|(n, _)| n.clone())
            .collect();
        for name in expired {
            let convs: Vec<String> =
                self.agents.get(&name).map(|a| a.conversations.iter().cloned().collect()).unwrap_or_default();
            tracing::info!(agent = %name, conversations = convs.len(), "agent did not come back; requeueing");
            let mut failed = false;
            for conv in convs {
                if let Err(e) = self.requeue(&conv, Outcome::Requeued, "agent_disconnected", None).await {
                    tracing::error!(error = %e, "could not requeue");
                    failed = true;
                }
            }
            if let Some(a) = self.agents.get_mut(&name) {
                // on a store error, try again on the next tick
                a.grace_until = failed.then_some(now);
            }
        }
        self.assign_waiting().await;
    }
}
