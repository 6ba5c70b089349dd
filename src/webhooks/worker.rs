//! The delivery worker: one tokio task that fans new events out to the endpoints, sends what is
//! due (at most [`IN_FLIGHT`] at once), and records each result before deciding anything else
//! about that delivery. All state is in the store, so a restart picks up where it stopped: a
//! delivery in flight when the process died is still pending and is sent again once its lease
//! ends (receivers deduplicate by event id); one recorded as delivered never is.
//!
//! Every node of a cluster runs this worker on the same outbox. What it sends it first claims
//! (`webhook_due` moves the delivery's next attempt to the end of a [`lease`]), so no two nodes
//! send one delivery at once; fanning out creates each delivery once whichever node does it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use super::client::{Outgoing, Poster, Sent};
use super::{Endpoint, Settings};
use crate::store::webhooks::{Attempt, AttemptEnd, DueDelivery};
use crate::store::{Backend, WebhookStore};

/// Deliveries being sent at once, over all endpoints.
pub const IN_FLIGHT: usize = 32;
/// How often the worker looks for new events and due retries when nothing woke it.
const POLL: Duration = Duration::from_millis(200);
/// After a store error, wait this long before trying again.
const STORE_BACKOFF: Duration = Duration::from_secs(1);
/// Events (and their log) are kept this long once nothing is pending for them.
const RETENTION: chrono::Duration = chrono::Duration::days(7);
/// Added to a claim's lease beyond the send itself (see [`lease`]).
const LEASE_MARGIN: Duration = Duration::from_secs(30);
/// How often old events are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Runs until the runtime stops.
pub async fn run(store: Backend, settings: Settings, wake: Arc<Notify>) {
    let poster = Poster::new(settings.timeout);
    let endpoints: HashMap<String, Endpoint> =
        settings.endpoints.iter().map(|e| (e.url.clone(), e.clone())).collect();
    let specs: Vec<_> = settings.endpoints.iter().map(Endpoint::spec).collect();
    let mut fanned_to = -1i64;
    let mut in_flight: HashSet<i64> = HashSet::new();
    let mut sends: JoinSet<(DueDelivery, Sent)> = JoinSet::new();
    let urls: Vec<String> = settings.endpoints.iter().map(|e| e.url.clone()).collect();
    let mut last_prune: Option<tokio::time::Instant> = None;
    let lease_ms = lease(settings.timeout).as_millis() as i64;
    loop {
        let step = async {
            if last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
                let before =
                    (chrono::Utc::now() - RETENTION).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                let pruned = store.webhook_prune(before).await?;
                if pruned > 0 {
                    tracing::info!(pruned, "old webhook events pruned");
                }
                last_prune = Some(tokio::time::Instant::now());
            }
            if !specs.is_empty() {
                let head = store.webhook_head().await?;
                if head > fanned_to {
                    store.webhook_fan_out(specs.clone()).await?;
                    fanned_to = head;
                }
            }
            if !urls.is_empty() && in_flight.len() < IN_FLIGHT {
                // claimed: no other node sends these while the lease holds (ask for no more
                // than can be sent now, or the rest would wait out a lease unsent)
                let free = IN_FLIGHT - in_flight.len();
                let due = store.webhook_due(urls.clone(), now_ms(), lease_ms, free).await?;
                let fresh: Vec<_> = due.into_iter().filter(|d| !in_flight.contains(&d.id)).collect();
                for d in fresh {
                    let Some(endpoint) = endpoints.get(&d.endpoint).cloned() else {
                        // an endpoint no longer configured: its deliveries wait until it is again
                        continue;
                    };
                    in_flight.insert(d.id);
                    let poster = poster.clone();
                    sends.spawn(async move {
                        let out = Outgoing {
                            uri: &endpoint.uri,
                            secret: endpoint.secret.as_bytes(),
                            event_id: &d.event_id,
                            kind: &d.kind,
                            body: &d.body,
                        };
                        let sent = poster.post(out, chrono::Utc::now().timestamp()).await;
                        (d, sent)
                    });
                }
            }
            Ok::<(), crate::store::StoreError>(())
        };
        if let Err(e) = step.await {
            tracing::warn!(error = %e, "webhook worker: store error; trying again shortly");
            tokio::time::sleep(STORE_BACKOFF).await;
            continue;
        }
        tokio::select! {
            Some(first) = sends.join_next(), if !sends.is_empty() => {
                let mut done = vec![first];
                while let Some(more) = sends.try_join_next() {
                    done.push(more);
                }
                let attempts: Vec<Attempt> = done
                    .into_iter()
                    .filter_map(|r| r.map_err(|e| tracing::error!(error = %e, "a webhook send panicked")).ok())
                    .map(|(d, sent)| {
                        in_flight.remove(&d.id);
                        decide(&settings, &d, sent)
                    })
                    .collect();
                // a failed write leaves them pending: they are sent again (the receiver dedups)
                if let Err(e) = store.webhook_attempted(attempts).await {
                    tracing::warn!(error = %e, "webhook worker: recording attempts failed");
                }
            }
            _ = wake.notified() => {}
            // with no endpoint there is nothing to look for but the hourly pruning
            _ = tokio::time::sleep(if specs.is_empty() { PRUNE_EVERY } else { POLL }) => {}
        }
    }
}

/// How long a claimed delivery is this node's alone: a send's timeout twice over, plus time to
/// record the result and for the nodes' clocks to differ. A node that dies mid-send delays that
/// delivery by at most this much.
pub fn lease(timeout: Duration) -> Duration {
    timeout * 2 + LEASE_MARGIN
}

/// What one attempt means for its delivery.
fn decide(settings: &Settings, d: &DueDelivery, sent: Sent) -> Attempt {
    let attempts = d.attempts + 1;
    let fail = |status: Option<u16>, error: String| {
        let end = settings.policy.after_failure(attempts, d.since_ms, now_ms(), rand::rng().random::<f64>());
        tracing::info!(delivery = d.id, endpoint = %d.endpoint, event = %d.event_id, attempts, error = %error,
            gave_up = end == AttemptEnd::GiveUp, "webhook delivery failed");
        Attempt { delivery: d.id, end, http_status: status, error: Some(error) }
    };
    match sent {
        Sent::Acknowledged(status) => {
            tracing::debug!(delivery = d.id, endpoint = %d.endpoint, event = %d.event_id, "webhook delivered");
            Attempt { delivery: d.id, end: AttemptEnd::Delivered, http_status: Some(status), error: None }
        }
        Sent::Refused(status) => fail(Some(status), format!("HTTP {status}")),
        Sent::Failed(why) => fail(None, why),
    }
}
