//! Shares the rate limits ([`super::rates`]) between the nodes of a cluster over the bus: every
//! [`INTERVAL`] this node sends what its tables handed out since the last time (by key, split
//! into messages of at most [`MAX_MESSAGE`] bytes, so each fits in one notification), and takes
//! what the other nodes report from its own buckets. No database round trip per message, and
//! nothing at all while no one is limited. What this allows beyond a limit is in `rates`' notes:
//! what the other nodes let through in one interval before they hear of it.
//!
//! On a local cluster (one node, SQLite) nothing starts and the limits are this node's alone,
//! exactly as before.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::AbortHandle;

use super::rates::{Consumed, Rates};
use crate::cluster::{BusEvent, Cluster, To};

/// The bus topic of the reports.
pub const TOPIC: &str = "rates";
/// How often this node reports what it handed out.
pub const INTERVAL: Duration = Duration::from_millis(250);
/// The largest report sent in one bus message (under the bus's inline limit).
pub const MAX_MESSAGE: usize = 7_000;

/// Starts sharing `rates` with the other nodes of `cluster` (nothing on a local cluster). The
/// task ends when the cluster stops.
pub fn start(rates: Arc<Rates>, cluster: &Cluster) -> Option<AbortHandle> {
    if cluster.is_local() {
        return None;
    }
    rates.share();
    let bus = cluster.bus().clone();
    let me = cluster.node();
    let mut reports = bus.subscribe(TOPIC);
    let mut leader = cluster.leader();
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    for report in rates.drain_consumed().split(MAX_MESSAGE) {
                        bus.send(To::All, TOPIC, &report);
                    }
                }
                event = reports.recv() => match event {
                    None => return,
                    Some(BusEvent::Message { from, body }) if from != me => {
                        match serde_json::from_str::<Consumed>(&body) {
                            Ok(report) => rates.debit(&report, Instant::now()),
                            Err(e) => tracing::warn!(error = %e, node = %from, "a rate report that does not decode"),
                        }
                    }
                    // our own reports; a reconnect lost some (one interval's more, once)
                    Some(_) => {}
                },
                // the leader's watch closes when the cluster stops
                changed = leader.changed() => if changed.is_err() { return },
            }
        }
    });
    Some(task.abort_handle())
}
