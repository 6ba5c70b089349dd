//! Telling a shopper, unasked, that an order they talked about changed (the store announced it:
//! `orders::events`). Pure: which orders a conversation is *about* ([`about`]), and what, if
//! anything, to say to it about a change ([`order_notice`]); the chat session holds the state,
//! stores the line and sends it.
//!
//! A conversation is about an order the bot showed in it, to a shopper allowed to see it: the
//! order in focus, the orders discussed (status or return), the orders last listed as cards.
//! The page's order is not enough (a guest has not proved it is theirs), nor is an order
//! number merely typed.

use std::collections::BTreeSet;

use chrono::FixedOffset;

use super::state::{DialogueState, Listed};
use super::texts::t;
use crate::knowledge::demo::OrderStatus;
use crate::orders::events::OrderUpdate;

/// The orders this conversation is about, that the shopper may see.
pub fn about(st: &DialogueState) -> BTreeSet<String> {
    let mut orders: BTreeSet<String> = st.seen.orders_discussed.iter().cloned().collect();
    orders.extend(st.focus.order.iter().cloned());
    if let Listed::Orders(listed) = &st.listed {
        orders.extend(listed.iter().cloned());
    }
    // a guest sees only the orders they proved with the phone digits (a signed-in shopper's
    // were shown only when they were theirs)
    if st.shopper_id.is_none() {
        orders.retain(|o| st.verified_orders.contains(o));
    }
    orders
}

/// What to tell this conversation about `u`, in its language, times in the store's timezone
/// (`offset`): `None` when it is not about that order or the change is nothing to tell (no new
/// status nor tracking).
pub fn order_notice(st: &DialogueState, u: &OrderUpdate, offset: &FixedOffset) -> Option<String> {
    if !u.is_news() || !about(st).contains(&u.order_no) {
        return None;
    }
    let lang = st.lang;
    let no = &u.order_no;
    let waybill = match (&u.courier, &u.tracking_no) {
        (Some(c), Some(n)) => Some(format!("{c} {n}")),
        (None, Some(n)) => Some(n.clone()),
        (Some(c), None) => Some(c.clone()),
        (None, None) => None,
    };
    let mut text = match u.status {
        Some(OrderStatus::Shipped) => match &waybill {
            Some(w) => t(
                lang,
                &format!("您的订单 {no} 已发货（{w}）。"),
                &format!("Your order {no} has shipped ({w})."),
            ),
            None => t(lang, &format!("您的订单 {no} 已发货。"), &format!("Your order {no} has shipped.")),
        },
        Some(OrderStatus::Delivered) => {
            t(lang, &format!("您的订单 {no} 已签收。"), &format!("Your order {no} has been delivered."))
        }
        Some(OrderStatus::Cancelled) => {
            t(lang, &format!("您的订单 {no} 已取消。"), &format!("Your order {no} has been cancelled."))
        }
        Some(OrderStatus::Returned) => t(
            lang,
            &format!("您的订单 {no} 已退货完成。"),
            &format!("The return of your order {no} is complete."),
        ),
        Some(OrderStatus::Paid) => t(
            lang,
            &format!("您的订单 {no} 已付款，等待发货。"),
            &format!("Your order {no} is paid and waiting to ship."),
        ),
        Some(OrderStatus::PendingPayment) => {
            t(lang, &format!("您的订单 {no} 等待付款。"), &format!("Your order {no} is awaiting payment."))
        }
        None => t(lang, &format!("您的订单 {no} 有新的物流信息。"), &format!("Update on your order {no}.")),
    };
    if let Some(e) = &u.tracking {
        text += &super::orders::tracking_sentence(lang, e, offset);
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::demo::TrackingEvent;
    use crate::lang::Lang;

    fn east8() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    fn update(no: &str, status: Option<OrderStatus>) -> OrderUpdate {
        OrderUpdate { order_no: no.into(), status, ..Default::default() }
    }

    #[test]
    fn a_conversation_is_about_the_orders_it_showed() {
        let mut st = DialogueState::new(Lang::Zh, Some("S1".into()));
        assert!(about(&st).is_empty());
        st.page.order = Some("P".into());
        st.seen.orders_discussed = vec!["A".into()];
        st.focus.order = Some("B".into());
        st.listed = Listed::Orders(vec!["C".into(), "A".into()]);
        assert_eq!(about(&st).into_iter().collect::<Vec<_>>(), ["A", "B", "C"], "not the page's order");
        // a guest: only what they proved
        let mut guest = st.clone();
        guest.shopper_id = None;
        guest.verified_orders.insert("B".into());
        assert_eq!(about(&guest).into_iter().collect::<Vec<_>>(), ["B"]);
    }

    #[test]
    fn the_shopper_is_told_in_their_language_only_about_their_orders() {
        let mut st = DialogueState::new(Lang::Zh, Some("S1".into()));
        st.seen.orders_discussed = vec!["261124866711367179".into()];
        let mut shipped = update("261124866711367179", Some(OrderStatus::Shipped));
        shipped.courier = Some("SF".into());
        shipped.tracking_no = Some("SF123".into());
        assert_eq!(
            order_notice(&st, &shipped, &east8()).as_deref(),
            Some("您的订单 261124866711367179 已发货（SF SF123）。")
        );
        st.lang = Lang::En;
        assert_eq!(
            order_notice(&st, &shipped, &east8()).as_deref(),
            Some("Your order 261124866711367179 has shipped (SF SF123).")
        );
        // another order, or nothing new: silence
        assert_eq!(
            order_notice(&st, &update("261123115788241675", Some(OrderStatus::Delivered)), &east8()),
            None
        );
        let mut quiet = update("261124866711367179", None);
        quiet.courier = Some("SF".into());
        assert_eq!(order_notice(&st, &quiet, &east8()), None);
        // a tracking event alone
        let mut moved = update("261124866711367179", None);
        moved.tracking = Some(TrackingEvent {
            time: "2026-11-25T10:00:00+08:00".into(),
            zh: "已到达杭州".into(),
            en: "Arrived in Hangzhou".into(),
        });
        assert_eq!(
            order_notice(&st, &moved, &east8()).as_deref(),
            Some("Update on your order 261124866711367179. Latest tracking (25 Nov 10:00): Arrived in Hangzhou.")
        );
        st.lang = Lang::Zh;
        assert_eq!(
            order_notice(&st, &moved, &east8()).as_deref(),
            Some("您的订单 261124866711367179 有新的物流信息。最新物流（11月25日 10:00）：已到达杭州。")
        );
        // a guest who never proved the order hears nothing, even with it on the page
        let mut guest = DialogueState::new(Lang::Zh, None);
        guest.page.order = Some("261124866711367179".into());
        guest.focus.order = Some("261124866711367179".into());
        assert_eq!(order_notice(&guest, &shipped, &east8()), None);
        guest.verified_orders.insert("261124866711367179".into());
        assert!(order_notice(&guest, &shipped, &east8()).is_some());
    }
}
