//! What one turn works with: the engines in force when the message arrived (a trainer's change
//! or a model activation mid-turn does not mix two sets), the order source, the count of
//! guests' phone-digit guesses and the clock. The flows (`orders`, `returns`, `products`) take
//! a [`Turn`], never the router, so they depend only on data and these boundaries, and the
//! router depends on them, not the other way round. Nothing here is kefu's database: the
//! dialogue reaches orders through [`OrderSource`] (embedded or a store's own system) and the
//! guess lockout through [`PhoneGuesses`].

use std::sync::Arc;

use super::engines::Engines;
use crate::orders::{OrderSource, PhoneGuesses};
use crate::time::Clock;

/// One turn's engines, order source, guess lockout and clock (cheap to clone: shared handles).
#[derive(Clone)]
pub struct Turn {
    pub engines: Arc<Engines>,
    pub orders: Arc<dyn OrderSource>,
    pub guesses: Arc<dyn PhoneGuesses>,
    pub clock: Clock,
}
