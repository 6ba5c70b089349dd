//! The `http` order source: the store's own system of record, called over its API
//! (docs/store-api.yaml, bodies in [`super::contract`]).
//!
//! Failure is designed in, because a shopper is waiting on every call:
//! - every call has a **timeout** (connect, send, the whole body);
//! - only the reads (GET) are **retried**, with exponential backoff and jitter; creating a
//!   return is not, and carries an **idempotency key**, so the shopper confirming again after a
//!   timeout gets the return the first request opened, never a second one;
//! - a **circuit breaker** ([`super::breaker`]) stops calling a store that keeps failing, so
//!   turns answer "can't check right now" at once instead of after a timeout each;
//! - reads are **cached** briefly ([`super::cache`]); an expired entry is never used, so while
//!   the store is down the answer is [`OrderError::Unavailable`], never a stale status shown
//!   as current. Inbound events from the store invalidate entries at once ([`Http::forget`]).
//!
//! What the store answered maps to: 2xx → the body, 404 → none, 5xx / 429 / no answer →
//! `Unavailable` (counted by the breaker, retried for reads), any other status or a body that
//! does not parse → `Invalid` (the store is up but says something kefu cannot use).

use crate::store::prelude::*;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use hyper::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;

use super::breaker::{Breaker, State};
use super::cache::Cache;
use super::contract::{self, ReturnAnswer, ReturnCreate, Returns, ShopperOrders};
use super::{
    Created, NewReturn, Order, OrderError, OrderSource, OrderWithReturns, ReturnRequest, SourceFuture,
};

/// Largest answer body read from the store (a shopper's recent orders fit many times over).
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Most entries per cache.
const CACHE_CAPACITY: usize = 10_000;

/// How to reach the store and how patient to be with it (from `kefu.toml`'s `orders_*`).
#[derive(Clone)]
pub struct Settings {
    /// The API's base URL, e.g. `http://127.0.0.1:9000/api/v1` (no trailing slash needed).
    pub base_url: String,
    /// Sent as `Authorization: Bearer …` when given.
    pub api_key: Option<String>,
    /// One attempt's limit: connect, send, status and the whole body.
    pub timeout: Duration,
    /// Extra attempts for a read that found the store unavailable.
    pub retries: u32,
    /// The first retry's delay; each further one doubles (plus up to 50 % jitter).
    pub retry_base: Duration,
    /// How long a read answer is reused (zero: never).
    pub cache_ttl: Duration,
    /// Failures in a row that open the breaker.
    pub breaker_failures: u32,
    /// How long an open breaker refuses calls before one probe.
    pub breaker_open: Duration,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("retry_base", &self.retry_base)
            .field("cache_ttl", &self.cache_ttl)
            .field("breaker_failures", &self.breaker_failures)
            .field("breaker_open", &self.breaker_open)
            .finish()
    }
}

/// One attempt's result, before it is judged.
enum Answer {
    /// The store answered with a status and a body.
    Status(StatusCode, Bytes),
    /// No answer (connection refused or reset, timeout).
    Nothing(String),
}

/// The store's API as an [`OrderSource`].
pub struct Http {
    client: Client<HttpConnector, Body>,
    base: String,
    authorization: Option<HeaderValue>,
    settings: Settings,
    breaker: Mutex<Breaker>,
    orders: Mutex<Cache<Option<Order>>>,
    recent: Mutex<Cache<Vec<OrderWithReturns>>>,
    returns: Mutex<Cache<Vec<ReturnRequest>>>,
    /// kefu's database, for the outbound webhook of a return opened in the store.
    outbox: Option<crate::store::Backend>,
}

impl Http {
    /// Checks the base URL (plain `http://`; for https, a local TLS-terminating proxy) and the key.
    pub fn new(settings: Settings) -> Result<Http, String> {
        let base = settings.base_url.trim_end_matches('/').to_string();
        let uri: Uri = base.parse().map_err(|e| format!("orders_url {base:?}: {e}"))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(format!(
                "orders_url {base:?}: only http://host… is supported (for https, call through a local TLS proxy)"
            ));
        }
        let authorization = match &settings.api_key {
            Some(k) => Some(
                HeaderValue::from_str(&format!("Bearer {k}"))
                    .map_err(|_| "orders_api_key: not a header value")?,
            ),
            None => None,
        };
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(settings.timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(32)
            .build(connector);
        let ttl = settings.cache_ttl;
        Ok(Http {
            client,
            base,
            authorization,
            breaker: Mutex::new(Breaker::new(settings.breaker_failures, settings.breaker_open)),
            orders: Mutex::new(Cache::new(ttl, CACHE_CAPACITY)),
            recent: Mutex::new(Cache::new(ttl, CACHE_CAPACITY)),
            returns: Mutex::new(Cache::new(ttl, CACHE_CAPACITY)),
            settings,
            outbox: None,
        })
    }

    /// Records `return.requested` (an outbound webhook) in kefu's database for each return
    /// opened in the store.
    pub fn with_outbox(mut self, store: crate::store::Backend) -> Http {
        self.outbox = Some(store);
        self
    }

    /// The breaker's state now (for tests and logs).
    pub fn breaker_state(&self) -> State {
        lock(&self.breaker).state()
    }

    /// Forgets what is cached about an order (the store said it changed): its own entry, its
    /// returns, and every shopper's list (which of them holds it is not worth tracking for a
    /// cache this short).
    pub fn forget(&self, order_no: &str) {
        lock(&self.orders).remove(order_no);
        lock(&self.returns).remove(order_no);
        lock(&self.recent).clear();
    }

    /// One exchange with the store, within the timeout.
    async fn attempt(&self, method: Method, path: &str, key: Option<&str>, body: Option<Vec<u8>>) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, concat!("kefu/", env!("CARGO_PKG_VERSION")));
        if let Some(a) = &self.authorization {
            request = request.header(AUTHORIZATION, a.clone());
        }
        if let Some(k) = key {
            request = request.header(contract::IDEMPOTENCY_HEADER, k);
        }
        let request = match body {
            Some(b) => request.header(CONTENT_TYPE, "application/json").body(Body::from(b)),
            None => request.body(Body::empty()),
        };
        let request = match request {
            Ok(r) => r,
            Err(e) => return Answer::Nothing(format!("bad request: {e}")),
        };
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| describe(&e))?;
            let status = response.status();
            let body = axum::body::to_bytes(Body::new(response.into_body()), MAX_BODY_BYTES)
                .await
                .map_err(|e| format!("reading the body: {e}"))?;
            Ok::<_, String>((status, body))
        };
        match tokio::time::timeout(self.settings.timeout, exchange).await {
            Err(_) => Answer::Nothing(format!("no answer within {} ms", self.settings.timeout.as_millis())),
            Ok(Err(e)) => Answer::Nothing(e),
            Ok(Ok((status, body))) => Answer::Status(status, body),
        }
    }

    /// One call through the breaker: `Err(Unavailable)` when the breaker refuses it or the
    /// store did not answer usefully (5xx, 429, nothing), else the status and body.
    async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Bytes), OrderError> {
        if !lock(&self.breaker).admit(Instant::now()) {
            return Err(OrderError::Unavailable("circuit breaker open".into()));
        }
        let mut guard = Admitted { breaker: &self.breaker, settled: false };
        let answer = self.attempt(method.clone(), path, key, body).await;
        let failure = match answer {
            Answer::Status(s, _) if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => {
                format!("{method} {path}: {s}")
            }
            Answer::Status(s, b) => {
                guard.settle(None);
                return Ok((s, b));
            }
            Answer::Nothing(e) => format!("{method} {path}: {e}"),
        };
        guard.settle(Some(Instant::now()));
        tracing::warn!(store = %self.base, "order source: {failure}");
        Err(OrderError::Unavailable(failure))
    }

    /// A read: retried with backoff while the store is unavailable (never once the breaker is
    /// open), 404 → `None`, 2xx → the parsed body.
    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, OrderError> {
        let mut delay = self.settings.retry_base;
        let mut tries = 0;
        loop {
            match self.call(Method::GET, path, None, None).await {
                Ok((s, _)) if s == StatusCode::NOT_FOUND => return Ok(None),
                Ok((s, b)) if s.is_success() => return parse(path, &b).map(Some),
                Ok((s, b)) => return Err(refused(path, s, &b)),
                Err(e) if tries >= self.settings.retries || self.breaker_state_is_open() => return Err(e),
                Err(_) => {
                    tries += 1;
                    tokio::time::sleep(jitter(delay)).await;
                    delay = delay.saturating_mul(2);
                }
            }
        }
    }

    fn breaker_state_is_open(&self) -> bool {
        matches!(self.breaker_state(), State::Open { .. })
    }

    async fn fetch_order(&self, order_no: &str) -> Result<Option<Order>, OrderError> {
        if let Some(o) = lock(&self.orders).fresh(order_no, Instant::now()) {
            return Ok(o);
        }
        let order: Option<Order> = self.get(&format!("/orders/{}", segment(order_no))).await?;
        if order.as_ref().is_some_and(|o| o.order_no != order_no) {
            return Err(OrderError::Invalid(format!("asked for order {order_no}, got another")));
        }
        lock(&self.orders).put(order_no.to_string(), order.clone(), Instant::now());
        Ok(order)
    }
}

/// Settles an admitted call with the breaker; a call dropped before it settled (the turn was
/// cancelled) tells the breaker so, and a half-open breaker may probe again.
struct Admitted<'a> {
    breaker: &'a Mutex<Breaker>,
    settled: bool,
}

impl Admitted<'_> {
    /// `Some(now)`: the store was unavailable; `None`: it answered.
    fn settle(&mut self, failed_at: Option<Instant>) {
        let mut b = lock(self.breaker);
        match failed_at {
            Some(now) => b.failure(now),
            None => b.success(),
        }
        self.settled = true;
    }
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        if !self.settled {
            lock(self.breaker).abandoned();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // the guarded values are plain maps and a state machine: a panic elsewhere leaves them usable
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn parse<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, OrderError> {
    serde_json::from_slice(body).map_err(|e| OrderError::Invalid(format!("{path}: {e}")))
}

fn refused(path: &str, status: StatusCode, body: &[u8]) -> OrderError {
    let detail = serde_json::from_slice::<contract::Problem>(body).map(|p| p.error).unwrap_or_default();
    OrderError::Invalid(format!("{path}: the store answered {status} {detail}"))
}

/// Up to 50 % more than `d`, so retries from many turns do not arrive in step.
fn jitter(d: Duration) -> Duration {
    use rand::Rng;
    d + d.mul_f64(rand::rng().random_range(0.0..0.5))
}

/// A path segment: unreserved characters as they are, everything else percent-encoded.
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The client error with its causes (hyper-util's own text says little).
fn describe(e: &hyper_util::client::legacy::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl OrderSource for Http {
    fn name(&self) -> &'static str {
        "http"
    }

    fn order<'a>(&'a self, order_no: &'a str) -> SourceFuture<'a, Option<Order>> {
        Box::pin(self.fetch_order(order_no))
    }

    fn orders<'a>(&'a self, order_nos: &'a [String]) -> SourceFuture<'a, Vec<Order>> {
        Box::pin(async move {
            let mut found = Vec::new();
            for no in order_nos {
                if let Some(o) = self.fetch_order(no).await? {
                    found.push(o);
                }
            }
            found.sort_by(|a, b| b.created_at.cmp(&a.created_at));
            Ok(found)
        })
    }

    fn recent_orders<'a>(
        &'a self,
        shopper_id: &'a str,
        limit: usize,
    ) -> SourceFuture<'a, Vec<OrderWithReturns>> {
        Box::pin(async move {
            let key = format!("{shopper_id}\n{limit}");
            if let Some(list) = lock(&self.recent).fresh(&key, Instant::now()) {
                return Ok(list);
            }
            let path = format!("/shoppers/{}/orders?limit={limit}", segment(shopper_id));
            let list: Vec<OrderWithReturns> = match self.get::<ShopperOrders>(&path).await? {
                Some(l) => l
                    .orders
                    .into_iter()
                    .filter(|e| e.order.shopper_id == shopper_id)
                    .take(limit)
                    .map(|e| OrderWithReturns {
                        order: e.order,
                        returns: e.returns.into_iter().map(ReturnRequest::from).collect(),
                    })
                    .collect(),
                // a shopper the store does not know has no orders
                None => Vec::new(),
            };
            lock(&self.recent).put(key, list.clone(), Instant::now());
            Ok(list)
        })
    }

    /// A read like the others (retried, through the breaker), never cached.
    fn catalog_changes<'a>(
        &'a self,
        since: Option<&'a str>,
    ) -> SourceFuture<'a, Option<contract::CatalogChanges>> {
        Box::pin(async move {
            let path = match since {
                Some(t) => format!("/catalog/changes?since={}", segment(t)),
                None => "/catalog/changes".to_string(),
            };
            let changes = self.get::<contract::CatalogChanges>(&path).await?;
            changes.map(Some).ok_or_else(|| OrderError::Invalid(format!("{path}: 404")))
        })
    }

    fn updated<'a>(&'a self, update: &'a super::events::OrderUpdate) -> SourceFuture<'a, bool> {
        self.forget(&update.order_no);
        Box::pin(async { Ok(true) })
    }

    fn returns_for<'a>(&'a self, order_no: &'a str) -> SourceFuture<'a, Vec<ReturnRequest>> {
        Box::pin(async move {
            if let Some(r) = lock(&self.returns).fresh(order_no, Instant::now()) {
                return Ok(r);
            }
            let path = format!("/orders/{}/returns", segment(order_no));
            let returns: Vec<ReturnRequest> = self
                .get::<Returns>(&path)
                .await?
                .map(|r| r.returns.into_iter().map(ReturnRequest::from).collect())
                .unwrap_or_default();
            lock(&self.returns).put(order_no.to_string(), returns.clone(), Instant::now());
            Ok(returns)
        })
    }

    /// Not retried here: a create that timed out may have opened the return. The shopper's next
    /// confirmation sends the same idempotency key, and the store answers with that return.
    fn create_return(&self, r: NewReturn) -> SourceFuture<'_, Created> {
        Box::pin(async move {
            let path = format!("/orders/{}/returns", segment(&r.order_no));
            let body =
                serde_json::to_vec(&ReturnCreate { reason: r.reason, conversation_id: r.conversation_id })
                    .map_err(|e| OrderError::Invalid(e.to_string()))?;
            let (status, bytes) =
                self.call(Method::POST, &path, Some(&r.idempotency_key), Some(body)).await?;
            self.forget(&r.order_no);
            let answer =
                |b: &[u8]| parse::<ReturnAnswer>(&path, b).map(|a| ReturnRequest::from(a.return_request));
            match status {
                StatusCode::CREATED | StatusCode::OK => {
                    let opened = answer(&bytes)?;
                    // the outbound webhook `return.requested`, once per store return (a 200
                    // repeats a 201 kefu may never have heard); not recorded: logged, the return
                    // stands
                    if let Some(outbox) = &self.outbox {
                        if let Err(e) = outbox.return_requested(opened.clone()).await {
                            tracing::error!(return_id = %opened.id, "return.requested not recorded: {e}");
                        }
                    }
                    Ok(Created::Opened(opened))
                }
                StatusCode::CONFLICT => Ok(Created::Exists(answer(&bytes)?)),
                s => Err(refused(&path, s, &bytes)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(segment("S1005"), "S1005");
        assert_eq!(segment("a/b c?"), "a%2Fb%20c%3F");
        assert_eq!(segment("张"), "%E5%BC%A0");
    }

    #[test]
    fn only_plain_http_urls_are_accepted() {
        let settings = |url: &str| Settings {
            base_url: url.into(),
            api_key: Some("k".into()),
            timeout: Duration::from_secs(1),
            retries: 1,
            retry_base: Duration::from_millis(10),
            cache_ttl: Duration::from_secs(1),
            breaker_failures: 3,
            breaker_open: Duration::from_secs(5),
        };
        assert!(Http::new(settings("http://127.0.0.1:9000/api/v1/")).is_ok());
        assert!(Http::new(settings("https://store.example/api")).is_err());
        assert!(Http::new(settings("store.example")).is_err());
        assert!(!format!("{:?}", settings("http://x")).contains("\"k\""));
    }
}
