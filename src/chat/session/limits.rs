//! The limits a shopper session keeps to: message length, and the per-minute token buckets of
//! this connection and of all the client's connections (`chat::rates`), with refunds.

use std::time::Instant;

use super::Session;
use crate::chat::rates::Limited;

impl Session {
    /// Why a text is over the message length limit, if it is.
    pub(super) fn too_long(&self, text: &str) -> Option<String> {
        let max = self.svc.settings.max_message_chars;
        let chars = text.chars().count();
        (chars > max).then(|| format!("message is {chars} characters, at most {max}"))
    }

    /// Gives back a token taken for a message that turned out not to be new.
    pub(super) fn refund(&mut self, taken: bool) {
        if taken {
            self.tokens += 1.0;
            self.svc.rates.message_refund(self.client, self.shopper());
        }
    }

    pub(super) fn shopper(&self) -> Option<&str> {
        self.live.as_ref().and_then(|l| l.conv.shopper_id.as_deref())
    }

    /// Whether a new conversation now would be over the address's or the shopper's limit.
    pub(super) fn conversation_limited(&self, shopper: Option<&str>) -> bool {
        match self.svc.rates.new_conversation(self.client, shopper) {
            Ok(()) => false,
            Err(limit) => {
                self.count_limited("conversation", limit);
                true
            }
        }
    }

    pub(super) fn count_limited(&self, what: &str, limit: Limited) {
        let limit = limit.as_str();
        self.svc.metrics.limited.with_label_values(&[what, limit]).inc();
        tracing::debug!(client = %self.client, what, limit, "rate limited");
    }

    /// Takes a token from this connection's bucket and from the limits it shares with the
    /// client's other connections.
    pub(super) fn take_token(&mut self) -> bool {
        let rate = self.svc.settings.messages_per_minute as f64;
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.refilled).as_secs_f64() * rate / 60.0).min(rate);
        self.refilled = now;
        if self.tokens < 1.0 {
            return false;
        }
        if let Err(limit) = self.svc.rates.message(self.client, self.shopper()) {
            self.count_limited("message", limit);
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}
