//! The command line's definitions (clap): every command, argument and its help text.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "kefu", version, about = "Bilingual intelligent customer service for online stores")]
pub struct Cli {
    /// Config file (default: kefu.toml if present). Every command reads it: the service's
    /// settings, `knowledge`, `model`, `database`, `model_store`.
    #[arg(long, global = true, env = "KEFU_CONFIG")]
    pub config: Option<PathBuf>,
    /// The knowledge-base folder, for every command (default: the config's `knowledge`, i.e.
    /// KEFU_KNOWLEDGE, kefu.toml or knowledge).
    #[arg(long, global = true)]
    pub knowledge: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the chat service (WebSocket /ws/chat, /healthz).
    Serve,
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
        /// Training data: a folder of intent TOML files, or a .jsonl / .csv file of text,label
        /// (default: <knowledge>/intents).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Where to write the model (default: the config's `model`, models/intent).
        #[arg(long)]
        out: Option<PathBuf>,
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
        /// The model folder (default: the config's `model`, models/intent).
        #[arg(long)]
        model: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Measure an engine on held-out data.
    Eval {
        #[command(subcommand)]
        what: EvalWhat,
    },
    /// A consistent copy of the database, taken while the service runs (SQLite's online backup
    /// API; `pg_dump` of one snapshot on PostgreSQL), with `DEST.manifest.json` beside it
    /// (SHA-256, schema version, counts); both 0600. DEST: a new file, or a folder to write
    /// `kefu-<UTC time>.db` (`.pgdump`) into.
    Backup { dest: PathBuf },
    /// Restore a backup into the configured `database` after checking it (checksum, integrity,
    /// a kefu schema this binary knows). Refused while a running service holds the database.
    Restore {
        src: PathBuf,
        /// Replace the database already at the configured path.
        #[arg(long)]
        force: bool,
    },
    /// A signed-in shopper's data (their rights over it).
    Shopper {
        #[command(subcommand)]
        action: ShopperAction,
    },
    /// Intent model versions trained while the service runs (in `model_store`). Offline: a
    /// running service reads the active version when it starts; the API switches it live.
    Model {
        #[command(subcommand)]
        action: ModelAction,
    },
}

#[derive(Subcommand)]
pub enum ShopperAction {
    /// Everything kefu holds about the shopper as one JSON document on standard output
    /// (profile, orders, returns, conversations with messages, notes and feedback, tickets).
    Export { shopper_id: String },
    /// Anonymise everything kefu holds about the shopper (message texts, notes, tickets, the
    /// profile copy, orders' addresses, photos, webhook events about them; counts survive), in
    /// one transaction, recorded as an erasure by `cli`; prints what changed as JSON. Safe while
    /// the service runs, and to repeat.
    Erase { shopper_id: String },
}

#[derive(Subcommand)]
pub enum ModelAction {
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
pub enum UserAction {
    /// Add an account. The password is read from standard input (one line; prompted on a
    /// terminal), never from the command line.
    Add {
        name: String,
        #[arg(long, value_parser = ["agent", "trainer", "admin"])]
        role: String,
        /// The name shoppers see ("Li"); defaults to the account name.
        #[arg(long, default_value = "")]
        display_name: String,
    },
    /// List the accounts: name, display name, role, created.
    List,
    /// Remove an account. Its tokens and its console connection end within seconds.
    Remove { name: String },
    /// Change an account's role. Its tokens end: it logs in again.
    SetRole {
        name: String,
        #[arg(value_parser = ["agent", "trainer", "admin"])]
        role: String,
    },
    /// Set an account's password, read from standard input like `user add`. Its tokens end.
    Passwd { name: String },
}

#[derive(Subcommand)]
pub enum KbAction {
    /// Write the knowledge base (FAQ entries, intents) back to files, e.g. to commit them.
    Export {
        /// Folder to write into (default: the configured knowledge folder).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Load the knowledge files into the database (each change a revision you can revert).
    Import,
}

#[derive(Subcommand)]
pub enum ExportWhat {
    /// Customer-feedback records, one per conversation.
    Feedback {
        #[arg(long, value_enum, default_value = "jsonl")]
        format: ExportFormat,
        /// Only records updated on or after this date (YYYY-MM-DD).
        #[arg(long)]
        since: Option<String>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

#[derive(Subcommand)]
pub enum EvalWhat {
    /// Intent classification: accuracy, macro-F1, per-intent and out-of-scope precision/recall.
    Intents {
        /// The model folder (default: the config's `model`, models/intent).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Held-out data: a folder of intent TOML files, or a .jsonl / .csv file (default:
        /// <knowledge>/eval/intents).
        #[arg(long)]
        data: Option<PathBuf>,
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
        /// The model folder (default: the config's `model`, models/intent).
        #[arg(long)]
        model: Option<PathBuf>,
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
        /// The model folder (default: the config's `model`, models/intent).
        #[arg(long)]
        model: Option<PathBuf>,
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
        /// The model folder (default: the config's `model`, models/intent).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Print every turn, not only the failures.
        #[arg(long)]
        transcript: bool,
        #[arg(long)]
        json: bool,
    },
}
