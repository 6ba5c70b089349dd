//! The product flow: find the product the shopper means (named in the text, picked from a
//! list, in focus from earlier turns, or the page they are on) and answer size, colour, stock,
//! material and price from the catalog data. Follow-ups keep the focus: "那白色的呢" after a
//! question about a tee is about the tee, in white, in the size asked before.

use super::reply::{BotReply, Card, Outcome};
use super::state::{DialogueState, Listed, Pending};
use super::texts::t;
use super::Engines;
use crate::knowledge::catalog::Color;
use crate::knowledge::Product;
use crate::lang::{normalize, Lang};

/// Below this search score the product question is left to the FAQ (a policy question such as
/// "how do I pick a size" mentions no product). Chosen by trying shoppers' product questions
/// against the demo catalog: named products score 15 and more, generic questions under 10.
pub const MIN_PRODUCT_SCORE: f32 = 12.0;

/// Product suggestions offered when the shopper did not say which product.
const SUGGESTIONS: usize = 3;

/// A size as the shopper reads it: the catalog's "one-size", "custom" and "3-drawer" in their
/// language; letter sizes, numbers and measurements ("XL", "38", "1.8m", "150x200cm") as written.
pub fn size_name(lang: Lang, size: &str) -> String {
    match size {
        "one-size" => t(lang, "均码", "One size"),
        "custom" => t(lang, "定制尺寸", "Custom size"),
        _ => match size.strip_suffix("-drawer").and_then(|n| n.parse::<u32>().ok()) {
            Some(n) => t(lang, &format!("{n}层抽屉"), &format!("{n} drawers")),
            None => size.to_string(),
        },
    }
}

/// A size in a sentence: "L码" / "size L" for letter and number sizes, the size's name for the
/// others ("均码", "One size").
fn size_phrase(lang: Lang, size: &str) -> String {
    let name = size_name(lang, size);
    let plain = size.len() <= 4 && size.chars().all(|c| c.is_ascii_alphanumeric());
    match (plain, lang) {
        (true, Lang::Zh) => format!("{name}码"),
        (true, Lang::En) => format!("size {name}"),
        (false, _) => name,
    }
}

/// All of a product's sizes, by name, as "S/M/L".
fn size_list(lang: Lang, p: &Product) -> String {
    p.sizes.iter().map(|s| size_name(lang, s)).collect::<Vec<_>>().join("/")
}

pub fn card(lang: Lang, p: &Product) -> Card {
    Card::Product {
        sku: p.sku.clone(),
        name: p.name.get(lang).to_string(),
        price: p.price,
        in_stock: p.total_stock() > 0,
        colors: p.colors.iter().map(|c| c.name(lang).to_string()).collect(),
        sizes: p.sizes.iter().map(|s| size_name(lang, s)).collect(),
    }
}

/// Basic colour words: a Chinese stem (said as "白色" / "白的") and English words.
const COLOR_WORDS: [(&str, &[&str]); 17] = [
    ("白", &["white"]),
    ("黑", &["black"]),
    ("灰", &["grey", "gray"]),
    ("蓝", &["blue"]),
    ("红", &["red"]),
    ("粉", &["pink"]),
    ("绿", &["green"]),
    ("黄", &["yellow"]),
    ("紫", &["purple"]),
    ("棕", &["brown"]),
    ("咖啡", &["coffee"]),
    ("驼", &["camel"]),
    ("卡其", &["khaki"]),
    ("藏青", &["navy"]),
    ("米", &["beige", "cream"]),
    ("燕麦", &["oatmeal", "oat"]),
    ("肤", &["nude"]),
];

const LETTER_SIZES: [&str; 9] = ["xs", "s", "m", "l", "xl", "xxl", "xxxl", "2xl", "3xl"];

/// Apostrophes as keyboards type them: the ASCII one, and the curly ones phones and word
/// processors put in ("I’m"), which NFKC leaves alone.
const APOSTROPHES: [char; 5] = ['\'', '\u{2019}', '\u{2018}', '\u{02bc}', '`'];

/// The words of a text: runs of ASCII letters, digits, '.', '-' and apostrophes (so "i'm" and
/// "i’m" are one word and never the size M; every apostrophe becomes '), with the character
/// after each.
fn words(t: &str) -> Vec<(String, Option<char>)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in t.chars().chain(std::iter::once(' ')) {
        let apostrophe = APOSTROPHES.contains(&c);
        if c.is_ascii_alphanumeric() || ((c == '.' || c == '-' || apostrophe) && !cur.is_empty()) {
            cur.push(if apostrophe { '\'' } else { c });
        } else if !cur.is_empty() {
            let w = std::mem::take(&mut cur);
            out.push((w.trim_end_matches(['.', '-', '\'']).to_string(), Some(c)));
        }
    }
    out
}

/// The size a shopper asks about, as written ("L", "38", "xl"), upper-cased. A size counts as a
/// word of its own ("L码", "in XL", "有L的吗") or a number next to 码 / 号 / "size"; never
/// inside a word ("I'm", "I’m", "180cm"), nor the "m" of "I m", in English or Chinese text.
pub fn size_asked(text: &str) -> Option<String> {
    let t = normalize(text);
    for phrase in ["extra large", "x-large", "xlarge"] {
        if t.contains(phrase) {
            return Some("XL".into());
        }
    }
    let ws = words(&t);
    for (i, (w, next)) in ws.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| ws[j].0.as_str());
        // "I m 180" is "I'm" with its apostrophe lost, not the size M
        if prev == Some("i") && w.len() == 1 && !matches!(next, Some('码' | '号')) {
            continue;
        }
        if LETTER_SIZES.contains(&w.as_str()) {
            // a lone "s" or "m" in English needs a size word around it ("size m", "in m", "m码")
            let lone = w.len() == 1;
            let cjk_next = next.is_some_and(crate::lang::is_cjk);
            let sized = matches!(prev, Some("size" | "in" | "an" | "a" | "the" | "got" | "have" | "need"))
                || matches!(next, Some('码' | '号'))
                || cjk_next
                || crate::lang::detect(&t) == Lang::Zh;
            if !lone || sized {
                return Some(w.to_uppercase());
            }
        }
        if let Some(word) = ["small", "medium", "large"].iter().position(|s| s == w) {
            if matches!(prev, Some("size" | "in" | "a" | "the")) {
                return Some(["S", "M", "L"][word].into());
            }
        }
        if w.chars().all(|c| c.is_ascii_digit()) && (1..=3).contains(&w.len()) {
            // "42码", "size 42", "in 42" (not "in 2 days")
            let unit_after = ws.get(i + 1).is_some_and(|(n, _)| {
                [
                    "day", "days", "hour", "hours", "week", "weeks", "min", "mins", "minutes", "pcs",
                    "pieces", "items",
                ]
                .contains(&n.as_str())
            });
            if matches!(next, Some('码' | '号'))
                || prev == Some("size")
                || (prev == Some("in") && w.len() >= 2 && !unit_after)
            {
                return Some(w.clone());
            }
        }
    }
    None
}

/// The sizes of `p` the text names: the asked size if the product has it, or product sizes
/// written out ("100ml", "1.8m").
fn product_size<'p>(p: &'p Product, text: &str, asked: Option<&str>) -> Option<&'p String> {
    if let Some(a) = asked {
        if let Some(s) = p.sizes.iter().find(|s| s.eq_ignore_ascii_case(a)) {
            return Some(s);
        }
    }
    // "1.8米" is the size "1.8m"
    let ws = words(&normalize(text).replace('米', "m"));
    p.sizes.iter().filter(|s| s.len() >= 3).find(|s| ws.iter().any(|(w, _)| w.eq_ignore_ascii_case(s)))
}

/// The basic colour words a text names (Chinese stems said as "X色" / "X的"; English words).
fn color_words(text: &str) -> Vec<usize> {
    let t = normalize(text);
    let ws: Vec<String> = words(&t).into_iter().map(|(w, _)| w).collect();
    COLOR_WORDS
        .iter()
        .enumerate()
        .filter(|(_, (zh, en))| {
            t.contains(&format!("{zh}色"))
                || ["的", "款"].iter().any(|s| {
                    // "白的" after a pointer or at the start, never inside a word ("明白的", "网红款")
                    t.match_indices(&format!("{zh}{s}")).any(|(i, _)| {
                        t[..i]
                            .chars()
                            .next_back()
                            .is_none_or(|c| "那这要有买是选换看个件和或，, 、".contains(c))
                    })
                })
                || en.iter().any(|e| ws.iter().any(|w| w == e))
        })
        .map(|(i, _)| i)
        .collect()
}

/// What a message asks about a product's variants.
#[derive(Debug, Default)]
pub struct Asked<'p> {
    /// The product's colours the text names.
    pub colors: Vec<&'p Color>,
    /// A colour named that the product does not come in.
    pub missing_color: Option<String>,
    pub size: Option<&'p String>,
    /// A size named that the product does not come in.
    pub missing_size: Option<String>,
    /// "还有别的颜色吗" / "what other colours".
    pub other_colors: bool,
    pub other_sizes: bool,
}

pub fn asked<'p>(p: &'p Product, text: &str) -> Asked<'p> {
    let lower = normalize(text);
    let mut colors: Vec<&Color> = p
        .colors
        .iter()
        .filter(|c| lower.contains(&normalize(&c.zh)) || lower.contains(&normalize(&c.en)))
        .collect();
    let mut missing_color = None;
    if colors.is_empty() {
        for i in color_words(text) {
            let (zh, en) = COLOR_WORDS[i];
            let matching: Vec<&Color> = p
                .colors
                .iter()
                .filter(|c| c.zh.contains(zh) || en.iter().any(|e| c.en.to_lowercase().contains(e)))
                .collect();
            if matching.is_empty() {
                missing_color = Some(if crate::lang::detect(text) == Lang::Zh {
                    format!("{zh}色")
                } else {
                    en[0].to_string()
                });
            }
            colors.extend(matching);
        }
    }
    let asked_size = size_asked(text);
    let size = product_size(p, text, asked_size.as_deref());
    let missing_size = asked_size.filter(|_| size.is_none());
    let other_colors = [
        "别的颜色",
        "其他颜色",
        "其它颜色",
        "什么颜色",
        "哪些颜色",
        "几种颜色",
        "几个颜色",
        "啥颜色",
        "哪几个颜色",
        "other colo",
        "what colo",
        "which colo",
        "colours",
        "colors",
    ]
    .iter()
    .any(|w| lower.contains(w));
    let other_sizes = [
        "别的尺码",
        "其他尺码",
        "其它尺码",
        "什么码",
        "哪些码",
        "几个码",
        "哪些尺码",
        "什么尺码",
        "other size",
        "what size",
        "which size",
        "sizes",
    ]
    .iter()
    .any(|w| lower.contains(w));
    Asked { colors, missing_color, size, missing_size, other_colors, other_sizes }
}

/// Sizes of things worn: what "which size fits me" can be about.
const WORN: [&str; 4] = ["women", "men", "kids", "shoes"];

/// The FAQ entries that advise on sizes, the first the general one (by height and weight) and
/// the shoe one: a fit question about a product is answered with one of them.
const FIT_FAQS: [&str; 4] = ["size-by-height-weight", "size-between-two", "size-chart", "shoe-size"];
const FIT_FAQ: &str = FIT_FAQS[0];
const SHOE_FIT_FAQ: &str = FIT_FAQS[3];

/// A number in a text and the unit written after it ("165", "cm"; "110", "斤"): the units a
/// shopper gives their height and weight in.
fn measurements(t: &str) -> Vec<(f32, String)> {
    let mut out = Vec::new();
    let chars: Vec<char> = t.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
            i += 1;
        }
        let number: String = chars[start..i].iter().collect();
        let mut j = i;
        while j < chars.len() && chars[j] == ' ' {
            j += 1;
        }
        let unit: String =
            chars[j..].iter().take_while(|c| c.is_ascii_alphabetic() || **c == '斤').take(6).collect();
        let unit = if unit.starts_with('斤') { "斤".to_string() } else { unit };
        let unit = if chars[j..].starts_with(&['公', '斤']) { "kg".to_string() } else { unit };
        if let Ok(n) = number.parse::<f32>() {
            out.push((n, unit));
        }
    }
    out
}

/// The shopper asks which size fits them: they give their height or weight ("身高165 体重110斤",
/// "I'm 180cm 75kg", "一米七") or ask which size to take ("穿什么码", "拍几码", "what size should
/// I get"), not which sizes there are ("有什么码", "what sizes?").
pub fn asks_fit(text: &str) -> bool {
    let t = normalize(text).replace(APOSTROPHES, "'");
    // whole English words: "lightweight" is no weight
    let ws = words(&t);
    let body = ["身高", "体重", "一米", "高1", "高 1"].iter().any(|w| t.contains(w))
        || ws.iter().any(|(w, _)| ["height", "weight", "weigh", "tall"].contains(&w.as_str()))
        || measurements(&t).iter().any(|(n, unit)| match unit.as_str() {
            "cm" => (90.0..=220.0).contains(n),
            "kg" | "kgs" => (15.0..=150.0).contains(n),
            "斤" => (30.0..=300.0).contains(n),
            "lb" | "lbs" | "pounds" => (40.0..=350.0).contains(n),
            "ft" | "feet" => (3.0..=7.0).contains(n),
            _ => false,
        });
    let which = [
        "什么码",
        "啥码",
        "哪个码",
        "哪码",
        "几码",
        "多大码",
        "多大的",
        "什么尺码",
        "哪个尺码",
        "多大号",
        "几号",
    ];
    let verb = ["穿", "拍", "选", "买", "要", "适合", "该"];
    let zh = verb.iter().any(|v| which.iter().any(|w| t.contains(&format!("{v}{w}"))))
        || ["码合适", "号合适", "尺码怎么选", "码数怎么选", "怎么选码", "怎么选尺码", "选码"]
            .iter()
            .any(|w| t.contains(w));
    let en = [
        "what size should",
        "which size should",
        "what size do i",
        "which size do i",
        "what size would",
        "which size would",
        "what size will",
        "which size will",
        "what size fits",
        "which size fits",
        "what size to",
        "which size to",
        "size for me",
        "my size",
        "fit me",
        "will it fit",
        "would it fit",
    ]
    .iter()
    .any(|w| t.contains(w));
    body || zh || en
}

/// A size question about product `p` from the shopper's height and weight ("高腰直筒牛仔裤
/// 身高165 体重110斤 穿什么码"), or another fit question: the store's size advice (the size entry
/// the FAQ search found, else the one on sizes by height and weight, or on shoe sizes) and this
/// product's sizes and which are in stock. `None` when `p` is not something worn: its sizes are
/// not body sizes, so the question is not a fit question about it.
pub fn fit_answer(
    engines: &Engines,
    st: &mut DialogueState,
    p: &Product,
    faq: Option<&crate::search::FaqResult>,
) -> Option<Outcome> {
    if !WORN.contains(&p.category.as_str()) {
        return None;
    }
    let lang = st.lang;
    DialogueState::note(&mut st.seen.flows, &"product".to_string());
    st.unresolved = 0;
    st.focus_product(&p.sku);
    let found = faq
        .filter(|r| r.decision != crate::search::Decision::NoMatch)
        .and_then(|r| r.hits.iter().find(|h| FIT_FAQS.contains(&h.id.as_str())))
        .map(|h| h.id.as_str());
    let fallback = if p.category == "shoes" { SHOE_FIT_FAQ } else { FIT_FAQ };
    let advice = found.or(Some(fallback)).and_then(|id| engines.faq.faq(id)).cloned();
    let sizes: Vec<String> = p.sizes.iter().map(|s| size_name(lang, s)).collect();
    let in_stock: Vec<String> = p
        .sizes
        .iter()
        .filter(|s| p.variants.iter().any(|v| &v.size == *s && v.stock > 0))
        .map(|s| size_name(lang, s))
        .collect();
    let text = if in_stock.len() == sizes.len() {
        t(
            lang,
            &format!("{}的尺码有：{}，现在都有货。", p.name.zh, sizes.join("/")),
            &format!("{} comes in {}, all in stock now.", p.name.en, sizes.join("/")),
        )
    } else {
        t(
            lang,
            &format!(
                "{}的尺码有：{}，现在有货的：{}。",
                p.name.zh,
                sizes.join("/"),
                list_or_none(lang, &in_stock)
            ),
            &format!(
                "{} comes in {}; in stock now: {}.",
                p.name.en,
                sizes.join("/"),
                list_or_none(lang, &in_stock)
            ),
        )
    };
    let mut replies: Vec<BotReply> = advice.iter().map(|f| super::reply::faq_reply(st, f)).collect();
    replies.push(BotReply { text, cards: vec![card(lang, p)], ..Default::default() });
    Some(Outcome { replies, escalate: None })
}

/// The text names one of `p`'s own colours or sizes ("olive", "1.8m").
pub fn names_variant_of(p: &Product, text: &str) -> bool {
    let a = asked(p, text);
    !a.colors.is_empty() || a.size.is_some()
}

/// The text names a colour ("白色", "the black one").
pub fn names_color(text: &str) -> bool {
    !color_words(text).is_empty()
}

/// The text names the kind of product `p` is: the last word of its English name ("coat",
/// "jeans") or the last two characters of its Chinese name ("大衣", "仔裤", "t恤").
pub fn names_kind(p: &Product, text: &str) -> bool {
    let lower = normalize(text);
    // the last two characters of the Chinese name, digits and pack sizes aside ("T恤", "大衣")
    let zh: Vec<char> = normalize(&p.name.zh).chars().collect();
    let zh_kind: String = zh[zh.len().saturating_sub(2)..].iter().collect();
    let en = normalize(&p.name.en);
    let en_kind = en
        .split(|c: char| !c.is_alphanumeric())
        .rfind(|w| w.len() > 2 && !w.chars().any(|c| c.is_ascii_digit()));
    let singular = |w: &str| w.trim_end_matches('s').to_string();
    (zh_kind.chars().count() == 2 && lower.contains(&zh_kind))
        || en_kind.is_some_and(|k| words(&lower).iter().any(|(w, _)| singular(w) == singular(k)))
}

/// The message asks about a variant (a colour, a size, other colours or sizes) without needing
/// to name the product: a follow-up on the product in focus.
pub fn about_variant(text: &str) -> bool {
    let lower = normalize(text);
    size_asked(text).is_some()
        || asks_fit(text)
        || !color_words(text).is_empty()
        || [
            "颜色",
            "尺码",
            "码数",
            "几码",
            "库存",
            "有货",
            "现货",
            "价格",
            "多少钱",
            "材质",
            "面料",
            "什么料",
            "成分",
            "什么做的",
            "colour",
            "color",
            "size",
            "in stock",
            "price",
            "how much",
            "material",
            "fabric",
            "made of",
            "made from",
        ]
        .iter()
        .any(|w| lower.contains(w))
}

/// The words of a text that can name a product: sizes, numbers and colours taken out, so a
/// stray "L" or "2" never picks one ("0.8 L" kettle for "有L码吗") and "那白色的呢" does not
/// pick the one white product that matches best.
fn product_query(text: &str) -> String {
    let lower = normalize(text);
    let mut q = String::new();
    let mut word = String::new();
    for c in lower.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphanumeric() || c == '.' {
            word.push(c);
            continue;
        }
        let w = std::mem::take(&mut word);
        let colour = COLOR_WORDS.iter().any(|(_, en)| en.contains(&w.as_str()));
        let stray = w.chars().any(|c| c.is_ascii_digit()) || LETTER_SIZES.contains(&w.as_str()) || colour;
        if !stray {
            q.push_str(&w);
        }
        q.push(if c.is_ascii_alphanumeric() { ' ' } else { c });
    }
    for (zh, _) in COLOR_WORDS {
        for suffix in ["色", "的"] {
            q = q.replace(&format!("{zh}{suffix}"), " ");
        }
    }
    q
}

/// The product the text names, if one clearly matches.
pub fn named(engines: &Engines, text: &str) -> Option<String> {
    let hits = engines.products.search(&product_query(text), 1).ok()?;
    hits.into_iter().find(|h| h.score >= MIN_PRODUCT_SCORE).map(|h| h.sku)
}

/// Answers about product `p`, remembering the colour and size asked so that the next
/// follow-up ("那白色的呢", "what about XL?") keeps them.
pub fn answer(st: &mut DialogueState, p: &Product, text: &str) -> Outcome {
    let lang = st.lang;
    DialogueState::note(&mut st.seen.flows, &"product".to_string());
    st.unresolved = 0;
    st.focus_product(&p.sku);
    let a = asked(p, text);
    let focus = st.focus.product.as_mut().expect("just focused");
    // what this message names replaces what was in focus; what it leaves out carries over
    let named_variant =
        !a.colors.is_empty() || a.size.is_some() || a.missing_color.is_some() || a.missing_size.is_some();
    let color = match a.colors.as_slice() {
        [c] => Some(*c),
        [] if a.missing_color.is_none() && !a.other_colors => {
            focus.color.as_deref().and_then(|id| p.color(id)).filter(|_| named_variant)
        }
        _ => None,
    };
    let size = a.size.or_else(|| {
        (named_variant && a.missing_size.is_none() && !a.other_sizes)
            .then(|| focus.size.as_ref().and_then(|s| p.sizes.iter().find(|x| *x == s)))
            .flatten()
    });
    if a.colors.len() == 1 {
        focus.color = Some(a.colors[0].id.clone());
    }
    if let Some(s) = a.size {
        focus.size = Some(s.clone());
    }
    let mut reply = t(
        lang,
        &format!("{}：¥{:.2}，材质 {}。", p.name.zh, p.price, p.material.zh),
        &format!("{}: ¥{:.2}, {}.", p.name.en, p.price, p.material.en),
    );
    let in_stock_colors = |size: Option<&String>| -> Vec<&str> {
        p.colors
            .iter()
            .filter(|c| {
                p.variants.iter().any(|v| v.color == c.id && v.stock > 0 && size.is_none_or(|s| &v.size == s))
            })
            .map(|c| c.name(lang))
            .collect()
    };
    let in_stock_sizes = |color: Option<&Color>| -> Vec<String> {
        p.sizes
            .iter()
            .filter(|s| {
                p.variants
                    .iter()
                    .any(|v| &v.size == *s && v.stock > 0 && color.is_none_or(|c| v.color == c.id))
            })
            .map(|s| size_name(lang, s))
            .collect()
    };
    if let Some(c) = &a.missing_color {
        let colors: Vec<&str> = p.colors.iter().map(|c| c.name(lang)).collect();
        reply += &t(
            lang,
            &format!("这款没有{c}哦，有这些颜色：{}。", colors.join("、")),
            &format!(" It doesn't come in {c}; the colours are: {}.", colors.join(", ")),
        );
    }
    if let Some(s) = &a.missing_size {
        reply += &t(
            lang,
            &format!("这款没有{s}码，尺码有：{}。", size_list(lang, p)),
            &format!(" It doesn't come in {s}; the sizes are: {}.", size_list(lang, p)),
        );
    }
    if a.colors.len() > 1 && size.is_none() {
        for c in &a.colors {
            reply += &t(
                lang,
                &format!("{}有货的尺码：{}。", c.zh, list_or_none(lang, &in_stock_sizes(Some(c)))),
                &format!(" {} is in stock in: {}.", c.en, list_or_none(lang, &in_stock_sizes(Some(c)))),
            );
        }
    } else if a.colors.len() > 1 {
        let s = size.expect("checked");
        for c in &a.colors {
            reply += &stock_line(lang, p, c, s);
        }
    } else {
        match (color, size) {
            (Some(c), Some(s)) => reply += &stock_line(lang, p, c, s),
            (Some(c), None) => {
                reply += &t(
                    lang,
                    &format!("{}有货的尺码：{}。", c.zh, list_or_none(lang, &in_stock_sizes(Some(c)))),
                    &format!(" {} is in stock in: {}.", c.en, list_or_none(lang, &in_stock_sizes(Some(c)))),
                );
            }
            (None, Some(s)) => {
                reply += &t(
                    lang,
                    &format!(
                        "{}有货的颜色：{}。",
                        size_phrase(lang, s),
                        list_or_none(lang, &in_stock_colors(Some(s)))
                    ),
                    &format!(
                        " {} is in stock in: {}.",
                        upper_first(&size_phrase(lang, s)),
                        list_or_none(lang, &in_stock_colors(Some(s)))
                    ),
                );
            }
            (None, None) if a.other_colors || a.missing_color.is_some() => {
                reply += &t(
                    lang,
                    &format!("目前有货的颜色：{}。", list_or_none(lang, &in_stock_colors(None))),
                    &format!(" In stock now in: {}.", list_or_none(lang, &in_stock_colors(None))),
                );
            }
            (None, None) if a.other_sizes || a.missing_size.is_some() => {
                reply += &t(
                    lang,
                    &format!("目前有货的尺码：{}。", list_or_none(lang, &in_stock_sizes(None))),
                    &format!(" In stock now in sizes: {}.", list_or_none(lang, &in_stock_sizes(None))),
                );
            }
            (None, None) => {
                let colors: Vec<&str> = p.colors.iter().map(|c| c.name(lang)).collect();
                reply += &t(
                    lang,
                    &format!(
                        "颜色：{}；尺码：{}。{}",
                        colors.join("、"),
                        size_list(lang, p),
                        p.description.zh
                    ),
                    &format!(
                        " Colours: {}; sizes: {}. {}",
                        colors.join(", "),
                        size_list(lang, p),
                        p.description.en
                    ),
                );
            }
        }
    }
    if !p.returnable {
        if let Some(r) = &p.non_returnable_reason {
            reply += &t(lang, &format!("注意：{}。", r.zh), &format!(" Note: {}.", r.en));
        }
    }
    Outcome::reply(BotReply { text: reply, cards: vec![card(lang, p)], ..Default::default() })
}

fn stock_line(lang: Lang, p: &Product, c: &Color, s: &str) -> String {
    let n = p.stock(&c.id, s).unwrap_or(0);
    if n > 0 {
        t(
            lang,
            &format!("{}{}有货（库存{n}件）。", c.zh, size_phrase(lang, s)),
            &format!(" {} in {}: in stock ({n} left).", c.en, size_name(lang, s)),
        )
    } else {
        t(
            lang,
            &format!("{}{}暂时缺货，可以在商品页点“到货通知”，一般7–15天补货。", c.zh, size_phrase(lang, s)),
            &format!(" {} in {} is out of stock; tap \"notify me\" on the product page, restocks usually take 7–15 days.", c.en, size_name(lang, s)),
        )
    }
}

/// A product question that names no product, with none in focus and none on the page: asks
/// which one, with the closest products as suggestions (never a guess).
pub fn ask_which(engines: &Engines, st: &mut DialogueState, text: &str) -> Outcome {
    let lang = st.lang;
    // only products that have what was asked ("有没有M码" suggests things that come in M)
    let fits = |p: &Product| {
        let a = asked(p, text);
        a.missing_size.is_none() && a.missing_color.is_none()
    };
    let mut skus: Vec<String> = engines
        .products
        .search(&product_query(text), 20)
        .map(|hits| hits.into_iter().filter(|h| h.score > 0.0).map(|h| h.sku).collect())
        .unwrap_or_default();
    skus.retain(|sku| engines.product(sku).is_some_and(fits));
    for p in engines.catalog.iter().filter(|p| fits(p)) {
        if skus.len() >= SUGGESTIONS {
            break;
        }
        if !skus.contains(&p.sku) {
            skus.push(p.sku.clone());
        }
    }
    skus.truncate(SUGGESTIONS);
    let products: Vec<&Product> = skus.iter().filter_map(|s| engines.product(s)).collect();
    st.show(Listed::Products(products.iter().map(|p| p.sku.clone()).collect()));
    st.pending = Some(Pending::Product { question: text.to_string() });
    Outcome::reply(BotReply {
        text: t(
            lang,
            "请问您问的是哪件商品呢？可以发给我商品名称，或者在商品页面点客服，我就知道是哪件了～也可以从下面选：",
            "Which product do you mean? Send me its name, or open chat from the product's page and I'll know which one. Or pick one here:",
        ),
        suggestions: products.iter().map(|p| p.name.get(lang).to_string()).collect(),
        cards: products.iter().map(|p| card(lang, p)).collect(),
        ..Default::default()
    })
}

fn list_or_none(lang: Lang, items: &[impl AsRef<str>]) -> String {
    if items.is_empty() {
        t(lang, "暂时都缺货", "none right now")
    } else {
        items.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(if lang == Lang::Zh { "、" } else { ", " })
    }
}

/// "size L" → "Size L" at the start of a sentence.
fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_words_of_their_own() {
        assert_eq!(size_asked("有L码吗").as_deref(), Some("L"));
        assert_eq!(size_asked("这件衣服有没有L码的").as_deref(), Some("L"));
        assert_eq!(size_asked("what about XL?").as_deref(), Some("XL"));
        assert_eq!(size_asked("do you have it in m").as_deref(), Some("M"));
        assert_eq!(size_asked("38码有吗").as_deref(), Some("38"));
        assert_eq!(size_asked("do u have it in 42").as_deref(), Some("42"));
        assert_eq!(size_asked("can it arrive in 10 days"), None);
        assert_eq!(size_asked("I'm wondering if the chinos come in black"), None);
        assert_eq!(size_asked("i'm 180cm 75kg, which one fits"), None);
        assert_eq!(size_asked("身高165 体重110斤"), None);
        assert_eq!(size_asked("xxl有吗").as_deref(), Some("XXL"));
        assert_eq!(size_asked("do you have a large").as_deref(), Some("L"));
        assert_eq!(size_asked("it's too big"), None);
    }

    /// Issue 17: "I'm" was read as the size M when typed with a curly apostrophe, or in a
    /// Chinese message ("I’m 165cm 这条穿什么码"), where any lone letter counted.
    #[test]
    fn i_m_is_never_the_size_m() {
        for text in [
            "I’m wondering if the chinos come in black",
            "I‘m 180cm 75kg",
            "Iʼm 180cm 75kg, what size?",
            "I`m 180cm",
            "I m 180cm 75kg",
            "I’m 165cm 这条穿什么码",
            "I'm 165 这条裤子穿什么码",
            "i m 165 穿哪个码",
            "I’M LOOKING FOR THE CHINOS",
            "it’s for my son, he’s 12",
        ] {
            assert_eq!(size_asked(text), None, "{text}");
        }
        // a size next to 码 / 号 / size, or a word of its own, still counts
        assert_eq!(size_asked("I’m 165cm, M码有吗").as_deref(), Some("M"));
        assert_eq!(size_asked("I'm after a size m").as_deref(), Some("M"));
        assert_eq!(size_asked("I’m 165 穿M可以吗").as_deref(), Some("M"));
        assert_eq!(size_asked("有m的吗").as_deref(), Some("M"));
        assert_eq!(size_asked("do you have it in M? I’m 170").as_deref(), Some("M"));
    }

    #[test]
    fn fit_questions() {
        for text in [
            "高腰直筒牛仔裤 身高165 体重110斤 穿什么码",
            "我一米七 120斤 拍哪个码",
            "165 100斤 穿几码合适",
            "这条裤子我该拍啥码",
            "I'm 180cm 75kg",
            "I’m 180 cm and 75 kg, which size?",
            "what size should I get in the chinos",
            "5 ft 6, 120 lbs, which size fits",
            "will it fit me",
        ] {
            assert!(asks_fit(text), "{text}");
            assert!(about_variant(text), "{text}");
        }
        for text in [
            "lightweight down jacket in olive?",
            "有什么码",
            "what sizes?",
            "这款有L码吗",
            "1.8米的床单有货吗",
            "24cm的锅多少钱",
            "运费多少",
            "2kg重吗",
        ] {
            assert!(!asks_fit(text), "{text}");
        }
    }

    #[test]
    fn colour_words() {
        assert!(!color_words("那白色的呢").is_empty());
        assert!(!color_words("in blue?").is_empty());
        assert!(color_words("600蓬白鸭绒轻薄羽绒服").is_empty());
        assert!(color_words("明白的，谢谢").is_empty());
        assert!(color_words("网红款有吗").is_empty());
        assert!(color_words("1.8米的有货吗").is_empty());
        assert!(!color_words("白的有吗").is_empty());
        assert!(about_variant("还有别的颜色吗"));
        assert!(about_variant("L码有吗"));
        assert!(!about_variant("什么时候发货"));
    }
}
