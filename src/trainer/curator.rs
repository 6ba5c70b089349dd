//! The knowledge base while the service runs. The files under `knowledge/` seed it (and win
//! again whenever they change, e.g. after a `git pull`); from then on the store holds it, with
//! every change a revision. An FAQ change rebuilds the search index off the async threads and
//! swaps it in whole: conversations in progress keep going, the next message sees the new answer.
//! `kefu kb export` writes it back as files, so it can live in git.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::dialogue::{Engines, Router};
use crate::intent::data::{Example, IntentDoc};
use crate::knowledge::faq::{to_files, FaqDoc};
use crate::knowledge::{Faq, KnowledgeBase};
use crate::lang::Lang;
use crate::search::FaqIndex;
use crate::store::{Backend, Expect, KbEntry, KbWrite, KnowledgeStore, Revision, StoreError};
use crate::trainer::answer_sync::{answer_sync, AnswerSync};

/// What can be edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Faq,
    Intent,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Faq => "faq",
            Kind::Intent => "intent",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "faq" | "faqs" => Some(Kind::Faq),
            "intent" | "intents" => Some(Kind::Intent),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CurateError {
    #[error("the entry is not valid: {}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error("the entry changed since you loaded it (or the id is taken)")]
    Conflict(Option<Box<KbEntry>>),
    #[error("no such entry")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("rebuilding the search index failed: {0}")]
    Index(String),
}

/// The settings key holding the hash of the knowledge files last imported or exported.
const FILES_HASH: &str = "kb_files_hash";

/// Edits the live knowledge base. Shared by the API handlers. Cheap to clone.
#[derive(Clone)]
pub struct Curator {
    store: Backend,
    router: Router,
    /// One rebuild at a time, each from the latest committed state: the last swap always
    /// reflects the last change.
    rebuild: Arc<tokio::sync::Mutex<()>>,
    /// Tells the other nodes sharing the database that the FAQ entries changed (they rebuild
    /// their index from it: `knowledge_sync`).
    announce: Option<Arc<dyn Fn() + Send + Sync>>,
}

/// Parses and validates an FAQ document; its id is `id` when given (the URL's).
fn faq_doc(value: serde_json::Value, id: Option<&str>) -> Result<(FaqDoc, Faq), CurateError> {
    let mut doc: FaqDoc = serde_json::from_value(value)
        .map_err(|e| CurateError::Invalid(vec![format!("bad FAQ entry: {e}")]))?;
    if let Some(id) = id {
        doc.id = id.to_string();
    }
    let faq = doc.validate().map_err(CurateError::Invalid)?;
    Ok((FaqDoc::from(&faq), faq))
}

fn intent_doc(value: serde_json::Value, id: Option<&str>) -> Result<IntentDoc, CurateError> {
    let mut doc: IntentDoc =
        serde_json::from_value(value).map_err(|e| CurateError::Invalid(vec![format!("bad intent: {e}")]))?;
    if let Some(id) = id {
        doc.intent = id.to_string();
    }
    doc.validate().map_err(CurateError::Invalid)?;
    Ok(doc)
}

/// A validated document as stored, with its id.
fn checked(
    kind: Kind,
    value: serde_json::Value,
    id: Option<&str>,
) -> Result<(String, serde_json::Value), CurateError> {
    match kind {
        Kind::Faq => {
            let (doc, _) = faq_doc(value, id)?;
            Ok((doc.id.clone(), serde_json::to_value(doc).expect("serialisable")))
        }
        Kind::Intent => {
            let doc = intent_doc(value, id)?;
            Ok((doc.intent.clone(), serde_json::to_value(doc).expect("serialisable")))
        }
    }
}

/// The hash of the knowledge files the store's knowledge base comes from.
fn files_hash(root: &Path) -> String {
    let mut files = Vec::new();
    for dir in ["faq", "intents"] {
        if let Ok(rd) = std::fs::read_dir(root.join(dir)) {
            files.extend(
                rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "toml")),
            );
        }
    }
    files.sort();
    let mut h = Sha256::new();
    for f in files {
        h.update(f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default().as_bytes());
        h.update(std::fs::read(&f).unwrap_or_default());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Loads the knowledge files into the store (a revision per change, author `files`).
pub async fn import(
    store: &Backend,
    kb: &KnowledgeBase,
    root: &Path,
    author: &str,
) -> Result<usize, CurateError> {
    let faqs = kb
        .faqs
        .iter()
        .map(|f| (f.id.clone(), serde_json::to_value(FaqDoc::from(f)).expect("json")))
        .collect();
    let examples = crate::intent::data::load(&root.join("intents"), None)
        .map_err(|d| CurateError::Invalid(d.0.into_iter().map(|d| d.to_string()).collect()))?;
    let docs = IntentDoc::from_examples(&examples);
    let problems: Vec<String> = docs
        .iter()
        .filter_map(|d| d.validate().err())
        .flatten()
        .map(|p| format!("{}: {p}", root.join("intents").display()))
        .collect();
    if !problems.is_empty() {
        return Err(CurateError::Invalid(problems));
    }
    let intents =
        docs.into_iter().map(|d| (d.intent.clone(), serde_json::to_value(d).expect("json"))).collect();
    let mut changed = store.kb_import(Kind::Faq.as_str(), faqs, author.to_string()).await?;
    changed += store.kb_import(Kind::Intent.as_str(), intents, author.to_string()).await?;
    store.set_setting(FILES_HASH, files_hash(root)).await?;
    Ok(changed)
}

/// At start-up: the store's knowledge base, first brought up to date with the files when they
/// changed since the last import or export. Returns the FAQ entries to index.
pub async fn sync_from_files(
    store: &Backend,
    kb: &KnowledgeBase,
    root: &Path,
) -> Result<Vec<Faq>, CurateError> {
    let hash = files_hash(root);
    let last = store.setting(FILES_HASH).await?;
    if last.as_deref() != Some(hash.as_str()) {
        let changed = import(store, kb, root, "files").await?;
        if last.is_some() && changed > 0 {
            tracing::warn!(changed, "knowledge files changed since the last import: they replace the edited entries (revisions kept)");
        }
    }
    stored_faqs(store).await
}

async fn stored_faqs(store: &Backend) -> Result<Vec<Faq>, CurateError> {
    let entries = store.kb_entries(Kind::Faq.as_str()).await?;
    // an entry the current rules refuse (e.g. after an upgrade) is left out of the index, loudly,
    // rather than keeping every other entry from being served
    Ok(entries
        .into_iter()
        .filter_map(|e| match faq_doc(e.entry, None) {
            Ok((_, f)) => Some(f),
            Err(err) => {
                tracing::error!(faq = %e.id, error = %err, "stored FAQ entry is not valid; not served");
                None
            }
        })
        .collect())
}

/// Writes the store's knowledge base as files under `root` (FAQ by category, one file per
/// intent), removing files for what no longer exists, and remembers them as imported.
///
/// `remember`: `root` is the service's own knowledge folder, so these files are what the store
/// holds (the next start does not import them again). Exporting elsewhere changes nothing.
pub async fn export(store: &Backend, root: &Path, remember: bool) -> Result<Vec<PathBuf>, CurateError> {
    let io = |e: std::io::Error| CurateError::Invalid(vec![e.to_string()]);
    let faqs: Vec<FaqDoc> = store
        .kb_entries(Kind::Faq.as_str())
        .await?
        .into_iter()
        .map(|e| serde_json::from_value(e.entry).map_err(|e| CurateError::Invalid(vec![e.to_string()])))
        .collect::<Result<_, _>>()?;
    let intents: Vec<IntentDoc> = store
        .kb_entries(Kind::Intent.as_str())
        .await?
        .into_iter()
        .map(|e| serde_json::from_value(e.entry).map_err(|e| CurateError::Invalid(vec![e.to_string()])))
        .collect::<Result<_, _>>()?;
    let mut written = Vec::new();
    let mut files: Vec<(PathBuf, String)> =
        to_files(&faqs).into_iter().map(|(name, text)| (root.join("faq").join(name), text)).collect();
    files.extend(
        intents.iter().map(|d| (root.join("intents").join(format!("{}.toml", d.intent)), d.to_toml())),
    );
    for dir in ["faq", "intents"] {
        std::fs::create_dir_all(root.join(dir)).map_err(io)?;
    }
    // every new file in place first; only then are files of deleted entries removed
    for (path, text) in &files {
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        written.push(path.clone());
    }
    for dir in ["faq", "intents"] {
        for old in std::fs::read_dir(root.join(dir)).map_err(io)?.flatten().map(|e| e.path()) {
            if old.extension().is_some_and(|e| e == "toml") && !files.iter().any(|(p, _)| *p == old) {
                std::fs::remove_file(&old).map_err(io)?;
            }
        }
    }
    if remember {
        store.set_setting(FILES_HASH, files_hash(root)).await?;
    }
    Ok(written)
}

impl Curator {
    pub fn new(store: Backend, router: Router) -> Curator {
        Curator { store, router, rebuild: Default::default(), announce: None }
    }

    /// Calls `announce` after each FAQ change is in force here (for the other nodes).
    pub fn announcing(self, announce: impl Fn() + Send + Sync + 'static) -> Curator {
        Curator { announce: Some(Arc::new(announce)), ..self }
    }

    pub async fn list(&self, kind: Kind) -> Result<Vec<KbEntry>, CurateError> {
        Ok(self.store.kb_entries(kind.as_str()).await?)
    }

    pub async fn get(&self, kind: Kind, id: &str) -> Result<KbEntry, CurateError> {
        self.store.kb_entry(kind.as_str(), id.to_string()).await?.ok_or(CurateError::NotFound)
    }

    pub async fn history(&self, kind: Kind, id: &str) -> Result<Vec<Revision>, CurateError> {
        Ok(self.store.kb_history(kind.as_str(), id.to_string()).await?)
    }

    /// Every FAQ entry's answers: when each language's was last changed, and which is behind
    /// (see [`crate::trainer::answer_sync`]), by entry id.
    pub async fn answer_syncs(&self) -> Result<BTreeMap<String, AnswerSync>, CurateError> {
        let revisions = self.store.kb_revisions(Kind::Faq.as_str()).await?;
        let mut out = BTreeMap::new();
        for chunk in revisions.chunk_by(|a, b| a.entry_id == b.entry_id) {
            out.insert(chunk[0].entry_id.clone(), answer_sync(chunk));
        }
        Ok(out)
    }

    /// One FAQ entry's answers (see [`Curator::answer_syncs`]).
    pub async fn answer_sync(&self, id: &str) -> Result<AnswerSync, CurateError> {
        let mut revisions = self.store.kb_history(Kind::Faq.as_str(), id.to_string()).await?;
        revisions.reverse();
        Ok(answer_sync(&revisions))
    }

    async fn write(
        &self,
        kind: Kind,
        id: String,
        expect: Expect,
        data: Option<serde_json::Value>,
        action: &'static str,
        author: &str,
    ) -> Result<Option<KbEntry>, CurateError> {
        let w =
            self.store.kb_write(kind.as_str(), id.clone(), expect, data, action, author.to_string()).await?;
        match w {
            KbWrite::Done { entry, .. } => {
                if kind == Kind::Faq {
                    self.apply().await?;
                }
                Ok(entry)
            }
            KbWrite::Unchanged => {
                // nothing to store, but make sure what is served matches what is stored
                if kind == Kind::Faq {
                    self.apply().await?;
                }
                Ok(self.store.kb_entry(kind.as_str(), id).await?)
            }
            KbWrite::Conflict { current: None } if matches!(expect, Expect::Version(_)) => {
                Err(CurateError::NotFound)
            }
            KbWrite::Conflict { current } => Err(CurateError::Conflict(current.map(Box::new))),
        }
    }

    /// Adds an entry; its id must be free.
    pub async fn create(
        &self,
        kind: Kind,
        value: serde_json::Value,
        author: &str,
    ) -> Result<KbEntry, CurateError> {
        let (id, data) = checked(kind, value, None)?;
        let entry = self.write(kind, id, Expect::Absent, Some(data), "create", author).await?;
        entry.ok_or(CurateError::NotFound)
    }

    /// Replaces an entry, if it is still at `version`.
    pub async fn update(
        &self,
        kind: Kind,
        id: &str,
        version: i64,
        value: serde_json::Value,
        author: &str,
    ) -> Result<KbEntry, CurateError> {
        let (id, data) = checked(kind, value, Some(id))?;
        let entry = self.write(kind, id, Expect::Version(version), Some(data), "update", author).await?;
        entry.ok_or(CurateError::NotFound)
    }

    pub async fn delete(&self, kind: Kind, id: &str, version: i64, author: &str) -> Result<(), CurateError> {
        self.write(kind, id.to_string(), Expect::Version(version), None, "delete", author).await?;
        Ok(())
    }

    /// Undoes one revision: the entry goes back to what it was before it (a new revision).
    pub async fn revert(&self, revision: i64, author: &str) -> Result<Option<KbEntry>, CurateError> {
        let rev = self.store.kb_revision(revision).await?.ok_or(CurateError::NotFound)?;
        if rev.kind == "canned" {
            let restored = self.store.restore_canned(rev.entry_id, rev.before, author.to_string()).await?;
            return Ok(restored.map(|c| KbEntry {
                kind: "canned".into(),
                id: c.id.clone(),
                version: c.version,
                updated_by: c.updated_by.clone().unwrap_or_default(),
                updated_at: c.updated_at.clone(),
                entry: serde_json::to_value(&c).expect("json"),
            }));
        }
        let kind = Kind::parse(&rev.kind).ok_or(CurateError::NotFound)?;
        let data = match rev.before {
            Some(v) => Some(checked(kind, v, Some(&rev.entry_id))?.1),
            None => None,
        };
        // only while the entry is still as that revision left it: a later change is never
        // silently thrown away (revert the later revisions first)
        let expect = match rev.after {
            Some(_) => Expect::Version(rev.version),
            None => Expect::Absent,
        };
        match self.write(kind, rev.entry_id, expect, data, "revert", author).await {
            Err(CurateError::NotFound) => Err(CurateError::Conflict(None)),
            other => other,
        }
    }

    /// Adds a shopper's phrasing to an FAQ entry (from the review queue).
    pub async fn add_phrasing(
        &self,
        faq_id: &str,
        lang: Lang,
        text: &str,
        author: &str,
    ) -> Result<KbEntry, CurateError> {
        let current = self.get(Kind::Faq, faq_id).await?;
        let mut doc: FaqDoc =
            serde_json::from_value(current.entry).map_err(|e| CurateError::Invalid(vec![e.to_string()]))?;
        let questions = match lang {
            Lang::Zh => &mut doc.zh.questions,
            Lang::En => &mut doc.en.questions,
        };
        if !questions.iter().any(|q| q == text.trim()) {
            questions.push(text.trim().to_string());
        }
        let value = serde_json::to_value(doc).expect("json");
        self.update(Kind::Faq, faq_id, current.version, value, author).await
    }

    /// Adds a labelled example to an intent (from the review queue).
    pub async fn add_example(
        &self,
        intent: &str,
        lang: Lang,
        text: &str,
        author: &str,
    ) -> Result<KbEntry, CurateError> {
        let current = self.get(Kind::Intent, intent).await?;
        let mut doc: IntentDoc =
            serde_json::from_value(current.entry).map_err(|e| CurateError::Invalid(vec![e.to_string()]))?;
        let list = match lang {
            Lang::Zh => &mut doc.zh,
            Lang::En => &mut doc.en,
        };
        if !list.iter().any(|q| q == text.trim()) {
            list.push(text.trim().to_string());
        }
        let value = serde_json::to_value(doc).expect("json");
        self.update(Kind::Intent, intent, current.version, value, author).await
    }

    /// The classifier's training data as the knowledge base stands now.
    pub async fn training_examples(&self) -> Result<Vec<Example>, CurateError> {
        let mut out = Vec::new();
        for e in self.store.kb_entries(Kind::Intent.as_str()).await? {
            let doc = intent_doc(e.entry, None)?;
            out.extend(doc.validate().map_err(CurateError::Invalid)?);
        }
        Ok(out)
    }

    /// Rebuilds the FAQ index from the stored entries, puts it in force and tells the other
    /// nodes. The rebuild runs as its own task: a client that goes away after its change was
    /// committed cannot cancel it.
    pub async fn apply(&self) -> Result<(), CurateError> {
        self.refresh().await?;
        if let Some(announce) = &self.announce {
            announce();
        }
        Ok(())
    }

    /// Rebuilds the FAQ index from the stored entries and puts it in force here only (another
    /// node changed them).
    pub async fn refresh(&self) -> Result<(), CurateError> {
        let (store, router, lock) = (self.store.clone(), self.router.clone(), self.rebuild.clone());
        tokio::spawn(async move { rebuild(&store, &router, &lock).await })
            .await
            .map_err(|e| CurateError::Index(e.to_string()))?
    }
}

async fn rebuild(store: &Backend, router: &Router, lock: &tokio::sync::Mutex<()>) -> Result<(), CurateError> {
    let _one = lock.lock().await;
    let faqs = stored_faqs(store).await?;
    let current = router.engines();
    let thresholds = *current.faq.thresholds();
    let started = std::time::Instant::now();
    let index = tokio::task::spawn_blocking(move || FaqIndex::build(&faqs, thresholds))
        .await
        .map_err(|e| CurateError::Index(e.to_string()))?
        .map_err(|e| CurateError::Index(e.to_string()))?;
    // the new index into the engines as they are now (a model may be activated meanwhile)
    let index = Arc::new(index);
    router.update_engines(|e| Engines { faq: index.clone(), ..e.clone() });
    tracing::info!(took_ms = started.elapsed().as_millis() as u64, "FAQ index rebuilt and swapped in");
    Ok(())
}
