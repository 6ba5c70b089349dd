//! The shopper chat: the wire protocol ([`protocol`]) and one session per WebSocket
//! ([`session`]). The only place that knows the JSON frames.

pub mod protocol;
pub mod rates;
pub mod session;
