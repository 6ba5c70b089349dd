//! Speed of the engines on the shipped knowledge base and model:
//! `cargo bench --bench engines`. Criterion prints the per-operation times and keeps them
//! (with history) under target/criterion/.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use kefu::intent::IntentModel;
use kefu::knowledge::KnowledgeBase;
use kefu::search::{FaqIndex, ProductIndex, Thresholds};

const QUESTIONS: [&str; 6] = [
    "亲 我的快递到哪了 261108350912746031",
    "where is my order",
    "七天无理由退货怎么退",
    "can i pay with huabei installments",
    "这件T恤有XL吗 黑色的",
    "我的order到哪了",
];

fn engines(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let knowledge = root.join("knowledge");
    let kb = KnowledgeBase::load(&knowledge).expect("knowledge base");
    let thresholds = Thresholds::load(&knowledge).expect("thresholds");

    c.bench_function("knowledge load + FAQ and product index build", |b| {
        b.iter(|| {
            let kb = KnowledgeBase::load(&knowledge).unwrap();
            let f = FaqIndex::build(&kb.faqs, thresholds).unwrap();
            let p = ProductIndex::build(&kb.products).unwrap();
            black_box((f, p))
        })
    });

    let faq = FaqIndex::build(&kb.faqs, thresholds).unwrap();
    let mut i = 0;
    c.bench_function("FAQ search (ask, top 3)", |b| {
        b.iter(|| {
            i = (i + 1) % QUESTIONS.len();
            black_box(faq.ask(QUESTIONS[i], 3).unwrap())
        })
    });

    let products = ProductIndex::build(&kb.products).unwrap();
    c.bench_function("product search (top 5)", |b| {
        b.iter(|| black_box(products.search("黑色纯棉T恤 XL", 5).unwrap()))
    });

    match IntentModel::load(&root.join("models/intent")) {
        Ok(model) => {
            let mut i = 0;
            c.bench_function("intent predict (top 3)", |b| {
                b.iter(|| {
                    i = (i + 1) % QUESTIONS.len();
                    black_box(model.predict(QUESTIONS[i], 3).unwrap())
                })
            });
        }
        Err(e) => eprintln!("skipping intent predict: {e}"),
    }
}

criterion_group!(benches, engines);
criterion_main!(benches);
