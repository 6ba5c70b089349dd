//! Intent classification: what the shopper wants (order status, a return, a product question …)
//! and when the bot does not know (out of scope).
//!
//! - [`labels`]: the store's intent names;
//! - [`data`]: labelled examples from TOML, JSONL or CSV;
//! - [`tokenizer`]: the `tokenizers` pipeline trained from the corpus;
//! - [`features`]: token, token-pair and character n-gram features;
//! - [`model`]: the candle model, prediction, saving and loading;
//! - [`train`]: deterministic training and the out-of-scope threshold.
//!
//! Knows nothing about the chat server or the database.

pub mod data;
pub mod features;
pub mod labels;
pub mod model;
pub mod tokenizer;
pub mod train;

pub use model::{IntentModel, Prediction};

/// Errors of the intent engine.
#[derive(Debug, thiserror::Error)]
pub enum IntentError {
    #[error("model files: {0}")]
    Files(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("training data: {0}")]
    Data(String),
    #[error("training was cancelled")]
    Cancelled,
    #[error("tensor computation: {0}")]
    Candle(#[from] candle_core::Error),
}
