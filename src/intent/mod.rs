//! Intent classification: what the shopper wants.

pub mod labels;
