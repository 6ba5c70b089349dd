//! Signed webhooks. `signature.rs` is the one signing scheme for both directions: kefu's
//! outbound deliveries and the events a store posts to kefu (sign, verify, the replay window).

pub mod signature;
