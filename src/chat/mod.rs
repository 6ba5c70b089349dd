//! The shopper chat: the wire protocol ([`protocol`]) and one session per WebSocket
//! ([`session`]), with the limits shared by all of a client's connections ([`rates`]). The only
//! place that knows the JSON frames.

pub mod live;
pub mod live_sync;
pub mod protocol;
pub mod rates;
pub mod rates_sync;
pub mod session;

use std::sync::Arc;

use crate::agents::Desk;
use crate::config::Config;
use crate::dialogue::Router;
use crate::metrics::Metrics;

/// What a shopper session needs from the service: a narrow handle, not the whole application.
pub struct ChatService {
    /// kefu's database: the conversation, its messages, dialogue state and feedback record.
    pub store: crate::store::Backend,
    /// The dialogue router (engines, order source, clock).
    pub router: Router,
    /// The service desk, for escalations and conversations with agents.
    pub desk: Desk,
    pub metrics: Arc<Metrics>,
    /// New conversations and messages per minute, per client address and per shopper (shared
    /// with the other nodes of a cluster by `rates_sync`).
    pub rates: Arc<rates::Rates>,
    /// The live sessions by conversation, for order updates announced by the store.
    pub live: Arc<live::LiveSessions>,
    pub settings: ChatSettings,
}

/// The settings a shopper session keeps to (see `Config` for each).
#[derive(Clone)]
pub struct ChatSettings {
    pub token_secret: Option<String>,
    pub shopper_token_max_secs: i64,
    pub max_message_chars: usize,
    pub messages_per_minute: u32,
    pub idle_timeout_secs: u64,
    pub send_timeout_secs: u64,
    pub hello_timeout_secs: u64,
    /// The store's timezone, told to the widget in `welcome`.
    pub timezone: String,
    /// The same as an offset (validated with the config; UTC if it were not one), for the times
    /// the bot says.
    pub offset: chrono::FixedOffset,
}

impl From<&Config> for ChatSettings {
    fn from(c: &Config) -> ChatSettings {
        ChatSettings {
            token_secret: c.token_secret.clone(),
            shopper_token_max_secs: c.shopper_token_max_secs,
            max_message_chars: c.max_message_chars,
            messages_per_minute: c.messages_per_minute,
            idle_timeout_secs: c.idle_timeout_secs,
            send_timeout_secs: c.send_timeout_secs,
            hello_timeout_secs: c.hello_timeout_secs,
            timezone: c.business_timezone.clone(),
            offset: crate::time::parse_offset(&c.business_timezone)
                .unwrap_or(chrono::FixedOffset::east_opt(0).unwrap()),
        }
    }
}
