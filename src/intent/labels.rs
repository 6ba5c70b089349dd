//! The store's intent labels. Other parts (FAQ links, the dialogue router, tests) use these
//! names; the classifier itself accepts any label set (public benchmarks have their own).

/// The label of messages the store does not handle (chit-chat, other shops, nonsense).
pub const OUT_OF_SCOPE: &str = "out_of_scope";

/// Every intent of the store, out-of-scope last.
pub const STORE_INTENTS: [&str; 13] = [
    "order_status",
    "return_refund",
    "product_question",
    "shipping_delivery",
    "payment",
    "promotion_coupon",
    "account_membership",
    "invoice",
    "complaint",
    "human_agent",
    "greeting",
    "thanks_goodbye",
    OUT_OF_SCOPE,
];

/// True when `label` is one of the store's intents.
pub fn is_store_intent(label: &str) -> bool {
    STORE_INTENTS.contains(&label)
}
