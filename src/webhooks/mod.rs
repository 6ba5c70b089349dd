//! Signed webhooks. Outbound: events (a conversation escalated, assigned, resolved; a ticket
//! created; a return requested; a feedback record written) are written to the store's outbox in
//! the same transaction as the change they describe (`store::webhooks`); the delivery worker
//! here sends each one to every configured endpoint that wants it, signed, retried with backoff
//! across restarts, and never again once the endpoint acknowledged it. The signing scheme
//! (`signature`) is the one inbound events from a store use too.
//!
//! By job: `signature.rs` (sign and verify, the replay window: pure), `policy.rs` (retry or give
//! up: pure), `client.rs` (one POST), `worker.rs` (the task that drives them over the store).

pub mod client;
pub mod policy;
pub mod signature;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::config::Config;
use crate::store::webhooks::EndpointSpec;
pub use crate::store::webhooks::{
    Assigned, DeliveryQuery, DeliveryRow, DeliveryStatus, EndpointCounts, Escalated, Event, EventData,
    EventKind, Replay, Resolved, TicketAnswered, TicketCreated,
};
use crate::store::{Backend, StoreError, WebhookStore};
pub use policy::RetryPolicy;

/// A configured endpoint, checked.
#[derive(Clone)]
pub struct Endpoint {
    pub url: String,
    pub uri: hyper::Uri,
    secret: String,
    /// The kinds it wants; empty: all.
    pub kinds: Vec<EventKind>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint").field("url", &self.url).field("kinds", &self.kinds).finish_non_exhaustive()
    }
}

impl Endpoint {
    pub fn spec(&self) -> EndpointSpec {
        EndpointSpec { url: self.url.clone(), kinds: self.kinds.clone() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook {url:?}: {message}")]
    Endpoint { url: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the worker needs from the config.
#[derive(Debug, Clone)]
pub struct Settings {
    pub endpoints: Vec<Endpoint>,
    pub timeout: Duration,
    pub policy: RetryPolicy,
}

impl Settings {
    /// The endpoints and retry rules of the config; an unknown event name or a URL that does
    /// not parse is an error.
    pub fn from_config(config: &Config) -> Result<Settings, WebhookError> {
        let endpoints = config
            .webhooks
            .iter()
            .map(|w| {
                let err = |message: String| WebhookError::Endpoint { url: w.url.clone(), message };
                let uri: hyper::Uri = w.url.parse().map_err(|e| err(format!("not a URL: {e}")))?;
                if uri.scheme_str() != Some("http") || uri.host().is_none() {
                    return Err(err("only http://host… URLs are supported".into()));
                }
                let kinds = w
                    .events
                    .iter()
                    .map(|e| {
                        EventKind::parse(e).ok_or_else(|| {
                            let known: Vec<_> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
                            err(format!("unknown event {e:?} (known: {})", known.join(", ")))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Endpoint { url: w.url.clone(), uri, secret: w.secret.clone(), kinds })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Settings {
            endpoints,
            timeout: Duration::from_secs(config.webhook_timeout_secs.max(1)),
            policy: RetryPolicy {
                base: Duration::from_millis(config.webhook_retry_base_ms.max(1)),
                max_delay: Duration::from_secs(config.webhook_retry_max_secs.max(1)),
                max_attempts: config.webhook_max_attempts.max(1),
                max_age: Duration::from_secs(config.webhook_max_age_secs.max(1)),
            },
        })
    }
}

/// The handle the admin API uses: the endpoints, the log, and waking the worker after a replay.
#[derive(Clone)]
pub struct Webhooks {
    store: Backend,
    endpoints: Arc<Vec<Endpoint>>,
    wake: Arc<Notify>,
}

impl Webhooks {
    /// Registers the endpoints (each receives the events written from now on) and starts the
    /// delivery worker on the runtime. Deliveries left pending by an earlier run go out at once.
    pub async fn start(store: Backend, settings: Settings) -> Result<Webhooks, WebhookError> {
        store.webhook_fan_out(settings.endpoints.iter().map(Endpoint::spec).collect()).await?;
        let wake = Arc::new(Notify::new());
        let endpoints = Arc::new(settings.endpoints.clone());
        tokio::spawn(worker::run(store.clone(), settings, wake.clone()));
        Ok(Webhooks { store, endpoints, wake })
    }

    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    pub async fn counts(&self) -> Result<Vec<(String, EndpointCounts)>, StoreError> {
        self.store.webhook_endpoint_counts().await
    }

    pub async fn deliveries(&self, q: DeliveryQuery) -> Result<Vec<DeliveryRow>, StoreError> {
        self.store.webhook_deliveries(q).await
    }

    /// Queues a delivery again (unless the endpoint acknowledged it) and wakes the worker.
    pub async fn replay(&self, id: i64) -> Result<Replay, StoreError> {
        let r = self.store.webhook_replay(id).await?;
        if matches!(r, Replay::Queued(_)) {
            self.wake.notify_one();
        }
        Ok(r)
    }
}
