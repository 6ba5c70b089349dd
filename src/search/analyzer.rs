//! Bilingual text analysis shared by the FAQ and product indexes.
//!
//! Two analyzers run over the same text:
//! - `words`: jieba word segmentation (search mode, the dictionary is compiled into jieba-rs,
//!   plus the store's own terms such as 运费险 and 七天无理由), English words lower-cased and
//!   stemmed, particles and filler (亲, 吗, the, pls) removed;
//! - `chars`: every Chinese character on its own plus stemmed English words, so a typo such as
//!   退火 for 退货 or an unknown product word still shares most of its tokens with the answer.
//!
//! Text is NFKC-normalised and lower-cased first ([`crate::lang::normalize`]), so full-width
//! letters and digits match their ASCII forms.

use std::sync::{Arc, OnceLock};

use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, Stemmer, StopWordFilter, TextAnalyzer, Token, TokenStream,
    Tokenizer,
};
use tantivy_jieba::jieba_rs::{Jieba, TokenizeMode};

use crate::lang::{is_cjk, normalize};

/// Name of the word-level analyzer in tantivy's tokenizer manager.
pub const WORDS: &str = "kefu_words";
/// Name of the character-level analyzer.
pub const CHARS: &str = "kefu_chars";

/// Store terms jieba's general dictionary does not know, kept whole when segmenting.
const STORE_TERMS: &[&str] = &[
    "七天无理由",
    "无理由",
    "运费险",
    "花呗",
    "分期",
    "免息",
    "价保",
    "价格保护",
    "退货",
    "退款",
    "换货",
    "仅退款",
    "发票",
    "专票",
    "普票",
    "税号",
    "抬头",
    "优惠券",
    "店铺券",
    "平台券",
    "积分",
    "会员",
    "金卡",
    "银卡",
    "钻石",
    "预售",
    "定金",
    "尾款",
    "包邮",
    "顺丰",
    "中通",
    "快递柜",
    "驿站",
    "签收",
    "物流",
    "尺码",
    "尺码表",
    "色差",
    "到货通知",
    "缺货",
    "补货",
    "秒杀",
    "直播",
    "注销",
    "隐私面单",
    "改派",
    "拒收",
    "保修",
    "质量问题",
    "人工",
    "转人工",
    "客服",
    "投诉",
    "货到付款",
    "信用卡",
    "储蓄卡",
    "支付宝",
    "微信支付",
    "礼盒",
    "贺卡",
    "正品",
];

/// Words that carry no meaning for retrieval.
const STOP_WORDS: &[&str] = &[
    // Chinese particles, greetings and filler
    "亲",
    "的",
    "了",
    "吗",
    "呢",
    "啊",
    "呀",
    "吧",
    "嘛",
    "哦",
    "哈",
    "噢",
    "额",
    "嗯",
    "么",
    "滴",
    "哒",
    "请问",
    "在吗",
    "在不在",
    "你好",
    "您好",
    "你们",
    "您",
    "我",
    "我的",
    "一下",
    "这个",
    "那个",
    "就",
    "都",
    "也",
    "还",
    "是",
    "要",
    "想",
    "能",
    "可以",
    "不",
    "没",
    "有",
    "吗",
    "呗",
    "把",
    "给",
    "和",
    "跟",
    "被",
    "让",
    "下",
    "个",
    "在",
    "那",
    "这",
    // English
    "a",
    "an",
    "the",
    "i",
    "me",
    "my",
    "we",
    "our",
    "you",
    "your",
    "u",
    "ur",
    "is",
    "are",
    "am",
    "was",
    "were",
    "be",
    "been",
    "do",
    "does",
    "did",
    "to",
    "of",
    "in",
    "on",
    "at",
    "for",
    "it",
    "its",
    "this",
    "that",
    "and",
    "or",
    "can",
    "could",
    "would",
    "will",
    "pls",
    "plz",
    "please",
    "hi",
    "hello",
    "hey",
    "there",
    "im",
    "just",
    "so",
    "some",
    "any",
    "get",
    "got",
    "have",
    "has",
    "with",
    "about",
    "if",
    "as",
    "by",
    "from",
    "thanks",
    "thx",
];

fn jieba() -> Arc<Jieba> {
    static JIEBA: OnceLock<Arc<Jieba>> = OnceLock::new();
    JIEBA
        .get_or_init(|| {
            let mut j = Jieba::new();
            for term in STORE_TERMS {
                j.add_word(term, Some(50_000), None);
            }
            Arc::new(j)
        })
        .clone()
}

/// A tantivy tokenizer over a shared jieba instance (cloning it is free).
#[derive(Clone)]
struct JiebaWords {
    jieba: Arc<Jieba>,
}

impl Tokenizer for JiebaWords {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let text = normalize(text);
        let offsets: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
        let tokens = self
            .jieba
            .tokenize(&text, TokenizeMode::Search, true)
            .into_iter()
            .filter(|t| t.word.chars().any(char::is_alphanumeric))
            .enumerate()
            .map(|(position, t)| Token {
                offset_from: offsets[t.start],
                offset_to: offsets[t.end],
                position,
                text: t.word.to_string(),
                position_length: 1,
            })
            .collect();
        VecTokenStream::new(tokens)
    }
}

/// Splits Chinese text into single characters and other text into alphanumeric words.
#[derive(Clone)]
struct CharsAndWords;

impl Tokenizer for CharsAndWords {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let text = normalize(text);
        let mut tokens = Vec::new();
        let mut word_start: Option<usize> = None;
        let push = |tokens: &mut Vec<Token>, from: usize, to: usize| {
            let position = tokens.len();
            tokens.push(Token {
                offset_from: from,
                offset_to: to,
                position,
                text: text[from..to].to_string(),
                position_length: 1,
            });
        };
        for (i, c) in text.char_indices() {
            if is_cjk(c) {
                if let Some(s) = word_start.take() {
                    push(&mut tokens, s, i);
                }
                push(&mut tokens, i, i + c.len_utf8());
            } else if c.is_alphanumeric() {
                word_start.get_or_insert(i);
            } else if let Some(s) = word_start.take() {
                push(&mut tokens, s, i);
            }
        }
        if let Some(s) = word_start {
            push(&mut tokens, s, text.len());
        }
        VecTokenStream::new(tokens)
    }
}

/// A token stream over tokens computed up front.
pub struct VecTokenStream {
    tokens: Vec<Token>,
    next: usize,
}

impl VecTokenStream {
    fn new(tokens: Vec<Token>) -> Self {
        VecTokenStream { tokens, next: 0 }
    }
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

fn stop_words() -> StopWordFilter {
    StopWordFilter::remove(STOP_WORDS.iter().map(|s| s.to_string()))
}

/// The word-level analyzer.
pub fn words_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(JiebaWords { jieba: jieba() })
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(stop_words())
        .filter(Stemmer::new(Language::English))
        .build()
}

/// The character-level analyzer.
pub fn chars_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(CharsAndWords)
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(stop_words())
        .filter(Stemmer::new(Language::English))
        .build()
}

/// Registers both analyzers on an index.
pub fn register(index: &tantivy::Index) {
    index.tokenizers().register(WORDS, words_analyzer());
    index.tokenizers().register(CHARS, chars_analyzer());
}

/// The tokens an analyzer produces for `text`, in order.
pub fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_segment_chinese_and_stem_english() {
        let t = tokens(&mut words_analyzer(), "亲 七天无理由退货 Returns shipping");
        assert!(t.contains(&"七天无理由".to_string()), "{t:?}");
        assert!(t.contains(&"退货".to_string()), "{t:?}");
        assert!(t.contains(&"return".to_string()), "{t:?}");
        assert!(t.contains(&"ship".to_string()), "{t:?}");
        assert!(!t.contains(&"亲".to_string()), "{t:?}");
    }

    #[test]
    fn chars_split_cjk_and_keep_words() {
        let t = tokens(&mut chars_analyzer(), "我的Order到哪了？ＸＬ");
        assert_eq!(t, vec!["order", "到", "哪", "xl"]);
    }

    #[test]
    fn emoji_and_control_characters_give_no_tokens() {
        assert!(tokens(&mut words_analyzer(), "😀😀 \u{0007}\u{0000}").is_empty());
        assert!(tokens(&mut chars_analyzer(), "😀😀 \u{0007}").is_empty());
    }
}
