//! A photo sent into the chat (`image` frame): the shopper uploaded it over HTTP first
//! (`web::images`); the frame sends it like a message, stored once per client id before its ack.
//! An agent who has the conversation sees it at once; otherwise the bot says it was received and
//! that it stays with the conversation for the agent who takes it (or the ticket).

use super::Session;
use crate::chat::protocol::{ErrorCode, ServerMsg};
use crate::dialogue::texts::t;
use crate::images::MAX_ID_CHARS;
use crate::lang::Lang;
use crate::records::MessageMeta;
use crate::store::images::ImageAccepted;
use crate::store::prelude::*;
use crate::store::{ConversationState, Sender};

/// What a photo message's text is (a stand-in for every reader that shows text only: exports,
/// search, the review queue).
pub(crate) fn stand_in(lang: Lang) -> String {
    t(lang, "[图片]", "[Photo]")
}

impl Session {
    pub(super) async fn image(&mut self, id: String, image: String) -> bool {
        let Some(live) = &self.live else {
            return self.error(ErrorCode::NotStarted, "send hello first").await;
        };
        let conv_id = live.conv.id.clone();
        let lang = live.dialogue.lang;
        let closed = live.conv.state == ConversationState::Closed || live.ended;
        if id.trim().is_empty() || id.chars().count() > 128 || id.starts_with("agent:") {
            let message = "an image frame needs an id (≤128, not starting with \"agent:\")";
            return self.error(ErrorCode::MalformedFrame, message).await;
        }
        if image.is_empty() || image.chars().count() > MAX_ID_CHARS {
            return self.error(ErrorCode::BadImage, "no such image in this conversation").await;
        }
        let token = !closed && self.take_token();
        let accepted = match self
            .svc
            .store
            .accept_shopper_image(conv_id.clone(), id.clone(), image, stand_in(lang), token)
            .await
        {
            Ok(a) => a,
            Err(e) => {
                self.refund(token);
                return self.storage_error(e).await;
            }
        };
        let state = self.live.as_ref().map(|l| l.conv.state);
        let with_agent = state == Some(ConversationState::Agent);
        match accepted {
            ImageAccepted::Known { answered } => {
                self.refund(token);
                self.send(ServerMsg::Ack { id }).await;
                if answered || closed || with_agent {
                    return true;
                }
                self.received(conv_id).await
            }
            ImageAccepted::NoSuchImage => {
                self.refund(token);
                let message = "no such image in this conversation: upload it first (or it was sent already)";
                self.error(ErrorCode::BadImage, message).await
            }
            ImageAccepted::Refused if closed => {
                self.error(ErrorCode::ConversationClosed, "this conversation has ended; start a new one")
                    .await
            }
            ImageAccepted::Refused => {
                self.error(ErrorCode::RateLimited, "too many messages; slow down and resend").await
            }
            ImageAccepted::New(row, image) => {
                self.send(ServerMsg::Ack { id }).await;
                self.svc.metrics.messages.inc();
                if self.with_agents() {
                    let now = crate::store::now();
                    self.svc.desk.shopper_said(conv_id.clone(), row, stand_in(lang), now, Some(image)).await;
                }
                if with_agent {
                    return true;
                }
                self.received(conv_id).await
            }
        }
    }

    /// The bot's word that the photo arrived (no agent has the conversation): stored with the
    /// dialogue memory as it stands, like any bot turn, then sent.
    async fn received(&mut self, conv_id: String) -> bool {
        let Some(live) = &self.live else { return true };
        let lang = live.dialogue.lang;
        let waiting = live.conv.state == ConversationState::WaitingAgent;
        let text = if waiting {
            t(
                lang,
                "已收到图片，客服接入后会看到它。",
                "Photo received. The agent will see it when they join.",
            )
        } else {
            t(
                lang,
                "已收到图片，它会保留在本次对话中，人工客服接手后可以看到。需要客服处理（例如商品破损），请说“转人工”。",
                "Photo received. It stays with this chat, so an agent who takes over can see it. If you need an agent to look at it (a damaged item, say), ask for an agent.",
            )
        };
        let meta = MessageMeta::event("image_received");
        let dialogue = live.dialogue.to_json();
        if let Err(e) = self.svc.store.add_bot_turn(conv_id, vec![(text.clone(), Some(meta))], dialogue).await
        {
            return self.storage_error(e).await;
        }
        let mut reply = ServerMsg::text(Sender::Bot, text, None);
        if let (ServerMsg::Reply { suggestions, .. }, false) = (&mut reply, waiting) {
            suggestions.push(t(lang, "转人工", "Talk to an agent"));
        }
        self.send(reply).await;
        true
    }
}
