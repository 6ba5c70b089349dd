//! The product index: names, tags, colours, materials and descriptions in both languages.

use serde::Serialize;

use super::analyzer::{CHARS, WORDS};
use super::text_index::{Doc, FieldSpec, TextIndex};
use super::SearchError;
use crate::knowledge::Product;

const FIELDS: [FieldSpec; 5] = [
    FieldSpec { name: "name", analyzer: WORDS, weight: 3.0 },
    FieldSpec { name: "name_chars", analyzer: CHARS, weight: 1.0 },
    FieldSpec { name: "tags", analyzer: WORDS, weight: 2.0 },
    FieldSpec { name: "attributes", analyzer: WORDS, weight: 1.0 },
    FieldSpec { name: "description", analyzer: WORDS, weight: 0.5 },
];

/// One scored product.
#[derive(Debug, Clone, Serialize)]
pub struct ProductHit {
    pub sku: String,
    pub score: f32,
}

pub struct ProductIndex {
    index: TextIndex,
}

impl ProductIndex {
    pub fn build(products: &[Product]) -> Result<ProductIndex, SearchError> {
        let docs = products.iter().map(|p| {
            let colors: Vec<String> = p.colors.iter().map(|c| format!("{} {}", c.zh, c.en)).collect();
            Doc {
                key: p.sku.clone(),
                texts: vec![
                    format!("{} {}", p.name.zh, p.name.en),
                    format!("{} {}", p.name.zh, p.name.en),
                    format!("{} {}", p.tags.join(" "), p.category),
                    format!("{} {} {}", colors.join(" "), p.material.zh, p.material.en),
                    format!("{} {}", p.description.zh, p.description.en),
                ],
            }
        });
        Ok(ProductIndex { index: TextIndex::build(&FIELDS, docs)? })
    }

    /// The best `limit` products for a shopper's words, best first.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<ProductHit>, SearchError> {
        Ok(self
            .index
            .search(query, limit)?
            .into_iter()
            .map(|(sku, score)| ProductHit { sku, score })
            .collect())
    }
}
