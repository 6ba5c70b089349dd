//! Model versions for tests that need one besides the shipped model.

use std::path::Path;

use kefu::eval::intents::IntentReport;
use kefu::intent::data::Example;
use kefu::intent::train::{train, TrainOptions};
use kefu::intent::IntentModel;
use kefu::models::registry::{Meta, Registry};

use super::server::root;

/// Fifteen examples of three intents: enough to train a (poor) model in a moment.
pub fn tiny() -> Vec<Example> {
    let mut ex = Vec::new();
    for (label, texts) in [
        (
            "order_status",
            ["我的快递到哪了", "where is my order", "订单发货了吗", "has my parcel shipped", "查一下物流"],
        ),
        (
            "return_refund",
            ["我要退货", "i want a refund", "七天无理由退货", "how do i return this", "退款什么时候到"],
        ),
        (
            "out_of_scope",
            ["今天天气怎么样", "tell me a joke", "1+1等于几", "who won the football", "推荐个电影"],
        ),
    ] {
        for t in texts {
            ex.push(Example::new(t, label));
        }
    }
    ex
}

/// Small training options for [`tiny`].
pub fn tiny_opts() -> TrainOptions {
    TrainOptions { epochs: 5, dim: 16, buckets: 256, dev_fraction: 0.2, ..TrainOptions::default() }
}

/// A tiny (poor) model with the metadata and held-out report a training job would save.
pub fn tiny_version() -> (IntentModel, Meta, IntentReport) {
    let (model, _) = train(&tiny(), &tiny_opts()).unwrap();
    let test = kefu::models::load_held_out(&root().join("knowledge/eval/intents")).unwrap();
    let report = kefu::eval::intents::evaluate(&model, &test).unwrap();
    let meta = Meta {
        version: String::new(),
        created: "2026-11-25T01:02:03Z".into(),
        who: "test".into(),
        parent: "shipped".into(),
        seed: 42,
        epochs: 5,
        examples: 15,
        examples_zh: 8,
        examples_en: 7,
        labels: 3,
        held_out_examples: test.len(),
        training_seconds: 0.0,
    };
    (model, meta, report)
}

/// The registry of model versions under `store`, beside the shipped model.
pub fn registry(store: &Path) -> Registry {
    Registry::new(store, root().join("models/intent"))
}

/// A tiny (poor) model saved as a version of the server's model store, as a training job would.
pub fn save_tiny_version(store: &Path) -> String {
    let (model, mut meta, report) = tiny_version();
    registry(store).save(&model, &mut meta, &report).unwrap()
}
