//! kefu (客服): a self-hosted, bilingual (Chinese/English) intelligent customer-service chat
//! service for online stores.
//!
//! The parts, and how a shopper's question flows through them:
//! - [`knowledge`]: the store's knowledge base under `knowledge/` (FAQ entries, product
//!   catalog, demo shoppers and orders), parsed and validated with file:line diagnostics;
//! - [`search`]: tantivy indexes over FAQ entries and products with bilingual analysis
//!   (jieba words, Chinese characters, stemmed English) and an answer / suggest / no-match decision;
//! - [`intent`]: the store's intent labels (the candle classifier comes next);
//! - [`eval`]: held-out measurements of the engines and the tuning of their thresholds;
//! - [`lang`]: language detection and text normalisation shared by all of them.
//!
//! A question today: text → [`lang::detect`] → [`search::FaqIndex::ask`] → decision and hits →
//! the answer in the question's language. See ARCHITECTURE.md for the parts still to come
//! (dialogue router, chat server, agents, store, trainer API).

pub mod chat;
pub mod config;
pub mod dialogue;
pub mod eval;
pub mod identity;
pub mod intent;
pub mod knowledge;
pub mod lang;
pub mod search;
pub mod store;
pub mod web;
