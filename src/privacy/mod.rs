//! Shoppers' personal data (issue 21): what each staff role may see of it ([`mask`]), and the
//! shopper's own copy of everything kefu holds about them ([`export`]). The storage operations
//! are the store's (`store::shopper_data`, `ShopperDataStore`); who sees what is written down in
//! docs/security.md ("Personal data").

pub mod export;
pub mod mask;
