//! The return flow: check eligibility from the order (7-day no-reason window from delivery,
//! non-returnable items, already returned), explain shipping insurance, open a return request
//! once the shopper confirms, and report the status of an existing return.

use chrono::Duration;

use super::orders::{card, parse_time};
use super::texts::t;
use super::{BotReply, DialogueState, Outcome, Pending, Purpose, Router};
use crate::knowledge::demo::OrderStatus;
use crate::search::FaqResult;
use crate::store::StoreError;

/// The no-reason return window after delivery.
pub const RETURN_DAYS: i64 = 7;

/// Yes (true), no (false) or neither: whole answers only, so a question such as
/// "是不是要我自己付运费？" or "可以换货吗" is never taken for a yes.
pub fn yes_or_no(text: &str) -> Option<bool> {
    let t = text.trim().to_lowercase();
    let t: String =
        t.chars().filter(|c| c.is_alphanumeric() || crate::lang::is_cjk(*c) || *c == ' ').collect();
    let t = t.trim();
    const NO: [&str; 14] = [
        "不",
        "不要",
        "不用",
        "不用了",
        "不要了",
        "算了",
        "取消",
        "先不",
        "no",
        "nope",
        "cancel",
        "no thanks",
        "dont",
        "not now",
    ];
    const YES: [&str; 19] = [
        "是",
        "是的",
        "确认",
        "确认退货",
        "确定",
        "好",
        "好的",
        "对",
        "对的",
        "可以",
        "要",
        "嗯",
        "yes",
        "y",
        "ok",
        "okay",
        "confirm",
        "sure",
        "yes please",
    ];
    if NO.contains(&t) {
        Some(false)
    } else if YES.contains(&t) {
        Some(true)
    } else {
        None
    }
}

/// The shopper wants to return something from `order_no`.
pub async fn start(
    router: &Router,
    st: &mut DialogueState,
    order_no: String,
    _conversation_id: &str,
) -> Result<Outcome, StoreError> {
    let lang = st.lang;
    DialogueState::note(&mut st.flows, &"return".to_string());
    if st.shopper_id.is_none() && !st.verified_orders.contains(&order_no) {
        st.pending = Some(Pending::PhoneDigits { order_no, purpose: Purpose::Return });
        return Ok(Outcome::reply(BotReply::text(t(
            lang,
            "为保护您的隐私，请告诉我该订单收货手机号的后4位，核对后为您办理。",
            "To protect your privacy, please tell me the last 4 digits of the phone number on that order.",
        ))));
    }
    let order = match router.store.order(order_no.clone()).await? {
        Some(o)
            if st.shopper_id.as_deref() == Some(o.shopper_id.as_str())
                || st.verified_orders.contains(&order_no) =>
        {
            o
        }
        _ => {
            return Ok(Outcome::reply(BotReply::text(t(
                lang,
                &format!("亲，没有找到您名下的订单 {order_no}，请核对订单号。"),
                &format!("I couldn't find an order {order_no} under your account. Please check the number."),
            ))))
        }
    };
    DialogueState::note(&mut st.orders_discussed, &order.order_no);
    st.unresolved = 0;
    let order_card = vec![card(router, lang, &order)];
    let say =
        |text: String| Outcome::reply(BotReply { text, cards: order_card.clone(), ..Default::default() });

    // an existing return: report it
    let stored = router.store.returns_for(order_no.clone()).await?;
    if let Some(r) = stored.last() {
        let (zh, en) = match r.status.as_str() {
            "refunded" => ("已退款", "refunded"),
            "received" => ("仓库已收货，验收后48小时内退款", "received by the warehouse"),
            "in_transit" => ("退货包裹运输中", "return parcel in transit"),
            _ => ("已提交", "opened"),
        };
        return Ok(say(t(
            lang,
            &format!("该订单已有退货申请 {}（{}），状态：{zh}。请在7天内寄回并填写退货单号，仓库收货验收后48小时内原路退款。", r.id, r.created_at.get(..10).unwrap_or("")),
            &format!("There is already a return {} for this order (opened {}, {en}). Please send the parcel back within 7 days and add the tracking number; the refund follows within 48 hours of the warehouse receiving it.", r.id, r.created_at.get(..10).unwrap_or("")),
        )));
    }
    if let Some(r) = &order.return_info {
        let (zh, en) = match r.status.as_str() {
            "refunded" => ("已退款", "refunded"),
            "received" => (
                "仓库已收货，验收后48小时内退款",
                "received by the warehouse; refund within 48 hours of the check",
            ),
            _ => ("退货包裹运输中", "return parcel in transit"),
        };
        let when = r.refunded_at.as_deref().map(|d| d.get(..10).unwrap_or(d).to_string());
        return Ok(say(t(
            lang,
            &format!(
                "该订单的退货 {} 状态：{zh}{}，退款金额 ¥{:.2}。",
                r.return_id,
                when.as_ref().map(|d| format!("（{d}）")).unwrap_or_default(),
                r.refund_amount
            ),
            &format!(
                "Return {} for this order: {en}{}, refund amount ¥{:.2}.",
                r.return_id,
                when.map(|d| format!(" on {d}")).unwrap_or_default(),
                r.refund_amount
            ),
        )));
    }
    match order.status {
        OrderStatus::PendingPayment | OrderStatus::Cancelled => {
            return Ok(say(t(lang, "该订单未付款或已取消，不需要退货。", "This order is unpaid or cancelled, so there is nothing to return.")))
        }
        OrderStatus::Paid => {
            return Ok(say(t(
                lang,
                "该订单还没发货，可以直接在“我的订单”里取消，全额原路退款，不需要退货。",
                "This order hasn't shipped yet: cancel it in My Orders for a full refund, no return needed.",
            )))
        }
        OrderStatus::Shipped => {
            return Ok(say(t(
                lang,
                "该订单正在运输中，可以拒收，或签收后再申请七天无理由退货。",
                "This order is on its way: you can refuse the delivery, or return it within 7 days after it arrives.",
            )))
        }
        OrderStatus::Returned => {
            return Ok(say(t(lang, "该订单已经退货了。", "This order has already been returned.")))
        }
        OrderStatus::Delivered => {}
    }
    let now = router.clock.now();
    let Some(d) = order.delivered_at.as_deref().and_then(parse_time) else {
        return Ok(say(t(
            lang,
            "这个订单没有签收时间记录，我没法判断退货期限，请转人工为您处理。",
            "This order has no delivery date on record, so I can't check the return window: please ask for an agent.",
        )));
    };
    {
        if now > d + Duration::days(RETURN_DAYS) {
            return Ok(say(t(
                lang,
                &format!("该订单 {} 签收，已超过七天无理由退货期限。如果商品有质量问题（服饰家纺30天内、灯具小家电1年保修），可以转人工为您处理。", d.format("%m月%d日")),
                &format!("This order was delivered on {}, so the 7-day no-reason return window has closed. If something is faulty (30 days for clothing and textiles, 1-year warranty for lamps and appliances), ask for an agent and we'll sort it out.", d.format("%b %d")),
            )));
        }
    }
    let engines = router.engines();
    let blocked: Vec<String> = order
        .items
        .iter()
        .filter_map(|it| engines.product(&it.sku))
        .filter(|p| !p.returnable)
        .map(|p| {
            let why = p.non_returnable_reason.as_ref().map(|r| r.get(lang).to_string()).unwrap_or_default();
            format!("{}（{why}）", p.name.get(lang))
        })
        .collect();
    if blocked.len() == order.items.len() {
        return Ok(say(t(
            lang,
            &format!("抱歉，该订单的商品不支持七天无理由退货：{}。如有质量问题可以转人工处理。", blocked.join("、")),
            &format!("Sorry, the items in this order can't be returned without a reason: {}. If something is faulty, ask for an agent.", blocked.join(", ")),
        )));
    }
    let except = |note: String| if blocked.is_empty() { String::new() } else { note };
    let mut text = t(
        lang,
        &format!(
            "该订单符合七天无理由退货条件（签收后7天内{}）。",
            except(format!("；注意 {} 不支持退货", blocked.join("、")))
        ),
        &format!(
            "This order can be returned without a reason (within 7 days of delivery{}).",
            except(format!("; note that {} cannot be returned", blocked.join(", ")))
        ),
    );
    text += &if order.shipping_insurance {
        t(lang, "您的订单有运费险：退货寄出并填写单号后自动理赔，72小时内赔付¥5–25到原账户。", " Your order has shipping insurance: once the return is sent with a tracking number, the claim is automatic and ¥5–25 is paid to your account within 72 hours.")
    } else {
        t(
            lang,
            "该订单没有运费险，无理由退货的寄回运费需要您承担。",
            " This order has no shipping insurance, so the return postage for a no-reason return is yours.",
        )
    };
    text += &t(
        lang,
        "确认要为这个订单申请退货吗？（回复“确认”或“取消”）",
        " Shall I open the return for this order? (reply yes or no)",
    );
    st.pending = Some(Pending::ConfirmReturn { order_no });
    Ok(say(text))
}

/// Opens the return after the shopper said yes.
pub async fn create(
    router: &Router,
    st: &mut DialogueState,
    order_no: &str,
    conversation_id: &str,
) -> Result<Outcome, StoreError> {
    let lang = st.lang;
    let r = router
        .store
        .create_return(order_no.to_string(), Some(conversation_id.to_string()), "no_reason".into())
        .await?;
    DialogueState::note(&mut st.returns_created, &r.id);
    Ok(Outcome::reply(BotReply::text(t(
        lang,
        &format!("退货申请已提交，退货单号 {}。请在7天内把商品（吊牌、包装和赠品齐全）寄回，并在“我的订单 → 售后”填写退货快递单号。仓库收货验收后48小时内原路退款。", r.id),
        &format!("Your return {} is open. Please send the items back within 7 days (tags, packaging and any free gifts included) and add the tracking number under My Orders → After-sales. The refund goes back to your payment method within 48 hours of the warehouse checking it.", r.id),
    ))))
}

/// "I want to return something" without an order number.
pub async fn ask_which(
    router: &Router,
    st: &mut DialogueState,
    faq: Option<&FaqResult>,
) -> Result<Outcome, StoreError> {
    let lang = st.lang;
    // a policy question ("七天无理由怎么退") gets the FAQ answer, with an offer to start a return
    if let Some(answer) = router.faq_answer(&router.engines(), st, faq) {
        st.pending = Some(Pending::OrderNumber { purpose: Purpose::Return });
        let offer = t(
            lang,
            "如需办理退货，发送订单号给我即可。",
            "To start a return, just send me the order number.",
        );
        return Ok(Outcome { replies: vec![answer, BotReply::text(offer)], escalate: None });
    }
    super::orders::ask_which(router, st, Purpose::Return, None).await
}

#[cfg(test)]
mod tests {
    use super::yes_or_no;

    #[test]
    fn understands_yes_and_no() {
        assert_eq!(yes_or_no("确认"), Some(true));
        assert_eq!(yes_or_no("好的！"), Some(true));
        assert_eq!(yes_or_no("Yes please"), Some(true));
        assert_eq!(yes_or_no("不要了"), Some(false));
        assert_eq!(yes_or_no("是不是要我自己付运费？"), None);
        assert_eq!(yes_or_no("可以换货吗"), None);
        assert_eq!(yes_or_no("you mean the shirt?"), None);
        assert_eq!(yes_or_no("no"), Some(false));
        assert_eq!(yes_or_no("运费谁出"), None);
    }
}
