//! Search over the knowledge base with tantivy: FAQ entries ([`faq_index`]) and products
//! ([`product_index`]), both analysed for Chinese and English at once ([`analyzer`]).
//!
//! This module knows nothing about WebSockets, the database or the dialogue: it takes text and
//! returns scored hits and a decision.

pub mod analyzer;
pub mod decision;
pub mod faq_index;
pub mod product_index;
pub mod text_index;

pub use decision::{Decision, Thresholds};
pub use faq_index::{FaqHit, FaqIndex, FaqResult};
pub use product_index::{ProductHit, ProductIndex};

/// Errors of the search engines.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("the question is empty")]
    EmptyQuery,
    #[error("the question is too long ({chars} characters, at most {max})")]
    QueryTooLong { chars: usize, max: usize },
    #[error("search index error: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("bad thresholds file {path}: {message}")]
    Thresholds { path: String, message: String },
}
