//! FAQ and product search over the shipped knowledge base, in Chinese, English and mixed, and
//! its behaviour on hostile input.

use std::path::Path;
use std::sync::OnceLock;

use kefu::knowledge::KnowledgeBase;
use kefu::search::{Decision, FaqIndex, ProductIndex, SearchError, Thresholds};

fn knowledge() -> &'static Path {
    static P: OnceLock<std::path::PathBuf> = OnceLock::new();
    P.get_or_init(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge"))
}

fn kb() -> &'static KnowledgeBase {
    static KB: OnceLock<KnowledgeBase> = OnceLock::new();
    KB.get_or_init(|| KnowledgeBase::load(knowledge()).expect("shipped knowledge base is valid"))
}

fn faq_index() -> &'static FaqIndex {
    static I: OnceLock<FaqIndex> = OnceLock::new();
    I.get_or_init(|| FaqIndex::build(&kb().faqs, Thresholds::load(knowledge()).unwrap()).unwrap())
}

fn best(q: &str) -> (String, Decision) {
    let r = faq_index().ask(q, 3).unwrap();
    (r.best().map(|h| h.id.clone()).unwrap_or_default(), r.decision)
}

#[test]
fn chinese_questions_find_their_answers() {
    assert_eq!(best("亲 收到的衣服不喜欢 七天内能退吗").0, "return-7day-policy");
    assert_eq!(best("运费险怎么理赔").0, "shipping-insurance-claim");
    assert_eq!(best("花呗可以分期吗").0, "huabei-installments");
    let (id, decision) = best("发票怎么开");
    assert_eq!(id, "invoice-electronic");
    assert_eq!(decision, Decision::Answer);
}

#[test]
fn english_questions_find_their_answers() {
    assert_eq!(best("how much is shipping").0, "shipping-fee");
    assert_eq!(best("can i pay with credit card").0, "credit-card-pay");
    assert_eq!(best("do you deliver to hong kong").0, "no-overseas");
}

#[test]
fn mixed_language_questions_work() {
    let r = faq_index().ask("我的order到哪了 怎么查物流", 3).unwrap();
    assert_eq!(r.lang, kefu::lang::Lang::Zh, "answered in Chinese");
    assert_eq!(r.best().unwrap().id, "tracking-how");
    // short mixed questions rank the right entry first even when too short to answer outright
    assert_eq!(faq_index().ask("我的order到哪了", 3).unwrap().best().unwrap().id, "tracking-how");
    assert_eq!(best("退款几天到账 paid by 支付宝"), ("refund-timing".to_string(), Decision::Answer));
    assert_eq!(best("能开invoice吗"), ("invoice-electronic".to_string(), Decision::Answer));
}

#[test]
fn full_width_input_is_normalised() {
    assert_eq!(best("ＨＯＷ ＭＵＣＨ ＩＳ ＳＨＩＰＰＩＮＧ").0, "shipping-fee");
}

#[test]
fn off_topic_questions_are_no_match() {
    assert_eq!(best("今天北京天气怎么样").1, Decision::NoMatch);
    assert_eq!(best("write me a poem about cats").1, Decision::NoMatch);
}

#[test]
fn hostile_input_is_an_error_or_a_no_match_never_a_panic() {
    let idx = faq_index();
    assert!(matches!(idx.ask("", 3), Err(SearchError::EmptyQuery)));
    assert!(matches!(idx.ask("   \t\n ", 3), Err(SearchError::EmptyQuery)));
    let huge = "退货".repeat(50_000); // 100 KB
    assert!(matches!(idx.ask(&huge, 3), Err(SearchError::QueryTooLong { .. })));
    let r = idx.ask("😀😂👍🎉", 3).unwrap();
    assert_eq!(r.decision, Decision::NoMatch);
    assert!(r.hits.is_empty());
    let r = idx.ask("\u{0000}\u{0007}\u{001b}[31m", 3).unwrap();
    assert_eq!(r.decision, Decision::NoMatch);
    // query syntax characters are just text
    idx.ask("refund AND (title:\"x\" OR *) ~2 ^3 -", 3).unwrap();
}

#[test]
fn products_are_found_in_both_languages() {
    let products = ProductIndex::build(&kb().products).unwrap();
    for (q, word) in [("纯棉T恤", "T恤"), ("desk lamp", "lamp"), ("四件套", "四件套")] {
        let hits = products.search(q, 3).unwrap();
        let p = kb().product(&hits[0].sku).unwrap();
        let name = format!("{} {}", p.name.zh, p.name.en).to_lowercase();
        assert!(name.contains(&word.to_lowercase()), "{q} → {name}");
    }
    assert!(products.search("🙂", 3).unwrap().is_empty());
}
