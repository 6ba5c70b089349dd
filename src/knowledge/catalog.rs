//! The product catalog: `knowledge/catalog/products.toml`, validated, with stock per variant.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::diagnostic::{parse_toml, Diagnostic, Diagnostics, LineIndex};
use crate::lang::Lang;

/// A text in both languages.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bilingual {
    pub zh: String,
    pub en: String,
}

impl Bilingual {
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Color {
    pub id: String,
    pub zh: String,
    pub en: String,
}

impl Color {
    pub fn name(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
}

/// Stock of one colour and size of a product.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub color: String,
    pub size: String,
    pub stock: u32,
}

/// A product of the store.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub sku: String,
    pub category: String,
    pub name: Bilingual,
    pub description: Bilingual,
    pub material: Bilingual,
    /// Price in yuan.
    pub price: f64,
    /// Whether the 7-day no-reason return applies.
    pub returnable: bool,
    #[serde(default)]
    pub non_returnable_reason: Option<Bilingual>,
    #[serde(default)]
    pub warranty_months: u32,
    #[serde(default)]
    pub tags: Vec<String>,
    pub sizes: Vec<String>,
    pub colors: Vec<Color>,
    pub variants: Vec<Variant>,
}

impl Product {
    pub fn color(&self, id: &str) -> Option<&Color> {
        self.colors.iter().find(|c| c.id == id)
    }

    pub fn stock(&self, color: &str, size: &str) -> Option<u32> {
        self.variants.iter().find(|v| v.color == color && v.size == size).map(|v| v.stock)
    }

    /// Stock over all variants. `parse_file` refuses a product whose total does not fit a `u32`;
    /// for a product built another way the sum saturates instead of overflowing.
    pub fn total_stock(&self) -> u32 {
        self.variants.iter().fold(0u32, |total, v| total.saturating_add(v.stock))
    }
}

/// The product categories a catalog may use.
pub const CATEGORIES: [&str; 11] = [
    "women",
    "men",
    "kids",
    "shoes",
    "bags-accessories",
    "bedding",
    "bath-towels",
    "kitchen-dining",
    "storage",
    "lighting-appliances",
    "home-fragrance",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    product: Vec<Spanned<Product>>,
}

/// Parses and validates the catalog file.
pub fn parse_file(path: &Path, text: &str, diags: &mut Diagnostics) -> Vec<Product> {
    let lines = LineIndex::new(text);
    let raw: RawFile = match parse_toml(path, text, &lines) {
        Ok(raw) => raw,
        Err(d) => {
            diags.push(d);
            return Vec::new();
        }
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for entry in raw.product {
        let line = lines.line(entry.span().start);
        let p = entry.into_inner();
        let before = diags.len();
        if let Some(first) = seen.insert(p.sku.clone(), line) {
            diags.push(Diagnostic::new(
                path,
                Some(line),
                format!("duplicate sku {:?} (first defined at line {first})", p.sku),
            ));
        }
        for msg in problems(&p) {
            diags.push(Diagnostic::new(path, Some(line), msg));
        }
        if diags.len() == before {
            out.push(p);
        }
    }
    out
}

/// What is wrong with one product (empty when it is valid), whatever it came from: the catalog
/// file (`parse_file`, which also refuses a sku defined twice) or the store's catalog sync.
pub fn problems(p: &Product) -> Vec<String> {
    let mut out = Vec::new();
    let mut err = |msg: String| out.push(msg);
    if p.sku.trim().is_empty() {
        err("product with an empty sku".into());
    }
    if !CATEGORIES.contains(&p.category.as_str()) {
        err(format!(
            "product {}: unknown category {:?} (known: {})",
            p.sku,
            p.category,
            CATEGORIES.join(", ")
        ));
    }
    for (what, b) in [("name", &p.name), ("description", &p.description), ("material", &p.material)] {
        for lang in Lang::ALL {
            if b.get(lang).trim().is_empty() {
                err(format!("product {}: empty {lang} {what}", p.sku));
            }
        }
    }
    if !(p.price.is_finite() && p.price > 0.0) {
        err(format!("product {}: price must be positive, got {}", p.sku, p.price));
    }
    if !p.returnable && p.non_returnable_reason.is_none() {
        err(format!("product {}: returnable = false needs a non_returnable_reason", p.sku));
    }
    if p.sizes.is_empty() || p.colors.is_empty() {
        err(format!("product {}: needs at least one size and one colour", p.sku));
    }
    let sizes: HashSet<&str> = p.sizes.iter().map(String::as_str).collect();
    let colors: HashSet<&str> = p.colors.iter().map(|c| c.id.as_str()).collect();
    let mut combos = HashSet::new();
    let mut total_stock = Some(0u32);
    for v in &p.variants {
        total_stock = total_stock.and_then(|t| t.checked_add(v.stock));
        if !colors.contains(v.color.as_str()) {
            err(format!("product {}: variant uses unknown colour {:?}", p.sku, v.color));
        }
        if !sizes.contains(v.size.as_str()) {
            err(format!("product {}: variant uses unknown size {:?}", p.sku, v.size));
        }
        if !combos.insert((v.color.as_str(), v.size.as_str())) {
            err(format!("product {}: variant {}/{} listed twice", p.sku, v.color, v.size));
        }
    }
    if total_stock.is_none() {
        err(format!("product {}: total stock of its variants exceeds {}", p.sku, u32::MAX));
    }
    out
}
