//! kefu (客服): a self-hosted, bilingual (Chinese/English) intelligent customer-service chat
//! service for online stores.
//!
//! The parts (ARCHITECTURE.md has the whole picture):
//! - [`knowledge`]: the store's knowledge base under `knowledge/` (FAQ entries, product
//!   catalog, demo shoppers and orders), parsed and validated with file:line diagnostics;
//! - [`search`]: tantivy indexes over FAQ entries and products with bilingual analysis and an
//!   answer / suggest / no-match decision;
//! - [`intent`]: the candle intent classifier (tokenizer, features, model, training);
//! - [`models`]: model versions on disk, background retraining, activation and rollback;
//! - [`dialogue`]: the router that turns a shopper message into the bot's reply and flows;
//! - [`orders`]: the order source the flows read orders and returns from (kefu's demo data,
//!   or a store's own system), and the lockout on guests' phone-digit guesses;
//! - [`chat`]: the shopper WebSocket protocol and sessions; [`web`]: the HTTP side;
//! - [`agents`]: human agents: queue, assignment, the service desk and agent sessions;
//! - [`analytics`]: for trainers: the review queue of unresolved questions, daily/weekly numbers;
//! - [`store`]: SQLite behind one thread, with group commit;
//! - [`identity`] and [`accounts`]: shopper and staff tokens, staff accounts and login;
//! - [`images`]: the photos shoppers send: the kinds taken, told from their bytes;
//! - [`trainer`]: the knowledge base as trainers edit it while the service runs;
//! - [`webhooks`]: signed event deliveries to the store's systems (outbox worker, signing);
//! - [`eval`]: held-out measurements; [`lang`]: language detection and normalisation.

pub mod accounts;
pub mod agents;
pub mod analytics;
pub mod app;
pub mod catalog_sync;
pub mod chat;
pub mod cluster;
pub mod config;
pub mod diagnostic;
pub mod dialogue;
pub mod eval;
pub mod identity;
pub mod images;
pub mod intent;
pub mod knowledge;
pub mod knowledge_sync;
pub mod lang;
pub mod metrics;
pub mod models;
pub mod orders;
pub mod privacy;
pub mod records;
pub mod search;
pub mod socket;
pub mod store;
pub mod time;
pub mod trainer;
pub mod web;
pub mod webhooks;
