//! `hello`: a new conversation (within the rate of new conversations) or the resumption of a
//! stored one, with its transcript, its state and the bot's memory of a half-finished flow.

use super::{Live, Session, HISTORY};
use crate::agents::ShopperLink;
use crate::chat::protocol::{context_problem, Context, ErrorCode, HistoryItem, ServerMsg};
use crate::dialogue::DialogueState;
use crate::identity;
use crate::lang::Lang;
use crate::store::prelude::*;
use crate::store::{ConversationState, Sender};

impl Session {
    pub(super) async fn hello(
        &mut self,
        token: Option<String>,
        lang: Option<String>,
        resume: Option<String>,
        context: Option<Context>,
    ) -> bool {
        if self.live.is_some() {
            return self.error(ErrorCode::AlreadyStarted, "this connection already has a conversation").await;
        }
        if let Some(problem) = context.as_ref().and_then(context_problem) {
            return self.error(ErrorCode::MalformedFrame, problem).await;
        }
        let shopper_id = match token {
            None => None,
            Some(t) => {
                let Some(secret) = self.svc.settings.token_secret.as_deref() else {
                    return self.error(ErrorCode::BadToken, identity::TokenError::Disabled.to_string()).await;
                };
                let max = self.svc.settings.shopper_token_max_secs;
                match identity::verify_shopper(secret, &t, chrono::Utc::now().timestamp(), max) {
                    Ok(c) => Some(c.sub),
                    Err(e) => return self.error(ErrorCode::BadToken, e.to_string()).await,
                }
            }
        };
        let lang = lang.as_deref().and_then(Lang::parse).unwrap_or(Lang::Zh);
        let store = &self.svc.store;
        let conv = match resume {
            Some(id) => match store.conversation(id).await {
                Ok(Some(c)) if c.shopper_id == shopper_id => c,
                Ok(_) => {
                    return self
                        .error(ErrorCode::UnknownConversation, "no such conversation for this shopper")
                        .await
                }
                Err(e) => return self.storage_error(e).await,
            },
            None if self.conversation_limited(shopper_id.as_deref()) => {
                let message = "too many new conversations from here; wait a minute and try again";
                return self.error(ErrorCode::RateLimited, message).await;
            }
            None => match store.open_conversation(shopper_id.clone(), lang).await {
                Ok(c) => c,
                Err(e) => return self.storage_error(e).await,
            },
        };
        // the bot's memory of a resumed conversation: a half-finished flow goes on (read before
        // `welcome`: a client that has a conversation id has a live session)
        let stored = match store.dialogue_state(conv.id.clone()).await {
            Ok(d) => d,
            Err(e) => return self.storage_error(e).await,
        };
        let mut dialogue = stored
            .and_then(|json| {
                let st = DialogueState::from_json(&json, conv.shopper_id.as_deref());
                if st.is_none() {
                    tracing::warn!(conversation = %conv.id, "stored dialogue state unreadable; starting afresh");
                }
                st
            })
            .unwrap_or_else(|| DialogueState::new(conv.lang, conv.shopper_id.clone()));
        if let Some(c) = context {
            let router = &self.svc.router;
            let page = router.checked_page(c.product, c.order, c.url);
            router.set_page(&mut dialogue, page);
        }
        // answers to the shopper's tickets not yet shown: into this conversation's history
        if let Err(e) = self.deliver_ticket_answers(&conv.id, conv.shopper_id.clone()).await {
            return self.storage_error(e).await;
        }
        let history = match store.recent_messages(conv.id.clone(), HISTORY).await {
            Ok(h) => h,
            Err(e) => return self.storage_error(e).await,
        };
        let history = history.into_iter().map(history_item).collect();
        let timezone = self.svc.settings.timezone.clone();
        self.send(ServerMsg::Welcome { conversation_id: conv.id.clone(), history, timezone }).await;
        self.send(ServerMsg::Status { state: conv.state, agent: None }).await;
        let ended = conv.state == ConversationState::Closed;
        let conv_id = conv.id.clone();
        self.live = Some(Live { conv, dialogue, ended });
        self.join_live();
        if self.with_agents() {
            let (link, rx) = ShopperLink::new();
            self.events = Some(rx);
            self.link = link.id;
            self.svc.desk.shopper_online(conv_id, link).await;
        }
        true
    }
}

/// One stored message as the shopper sees it again: a recalled agent message without its text,
/// an agent's answer to a ticket with the ticket's number.
fn history_item(m: crate::store::StoredMessage) -> HistoryItem {
    let agent = m.sender == Sender::Agent;
    let recalled = agent && m.recalled_at.is_some();
    HistoryItem {
        from: m.sender,
        text: if recalled { String::new() } else { m.text },
        // the shopper's own ids only (agents' ids are internal)
        client_id: m.client_msg_id.filter(|_| m.sender == Sender::Shopper),
        at: m.created_at,
        message_id: agent.then_some(m.id),
        recalled,
        // a photo the shopper sent (the text is a stand-in)
        image: m.meta.as_ref().and_then(|meta| meta.image.clone()).filter(|_| m.sender == Sender::Shopper),
        ticket: m.meta.and_then(|meta| meta.ticket).filter(|_| agent),
    }
}

impl Session {
    /// Marks the answers to this shopper's tickets shown (those of an earlier conversation are
    /// copied into this one first). A read finds them; only a visit with some pays a write.
    async fn deliver_ticket_answers(
        &self,
        conv: &str,
        shopper_id: Option<String>,
    ) -> Result<(), crate::store::StoreError> {
        let store = &self.svc.store;
        let answered = store.undelivered_answers(conv.to_string(), shopper_id).await?;
        if !answered.is_empty() {
            let ids = answered.into_iter().map(|t| t.id).collect();
            store.deliver_answers(conv.to_string(), ids).await?;
        }
        Ok(())
    }
}
