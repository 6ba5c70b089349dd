//! The `kefu` command line: parses arguments and calls into the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use kefu::config::Config;
use kefu::eval;
use kefu::intent::data;
use kefu::intent::train::TrainOptions;
use kefu::intent::IntentModel;
use kefu::knowledge::KnowledgeBase;
use kefu::search::decision::LangThresholds;
use kefu::search::{Decision, FaqIndex, Thresholds};

#[derive(Parser)]
#[command(name = "kefu", version, about = "Bilingual intelligent customer service for online stores")]
struct Cli {
    /// The knowledge-base folder.
    #[arg(long, global = true, default_value = "knowledge", env = "KEFU_KNOWLEDGE")]
    knowledge: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the chat service (WebSocket /ws/chat, /healthz).
    Serve {
        /// Config file (default: kefu.toml if present).
        #[arg(long, env = "KEFU_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Export stored data.
    Export {
        #[command(subcommand)]
        what: ExportWhat,
    },
    /// Staff accounts (agents, trainers, admins).
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// The knowledge base as trainers edit it (kept in the database while the service runs).
    Kb {
        #[command(subcommand)]
        action: KbAction,
    },
    /// Sign a shopper token as a storefront would (for integration and testing).
    Token {
        shopper_id: String,
        /// Validity in seconds.
        #[arg(long, default_value_t = 86_400)]
        ttl: i64,
        #[arg(long, env = "KEFU_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Validate the knowledge base; prints every problem with file and line.
    Check,
    /// Ask the FAQ search a question in Chinese or English.
    Ask {
        question: String,
        /// How many runners-up to show.
        #[arg(long, default_value_t = 3)]
        top: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Train the intent classifier (tokenizer, model, out-of-scope threshold).
    Train {
        /// Training data: a folder of intent TOML files, or a .jsonl / .csv file of text,label.
        #[arg(long, default_value = "knowledge/intents")]
        data: PathBuf,
        /// Where to write the model.
        #[arg(long, default_value = "models/intent")]
        out: PathBuf,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Label that means out of scope in the data set (CLINC150 uses "oos").
        #[arg(long)]
        oos_label: Option<String>,
        /// Training passes over the data.
        #[arg(long)]
        epochs: Option<usize>,
        /// Embedding size.
        #[arg(long)]
        dim: Option<usize>,
        /// Hidden layer size (0: linear over the bag).
        #[arg(long)]
        hidden: Option<usize>,
        /// Probability of dropping each feature in a training step.
        #[arg(long)]
        dropout: Option<f64>,
        /// Hash buckets for token pairs and character n-grams.
        #[arg(long)]
        buckets: Option<u32>,
        /// Adagrad learning rate of the embeddings.
        #[arg(long)]
        emb_lr: Option<f64>,
        /// In-scope accuracy (absolute, on the dev split) the out-of-scope threshold may cost.
        #[arg(long)]
        max_in_scope_loss: Option<f64>,
        /// Feature scheme: 0 = tokens, pairs, English character n-grams (default); 1 = also
        /// Chinese character triples (measured, not better).
        #[arg(long)]
        scheme: Option<u32>,
        /// Probability out_of_scope needs to win over the store intents (default 0.5); 0 = plain
        /// arg-max.
        #[arg(long)]
        oos_mass: Option<f32>,
        /// Largest tokenizer vocabulary.
        #[arg(long)]
        vocab: Option<usize>,
    },
    /// Classify a message: the top 3 intents with probabilities.
    Classify {
        text: String,
        #[arg(long, default_value = "models/intent")]
        model: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Measure an engine on held-out data.
    Eval {
        #[command(subcommand)]
        what: EvalWhat,
    },
    /// Intent model versions trained while the service runs (in `model_store`). Offline: a
    /// running service reads the active version when it starts; the API switches it live.
    Model {
        #[command(subcommand)]
        action: ModelAction,
        /// Config file (default: kefu.toml if present): `model_store`, `model`, `knowledge`.
        #[arg(long, env = "KEFU_CONFIG", global = true)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ModelAction {
    /// Every version with its held-out metrics; `*` marks the active one.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Make a version (or `shipped`) active. Refused when it is worse than the active one on
    /// the held-out set, unless --override.
    Activate {
        version: String,
        #[arg(long = "override")]
        overridden: bool,
    },
    /// Go back to the version that was active before the last activation.
    Rollback,
}

#[derive(Subcommand)]
enum UserAction {
    /// Add an account. The password is read from standard input (one line; prompted on a
    /// terminal), never from the command line.
    Add {
        name: String,
        #[arg(long, value_parser = ["agent", "trainer", "admin"])]
        role: String,
        /// The name shoppers see ("Li"); defaults to the account name.
        #[arg(long, default_value = "")]
        display_name: String,
        #[arg(long, env = "KEFU_CONFIG")]
        config: Option<PathBuf>,
    },
    /// List the accounts: name, display name, role, created.
    List {
        #[arg(long, env = "KEFU_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Remove an account. Its tokens and its console connection end within seconds.
    Remove {
        name: String,
        #[arg(long, env = "KEFU_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Change an account's role. Its tokens end: it logs in again.
    SetRole {
        name: String,
        #[arg(value_parser = ["agent", "trainer", "admin"])]
        role: String,
        #[arg(long, env = "KEFU_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Set an account's password, read from standard input like `user add`. Its tokens end.
    Passwd {
        name: String,
        #[arg(long, env = "KEFU_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum KbAction {
    /// Write the knowledge base (FAQ entries, intents) back to files, e.g. to commit them.
    Export {
        /// Folder to write into (default: the configured knowledge folder).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, env = "KEFU_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Load the knowledge files into the database (each change a revision you can revert).
    Import {
        #[arg(long, env = "KEFU_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ExportWhat {
    /// Customer-feedback records, one per conversation.
    Feedback {
        #[arg(long, value_enum, default_value = "jsonl")]
        format: ExportFormat,
        /// Only records updated on or after this date (YYYY-MM-DD).
        #[arg(long)]
        since: Option<String>,
        #[arg(long, env = "KEFU_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ExportFormat {
    Jsonl,
    Csv,
}

#[derive(Subcommand)]
enum EvalWhat {
    /// Intent classification: accuracy, macro-F1, per-intent and out-of-scope precision/recall.
    Intents {
        #[arg(long, default_value = "models/intent")]
        model: PathBuf,
        /// Held-out data: a folder of intent TOML files, or a .jsonl / .csv file.
        #[arg(long, default_value = "knowledge/eval/intents")]
        data: PathBuf,
        /// Label that means out of scope in the data set (CLINC150 uses "oos").
        #[arg(long)]
        oos_label: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// SMP2017 (Chinese, public, not shipped): share of the 30 non-store domains predicted
    /// out_of_scope, and what chit-chat (`chat`) becomes (greeting / thanks_goodbye /
    /// out_of_scope count as handled). Skips when the data is absent.
    Smp2017 {
        #[arg(long, default_value = "models/intent")]
        model: PathBuf,
        /// Default: $KEFU_SHARED_DATA or ../shared/data, then smp2017/dev.jsonl.
        #[arg(long)]
        data: Option<PathBuf>,
        /// List the non-chat messages that were not called out_of_scope.
        #[arg(long)]
        misses: bool,
        #[arg(long)]
        json: bool,
    },
    /// CLINC150 val (English, public, not shipped): in-scope accuracy and out-of-scope recall of
    /// a model trained on CLINC150 train with the same code (`kefu train --data
    /// ../shared/data/clinc150/train.jsonl --oos-label oos --out <dir>`). Without --model it
    /// trains one first with the defaults (a few minutes). Skips when the data is absent.
    Clinc150 {
        /// A model trained on CLINC150 train.jsonl.
        #[arg(long)]
        model: Option<PathBuf>,
        /// The clinc150 folder. Default: $KEFU_SHARED_DATA or ../shared/data, then clinc150.
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// JDDC dev (real JD.com shopper messages, public, not shipped; labels in
    /// knowledge/eval/jddc/labels.tsv): intent accuracy without the `context`/`system` messages,
    /// and the share of store questions called out_of_scope. Skips when the data is absent.
    Jddc {
        #[arg(long, default_value = "models/intent")]
        model: PathBuf,
        /// dev_question.txt. Default: $KEFU_SHARED_DATA or ../shared/data, then jddc_dev/.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Default: knowledge/eval/jddc/labels.tsv.
        #[arg(long)]
        labels: Option<PathBuf>,
        /// List the wrong predictions with their text (terminal only: the data is research-use).
        #[arg(long)]
        misses: bool,
        #[arg(long)]
        json: bool,
    },
    /// FAQ retrieval: top-1, top-3, MRR, no-match precision/recall per language.
    Faq {
        /// The evaluation set (default: <knowledge>/eval/faq.toml).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Choose the decision thresholds on this set and write <knowledge>/search.toml.
        #[arg(long)]
        tune: bool,
        /// List the questions whose best hit was wrong.
        #[arg(long)]
        misses: bool,
        #[arg(long)]
        json: bool,
    },
    /// Multi-turn dialogues through the real router (positions, tapped cards, "this one",
    /// follow-ups, return list…): turns and conversations passed, per language and kind, and
    /// every failing turn with the bot's reply.
    Dialogue {
        /// The conversations (default: <knowledge>/eval/dialogues.toml).
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long, default_value = "models/intent")]
        model: PathBuf,
        /// Print every turn, not only the failures.
        #[arg(long)]
        transcript: bool,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    // candle asks for its thread count on every matrix product and, without this variable,
    // works it out by reading /proc/cpuinfo each time (8% of the CPU under load): settle it once,
    // before any thread exists
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    }
    tracing_subscriber::fmt()
        // KEFU_LOG as RUST_LOG; by default kefu's own info lines (start, refusals) and others' warnings
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KEFU_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,kefu=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn parse_role(role: &str) -> Result<kefu::identity::Role> {
    kefu::identity::Role::parse(role).context("role must be agent, trainer or admin")
}

/// A password from standard input (one line; prompted on a terminal), never from the command
/// line.
fn read_password(name: &str) -> Result<String> {
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprint!("password for {name}: ");
    }
    let mut password = String::new();
    std::io::stdin().read_line(&mut password)?;
    Ok(password.trim_end_matches(['\r', '\n']).to_string())
}

fn load_kb(dir: &std::path::Path) -> Result<KnowledgeBase> {
    KnowledgeBase::load(dir).map_err(|d| anyhow::anyhow!("{d}"))
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve { config } => {
            let config = Config::load(config.as_deref())?;
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async move {
                let addr = config.listen;
                let clock = config.clock();
                let app = kefu::web::build(config, clock).await?;
                let (bound, server) = kefu::web::serve(app, addr).await?;
                println!("kefu listening on http://{bound}");
                println!("  demo store with the chat widget  http://{bound}/   (widget: http://{bound}/widget.js)");
                println!("  agent console                    http://{bound}/agent");
                println!("  trainer console                  http://{bound}/trainer");
                println!("  WebSockets                       ws://{bound}/ws/chat (shoppers), ws://{bound}/ws/agent (agents)");
                tokio::select! {
                    _ = server => {}
                    _ = tokio::signal::ctrl_c() => println!("shutting down"),
                }
                anyhow::Ok(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Token { shopper_id, ttl, config } => {
            let config = Config::load(config.as_deref())?;
            let secret =
                config.token_secret.context("no token_secret configured (kefu.toml or KEFU_TOKEN_SECRET)")?;
            let max = config.shopper_token_max_secs;
            anyhow::ensure!(ttl <= max, "--ttl {ttl} is longer than shopper_token_max_secs ({max}): the server would refuse the token");
            let exp = chrono::Utc::now().timestamp() + ttl;
            println!("{}", kefu::identity::sign(&secret, &kefu::identity::Claims { sub: shopper_id, exp }));
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { what: ExportWhat::Feedback { format, since, config } } => {
            let config = Config::load(config.as_deref())?;
            let rt = tokio::runtime::Runtime::new()?;
            let records = rt.block_on(async {
                let store = kefu::store::Store::open(&config.database)?;
                anyhow::Ok(store.feedback_since(since.unwrap_or_default()).await?)
            })?;
            print!("{}", kefu::store::export::render(&records, matches!(format, ExportFormat::Csv))?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Kb { action } => {
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async {
                match action {
                    KbAction::Export { out, config } => {
                        let config = Config::load(config.as_deref())?;
                        let store = kefu::store::Store::open(&config.database)?;
                        // only the service's own folder counts as "what the store holds"
                        let remember = out.is_none();
                        let root = out.unwrap_or(config.knowledge.clone());
                        let files = kefu::trainer::kb::export(&store, &root, remember).await?;
                        println!("wrote {} files under {}", files.len(), root.display());
                    }
                    KbAction::Import { config } => {
                        let config = Config::load(config.as_deref())?;
                        let kb = load_kb(&config.knowledge)?;
                        let store = kefu::store::Store::open(&config.database)?;
                        let n = kefu::trainer::kb::import(&store, &kb, &config.knowledge, "import").await?;
                        println!("{n} entries changed (a running service picks them up on restart)");
                    }
                }
                anyhow::Ok(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::User { action } => {
            let config = match &action {
                UserAction::Add { config, .. }
                | UserAction::List { config }
                | UserAction::Remove { config, .. }
                | UserAction::SetRole { config, .. }
                | UserAction::Passwd { config, .. } => Config::load(config.as_deref())?,
            };
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async {
                let store = kefu::store::Store::open(&config.database)?;
                let roster = kefu::accounts::Roster::new(store.clone());
                match action {
                    UserAction::Add { name, role, display_name, .. } => {
                        let role = parse_role(&role)?;
                        let password = read_password(&name)?;
                        let account =
                            kefu::accounts::add(&store, &name, &display_name, role, &password).await?;
                        println!(
                            "added {} ({}, shown as {:?})",
                            account.name,
                            account.role.as_str(),
                            account.display_name
                        );
                    }
                    UserAction::List { .. } => {
                        println!("name\tdisplay name\trole\tcreated");
                        for a in store.accounts().await? {
                            println!("{}\t{}\t{}\t{}", a.name, a.display_name, a.role.as_str(), a.created_at);
                        }
                    }
                    UserAction::Remove { name, .. } => {
                        roster.remove(&name).await?;
                        println!("removed {name}; its sign-ins end within seconds");
                    }
                    UserAction::SetRole { name, role, .. } => {
                        roster.set_role(&name, parse_role(&role)?).await?;
                        println!("{name} is now {role}; it logs in again");
                    }
                    UserAction::Passwd { name, .. } => {
                        roster.set_password(&name, &read_password(&name)?).await?;
                        println!("password of {name} changed; its sign-ins end within seconds");
                    }
                }
                anyhow::Ok(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check => match KnowledgeBase::load(&cli.knowledge) {
            Ok(kb) => {
                println!(
                    "ok: {} FAQ entries, {} products, {} shoppers, {} orders in {}",
                    kb.faqs.len(),
                    kb.products.len(),
                    kb.shoppers.len(),
                    kb.orders.len(),
                    cli.knowledge.display()
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(diags) => {
                for d in diags.iter() {
                    println!("{d}");
                }
                eprintln!("{} problem(s) found", diags.len());
                Ok(ExitCode::FAILURE)
            }
        },
        Command::Ask { question, top, json } => {
            let kb = load_kb(&cli.knowledge)?;
            let thresholds = Thresholds::load(&cli.knowledge)?;
            let index = FaqIndex::build(&kb.faqs, thresholds)?;
            let result = index.ask(&question, top.max(1))?;
            if json {
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
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                print_answer(&index, &result);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Train {
            data,
            out,
            seed,
            oos_label,
            epochs,
            dim,
            hidden,
            dropout,
            buckets,
            emb_lr,
            max_in_scope_loss,
            scheme,
            oos_mass,
            vocab,
        } => {
            let examples = data::load(&data, oos_label.as_deref()).map_err(|d| anyhow::anyhow!("{d}"))?;
            let mut opts = TrainOptions { seed, ..TrainOptions::default() };
            opts.epochs = epochs.unwrap_or(opts.epochs);
            opts.dim = dim.unwrap_or(opts.dim);
            opts.hidden = hidden.unwrap_or(opts.hidden);
            opts.feature_dropout = dropout.unwrap_or(opts.feature_dropout);
            opts.buckets = buckets.unwrap_or(opts.buckets);
            opts.embedding_learning_rate = emb_lr.unwrap_or(opts.embedding_learning_rate);
            opts.max_in_scope_loss = max_in_scope_loss.unwrap_or(opts.max_in_scope_loss);
            opts.scheme = scheme.unwrap_or(opts.scheme);
            opts.vocab_size = vocab.unwrap_or(opts.vocab_size);
            if let Some(m) = oos_mass {
                opts.oos_mass = (m > 0.0).then_some(m);
            }
            let started = std::time::Instant::now();
            let (model, dev) = kefu::intent::train::train(&examples, &opts)?;
            model.save(&out)?;
            println!(
                "trained on {} examples, {} labels in {:.1}s; dev split: {} examples, in-scope accuracy {:.3}, out-of-scope recall {}, threshold {:.3}; written to {}",
                examples.len(),
                model.labels().len(),
                started.elapsed().as_secs_f64(),
                dev.examples,
                dev.in_scope_accuracy,
                dev.oos_recall.map_or("-".into(), |r| format!("{r:.3}")),
                dev.threshold,
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Classify { text, model, json } => {
            let model = IntentModel::load(&model)?;
            let p = model.predict(&text, 3)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&p)?);
            } else {
                println!(
                    "intent: {}  (confidence {:.3}, threshold {:.3})",
                    p.intent, p.confidence, model.config.oos_threshold
                );
                for (label, prob) in &p.top {
                    println!("  {label:<22} {prob:.3}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval { what: EvalWhat::Intents { model, data, oos_label, json } } => {
            let model = IntentModel::load(&model)?;
            let examples = data::load(&data, oos_label.as_deref()).map_err(|d| anyhow::anyhow!("{d}"))?;
            let report = eval::intents::evaluate(&model, &examples)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.render());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval { what: EvalWhat::Smp2017 { model, data, misses, json } } => {
            let path = data.unwrap_or_else(|| eval::public::shared_data_dir().join("smp2017/dev.jsonl"));
            let model = IntentModel::load(&model)?;
            match eval::public::smp2017(&model, &path)? {
                None => {
                    eprintln!("skipped: SMP2017 data not found at {} (set KEFU_SHARED_DATA)", path.display())
                }
                Some(r) if json => println!("{}", serde_json::to_string_pretty(&r)?),
                Some(r) => print!("{}", r.render(misses)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval { what: EvalWhat::Clinc150 { model, data, json } } => {
            let dir = data.unwrap_or_else(|| eval::public::shared_data_dir().join("clinc150"));
            let (train, val) = (dir.join("train.jsonl"), dir.join("val.jsonl"));
            if !train.exists() || !val.exists() {
                eprintln!("skipped: CLINC150 data not found in {} (set KEFU_SHARED_DATA)", dir.display());
                return Ok(ExitCode::SUCCESS);
            }
            let model = match model {
                Some(m) => IntentModel::load(&m)?,
                None => {
                    eprintln!("training on {} with the defaults (--oos-label oos)…", train.display());
                    let examples = data::load(&train, Some("oos")).map_err(|d| anyhow::anyhow!("{d}"))?;
                    kefu::intent::train::train(&examples, &TrainOptions::default())?.0
                }
            };
            let report = eval::public::clinc150(&model, &val)?.expect("checked above");
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "CLINC150 val: in-scope accuracy {:.3} (target ≥ 0.93), out-of-scope recall {} (target ≥ 0.6)",
                    report.in_scope_accuracy,
                    report.oos_recall.map_or("-".into(), |r| format!("{r:.3}"))
                );
                print!("{}", report.render());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval { what: EvalWhat::Jddc { model, data, labels, misses, json } } => {
            let questions =
                data.unwrap_or_else(|| eval::public::shared_data_dir().join("jddc_dev/dev_question.txt"));
            let labels = labels.unwrap_or_else(eval::jddc::default_labels_file);
            let model = IntentModel::load(&model)?;
            match eval::public::jddc(&model, &questions, &labels)? {
                None => eprintln!(
                    "skipped: JDDC data not found at {} (set KEFU_SHARED_DATA)",
                    questions.display()
                ),
                Some((r, _)) if json => println!("{}", serde_json::to_string_pretty(&r)?),
                Some((r, texts)) => print!("{}", r.render(misses.then_some(&texts[..]))),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Model { action, config } => model_command(action, Config::load(config.as_deref())?),
        Command::Eval { what: EvalWhat::Faq { data, tune, misses, json } } => {
            let kb = load_kb(&cli.knowledge)?;
            let data = data.unwrap_or_else(|| cli.knowledge.join("eval").join("faq.toml"));
            let cases = eval::faq::load_cases(&data, &kb).map_err(|d| anyhow::anyhow!("{d}"))?;
            let thresholds = if tune {
                let zero = LangThresholds { answer: 0.0, suggest: 0.0 };
                Thresholds { zh: zero, en: zero }
            } else {
                Thresholds::load(&cli.knowledge)?
            };
            let mut index = FaqIndex::build(&kb.faqs, thresholds)?;
            if tune {
                let t = eval::faq::tune(&index, &cases)?;
                t.save(&cli.knowledge).context("writing thresholds")?;
                eprintln!("thresholds written to {}", cli.knowledge.join("search.toml").display());
                index.set_thresholds(t);
            }
            let report = eval::faq::evaluate(&index, &cases)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.render(misses));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval { what: EvalWhat::Dialogue { data, model, transcript, json } } => {
            let kb = load_kb(&cli.knowledge)?;
            let data = data.unwrap_or_else(|| eval::dialogue::default_data(&cli.knowledge));
            let conversations = eval::dialogue::load(&data, &kb).map_err(|d| {
                anyhow::anyhow!(
                    "{} problem(s) in the dialogues:\n{}",
                    d.len(),
                    d.iter().map(|p| format!("  {p}\n")).collect::<String>()
                )
            })?;
            let engines = eval::dialogue::engines(&kb, &model)?;
            let rt = tokio::runtime::Runtime::new()?;
            let now = eval::dialogue::demo_now();
            let report = rt.block_on(eval::dialogue::evaluate(&kb, engines, &conversations, now))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.render(transcript));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn model_command(action: ModelAction, config: Config) -> Result<ExitCode> {
    use kefu::models::{ActivateError, Models, Registry};
    let registry = Registry::new(&config.model_store_dir(), &config.model);
    let on_disk = registry.active()?;
    let models = Models::open(registry, config.knowledge.join("eval/intents"))?;
    let who = format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()));
    let activated = |a: kefu::models::Activation| {
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
        ExitCode::SUCCESS
    };
    match action {
        ModelAction::List { json } => {
            let listing = models.list()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&listing)?);
                return Ok(ExitCode::SUCCESS);
            }
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
            Ok(ExitCode::SUCCESS)
        }
        ModelAction::Activate { version, overridden } => {
            match models.activate(&version, overridden, &who, |_| {}) {
                Ok(a) => Ok(activated(a)),
                Err(ActivateError::Worse(c)) => {
                    print!("{}", c.render());
                    eprintln!(
                        "refused: {version} is worse than the active {}; --override activates it anyway",
                        c.active.version
                    );
                    Ok(ExitCode::FAILURE)
                }
                Err(e) => Err(e.into()),
            }
        }
        ModelAction::Rollback => Ok(activated(models.rollback(&who, |_| {})?)),
    }
}

fn print_answer(index: &FaqIndex, result: &kefu::search::FaqResult) {
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
