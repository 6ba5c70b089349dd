//! The intent classifier: trains on a tiny data set, saves and loads identically, refuses broken
//! model files clearly, and handles any input text.

use std::fs;

use kefu::intent::data::Example;
use kefu::intent::train::{train, TrainOptions};
use kefu::intent::{tokenizer, IntentError, IntentModel};

fn tiny() -> Vec<Example> {
    let mut ex = Vec::new();
    for (label, texts) in [
        (
            "order_status",
            &[
                "我的快递到哪了",
                "where is my order",
                "订单发货了吗",
                "has my parcel shipped",
                "查一下物流",
                "track my package",
            ][..],
        ),
        (
            "return_refund",
            &[
                "我要退货",
                "i want a refund",
                "七天无理由退货",
                "how do i return this",
                "退款什么时候到",
                "send it back for money",
            ][..],
        ),
        ("greeting", &["你好", "hello", "在吗", "hi there", "亲在不在", "good morning"][..]),
        (
            "out_of_scope",
            &[
                "今天天气怎么样",
                "tell me a joke",
                "1+1等于几",
                "who won the football",
                "推荐个电影",
                "write python code",
            ][..],
        ),
    ] {
        for t in texts {
            ex.push(Example::new(*t, label));
        }
    }
    ex
}

fn opts() -> TrainOptions {
    TrainOptions {
        epochs: 60,
        dim: 16,
        hidden: 16,
        buckets: 512,
        dev_fraction: 0.0,
        ..TrainOptions::default()
    }
}

#[test]
fn a_tiny_data_set_trains_and_predicts_its_own_examples() {
    let data = tiny();
    let (model, _) = train(&data, &opts()).unwrap();
    let mut right = 0;
    for e in &data {
        let p = model.predict(&e.text, 3).unwrap();
        assert_eq!(p.top.len(), 3);
        assert!(p.top.windows(2).all(|w| w[0].1 >= w[1].1), "sorted by probability");
        right += (p.intent == e.label) as usize;
    }
    assert!(right >= data.len() - 1, "{right} of {} right", data.len());
}

#[test]
fn training_is_deterministic_for_a_seed() {
    let data = tiny();
    let (a, _) = train(&data, &opts()).unwrap();
    let (b, _) = train(&data, &opts()).unwrap();
    for t in ["我的快递", "refund please", "🙂"] {
        assert_eq!(a.probabilities(&[t]).unwrap(), b.probabilities(&[t]).unwrap());
    }
}

#[test]
fn save_then_load_gives_identical_outputs() {
    let (model, _) = train(&tiny(), &opts()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    let loaded = IntentModel::load(dir.path()).unwrap();
    for t in ["我的快递到哪了", "i want my money back", "asdfgh", ""] {
        assert_eq!(model.predict(t, 3).unwrap(), loaded.predict(t, 3).unwrap());
    }
}

#[test]
fn broken_or_mismatched_model_files_are_clear_errors() {
    let (model, _) = train(&tiny(), &opts()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = |dir: &std::path::Path| match IntentModel::load(dir) {
        Err(IntentError::Files(m)) => m,
        Err(e) => panic!("wrong error kind: {e}"),
        Ok(_) => panic!("loaded a broken model"),
    };
    // missing directory
    assert!(err(&dir.path().join("nope")).contains("config.json"));
    // corrupt weights
    model.save(dir.path()).unwrap();
    fs::write(dir.path().join("model.safetensors"), b"not a safetensors file").unwrap();
    assert!(err(dir.path()).contains("model.safetensors"));
    // weights of another shape
    model.save(dir.path()).unwrap();
    let mut cfg: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("config.json")).unwrap()).unwrap();
    cfg["dim"] = serde_json::json!(32);
    fs::write(dir.path().join("config.json"), cfg.to_string()).unwrap();
    assert!(err(dir.path()).contains("disagree"));
    // tokenizer from another training
    model.save(dir.path()).unwrap();
    let other = tokenizer::train(&["completely different words".to_string()], 100).unwrap();
    tokenizer::save(&other, &dir.path().join("tokenizer.json")).unwrap();
    assert!(err(dir.path()).contains("different trainings"));
    // garbage config
    fs::write(dir.path().join("config.json"), "{").unwrap();
    assert!(err(dir.path()).contains("config.json is invalid"));
}

#[test]
fn tokenizer_handles_chinese_english_mixed_emoji_and_empty_input() {
    let texts: Vec<String> = [
        "我的快递到哪了",
        "where is my order",
        "我的order到哪了",
        "return it",
        "ＦＵＬＬ　ｗｉｄｔｈ",
        "订单261108350912746031",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let t = tokenizer::train(&texts, 500).unwrap();
    let (_, toks) = tokenizer::encode(&t, "我的order到哪了").unwrap();
    assert_eq!(toks, vec!["我", "的", "order", "到", "哪", "了"]);
    // full-width forms are folded, case is folded
    let (_, toks) = tokenizer::encode(&t, "ＯＲＤＥＲ").unwrap();
    assert_eq!(toks, vec!["order"]);
    // an unseen English word splits into known pieces or [UNK], never vanishes
    let (_, toks) = tokenizer::encode(&t, "returned").unwrap();
    assert!(!toks.is_empty());
    // emoji and unseen characters map to [UNK] instead of being dropped
    let (_, toks) = tokenizer::encode(&t, "到了吗😡").unwrap();
    assert_eq!(toks.last().map(String::as_str), Some(tokenizer::UNK));
    // order numbers become one placeholder token
    let (_, toks) = tokenizer::encode(&t, "261108350912746031到哪了").unwrap();
    assert_eq!(toks, vec!["0000", "到", "哪", "了"]);
    assert!(tokenizer::encode(&t, "").unwrap().0.is_empty());
}

#[test]
fn any_text_gets_a_prediction() {
    let (model, _) = train(&tiny(), &opts()).unwrap();
    for t in ["", "   ", "😀😀😀", "\u{0000}\u{0007}", &"退货".repeat(20_000)] {
        let p = model.predict(t, 3).unwrap();
        assert!(p.confidence.is_finite());
    }
}

#[test]
fn the_model_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<IntentModel>();
    let (model, _) = train(&tiny(), &opts()).unwrap();
    let model = std::sync::Arc::new(model);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let m = model.clone();
            std::thread::spawn(move || m.predict("where is my order", 1).unwrap().intent)
        })
        .collect();
    let answers: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
}

/// The shipped model in models/intent loads and does its job (it is trained by `kefu train`).
#[test]
fn the_shipped_model_classifies_store_messages() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/intent");
    let model = IntentModel::load(&dir).expect("shipped model loads");
    assert_eq!(model.labels().len(), kefu::intent::labels::STORE_INTENTS.len());
    for (text, intent) in [
        ("亲 我的快递到哪了", "order_status"),
        ("where is my parcel 261108350912746031", "order_status"),
        ("我要退货", "return_refund"),
        ("转人工", "human_agent"),
        ("can i get an invoice", "invoice"),
        ("今天天气怎么样", "out_of_scope"),
    ] {
        assert_eq!(model.predict(text, 3).unwrap().intent, intent, "{text}");
    }
}

/// The shipped model meets its targets on the held-out test set (knowledge/eval/intents).
#[test]
fn the_shipped_model_meets_its_targets_on_held_out_data() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = IntentModel::load(&root.join("models/intent")).unwrap();
    let test = kefu::intent::data::load(&root.join("knowledge/eval/intents"), None).unwrap();
    let r = kefu::eval::intents::evaluate(&model, &test).unwrap();
    for l in &r.per_lang {
        assert!(l.accuracy >= 0.95, "{}: accuracy {}", l.lang, l.accuracy);
    }
    assert!(r.oos_recall.unwrap() >= 0.8, "{:?}", r.oos_recall);
    assert!(r.in_scope_accuracy >= 0.93, "{}", r.in_scope_accuracy);
}

#[test]
fn jsonl_and_csv_data_load_with_the_out_of_scope_label_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("d.jsonl");
    fs::write(&jsonl, "{\"text\": \"where is my parcel\", \"label\": \"track\"}\n\n{\"text\": \"sing a song\", \"label\": \"oos\"}\n").unwrap();
    let ex = kefu::intent::data::load(&jsonl, Some("oos")).unwrap();
    assert_eq!(ex.len(), 2);
    assert_eq!(ex[1].label, "out_of_scope");

    let csv = dir.path().join("d.csv");
    fs::write(&csv, "utterance,intent,category\n\"hi, where is my order\",track_order,ORDER\n我要退货,get_refund,REFUND\n").unwrap();
    let ex = kefu::intent::data::load(&csv, None).unwrap();
    assert_eq!(ex[0].text, "hi, where is my order");
    assert_eq!(ex[1].lang, kefu::lang::Lang::Zh);

    fs::write(&jsonl, "{\"text\": \"ok\", \"label\": \"a\"}\n{not json}\n").unwrap();
    let err = kefu::intent::data::load(&jsonl, None).unwrap_err().to_string();
    assert!(err.contains("d.jsonl:2: bad JSON line"), "{err}");
}
