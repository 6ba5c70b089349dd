//! What one turn works with: the engines in force when the message arrived (a trainer's change
//! or a model activation mid-turn does not mix two sets), the store and the clock. The flows
//! (`orders`, `returns`, `products`) take a [`Turn`], never the router, so they depend only on
//! data and the store, and the router depends on them, not the other way round.

use std::sync::Arc;

use super::engines::Engines;
use crate::store::Store;
use crate::time::Clock;

/// One turn's engines, store and clock (cheap to clone: shared handles).
#[derive(Clone)]
pub struct Turn {
    pub engines: Arc<Engines>,
    pub store: Store,
    pub clock: Clock,
}
