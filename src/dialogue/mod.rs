//! The dialogue router: every shopper message goes through the intent classifier and the FAQ
//! search, then exactly one decision: a flow (order status, returns, products), an FAQ answer,
//! a greeting, a clarifying question, or a hand-over to a human.
//!
//! Flows that ask something (which order? last four digits of the phone? confirm the return?)
//! leave a [`Pending`] question in the [`DialogueState`], answered by the next message.
//! This module knows nothing about WebSockets: the chat layer calls [`Router::handle`].

pub mod engines;
pub mod notices;
pub mod orders;
pub mod policy;
pub mod products;
pub mod reference;
pub mod reply;
pub mod returns;
pub mod router;
pub mod state;
pub mod texts;
pub mod turn;

#[cfg(test)]
mod tests;

pub use crate::records::{Page, ReplyDecision};
pub use engines::Engines;
pub use reply::{BotReply, Card, CardAction, Outcome};
pub use router::{Router, AGREEMENT_CONFIDENCE, ESCALATE_CONFIDENCE};
pub use state::{DialogueState, Focus, Listed, Pending, Picked, ProductFocus, Purpose};
pub use turn::Turn;
