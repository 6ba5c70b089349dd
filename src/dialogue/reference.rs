//! How shoppers point back at what was said: positions in the last list ("第一个", "the second
//! one", "最新的那个"), "this one" (这个 / 这件 / it), and "my order" phrases. Pure text rules,
//! no I/O: the router resolves what they point at from the [`super::DialogueState`].

use crate::lang::normalize;

/// A place in the last list shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// 0-based.
    Nth(usize),
    Last,
    /// The newest (order lists are shown newest first).
    Latest,
    /// "上面那个" / "the one above": the only item shown, or ambiguous.
    Above,
}

impl Position {
    /// The index this position picks in a list of `len`, if it picks one.
    pub fn index(self, len: usize) -> Option<usize> {
        match self {
            Position::Nth(i) if i < len => Some(i),
            Position::Nth(_) => None,
            Position::Last => len.checked_sub(1),
            Position::Latest => (len > 0).then_some(0),
            Position::Above => (len == 1).then_some(0),
        }
    }
}

const ZH_NUMBERS: [(&str, usize); 10] = [
    ("一", 1),
    ("二", 2),
    ("两", 2),
    ("三", 3),
    ("四", 4),
    ("五", 5),
    ("六", 6),
    ("七", 7),
    ("八", 8),
    ("九", 9),
];

const EN_ORDINALS: [(&str, usize); 10] = [
    ("first", 1),
    ("second", 2),
    ("third", 3),
    ("fourth", 4),
    ("fifth", 5),
    ("1st", 1),
    ("2nd", 2),
    ("3rd", 3),
    ("4th", 4),
    ("5th", 5),
];

/// A position in the last list, if the text names one. A bare number (1–9, "2号", "#2") counts
/// only when the whole message is that number.
pub fn position(text: &str) -> Option<Position> {
    let t = normalize(text);
    let t = t.trim();
    // 第一个 / 第2个 / 第二单 / 第三件
    if let Some(i) = t.find('第') {
        let rest = &t[i + '第'.len_utf8()..];
        let n = rest
            .chars()
            .next()
            .and_then(|c| c.to_digit(10).map(|d| d as usize))
            .filter(|&d| d > 0)
            .or_else(|| ZH_NUMBERS.iter().find(|(zh, _)| rest.starts_with(zh)).map(|&(_, n)| n));
        if let Some(n) = n {
            return Some(Position::Nth(n - 1));
        }
    }
    if ["最后一", "最后那", "最后的", "最下面", "最后面", "最底下"].iter().any(|w| t.contains(w)) {
        return Some(Position::Last);
    }
    if ["最新", "最近的那", "最近那", "最近一", "刚买的那", "刚下的那", "新买的那"].iter().any(|w| t.contains(w)) {
        return Some(Position::Latest);
    }
    if ["上面那", "上面的那", "上面这", "上边那"].iter().any(|w| t.contains(w)) {
        return Some(Position::Above);
    }
    let words: Vec<&str> =
        t.split(|c: char| !(c.is_alphanumeric() || c == '#')).filter(|w| !w.is_empty()).collect();
    if words.iter().any(|w| ["latest", "newest"].contains(w))
        || t.contains("most recent")
        || t.contains("last order")
        || t.contains("recent one")
    {
        return Some(Position::Latest);
    }
    if t.contains("last one") || t.contains("the last") || t.contains("bottom one") {
        return Some(Position::Last);
    }
    if t.contains("one above") || t.contains("that one above") {
        return Some(Position::Above);
    }
    for (i, w) in words.iter().enumerate() {
        if let Some(&(_, n)) = EN_ORDINALS.iter().find(|(en, _)| en == w) {
            return Some(Position::Nth(n - 1));
        }
        if ["number", "no", "option", "#"].contains(w) {
            if let Some(n) = words.get(i + 1).and_then(|n| n.parse::<usize>().ok()).filter(|n| (1..=9).contains(n)) {
                return Some(Position::Nth(n - 1));
            }
        }
        if let Some(n) = w.strip_prefix('#').and_then(|n| n.parse::<usize>().ok()).filter(|n| (1..=9).contains(n)) {
            return Some(Position::Nth(n - 1));
        }
    }
    // the whole message is a small number: "2", "2号", "选2", "2."
    let bare = t.trim_matches(|c: char| !c.is_alphanumeric()).trim_start_matches('选');
    let bare = bare.trim_end_matches(['号', '个']);
    if bare.len() == 1 {
        if let Some(d) = bare.chars().next().and_then(|c| c.to_digit(10)).filter(|&d| d > 0) {
            return Some(Position::Nth(d as usize - 1));
        }
    }
    None
}

/// "This one": 这个 / 这件 / 这款 / 它 / this / it. The product (or order) in focus or on the page.
pub fn demonstrative(text: &str) -> bool {
    let t = normalize(text);
    const ZH: [&str; 16] = [
        "这个", "这件", "这款", "这条", "这双", "这套", "这只", "这台", "这种", "这一款", "这件衣服", "它",
        "该商品", "这商品", "此商品", "这宝贝",
    ];
    if ZH.iter().any(|w| t.contains(w)) {
        return true;
    }
    let words: Vec<&str> = t.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    words.iter().any(|w| ["it", "this", "these", "that"].contains(w))
}

/// The demonstrative is about an order or a parcel ("这个订单", "this order"), not a product.
pub fn about_order(text: &str) -> bool {
    let t = normalize(text);
    ["订单", "单子", "快递", "包裹", "物流", "order", "package", "parcel", "delivery", "shipment"]
        .iter()
        .any(|w| t.contains(w))
}

/// The shopper speaks of something they bought: "我买的牛仔裤", "那件大衣", "the jeans I bought".
/// A bare "我的" / "my" is not enough ("我的优惠券" is no order).
pub fn owned(text: &str) -> bool {
    let t = normalize(text);
    [
        "我买的", "买的那", "买了", "我那", "那件", "那条", "那双", "订的", "下单的", "收到的", "i bought",
        "i ordered", "i received", "i purchased",
    ]
    .iter()
    .any(|w| t.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_in_chinese() {
        assert_eq!(position("第一个"), Some(Position::Nth(0)));
        assert_eq!(position("第2个"), Some(Position::Nth(1)));
        assert_eq!(position("要第三单的物流"), Some(Position::Nth(2)));
        assert_eq!(position("最后一个"), Some(Position::Last));
        assert_eq!(position("最新的那个"), Some(Position::Latest));
        assert_eq!(position("上面那个"), Some(Position::Above));
        assert_eq!(position("2"), Some(Position::Nth(1)));
        assert_eq!(position("选3"), Some(Position::Nth(2)));
        assert_eq!(position("我的快递到哪了"), None);
        assert_eq!(position("买了2件"), None);
    }

    #[test]
    fn positions_in_english() {
        assert_eq!(position("the first one"), Some(Position::Nth(0)));
        assert_eq!(position("The second one please"), Some(Position::Nth(1)));
        assert_eq!(position("2nd"), Some(Position::Nth(1)));
        assert_eq!(position("the last one"), Some(Position::Last));
        assert_eq!(position("the latest"), Some(Position::Latest));
        assert_eq!(position("my most recent order"), Some(Position::Latest));
        assert_eq!(position("number 3"), Some(Position::Nth(2)));
        assert_eq!(position("where is my order"), None);
        assert_eq!(position("I need 2 of them"), None);
    }

    #[test]
    fn index_in_a_list() {
        assert_eq!(Position::Nth(1).index(3), Some(1));
        assert_eq!(Position::Nth(4).index(3), None);
        assert_eq!(Position::Last.index(3), Some(2));
        assert_eq!(Position::Latest.index(0), None);
        assert_eq!(Position::Above.index(1), Some(0));
        assert_eq!(Position::Above.index(2), None);
    }

    #[test]
    fn demonstratives_and_owned() {
        assert!(demonstrative("这件有L码吗"));
        assert!(demonstrative("does this come in blue"));
        assert!(demonstrative("is it machine washable"));
        assert!(!demonstrative("重磅纯棉宽松T恤有黑色吗"));
        assert!(about_order("这个订单到哪了"));
        assert!(owned("我买的牛仔裤能退吗"));
        assert!(owned("can I return the jeans I bought"));
        assert!(!owned("我的优惠券怎么用"));
    }
}
