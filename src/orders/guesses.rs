//! The lockout on guests' phone-digit guesses: kefu's own security state, not the store's.
//!
//! A guest proves an order with the last four digits of its phone. The order source says what
//! the phone is (the store is the system of record for orders); whether the guess was right is
//! decided by the dialogue; how many wrong guesses an order has had is kept here, in kefu's
//! database, whatever the source: a store's API would not count them, an unavailable store
//! must not reset them, and the count has to survive a restart. The lock check and the count
//! are one store job, so concurrent guesses cannot slip past the lockout.

use crate::store::prelude::*;
use std::future::Future;
use std::pin::Pin;

use crate::store::{Backend, PhoneCheck, StoreError};

/// Counts guests' guesses at orders' phone digits, with the lockout.
pub trait PhoneGuesses: Send + Sync {
    /// Records one guess at `order_no`'s phone digits (`matched`: whether it was right) and
    /// answers it: `Locked` once the order has had `max` wrong guesses (the right digits too),
    /// else `Match` or `Mismatch`, and a mismatch is counted.
    fn guess<'a>(
        &'a self,
        order_no: &'a str,
        matched: bool,
        max: u32,
    ) -> Pin<Box<dyn Future<Output = Result<PhoneCheck, StoreError>> + Send + 'a>>;
}

impl PhoneGuesses for Backend {
    fn guess<'a>(
        &'a self,
        order_no: &'a str,
        matched: bool,
        max: u32,
    ) -> Pin<Box<dyn Future<Output = Result<PhoneCheck, StoreError>> + Send + 'a>> {
        Box::pin(self.count_phone_guess(order_no.to_string(), matched, max))
    }
}
