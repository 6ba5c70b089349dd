//! What the commands print: tables, summaries and JSON, on standard output (problems and
//! progress go to standard error).

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Result;

use kefu::intent::IntentModel;
use kefu::knowledge::KnowledgeBase;
use kefu::search::{Decision, FaqIndex, FaqResult};

/// A value as pretty-printed JSON.
pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// `kefu serve`'s addresses once it listens.
pub fn listening(bound: SocketAddr) {
    println!("kefu listening on http://{bound}");
    println!("  demo store with the chat widget  http://{bound}/   (widget: http://{bound}/widget.js)");
    println!("  agent console                    http://{bound}/agent");
    println!("  trainer console                  http://{bound}/trainer");
    println!(
        "  WebSockets                       ws://{bound}/ws/chat (shoppers), ws://{bound}/ws/agent (agents)"
    );
}

/// `kefu check`: a valid knowledge base's size.
pub fn knowledge_ok(kb: &KnowledgeBase, dir: &Path) {
    println!(
        "ok: {} FAQ entries, {} products, {} shoppers, {} orders in {}",
        kb.faqs.len(),
        kb.products.len(),
        kb.shoppers.len(),
        kb.orders.len(),
        dir.display()
    );
}

/// `kefu check`: every problem with file and line.
pub fn problems(diags: &kefu::knowledge::Diagnostics) {
    for d in diags.iter() {
        println!("{d}");
    }
    eprintln!("{} problem(s) found", diags.len());
}

/// `kefu user list`: one tab-separated line per account.
pub fn accounts(accounts: &[kefu::store::Account]) {
    println!("name\tdisplay name\trole\tcreated");
    for a in accounts {
        println!("{}\t{}\t{}\t{}", a.name, a.display_name, a.role.as_str(), a.created_at);
    }
}

/// `kefu ask --json`.
pub fn answer_json(question: &str, index: &FaqIndex, result: &FaqResult) -> Result<()> {
    let hits: Vec<_> = result
        .hits
        .iter()
        .map(|h| {
            let f = index.faq(&h.id).expect("hit is in the index");
            serde_json::json!({
                "id": h.id, "score": h.score, "category": f.category,
                "intent": f.intent, "question": f.content(result.lang).questions[0],
                "answer": f.answer(result.lang),
            })
        })
        .collect();
    let out = serde_json::json!({
        "question": question, "lang": result.lang, "decision": result.decision,
        "confidence": result.confidence, "hits": hits,
    });
    json(&out)
}

/// `kefu ask`: the decision, the answer when there is one, and the runners-up.
pub fn answer(index: &FaqIndex, result: &FaqResult) {
    let lang = result.lang;
    let label = match result.decision {
        Decision::Answer => "answer",
        Decision::Suggest => "suggest (not sure: did you mean one of these?)",
        Decision::NoMatch => "no match (nothing in the knowledge base answers this)",
    };
    println!("decision: {label}  [lang {lang}, confidence {:.2}]", result.confidence);
    let mut hits = result.hits.iter();
    if result.decision == Decision::Answer {
        if let Some(h) = hits.next() {
            let f = index.faq(&h.id).expect("hit is in the index");
            println!("\n[{}] score {:.2}\n{}\n", h.id, h.score, f.answer(lang));
        }
    }
    if result.decision == Decision::NoMatch && !result.hits.is_empty() {
        println!("closest entries (below the suggest threshold):");
    }
    for h in hits {
        let f = index.faq(&h.id).expect("hit is in the index");
        println!("  - [{}] score {:.2}: {}", h.id, h.score, f.content(lang).questions[0]);
    }
}

/// `kefu train`: what was trained, how it did on the dev split, where it went.
pub fn trained(
    examples: usize,
    model: &IntentModel,
    seconds: f64,
    dev: &kefu::intent::train::DevReport,
    out: &Path,
) {
    println!(
        "trained on {} examples, {} labels in {:.1}s; dev split: {} examples, in-scope accuracy {:.3}, out-of-scope recall {}, threshold {:.3}; written to {}",
        examples,
        model.labels().len(),
        seconds,
        dev.examples,
        dev.in_scope_accuracy,
        dev.oos_recall.map_or("-".into(), |r| format!("{r:.3}")),
        dev.threshold,
        out.display()
    );
}

/// `kefu classify`: the intent and the top 3 with probabilities.
pub fn prediction(model: &IntentModel, p: &kefu::intent::Prediction) {
    println!(
        "intent: {}  (confidence {:.3}, threshold {:.3})",
        p.intent, p.confidence, model.config.oos_threshold
    );
    for (label, prob) in &p.top {
        println!("  {label:<22} {prob:.3}");
    }
}

/// `kefu eval clinc150`: the headline against its targets, then the report.
pub fn clinc150(report: &kefu::eval::intents::IntentReport) {
    println!(
        "CLINC150 val: in-scope accuracy {:.3} (target ≥ 0.93), out-of-scope recall {} (target ≥ 0.6)",
        report.in_scope_accuracy,
        report.oos_recall.map_or("-".into(), |r| format!("{r:.3}"))
    );
    print!("{}", report.render());
}

/// `kefu model list`: one line per version, `*` on the active one.
pub fn model_list(listing: &kefu::models::Listing, on_disk: &str) {
    let opt = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.3}"));
    println!(
        "  {:<20} {:<21} {:<14} {:>8} {:>8} {:>6} {:>6}  parent",
        "version", "created", "by", "accuracy", "macro-F1", "oos P", "oos R"
    );
    for v in &listing.versions {
        let m = v.info.metrics.as_ref();
        println!(
            "{} {:<20} {:<21} {:<14} {:>8} {:>8} {:>6} {:>6}  {}",
            if v.active { "*" } else { " " },
            v.info.id,
            v.info.created.as_deref().unwrap_or("-"),
            v.info.who,
            opt(m.map(|m| m.accuracy)),
            opt(m.map(|m| m.macro_f1)),
            opt(m.and_then(|m| m.oos_precision)),
            opt(m.and_then(|m| m.oos_recall)),
            v.info.meta.as_ref().map_or("-", |m| m.parent.as_str()),
        );
    }
    if on_disk != listing.active {
        println!("warning: ACTIVE names {on_disk}, which does not load; the shipped model is used");
    }
}

/// `kefu model activate | rollback`: the comparison, and what is active now.
pub fn activation(a: &kefu::models::Activation) {
    if let Some(c) = &a.comparison {
        println!("{}", c.render());
    }
    if a.changed {
        let how = if a.overridden { " (override: it is worse)" } else { "" };
        println!(
            "active: {} (was {}){how}; a running kefu uses it after a restart \
             (POST /api/models/{}/activate switches without one)",
            a.active, a.previous, a.active
        );
    } else {
        println!("{} is already active", a.active);
    }
}

/// `kefu backup`: where it went and what it holds.
pub fn backed_up(path: &Path, m: &kefu::store::backup::Manifest, secs: f64) {
    let c = &m.counts;
    println!(
        "backed up to {} ({} bytes, schema {}, sha256 {}) in {secs:.2} s: {} conversations, {} messages, {} feedback records, {} tickets",
        path.display(),
        m.bytes,
        m.schema_version,
        m.sha256,
        c.conversations,
        c.messages,
        c.feedback,
        c.tickets
    );
    println!("manifest: {}", kefu::store::backup::manifest_path(path).display());
}

/// `kefu restore`: what was restored where.
pub fn restored(db: &str, m: &kefu::store::backup::Manifest) {
    println!(
        "restored {} (taken {}, schema {}: {} conversations, {} messages) into {}; checksum and integrity ok",
        m.file, m.created_at, m.schema_version, m.counts.conversations, m.counts.messages, db
    );
}
