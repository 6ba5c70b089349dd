//! The store's return policy as a pure decision: whether an order can be returned now, from
//! the order, its stored return requests, the catalog and the time (no I/O), and why not in one
//! clause. The return flow, the signed-in return list and the order cards' actions all ask it.

use chrono::{DateTime, Duration, FixedOffset};

use super::engines::Engines;
use super::texts::t;
use crate::knowledge::demo::OrderStatus;
use crate::knowledge::Order;
use crate::lang::Lang;
use crate::orders::ReturnRequest;

/// The no-reason return window after delivery.
pub const RETURN_DAYS: i64 = 7;

/// A stored time (RFC 3339).
pub fn parse_time(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok()
}

/// Whether an order can be returned now, decided from the order, its stored return requests,
/// the catalog and the time: no I/O.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Within the 7-day window; `excluded` names items that cannot be returned.
    Returnable {
        excluded: Vec<String>,
    },
    /// A return request opened in a conversation: (id, opened on, status).
    Open {
        id: String,
        opened: String,
        status: String,
    },
    /// Returned through the store's own system: (return id, status, refunded on, amount).
    Returned {
        id: String,
        status: String,
        refunded: Option<String>,
        amount: f64,
    },
    Unpaid,
    NotShipped,
    InTransit,
    AlreadyReturned,
    NoDeliveryDate,
    WindowClosed {
        delivered: DateTime<FixedOffset>,
    },
    /// Every item is non-returnable: their names with the reason.
    NothingReturnable {
        items: Vec<String>,
    },
}

pub fn verdict(
    order: &Order,
    stored: &[ReturnRequest],
    engines: &Engines,
    lang: Lang,
    now: DateTime<FixedOffset>,
) -> Verdict {
    if let Some(r) = stored.last() {
        return Verdict::Open {
            id: r.id.clone(),
            opened: r.created_at.get(..10).unwrap_or("").to_string(),
            status: r.status.clone(),
        };
    }
    if let Some(r) = &order.return_info {
        return Verdict::Returned {
            id: r.return_id.clone(),
            status: r.status.clone(),
            refunded: r.refunded_at.as_deref().map(|d| d.get(..10).unwrap_or(d).to_string()),
            amount: r.refund_amount,
        };
    }
    match order.status {
        OrderStatus::PendingPayment | OrderStatus::Cancelled => return Verdict::Unpaid,
        OrderStatus::Paid => return Verdict::NotShipped,
        OrderStatus::Shipped => return Verdict::InTransit,
        OrderStatus::Returned => return Verdict::AlreadyReturned,
        OrderStatus::Delivered => {}
    }
    let Some(d) = order.delivered_at.as_deref().and_then(parse_time) else { return Verdict::NoDeliveryDate };
    if now > d + Duration::days(RETURN_DAYS) {
        return Verdict::WindowClosed { delivered: d };
    }
    let blocked: Vec<String> = order
        .items
        .iter()
        .filter_map(|it| engines.product(&it.sku))
        .filter(|p| !p.returnable)
        .map(|p| {
            let why = p.non_returnable_reason.as_ref().map(|r| r.get(lang).to_string()).unwrap_or_default();
            t(lang, &format!("{}（{why}）", p.name.zh), &format!("{} ({why})", p.name.en))
        })
        .collect();
    if !order.items.is_empty() && blocked.len() == order.items.len() {
        return Verdict::NothingReturnable { items: blocked };
    }
    Verdict::Returnable { excluded: blocked }
}

/// Why an order cannot be returned, in one short clause (the signed-in return list).
pub fn why_not(lang: Lang, v: &Verdict) -> Option<String> {
    Some(match v {
        Verdict::Returnable { .. } => return None,
        Verdict::Open { id, .. } => {
            t(lang, &format!("已有退货申请 {id}"), &format!("return {id} is already open"))
        }
        Verdict::Returned { .. } | Verdict::AlreadyReturned => t(lang, "已经退货", "already returned"),
        Verdict::Unpaid => t(lang, "未付款或已取消", "unpaid or cancelled"),
        Verdict::NotShipped => t(lang, "还没发货，可以直接取消订单", "not shipped yet: cancel it instead"),
        Verdict::InTransit => {
            t(lang, "还在运输中，签收后7天内可退", "still on its way: returnable for 7 days after delivery")
        }
        Verdict::NoDeliveryDate => t(lang, "没有签收记录", "no delivery date on record"),
        Verdict::WindowClosed { delivered } => t(
            lang,
            &format!("{}签收，已超过7天", delivered.format("%m月%d日")),
            &format!("delivered {}, past the 7 days", delivered.format("%b %d")),
        ),
        Verdict::NothingReturnable { .. } => {
            t(lang, "商品不支持无理由退货", "its items can't be returned without a reason")
        }
    })
}
