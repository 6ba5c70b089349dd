//! Assignment: waiting conversations to available agents (the conversation is theirs at once;
//! once stored, the agent gets the context and the shopper is told), and back: released from
//! an agent, requeued with a new handoff; the average handle time behind wait estimates.

use std::time::Instant;

use super::persist::{DoneFor, Op, Requeue};
use super::state::{Moving, Owned, State};
use super::ShopperEvent;
use crate::agents::protocol::{AgentErrorCode, AgentFrame, Presence};
use crate::agents::queue::{self, Seat, Waiting};
use crate::dialogue::texts::t;
use crate::lang::Lang;
use crate::store::{ConversationContext, HandoffOutcome, StoreError};

/// What the shopper hears when their conversation goes back to the queue: that another agent
/// is coming, or, when `nobody` (no colleague online), the truth and the offer of a message.
pub(crate) fn requeue_notice(lang: Lang, nobody: bool) -> String {
    if nobody {
        t(
            lang,
            "现在没有其他客服在线，暂时无法为您转接。您可以给我们留言，客服上线后会尽快联系您；等待期间我也会继续为您解答。",
            "No other agent is online right now, so nobody can take over yet. You can leave a message and an agent will get back to you; meanwhile I'm still here to help.",
        )
    } else {
        t(
            lang,
            "正在为您转接其他客服，请稍候，您的聊天记录会一并转交。",
            "Transferring you to another agent; they'll see everything so far. One moment please.",
        )
    }
}

impl State {
    pub(crate) fn seats(&self) -> Vec<Seat<'_>> {
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
    pub(crate) fn assign_waiting(&mut self) {
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
            self.assign(&conv, &agent, None);
        }
        if changed {
            self.broadcast_queue();
        }
    }

    /// Gives a waiting conversation to an agent: theirs from now on; the persister stores it
    /// (with the shopper's announcement) and reads its context, and on completion the agent
    /// gets the context, the shopper is told, and `done` gets `done`.
    pub(crate) fn assign(&mut self, conv: &str, agent: &str, done: DoneFor) {
        let Some(waiting) = self.queue.remove(conv) else { return };
        let display =
            self.agents.get(agent).map(|a| a.display_name.clone()).unwrap_or_else(|| agent.to_string());
        let text = t(
            waiting.lang,
            &format!("已为您转接人工客服「{display}」，请问有什么可以帮您？"),
            &format!("You're now chatting with {display}. How can I help?"),
        );
        if let Some(a) = self.agents.get_mut(agent) {
            a.conversations.insert(conv.to_string());
        }
        let load = self.next_load();
        let handoff = waiting.handoff;
        let owned =
            Owned { agent: agent.to_string(), waiting, since: self.now, loading: Some((load, vec![])) };
        self.owners.insert(conv.to_string(), owned);
        let op = Op::Assign { handoff, agent: agent.to_string(), display, text, load, done };
        self.write(conv, op);
    }

    pub(crate) fn next_load(&mut self) -> u64 {
        self.loads += 1;
        self.loads
    }

    /// An assignment is stored (its context read): the agent gets the context, then what was
    /// held for them; the shopper is told who joined. On a failure the conversation goes back
    /// to the queue (the agent never saw it).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn assigned(
        &mut self,
        conv: &str,
        agent: &str,
        display: String,
        text: String,
        load: u64,
        done: DoneFor,
        result: Result<Result<Option<ConversationContext>, StoreError>, StoreError>,
    ) {
        match result {
            Ok(context) => {
                tracing::info!(conversation = %conv, agent = %agent, "assigned");
                self.loaded(conv, agent, load, context);
                self.tell_shopper(conv, ShopperEvent::Joined { agent: display, text });
                if let Some((who, op)) = done {
                    self.done(&who, op, conv);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, conversation = %conv, "could not assign");
                let ours = self
                    .owners
                    .get(conv)
                    .is_some_and(|o| o.agent == agent && o.loading.as_ref().is_some_and(|(l, _)| *l == load));
                if ours {
                    let owned = self.owners.remove(conv).expect("checked above");
                    if let Some(a) = self.agents.get_mut(agent) {
                        a.conversations.remove(conv);
                    }
                    self.queue.push(owned.waiting);
                    self.broadcast_queue();
                }
                if let Some((who, _)) = done {
                    self.storage_error(&who, e, conv);
                }
            }
        }
    }

    /// Reads the context of a conversation `agent` owns again (they reconnected): frames about
    /// it wait until it is sent.
    pub(crate) fn reload(&mut self, agent: &str, conv: &str) {
        let load = self.next_load();
        let Some(o) = self.owners.get_mut(conv) else { return };
        // frames held for an older read are in the transcript this one reads
        o.loading = Some((load, vec![]));
        self.write(conv, Op::Context { agent: agent.to_string(), load });
    }

    /// A context read for `agent` finished: sent, then the frames held meanwhile, unless a
    /// newer read replaced it or the conversation is no longer theirs.
    pub(crate) fn loaded(
        &mut self,
        conv: &str,
        agent: &str,
        load: u64,
        context: Result<Option<ConversationContext>, StoreError>,
    ) {
        let Some(o) = self.owners.get_mut(conv) else { return };
        if o.agent != agent || o.loading.as_ref().is_none_or(|(l, _)| *l != load) {
            return;
        }
        let (_, held) = o.loading.take().expect("checked above");
        let (reason, bot) = (o.waiting.reason.clone(), o.waiting.bot.clone());
        match context {
            Ok(Some(context)) => {
                let frame = AgentFrame::Assigned {
                    conversation_id: conv.to_string(),
                    reason,
                    bot,
                    context: Box::new(crate::privacy::mask::detail(
                        context.into(),
                        crate::identity::Role::Agent,
                    )),
                };
                self.tell_agent(agent, frame);
            }
            Ok(None) => tracing::error!(conversation = %conv, "assigned conversation not found"),
            Err(e) => {
                tracing::error!(error = %e, "could not read a conversation's context");
                let m = "could not load this conversation; reconnect to get it again";
                self.error(agent, AgentErrorCode::StorageUnavailable, m, Some(conv));
            }
        }
        for frame in held {
            self.tell_agent(agent, frame);
        }
    }

    /// Takes a conversation away from its agent: no longer theirs from now on (the seat is
    /// free); they are told it ended once that is stored.
    pub(crate) fn release(&mut self, conv: &str) -> Option<Owned> {
        let owned = self.owners.remove(conv)?;
        if let Some(a) = self.agents.get_mut(&owned.agent) {
            a.conversations.remove(conv);
        }
        Some(owned)
    }

    /// Gives a conversation back to `agent` as it was, after ending or requeueing it failed to
    /// be stored; only if nobody has it meanwhile.
    pub(crate) fn give_back(&mut self, conv: &str, agent: String, waiting: Waiting, since: Instant) {
        if self.owners.contains_key(conv) || self.queue.contains(conv) || self.moving.contains_key(conv) {
            return;
        }
        if let Some(a) = self.agents.get_mut(&agent) {
            a.conversations.insert(conv.to_string());
        }
        self.owners.insert(conv.to_string(), Owned { agent, waiting, since, loading: None });
    }

    pub(crate) fn ended(&mut self, agent: &str, conv: &str, outcome: HandoffOutcome) {
        let frame = AgentFrame::Ended { conversation_id: conv.to_string(), outcome: outcome.as_str().into() };
        self.tell_agent(agent, frame);
    }

    /// Puts a conversation an agent owns back in the queue with a new handoff (`exclude`: not
    /// back to them; `to`: straight to that agent instead). Released now; queued once stored.
    pub(crate) fn requeue(
        &mut self,
        conv: &str,
        outcome: HandoffOutcome,
        reason: &str,
        exclude: Option<String>,
        to: Option<String>,
        done: DoneFor,
    ) {
        let Some(owned) = self.release(conv) else { return };
        let lang = owned.waiting.lang;
        // back to the queue with no colleague online: nobody is coming, so the shopper is not
        // told another agent is (they are offered the message form, the agent is warned)
        let nobody = to.is_none() && !self.colleague_online(lang, &owned.agent);
        let text = requeue_notice(lang, nobody);
        self.moving.insert(conv.to_string(), Moving { replies: vec![], ended: None });
        let q = Requeue {
            agent: owned.agent,
            from: owned.waiting,
            since: owned.since,
            outcome,
            reason: reason.to_string(),
            exclude,
            to,
            done,
            text,
            nobody,
        };
        self.write(conv, Op::Requeue(Box::new(q)));
    }

    /// Whether an agent other than `but` is connected, online and serves `lang`: someone who
    /// will take a conversation put back in the queue (at once, or when a seat frees up).
    pub(crate) fn colleague_online(&self, lang: Lang, but: &str) -> bool {
        self.seats().iter().any(|s| s.name != but && s.available && s.langs.contains(&lang))
    }

    pub(crate) fn observe_handle_time(&mut self, since: Instant) {
        let secs = self.now.saturating_duration_since(since).as_secs_f64().max(1.0);
        self.resolved += 1;
        let n = self.resolved.min(50) as f64;
        self.average_handle_secs += (secs - self.average_handle_secs) / n;
    }
}
