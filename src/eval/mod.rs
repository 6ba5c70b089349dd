//! Measuring the engines on held-out data: FAQ retrieval ([`faq`]) and intent classification
//! ([`intents`]).

pub mod dialogue;
pub mod faq;
pub mod intents;
pub mod jddc;
pub mod public;
