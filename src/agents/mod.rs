//! Human agents: the waiting queue and assignment rules ([`queue`]), the service desk task that owns who has which conversation ([`desk`]), and the
//! agent WebSocket: its frames ([`protocol`]) and one connection ([`session`]).

pub mod desk;
pub mod protocol;
pub mod queue;
pub mod session;

pub use desk::{Availability, Desk, DeskConfig, Escalation, ShopperEvent, ShopperLink};
