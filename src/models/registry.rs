//! The model versions on disk, under the `model_store` folder (default `data/models`):
//!
//! ```text
//! data/models/
//!   20261125-091530/      a version trained while the service ran
//!     model.safetensors config.json tokenizer.json    the model (as `kefu train` writes it)
//!     metrics.json        its evaluation on the held-out set (`eval::intents::IntentReport`)
//!     meta.json           who trained it, when, on how much data, seed, epochs, parent version
//!   ACTIVE                the version in force (absent or `shipped`: the shipped model)
//!   HISTORY               one line per activation: time, kind, version, who
//! ```
//!
//! The shipped model (config `model`, `models/intent/`, committed) is the version `shipped`; it
//! is only ever read. Every write is atomic: a version is written into a `.tmp-*` folder and
//! renamed into place, `ACTIVE` and `HISTORY` are written to a temporary file and renamed over
//! the old one (each fsynced first), so a crash leaves the old state or the new one, never half.
//! `ACTIVE` is written before `HISTORY`; [`Registry::stack`] reads them so that a crash between
//! the two still rolls back to the right version.
//!
//! Several nodes on PostgreSQL ([`Registry::shared`]): the database is the source of truth
//! (`store::ModelStore`: each version's files, and the activations in place of `ACTIVE` and
//! `HISTORY`), the folder only a cache of versions. A saved version is written here, then stored
//! with all its files in one transaction; a version another node trained is fetched into the
//! folder (the same `.tmp` and rename) the first time it is loaded, or by
//! [`Registry::fetch_missing`]. An activation is recorded only if none was recorded since the
//! one it was decided on ([`Head`]), so two nodes never both roll back the same step.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ModelsError;
use crate::eval::intents::IntentReport;
use crate::intent::IntentModel;
use crate::store::models::{ModelFile, ModelVersionRow};
use crate::store::{Backend, ModelStore, StoreError};

/// The version id of the shipped model.
pub const SHIPPED: &str = "shipped";
pub const ACTIVE_FILE: &str = "ACTIVE";
pub const HISTORY_FILE: &str = "HISTORY";
pub const METRICS_FILE: &str = "metrics.json";
pub const META_FILE: &str = "meta.json";

/// How a version was trained (`meta.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    pub version: String,
    /// RFC 3339, UTC.
    pub created: String,
    /// The staff account that asked for it.
    pub who: String,
    /// The version in force when training started (the one it was compared with).
    pub parent: String,
    pub seed: u64,
    pub epochs: usize,
    /// Training examples, in all and per language.
    pub examples: usize,
    pub examples_zh: usize,
    pub examples_en: usize,
    pub labels: usize,
    /// Held-out examples it was evaluated on.
    pub held_out_examples: usize,
    pub training_seconds: f64,
}

/// The headline numbers of an evaluation (read back from `metrics.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MetricsSummary {
    pub examples: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub in_scope_accuracy: f64,
    pub oos_precision: Option<f64>,
    pub oos_recall: Option<f64>,
}

impl From<&IntentReport> for MetricsSummary {
    fn from(r: &IntentReport) -> Self {
        MetricsSummary {
            examples: r.examples,
            accuracy: r.accuracy,
            macro_f1: r.macro_f1,
            in_scope_accuracy: r.in_scope_accuracy,
            oos_precision: r.oos_precision,
            oos_recall: r.oos_recall,
        }
    }
}

/// One version as listed.
#[derive(Debug, Clone, Serialize)]
pub struct VersionInfo {
    pub id: String,
    /// RFC 3339; none for the shipped model.
    pub created: Option<String>,
    /// Who trained it (`kefu train` for the shipped model).
    pub who: String,
    /// None when `meta.json` is missing or unreadable, and for the shipped model.
    pub meta: Option<Meta>,
    /// The evaluation saved with the version (none for the shipped model: see
    /// [`super::Models::list`], which measures it).
    pub metrics: Option<MetricsSummary>,
}

/// What an activation line in `HISTORY` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivationKind {
    /// Activated, not worse than the version it replaced (or not compared: a restart).
    Activate,
    /// Activated although worse, with the explicit override.
    Override,
    /// Back to the version in force before the last activation.
    Rollback,
}

impl ActivationKind {
    fn as_str(self) -> &'static str {
        match self {
            ActivationKind::Activate => "activate",
            ActivationKind::Override => "override",
            ActivationKind::Rollback => "rollback",
        }
    }

    fn parse(s: &str) -> Option<ActivationKind> {
        match s {
            "activate" => Some(ActivationKind::Activate),
            "override" => Some(ActivationKind::Override),
            "rollback" => Some(ActivationKind::Rollback),
            _ => None,
        }
    }
}

/// One line of `HISTORY`.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub time: String,
    pub kind: ActivationKind,
    pub version: String,
    pub who: String,
}

/// The model store folder and the shipped model's folder (and, shared, the database). Cheap to
/// clone; holds no state of its own (everything is read from disk or the database when asked).
#[derive(Debug, Clone)]
pub struct Registry {
    root: PathBuf,
    shipped: PathBuf,
    shared: Option<Shared>,
}

/// The database side of a shared registry. Its calls block on the runtime, so a shared
/// registry's methods run on blocking threads (as every caller of [`super::Models`] does).
#[derive(Debug, Clone)]
struct Shared {
    store: Backend,
    rt: tokio::runtime::Handle,
}

/// A call on the store, boxed so a closure can return it.
type StoreCall<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// The activation an activation or rollback was decided on: recording it fails if another came
/// since (shared registries only; the files are serialised by [`super::Models`]' lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head(Option<i64>);

/// A version id as written in paths and URLs: letters, digits, `.`, `_`, `-`, at most 64, not
/// starting with `.` (so never a temporary folder, never `..`).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && !id.starts_with('.')
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && id != ACTIVE_FILE
        && id != HISTORY_FILE
}

impl Registry {
    pub fn new(root: impl Into<PathBuf>, shipped: impl Into<PathBuf>) -> Registry {
        Registry { root: root.into(), shipped: shipped.into(), shared: None }
    }

    /// A registry whose versions and activations live in `store` (PostgreSQL), `root` being this
    /// node's cache of them. `rt`: the runtime the store runs on (its calls block on it).
    pub fn shared(
        root: impl Into<PathBuf>,
        shipped: impl Into<PathBuf>,
        store: Backend,
        rt: tokio::runtime::Handle,
    ) -> Registry {
        Registry { root: root.into(), shipped: shipped.into(), shared: Some(Shared { store, rt }) }
    }

    /// Whether the versions live in the database (several nodes).
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// The database's answer to `call` (None when not shared). Blocks the calling thread.
    fn db<T>(&self, call: impl FnOnce(&Backend) -> StoreCall<'_, T>) -> Result<Option<T>, ModelsError> {
        let Some(shared) = &self.shared else { return Ok(None) };
        shared.rt.block_on(call(&shared.store)).map(Some).map_err(|e| ModelsError::Store(e.to_string()))
    }

    /// Whether the version's folder is here, complete.
    fn cached(&self, version: &str) -> bool {
        self.dir(version).is_ok_and(|d| d.join(crate::intent::model::CONFIG_FILE).is_file())
    }

    /// Copies a version from the database into the folder (false: the database has no such
    /// version). Written into a `.tmp-*` folder and renamed, like a saved version.
    fn fetch(&self, version: &str) -> Result<bool, ModelsError> {
        let id = version.to_string();
        let Some(Some(files)) = self.db(|s| Box::pin(s.model_files(id)))? else { return Ok(false) };
        fs::create_dir_all(&self.root).map_err(|e| io(&self.root, e))?;
        let tmp = self.root.join(format!(".tmp-fetch-{version}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        let written = (|| {
            fs::create_dir_all(&tmp).map_err(|e| io(&tmp, e))?;
            for f in &files {
                if !valid_id(&f.name) {
                    return Err(ModelsError::Store(format!("version {version}: a file named {:?}", f.name)));
                }
                let path = tmp.join(&f.name);
                let mut out = File::create(&path).map_err(|e| io(&path, e))?;
                out.write_all(&f.data).and_then(|_| out.sync_all()).map_err(|e| io(&path, e))?;
            }
            sync_dir(&tmp)?;
            match fs::rename(&tmp, self.root.join(version)) {
                Ok(()) => sync_dir(&self.root),
                // fetched meanwhile by another caller
                Err(_) if self.cached(version) => Ok(()),
                Err(e) => Err(io(&self.root.join(version), e)),
            }
        })();
        let _ = fs::remove_dir_all(&tmp);
        written.map(|()| {
            tracing::info!(%version, files = files.len(), "model version fetched from the database");
            true
        })
    }

    /// Fetches every version the database has and the folder lacks (none when not shared).
    /// Returns how many were fetched.
    pub fn fetch_missing(&self) -> Result<usize, ModelsError> {
        let Some(rows) = self.db(|s| Box::pin(s.model_versions()))? else { return Ok(0) };
        let mut fetched = 0;
        for row in rows.iter().filter(|r| valid_id(&r.id) && !self.cached(&r.id)) {
            fetched += usize::from(self.fetch(&row.id)?);
        }
        Ok(fetched)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of a version (the shipped model's for `shipped`), if the id is well formed.
    pub fn dir(&self, version: &str) -> Result<PathBuf, ModelsError> {
        if version == SHIPPED {
            Ok(self.shipped.clone())
        } else if valid_id(version) {
            Ok(self.root.join(version))
        } else {
            Err(ModelsError::UnknownVersion(version.to_string()))
        }
    }

    /// Whether the version exists (a folder with a model `config.json`; shared: or in the
    /// database).
    pub fn exists(&self, version: &str) -> bool {
        if self.cached(version) || version == SHIPPED || !valid_id(version) {
            return self.cached(version);
        }
        match self.db(|s| Box::pin(s.model_versions())) {
            Ok(rows) => rows.is_some_and(|rows| rows.iter().any(|r| r.id == version)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot list the stored model versions");
                false
            }
        }
    }

    /// Loads a version's model (shared: fetched from the database first when not cached here).
    pub fn load(&self, version: &str) -> Result<IntentModel, ModelsError> {
        let dir = self.dir(version)?;
        if !self.cached(version) && (version == SHIPPED || !self.fetch(version)?) {
            return Err(ModelsError::UnknownVersion(version.to_string()));
        }
        IntentModel::load(&dir).map_err(|e| ModelsError::Invalid(version.to_string(), e))
    }

    /// The version in force as recorded: `ACTIVE` (shared: the last activation), `shipped` when
    /// there is none.
    pub fn active(&self) -> Result<String, ModelsError> {
        if let Some(rows) = self.db(|s| Box::pin(s.model_activations()))? {
            return Ok(rows.last().map_or_else(|| SHIPPED.to_string(), |r| r.version.clone()));
        }
        match fs::read_to_string(self.root.join(ACTIVE_FILE)) {
            Ok(s) if s.trim().is_empty() => Ok(SHIPPED.to_string()),
            Ok(s) => Ok(s.trim().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SHIPPED.to_string()),
            Err(e) => Err(io(&self.root.join(ACTIVE_FILE), e)),
        }
    }

    /// Every version trained here (shared: on any node), newest first, then the shipped model.
    pub fn list(&self) -> Result<Vec<VersionInfo>, ModelsError> {
        if let Some(rows) = self.db(|s| Box::pin(s.model_versions()))? {
            fn parse<T: serde::de::DeserializeOwned>(
                id: &str,
                what: &str,
                text: &Option<String>,
            ) -> Option<T> {
                text.as_deref().and_then(|t| match serde_json::from_str(t) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        tracing::warn!(version = %id, what, error = %e, "unreadable model metadata");
                        None
                    }
                })
            }
            let mut out: Vec<VersionInfo> = rows
                .into_iter()
                .filter(|r| valid_id(&r.id))
                .map(|r| VersionInfo {
                    meta: parse(&r.id, META_FILE, &r.meta),
                    metrics: parse(&r.id, METRICS_FILE, &r.metrics),
                    created: Some(r.created),
                    who: r.who,
                    id: r.id,
                })
                .collect();
            out.sort_by(|a, b| b.id.cmp(&a.id));
            out.push(shipped_info());
            return Ok(out);
        }
        let mut ids = Vec::new();
        match fs::read_dir(&self.root) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry.map_err(|e| io(&self.root, e))?;
                    let Some(id) = entry.file_name().to_str().map(str::to_string) else { continue };
                    if valid_id(&id) && id != SHIPPED && self.exists(&id) {
                        ids.push(id);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&self.root, e)),
        }
        ids.sort_by(|a, b| b.cmp(a));
        let mut out: Vec<VersionInfo> = ids
            .into_iter()
            .map(|id| {
                let dir = self.root.join(&id);
                let meta: Option<Meta> = read_json(&dir.join(META_FILE));
                let metrics: Option<MetricsSummary> = read_json(&dir.join(METRICS_FILE));
                VersionInfo {
                    created: meta.as_ref().map(|m| m.created.clone()),
                    who: meta.as_ref().map_or_else(|| "?".to_string(), |m| m.who.clone()),
                    id,
                    meta,
                    metrics,
                }
            })
            .collect();
        out.push(shipped_info());
        Ok(out)
    }

    /// Writes a new version (model, `metrics.json`, `meta.json`) and returns its id: the UTC
    /// time of `meta.created` (`20261125-091530`, with `-2`, `-3` … if taken). Written into a
    /// temporary folder, then renamed into place: a version is complete or absent.
    pub fn save(
        &self,
        model: &IntentModel,
        meta: &mut Meta,
        metrics: &IntentReport,
    ) -> Result<String, ModelsError> {
        fs::create_dir_all(&self.root).map_err(|e| io(&self.root, e))?;
        let created = chrono::DateTime::parse_from_rfc3339(&meta.created)
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_else(|_| chrono::Utc::now());
        let base = created.format("%Y%m%d-%H%M%S").to_string();
        let tmp = self.root.join(format!(".tmp-{base}-{}", std::process::id()));
        // shared: a name another node took is not free either; a name taken between that check
        // and the insert is given up and the next one tried
        for _ in 0..5 {
            let taken: Vec<String> = self
                .db(|s| Box::pin(s.model_versions()))?
                .map(|rows| rows.into_iter().map(|r| r.id).collect())
                .unwrap_or_default();
            let _ = fs::remove_dir_all(&tmp);
            let result = self.write_version(&tmp, &base, &taken, model, meta, metrics);
            if result.is_err() {
                let _ = fs::remove_dir_all(&tmp);
            }
            let id = result?;
            match self.upload(&id, meta) {
                Ok(true) => return Ok(id),
                Ok(false) => {
                    tracing::warn!(version = %id, "another node stored this version name meanwhile; renaming");
                    let _ = fs::remove_dir_all(self.root.join(&id));
                }
                Err(e) => {
                    // not stored, so not kept here either: a version is in the database or nowhere
                    let _ = fs::remove_dir_all(self.root.join(&id));
                    return Err(e);
                }
            }
        }
        Err(ModelsError::Store(format!("no free version name for {base}")))
    }

    /// Stores a version written in the folder into the database (true when not shared): false
    /// when another node took its name.
    fn upload(&self, id: &str, meta: &Meta) -> Result<bool, ModelsError> {
        if self.shared.is_none() {
            return Ok(true);
        }
        let dir = self.root.join(id);
        let mut files = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| io(&dir, e))? {
            let path = entry.map_err(|e| io(&dir, e))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            let data = fs::read(&path).map_err(|e| io(&path, e))?;
            files.push(ModelFile { name, data });
        }
        let text = |name: &str| {
            files.iter().find(|f| f.name == name).map(|f| String::from_utf8_lossy(&f.data).into_owned())
        };
        let row = ModelVersionRow {
            id: id.to_string(),
            created: meta.created.clone(),
            who: meta.who.clone(),
            meta: text(META_FILE),
            metrics: text(METRICS_FILE),
        };
        let stored = self.db(|s| Box::pin(s.add_model_version(row, files)))?.unwrap_or(true);
        if stored {
            tracing::info!(version = %id, "model version stored in the database");
        }
        Ok(stored)
    }

    /// Writes the version into `tmp` and renames it to the first free name `base`, `base-2` …
    fn write_version(
        &self,
        tmp: &Path,
        base: &str,
        taken: &[String],
        model: &IntentModel,
        meta: &mut Meta,
        metrics: &IntentReport,
    ) -> Result<String, ModelsError> {
        for n in 1..100 {
            let id = if n == 1 { base.to_string() } else { format!("{base}-{n}") };
            if self.root.join(&id).exists() || taken.contains(&id) {
                continue;
            }
            meta.version = id.clone();
            fs::create_dir_all(tmp).map_err(|e| io(tmp, e))?;
            model.save(tmp).map_err(|e| ModelsError::Invalid(id.clone(), e))?;
            write_json(&tmp.join(METRICS_FILE), metrics)?;
            write_json(&tmp.join(META_FILE), &*meta)?;
            for entry in fs::read_dir(tmp).map_err(|e| io(tmp, e))? {
                let path = entry.map_err(|e| io(tmp, e))?.path();
                File::open(&path).and_then(|f| f.sync_all()).map_err(|e| io(&path, e))?;
            }
            sync_dir(tmp)?;
            match fs::rename(tmp, self.root.join(&id)) {
                Ok(()) => {
                    sync_dir(&self.root)?;
                    return Ok(id);
                }
                // another writer took the name between the check and the rename
                Err(_) if self.root.join(&id).exists() => continue,
                Err(e) => return Err(io(&self.root.join(&id), e)),
            }
        }
        Err(ModelsError::Io(format!("{}: no free version name for {base}", self.root.display())))
    }

    /// The last activation recorded, for [`Registry::record_from`].
    pub fn head(&self) -> Result<Head, ModelsError> {
        Ok(Head(self.db(|s| Box::pin(s.model_activations()))?.and_then(|rows| rows.last().map(|r| r.id))))
    }

    /// Records that `version` is now in force: `ACTIVE` first, then a `HISTORY` line.
    pub fn record(&self, version: &str, kind: ActivationKind, who: &str) -> Result<(), ModelsError> {
        self.record_from(self.head()?, version, kind, who)
    }

    /// [`Registry::record`], decided on `head`: shared, refused with [`ModelsError::Conflict`]
    /// when another activation was recorded since.
    pub fn record_from(
        &self,
        head: Head,
        version: &str,
        kind: ActivationKind,
        who: &str,
    ) -> Result<(), ModelsError> {
        let who: String = who.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        let (k, v, w) = (kind.as_str().to_string(), version.to_string(), who.clone());
        if let Some(recorded) = self.db(|s| Box::pin(s.record_model_activation(head.0, k, v, w)))? {
            return match recorded {
                Some(_) => Ok(()),
                None => Err(ModelsError::Conflict),
            };
        }
        fs::create_dir_all(&self.root).map_err(|e| io(&self.root, e))?;
        write_atomic(&self.root.join(ACTIVE_FILE), format!("{version}\n").as_bytes())?;
        let path = self.root.join(HISTORY_FILE);
        let mut text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io(&path, e)),
        };
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        text += &format!("{now}\t{}\t{version}\t{who}\n", kind.as_str());
        write_atomic(&path, text.as_bytes())
    }

    /// The lines of `HISTORY`, oldest first (unreadable lines are skipped).
    pub fn history(&self) -> Result<Vec<HistoryEntry>, ModelsError> {
        if let Some(rows) = self.db(|s| Box::pin(s.model_activations()))? {
            return Ok(rows
                .into_iter()
                .filter_map(|r| {
                    let kind = ActivationKind::parse(&r.kind)?;
                    Some(HistoryEntry { time: r.at, kind, version: r.version, who: r.who })
                })
                .collect());
        }
        let path = self.root.join(HISTORY_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&path, e)),
        };
        Ok(text
            .lines()
            .filter_map(|line| {
                let mut parts = line.splitn(4, '\t');
                let (time, kind, version) = (parts.next()?, parts.next()?, parts.next()?);
                let kind = ActivationKind::parse(kind)?;
                let who = parts.next().unwrap_or("").to_string();
                Some(HistoryEntry { time: time.into(), kind, version: version.into(), who })
            })
            .collect())
    }

    /// The versions that were in force, oldest first, with each rollback undoing the activation
    /// before it: the last is the active version, the one before it is where a rollback goes.
    /// Starts with `shipped`; ends with what `ACTIVE` says even if `HISTORY` missed it.
    pub fn stack(&self) -> Result<Vec<String>, ModelsError> {
        let mut stack = vec![SHIPPED.to_string()];
        for entry in self.history()? {
            match entry.kind {
                ActivationKind::Activate | ActivationKind::Override => stack.push(entry.version),
                ActivationKind::Rollback => {
                    stack.pop();
                    if stack.last() != Some(&entry.version) {
                        stack.push(entry.version);
                    }
                }
            }
        }
        let active = self.active()?;
        if stack.last() != Some(&active) {
            stack.push(active);
        }
        Ok(stack)
    }

    /// Where a rollback goes: the version in force before the last activation, if any.
    pub fn rollback_target(&self) -> Result<Option<String>, ModelsError> {
        let stack = self.stack()?;
        Ok(stack.len().checked_sub(2).map(|i| stack[i].clone()))
    }
}

fn shipped_info() -> VersionInfo {
    VersionInfo {
        id: SHIPPED.to_string(),
        created: None,
        who: "kefu train".to_string(),
        meta: None,
        metrics: None,
    }
}

fn io(path: &Path, e: std::io::Error) -> ModelsError {
    ModelsError::Io(format!("{}: {e}", path.display()))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    let text = fs::read_to_string(path).ok()?;
    match serde_json::from_str(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "unreadable model metadata");
            None
        }
    }
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), ModelsError> {
    let text = serde_json::to_string_pretty(value).expect("serialises") + "\n";
    fs::write(path, text).map_err(|e| io(path, e))
}

/// Writes `bytes` to `path.tmp`, fsyncs it, renames it over `path`, fsyncs the folder.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ModelsError> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(|e| io(&tmp, e))?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(|e| io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| io(path, e))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

fn sync_dir(dir: &Path) -> Result<(), ModelsError> {
    File::open(dir).and_then(|f| f.sync_all()).map_err(|e| io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_could_escape_the_folder_are_refused() {
        for bad in ["", "..", ".tmp-1", "a/b", "a\\b", "ACTIVE", "HISTORY", "x y", &"a".repeat(65)] {
            assert!(!valid_id(bad), "{bad:?}");
        }
        for good in ["20261125-091530", "20261125-091530-2", "v1.2_a"] {
            assert!(valid_id(good), "{good:?}");
        }
    }

    #[test]
    fn the_stack_undoes_activations_one_rollback_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let r = Registry::new(dir.path().join("models"), dir.path().join("shipped"));
        assert_eq!(r.active().unwrap(), SHIPPED);
        assert_eq!(r.rollback_target().unwrap(), None);
        r.record("a", ActivationKind::Activate, "wang").unwrap();
        r.record("b", ActivationKind::Override, "li\tx").unwrap();
        assert_eq!(r.stack().unwrap(), ["shipped", "a", "b"]);
        assert_eq!(r.rollback_target().unwrap().as_deref(), Some("a"));
        r.record("a", ActivationKind::Rollback, "wang").unwrap();
        assert_eq!(r.rollback_target().unwrap().as_deref(), Some("shipped"));
        r.record("shipped", ActivationKind::Rollback, "wang").unwrap();
        assert_eq!(r.active().unwrap(), SHIPPED);
        assert_eq!(r.rollback_target().unwrap(), None);
        // activating an old version is one more activation: a rollback undoes it
        r.record("b", ActivationKind::Activate, "wang").unwrap();
        assert_eq!(r.rollback_target().unwrap().as_deref(), Some("shipped"));
        assert_eq!(r.history().unwrap()[1].who, "li x", "control characters cannot break a line");
        // a crash after ACTIVE was written and before HISTORY was: ACTIVE wins
        write_atomic(&r.root().join(ACTIVE_FILE), b"c\n").unwrap();
        assert_eq!(r.stack().unwrap().last().map(String::as_str), Some("c"));
        assert_eq!(r.rollback_target().unwrap().as_deref(), Some("b"));
    }
}
