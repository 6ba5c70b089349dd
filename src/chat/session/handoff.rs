//! The conversation with human agents: the escalation to the service desk and what the shopper
//! is told about the wait, the desk's events, and messages left for the agents (tickets).

use super::Session;
use crate::agents::{Availability, Escalation, ShopperEvent, ShopperLink};
use crate::chat::protocol::{Action, ErrorCode, ServerMsg};
use crate::dialogue::texts::{self, t};
use crate::lang::Lang;
use crate::records::{MessageMeta, Resolution};
use crate::store::prelude::*;
use crate::store::{ConversationState, Sender};

/// What the shopper is told about the hand-over, and what they are offered with it (the message
/// form when nobody can come). `again`: the conversation was already waiting, so the shopper
/// hears where they are in line, not that they are being transferred once more. `None` when an
/// agent took it at once (the agent's "joined" notice follows).
pub(super) fn availability_text(lang: Lang, a: &Availability, again: bool) -> Option<(String, Vec<Action>)> {
    let (zh_lead, en_lead) = if again {
        ("您已经在排队了", "You're already in line")
    } else {
        ("正在为您转接人工客服", "I'm transferring you to a human agent")
    };
    Some(match a {
        Availability::Assigned => return None,
        Availability::Queued { position, wait_secs } => {
            let minutes = wait_secs.unwrap_or(60).div_ceil(60).max(1);
            let ahead = position.saturating_sub(1);
            let (zh_place, en_place) = match ahead {
                0 => ("您是下一位".to_string(), "you're next".to_string()),
                n => (format!("您前面还有 {n} 位"), format!("{n} ahead of you")),
            };
            let text = t(
                lang,
                &format!("{zh_lead}，{zh_place}，预计等待约 {minutes} 分钟，客服接入后会马上回复您。等待期间有问题也可以继续问我。"),
                &format!("{en_lead}: {en_place}, about {minutes} min to wait. An agent will reply as soon as they join; meanwhile you can keep asking me."),
            );
            (text, vec![])
        }
        Availability::NoAgents => (
            t(
                lang,
                &format!(
                    "{}现在没有人工客服在线。您可以给我们留言，客服上线后会尽快联系您；等待期间我也会继续为您解答。",
                    if again { "您已经在排队了，不过" } else { "抱歉，" }
                ),
                &format!(
                    "{}no agent is online right now. You can leave a message and an agent will get back to you; meanwhile I'm still here to help.",
                    if again { "You're already in line, but " } else { "Sorry, " }
                ),
            ),
            vec![Action::LeaveMessage],
        ),
        Availability::Closed { hours } => (
            t(
                lang,
                &format!(
                    "{}现在是人工客服的休息时间（服务时间 {hours}）。您可以给我们留言，上班后客服会尽快联系您；我也会继续为您解答。",
                    if again { "您已经在排队了，不过" } else { "" }
                ),
                &format!(
                    "{} agents are off duty right now (hours {hours}). Leave a message and they'll get back to you; meanwhile I'm still here to help.",
                    if again { "You're already in line, but our" } else { "Our" }
                ),
            ),
            vec![Action::LeaveMessage],
        ),
    })
}

impl Session {
    /// Hands the conversation to the service desk, or, when it already waits for an agent, asks
    /// the desk again where it stands (the desk keeps its place in line and opens no second
    /// handoff). The availability, and whether the conversation was already waiting; `Err` with
    /// whether to keep the connection when the desk could not be reached (an error was sent).
    pub(super) async fn hand_over(&mut self, reason: String) -> Result<(Availability, bool), bool> {
        let live = self.live.as_mut().expect("a live conversation");
        let again = live.conv.state == ConversationState::WaitingAgent;
        if !again {
            self.svc.metrics.escalations.with_label_values(&[reason.as_str()]).inc();
        }
        let d = &live.dialogue;
        let escalation = Escalation {
            conversation_id: live.conv.id.clone(),
            shopper_id: live.conv.shopper_id.clone(),
            lang: d.lang,
            reason,
            bot: d.escalation_context(),
        };
        let (link, rx) = ShopperLink::new();
        let link_id = link.id;
        let availability = match self.svc.desk.escalate(escalation, link).await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "could not reach the service desk");
                return Err(self
                    .error(
                        ErrorCode::StorageUnavailable,
                        "could not reach an agent right now; please try again",
                    )
                    .await);
            }
        };
        self.link = link_id;
        // the desk now talks on the new line; what it said on the old one is still to be shown
        let old = self.events.replace(rx);
        if !again {
            if let Some(live) = self.live.as_mut() {
                live.conv.state = ConversationState::WaitingAgent;
            }
            self.send(ServerMsg::Status { state: ConversationState::WaitingAgent, agent: None }).await;
        }
        if let Some(mut old) = old {
            while let Ok(event) = old.try_recv() {
                self.on_desk(event).await;
            }
        }
        Ok((availability, again))
    }

    /// What the service desk says: already stored, so only shown here.
    pub(super) async fn on_desk(&mut self, event: ShopperEvent) -> bool {
        let system = |text: String, agent: Option<String>| ServerMsg::text(Sender::System, text, agent);
        let set = |s: &mut Session, state: ConversationState| {
            if let Some(live) = s.live.as_mut() {
                live.conv.state = state;
                if state == ConversationState::Bot {
                    live.dialogue.unresolved = 0;
                    live.dialogue.pending = None;
                }
            }
        };
        match event {
            ShopperEvent::Joined { agent, text } => {
                set(self, ConversationState::Agent);
                self.send(ServerMsg::Status { state: ConversationState::Agent, agent: Some(agent.clone()) })
                    .await;
                self.send(system(text, Some(agent))).await;
            }
            ShopperEvent::Message { agent, text, id } => {
                let mut reply = ServerMsg::text(Sender::Agent, text, Some(agent));
                if let ServerMsg::Reply { message_id, .. } = &mut reply {
                    *message_id = Some(id);
                }
                self.send(reply).await;
            }
            ShopperEvent::Recalled { id } => self.send(ServerMsg::Recalled { message_id: id }).await,
            ShopperEvent::Typing { agent } => self.send(ServerMsg::Typing { agent }).await,
            ShopperEvent::Requeued { text, leave_message } => {
                set(self, ConversationState::WaitingAgent);
                self.send(ServerMsg::Status { state: ConversationState::WaitingAgent, agent: None }).await;
                let mut notice = system(text, None);
                if let (true, ServerMsg::Reply { actions, .. }) = (leave_message, &mut notice) {
                    actions.push(Action::LeaveMessage);
                }
                self.send(notice).await;
            }
            ShopperEvent::HandedBack { text } => {
                set(self, ConversationState::Bot);
                self.events = None;
                self.send(ServerMsg::Status { state: ConversationState::Bot, agent: None }).await;
                self.send(system(text, None)).await;
            }
            ShopperEvent::Resolved { text } => {
                self.events = None;
                self.send(system(text, None)).await;
                self.finish(Resolution::AgentResolved).await;
                let scale = texts::rating_scale(self.lang());
                self.send(ServerMsg::RatingRequest { scale }).await;
            }
        }
        true
    }

    /// A message left for the agents: stored as a ticket they see in the console.
    pub(super) async fn ticket(&mut self, text: String, contact: Option<String>) -> bool {
        let Some(live) = &self.live else {
            return self.error(ErrorCode::NotStarted, "send hello first").await;
        };
        let (conv_id, shopper, lang) =
            (live.conv.id.clone(), live.conv.shopper_id.clone(), live.dialogue.lang);
        if let Some(problem) = self.too_long(&text) {
            return self.error(ErrorCode::TooLong, problem).await;
        }
        if text.trim().is_empty() {
            return self.error(ErrorCode::EmptyMessage, "the message for the agents is empty").await;
        }
        if contact.as_ref().is_some_and(|c| c.chars().count() > 200) {
            return self.error(ErrorCode::TooLong, "contact is longer than 200 characters").await;
        }
        if !self.take_token() {
            return self.error(ErrorCode::RateLimited, "too many messages; slow down and resend").await;
        }
        let store = self.svc.store.clone();
        let live_id = conv_id.clone();
        let ticket = match store.create_ticket(conv_id, shopper, lang, text, contact).await {
            Ok(t) => t,
            Err(e) => return self.storage_error(e).await,
        };
        // the confirmation is the one line the shopper sees (the widget shows no other), and it
        // stays in the transcript, so the ticket number is still there on their next visit
        let text = t(
            lang,
            &format!("已收到您的留言（编号 {}），客服会尽快联系您。", ticket.id),
            &format!("Got your message (ticket {}); an agent will get back to you soon.", ticket.id),
        );
        let meta = MessageMeta::event("ticket");
        if let Err(e) = store.add_message(live_id, Sender::Bot, text.clone(), Some(meta)).await {
            tracing::error!(error = %e, ticket = %ticket.id, "could not store the ticket confirmation");
        }
        self.send(ServerMsg::Ticket { id: ticket.id.clone() }).await;
        self.send(ServerMsg::text(Sender::Bot, text, None)).await;
        true
    }
}
