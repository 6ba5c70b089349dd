//! Catalog sync, the driver: one task that owns every change to the catalog the bot answers
//! from. It asks the order source for the products and stock changed since its last answer
//! (`GET /catalog/changes` with `orders_source = "http"`) every `catalog_sync_secs` and at once
//! when the store announces a stock or product change, takes the changes such an event
//! carries, merges them (`orders::catalog::merge`, pure), rebuilds the product index off the
//! async threads and swaps index and catalog into the router's engines as trainer edits swap
//! the FAQ index (read-copy-update, so a model activated meanwhile is kept). Conversations pick
//! the new catalog up from their next message. The embedded source has no catalog of its own:
//! knowledge/catalog is read at start, and only events that carry changes alter it.
//!
//! Nothing is stored: after a restart the first sync asks for everything (`since` absent).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::dialogue::{Engines, Router};
use crate::orders::catalog::{merge, Changes};
use crate::orders::OrderSource;
use crate::search::ProductIndex;

/// Messages waiting for the sync task (events beyond it are dropped with a warning; the next
/// periodic sync catches up).
const QUEUE: usize = 256;

/// The handle: tell the sync task what the store announced (the changes an event carried; the
/// task asks the store for the rest as well).
#[derive(Clone)]
pub struct CatalogSync {
    tx: mpsc::Sender<Changes>,
}

impl CatalogSync {
    /// Starts the task; `every`: the periodic sync (none: only on events).
    pub fn start(router: Router, source: Arc<dyn OrderSource>, every: Option<Duration>) -> CatalogSync {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(router, source, every, rx));
        CatalogSync { tx }
    }

    /// The store announced a change: apply what the event carries, and ask the store for the
    /// rest (when the source has a catalog).
    pub fn changed(&self, changes: Changes) {
        if let Err(e) = self.tx.try_send(changes) {
            tracing::warn!("catalog change not queued: {e}");
        }
    }
}

async fn run(
    router: Router,
    source: Arc<dyn OrderSource>,
    every: Option<Duration>,
    mut rx: mpsc::Receiver<Changes>,
) {
    let mut since: Option<String> = None;
    let mut tick = every.map(|d| {
        let mut i = tokio::time::interval(d.max(Duration::from_millis(100)));
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    });
    loop {
        let mut changes = Changes::default();
        // an event or the tick: either way the store is asked for what changed since
        tokio::select! {
            msg = rx.recv() => {
                let Some(msg) = msg else { return };
                let mut next = Some(msg);
                // everything queued meanwhile goes into one rebuild
                while let Some(c) = next {
                    changes.extend(c);
                    next = rx.try_recv().ok();
                }
            }
            _ = async { tick.as_mut().expect("some").tick().await }, if tick.is_some() => {}
        }
        match source.catalog_changes(since.as_deref()).await {
            Ok(Some(c)) => {
                since = Some(c.as_of.clone());
                changes.extend(c.into());
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(source = source.name(), "catalog sync failed: {e}"),
        }
        if !changes.is_empty() {
            apply(&router, changes).await;
        }
    }
}

/// Merges changes into the catalog in force and swaps the rebuilt index in.
async fn apply(router: &Router, changes: Changes) {
    let started = std::time::Instant::now();
    let current = router.engines();
    let merged = merge(&current.catalog, changes);
    for why in &merged.refused {
        tracing::warn!("catalog sync: not used: {why}");
    }
    if !merged.changed() {
        return;
    }
    let catalog = Arc::new(merged.catalog);
    let for_index = catalog.clone();
    let index = match tokio::task::spawn_blocking(move || ProductIndex::build(&for_index)).await {
        Ok(Ok(i)) => Arc::new(i),
        Ok(Err(e)) => return tracing::error!("catalog sync: product index not rebuilt: {e}"),
        Err(e) => return tracing::error!("catalog sync: product index not rebuilt: {e}"),
    };
    // only this task changes the catalog, so the one read above is still the latest
    router.update_engines(|e| Engines { products: index.clone(), catalog: catalog.clone(), ..e.clone() });
    tracing::info!(
        products = merged.products,
        stock = merged.stock,
        took_ms = started.elapsed().as_millis() as u64,
        "catalog synchronised: product index rebuilt and swapped in"
    );
}
