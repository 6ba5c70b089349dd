//! The desk's driver: the one task that feeds the state machine its events (the handle's
//! messages, the persister's completions, a 500 ms tick) one at a time and carries out what
//! each decided — frames and events go to the connections' bounded outboxes without waiting
//! (`try_send`), writes go to the persister. Nothing here awaits the store.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::outbox::Effect;
use super::persist::{Completion, Write};
use super::remote::{Line, ToNode};
use super::state::State;
use super::DeskMsg;
use crate::agents::protocol::{AgentErrorCode, AgentFrame};
use crate::store::StoreError;

pub(crate) async fn run(
    mut state: State,
    mut rx: mpsc::Receiver<DeskMsg>,
    writes: mpsc::UnboundedSender<Write>,
    mut completions: mpsc::UnboundedReceiver<Completion>,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            // what is stored is told first: it frees the persister's memory and the agents' acks
            biased;
            Some(c) = completions.recv() => {
                state.now = Instant::now();
                state.persisted(c);
            }
            m = rx.recv() => match m {
                Some(m) => {
                    state.now = Instant::now();
                    state.handle(m);
                }
                None => break,
            },
            _ = tick.tick() => {
                state.now = Instant::now();
                state.tick();
            }
        }
        deliver(&mut state, &writes);
    }
    tracing::info!("the service desk stopped");
}

/// Carries out the effects of the last decision, and of what delivering them decided in turn.
pub(crate) fn deliver(state: &mut State, writes: &mpsc::UnboundedSender<Write>) {
    // connections closed while delivering: nothing more is sent on them
    let mut closed: HashSet<u64> = HashSet::new();
    loop {
        let effects = state.take_effects();
        if effects.is_empty() {
            return;
        }
        for e in effects {
            match e {
                Effect::Agent { name, line, frame } => {
                    if closed.contains(&line.conn) {
                        continue;
                    }
                    let tx = match &line.tx {
                        Line::Local(tx) => tx,
                        Line::Remote(r) => {
                            r.send(ToNode::Agent { conn: line.conn, frame });
                            continue;
                        }
                    };
                    let droppable = matches!(frame, AgentFrame::Typing { .. } | AgentFrame::Queue { .. });
                    if let Err(e) = tx.try_send(frame) {
                        if droppable && matches!(e, mpsc::error::TrySendError::Full(_)) {
                            continue;
                        }
                        line.close.notify_one();
                        closed.insert(line.conn);
                        state.agent_stalled(&name, line.conn);
                    }
                }
                Effect::Shopper { conv, link, event } => match &link.tx {
                    Line::Local(tx) => {
                        if tx.try_send(event).is_err() {
                            state.shopper_stalled(&conv, link.id);
                        }
                    }
                    Line::Remote(r) => r.send(ToNode::Shopper { conv, link: link.id, event }),
                },
                Effect::Replaced(line) => match &line.tx {
                    Line::Local(tx) => {
                        line.close.notify_one();
                        let _ = tx.try_send(replaced());
                    }
                    Line::Remote(r) => r.send(ToNode::Replaced { conn: line.conn }),
                },
                Effect::Write(w) => {
                    if let Err(mpsc::error::SendError(write)) = writes.send(w) {
                        // the persister is gone: the write fails like any other, and is told
                        tracing::error!("the desk's persister has stopped");
                        state.persisted(Completion { write, result: Err(StoreError::Closed) });
                    }
                }
            }
        }
    }
}

/// What an agent's connection replaced by a newer one is told before it closes.
pub(crate) fn replaced() -> AgentFrame {
    let message = "you connected again from somewhere else; this connection is closed".to_string();
    AgentFrame::Error { code: AgentErrorCode::Replaced, message, conversation_id: None }
}
