//! Intent model versions while the service runs: retrain in the background, compare with the
//! model in force on the held-out set, activate (only when not worse, or with an explicit
//! override), roll back.
//!
//! - [`registry`]: the versions on disk (`data/models/<version>/`, `ACTIVE`, `HISTORY`),
//!   atomic writes;
//! - [`compare`]: old vs new metrics, per intent, and the "not worse" rule;
//! - [`jobs`]: the one background training job, its progress and result;
//! - [`Models`] (here): the version in force in this process, activation and rollback.
//!
//! Knows nothing about HTTP or the dialogue router: activating takes an `install` callback that
//! puts the model in force (the web layer swaps it into the router's engines; the CLI, offline,
//! installs nothing and the service reads `ACTIVE` when it starts). `kefu train` and the
//! shipped model in `models/intent/` are untouched by all of this.

pub mod compare;
pub mod jobs;
pub mod registry;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::eval::intents::{evaluate, IntentReport};
use crate::intent::data::Example;
use crate::intent::{IntentError, IntentModel};
pub use compare::{Comparison, TOLERANCE};
pub use jobs::{JobState, JobStatus, Jobs};
pub use registry::{ActivationKind, Registry, VersionInfo, SHIPPED};

#[derive(Debug, thiserror::Error)]
pub enum ModelsError {
    #[error("no model version {0:?}")]
    UnknownVersion(String),
    #[error("model version {0}: {1}")]
    Invalid(String, IntentError),
    #[error("model store: {0}")]
    Io(String),
    #[error("held-out set: {0}")]
    HeldOut(String),
    #[error("training data: {0}")]
    Data(String),
    #[error("training: {0}")]
    Training(IntentError),
    #[error("training was cancelled (the service is stopping)")]
    Cancelled,
    #[error("model versions in the database: {0}")]
    Store(String),
    #[error("another activation or rollback was recorded meanwhile (on another node); look again and retry")]
    Conflict,
}

/// Why an activation or rollback did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ActivateError {
    #[error("{} is worse than the active model {}: {}", .0.candidate.version, .0.active.version, .0.reasons.join("; "))]
    Worse(Box<Comparison>),
    #[error("nothing to roll back to: no activation is recorded")]
    NothingToRollBack,
    #[error(transparent)]
    Models(#[from] ModelsError),
}

/// What an activation did.
#[derive(Debug, Clone, Serialize)]
pub struct Activation {
    /// The version now in force.
    pub active: String,
    /// The one it replaced.
    pub previous: String,
    /// Activated although worse.
    #[serde(rename = "override")]
    pub overridden: bool,
    /// False when the version was already in force (nothing was written).
    pub changed: bool,
    /// The new model against the old on the held-out set (none for a rollback, and for an
    /// override when there is no held-out set).
    pub comparison: Option<Comparison>,
}

/// Every version, and which one is in force.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    pub active: String,
    pub versions: Vec<ListedVersion>,
    /// The version a rollback would put back in force (None: nothing to roll back to).
    pub rollback_to: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ListedVersion {
    #[serde(flatten)]
    pub info: VersionInfo,
    pub active: bool,
}

/// The model versions as this process uses them.
pub struct Models {
    pub registry: Registry,
    /// The held-out set (`knowledge/eval/intents`) every comparison is made on.
    held_out: PathBuf,
    /// The version in force and its model (the same `Arc` the router's engines hold).
    serving: Mutex<(String, Arc<IntentModel>)>,
    /// Serialises activations and rollbacks, so `ACTIVE` and the model in force agree.
    activation: Mutex<()>,
    /// The shipped model's held-out metrics, measured once when first listed.
    shipped_metrics: std::sync::OnceLock<registry::MetricsSummary>,
    pub jobs: Jobs,
}

/// Loads the held-out examples.
pub fn load_held_out(path: &Path) -> Result<Vec<Example>, ModelsError> {
    crate::intent::data::load(path, None).map_err(|d| ModelsError::HeldOut(d.to_string()))
}

impl Models {
    /// Loads the version `ACTIVE` names; if it cannot be loaded, the shipped model, with a
    /// warning (nothing is written: fix or roll back, then restart). An error only when the
    /// shipped model cannot be loaded either.
    pub fn open(registry: Registry, held_out: PathBuf) -> Result<Models, ModelsError> {
        let wanted = registry.active()?;
        let loaded = if wanted == SHIPPED {
            None
        } else {
            match registry.load(&wanted) {
                Ok(m) => Some((wanted.clone(), m)),
                Err(e) => {
                    tracing::warn!(version = %wanted, error = %e, "the active model version does not load; serving the shipped model");
                    None
                }
            }
        };
        let (id, model) = match loaded {
            Some(v) => v,
            None => (SHIPPED.to_string(), registry.load(SHIPPED)?),
        };
        // shared: the versions other nodes trained, so listing, comparing and trying them
        // needs no fetch later (a failure here only delays that)
        match registry.fetch_missing() {
            Ok(0) => {}
            Ok(n) => tracing::info!(fetched = n, "model versions fetched from the database"),
            Err(e) => tracing::warn!(error = %e, "model versions not fetched from the database"),
        }
        tracing::info!(version = %id, "intent model loaded");
        Ok(Models {
            registry,
            held_out,
            serving: Mutex::new((id, Arc::new(model))),
            activation: Mutex::new(()),
            shipped_metrics: Default::default(),
            jobs: Jobs::default(),
        })
    }

    /// The version in force and its model.
    pub fn serving(&self) -> (String, Arc<IntentModel>) {
        self.serving.lock().expect("serving lock").clone()
    }

    pub fn held_out(&self) -> &Path {
        &self.held_out
    }

    /// Every version with its saved metrics (the shipped model is measured on first call).
    /// Blocking.
    pub fn list(&self) -> Result<Listing, ModelsError> {
        let (active, model) = self.serving();
        let mut versions = self.registry.list()?;
        for v in versions.iter_mut().filter(|v| v.id == SHIPPED) {
            v.metrics = match self.shipped_metrics.get() {
                Some(m) => Some(m.clone()),
                None => {
                    let shipped = if active == SHIPPED {
                        model.clone()
                    } else {
                        Arc::new(self.registry.load(SHIPPED)?)
                    };
                    match load_held_out(&self.held_out)
                        .and_then(|t| evaluate(&shipped, &t).map_err(ModelsError::Training))
                    {
                        Ok(r) => Some(self.shipped_metrics.get_or_init(|| (&r).into()).clone()),
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot measure the shipped model");
                            None
                        }
                    }
                }
            };
        }
        let versions =
            versions.into_iter().map(|info| ListedVersion { active: info.id == active, info }).collect();
        let rollback_to = self.registry.rollback_target()?;
        Ok(Listing { active, versions, rollback_to })
    }

    /// `version` (a trained one, or `shipped`) against the model in force, on the held-out set.
    /// Blocking.
    pub fn compare(&self, version: &str) -> Result<Comparison, ModelsError> {
        let candidate = self.registry.load(version)?;
        let (active, model) = self.serving();
        let (a, c) = self.evaluate_pair(&model, &candidate)?;
        Ok(compare::compare(&active, &a, version, &c))
    }

    fn evaluate_pair(
        &self,
        active: &IntentModel,
        candidate: &IntentModel,
    ) -> Result<(IntentReport, IntentReport), ModelsError> {
        let test = load_held_out(&self.held_out)?;
        let a = evaluate(active, &test).map_err(ModelsError::Training)?;
        let c = evaluate(candidate, &test).map_err(ModelsError::Training)?;
        Ok((a, c))
    }

    /// Puts `version` in force: refused when it is worse than the model in force (see
    /// [`compare::TOLERANCE`]) unless `overridden`; otherwise writes `ACTIVE` and a `HISTORY`
    /// line, then `install`s the model, all under one lock. Blocking (loads and evaluates).
    pub fn activate(
        &self,
        version: &str,
        overridden: bool,
        who: &str,
        install: impl Fn(Arc<IntentModel>),
    ) -> Result<Activation, ActivateError> {
        let _one_at_a_time = self.activation.lock().expect("activation lock");
        // decided on the activation recorded last, and on its model in force here
        let head = self.registry.head()?;
        self.catch_up(&install)?;
        let (previous, current) = self.serving();
        if previous == version {
            return Ok(Activation {
                active: previous.clone(),
                previous,
                overridden: false,
                changed: false,
                comparison: None,
            });
        }
        let candidate = Arc::new(self.registry.load(version)?);
        let comparison = match self.evaluate_pair(&current, &candidate) {
            Ok((a, c)) => Some(compare::compare(&previous, &a, version, &c)),
            // without a held-out set only an explicit override activates
            Err(e @ ModelsError::HeldOut(_)) if !overridden => return Err(e.into()),
            Err(ModelsError::HeldOut(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let worse = comparison.as_ref().is_none_or(|c| !c.not_worse);
        if worse && !overridden {
            let c = comparison.expect("compared");
            return Err(ActivateError::Worse(Box::new(c)));
        }
        let kind = if worse { ActivationKind::Override } else { ActivationKind::Activate };
        self.registry.record_from(head, version, kind, who)?;
        self.put_in_force(version, candidate, install);
        tracing::info!(%version, %previous, %who, overridden = worse, "model version activated");
        Ok(Activation { active: version.to_string(), previous, overridden: worse, changed: true, comparison })
    }

    /// Goes back to the version in force before the last activation (no comparison: it undoes
    /// a decision). Blocking.
    pub fn rollback(
        &self,
        who: &str,
        install: impl Fn(Arc<IntentModel>),
    ) -> Result<Activation, ActivateError> {
        let _one_at_a_time = self.activation.lock().expect("activation lock");
        let head = self.registry.head()?;
        self.catch_up(&install)?;
        let target = self.registry.rollback_target()?.ok_or(ActivateError::NothingToRollBack)?;
        let (previous, _) = self.serving();
        let model = Arc::new(self.registry.load(&target)?);
        self.registry.record_from(head, &target, ActivationKind::Rollback, who)?;
        self.put_in_force(&target, model, install);
        tracing::info!(version = %target, %previous, %who, "model version rolled back");
        Ok(Activation { active: target, previous, overridden: false, changed: true, comparison: None })
    }

    /// Shared: fetches the versions other nodes stored and puts in force the one the database
    /// names, if another node activated or rolled back since (an announcement on the cluster
    /// bus, or a node that was away). The version now in force when it changed. Blocking.
    pub fn follow(&self, install: impl Fn(Arc<IntentModel>)) -> Result<Option<String>, ModelsError> {
        let _one_at_a_time = self.activation.lock().expect("activation lock");
        self.registry.fetch_missing()?;
        self.catch_up(&install)
    }

    /// Puts the recorded version in force if it is not (call under the activation lock).
    fn catch_up(&self, install: &impl Fn(Arc<IntentModel>)) -> Result<Option<String>, ModelsError> {
        if !self.registry.is_shared() {
            return Ok(None);
        }
        let wanted = self.registry.active()?;
        let (serving, _) = self.serving();
        if wanted == serving {
            return Ok(None);
        }
        let model = Arc::new(self.registry.load(&wanted)?);
        self.put_in_force(&wanted, model, install);
        tracing::info!(version = %wanted, previous = %serving, "model version in force on another node: followed");
        Ok(Some(wanted))
    }

    fn put_in_force(&self, version: &str, model: Arc<IntentModel>, install: impl FnOnce(Arc<IntentModel>)) {
        *self.serving.lock().expect("serving lock") = (version.to_string(), model.clone());
        install(model);
    }
}
