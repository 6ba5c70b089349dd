//! Order updates the store announced, told to this conversation as they happen: the session
//! registers in the service's [`LiveSessions`](crate::chat::live::LiveSessions) with the orders
//! its conversation is about, and tells the shopper what `dialogue::notices` decides, stored
//! first as a bot line (`meta.event = "order_updated"`, so history keeps it and the trainers'
//! review leaves it out).

use crate::store::prelude::*;
use std::sync::Arc;

use super::Session;
use crate::chat::protocol::ServerMsg;
use crate::dialogue::notices;
use crate::orders::events::OrderUpdate;
use crate::records::MessageMeta;
use crate::store::{ConversationState, Sender};

impl Session {
    /// Registers this session for its conversation (after `hello`).
    pub(super) fn join_live(&mut self) {
        let Some(live) = &self.live else { return };
        let (id, rx) = self.svc.live.join(&live.conv.id);
        self.updates = Some(rx);
        self.live_id = id;
        self.watch_orders();
    }

    /// Tells the registry which orders the conversation is about now (after each turn).
    pub(super) fn watch_orders(&self) {
        if let Some(live) = &self.live {
            self.svc.live.watch(&live.conv.id, self.live_id, notices::about(&live.dialogue));
        }
    }

    /// Leaves the registry (the connection is closing).
    pub(super) fn leave_live(&self) {
        if let Some(live) = &self.live {
            self.svc.live.leave(&live.conv.id, self.live_id);
        }
    }

    /// An order changed: tell the shopper when the conversation is open and about it.
    pub(super) async fn on_order_update(&mut self, update: Arc<OrderUpdate>) -> bool {
        let Some(live) = self.live.as_ref().filter(|l| !l.ended && l.conv.state != ConversationState::Closed)
        else {
            return true;
        };
        let Some(text) = notices::order_notice(&live.dialogue, &update, &self.svc.settings.offset) else {
            return true;
        };
        let (conv_id, dialogue) = (live.conv.id.clone(), live.dialogue.to_json());
        let line = vec![(text.clone(), Some(MessageMeta::event("order_updated")))];
        if let Err(e) = self.svc.store.add_bot_turn(conv_id, line, dialogue).await {
            // not stored, so not said: the next question about the order gets the news anyway
            tracing::error!(error = %e, order_no = %update.order_no, "order update not stored");
            return true;
        }
        self.send(ServerMsg::text(Sender::Bot, text, None)).await;
        true
    }
}
