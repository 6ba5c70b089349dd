//! Inputs that once crashed a fuzz target (kept under fuzz/regressions/<target>/), fed to the same
//! code in an ordinary test: each must now give a clean result or error, never a panic.
//! See scripts/fuzz.sh and fuzz/fuzz_targets/.

use std::path::{Path, PathBuf};

use kefu::chat::protocol::{decode, ClientMsg};
use kefu::knowledge::catalog::{self, Bilingual, Color, Product, Variant};
use kefu::knowledge::{faq, Diagnostics};

fn regressions(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions").join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    files.sort();
    files.into_iter().map(|p| (p.clone(), std::fs::read(&p).unwrap())).collect()
}

/// The body of fuzz/fuzz_targets/kb_parse.rs.
fn kb_parse(text: &str) -> (Diagnostics, Vec<Product>) {
    let mut diags = Diagnostics::default();
    let faqs = faq::parse_file(Path::new("knowledge/faq/fuzz.toml"), text, &mut diags);
    faq::check_duplicate_ids(&faqs, &mut diags);
    let products = catalog::parse_file(Path::new("knowledge/catalog/products.toml"), text, &mut diags);
    kefu::knowledge::canned::parse_file(Path::new("knowledge/canned.toml"), text, &mut diags);
    let _ = diags.to_string();
    for p in &products {
        let _ = p.total_stock();
    }
    (diags, products)
}

/// The body of fuzz/fuzz_targets/protocol_decode.rs.
fn protocol_decode(text: &str) {
    if let Ok(m) = kefu::agents::protocol::decode(text) {
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(kefu::agents::protocol::decode(&json).ok(), Some(m));
    }
    if let Ok(msg) = decode(text) {
        let json = serde_json::to_string(&msg).unwrap();
        let again: ClientMsg = decode(&json).unwrap();
        assert_eq!(msg, again);
    }
}

#[test]
fn every_kb_parse_regression_is_handled() {
    for (path, bytes) in regressions("kb_parse") {
        let Ok(text) = std::str::from_utf8(&bytes) else { continue };
        eprintln!("{}", path.display());
        kb_parse(text);
    }
}

#[test]
fn every_protocol_decode_regression_is_handled() {
    for (path, bytes) in regressions("protocol_decode") {
        let Ok(text) = std::str::from_utf8(&bytes) else { continue };
        eprintln!("{}", path.display());
        protocol_decode(text);
    }
}

/// A product whose variants' stock adds up past u32::MAX was accepted, and `total_stock()` then
/// overflowed (a panic with overflow checks, a wrong total, e.g. 0 = "out of stock", without).
#[test]
fn catalog_total_stock_overflow_is_a_diagnostic() {
    let text = include_str!("../fuzz/regressions/kb_parse/catalog-total-stock-overflow.toml");
    let mut diags = Diagnostics::default();
    let products = catalog::parse_file(Path::new("products.toml"), text, &mut diags);
    assert!(products.is_empty());
    assert_eq!(diags.len(), 1, "{diags}");
    let d = diags.iter().next().unwrap();
    assert_eq!(d.line, Some(1));
    assert!(d.message.contains("total stock of its variants exceeds 4294967295"), "{}", d.message);

    // Just fitting is still accepted.
    let fits = text.replace("stock = 4294967295", "stock = 4294967292");
    let mut diags = Diagnostics::default();
    let products = catalog::parse_file(Path::new("products.toml"), &fits, &mut diags);
    assert!(diags.is_empty(), "{diags}");
    assert_eq!(products[0].total_stock(), u32::MAX);
}

#[test]
fn total_stock_saturates_for_products_built_in_code() {
    let text = |s: &str| Bilingual { zh: s.into(), en: s.into() };
    let variant = |size: &str, stock| Variant { color: "red".into(), size: size.into(), stock };
    let p = Product {
        sku: "X".into(),
        category: "men".into(),
        name: text("n"),
        description: text("d"),
        material: text("m"),
        price: 1.0,
        returnable: true,
        non_returnable_reason: None,
        warranty_months: 0,
        tags: Vec::new(),
        sizes: vec!["S".into(), "M".into()],
        colors: vec![Color { id: "red".into(), zh: "红".into(), en: "Red".into() }],
        variants: vec![variant("S", u32::MAX), variant("M", 1)],
    };
    assert_eq!(p.total_stock(), u32::MAX);
}
