//! The engines the router consults: the FAQ and product indexes, the intent model and the
//! catalog, built once and swapped whole when trainers change them.

use std::sync::Arc;

use crate::intent::IntentModel;
use crate::knowledge::Product;
use crate::search::{FaqIndex, ProductIndex};

/// The engines the router consults, loaded once and shared by every conversation.
///
/// Each part is shared, so new engines that differ in one part (a rebuilt FAQ index, a newly
/// activated model) are cheap to make: `Engines { faq: Arc::new(new_index), ..(*old).clone() }`.
#[derive(Clone)]
pub struct Engines {
    pub faq: Arc<FaqIndex>,
    pub products: Arc<ProductIndex>,
    pub intents: Arc<IntentModel>,
    pub catalog: Arc<Vec<Product>>,
}

impl Engines {
    /// Indexes the FAQ entries and the catalog; with the intent model, the router's engines.
    pub fn build(
        faqs: &[crate::knowledge::Faq],
        thresholds: crate::search::Thresholds,
        catalog: Vec<Product>,
        intents: Arc<IntentModel>,
    ) -> Result<Engines, crate::search::SearchError> {
        Ok(Engines {
            faq: Arc::new(FaqIndex::build(faqs, thresholds)?),
            products: Arc::new(ProductIndex::build(&catalog)?),
            intents,
            catalog: Arc::new(catalog),
        })
    }

    pub fn product(&self, sku: &str) -> Option<&Product> {
        self.catalog.iter().find(|p| p.sku == sku)
    }
}
