//! Minimisation: what of a shopper's personal data each staff role sees (docs/security.md,
//! "Personal data"). Applied to the answers of the API, not in the pages, so a trainer's
//! browser never receives a phone number, an address or a name.
//!
//! - Agents (and admins) see the conversation in front of them: the shopper's name, the full
//!   address of the orders the conversation is about, and of every phone number only the last
//!   4 digits (what a guest proves an order with). The shopper's other recent orders show the
//!   city only.
//! - Trainers see what the bot was asked and answered: no names, no phone numbers, no
//!   addresses (orders keep their items, status and amounts), and phone-like numbers in the
//!   text of messages and notes are masked too.

use crate::agents::protocol::ConversationDetail;
use crate::identity::Role;
use crate::knowledge::demo::Address;

/// What replaces a name, an address line or a number a role may not see.
pub const HIDDEN: &str = "***";

/// `13800001234` → `*******1234`: the last 4 digits, the rest starred (half shown of a number
/// shorter than 7 digits).
pub fn phone_last4(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(|c| c.is_ascii_digit()).collect();
    let n = digits.len();
    let starred = if n >= 7 { n - 4 } else { n.div_ceil(2) };
    format!("{}{}", "*".repeat(starred), digits[starred..].iter().collect::<String>())
}

/// Phone numbers in free text: runs of 7 to 13 digits (a single space or `-` may separate
/// groups: `139 1234 5678`), starred but for their last 4 digits. Longer runs (order numbers,
/// 18 digits) and digits glued to letters (`KF2026…`, `92A`) stay.
pub fn text(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        // glued to a letter, or to such a run: `KF2026…`
        let after_letter = i > 0 && chars[i - 1].is_ascii_alphanumeric();
        if !chars[i].is_ascii_digit() || after_letter {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let (start, mut j, mut end, mut digits) = (i, i, i, 0);
        while j < chars.len() {
            if chars[j].is_ascii_digit() {
                digits += 1;
                j += 1;
                end = j;
            } else if matches!(chars[j], ' ' | '-') && chars.get(j + 1).is_some_and(|c| c.is_ascii_digit()) {
                j += 1;
            } else {
                break;
            }
        }
        let before_letter = chars.get(end).is_some_and(|c| c.is_ascii_alphabetic());
        let mask = (7..=13).contains(&digits) && !before_letter;
        let mut seen = 0;
        for &c in &chars[start..end] {
            if c.is_ascii_digit() {
                seen += 1;
                out.push(if mask && seen <= digits - 4 { '*' } else { c });
            } else {
                out.push(c);
            }
        }
        i = end;
    }
    out
}

/// An address reduced to its province and city, with the phone's last 4 digits.
fn city_only(a: &mut Address) {
    a.name = HIDDEN.into();
    a.phone = phone_last4(&a.phone);
    a.detail = HIDDEN.into();
}

/// Nothing of an address.
fn nothing(a: &mut Address) {
    a.name = HIDDEN.into();
    a.phone = HIDDEN.into();
    a.province = HIDDEN.into();
    a.city = HIDDEN.into();
    a.detail = HIDDEN.into();
}

/// A conversation's detail as `role` may see it.
pub fn detail(mut d: ConversationDetail, role: Role) -> ConversationDetail {
    match role {
        Role::Agent | Role::Admin => {
            let discussed: Vec<String> = d.orders.iter().map(|o| o.order_no.clone()).collect();
            for o in &mut d.orders {
                o.address.phone = phone_last4(&o.address.phone);
            }
            if let Some(s) = &mut d.shopper {
                for o in &mut s.recent_orders {
                    if discussed.contains(&o.order_no) {
                        o.address.phone = phone_last4(&o.address.phone);
                    } else {
                        city_only(&mut o.address);
                    }
                }
            }
        }
        Role::Trainer => {
            // names and streets the bot or an agent may have written into the conversation
            let mut known: Vec<String> = Vec::new();
            let addresses = d.orders.iter().chain(d.shopper.iter().flat_map(|s| s.recent_orders.iter()));
            for a in addresses.map(|o| &o.address) {
                known.push(a.name.clone());
                known.push(a.detail.clone());
            }
            known.extend(d.shopper.iter().map(|s| s.name.clone()));
            known.retain(|k| k.chars().count() >= 2 && k != HIDDEN);
            known.sort_by_key(|k| std::cmp::Reverse(k.len()));
            known.dedup();
            let scrub = |t: &str| known.iter().fold(text(t), |t, k| t.replace(k.as_str(), HIDDEN));
            for o in &mut d.orders {
                nothing(&mut o.address);
            }
            if let Some(s) = &mut d.shopper {
                s.name = HIDDEN.into();
                for o in &mut s.recent_orders {
                    nothing(&mut o.address);
                }
            }
            for m in &mut d.transcript {
                m.text = scrub(&m.text);
            }
            for n in &mut d.notes {
                n.text = scrub(&n.text);
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_keep_their_last_four_digits() {
        assert_eq!(phone_last4("13800001234"), "*******1234");
        assert_eq!(phone_last4("138-0000-1234"), "*******1234");
        assert_eq!(phone_last4("1234"), "**34");
        assert_eq!(phone_last4(""), "");
    }

    #[test]
    fn phone_numbers_in_text_are_masked_and_order_numbers_kept() {
        assert_eq!(text("我的电话13912345678，订单KF20261101001"), "我的电话*******5678，订单KF20261101001");
        assert_eq!(text("call 020 1234567 or +8613912345678"), "call *** ***4567 or +*********5678");
        assert_eq!(text("139 1234 5678"), "*** **** 5678");
        assert_eq!(text("订单 260821701512660312 已发货，3 件"), "订单 260821701512660312 已发货，3 件");
        assert_eq!(text("尺码 170/92A"), "尺码 170/92A");
    }
}
