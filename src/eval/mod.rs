//! Measuring the engines on held-out data: FAQ retrieval ([`faq`]).

pub mod faq;
