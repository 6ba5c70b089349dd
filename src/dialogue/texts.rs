//! Fixed bot phrases in both languages.

use crate::lang::Lang;

/// Picks the phrase for a language.
pub fn t(lang: Lang, zh: &str, en: &str) -> String {
    match lang {
        Lang::Zh => zh.to_string(),
        Lang::En => en.to_string(),
    }
}

pub fn greeting(lang: Lang) -> String {
    t(
        lang,
        "亲，您好！我是栖木生活的智能客服，可以帮您查订单、办退货、问商品和售后政策。请问有什么可以帮您？",
        "Hi! I'm Qimu Living's assistant. I can track your orders, start a return, and answer questions about products and store policies. How can I help?",
    )
}

pub fn thanks(lang: Lang) -> String {
    t(lang, "不客气，亲！还有其他问题随时找我～", "You're welcome! Anything else, just ask.")
}

pub fn not_sure(lang: Lang) -> String {
    t(
        lang,
        "抱歉亲，我没太理解您的意思。您是想问下面这些问题吗？也可以换个说法告诉我～",
        "Sorry, I'm not sure I understood. Did you mean one of these? You can also rephrase.",
    )
}

/// A store question the bot has no answer for: suggestions and the offer of a person.
pub fn clarify(lang: Lang) -> String {
    t(
        lang,
        "亲，这个问题我还不太确定怎么回答。您是想问下面这些吗？都不是的话，回复“转人工”，我请人工客服来帮您。",
        "I'm not sure I have the answer to that yet. Is it one of these? If not, say \"agent\" and I'll get a colleague to help.",
    )
}

pub fn out_of_scope(lang: Lang) -> String {
    t(
        lang,
        "亲，这个超出我的服务范围啦。我可以帮您查订单、办理退换货、解答商品和售后问题哦。",
        "That's outside what I can do here. I can track orders, handle returns and exchanges, and answer product and policy questions.",
    )
}

pub fn escalated(lang: Lang) -> String {
    t(
        lang,
        "正在为您转接人工客服，请稍候，客服接入后会马上回复您。",
        "I'm transferring you to a human agent. Please hold on, they'll reply as soon as they join.",
    )
}

pub fn rating_scale(lang: Lang) -> Vec<String> {
    match lang {
        Lang::Zh => ["很不满意", "不满意", "一般", "满意", "很满意"],
        Lang::En => ["Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"],
    }
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The order source could not answer: say so, never guess, and offer a person.
pub fn orders_unavailable(lang: Lang) -> String {
    t(
        lang,
        "抱歉亲，订单系统暂时连接不上，我现在查不到订单和退货信息，不能给您准确答复。请稍后再问我一次，或者回复“转人工”，请人工客服为您处理。",
        "Sorry, I can't reach the order system right now, so I can't check orders or returns, and I won't guess. Please ask me again in a little while, or say \"agent\" and a colleague will help.",
    )
}
