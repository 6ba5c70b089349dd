//! AI trainers' tools: the live, revisioned knowledge base ([`curator`]), whether an FAQ entry's two
//! answers were edited together ([`answer_sync`]), and trying a question on the FAQ search and
//! two intent models side by side ([`try_it`]).

pub mod answer_sync;
pub mod curator;
pub mod try_it;

pub use answer_sync::{answer_sync, AnswerSync};
pub use curator::{CurateError, Curator, Kind};
