//! The desk's state machine on its own: no server, no store, no tasks. Events go in, effects
//! come out; a small fake persister answers the writes the way the store would, so each test
//! can look at what is decided before and after a write is stored.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Notify};

use super::outbox::Effect;
use super::persist::{Completion, Op, Stored, Write};
use super::state::State;
use super::{AgentHello, Availability, DeskConfig, DeskMsg, Escalation, ShopperEvent, ShopperLink};
use crate::agents::protocol::{AgentFrame, AgentMsg, Presence};
use crate::lang::Lang;
use crate::records::EscalationContext;
use crate::store::{
    Accepted, ConversationContext, ConversationState, Handoff, HandoffOutcome, Note, StoreError,
};
use crate::time::Clock;

/// A desk with its effects, the shoppers' event lines and a fake store's handoff ids.
struct Desk {
    s: State,
    next_handoff: i64,
    next_conn: u64,
    /// Kept so the lines stay open (the effects are what the tests read).
    lines: Vec<mpsc::Receiver<AgentFrame>>,
    shoppers: Vec<mpsc::Receiver<ShopperEvent>>,
}

fn config() -> DeskConfig {
    DeskConfig {
        grace: Duration::from_secs(60),
        recall_window: Duration::from_secs(120),
        default_capacity: 3,
        max_capacity: 10,
        max_message_chars: 2000,
        hours: None,
        clock: Clock::System,
    }
}

fn context(conv: &str) -> ConversationContext {
    ConversationContext {
        conversation_id: conv.into(),
        lang: Lang::Zh,
        state: ConversationState::Agent,
        started_at: String::new(),
        escalation_reason: None,
        transcript: vec![],
        notes: vec![],
        handoffs: vec![],
        orders: vec![],
        returns: vec![],
        shopper: None,
    }
}

fn handoff(id: i64, conv: &str) -> Handoff {
    Handoff {
        id,
        conversation_id: conv.into(),
        reason: "requested".into(),
        context: EscalationContext::default(),
        queued_at: format!("2026-12-01T10:00:{:02}.000Z", id % 60),
        agent: None,
        assigned_at: None,
        first_response_at: None,
        ended_at: None,
        outcome: None,
    }
}

/// What an effect is, in a word and its target, for assertions that read like the protocol.
fn describe(e: &Effect) -> String {
    match e {
        Effect::Agent { name, frame, .. } => {
            let v = serde_json::to_value(frame).unwrap();
            let what = v["op"].as_str().or(v["code"].as_str()).or(v["outcome"].as_str()).or(v["id"].as_str());
            match what {
                Some(w) => format!("{name}: {} {w}", v["type"].as_str().unwrap()),
                None => format!("{name}: {}", v["type"].as_str().unwrap()),
            }
        }
        Effect::Shopper { conv, event, .. } => {
            let kind = format!("{event:?}");
            format!("{conv}: {}", kind.split([' ', '{']).next().unwrap())
        }
        Effect::Replaced(_) => "replaced".into(),
        Effect::Write(w) => format!("write {} {}", w.conv, op_name(&w.op)),
    }
}

fn op_name(op: &Op) -> &'static str {
    match op {
        Op::Open { .. } => "open",
        Op::Requeue(_) => "requeue",
        Op::Assign { .. } => "assign",
        Op::Context { .. } => "context",
        Op::Message { .. } => "message",
        Op::Note { .. } => "note",
        Op::Recall { .. } => "recall",
        Op::End { .. } => "end",
        Op::CloseWithAgent => "close_with_agent",
    }
}

/// Effects without queue broadcasts (they follow most changes and would drown the rest).
fn told(effects: &[Effect]) -> Vec<String> {
    effects.iter().map(describe).filter(|d| !d.ends_with(": queue")).collect()
}

impl Desk {
    fn new() -> Desk {
        Desk { s: State::new(config()), next_handoff: 1, next_conn: 1, lines: vec![], shoppers: vec![] }
    }

    fn effects(&mut self) -> Vec<Effect> {
        self.s.take_effects()
    }

    fn agent(&mut self, name: &str, presence: Presence, capacity: usize) {
        let (tx, rx) = mpsc::channel(1024);
        self.lines.push(rx);
        let conn = self.next_conn;
        self.next_conn += 1;
        self.s.handle(DeskMsg::AgentHello(AgentHello {
            close: Arc::new(Notify::new()),
            name: name.into(),
            display_name: name.to_uppercase(),
            capacity: Some(capacity),
            langs: Some(vec![Lang::Zh, Lang::En]),
            presence: Some(presence),
            admin: name == "boss",
            conn,
            tx: tx.into(),
        }));
    }

    fn request(&mut self, agent: &str, msg: AgentMsg) {
        let conn = self.s.agents[agent].conn.as_ref().unwrap().conn;
        self.s.handle(DeskMsg::Agent { name: agent.into(), conn, msg });
    }

    /// A shopper escalates: the desk asks for the handoff to be stored, and hears back later.
    fn escalate(
        &mut self,
        conv: &str,
        shopper: Option<&str>,
    ) -> oneshot::Receiver<Result<Availability, StoreError>> {
        let (link, rx) = ShopperLink::new();
        self.shoppers.push(rx);
        let (reply, answer) = oneshot::channel();
        let e = Escalation {
            conversation_id: conv.into(),
            shopper_id: shopper.map(str::to_string),
            lang: Lang::Zh,
            reason: "requested".into(),
            bot: EscalationContext::default(),
        };
        self.s.handle(DeskMsg::Escalate { e: Box::new(e), link, reply });
        answer
    }

    /// What the store would answer for `w`.
    fn store(&mut self, w: &Write) -> Result<Stored, StoreError> {
        Ok(match &w.op {
            Op::Open { escalation } => {
                self.next_handoff += 1;
                let vip = escalation.shopper_id.as_deref() == Some("vip");
                Stored::Opened { handoff: handoff(self.next_handoff, &w.conv), vip, name: None }
            }
            Op::Requeue(_) => {
                self.next_handoff += 1;
                Stored::Requeued(handoff(self.next_handoff, &w.conv))
            }
            Op::Assign { .. } => Stored::Assigned(Ok(Some(context(&w.conv)))),
            Op::Context { .. } => Stored::Context(Some(context(&w.conv))),
            Op::Message { .. } => Stored::Message(Accepted::New(1)),
            Op::Note { agent, text } => Stored::Note(Note {
                id: 1,
                agent: agent.clone(),
                text: text.clone(),
                created_at: String::new(),
            }),
            Op::Recall { .. } => Stored::Recalled(Some("2026-12-01T10:01:00.000Z".into())),
            Op::End { .. } | Op::CloseWithAgent => Stored::Done,
        })
    }

    /// Stores every write decided so far (and those that decides in turn), like the persister;
    /// returns everything else that was decided, in order.
    fn settle(&mut self) -> Vec<Effect> {
        let mut told = vec![];
        loop {
            let effects = self.effects();
            if effects.is_empty() {
                return told;
            }
            for e in effects {
                match e {
                    Effect::Write(w) => {
                        let result = self.store(&w);
                        self.s.persisted(Completion { write: w, result });
                    }
                    other => told.push(other),
                }
            }
        }
    }

    /// Splits the pending effects into the writes and the rest.
    fn writes(&mut self) -> (Vec<Write>, Vec<Effect>) {
        let (mut writes, mut rest) = (vec![], vec![]);
        for e in self.effects() {
            match e {
                Effect::Write(w) => writes.push(w),
                other => rest.push(other),
            }
        }
        (writes, rest)
    }

    fn owner(&self, conv: &str) -> Option<&str> {
        self.s.owners.get(conv).map(|o| o.agent.as_str())
    }

    /// A conversation waiting in the queue, stored.
    fn waiting(&mut self, conv: &str) {
        let mut answer = self.escalate(conv, None);
        self.settle();
        assert!(answer.try_recv().unwrap().is_ok());
    }
}

fn claim(conv: &str) -> AgentMsg {
    AgentMsg::Claim { conversation_id: conv.into() }
}

#[test]
fn an_escalation_joins_the_queue_once_its_handoff_is_stored() {
    let mut d = Desk::new();
    let mut answer = d.escalate("c1", None);
    let (writes, _) = d.writes();
    assert_eq!(writes.iter().map(|w| op_name(&w.op)).collect::<Vec<_>>(), ["open"]);
    assert!(!d.s.queue.contains("c1"), "not queued before it is stored");
    assert!(answer.try_recv().is_err(), "the shopper hears nothing yet");
    for w in writes {
        let result = d.store(&w);
        d.s.persisted(Completion { write: w, result });
    }
    assert!(d.s.queue.contains("c1"));
    assert_eq!(answer.try_recv().unwrap().unwrap(), Availability::NoAgents, "nobody is online");
}

#[test]
fn a_claim_is_decided_at_once_and_one_agent_owns_a_conversation() {
    let mut d = Desk::new();
    d.agent("li", Presence::Away, 3);
    d.agent("amy", Presence::Away, 3);
    d.waiting("c1");
    d.effects();

    d.request("li", claim("c1"));
    d.request("amy", claim("c1"));
    // li owns it now, before anything is stored: amy is refused at once
    assert_eq!(d.owner("c1"), Some("li"));
    let (writes, rest) = d.writes();
    assert_eq!(writes.len(), 1);
    assert!(matches!(&writes[0].op, Op::Assign { agent, .. } if agent == "li"));
    assert_eq!(told(&rest), ["amy: error already_taken"]);

    // once stored: li gets the context, then `done`; the shopper hears who joined
    for w in writes {
        let result = d.store(&w);
        d.s.persisted(Completion { write: w, result });
    }
    assert_eq!(told(&d.settle()), ["li: assigned", "c1: Joined", "li: done claim"]);
    // claiming again is idempotent for the owner; claiming what is not waiting is refused
    d.request("li", claim("c1"));
    d.request("amy", claim("c-none"));
    assert_eq!(told(&d.settle()), ["li: done claim", "amy: error not_waiting"]);
}

#[test]
fn an_agent_message_is_stored_then_acknowledged_and_relayed() {
    let mut d = Desk::new();
    d.agent("li", Presence::Online, 3);
    d.waiting("c1");
    assert_eq!(d.owner("c1"), Some("li"));
    d.settle();

    let say =
        |id: &str| AgentMsg::Message { conversation_id: "c1".into(), id: id.into(), text: "您好".into() };
    d.request("li", say("a1"));
    // the decision is the write alone: no ack, no relay before it is on disk
    let (writes, rest) = d.writes();
    assert!(rest.is_empty(), "{:?}", told(&rest));
    assert!(matches!(&writes[..], [Write { op: Op::Message { agent, id, text, .. }, .. }]
        if agent == "li" && id == "a1" && text == "您好"));
    let w = writes.into_iter().next().unwrap();
    d.s.persisted(Completion { write: w, result: Ok(Stored::Message(Accepted::New(7))) });
    let effects = d.effects();
    assert_eq!(told(&effects), ["li: ack a1", "c1: Message"]);
    assert!(effects.iter().any(|e| matches!(e,
        Effect::Shopper { event: ShopperEvent::Message { agent, text, .. }, .. } if agent == "LI" && text == "您好")));

    // a resent one is acknowledged, not relayed twice; a failed one is an error, never an ack
    d.request("li", say("a1"));
    let (mut writes, _) = d.writes();
    d.s.persisted(Completion {
        write: writes.remove(0),
        result: Ok(Stored::Message(Accepted::Known { answered: true })),
    });
    assert_eq!(told(&d.effects()), ["li: ack a1"]);
    d.request("li", say("a2"));
    let (mut writes, _) = d.writes();
    d.s.persisted(Completion { write: writes.remove(0), result: Err(StoreError::Full("disk full".into())) });
    assert_eq!(told(&d.effects()), ["li: error storage_unavailable"]);
    assert_eq!(d.s.pending, 0);

    // nobody speaks in a conversation that is not theirs, and nothing is written for it
    d.agent("amy", Presence::Online, 3);
    d.effects();
    d.request("amy", AgentMsg::Message { conversation_id: "c1".into(), id: "x".into(), text: "hi".into() });
    assert_eq!(told(&d.effects()), ["amy: error not_yours"]);
}

#[test]
fn what_the_shopper_says_while_the_context_loads_follows_the_context() {
    let mut d = Desk::new();
    d.agent("li", Presence::Online, 3);
    let mut answer = d.escalate("c1", None);
    let (mut writes, _) = d.writes();
    let open = writes.remove(0);
    let result = d.store(&open);
    d.s.persisted(Completion { write: open, result });
    assert_eq!(answer.try_recv().unwrap().unwrap(), Availability::Assigned);
    let (writes, _) = d.writes();
    assert_eq!(writes.iter().map(|w| op_name(&w.op)).collect::<Vec<_>>(), ["assign"]);

    // the shopper speaks while the assignment is being stored
    let said = DeskMsg::ShopperSaid {
        conv: "c1".into(),
        id: 9,
        text: "在吗".into(),
        at: String::new(),
        image: None,
    };
    d.s.handle(said);
    d.s.handle(DeskMsg::ShopperTyping { conv: "c1".into() });
    assert!(told(&d.effects()).is_empty(), "held until li has the conversation");
    for w in writes {
        let result = d.store(&w);
        d.s.persisted(Completion { write: w, result });
    }
    assert_eq!(told(&d.settle()), ["li: assigned", "li: message", "c1: Joined"]);
    // from then on it goes straight through
    d.s.handle(DeskMsg::ShopperSaid {
        conv: "c1".into(),
        id: 10,
        text: "?".into(),
        at: String::new(),
        image: None,
    });
    assert_eq!(told(&d.effects()), ["li: message"]);
}

#[test]
fn the_queue_serves_vip_first_then_the_longest_wait() {
    let mut d = Desk::new();
    d.waiting("c1");
    d.s.now += Duration::from_secs(1);
    d.waiting("c2");
    d.s.now += Duration::from_secs(1);
    let mut answer = d.escalate("c3", Some("vip"));
    d.settle();
    assert!(answer.try_recv().unwrap().is_ok());
    let order: Vec<String> = d.s.queue.items(d.s.now).into_iter().map(|i| i.conversation_id).collect();
    assert_eq!(order, ["c3", "c1", "c2"]);

    // an agent with two seats comes online: the VIP, then the longest wait
    d.agent("li", Presence::Online, 2);
    assert_eq!((d.owner("c3"), d.owner("c1"), d.owner("c2")), (Some("li"), Some("li"), None));
    d.settle();
    assert_eq!(d.s.queue.position("c2"), Some(1));
}

#[test]
fn transfer_to_an_agent_goes_through_a_new_handoff() {
    let mut d = Desk::new();
    d.agent("li", Presence::Online, 3);
    d.waiting("c1");
    d.settle();
    d.agent("amy", Presence::Online, 3);
    d.effects();
    let old = d.s.owners["c1"].waiting.handoff;

    d.request("li", AgentMsg::Transfer { conversation_id: "c1".into(), to: Some("amy".into()) });
    assert_eq!(d.owner("c1"), None, "li lets go at once");
    let (writes, _) = d.writes();
    assert!(matches!(&writes[..], [Write { op: Op::Requeue(q), .. }]
        if q.from.handoff == old && q.to.as_deref() == Some("amy") && q.outcome == HandoffOutcome::Transferred));
    for w in writes {
        let result = d.store(&w);
        d.s.persisted(Completion { write: w, result });
    }
    // stored: li hears it ended, the shopper that they move, and it goes straight to amy
    let (writes, rest) = d.writes();
    assert_eq!(told(&rest), ["li: ended transferred", "c1: Requeued"]);
    assert!(
        matches!(&writes[..], [Write { op: Op::Assign { agent, handoff, .. }, .. }] if agent == "amy" && *handoff != old)
    );
    for w in writes {
        let result = d.store(&w);
        d.s.persisted(Completion { write: w, result });
    }
    assert_eq!(told(&d.settle()), ["amy: assigned", "c1: Joined", "li: done transfer"]);
    assert_eq!(d.owner("c1"), Some("amy"));

    // to nobody: back to the queue, not to amy again (and li is away)
    d.request("li", AgentMsg::Presence { state: Presence::Away });
    d.effects();
    d.request("amy", AgentMsg::Transfer { conversation_id: "c1".into(), to: None });
    assert_eq!(told(&d.settle()), ["amy: ended transferred", "c1: Requeued", "amy: done transfer"]);
    assert!(d.s.queue.contains("c1"), "amy is the only one online, and excluded");
    // a transfer to someone who cannot take it is refused before anything is written
    d.request("li", claim("c1"));
    d.settle();
    d.request("li", AgentMsg::Transfer { conversation_id: "c1".into(), to: Some("li".into()) });
    assert_eq!(told(&d.settle()), ["li: error unknown_agent"]);
    assert_eq!(d.owner("c1"), Some("li"));
}

#[test]
fn resolve_and_hand_back_tell_the_shopper_once_the_end_is_stored() {
    let mut d = Desk::new();
    d.agent("li", Presence::Online, 1);
    d.waiting("c1");
    d.settle();

    d.request("li", AgentMsg::Resolve { conversation_id: "c1".into() });
    assert_eq!(d.owner("c1"), None);
    let (writes, rest) = d.writes();
    assert!(told(&rest).is_empty());
    assert!(matches!(
        &writes[..],
        [Write {
            op: Op::End { outcome: HandoffOutcome::Resolved, state: ConversationState::Closed, .. },
            ..
        }]
    ));
    for w in writes {
        let result = d.store(&w);
        d.s.persisted(Completion { write: w, result });
    }
    assert_eq!(told(&d.settle()), ["li: ended resolved", "c1: Resolved", "li: done resolve"]);
    assert!(!d.s.shoppers.contains_key("c1"), "the desk lets go of the shopper");

    // hand back: the shopper is back with the bot
    d.waiting("c2");
    d.settle();
    assert_eq!(d.owner("c2"), Some("li"));
    d.request("li", AgentMsg::Handback { conversation_id: "c2".into() });
    let (writes, _) = d.writes();
    assert!(matches!(
        &writes[..],
        [Write {
            op: Op::End { outcome: HandoffOutcome::HandedBack, state: ConversationState::Bot, .. },
            ..
        }]
    ));
    for w in writes {
        let result = d.store(&w);
        d.s.persisted(Completion { write: w, result });
    }
    assert_eq!(told(&d.settle()), ["li: ended handed_back", "c2: HandedBack", "li: done handback"]);

    // a resolve whose shopper has left completes the stored feedback record instead
    d.waiting("c3");
    d.settle();
    let link = d.s.shoppers["c3"].id;
    d.s.handle(DeskMsg::ShopperOffline { conv: "c3".into(), link });
    d.request("li", AgentMsg::Resolve { conversation_id: "c3".into() });
    let (writes, _) = d.writes();
    for w in writes {
        let result = d.store(&w);
        d.s.persisted(Completion { write: w, result });
    }
    let (writes, rest) = d.writes();
    assert_eq!(told(&rest), ["li: ended resolved", "li: done resolve"]);
    assert_eq!(writes.iter().map(|w| op_name(&w.op)).collect::<Vec<_>>(), ["close_with_agent"]);
}

#[test]
fn a_failed_write_is_told_to_the_agent_and_undone() {
    let mut d = Desk::new();
    d.agent("li", Presence::Away, 3);
    d.waiting("c1");
    d.effects();

    // a claim that cannot be stored: back in the queue, li is told
    d.request("li", claim("c1"));
    let (mut writes, _) = d.writes();
    d.s.persisted(Completion { write: writes.remove(0), result: Err(StoreError::Io("disk".into())) });
    assert_eq!(told(&d.effects()), ["li: error storage_unavailable"]);
    assert_eq!(d.owner("c1"), None);
    assert!(d.s.queue.contains("c1"));

    // a resolve that cannot be stored: li keeps the conversation
    d.request("li", claim("c1"));
    d.settle();
    d.request("li", AgentMsg::Resolve { conversation_id: "c1".into() });
    let (mut writes, _) = d.writes();
    d.s.persisted(Completion { write: writes.remove(0), result: Err(StoreError::Busy("locked".into())) });
    assert_eq!(told(&d.effects()), ["li: error storage_unavailable"]);
    assert_eq!(d.owner("c1"), Some("li"));

    // an escalation that cannot be stored: the shopper's session hears the error
    let mut answer = d.escalate("c2", None);
    let (mut writes, _) = d.writes();
    d.s.persisted(Completion { write: writes.remove(0), result: Err(StoreError::Full("full".into())) });
    assert!(matches!(answer.try_recv().unwrap(), Err(StoreError::Full(_))));
    assert!(!d.s.queue.contains("c2") && d.s.moving.is_empty());
}

#[test]
fn a_gone_agent_keeps_conversations_for_the_grace_period_then_they_are_requeued() {
    let mut d = Desk::new();
    d.agent("li", Presence::Online, 3);
    d.waiting("c1");
    d.settle();
    let conn = d.s.agents["li"].conn.as_ref().unwrap().conn;
    d.s.handle(DeskMsg::AgentGone { name: "li".into(), conn });
    d.s.now += Duration::from_secs(30);
    d.s.tick();
    assert_eq!(d.owner("c1"), Some("li"), "within the grace period");
    assert!(d.effects().is_empty());

    // back within it: the context is read again and sent to the new connection
    d.agent("li", Presence::Online, 3);
    let (writes, rest) = d.writes();
    assert_eq!(writes.iter().map(|w| op_name(&w.op)).collect::<Vec<_>>(), ["context"]);
    assert_eq!(told(&rest), ["li: welcome"]);
    for w in writes {
        let result = d.store(&w);
        d.s.persisted(Completion { write: w, result });
    }
    assert_eq!(told(&d.settle()), ["li: assigned"]);

    // gone past it: requeued with a new handoff once stored
    let conn = d.s.agents["li"].conn.as_ref().unwrap().conn;
    d.s.handle(DeskMsg::AgentGone { name: "li".into(), conn });
    d.s.now += Duration::from_secs(61);
    d.s.tick();
    assert_eq!(d.owner("c1"), None);
    d.settle();
    let waiting = d.s.queue.ordered().into_iter().map(|w| w.reason.clone()).collect::<Vec<_>>();
    assert_eq!(waiting, ["agent_disconnected"]);
}

#[test]
fn a_shopper_who_ends_is_let_go_and_the_agent_told_once_stored() {
    let mut d = Desk::new();
    d.agent("li", Presence::Online, 1);
    d.waiting("c1");
    d.settle();
    let (reply, mut done) = oneshot::channel();
    d.s.handle(DeskMsg::ShopperEnded { conv: "c1".into(), reply });
    assert_eq!(d.owner("c1"), None);
    assert!(done.try_recv().is_err(), "answered once stored");
    assert_eq!(told(&d.settle()), ["li: ended shopper_ended"]);
    assert!(done.try_recv().is_ok());
    assert_eq!(d.s.agents["li"].conversations.len(), 0);
}

/// The shopper's `Requeued` notice and the `done` warning the agent who asked got.
fn requeue_told(effects: &[Effect]) -> (Option<(String, bool)>, Option<Option<String>>) {
    let notice = effects.iter().find_map(|e| match e {
        Effect::Shopper { event: ShopperEvent::Requeued { text, leave_message }, .. } => {
            Some((text.clone(), *leave_message))
        }
        _ => None,
    });
    let warning = effects.iter().find_map(|e| match e {
        Effect::Agent { frame: AgentFrame::Done { op, warning, .. }, .. } if op == "transfer" => {
            Some(warning.clone())
        }
        _ => None,
    });
    (notice, warning)
}

#[test]
fn back_to_the_queue_with_no_colleague_online_offers_a_message_instead_of_a_promise() {
    let mut d = Desk::new();
    d.agent("li", Presence::Online, 3);
    d.agent("amy", Presence::Away, 3);
    d.waiting("c1");
    d.settle();
    assert_eq!(d.owner("c1"), Some("li"));

    // li is the only one online (amy is away): nobody else is coming
    d.request("li", AgentMsg::Transfer { conversation_id: "c1".into(), to: None });
    let effects = d.settle();
    assert_eq!(told(&effects), ["li: ended transferred", "c1: Requeued", "li: done transfer"]);
    let (notice, warning) = requeue_told(&effects);
    let (text, leave_message) = notice.unwrap();
    assert!(leave_message, "the shopper is offered the message form");
    assert!(
        text.contains("没有其他客服在线") && text.contains("留言") && !text.contains("正在为您转接"),
        "{text}"
    );
    assert_eq!(warning, Some(Some("no_agents".to_string())), "li is warned");
    assert!(d.s.queue.contains("c1"), "still waiting, for whoever comes online");

    // amy comes online and takes it; her transfer back to the queue with li online promises li
    d.request("amy", AgentMsg::Presence { state: Presence::Online });
    d.settle();
    assert_eq!(d.owner("c1"), Some("amy"));
    d.request("amy", AgentMsg::Transfer { conversation_id: "c1".into(), to: None });
    let effects = d.settle();
    let (notice, warning) = requeue_told(&effects);
    let (text, leave_message) = notice.unwrap();
    assert!(!leave_message && text.contains("正在为您转接"), "{text}");
    assert_eq!(warning, Some(None));
    assert_eq!(d.owner("c1"), Some("li"));

    // an agent gone past the grace period with nobody else online: the same honest notice
    d.request("amy", AgentMsg::Presence { state: Presence::Away });
    let conn = d.s.agents["li"].conn.as_ref().unwrap().conn;
    d.s.handle(DeskMsg::AgentGone { name: "li".into(), conn });
    d.s.now += Duration::from_secs(61);
    d.s.tick();
    let (notice, warning) = requeue_told(&d.settle());
    assert!(notice.unwrap().1, "offered the message form");
    assert_eq!(warning, None, "nobody asked");
}

fn say(conv: &str, id: &str) -> AgentMsg {
    AgentMsg::Message { conversation_id: conv.into(), id: id.into(), text: "发错了".into() }
}

fn recall(conv: &str, message_id: i64) -> AgentMsg {
    AgentMsg::Recall { conversation_id: conv.into(), message_id }
}

impl Desk {
    /// `agent` says something in `conv`, stored as row `row`.
    fn said(&mut self, agent: &str, conv: &str, id: &str, row: i64) {
        self.request(agent, say(conv, id));
        let (mut writes, _) = self.writes();
        let result = Ok(Stored::Message(Accepted::New(row)));
        self.s.persisted(Completion { write: writes.remove(0), result });
    }
}

#[test]
fn a_recall_within_the_window_is_stored_then_told_to_the_agent_and_the_shopper() {
    let mut d = Desk::new();
    d.agent("li", Presence::Online, 3);
    d.waiting("c1");
    d.settle();
    d.said("li", "c1", "a1", 7);
    // the ack names the stored id (what a recall names), the shopper's event too
    let effects = d.effects();
    assert!(effects.iter().any(|e| matches!(e,
        Effect::Agent { frame: AgentFrame::Ack { id, message_id: Some(7) }, .. } if id == "a1")));
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Shopper { event: ShopperEvent::Message { id: 7, .. }, .. })));

    d.s.now += Duration::from_secs(119);
    d.request("li", recall("c1", 7));
    // decided: the write alone; nobody hears anything before it is stored
    let (writes, rest) = d.writes();
    assert!(rest.is_empty(), "{:?}", told(&rest));
    assert!(matches!(&writes[..], [Write { op: Op::Recall { agent, message_id: 7 }, .. }] if agent == "li"));
    // asked twice while it is being stored: one write
    d.request("li", recall("c1", 7));
    assert!(d.effects().is_empty());
    for w in writes {
        let result = d.store(&w);
        d.s.persisted(Completion { write: w, result });
    }
    let effects = d.effects();
    assert_eq!(told(&effects), ["li: recalled", "c1: Recalled"]);
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Shopper { event: ShopperEvent::Recalled { id: 7 }, .. })));
    // recalled once: again is refused, nothing written
    d.request("li", recall("c1", 7));
    assert_eq!(told(&d.effects()), ["li: error recall_window_passed"]);

    // a resent message is acknowledged with its stored id too
    d.said("li", "c1", "a2", 8);
    d.effects();
    d.request("li", say("c1", "a2"));
    let (mut writes, _) = d.writes();
    let result = Ok(Stored::Message(Accepted::Known { answered: true }));
    d.s.persisted(Completion { write: writes.remove(0), result });
    assert!(d
        .effects()
        .iter()
        .any(|e| matches!(e, Effect::Agent { frame: AgentFrame::Ack { message_id: Some(8), .. }, .. })));

    // a failed recall is told as such, and can be asked again
    d.request("li", recall("c1", 8));
    let (mut writes, _) = d.writes();
    d.s.persisted(Completion { write: writes.remove(0), result: Err(StoreError::Io("disk".into())) });
    assert_eq!(told(&d.effects()), ["li: error storage_unavailable"]);
    d.request("li", recall("c1", 8));
    assert_eq!(d.writes().0.len(), 1);
}

#[test]
fn a_recall_after_the_window_or_of_someone_elses_message_is_refused_but_an_admin_may() {
    let mut d = Desk::new();
    d.agent("li", Presence::Online, 3);
    d.waiting("c1");
    d.settle();
    d.agent("amy", Presence::Away, 3);
    d.agent("boss", Presence::Away, 3);
    d.said("li", "c1", "a1", 7);
    d.said("li", "c1", "a2", 8);
    d.effects();

    // another agent: refused, nothing written
    d.request("amy", recall("c1", 7));
    assert_eq!(told(&d.effects()), ["amy: error not_yours"]);
    // the wrong conversation, or a message that is not a remembered agent message: too late
    d.request("li", recall("c2", 7));
    d.request("li", recall("c1", 3));
    assert_eq!(told(&d.effects()), ["li: error recall_window_passed", "li: error recall_window_passed"]);

    // an admin may; the owner hears it too
    d.request("boss", recall("c1", 7));
    let (writes, _) = d.writes();
    assert!(matches!(&writes[..], [Write { op: Op::Recall { agent, .. }, .. }] if agent == "boss"));
    for w in writes {
        let result = d.store(&w);
        d.s.persisted(Completion { write: w, result });
    }
    assert_eq!(told(&d.effects()), ["li: recalled", "boss: recalled", "c1: Recalled"]);

    // the window passes: refused, and the tick forgets it
    d.s.now += Duration::from_secs(120);
    d.request("li", recall("c1", 8));
    assert_eq!(told(&d.effects()), ["li: error recall_window_passed"]);
    assert!(d.effects().is_empty());
    d.s.tick();
    assert!(d.s.sent.is_empty());
}
