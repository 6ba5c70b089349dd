//! Where the dialogue gets orders and returns: the **order source**, the boundary between kefu
//! and the store's system of record. The order-status and return flows ask an
//! [`OrderSource`] for a shopper's recent orders, one order, several by number, the returns of
//! an order, and to open a return; they never see where the answers come from.
//!
//! - [`embedded`]: today's source, the demo store's orders seeded into kefu's own SQLite
//!   database from `knowledge/demo` (the default).
//! - [`http`]: the store's own API (docs/store-api.yaml, bodies in [`contract`]) behind the
//!   same trait, so the dialogue does not change when a real store is connected: timeouts,
//!   retried reads, an idempotency key on return creation, a circuit breaker ([`breaker`]) and
//!   a short read cache ([`cache`]) that never serves an expired answer.
//!
//! The trait is dyn-compatible (methods return boxed `Send` futures), so the application picks
//! the source at run time and hands the router an `Arc<dyn OrderSource>`.
//!
//! What is *not* here: who may see an order in a chat. That is kefu's own rule (a signed-in
//! shopper's own orders; a guest's after the phone's last four digits), enforced by the
//! dialogue; the count of wrong guesses is kefu's security state, kept in kefu's database
//! whatever the source ([`guesses`]).

use std::future::Future;
use std::pin::Pin;

pub mod breaker;
pub mod cache;
pub mod catalog;
pub mod contract;
pub mod embedded;
pub mod events;
pub mod guesses;
pub mod http;

pub use crate::knowledge::Order;
pub use crate::store::{PhoneCheck, ReturnRequest};
pub use embedded::Embedded;
pub use guesses::PhoneGuesses;
pub use http::Http;

/// The source `config` names (`orders_source`), over kefu's own database for `embedded`.
pub fn from_config(
    config: &crate::config::Config,
    store: crate::store::Backend,
) -> Result<std::sync::Arc<dyn OrderSource>, String> {
    use std::time::Duration;
    Ok(match config.orders_source {
        crate::config::OrderSourceKind::Embedded => std::sync::Arc::new(Embedded::new(store)),
        crate::config::OrderSourceKind::Http => std::sync::Arc::new(
            Http::new(http::Settings {
                base_url: config.orders_url.clone().unwrap_or_default(),
                api_key: config.orders_api_key.clone(),
                timeout: Duration::from_millis(config.orders_timeout_ms),
                retries: config.orders_retries,
                retry_base: Duration::from_millis(config.orders_retry_base_ms),
                cache_ttl: Duration::from_millis(config.orders_cache_ttl_ms),
                breaker_failures: config.orders_breaker_failures,
                breaker_open: Duration::from_millis(config.orders_breaker_open_ms),
            })?
            .with_outbox(store),
        ),
    })
}

/// What an order source's operations return: a boxed future, so the trait can be used as
/// `dyn OrderSource`.
pub type SourceFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, OrderError>> + Send + 'a>>;

/// Why an order source could not answer.
///
/// The dialogue treats [`OrderError::Unavailable`] and [`OrderError::Invalid`] alike for the
/// shopper — it says it cannot check orders right now and offers a person, and never guesses —
/// but they are told apart for logs and for a remote source's retries and circuit breaker:
/// only an unavailable source is worth trying again. [`OrderError::Store`] is kefu's own
/// database failing, which fails the whole turn as any other storage error does (the chat
/// client keeps the message and sends it again).
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// The source cannot be reached or does not answer in time (a network error, a timeout, a
    /// 5xx, an open circuit breaker). Safe to try again later.
    #[error("the order source is unavailable: {0}")]
    Unavailable(String),
    /// The source answered, but with something kefu cannot use (a malformed body, a broken
    /// contract). Trying again would get the same answer.
    #[error("the order source answered something kefu cannot use: {0}")]
    Invalid(String),
    /// kefu's own database failed (the embedded source reads it; the guess count is kept there).
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// An order with the return requests opened for it, oldest first: what an order card and the
/// return eligibility need.
#[derive(Debug, Clone)]
pub struct OrderWithReturns {
    pub order: Order,
    pub returns: Vec<ReturnRequest>,
}

/// A return to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReturn {
    pub order_no: String,
    /// The conversation the shopper confirmed it in.
    pub conversation_id: Option<String>,
    /// Why (`no_reason` for the 7-day no-reason return).
    pub reason: String,
    /// The same key always means the same return: a create repeated after a timeout or a
    /// re-sent confirmation is answered with the return the first one opened, never a second.
    pub idempotency_key: String,
}

/// What opening a return did. The store is the system of record: the id is the store's.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    /// Opened by this request, or by an earlier one with the same idempotency key.
    Opened(ReturnRequest),
    /// The order already had a return opened by another request (another conversation
    /// confirmed first): nothing was opened.
    Exists(ReturnRequest),
}

/// The store's orders and returns, as the dialogue asks for them.
///
/// Orders are looked up by number without regard to whose they are: the dialogue decides who
/// may see an order (another shopper's order must look exactly like a missing one), so a
/// source must not answer differently for the two.
pub trait OrderSource: Send + Sync {
    /// A short name for logs (`embedded`, `http`).
    fn name(&self) -> &'static str;

    /// One order, `None` when there is no such order.
    fn order<'a>(&'a self, order_no: &'a str) -> SourceFuture<'a, Option<Order>>;

    /// The orders with these numbers that exist, newest first.
    fn orders<'a>(&'a self, order_nos: &'a [String]) -> SourceFuture<'a, Vec<Order>>;

    /// A shopper's newest `limit` orders, newest first, each with its returns.
    fn recent_orders<'a>(
        &'a self,
        shopper_id: &'a str,
        limit: usize,
    ) -> SourceFuture<'a, Vec<OrderWithReturns>>;

    /// The return requests of an order, oldest first.
    fn returns_for<'a>(&'a self, order_no: &'a str) -> SourceFuture<'a, Vec<ReturnRequest>>;

    /// Opens a return: at most one per order, and one per idempotency key (see [`Created`]).
    fn create_return(&self, request: NewReturn) -> SourceFuture<'_, Created>;

    /// The store said this order changed (an inbound event): the embedded source applies the
    /// change to its rows ([`events::apply`]); a remote one forgets what it cached about the
    /// order, so the next question asks the store. False when the source has no such order.
    /// By default nothing is kept, so there is nothing to do.
    fn updated<'a>(&'a self, _update: &'a events::OrderUpdate) -> SourceFuture<'a, bool> {
        Box::pin(async { Ok(true) })
    }

    /// Products and stock changed since `since` (the previous answer's `as_of`; `None`:
    /// everything), for catalog sync. `Ok(None)`: this source has no catalog of its own (the
    /// embedded source: knowledge/catalog is the catalog).
    fn catalog_changes<'a>(
        &'a self,
        _since: Option<&'a str>,
    ) -> SourceFuture<'a, Option<contract::CatalogChanges>> {
        Box::pin(async { Ok(None) })
    }
}
