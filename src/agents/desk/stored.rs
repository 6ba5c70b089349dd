//! What the desk does once the persister has stored a write (or failed to): the acks, relays
//! and notices that must never go out before the disk has them, and putting things back as
//! they were when a write failed (the agent who asked is told; nothing is dropped silently).

use super::persist::{Completion, EndBy, Op, Requeue, Stored, Write};
use super::state::State;
use super::{Escalation, ShopperEvent};
use crate::agents::protocol::AgentFrame;
use crate::agents::queue::Waiting;
use crate::store::{Accepted, Handoff, HandoffOutcome, StoreError};

/// A completion whose answer does not belong to its write: a bug in the persister.
fn mismatch(s: Stored) -> StoreError {
    StoreError::Query(format!("the persister answered {s:?} for another kind of write"))
}

/// One of several callers waiting on the same failed write gets its own copy of the error.
fn copy(e: &StoreError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl State {
    /// A write came back from the persister.
    pub(crate) fn persisted(&mut self, c: Completion) {
        self.pending = self.pending.saturating_sub(1);
        let Completion { write: Write { conv, op }, result } = c;
        let conv = conv.as_str();
        match op {
            Op::Open { escalation } => {
                let r = result.and_then(|s| match s {
                    Stored::Opened { handoff, vip, name } => Ok((handoff, vip, name)),
                    other => Err(mismatch(other)),
                });
                self.opened(conv, *escalation, r);
            }
            Op::Requeue(q) => {
                let r = result.and_then(|s| match s {
                    Stored::Requeued(h) => Ok(h),
                    other => Err(mismatch(other)),
                });
                self.requeued(conv, *q, r);
            }
            Op::Assign { agent, display, text, load, done, .. } => {
                let r = result.and_then(|s| match s {
                    Stored::Assigned(context) => Ok(context),
                    other => Err(mismatch(other)),
                });
                self.assigned(conv, &agent, display, text, load, done, r);
            }
            Op::Context { agent, load } => {
                let r = result.and_then(|s| match s {
                    Stored::Context(context) => Ok(context),
                    other => Err(mismatch(other)),
                });
                self.loaded(conv, &agent, load, r);
            }
            Op::Message { agent, display, id, text, .. } => match result {
                Ok(Stored::Message(Accepted::New(row))) => {
                    self.remember_sent(conv, &agent, &id, row);
                    self.tell_agent(&agent, AgentFrame::Ack { id, message_id: Some(row) });
                    self.tell_shopper(conv, ShopperEvent::Message { agent: display, text, id: row });
                }
                Ok(Stored::Message(_)) => {
                    let message_id = self.sent_id(conv, &agent, &id);
                    self.tell_agent(&agent, AgentFrame::Ack { id, message_id })
                }
                Ok(other) => self.storage_error(&agent, mismatch(other), conv),
                Err(e) => self.storage_error(&agent, e, conv),
            },
            Op::Note { agent, .. } => match result {
                Ok(Stored::Note(note)) => self.tell_agent(
                    &agent,
                    AgentFrame::Note { conversation_id: conv.to_string(), note: note.into() },
                ),
                Ok(other) => self.storage_error(&agent, mismatch(other), conv),
                Err(e) => self.storage_error(&agent, e, conv),
            },
            Op::Recall { agent, message_id } => self.recall_stored(conv, &agent, message_id, result),
            Op::End { outcome, text, why, .. } => {
                let r = result.and_then(|s| match s {
                    Stored::Done => Ok(()),
                    other => Err(mismatch(other)),
                });
                self.end_stored(conv, outcome, text.unwrap_or_default(), why, r);
            }
            Op::CloseWithAgent => {
                if let Err(e) = result {
                    tracing::error!(error = %e, conversation = %conv, "could not complete the feedback record");
                }
            }
        }
    }

    /// An escalation's handoff is stored: the conversation joins the queue (and may be assigned
    /// at once), and the escalations waiting hear the availability.
    fn opened(
        &mut self,
        conv: &str,
        e: Escalation,
        result: Result<(Handoff, bool, Option<String>), StoreError>,
    ) {
        let Some(moving) = self.moving.remove(conv) else {
            tracing::error!(conversation = %conv, "an escalation was stored that the desk did not expect");
            return;
        };
        let (handoff, vip, name) = match result {
            Ok(stored) => stored,
            Err(e) => {
                let mut replies = moving.replies.into_iter();
                if let Some(first) = replies.next() {
                    for r in replies {
                        let _ = r.send(Err(copy(&e)));
                    }
                    let _ = first.send(Err(e));
                }
                if let Some(ended) = moving.ended {
                    let _ = ended.send(());
                }
                return;
            }
        };
        if let Some(ended) = moving.ended {
            for r in moving.replies {
                let _ = r.send(Ok(super::Availability::NoAgents));
            }
            return self.end_for_shopper(conv, handoff.id, None, ended);
        }
        self.queue.push(Waiting {
            conversation_id: conv.to_string(),
            handoff: handoff.id,
            lang: e.lang,
            vip,
            reason: e.reason,
            shopper_id: e.shopper_id,
            shopper_name: name,
            queued_at: handoff.queued_at,
            since: self.now,
            bot: e.bot,
            exclude: None,
        });
        self.broadcast_queue();
        self.assign_waiting();
        for r in moving.replies {
            let _ = r.send(Ok(self.availability(conv, e.lang)));
        }
    }

    /// A requeue is stored: the old agent is told it ended, the shopper that they are being
    /// transferred, and the conversation joins the queue with its new handoff (or goes straight
    /// to the agent it was transferred to). On a failure it goes back to its agent.
    fn requeued(&mut self, conv: &str, q: Requeue, result: Result<Handoff, StoreError>) {
        let moving = self.moving.remove(conv);
        let (replies, ended) = moving.map(|m| (m.replies, m.ended)).unwrap_or_default();
        match result {
            Ok(handoff) => {
                self.ended(&q.agent, conv, q.outcome);
                self.tell_shopper(conv, ShopperEvent::Requeued { text: q.text, leave_message: q.nobody });
                if let Some(ended) = ended {
                    self.end_for_shopper(conv, handoff.id, None, ended);
                    if let Some((who, op)) = q.done {
                        self.done(&who, op, conv);
                    }
                } else {
                    self.queue.push(Waiting {
                        handoff: handoff.id,
                        reason: q.reason,
                        queued_at: handoff.queued_at,
                        exclude: q.exclude,
                        ..q.from
                    });
                    match q.to {
                        Some(to) if self.agents.get(&to).is_some_and(|a| a.conn.is_some()) => {
                            self.assign(conv, &to, q.done)
                        }
                        Some(to) => {
                            if let Some((who, _)) = q.done {
                                let m = format!("cannot transfer to {to}: that agent is no longer connected");
                                let code = crate::agents::protocol::AgentErrorCode::UnknownAgent;
                                self.error(&who, code, m, Some(conv));
                            }
                        }
                        None => {
                            if let Some((who, op)) = q.done {
                                let warning = q.nobody.then(|| "no_agents".to_string());
                                self.tell_agent(
                                    &who,
                                    AgentFrame::Done { op: op.into(), conversation_id: conv.into(), warning },
                                );
                            }
                        }
                    }
                    self.broadcast_queue();
                    self.assign_waiting();
                }
            }
            Err(e) => {
                if let Some(ended) = ended {
                    self.end_for_shopper(conv, q.from.handoff, Some(q.agent.clone()), ended);
                } else {
                    let agent = q.agent.clone();
                    self.give_back(conv, q.agent, q.from, q.since);
                    // an agent still gone is tried again on the next tick
                    let now = self.now;
                    if let Some(a) = self.agents.get_mut(&agent).filter(|a| a.conn.is_none()) {
                        a.grace_until = Some(now);
                    }
                }
                match q.done {
                    Some((who, _)) => self.storage_error(&who, e, conv),
                    None => tracing::error!(error = %e, conversation = %conv, "could not requeue"),
                }
            }
        }
        for r in replies {
            let _ = r.send(Ok(self.availability(conv, self.queue_lang(conv))));
        }
    }

    fn queue_lang(&self, conv: &str) -> crate::lang::Lang {
        self.queue
            .ordered()
            .into_iter()
            .find(|w| w.conversation_id == conv)
            .map(|w| w.lang)
            .or_else(|| self.owners.get(conv).map(|o| o.waiting.lang))
            .unwrap_or(crate::lang::Lang::Zh)
    }

    /// A handoff's end is stored: the agent who ended it gets `ended` and `done`, the shopper
    /// the notice (resolved: the session writes the feedback record, or, when the shopper has
    /// left, the stored record gets the agent's part). On a failure the agent gets the
    /// conversation back as it was.
    fn end_stored(
        &mut self,
        conv: &str,
        outcome: HandoffOutcome,
        text: String,
        why: EndBy,
        result: Result<(), StoreError>,
    ) {
        match why {
            EndBy::Agent { agent, op, waiting, since } => match result {
                Ok(()) => {
                    self.ended(&agent, conv, outcome);
                    if outcome == HandoffOutcome::Resolved {
                        self.observe_handle_time(since);
                        if self.shoppers.contains_key(conv) {
                            self.tell_shopper(conv, ShopperEvent::Resolved { text });
                            self.shoppers.remove(conv);
                        } else {
                            self.write(conv, Op::CloseWithAgent);
                        }
                    } else {
                        self.tell_shopper(conv, ShopperEvent::HandedBack { text });
                        self.shoppers.remove(conv);
                    }
                    self.done(&agent, op, conv);
                }
                Err(e) => {
                    self.give_back(conv, agent.clone(), *waiting, since);
                    self.storage_error(&agent, e, conv);
                }
            },
            EndBy::Shopper { agent, reply } => {
                if let Err(e) = result {
                    tracing::error!(error = %e, conversation = %conv, "could not end handoff");
                }
                if let Some(agent) = agent {
                    self.ended(&agent, conv, HandoffOutcome::ShopperEnded);
                }
                if let Some(reply) = reply {
                    let _ = reply.send(());
                }
            }
        }
    }
}
