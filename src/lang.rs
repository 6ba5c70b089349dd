//! Languages kefu speaks, language detection and text normalisation shared by every engine.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// A language of the store's content and of shoppers' messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Zh, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "zh_cn" | "cn" | "chinese" => Some(Lang::Zh),
            "en" | "en-us" | "en_us" | "en-gb" | "english" => Some(Lang::En),
            _ => None,
        }
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// True for CJK ideographs (the characters of written Chinese).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

/// The language a shopper wrote in: Chinese as soon as the text has a Chinese character
/// (mixed messages such as "我的order到哪了" are Chinese), English otherwise.
pub fn detect(text: &str) -> Lang {
    if text.chars().any(is_cjk) {
        Lang::Zh
    } else {
        Lang::En
    }
}

/// Normalise text before analysis: NFKC (full-width letters and digits become ASCII,
/// compatibility forms are folded), lower case, control characters replaced by spaces.
///
/// A turn normalises its message many times over (every phrase check does), so text that NFKC
/// leaves as it is (ASCII, and most Chinese) skips the composition machinery: same result.
pub fn normalize(text: &str) -> String {
    let tidy = |c: char| if c.is_control() { ' ' } else { c };
    if text.is_ascii() {
        return text.chars().map(|c| tidy(c).to_ascii_lowercase()).collect();
    }
    if unicode_normalization::is_nfkc_quick(text.chars()) == unicode_normalization::IsNormalized::Yes {
        return text.chars().map(tidy).flat_map(char::to_lowercase).collect();
    }
    text.nfkc().map(tidy).flat_map(char::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_language() {
        assert_eq!(detect("我的order到哪了"), Lang::Zh);
        assert_eq!(detect("where is my order"), Lang::En);
        assert_eq!(detect("😀"), Lang::En);
    }

    #[test]
    fn normalizes_full_width_and_case() {
        assert_eq!(normalize("ＸＬ码\u{0007}有吗"), "xl码 有吗");
    }

    #[test]
    fn the_short_cuts_normalise_as_nfkc_does() {
        let slow = |t: &str| -> String {
            t.nfkc().map(|c| if c.is_control() { ' ' } else { c }).flat_map(char::to_lowercase).collect()
        };
        for t in [
            "Where IS my Order?\t\u{7f}",
            "我的ORDER到哪了 运费险",
            "ＸＬ码 ①号 ﬁne Ⅻ İstanbul ΣΑΣ",
            "e\u{301} café 한국어 ㈱ ｶﾀｶﾅ",
            "",
        ] {
            assert_eq!(normalize(t), slow(t), "{t:?}");
        }
    }
}
