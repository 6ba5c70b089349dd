//! Fuzzes the knowledge-base parsers: `kefu::knowledge::faq::parse_file`,
//! `kefu::knowledge::catalog::parse_file` and `kefu::knowledge::canned::parse_file`. Each input
//! is fed to all three (the corpus holds FAQ, catalog and canned-response TOML alike).
//!
//! Property: neither panics, whatever the file holds; the diagnostics they report can be
//! formatted (as `kefu check` prints them), and the products they accept can be used (their
//! `total_stock()`, which the product cards show, does not overflow).
#![no_main]

use std::fmt::Write as _;
use std::path::Path;

use kefu::knowledge::{canned, catalog, faq, Diagnostics};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Knowledge files that are not UTF-8 are refused before parsing (knowledge::read).
    let Ok(text) = std::str::from_utf8(data) else { return };

    let mut diags = Diagnostics::default();
    let faqs = faq::parse_file(Path::new("knowledge/faq/fuzz.toml"), text, &mut diags);
    faq::check_duplicate_ids(&faqs, &mut diags);
    let products = catalog::parse_file(Path::new("knowledge/catalog/products.toml"), text, &mut diags);
    canned::parse_file(Path::new("knowledge/canned.toml"), text, &mut diags);

    let mut out = String::new();
    let _ = write!(out, "{diags}");
    for p in &products {
        let _ = p.total_stock();
    }
});
