//! Catalog sync, the pure part: what the store says changed (products, stock levels: the
//! contract's `GET /catalog/changes`, or a `stock.changed` / `product.updated` event) merged into
//! the catalog the bot answers from. A product from the store replaces kefu's copy of it (or is
//! added) when it is valid by the catalog file's own rules (`knowledge::catalog::problems`); a
//! stock level sets one variant (added when its colour and size are the product's). What
//! cannot be used is reported, never half applied.

use super::contract::{CatalogChanges, StockLevel};
use crate::knowledge::catalog::{problems, Variant};
use crate::knowledge::Product;

/// Changes to merge: products (whole) and stock levels (per variant). Serialisable: a node
/// passes the changes the store announced to it on to the others (`knowledge_sync`).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Changes {
    pub products: Vec<Product>,
    pub stock: Vec<StockLevel>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.products.is_empty() && self.stock.is_empty()
    }

    /// Adds more changes after these (later ones win).
    pub fn extend(&mut self, more: Changes) {
        self.products.extend(more.products);
        self.stock.extend(more.stock);
    }
}

impl From<CatalogChanges> for Changes {
    fn from(c: CatalogChanges) -> Changes {
        Changes { products: c.products, stock: c.stock }
    }
}

/// The catalog after a merge, and what it did.
#[derive(Debug, Clone)]
pub struct Merged {
    pub catalog: Vec<Product>,
    /// Products added or replaced (only those that differ).
    pub products: usize,
    /// Stock levels that changed a variant.
    pub stock: usize,
    /// Why some changes were not used.
    pub refused: Vec<String>,
}

impl Merged {
    pub fn changed(&self) -> bool {
        self.products + self.stock > 0
    }
}

/// Merges `changes` into `current` (the catalog in force), in order: products, then stock.
pub fn merge(current: &[Product], changes: Changes) -> Merged {
    let mut catalog = current.to_vec();
    let (mut products, mut stock, mut refused) = (0, 0, Vec::new());
    for p in changes.products {
        let wrong = problems(&p);
        if !wrong.is_empty() {
            refused.push(wrong.join("; "));
            continue;
        }
        let json = |p: &Product| serde_json::to_string(p).unwrap_or_default();
        match catalog.iter_mut().find(|c| c.sku == p.sku) {
            Some(c) if json(c) == json(&p) => {}
            Some(c) => {
                *c = p;
                products += 1;
            }
            None => {
                catalog.push(p);
                products += 1;
            }
        }
    }
    for level in changes.stock {
        let Some(p) = catalog.iter_mut().find(|c| c.sku == level.sku) else {
            refused.push(format!("stock for unknown product {}", level.sku));
            continue;
        };
        let offered = p.color(&level.color).is_some() && p.sizes.contains(&level.size);
        match p.variants.iter_mut().find(|v| v.color == level.color && v.size == level.size) {
            Some(v) if v.stock == level.stock => {}
            Some(v) => {
                v.stock = level.stock;
                stock += 1;
            }
            None if offered => {
                p.variants.push(Variant { color: level.color, size: level.size, stock: level.stock });
                stock += 1;
            }
            None => {
                refused.push(format!("{}: no colour {:?} in size {:?}", level.sku, level.color, level.size))
            }
        }
    }
    Merged { catalog, products, stock, refused }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::knowledge::KnowledgeBase;

    fn catalog() -> Vec<Product> {
        KnowledgeBase::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge")).unwrap().products
    }

    fn level(p: &Product, i: usize, stock: u32) -> StockLevel {
        let v = &p.variants[i];
        StockLevel { sku: p.sku.clone(), color: v.color.clone(), size: v.size.clone(), stock }
    }

    #[test]
    fn stock_levels_set_variants_and_unknown_ones_are_refused() {
        let current = catalog();
        let p = &current[0];
        let same = level(p, 0, p.variants[0].stock);
        let zero = level(p, 1, 0);
        let ghost = StockLevel { sku: "NOPE".into(), color: "x".into(), size: "y".into(), stock: 1 };
        let odd = StockLevel {
            sku: p.sku.clone(),
            color: "no-such-colour".into(),
            size: p.sizes[0].clone(),
            stock: 1,
        };
        let m = merge(&current, Changes { products: vec![], stock: vec![same, zero, ghost, odd] });
        let expected = if p.variants[1].stock == 0 { 0 } else { 1 };
        assert_eq!((m.products, m.stock, m.refused.len()), (0, expected, 2), "{:?}", m.refused);
        assert_eq!(m.catalog[0].variants[1].stock, 0);
        assert_eq!(m.catalog.len(), current.len());
    }

    #[test]
    fn products_replace_or_join_when_valid() {
        let current = catalog();
        let mut cheaper = current[0].clone();
        cheaper.price = 1.0;
        let mut new = current[1].clone();
        new.sku = "QM-NEW-001".into();
        let mut broken = current[2].clone();
        broken.price = -1.0;
        let unchanged = current[3].clone();
        let m = merge(&current, Changes { products: vec![cheaper, new, broken, unchanged], stock: vec![] });
        assert_eq!((m.products, m.stock), (2, 0));
        assert!(m.changed());
        assert_eq!(m.refused.len(), 1, "{:?}", m.refused);
        assert!(m.refused[0].contains("price"), "{:?}", m.refused);
        assert_eq!(m.catalog[0].price, 1.0);
        assert_eq!(m.catalog.len(), current.len() + 1);
        assert_eq!(m.catalog[2].price, current[2].price, "the broken one left kefu's copy alone");
        assert!(!merge(&current, Changes::default()).changed());
    }
}
