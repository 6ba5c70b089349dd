//! Knowledge sync: several nodes on one PostgreSQL serve the same knowledge (issue 19, item 2).
//! What a node derives in memory from stored or announced data — the FAQ index (from the
//! entries trainers edit), the intent model in force (from the versions and activations in the
//! database) and the catalog (from the store's events, which reach one node) — is rebuilt on
//! every node when one of them changes it.
//!
//! The node that changed something announces it on the cluster bus, topic [`TOPIC`]
//! ([`KnowledgeSync::announce`]): `faq` and `models` say only *what* changed (each node reads the
//! database afresh, so the latest state wins whatever order announcements arrive in), `catalog`
//! carries the changes themselves (the catalog is never stored; with the http order source the
//! receiving node also asks the store for what changed). The driver ([`run`]) takes
//! announcements in, waits [`SETTLE`] for a burst to end, and redoes each kind of work once, one
//! at a time: ten edits in a row are one FAQ rebuild on each node. A node whose listening
//! connection was lost (`BusEvent::Reconnected`) may have missed announcements, so it redoes
//! everything once. The decision is pure ([`Pending`]); the work is the [`Follower`]'s.
//!
//! Delivery is at most once (see `cluster::bus`): a node that misses an announcement without
//! losing its connection — it was starting, say — catches up at the next announcement of the
//! same kind, or at its next start. Canned responses, accounts and settings need none of this:
//! they are read from the database per request (accounts through a cache of a few seconds).
//! On SQLite (`Cluster::local`) the node is alone; its own announcements are ignored.

use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::cluster::{Bus, BusEvent, NodeId, To};
use crate::orders::catalog::Changes;

/// The bus topic.
pub const TOPIC: &str = "knowledge";
/// How long the driver waits after an announcement for more before it rebuilds.
pub const SETTLE: Duration = Duration::from_millis(200);

/// What a node changed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "changed", rename_all = "snake_case")]
pub enum Changed {
    /// FAQ entries (an edit, a revert, an import): rebuild the FAQ index from the database.
    Faq,
    /// A model version was activated or rolled back: put in force the one the database names.
    Models,
    /// The store announced catalog changes (stock, products) to one node.
    Catalog { changes: Changes },
}

/// The work a node has to do, gathered from the announcements received (pure).
#[derive(Debug, Default)]
pub struct Pending {
    pub faq: bool,
    pub models: bool,
    /// Catalog changes to apply, in the order announced (`Some` and empty: ask the store only).
    pub catalog: Option<Changes>,
}

impl Pending {
    /// Takes one bus event in. `me`: this node (its own announcements were applied already).
    pub fn add(&mut self, me: NodeId, event: BusEvent) {
        match event {
            BusEvent::Reconnected => {
                self.faq = true;
                self.models = true;
                self.catalog.get_or_insert_with(Changes::default);
            }
            BusEvent::Message { from, .. } if from == me => {}
            BusEvent::Message { from, body } => match serde_json::from_str::<Changed>(&body) {
                Ok(Changed::Faq) => self.faq = true,
                Ok(Changed::Models) => self.models = true,
                Ok(Changed::Catalog { changes }) => {
                    self.catalog.get_or_insert_with(Changes::default).extend(changes)
                }
                Err(e) => {
                    tracing::warn!(%from, error = %e, "a knowledge announcement not understood; ignored")
                }
            },
        }
    }

    pub fn is_empty(&self) -> bool {
        !self.faq && !self.models && self.catalog.is_none()
    }
}

/// What the driver does (the service's side: `app` implements it over the curator, the models
/// and catalog sync). Each returns when its work is done; failures are the follower's to log.
pub trait Follower: Send + Sync + 'static {
    /// Rebuilds the FAQ index from the stored entries.
    fn faq(&self) -> impl Future<Output = ()> + Send;
    /// Fetches the model versions missing here and puts the recorded one in force.
    fn models(&self) -> impl Future<Output = ()> + Send;
    /// Applies catalog changes (and, with a store that has a catalog, asks it for the rest).
    fn catalog(&self, changes: Changes);
}

/// Announces this node's changes to the others. Cheap to clone.
#[derive(Clone, Debug)]
pub struct KnowledgeSync {
    bus: Bus,
}

impl KnowledgeSync {
    pub fn new(bus: Bus) -> KnowledgeSync {
        KnowledgeSync { bus }
    }

    /// Tells every other node (at most once; see the module's note).
    pub fn announce(&self, changed: Changed) {
        self.bus.send(To::All, TOPIC, &changed);
    }
}

/// Subscribes to [`TOPIC`] and runs the driver until the bus or the follower is gone
/// (`follower` returns None: the service stopped).
pub fn start<F: Follower>(bus: &Bus, follower: impl Fn() -> Option<F> + Send + 'static) {
    let rx = bus.subscribe(TOPIC);
    tokio::spawn(run(bus.node(), rx, follower));
}

/// The driver: one piece of work at a time, each burst of announcements coalesced.
pub async fn run<F: Follower>(
    me: NodeId,
    mut rx: mpsc::UnboundedReceiver<BusEvent>,
    follower: impl Fn() -> Option<F>,
) {
    while let Some(first) = rx.recv().await {
        let mut pending = Pending::default();
        pending.add(me, first);
        if pending.is_empty() {
            continue;
        }
        // a burst (a bulk import, several trainers at once) is one rebuild
        tokio::time::sleep(SETTLE).await;
        while let Ok(more) = rx.try_recv() {
            pending.add(me, more);
        }
        let Some(follower) = follower() else { return };
        let started = std::time::Instant::now();
        if let Some(changes) = pending.catalog.take() {
            follower.catalog(changes);
        }
        if pending.faq {
            follower.faq().await;
        }
        if pending.models {
            follower.models().await;
        }
        tracing::info!(
            faq = pending.faq,
            models = pending.models,
            took_ms = started.elapsed().as_millis() as u64,
            "knowledge changed on another node: followed"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(from: NodeId, changed: &Changed) -> BusEvent {
        BusEvent::Message { from, body: serde_json::to_string(changed).unwrap() }
    }

    #[test]
    fn announcements_coalesce_and_a_nodes_own_are_ignored() {
        let (me, other) = (NodeId(1), NodeId(2));
        let mut p = Pending::default();
        p.add(me, message(me, &Changed::Faq));
        assert!(p.is_empty(), "this node applied its own change already");
        for _ in 0..3 {
            p.add(me, message(other, &Changed::Faq));
        }
        assert!(p.faq && !p.models && p.catalog.is_none());
        p.add(me, BusEvent::Message { from: other, body: "{\"changed\":\"nonsense\"}".into() });
        p.add(me, message(other, &Changed::Models));
        assert!(p.faq && p.models);
    }

    #[test]
    fn catalog_changes_are_kept_in_order_and_a_reconnection_redoes_everything() {
        let (me, other) = (NodeId(1), NodeId(2));
        let level = |qty| crate::orders::contract::StockLevel {
            sku: "JK-01".into(),
            color: "red".into(),
            size: "M".into(),
            stock: qty,
        };
        let mut p = Pending::default();
        for qty in [3, 0] {
            let changes = Changes { products: vec![], stock: vec![level(qty)] };
            p.add(me, message(other, &Changed::Catalog { changes }));
        }
        let stock: Vec<_> = p.catalog.as_ref().unwrap().stock.iter().map(|l| l.stock).collect();
        assert_eq!(stock, [3, 0], "later changes win, so the order is kept");
        let mut q = Pending::default();
        q.add(me, BusEvent::Reconnected);
        assert!(q.faq && q.models && q.catalog.as_ref().is_some_and(Changes::is_empty));
    }
}
