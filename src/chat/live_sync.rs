//! Order updates for the live sessions on every node. A store's event reaches one node (the
//! one its `POST /api/store/events` landed on), but the shopper's session may be held by
//! another. So the node that takes it passes it to its own [`LiveSessions`] at once and
//! publishes it on the bus topic [`TOPIC`] to every node; each other node passes it to its own
//! registry, which reaches the sessions about that order that it holds. A conversation has one
//! registered session in the whole cluster at a time (its WebSocket), so it hears an update once.
//!
//! On a local cluster nothing is published: exactly the single node's path.

use std::sync::Arc;

use tokio::task::AbortHandle;

use super::live::LiveSessions;
use crate::cluster::{BusEvent, Cluster, To};
use crate::orders::events::OrderUpdate;

/// The bus topic of order updates.
pub const TOPIC: &str = "order_updated";

/// Passes `update` to this node's sessions about its order and, on a cluster, to the other
/// nodes': how many sessions on this node were reached.
pub fn order_updated(live: &LiveSessions, cluster: &Cluster, update: OrderUpdate) -> usize {
    if !cluster.is_local() {
        cluster.bus().send(To::All, TOPIC, &update);
    }
    live.order_updated(update)
}

/// Starts passing the updates other nodes publish to `live` (nothing on a local cluster). The
/// task ends when the cluster stops.
pub fn start(live: Arc<LiveSessions>, cluster: &Cluster) -> Option<AbortHandle> {
    if cluster.is_local() {
        return None;
    }
    let me = cluster.node();
    let mut updates = cluster.bus().subscribe(TOPIC);
    let mut leader = cluster.leader();
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                event = updates.recv() => match event {
                    None => return,
                    // this node's own were passed on when they were published
                    Some(BusEvent::Message { from, body }) if from != me => {
                        match serde_json::from_str::<OrderUpdate>(&body) {
                            Ok(update) => {
                                let order_no = update.order_no.clone();
                                let told = live.order_updated(update);
                                tracing::debug!(order_no, told, node = %from, "order update from another node");
                            }
                            Err(e) => tracing::warn!(error = %e, node = %from, "an order update that does not decode"),
                        }
                    }
                    Some(_) => {}
                },
                changed = leader.changed() => if changed.is_err() { return },
            }
        }
    });
    Some(task.abort_handle())
}
