//! Demo shoppers and orders (`knowledge/demo/*.json`), generated deterministically by
//! `scripts/gen_demo_orders.py` and validated against the catalog. A real store feeds its own
//! orders through the store instead.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::catalog::{Bilingual, Product};
use crate::diagnostic::{Diagnostic, Diagnostics, LineIndex};
use crate::lang::Lang;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shopper {
    pub id: String,
    pub name: String,
    pub phone: String,
    pub tier: String,
    pub vip: bool,
    pub city: String,
    pub lang: Lang,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    PendingPayment,
    Paid,
    Shipped,
    Delivered,
    Cancelled,
    Returned,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderItem {
    pub sku: String,
    pub color: String,
    pub size: String,
    pub qty: u32,
    pub unit_price: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub name: String,
    pub phone: String,
    pub province: String,
    pub city: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackingEvent {
    pub time: String,
    pub zh: String,
    pub en: String,
}

impl TrackingEvent {
    pub fn text(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnInfo {
    pub return_id: String,
    /// no_reason, quality, wrong_item or damaged.
    #[serde(rename = "type")]
    pub kind: String,
    pub requested_at: String,
    pub reason: Bilingual,
    pub status: String,
    pub refund_amount: f64,
    pub refunded_at: Option<String>,
}

/// One line of an order's discount: member price, store coupon or platform coupon.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discount {
    #[serde(rename = "type")]
    pub kind: String,
    pub zh: String,
    pub en: String,
    pub amount: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    pub order_no: String,
    pub shopper_id: String,
    pub created_at: String,
    pub status: OrderStatus,
    pub items: Vec<OrderItem>,
    pub subtotal: f64,
    pub discount: f64,
    #[serde(default)]
    pub discount_detail: Vec<Discount>,
    pub shipping_fee: f64,
    /// What the shopper paid for shipping insurance (0 when free for VIPs or not bought).
    #[serde(default)]
    pub insurance_fee: f64,
    pub total: f64,
    /// None while unpaid.
    pub payment_method: Option<String>,
    pub shipping_insurance: bool,
    pub address: Address,
    pub courier: Option<String>,
    pub tracking_no: Option<String>,
    pub paid_at: Option<String>,
    pub shipped_at: Option<String>,
    pub delivered_at: Option<String>,
    #[serde(default)]
    pub cancelled_at: Option<String>,
    #[serde(default)]
    pub cancel_reason: Option<Bilingual>,
    #[serde(default)]
    pub tracking: Vec<TrackingEvent>,
    #[serde(rename = "return")]
    pub return_info: Option<ReturnInfo>,
}

/// True for order numbers in the store's format: 18 digits, the first six the creation date.
pub fn is_order_no(s: &str) -> bool {
    s.len() == 18 && s.bytes().all(|b| b.is_ascii_digit())
}

fn parse_json<T: for<'de> Deserialize<'de>>(path: &Path, diags: &mut Diagnostics) -> Option<(T, String)> {
    let text = super::read(path, diags)?;
    match serde_json::from_str(&text) {
        Ok(v) => Some((v, text)),
        Err(e) => {
            diags.push(Diagnostic::new(path, Some(e.line()), format!("bad JSON: {e}")));
            None
        }
    }
}

/// Line of the first occurrence of `needle` in `text`, to point messages at a record.
fn line_of(text: &str, lines: &LineIndex, needle: &str) -> Option<usize> {
    text.find(needle).map(|i| lines.line(i))
}

/// Loads and cross-checks `shoppers.json` and `orders.json` under `dir`.
pub fn load(dir: &Path, products: &[Product], diags: &mut Diagnostics) -> (Vec<Shopper>, Vec<Order>) {
    let shoppers_path = dir.join("shoppers.json");
    let orders_path = dir.join("orders.json");
    let shoppers: Vec<Shopper> = match parse_json::<Vec<Shopper>>(&shoppers_path, diags) {
        Some((s, text)) => {
            let lines = LineIndex::new(&text);
            let mut seen = HashSet::new();
            for sh in &s {
                if !seen.insert(sh.id.clone()) {
                    let line = line_of(&text, &lines, &format!("\"{}\"", sh.id));
                    diags.push(Diagnostic::new(
                        &shoppers_path,
                        line,
                        format!("duplicate shopper id {:?}", sh.id),
                    ));
                }
            }
            s
        }
        None => Vec::new(),
    };
    let orders: Vec<Order> = match parse_json::<Vec<Order>>(&orders_path, diags) {
        Some((o, text)) => {
            check_orders(&orders_path, &text, &o, &shoppers, products, diags);
            o
        }
        None => Vec::new(),
    };
    (shoppers, orders)
}

fn check_orders(
    path: &Path,
    text: &str,
    orders: &[Order],
    shoppers: &[Shopper],
    products: &[Product],
    diags: &mut Diagnostics,
) {
    let lines = LineIndex::new(text);
    let shopper_ids: HashSet<&str> = shoppers.iter().map(|s| s.id.as_str()).collect();
    let by_sku: HashMap<&str, &Product> = products.iter().map(|p| (p.sku.as_str(), p)).collect();
    let mut seen = HashSet::new();
    for o in orders {
        let line = line_of(text, &lines, &format!("\"{}\"", o.order_no));
        let mut err =
            |msg: String| diags.push(Diagnostic::new(path, line, format!("order {}: {msg}", o.order_no)));
        if !is_order_no(&o.order_no) {
            err("order number must be 18 digits".into());
        }
        if !seen.insert(o.order_no.as_str()) {
            err("duplicate order number".into());
        }
        if !shopper_ids.contains(o.shopper_id.as_str()) {
            err(format!("unknown shopper {:?}", o.shopper_id));
        }
        if o.items.is_empty() {
            err("no items".into());
        }
        for it in &o.items {
            match by_sku.get(it.sku.as_str()) {
                None => err(format!("unknown product {:?}", it.sku)),
                Some(p) => {
                    if p.stock(&it.color, &it.size).is_none() {
                        err(format!("product {} has no variant {}/{}", it.sku, it.color, it.size));
                    }
                }
            }
        }
        let expected = o.subtotal - o.discount + o.shipping_fee + o.insurance_fee;
        if (expected - o.total).abs() > 0.011 {
            err(format!(
                "total {} does not equal subtotal - discount + shipping + insurance = {expected:.2}",
                o.total
            ));
        }
    }
}
