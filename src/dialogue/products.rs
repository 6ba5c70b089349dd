//! The product flow: find the product the shopper means and answer size, colour, stock,
//! material and price from the catalog data.

use super::texts::t;
use super::{BotReply, Card, DialogueState, Outcome, Router};
use crate::knowledge::Product;
use crate::lang::Lang;

/// Below this search score the product question is left to the FAQ (a policy question such as
/// "how do I pick a size" mentions no product). Chosen by trying shoppers' product questions
/// against the demo catalog: named products score 15 and more, generic questions under 10.
pub const MIN_PRODUCT_SCORE: f32 = 12.0;

pub fn card(lang: Lang, p: &Product) -> Card {
    Card::Product {
        sku: p.sku.clone(),
        name: p.name.get(lang).to_string(),
        price: p.price,
        in_stock: p.total_stock() > 0,
        colors: p.colors.iter().map(|c| c.name(lang).to_string()).collect(),
        sizes: p.sizes.clone(),
    }
}

/// Answers a product question, or `None` when no product clearly matches.
pub fn answer(router: &Router, st: &mut DialogueState, text: &str) -> Option<Outcome> {
    let lang = st.lang;
    let engines = router.engines();
    let hits = engines.products.search(text, 3).ok()?;
    let best = hits.first().filter(|h| h.score >= MIN_PRODUCT_SCORE)?;
    let p = engines.product(&best.sku)?;
    DialogueState::note(&mut st.flows, &"product".to_string());
    st.unresolved = 0;
    let lower = text.to_lowercase();
    let color = p.colors.iter().find(|c| text.contains(&c.zh) || lower.contains(&c.en.to_lowercase()));
    let size = p
        .sizes
        .iter()
        .filter(|s| s.as_str() != "one-size")
        .find(|s| contains_token(&lower, &s.to_lowercase()));
    let mut reply = t(
        lang,
        &format!("{}：¥{:.2}，材质 {}。", p.name.zh, p.price, p.material.zh),
        &format!("{}: ¥{:.2}, {}.", p.name.en, p.price, p.material.en),
    );
    match (color, size) {
        (Some(c), Some(s)) => {
            let n = p.stock(&c.id, s).unwrap_or(0);
            reply += &if n > 0 {
                t(
                    lang,
                    &format!("{}{s}码有货（库存{n}件）。", c.zh),
                    &format!(" {} in {s}: in stock ({n} left).", c.en),
                )
            } else {
                t(lang, &format!("{}{s}码暂时缺货，可以在商品页点“到货通知”，一般7–15天补货。", c.zh), &format!(" {} in {s} is out of stock; tap \"notify me\" on the product page, restocks usually take 7–15 days.", c.en))
            };
        }
        (Some(c), None) => {
            let sizes: Vec<&str> = p
                .variants
                .iter()
                .filter(|v| v.color == c.id && v.stock > 0)
                .map(|v| v.size.as_str())
                .collect();
            reply += &t(
                lang,
                &format!("{}有货的尺码：{}。", c.zh, list_or_none(lang, &sizes)),
                &format!(" {} is in stock in: {}.", c.en, list_or_none(lang, &sizes)),
            );
        }
        (None, Some(s)) => {
            let colors: Vec<&str> = p
                .variants
                .iter()
                .filter(|v| &v.size == s && v.stock > 0)
                .filter_map(|v| p.color(&v.color).map(|c| c.name(lang)))
                .collect();
            reply += &t(
                lang,
                &format!("{s}码有货的颜色：{}。", list_or_none(lang, &colors)),
                &format!(" Size {s} is in stock in: {}.", list_or_none(lang, &colors)),
            );
        }
        (None, None) => {
            let colors: Vec<&str> = p.colors.iter().map(|c| c.name(lang)).collect();
            reply += &t(
                lang,
                &format!("颜色：{}；尺码：{}。{}", colors.join("、"), p.sizes.join("/"), p.description.zh),
                &format!(
                    " Colours: {}; sizes: {}. {}",
                    colors.join(", "),
                    p.sizes.join("/"),
                    p.description.en
                ),
            );
        }
    }
    if !p.returnable {
        if let Some(r) = &p.non_returnable_reason {
            reply += &t(lang, &format!("注意：{}。", r.zh), &format!(" Note: {}.", r.en));
        }
    }
    Some(Outcome::reply(BotReply { text: reply, cards: vec![card(lang, p)], ..Default::default() }))
}

fn list_or_none(lang: Lang, items: &[&str]) -> String {
    if items.is_empty() {
        t(lang, "暂时都缺货", "none right now")
    } else {
        items.join(if lang == Lang::Zh { "、" } else { ", " })
    }
}

/// `needle` appears in `hay` not glued to other letters or digits ("xl" in "xl码", not in "xxl").
fn contains_token(hay: &str, needle: &str) -> bool {
    hay.match_indices(needle).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + needle.len()..].chars().next();
        let glued = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        !glued(before) && !glued(after)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn size_tokens_are_whole() {
        assert!(super::contains_token("有xl码吗", "xl"));
        assert!(!super::contains_token("有xxl码吗", "xl"));
        assert!(super::contains_token("38码", "38"));
        assert!(!super::contains_token("138", "38"));
    }
}
