//! The order-status flow: find the order (in the text, or from the shopper's recent orders),
//! check it belongs to the shopper, and answer with its status, latest tracking and expected
//! delivery. Another shopper's order is never revealed: it is answered exactly like an unknown one.

use chrono::{DateTime, Duration, FixedOffset};

use super::policy::{parse_time, verdict, Verdict};
use super::reply::{faq_answer, BotReply, Card, CardAction, FaqLookup, Outcome};
use super::state::{DialogueState, Listed, Pending, Purpose};
use super::texts::t;
use super::{Engines, Turn};
use crate::knowledge::demo::{is_order_no, OrderStatus, TrackingEvent};
use crate::knowledge::Order;
use crate::lang::Lang;
use crate::orders::{OrderError, PhoneCheck};

/// Wrong phone-digit guesses an order tolerates before guests are refused.
pub const MAX_PHONE_GUESSES: u32 = 5;

/// An 18-digit order number anywhere in the text (not part of a longer digit run).
pub fn find_order_number(text: &str) -> Option<String> {
    digit_runs(text).into_iter().find(|r| is_order_no(r))
}

/// Exactly four digits on their own (the end of a phone number).
pub fn find_phone_digits(text: &str) -> Option<String> {
    digit_runs(text).into_iter().find(|r| r.len() == 4)
}

fn digit_runs(text: &str) -> Vec<String> {
    let mut runs = Vec::new();
    let mut cur = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        // full-width digits count too
        let c = match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            _ => c,
        };
        if c.is_ascii_digit() {
            cur.push(c);
        } else if !cur.is_empty() {
            runs.push(std::mem::take(&mut cur));
        }
    }
    runs
}

pub fn status_text(lang: Lang, s: OrderStatus) -> String {
    let (zh, en) = match s {
        OrderStatus::PendingPayment => ("待付款", "awaiting payment"),
        OrderStatus::Paid => ("已付款，待发货", "paid, waiting to ship"),
        OrderStatus::Shipped => ("已发货，运输中", "shipped, in transit"),
        OrderStatus::Delivered => ("已签收", "delivered"),
        OrderStatus::Cancelled => ("已取消", "cancelled"),
        OrderStatus::Returned => ("已退货", "returned"),
    };
    t(lang, zh, en)
}

const REMOTE: [&str; 6] = ["新疆", "西藏", "青海", "甘肃", "宁夏", "内蒙古"];
const NEAR: [&str; 3] = ["江苏", "浙江", "上海"];

/// Delivery days after shipping by province (STORE_POLICY.md).
fn delivery_days(province: &str) -> (i64, i64) {
    if REMOTE.iter().any(|p| province.contains(p)) {
        (5, 8)
    } else if NEAR.iter().any(|p| province.contains(p)) {
        (1, 2)
    } else {
        (2, 4)
    }
}

/// An order's card, with the actions that apply to it (track it; return it when the verdict
/// says it can be returned).
pub fn card(engines: &Engines, lang: Lang, o: &Order, verdict: &Verdict) -> Card {
    let mut actions = vec![CardAction::Track];
    if matches!(verdict, Verdict::Returnable { .. }) {
        actions.push(CardAction::Return);
    }
    let items = o
        .items
        .iter()
        .map(|it| {
            let p = engines.product(&it.sku);
            let name = p.map(|p| p.name.get(lang).to_string()).unwrap_or_else(|| it.sku.clone());
            let color =
                p.and_then(|p| p.color(&it.color)).map(|c| c.name(lang).to_string()).unwrap_or_default();
            format!("{name} {color} {} ×{}", super::products::size_name(lang, &it.size), it.qty)
        })
        .collect();
    Card::Order {
        order_no: o.order_no.clone(),
        status: serde_json::to_value(o.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        status_text: status_text(lang, o.status),
        created_at: o.created_at.clone(),
        total: o.total,
        items,
        latest_tracking: o.tracking.last().map(|e| e.text(lang).to_string()),
        latest_tracking_at: o.tracking.last().map(|e| e.time.clone()),
        actions,
    }
}

/// The card of an order with its return verdict (reads the order's stored returns).
pub async fn card_for(turn: &Turn, lang: Lang, o: &Order) -> Result<Card, OrderError> {
    let engines = turn.engines.clone();
    let stored = turn.orders.returns_for(&o.order_no).await?;
    let v = verdict(o, &stored, &engines, lang, turn.clock.now());
    Ok(card(&engines, lang, o, &v))
}

/// The products a phrase such as "我买的牛仔裤" / "the jeans I bought" names by their kind
/// ("牛仔裤", "jeans"), best first: the candidates for one of the shopper's orders. No I/O, so
/// the store is asked only when something is named.
pub fn kinds_named(engines: &Engines, text: &str) -> Vec<String> {
    let Ok(hits) = engines.products.search(text, 10) else { return Vec::new() };
    hits.into_iter()
        .filter(|h| engines.product(&h.sku).is_some_and(|p| super::products::names_kind(p, text)))
        .map(|h| h.sku)
        .collect()
}

/// The newest of `orders` with an item among `skus` (in the order of `skus`).
pub fn owned_order(orders: &[Order], skus: &[String]) -> Option<String> {
    skus.iter().find_map(|sku| {
        orders.iter().find(|o| o.items.iter().any(|it| &it.sku == sku)).map(|o| o.order_no.clone())
    })
}

/// Loads an order the shopper may see: their own (token), or one a guest verified.
/// `Ok(None)` both when it does not exist and when it is someone else's.
pub(super) async fn accessible(
    turn: &Turn,
    st: &DialogueState,
    order_no: &str,
) -> Result<Option<Order>, OrderError> {
    let Some(order) = turn.orders.order(order_no).await? else { return Ok(None) };
    let mine =
        st.shopper_id.as_deref() == Some(order.shopper_id.as_str()) || st.verified_orders.contains(order_no);
    Ok(mine.then_some(order))
}

pub(super) fn not_found(lang: Lang, order_no: &str) -> Outcome {
    Outcome::reply(BotReply::text(t(
        lang,
        &format!("亲，没有找到您名下的订单 {order_no}，请核对订单号（18位数字，在“我的订单”里可以看到）。"),
        &format!("I couldn't find an order {order_no} under your account. Please check the number (18 digits, shown in My Orders)."),
    )))
}

/// Answers with the status of `order_no` (or, for a return, hands over to the returns flow).
pub async fn status(
    turn: &Turn,
    st: &mut DialogueState,
    order_no: String,
    purpose: Purpose,
) -> Result<Outcome, OrderError> {
    let lang = st.lang;
    DialogueState::note(&mut st.seen.flows, &"order_status".to_string());
    if st.shopper_id.is_none() && !st.verified_orders.contains(&order_no) {
        st.pending = Some(Pending::PhoneDigits { order_no, purpose });
        return Ok(Outcome::reply(BotReply::text(t(
            lang,
            "为保护您的隐私，请告诉我该订单收货手机号的后4位，核对后为您查询。",
            "To protect your privacy, please tell me the last 4 digits of the phone number on that order.",
        ))));
    }
    let Some(order) = accessible(turn, st, &order_no).await? else {
        return Ok(not_found(lang, &order_no));
    };
    DialogueState::note(&mut st.seen.orders_discussed, &order.order_no);
    st.focus.order = Some(order.order_no.clone());
    st.unresolved = 0;
    Ok(Outcome::reply(BotReply {
        text: describe(lang, &order, turn.clock.now()),
        cards: vec![card_for(turn, lang, &order).await?],
        ..Default::default()
    }))
}

/// Checks a guest's phone digits for an order: the refusal, or None once the order is verified
/// (the router then continues the flow it was for).
pub async fn verify_guest(
    turn: &Turn,
    st: &mut DialogueState,
    order_no: &str,
    digits: &str,
) -> Result<Option<Outcome>, OrderError> {
    let lang = st.lang;
    // the source says what the phone is (an unknown order matches nothing); kefu counts the
    // guess and checks the lockout in one store job, so concurrent guesses cannot slip past it
    // and it survives a restart
    let order = turn.orders.order(order_no).await?;
    let matched = order.is_some_and(|o| phone_matches(&o, digits));
    let check = turn.guesses.guess(order_no, matched, MAX_PHONE_GUESSES).await?;
    match check {
        PhoneCheck::Locked => {
            return Ok(Some(Outcome::reply(BotReply::text(t(
                lang,
                "该订单的手机号核对错误次数过多，已暂停游客查询。请登录后在“我的订单”查看，或转人工处理。",
                "Too many wrong phone digits for this order, so guest lookups are paused. Please log in to see My Orders, or ask for an agent.",
            )))))
        }
        PhoneCheck::Mismatch => {
            return Ok(Some(Outcome::reply(BotReply::text(t(
                lang,
                "订单号和手机号后4位不匹配，无法查询。请核对后再试，或登录后查看“我的订单”。",
                "The order number and phone digits don't match, so I can't show that order. Please check them, or log in to see My Orders.",
            )))))
        }
        PhoneCheck::Match => {}
    }
    st.verified_orders.insert(order_no.to_string());
    Ok(None)
}

/// The shopper asked about "my order" without a number.
pub async fn ask_which(
    turn: &Turn,
    st: &mut DialogueState,
    purpose: Purpose,
    faq: Option<&FaqLookup<'_>>,
) -> Result<Outcome, OrderError> {
    let lang = st.lang;
    st.pending = Some(Pending::OrderNumber { purpose });
    let Some(shopper) = st.shopper_id.clone() else {
        // a guest: a how-to answer if the FAQ has one, and the question
        let mut replies: Vec<BotReply> =
            faq_answer(&turn.engines, st, faq.and_then(FaqLookup::get)).into_iter().collect();
        replies.push(BotReply::text(t(
            lang,
            "请发送您的订单号（18位数字），我来帮您查。",
            "Please send me your order number (18 digits) and I'll look it up.",
        )));
        return Ok(Outcome { replies, escalate: None });
    };
    let orders = turn.orders.recent_orders(&shopper, 5).await?;
    if orders.is_empty() {
        st.pending = None;
        return Ok(Outcome::reply(BotReply::text(t(
            lang,
            "您的账号下还没有订单哦。",
            "There are no orders on your account yet.",
        ))));
    }
    st.unresolved = 0;
    st.show(Listed::Orders(orders.iter().map(|o| o.order.order_no.clone()).collect()));
    let engines = turn.engines.clone();
    let now = turn.clock.now();
    let cards = orders
        .iter()
        .map(|o| card(&engines, lang, &o.order, &verdict(&o.order, &o.returns, &engines, lang, now)))
        .collect();
    Ok(Outcome::reply(BotReply {
        text: t(
            lang,
            "这是您最近的订单，请问是哪一个？点卡片上的“查物流”，或回复“第一个”、订单号都可以。",
            "Here are your recent orders. Which one? Tap Track on a card, or say \"the first one\" or its number.",
        ),
        cards,
        ..Default::default()
    }))
}

/// Whether a guest's digits are the end of the order's phone number.
pub fn phone_matches(order: &Order, digits: &str) -> bool {
    !digits.is_empty() && order.address.phone.ends_with(digits)
}

/// A stored time (RFC 3339) as people write it, in the store's timezone (`offset`): 11月9日 10:21
/// / 9 Nov 10:21. A time that does not parse is given as it is.
pub fn local_time(lang: Lang, time: &str, offset: &FixedOffset) -> String {
    match parse_time(time).map(|d| d.with_timezone(offset)) {
        Some(d) if lang == Lang::Zh => d.format("%-m月%-d日 %H:%M").to_string(),
        Some(d) => d.format("%-d %b %H:%M").to_string(),
        None => time.to_string(),
    }
}

/// The sentence about a tracking event that follows another sentence (English leads with a
/// space): 最新物流（11月9日 10:21）：… / " Latest tracking (9 Nov 10:21): …".
pub fn tracking_sentence(lang: Lang, e: &TrackingEvent, offset: &FixedOffset) -> String {
    let when = local_time(lang, &e.time, offset);
    t(lang, &format!("最新物流（{when}）：{}。", e.zh), &format!(" Latest tracking ({when}): {}.", e.en))
}

/// A sentence about an order's status, latest tracking and expected delivery.
pub fn describe(lang: Lang, o: &Order, now: DateTime<FixedOffset>) -> String {
    let status = status_text(lang, o.status);
    let mut s = t(
        lang,
        &format!("订单 {} 当前状态：{status}。", o.order_no),
        &format!("Order {} is {status}.", o.order_no),
    );
    if let Some(e) = o.tracking.last() {
        s += &tracking_sentence(lang, e, now.offset());
    }
    match o.status {
        OrderStatus::Shipped => {
            if let Some(shipped) = o.shipped_at.as_deref().and_then(parse_time) {
                let (lo, hi) = delivery_days(&o.address.province);
                let (a, b) = (shipped + Duration::days(lo), shipped + Duration::days(hi));
                let late = now > b;
                s += &t(
                    lang,
                    &format!(
                        "预计 {}–{} 送达{}",
                        a.format("%m月%d日"),
                        b.format("%m月%d日"),
                        if late {
                            "，目前已超出预计时间，如仍未收到可以转人工帮您联系快递。"
                        } else {
                            "。"
                        }
                    ),
                    &format!(
                        " Expected delivery {}–{}{}",
                        a.format("%b %d"),
                        b.format("%b %d"),
                        if late {
                            "; it is past that window, so ask for an agent if it still hasn't arrived."
                        } else {
                            "."
                        }
                    ),
                );
            }
        }
        OrderStatus::Paid => {
            s += &t(
                lang,
                "当天16:00前付款的订单当天发货，否则48小时内发出。",
                " Orders paid before 16:00 ship the same day, others within 48 hours.",
            );
        }
        OrderStatus::Delivered => {
            if let Some(d) = o.delivered_at.as_deref().and_then(parse_time) {
                s += &t(
                    lang,
                    &format!("签收时间：{}。", d.format("%Y-%m-%d %H:%M")),
                    &format!(" Delivered on {}.", d.format("%Y-%m-%d %H:%M")),
                );
            }
        }
        OrderStatus::PendingPayment => {
            s += &t(
                lang,
                "下单30分钟内未付款会自动取消哦。",
                " Unpaid orders are cancelled automatically after 30 minutes.",
            );
        }
        _ => {}
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_said_in_the_store_s_timezone_as_people_write_them() {
        let east8 = FixedOffset::east_opt(8 * 3600).unwrap();
        assert_eq!(local_time(Lang::Zh, "2026-11-09T10:21:00+08:00", &east8), "11月9日 10:21");
        assert_eq!(local_time(Lang::En, "2026-11-09T02:21:00Z", &east8), "9 Nov 10:21");
        assert_eq!(local_time(Lang::En, "yesterday", &east8), "yesterday");
    }

    #[test]
    fn finds_numbers_in_text() {
        assert_eq!(find_order_number("亲 261108350912746031到哪了").as_deref(), Some("261108350912746031"));
        assert_eq!(find_order_number("2611083509127460311"), None);
        assert_eq!(
            find_order_number("where is order ２６１１０８３５０９１２７４６０３１"),
            Some("261108350912746031".into())
        );
        assert_eq!(find_phone_digits("尾号是 5193 哦").as_deref(), Some("5193"));
        assert_eq!(find_phone_digits("13812345678"), None);
    }
}
