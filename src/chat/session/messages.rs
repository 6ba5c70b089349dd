//! A shopper message: checked, stored before it is acknowledged, passed to the agents when they
//! have the conversation, otherwise routed; the bot's replies are stored with the dialogue memory
//! in one commit, then sent.

use crate::store::prelude::*;
use std::time::Instant;

use super::{handoff, Session};
use crate::chat::protocol::{context_problem, Context, ErrorCode, ServerMsg};
use crate::dialogue::{DialogueState, Outcome};
use crate::records::{MessageMeta, ReplyDecision};
use crate::store::{Accepted, ConversationState, Sender};

impl Session {
    pub(super) async fn message(&mut self, id: String, text: String, context: Option<Context>) -> bool {
        let Some(live) = &self.live else {
            return self.error(ErrorCode::NotStarted, "send hello first").await;
        };
        let conv_id = live.conv.id.clone();
        let closed = live.conv.state == ConversationState::Closed || live.ended;
        if let Some(problem) = self.too_long(&text) {
            return self.error(ErrorCode::TooLong, problem).await;
        }
        if text.trim().is_empty() || id.trim().is_empty() || id.chars().count() > 128 {
            return self.error(ErrorCode::EmptyMessage, "message needs a non-empty id (≤128) and text").await;
        }
        if id.starts_with("agent:") {
            return self.error(ErrorCode::MalformedFrame, "message ids may not start with \"agent:\"").await;
        }
        if let Some(problem) = context.as_ref().and_then(context_problem) {
            return self.error(ErrorCode::MalformedFrame, problem).await;
        }
        // a message already stored is acknowledged again, whatever happened since; a new one
        // is stored (on disk) before its ack, unless the conversation is closed or rate-limited
        let token = !closed && self.take_token();
        let accepted = match self
            .svc
            .store
            .accept_shopper_message(conv_id.clone(), id.clone(), text.clone(), token)
            .await
        {
            Ok(a) => a,
            Err(e) => {
                self.refund(token);
                return self.storage_error(e).await;
            }
        };
        let with_agent = self.live.as_ref().is_some_and(|l| l.conv.state == ConversationState::Agent);
        // the desk may have given it to an agent before this session heard: it relays to the owner
        let with_agents = self.with_agents();
        match accepted {
            Accepted::Known { answered } => {
                self.refund(token);
                self.send(ServerMsg::Ack { id }).await;
                if answered || closed || with_agent {
                    return true;
                }
                // stored but never answered (the reply failed): answer it now
                self.route(conv_id, text, context).await
            }
            Accepted::Refused if closed => {
                self.error(ErrorCode::ConversationClosed, "this conversation has ended; start a new one")
                    .await
            }
            Accepted::Refused => {
                self.error(ErrorCode::RateLimited, "too many messages; slow down and resend").await
            }
            Accepted::New(row) => {
                self.send(ServerMsg::Ack { id }).await;
                self.svc.metrics.messages.inc();
                if with_agents {
                    let now = crate::store::now();
                    self.svc.desk.shopper_said(conv_id.clone(), row, text.clone(), now, None).await;
                }
                if with_agent {
                    // a person is answering: the bot stays quiet
                    return true;
                }
                self.route(conv_id, text, context).await
            }
        }
    }

    /// Asks the router about a stored message and delivers its replies.
    /// `card` is the context of a tapped card, if the message came from one.
    pub(super) async fn route(&mut self, conv_id: String, text: String, card: Option<Context>) -> bool {
        let started = Instant::now();
        let router = self.svc.router.clone();
        let tapped = card.map(|c| router.checked_page(c.product, c.order, None));
        let live = self.live.as_mut().expect("checked above");
        // the memory as it was: a turn that fails (not stored, not answered) leaves no trace, so
        // the client's resend is routed against the same state the store holds
        let before = live.dialogue.clone();
        let outcome = match router.handle(&mut live.dialogue, &conv_id, &text, tapped.as_ref()).await {
            Ok(o) => o,
            Err(e) => {
                live.dialogue = before;
                return self.storage_error(e).await;
            }
        };
        if let Some(intent) = outcome.replies.first().and_then(|r| r.intent.clone()) {
            self.svc.metrics.intents.with_label_values(&[intent.as_str()]).inc();
        }
        let ok = self.deliver(outcome, before).await;
        self.svc.metrics.reply_latency.observe(started.elapsed().as_secs_f64());
        ok
    }

    /// Stores and sends a turn's replies; `before` is the dialogue state to go back to when
    /// they cannot be stored. A hand-over is made first, so that its reply says how it went
    /// (the place in line, or that nobody can come and a message can be left) in one line, and
    /// a shopper who asks again while waiting hears where they stand, not "transferring you"
    /// once more.
    pub(super) async fn deliver(&mut self, mut outcome: Outcome, before: DialogueState) -> bool {
        let live = self.live.as_ref().expect("a live conversation");
        let lang = live.dialogue.lang;
        let mut offered = Vec::new();
        let bot_or_waiting =
            matches!(live.conv.state, ConversationState::Bot | ConversationState::WaitingAgent);
        if let Some(reason) = outcome.escalate.clone().filter(|_| bot_or_waiting) {
            let (availability, again) = match self.hand_over(reason).await {
                Ok(a) => a,
                Err(keep_going) => {
                    if let Some(live) = self.live.as_mut() {
                        live.dialogue = before;
                    }
                    return keep_going;
                }
            };
            if let Some((text, actions)) = handoff::availability_text(lang, &availability, again) {
                for r in outcome.replies.iter_mut().filter(|r| r.decision == Some(ReplyDecision::Escalate)) {
                    r.text = text.clone();
                }
                offered = actions;
            }
        }
        let live = self.live.as_mut().expect("a live conversation");
        let conv_id = live.conv.id.clone();
        let store = self.svc.store.clone();
        // the turn's replies and the dialogue memory after it are stored together (one commit)
        // before any is sent
        let dialogue = live.dialogue.to_json();
        let rows = outcome
            .replies
            .iter()
            .map(|r| {
                let meta = MessageMeta {
                    intent: r.intent.clone(),
                    confidence: r.confidence,
                    faq_id: r.faq_id.clone(),
                    decision: r.decision,
                    ..MessageMeta::default()
                };
                (r.text.clone(), Some(meta))
            })
            .collect();
        if let Err(e) = store.add_bot_turn(conv_id.clone(), rows, dialogue).await {
            if let Some(live) = self.live.as_mut() {
                live.dialogue = before;
            }
            return self.storage_error(e).await;
        }
        self.watch_orders();
        for r in outcome.replies {
            let actions = if r.decision == Some(ReplyDecision::Escalate) { offered.clone() } else { vec![] };
            self.send(ServerMsg::Reply {
                from: Sender::Bot,
                text: r.text,
                agent: None,
                intent: r.intent,
                confidence: r.confidence,
                faq_id: r.faq_id,
                suggestions: r.suggestions,
                cards: r.cards,
                actions,
                message_id: None,
            })
            .await;
        }
        true
    }
}
