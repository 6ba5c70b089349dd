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

/// Measure words after 第N: 第一个, 第二单, 第三件 (not 第一次, 第二天).
const CLASSIFIERS: [char; 11] = ['个', '件', '单', '条', '款', '项', '笔', '张', '种', '双', '套'];

/// Words around an English pointer that say nothing more ("the second one please").
const EN_FILLERS: [&str; 18] = [
    "the", "one", "please", "pls", "plz", "order", "item", "that", "ok", "okay", "um", "and", "what",
    "about", "i", "mean", "s", "thanks",
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
    // 第一个 / 第2个 / 第二单 / 第三件 (never 第一次, 第二天)
    for (i, _) in t.match_indices('第') {
        let rest = &t[i + '第'.len_utf8()..];
        let mut chars = rest.chars();
        let first = chars.next();
        let n = first
            .and_then(|c| c.to_digit(10).map(|d| d as usize))
            .filter(|&d| d > 0)
            .or_else(|| ZH_NUMBERS.iter().find(|(zh, _)| rest.starts_with(zh)).map(|&(_, n)| n));
        if let (Some(n), Some(unit)) = (n, chars.next()) {
            if CLASSIFIERS.contains(&unit) {
                return Some(Position::Nth(n - 1));
            }
        }
    }
    if ["最后一个", "最后一单", "最后一件", "最后那", "最后的那", "最下面", "最后面", "最底下"]
        .iter()
        .any(|w| t.contains(w))
    {
        return Some(Position::Last);
    }
    if [
        "最新的",
        "最新那",
        "最新一单",
        "最新一个",
        "最近的那",
        "最近那",
        "最近一单",
        "最近一个",
        "最近一笔",
        "刚买的那",
        "刚下的那",
        "新买的那",
    ]
    .iter()
    .any(|w| t.contains(w))
    {
        return Some(Position::Latest);
    }
    if ["上面那", "上面的那", "上面这", "上边那"].iter().any(|w| t.contains(w)) {
        return Some(Position::Above);
    }
    let words: Vec<&str> =
        t.split(|c: char| !(c.is_alphanumeric() || c == '#')).filter(|w| !w.is_empty()).collect();
    // English: the message is only the pointer ("the second one please", "number 2", "the latest")
    let content: Vec<&str> = words.iter().copied().filter(|w| !EN_FILLERS.contains(w)).collect();
    match content.as_slice() {
        ["latest"] | ["newest"] | ["recent"] | ["most", "recent"] => return Some(Position::Latest),
        ["last"] | ["bottom"] => return Some(Position::Last),
        ["above"] => return Some(Position::Above),
        [w] => {
            if let Some(&(_, n)) = EN_ORDINALS.iter().find(|(en, _)| en == w) {
                return Some(Position::Nth(n - 1));
            }
            if let Some(n) =
                w.strip_prefix('#').and_then(|n| n.parse::<usize>().ok()).filter(|n| (1..=9).contains(n))
            {
                return Some(Position::Nth(n - 1));
            }
        }
        ["number" | "no" | "option" | "#", n] => {
            if let Some(n) = n.parse::<usize>().ok().filter(|n| (1..=9).contains(n)) {
                return Some(Position::Nth(n - 1));
            }
        }
        _ => {}
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
        "这个",
        "这件",
        "这款",
        "这条",
        "这双",
        "这套",
        "这只",
        "这台",
        "这种",
        "这一款",
        "这件衣服",
        "它",
        "该商品",
        "这商品",
        "此商品",
        "这宝贝",
    ];
    if ZH.iter().any(|w| t.replace("其它", "").contains(w)) {
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

/// The shopper speaks of something they bought: "我买的牛仔裤", "the jeans I bought" ("那件"
/// alone points at a product, not a purchase).
/// A bare "我的" / "my" is not enough ("我的优惠券" is no order).
pub fn owned(text: &str) -> bool {
    let t = normalize(text);
    [
        "我买的",
        "买的那",
        "买了",
        "我那",
        "订的",
        "下单的",
        "收到的",
        "i bought",
        "i ordered",
        "i received",
        "i purchased",
        "i got",
    ]
    .iter()
    .any(|w| t.contains(w))
}

/// A message short enough to be only a pointer ("第一个", "the second one", "2"), not a new
/// question that happens to contain "first".
pub fn short(text: &str) -> bool {
    let t = text.trim();
    let cjk = t.chars().filter(|c| crate::lang::is_cjk(*c)).count();
    if cjk > 0 {
        t.chars().count() <= 12
    } else {
        t.split_whitespace().count() <= 6
    }
}

/// The message is about returning something (a tapped "退货" / "Return" button says so too).
/// English needs the words of a return ("return it", "a return", "refund"), not any "return".
pub fn mentions_return(text: &str) -> bool {
    let t = normalize(text);
    const ZH: [&str; 9] = ["退货", "退款", "退掉", "退了", "想退", "要退", "能退", "可以退", "退换"];
    const EN: [&str; 16] = [
        "return it",
        "return this",
        "return the",
        "return my",
        "return these",
        "return them",
        "return an",
        "return order",
        "return something",
        "a return",
        "to return",
        "refund",
        "send it back",
        "send back",
        "start a return",
        "returning it",
    ];
    ZH.iter().any(|w| t.contains(w)) || EN.iter().any(|w| t.contains(w))
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
        assert_eq!(position("第二天能送到吗"), None);
        assert_eq!(position("第一次买有优惠吗"), None);
        assert_eq!(position("最新款的羽绒服有吗"), None);
        assert_eq!(position("最近一周发货吗"), None);
    }

    #[test]
    fn positions_in_english() {
        assert_eq!(position("the first one"), Some(Position::Nth(0)));
        assert_eq!(position("The second one please"), Some(Position::Nth(1)));
        assert_eq!(position("2nd"), Some(Position::Nth(1)));
        assert_eq!(position("the last one"), Some(Position::Last));
        assert_eq!(position("the latest"), Some(Position::Latest));
        assert_eq!(position("the most recent one"), Some(Position::Latest));
        assert_eq!(position("and the latest?"), Some(Position::Latest));
        assert_eq!(position("number 3"), Some(Position::Nth(2)));
        assert_eq!(position("where is my order"), None);
        assert_eq!(position("I need 2 of them"), None);
        assert_eq!(position("first time buyer discount?"), None);
        assert_eq!(position("just a second"), None);
        assert_eq!(position("the last time I ordered"), None);
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
        assert!(!owned("那件大衣有L码吗"));
        assert!(!demonstrative("其它问题"));
        assert!(mentions_return("can I return it"));
        assert!(!mentions_return("I need it before I return home"));
        assert!(!mentions_return("returning customer discount?"));
        assert!(!owned("我的优惠券怎么用"));
    }
}
