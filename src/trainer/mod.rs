//! AI trainers' tools: the live, revisioned knowledge base ([`kb`]).

pub mod kb;

pub use kb::{CurateError, Curator, Kind};
