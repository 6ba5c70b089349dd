//! What each command does: resolves the configuration (one `--config`, one `--knowledge` for
//! every command), calls the library, and hands the results to [`super::output`].

use kefu::store::prelude::*;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};

use kefu::config::Config;
use kefu::eval;
use kefu::intent::data;
use kefu::intent::train::TrainOptions;
use kefu::intent::IntentModel;
use kefu::knowledge::KnowledgeBase;
use kefu::search::decision::LangThresholds;
use kefu::search::{FaqIndex, Thresholds};

use super::args::{
    Cli, Command, EvalWhat, ExportFormat, ExportWhat, KbAction, ModelAction, ShopperAction, UserAction,
};
use super::output;

/// The global flags every command reads its settings through.
struct Settings {
    config: Option<PathBuf>,
    knowledge: Option<PathBuf>,
}

impl Settings {
    /// The configuration: defaults, the config file, `KEFU_*`, then `--knowledge` over the
    /// config's `knowledge`.
    fn config(&self) -> Result<Config> {
        let mut config = Config::load(self.config.as_deref())?;
        if let Some(k) = &self.knowledge {
            config.knowledge = k.clone();
        }
        Ok(config)
    }
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    let settings = Settings { config: cli.config, knowledge: cli.knowledge };
    let config = settings.config()?;
    match cli.command {
        Command::Serve => serve(config),
        Command::Token { shopper_id, ttl } => token(config, shopper_id, ttl),
        Command::Export { what: ExportWhat::Feedback { format, since } } => export(config, format, since),
        Command::Kb { action } => kb(config, action),
        Command::User { action } => user(config, action),
        Command::Check => check(&config.knowledge),
        Command::Ask { question, top, json } => ask(&config.knowledge, &question, top, json),
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
            let data = data.unwrap_or_else(|| config.knowledge.join("intents"));
            let out = out.unwrap_or(config.model);
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
            output::trained(examples.len(), &model, started.elapsed().as_secs_f64(), &dev, &out);
            Ok(ExitCode::SUCCESS)
        }
        Command::Classify { text, model, json } => {
            let model = IntentModel::load(&model.unwrap_or(config.model))?;
            let p = model.predict(&text, 3)?;
            if json {
                output::json(&p)?;
            } else {
                output::prediction(&model, &p);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval { what } => evaluate(config, what),
        Command::Model { action } => model(config, action),
        Command::Backup { dest } => backup(config, &dest),
        Command::Restore { src, force } => restore(config, &src, force),
        Command::Shopper { action: ShopperAction::Export { shopper_id } } => {
            shopper_export(config, shopper_id)
        }
        Command::Shopper { action: ShopperAction::Erase { shopper_id } } => shopper_erase(config, shopper_id),
    }
}

fn load_kb(dir: &Path) -> Result<KnowledgeBase> {
    KnowledgeBase::load(dir).map_err(|d| anyhow::anyhow!("{d}"))
}

fn serve(config: Config) -> Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let addr = config.listen;
        let clock = config.clock();
        let app = kefu::app::build(config, clock).await?;
        let (bound, server) = kefu::web::serve(app, addr).await?;
        output::listening(bound);
        tokio::select! {
            _ = server => {}
            _ = tokio::signal::ctrl_c() => println!("shutting down"),
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn token(config: Config, shopper_id: String, ttl: i64) -> Result<ExitCode> {
    let secret =
        config.token_secret.context("no token_secret configured (kefu.toml or KEFU_TOKEN_SECRET)")?;
    let max = config.shopper_token_max_secs;
    anyhow::ensure!(
        ttl <= max,
        "--ttl {ttl} is longer than shopper_token_max_secs ({max}): the server would refuse the token"
    );
    let exp = chrono::Utc::now().timestamp() + ttl;
    println!("{}", kefu::identity::sign(&secret, &kefu::identity::Claims { sub: shopper_id, exp }));
    Ok(ExitCode::SUCCESS)
}

fn export(config: Config, format: ExportFormat, since: Option<String>) -> Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new()?;
    let records = rt.block_on(async {
        let store = kefu::store::Backend::open(&config.database).await?;
        anyhow::Ok(store.feedback_since(since.unwrap_or_default()).await?)
    })?;
    print!("{}", kefu::store::export::render(&records, matches!(format, ExportFormat::Csv))?);
    Ok(ExitCode::SUCCESS)
}

fn kb(config: Config, action: KbAction) -> Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        match action {
            KbAction::Export { out } => {
                let store = kefu::store::Backend::open(&config.database).await?;
                // only the service's own folder counts as "what the store holds"
                let remember = out.is_none();
                let root = out.unwrap_or(config.knowledge.clone());
                let files = kefu::trainer::curator::export(&store, &root, remember).await?;
                println!("wrote {} files under {}", files.len(), root.display());
            }
            KbAction::Import => {
                let kb = load_kb(&config.knowledge)?;
                let store = kefu::store::Backend::open(&config.database).await?;
                let n = kefu::trainer::curator::import(&store, &kb, &config.knowledge, "import").await?;
                println!("{n} entries changed (a running service picks them up on restart)");
            }
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
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

fn user(config: Config, action: UserAction) -> Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let store = kefu::store::Backend::open(&config.database).await?;
        let roster = kefu::accounts::Roster::new(store.clone());
        match action {
            UserAction::Add { name, role, display_name } => {
                let role = parse_role(&role)?;
                let password = read_password(&name)?;
                let account = kefu::accounts::add(&store, &name, &display_name, role, &password).await?;
                println!(
                    "added {} ({}, shown as {:?})",
                    account.name,
                    account.role.as_str(),
                    account.display_name
                );
            }
            UserAction::List => output::accounts(&store.accounts().await?),
            UserAction::Remove { name } => {
                roster.remove(&name).await?;
                println!("removed {name}; its sign-ins end within seconds");
            }
            UserAction::SetRole { name, role } => {
                roster.set_role(&name, parse_role(&role)?).await?;
                println!("{name} is now {role}; it logs in again");
            }
            UserAction::Passwd { name } => {
                roster.set_password(&name, &read_password(&name)?).await?;
                println!("password of {name} changed; its sign-ins end within seconds");
            }
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn check(knowledge: &Path) -> Result<ExitCode> {
    match KnowledgeBase::load(knowledge) {
        Ok(kb) => {
            output::knowledge_ok(&kb, knowledge);
            Ok(ExitCode::SUCCESS)
        }
        Err(diags) => {
            output::problems(&diags);
            Ok(ExitCode::FAILURE)
        }
    }
}

fn ask(knowledge: &Path, question: &str, top: usize, json: bool) -> Result<ExitCode> {
    let kb = load_kb(knowledge)?;
    let thresholds = Thresholds::load(knowledge)?;
    let index = FaqIndex::build(&kb.faqs, thresholds)?;
    let result = index.ask(question, top.max(1))?;
    if json {
        output::answer_json(question, &index, &result)?;
    } else {
        output::answer(&index, &result);
    }
    Ok(ExitCode::SUCCESS)
}

fn evaluate(config: Config, what: EvalWhat) -> Result<ExitCode> {
    let knowledge = config.knowledge;
    let model_dir = |model: Option<PathBuf>| model.unwrap_or_else(|| config.model.clone());
    match what {
        EvalWhat::Intents { model, data, oos_label, json } => {
            let model = IntentModel::load(&model_dir(model))?;
            let data = data.unwrap_or_else(|| knowledge.join("eval").join("intents"));
            let examples = data::load(&data, oos_label.as_deref()).map_err(|d| anyhow::anyhow!("{d}"))?;
            let report = eval::intents::evaluate(&model, &examples)?;
            if json {
                output::json(&report)?;
            } else {
                print!("{}", report.render());
            }
        }
        EvalWhat::Smp2017 { model, data, misses, json } => {
            let path = data.unwrap_or_else(|| eval::public::shared_data_dir().join("smp2017/dev.jsonl"));
            let model = IntentModel::load(&model_dir(model))?;
            match eval::public::smp2017(&model, &path)? {
                None => {
                    eprintln!("skipped: SMP2017 data not found at {} (set KEFU_SHARED_DATA)", path.display())
                }
                Some(r) if json => output::json(&r)?,
                Some(r) => print!("{}", r.render(misses)),
            }
        }
        EvalWhat::Clinc150 { model, data, json } => {
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
                output::json(&report)?;
            } else {
                output::clinc150(&report);
            }
        }
        EvalWhat::Jddc { model, data, labels, misses, json } => {
            let questions =
                data.unwrap_or_else(|| eval::public::shared_data_dir().join("jddc_dev/dev_question.txt"));
            let labels = labels.unwrap_or_else(eval::jddc::default_labels_file);
            let model = IntentModel::load(&model_dir(model))?;
            match eval::public::jddc(&model, &questions, &labels)? {
                None => eprintln!(
                    "skipped: JDDC data not found at {} (set KEFU_SHARED_DATA)",
                    questions.display()
                ),
                Some((r, _)) if json => output::json(&r)?,
                Some((r, texts)) => print!("{}", r.render(misses.then_some(&texts[..]))),
            }
        }
        EvalWhat::Faq { data, tune, misses, json } => {
            let kb = load_kb(&knowledge)?;
            let data = data.unwrap_or_else(|| knowledge.join("eval").join("faq.toml"));
            let cases = eval::faq::load_cases(&data, &kb).map_err(|d| anyhow::anyhow!("{d}"))?;
            let thresholds = if tune {
                let zero = LangThresholds { answer: 0.0, suggest: 0.0 };
                Thresholds { zh: zero, en: zero }
            } else {
                Thresholds::load(&knowledge)?
            };
            let mut index = FaqIndex::build(&kb.faqs, thresholds)?;
            if tune {
                let t = eval::faq::tune(&index, &cases)?;
                t.save(&knowledge).context("writing thresholds")?;
                eprintln!("thresholds written to {}", knowledge.join("search.toml").display());
                index.set_thresholds(t);
            }
            let report = eval::faq::evaluate(&index, &cases)?;
            if json {
                output::json(&report)?;
            } else {
                print!("{}", report.render(misses));
            }
        }
        EvalWhat::Dialogue { data, model, transcript, json } => {
            let kb = load_kb(&knowledge)?;
            let data = data.unwrap_or_else(|| eval::dialogue::default_data(&knowledge));
            let conversations = eval::dialogue::load(&data, &kb).map_err(|d| {
                anyhow::anyhow!(
                    "{} problem(s) in the dialogues:\n{}",
                    d.len(),
                    d.iter().map(|p| format!("  {p}\n")).collect::<String>()
                )
            })?;
            let engines = eval::dialogue::engines(&kb, &model_dir(model))?;
            let rt = tokio::runtime::Runtime::new()?;
            let now = eval::dialogue::demo_now();
            let report = rt.block_on(eval::dialogue::evaluate(&kb, engines, &conversations, now))?;
            if json {
                output::json(&report)?;
            } else {
                print!("{}", report.render(transcript));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn model(config: Config, action: ModelAction) -> Result<ExitCode> {
    use kefu::models::{ActivateError, Models, Registry};
    // on PostgreSQL the versions and activations are the database's (the folder a cache); the
    // running nodes put a version activated here in force at their next start or announcement
    let rt = tokio::runtime::Runtime::new()?;
    let registry = match kefu::store::backend::postgres_url(&config.database) {
        Some(_) => {
            let store = rt.block_on(kefu::store::Backend::open(&config.database))?;
            Registry::shared(config.model_store_dir(), &config.model, store, rt.handle().clone())
        }
        None => Registry::new(config.model_store_dir(), &config.model),
    };
    let on_disk = registry.active()?;
    let models = Models::open(registry, config.knowledge.join("eval/intents"))?;
    let who = format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()));
    let activated = |a: kefu::models::Activation| {
        output::activation(&a);
        ExitCode::SUCCESS
    };
    match action {
        ModelAction::List { json } => {
            let listing = models.list()?;
            if json {
                output::json(&listing)?;
            } else {
                output::model_list(&listing, &on_disk);
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

fn backup(config: Config, dest: &Path) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let (path, manifest) = match kefu::store::backend::postgres_url(&config.database) {
        Some(url) => tokio::runtime::Runtime::new()?.block_on(kefu::store::pg::backup::backup(url, dest))?,
        None => kefu::store::backup::backup(&config.database, dest)?,
    };
    output::backed_up(&path, &manifest, started.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

fn restore(config: Config, src: &Path, force: bool) -> Result<ExitCode> {
    let (manifest, target) = match kefu::store::backend::postgres_url(&config.database) {
        Some(url) => (
            tokio::runtime::Runtime::new()?.block_on(kefu::store::pg::backup::restore(src, url, force))?,
            "the PostgreSQL database".to_string(),
        ),
        None => (
            kefu::store::backup::restore(src, &config.database, force)?,
            config.database.display().to_string(),
        ),
    };
    output::restored(&target, &manifest);
    Ok(ExitCode::SUCCESS)
}

fn shopper_export(config: Config, shopper_id: String) -> Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new()?;
    let data = rt.block_on(async {
        let store = kefu::store::Backend::open(&config.database).await?;
        anyhow::Ok(store.shopper_data(shopper_id.clone()).await?)
    })?;
    if data.is_empty() {
        eprintln!("nothing is stored about shopper {shopper_id}");
        return Ok(ExitCode::FAILURE);
    }
    output::json(&kefu::privacy::export::ShopperExport::new(data, kefu::store::now()))?;
    Ok(ExitCode::SUCCESS)
}

fn shopper_erase(config: Config, shopper_id: String) -> Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new()?;
    let erased = rt.block_on(async {
        let store = kefu::store::Backend::open(&config.database).await?;
        anyhow::Ok(store.erase_shopper(shopper_id.clone(), "cli".to_string()).await?)
    })?;
    let Some(erasure) = erased else {
        eprintln!("nothing is stored about shopper {shopper_id}");
        return Ok(ExitCode::FAILURE);
    };
    tracing::info!(shopper = %shopper_id, erasure = erasure.id, "shopper data erased");
    output::json(&kefu::privacy::erasure::ErasureReport::from(&erasure))?;
    Ok(ExitCode::SUCCESS)
}
