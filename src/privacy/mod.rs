//! Shoppers' personal data (issue 21): what each staff role may see of it ([`mask`]), the
//! shopper's own copy of everything kefu holds about them ([`export`]), its erasure
//! ([`erasure`]), and the job that purges what is past its retention period ([`retention`]).
//! The storage operations are the store's (`store::shopper_data`, `store::erasure`,
//! `ShopperDataStore`); who sees what is written down in docs/security.md ("Personal data").

pub mod erasure;
pub mod export;
pub mod mask;
pub mod retention;
