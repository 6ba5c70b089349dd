//! Speed of the engines on the shipped knowledge base and model, the dialogue router's whole
//! decision, and storing a message durably: `cargo bench --bench engines`. Criterion prints the
//! per-operation times and keeps them (with history) under target/criterion/.

use kefu::store::prelude::*;
use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use kefu::config::Config;
use kefu::dialogue::DialogueState;
use kefu::intent::IntentModel;
use kefu::knowledge::KnowledgeBase;
use kefu::lang::Lang;
use kefu::search::{FaqIndex, ProductIndex, Thresholds};

const QUESTIONS: [&str; 6] = [
    "亲 我的快递到哪了 261108350912746031",
    "where is my order",
    "七天无理由退货怎么退",
    "can i pay with huabei installments",
    "这件T恤有XL吗 黑色的",
    "我的order到哪了",
];

/// Settles candle's thread count once, as `kefu serve` does (src/main.rs): without it candle
/// reads /proc/cpuinfo on every matrix product, a cost the server does not pay (until issue 22
/// it was in these figures: about half of the router decision's 377 µs). The first group runs
/// before any other thread exists.
fn like_the_server() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    }
}

fn engines(c: &mut Criterion) {
    like_the_server();
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

/// Long, noisy shopper messages (written for this bench: fillers, typos, placeholders, a link).
const NOISY: [&str; 4] = [
    "你好 亲 在吗在吗 我上礼拜买的那个蓝牙耳机 左边一直没声音 充满电也不行 想腿货 运费是我出还是你们出啊 能到付吗？？？",
    "hi there, so i ordered a phone case last week and it still hasnt arrived?? order [number] can u check, i need it by friday thx",
    "在吗 免邮卷为啥用不了 订单号：9*** 商品链接 https://item.example.com/100012345678.html 急急急！！！",
    "ok so the blender i got stopped working after like 3 days and i want to retrun it or get a refnd, whats the adress to send it back",
];

/// The classifier on long noisy messages, and training it on the shipped data (`kefu train`'s
/// defaults, both fits).
fn intent(c: &mut Criterion) {
    like_the_server();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    match IntentModel::load(&root.join("models/intent")) {
        Ok(model) => {
            let mut i = 0;
            c.bench_function("intent predict (top 3, long noisy message)", |b| {
                b.iter(|| {
                    i = (i + 1) % NOISY.len();
                    black_box(model.predict(NOISY[i], 3).unwrap())
                })
            });
        }
        Err(e) => eprintln!("skipping intent predict: {e}"),
    }
    let examples = kefu::intent::data::load(&root.join("knowledge/intents"), None).expect("intent data");
    let mut group = c.benchmark_group("intent train");
    group.sample_size(10);
    group.bench_function("shipped data, defaults", |b| {
        b.iter(|| black_box(kefu::intent::train::train(&examples, &Default::default()).unwrap()))
    });
    group.finish();
}

/// The router's decision for a message (classifier + FAQ search + flows + the store reads they
/// need), and a shopper message stored durably (its own fsync: the cost of a message at low
/// load; under load, group commit shares the fsync).
fn message_path(c: &mut Criterion) {
    like_the_server();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        database: dir.path().join("kefu.db"),
        knowledge: root.join("knowledge"),
        model: root.join("models/intent"),
        fixed_time: Some("2026-11-25T09:00:00+08:00".into()),
        ..Config::default()
    };
    let clock = config.clock();
    let Ok(app) = rt.block_on(kefu::app::build(config, clock)) else {
        eprintln!("skipping router and store benchmarks: the service did not start");
        return;
    };
    let router = app.router.clone();
    let conv = rt.block_on(app.store.open_conversation(Some("S1001".into()), Lang::Zh)).unwrap();
    let mut i = 0;
    c.bench_function("router decision (one message, fresh dialogue state)", |b| {
        b.iter(|| {
            i = (i + 1) % QUESTIONS.len();
            let mut st = DialogueState::new(Lang::Zh, Some("S1001".into()));
            black_box(rt.block_on(router.handle(&mut st, &conv.id, QUESTIONS[i], None)).unwrap())
        })
    });
    let mut n = 0u64;
    c.bench_function("store a shopper message (committed, fsync)", |b| {
        b.iter(|| {
            n += 1;
            let store = &app.store;
            black_box(
                rt.block_on(store.accept_shopper_message(
                    conv.id.clone(),
                    format!("b{n}"),
                    "运费险怎么理赔".into(),
                    true,
                ))
                .unwrap(),
            )
        })
    });
    c.bench_function("store 64 shopper messages concurrently (group commit)", |b| {
        b.iter(|| {
            let futs = (0..64).map(|_| {
                n += 1;
                app.store.accept_shopper_message(
                    conv.id.clone(),
                    format!("b{n}"),
                    "运费险怎么理赔".into(),
                    true,
                )
            });
            black_box(rt.block_on(futures_util::future::join_all(futs)))
        })
    });
}

criterion_group!(benches, engines, intent, message_path);
criterion_main!(benches);
