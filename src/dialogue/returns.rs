//! The return flow: check eligibility from the order (7-day no-reason window from delivery,
//! non-returnable items, already returned), explain shipping insurance, open a return request
//! once the shopper confirms, and report the status of an existing return.

use super::orders::card;
use super::policy::{verdict, why_not, Verdict};
use super::reply::{faq_answer, BotReply, Card, FaqLookup, Outcome};
use super::state::{DialogueState, Listed, Pending, Purpose};
use super::texts::t;
use super::{Engines, Turn};
use crate::knowledge::Order;
use crate::lang::Lang;
use crate::orders::{Created, NewReturn, OrderError};

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
pub async fn start(turn: &Turn, st: &mut DialogueState, order_no: String) -> Result<Outcome, OrderError> {
    let lang = st.lang;
    DialogueState::note(&mut st.seen.flows, &"return".to_string());
    if st.shopper_id.is_none() && !st.verified_orders.contains(&order_no) {
        st.pending = Some(Pending::PhoneDigits { order_no, purpose: Purpose::Return });
        return Ok(Outcome::reply(BotReply::text(t(
            lang,
            "为保护您的隐私，请告诉我该订单收货手机号的后4位，核对后为您办理。",
            "To protect your privacy, please tell me the last 4 digits of the phone number on that order.",
        ))));
    }
    let Some(order) = super::orders::accessible(turn, st, &order_no).await? else {
        return Ok(super::orders::not_found(lang, &order_no));
    };
    DialogueState::note(&mut st.seen.orders_discussed, &order.order_no);
    st.focus.order = Some(order.order_no.clone());
    st.unresolved = 0;
    let stored = turn.orders.returns_for(&order_no).await?;
    let engines = turn.engines.clone();
    let now = turn.clock.now();
    let v = verdict(&order, &stored, &engines, lang, now);
    let order_card = vec![card(&engines, lang, &order, &v)];
    let say =
        |text: String| Outcome::reply(BotReply { text, cards: order_card.clone(), ..Default::default() });
    let text = match v {
        Verdict::Open { id, opened, status } => {
            let (zh, en) = match status.as_str() {
                "refunded" => ("已退款", "refunded"),
                "received" => ("仓库已收货，验收后48小时内退款", "received by the warehouse"),
                "in_transit" => ("退货包裹运输中", "return parcel in transit"),
                _ => ("已提交", "opened"),
            };
            t(
                lang,
                &format!("该订单已有退货申请 {id}（{opened}），状态：{zh}。请在7天内寄回并填写退货单号，仓库收货验收后48小时内原路退款。"),
                &format!("There is already a return {id} for this order (opened {opened}, {en}). Please send the parcel back within 7 days and add the tracking number; the refund follows within 48 hours of the warehouse receiving it."),
            )
        }
        Verdict::Returned { id, status, refunded, amount } => {
            let (zh, en) = match status.as_str() {
                "refunded" => ("已退款", "refunded"),
                "received" => (
                    "仓库已收货，验收后48小时内退款",
                    "received by the warehouse; refund within 48 hours of the check",
                ),
                _ => ("退货包裹运输中", "return parcel in transit"),
            };
            t(
                lang,
                &format!(
                    "该订单的退货 {id} 状态：{zh}{}，退款金额 ¥{amount:.2}。",
                    refunded.as_ref().map(|d| format!("（{d}）")).unwrap_or_default(),
                ),
                &format!(
                    "Return {id} for this order: {en}{}, refund amount ¥{amount:.2}.",
                    refunded.as_ref().map(|d| format!(" on {d}")).unwrap_or_default(),
                ),
            )
        }
        Verdict::Unpaid => t(lang, "该订单未付款或已取消，不需要退货。", "This order is unpaid or cancelled, so there is nothing to return."),
        Verdict::NotShipped => t(
            lang,
            "该订单还没发货，可以直接在“我的订单”里取消，全额原路退款，不需要退货。",
            "This order hasn't shipped yet: cancel it in My Orders for a full refund, no return needed.",
        ),
        Verdict::InTransit => t(
            lang,
            "该订单正在运输中，可以拒收，或签收后再申请七天无理由退货。",
            "This order is on its way: you can refuse the delivery, or return it within 7 days after it arrives.",
        ),
        Verdict::AlreadyReturned => t(lang, "该订单已经退货了。", "This order has already been returned."),
        Verdict::NoDeliveryDate => t(
            lang,
            "这个订单没有签收时间记录，我没法判断退货期限，请转人工为您处理。",
            "This order has no delivery date on record, so I can't check the return window: please ask for an agent.",
        ),
        Verdict::WindowClosed { delivered: d } => t(
            lang,
            &format!("该订单 {} 签收，已超过七天无理由退货期限。如果商品有质量问题（服饰家纺30天内、灯具小家电1年保修），可以转人工为您处理。", d.format("%m月%d日")),
            &format!("This order was delivered on {}, so the 7-day no-reason return window has closed. If something is faulty (30 days for clothing and textiles, 1-year warranty for lamps and appliances), ask for an agent and we'll sort it out.", d.format("%b %d")),
        ),
        Verdict::NothingReturnable { items } => t(
            lang,
            &format!("抱歉，该订单的商品不支持七天无理由退货：{}。如有质量问题可以转人工处理。", items.join("、")),
            &format!("Sorry, the items in this order can't be returned without a reason: {}. If something is faulty, ask for an agent.", items.join(", ")),
        ),
        Verdict::Returnable { excluded } => {
            let except = |note: String| if excluded.is_empty() { String::new() } else { note };
            let mut text = t(
                lang,
                &format!(
                    "该订单符合七天无理由退货条件（签收后7天内{}）。",
                    except(format!("；注意 {} 不支持退货", excluded.join("、")))
                ),
                &format!(
                    "This order can be returned without a reason (within 7 days of delivery{}).",
                    except(format!("; note that {} cannot be returned", excluded.join(", ")))
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
            text
        }
    };
    Ok(say(text))
}

/// Opens the return after the shopper said yes: ownership and eligibility are checked again
/// (the question may have waited in a stored conversation, another conversation may have
/// opened a return meanwhile, the window may have closed), and the store opens at most one
/// return per order. The idempotency key is the conversation and the order: one conversation
/// opens at most one return per order, so a confirmation handled twice (a create retried after
/// a timeout, a message sent again) is answered with the same return.
pub async fn create(
    turn: &Turn,
    st: &mut DialogueState,
    order_no: &str,
    conversation_id: &str,
) -> Result<Outcome, OrderError> {
    let lang = st.lang;
    let Some(order) = super::orders::accessible(turn, st, order_no).await? else {
        return Ok(super::orders::not_found(lang, order_no));
    };
    let stored = turn.orders.returns_for(order_no).await?;
    let v = verdict(&order, &stored, &turn.engines, lang, turn.clock.now());
    if !matches!(v, Verdict::Returnable { .. }) {
        // things changed since the question: say how the order stands now
        return start(turn, st, order_no.to_string()).await;
    }
    let request = NewReturn {
        order_no: order_no.to_string(),
        conversation_id: Some(conversation_id.to_string()),
        reason: "no_reason".into(),
        idempotency_key: format!("{conversation_id}/{order_no}"),
    };
    let r = match turn.orders.create_return(request).await? {
        Created::Opened(r) => r,
        Created::Exists(_) => return start(turn, st, order_no.to_string()).await,
    };
    DialogueState::note(&mut st.seen.returns_created, &r.id);
    Ok(Outcome::reply(BotReply::text(t(
        lang,
        &format!("退货申请已提交，退货单号 {}。请在7天内把商品（吊牌、包装和赠品齐全）寄回，并在“我的订单 → 售后”填写退货快递单号。仓库收货验收后48小时内原路退款。", r.id),
        &format!("Your return {} is open. Please send the items back within 7 days (tags, packaging and any free gifts included) and add the tracking number under My Orders → After-sales. The refund goes back to your payment method within 48 hours of the warehouse checking it.", r.id),
    ))))
}

/// "I want to return something" without an order number. A signed-in shopper gets the
/// orders that can still be returned (cards) and why the others cannot; a guest is asked for
/// the order number (with the how-to when the question was about the policy).
pub async fn ask_which(
    turn: &Turn,
    st: &mut DialogueState,
    faq: &FaqLookup<'_>,
    text: &str,
) -> Result<Outcome, OrderError> {
    let lang = st.lang;
    let engines = turn.engines.clone();
    let Some(shopper) = st.shopper_id.clone() else {
        // a policy question ("七天无理由怎么退") gets the FAQ answer, with an offer to start a return
        if let Some(answer) = faq_answer(&engines, st, faq.get()) {
            st.pending = Some(Pending::OrderNumber { purpose: Purpose::Return });
            let offer = t(
                lang,
                "如需办理退货，发送订单号给我即可。",
                "To start a return, just send me the order number.",
            );
            return Ok(Outcome { replies: vec![answer, BotReply::text(offer)], escalate: None });
        }
        return super::orders::ask_which(turn, st, Purpose::Return, None).await;
    };
    let mut replies = Vec::new();
    // "how do returns work?" gets the policy first; "我要退货" goes straight to the orders
    if !wants_to_act(text) {
        replies.extend(faq_answer(&engines, st, faq.get()));
    }
    DialogueState::note(&mut st.seen.flows, &"return".to_string());
    let orders = turn.orders.recent_orders(&shopper, RETURN_LIST).await?;
    let now = turn.clock.now();
    let mut returnable = Vec::new();
    let mut others = Vec::new();
    for crate::orders::OrderWithReturns { order: o, returns: stored } in &orders {
        let v = verdict(o, stored, &engines, lang, now);
        match why_not(lang, &v) {
            None => returnable.push(card(&engines, lang, o, &v)),
            Some(why) => others.push(t(
                lang,
                &format!("{}（{why}）", short_name(&engines, lang, o)),
                &format!("{} ({why})", short_name(&engines, lang, o)),
            )),
        }
    }
    st.unresolved = 0;
    if returnable.is_empty() {
        st.pending = None;
        st.show(Listed::Nothing);
        let text = if orders.is_empty() {
            t(lang, "您的账号下还没有订单哦。", "There are no orders on your account yet.")
        } else {
            t(
                lang,
                &format!("您最近的订单目前都不能申请无理由退货：{}。如果商品有质量问题，可以回复“转人工”为您处理。", others.join("；")),
                &format!("None of your recent orders can be returned without a reason right now: {}. If something is faulty, say \"agent\" and a colleague will help.", others.join("; ")),
            )
        };
        replies.push(BotReply::text(text));
        return Ok(Outcome { replies, escalate: None });
    }
    st.show(Listed::Orders(
        returnable
            .iter()
            .filter_map(|c| match c {
                Card::Order { order_no, .. } => Some(order_no.clone()),
                _ => None,
            })
            .collect(),
    ));
    st.pending = Some(Pending::OrderNumber { purpose: Purpose::Return });
    let mut text = t(
        lang,
        "这些订单可以申请七天无理由退货，请问要退哪一个？点“退货”或回复“第一个”即可。",
        "These orders can be returned. Which one? Tap Return, or say \"the first one\".",
    );
    if !others.is_empty() {
        text += &t(
            lang,
            &format!("其他订单暂不能退：{}。", others.join("；")),
            &format!(" Your other orders can't be returned: {}.", others.join("; ")),
        );
    }
    replies.push(BotReply { text, cards: returnable, ..Default::default() });
    Ok(Outcome { replies, escalate: None })
}

/// Orders looked at for the signed-in return list.
const RETURN_LIST: usize = 10;

/// "我要退货", "I want to return": a request to act, not a question about the policy.
fn wants_to_act(text: &str) -> bool {
    let t = crate::lang::normalize(text);
    let question =
        ["怎么", "如何", "能不能", "可以吗", "吗", "多久", "运费", "how", "policy", "can i", "?", "？"]
            .iter()
            .any(|w| t.contains(w));
    let request = [
        "我要",
        "我想",
        "申请",
        "要退",
        "想退",
        "帮我",
        "退了",
        "i want",
        "i'd like",
        "id like",
        "please",
        "start a return",
    ]
    .iter()
    .any(|w| t.contains(w));
    request || !question
}

/// An order in a few words: its first item's name and the date.
fn short_name(engines: &Engines, lang: Lang, o: &Order) -> String {
    let first = o
        .items
        .first()
        .and_then(|it| engines.product(&it.sku))
        .map(|p| p.name.get(lang).to_string())
        .unwrap_or_else(|| o.order_no.clone());
    let more = if o.items.len() > 1 { t(lang, "等", " etc.") } else { String::new() };
    format!("{first}{more} {}", o.created_at.get(..10).unwrap_or(""))
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
