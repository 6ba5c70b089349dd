//! The end of a conversation: the feedback record (stored as it stands, or once at the end),
//! closing it, and the shopper's rating.

use super::Session;
use crate::chat::protocol::{Action, ErrorCode, ServerMsg};
use crate::dialogue::texts::t;
use crate::lang::Lang;
use crate::records::{FeedbackRecord, Resolution};
use crate::store::prelude::*;
use crate::store::{ConversationState, Sender};

/// The one thanks for a rating, in keeping with it: a low score gets an apology and the offer of
/// a person (a chip that asks for one) or a message for the agents, never "enjoy your shopping".
pub(super) fn thanks(lang: Lang, score: u8) -> ServerMsg {
    let (text, low) = match score {
        4.. => (t(lang, "感谢您的评价，祝您购物愉快！", "Thank you for your rating. Happy shopping!"), false),
        3 => (
            t(lang, "感谢您的评价，我们会继续改进。", "Thank you for your rating; we'll keep working to do better."),
            false,
        ),
        _ => (
            t(
                lang,
                "抱歉这次没能让您满意，感谢您告诉我们。如果问题还没解决，可以转人工客服，或者给我们留言，客服会尽快联系您。",
                "Sorry we didn't get it right this time, and thank you for telling us. If your problem isn't solved yet, you can talk to an agent or leave us a message and an agent will get back to you.",
            ),
            true,
        ),
    };
    let mut reply = ServerMsg::text(Sender::Bot, text, None);
    if let (ServerMsg::Reply { suggestions, actions, .. }, true) = (&mut reply, low) {
        suggestions.push(t(lang, "转人工", "Talk to an agent"));
        actions.push(Action::LeaveMessage);
    }
    reply
}

impl Session {
    pub(super) async fn rating(&mut self, score: u8, comment: Option<String>) -> bool {
        let Some(live) = &self.live else {
            return self.error(ErrorCode::NotStarted, "send hello first").await;
        };
        if !(1..=5).contains(&score) {
            return self.error(ErrorCode::BadRating, "score must be 1 to 5").await;
        }
        let comment =
            comment.map(|c| c.chars().take(self.svc.settings.max_message_chars).collect::<String>());
        let conv_id = live.conv.id.clone();
        let lang = live.dialogue.lang;
        if !self.take_token() {
            return self.error(ErrorCode::RateLimited, "too many messages; slow down and resend").await;
        }
        let store = self.svc.store.clone();
        let rated = match store.rate(conv_id.clone(), score, comment.clone()).await {
            Ok(r) => r,
            Err(e) => return self.storage_error(e).await,
        };
        if !rated {
            // no record yet (rated before the end): store the record as it stands, with the rating
            let Some(mut record) = self.record(Resolution::BotResolved).await else { return true };
            record.rating = Some(score);
            record.comment = comment.clone();
            if let Err(e) = store.save_feedback(record).await {
                return self.storage_error(e).await;
            }
        }
        self.send(thanks(lang, score)).await;
        true
    }

    /// The feedback record of the live conversation as it stands.
    pub(super) async fn record(&self, resolution: Resolution) -> Option<FeedbackRecord> {
        let live = self.live.as_ref()?;
        let store = &self.svc.store;
        let msgs = store.messages(live.conv.id.clone()).await.ok()?;
        let agent = store.agent_summary(live.conv.id.clone()).await.ok()?;
        let count = |s: Sender| msgs.iter().filter(|m| m.sender == s).count();
        let counts = [count(Sender::Shopper), count(Sender::Bot), count(Sender::Agent)];
        let mut record = live.dialogue.feedback_record(
            &live.conv,
            counts,
            agent.as_ref(),
            resolution,
            crate::store::now(),
        );
        record.attachments =
            msgs.iter().filter(|m| m.meta.as_ref().is_some_and(|m| m.image.is_some())).count();
        Some(record)
    }

    /// Stores the feedback record as it stands without ending the conversation.
    pub(super) async fn record_only(&self, resolution: Resolution) {
        let Some(live) = &self.live else { return };
        if live.ended {
            return;
        }
        if let Some(record) = self.record(resolution).await {
            if let Err(e) = self.svc.store.save_feedback(record).await {
                tracing::error!(error = %e, "could not store feedback record");
            }
        }
    }

    /// Ends the conversation once: stores its feedback record and closes it.
    pub(super) async fn finish(&mut self, resolution: Resolution) {
        let Some(live) = &self.live else { return };
        if live.ended {
            return;
        }
        let conv_id = live.conv.id.clone();
        let store = &self.svc.store;
        match self.record(resolution).await {
            Some(record) => {
                if let Err(e) = store.save_feedback(record).await {
                    tracing::error!(error = %e, "could not store feedback record");
                }
            }
            None => tracing::error!(conversation = %conv_id, "could not build feedback record"),
        }
        if let Err(e) = store.set_state(conv_id, ConversationState::Closed, None).await {
            tracing::error!(error = %e, "could not close conversation");
        }
        if let Some(live) = self.live.as_mut() {
            live.ended = true;
            live.conv.state = ConversationState::Closed;
        }
        self.send(ServerMsg::Status { state: ConversationState::Closed, agent: None }).await;
    }
}
