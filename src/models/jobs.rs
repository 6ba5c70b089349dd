//! Background training: one job at a time, its progress, and what it produced.
//!
//! [`Jobs::start`] claims the single slot (or says which job holds it) and gives a [`JobTicket`];
//! [`run`] does the work on a blocking thread: train (reporting each epoch), evaluate the
//! candidate and the parent model on the held-out set, save the candidate as a new version. It
//! never activates anything. Dropping [`Jobs`] (the service stops) cancels a running job at the
//! end of its current epoch.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;

use super::compare::{compare, Comparison};
use super::registry::{Meta, Registry};
use super::ModelsError;
use crate::intent::data::Example;
use crate::intent::train::{train_with_progress, Progress, TrainOptions};
use crate::intent::{IntentError, IntentModel};
use crate::lang::Lang;

/// Finished jobs kept for `GET /api/models/jobs/{id}` (the oldest are forgotten first).
const KEEP_JOBS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Running,
    Evaluating,
    Done,
    Failed,
}

/// What a job is doing or did.
#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    pub id: String,
    pub state: JobState,
    pub requested_by: String,
    /// RFC 3339, UTC.
    pub started: String,
    pub finished: Option<String>,
    pub epochs: usize,
    pub seed: u64,
    /// Training examples.
    pub examples: usize,
    /// The version in force when the job started: the candidate is compared with it.
    pub parent: String,
    /// Epochs done of all epochs (both fits: see `intent::train::Progress`).
    pub progress: Progress,
    /// When done: the new version's id.
    pub version: Option<String>,
    /// When done: the candidate against the parent, on the held-out set.
    pub comparison: Option<Comparison>,
    /// When failed: why.
    pub error: Option<String>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    running: Option<String>,
    jobs: VecDeque<JobStatus>,
}

/// The training jobs of this process (in memory; a restart forgets them, the versions they
/// saved stay on disk).
pub struct Jobs {
    inner: Arc<Mutex<Inner>>,
    cancel: Arc<AtomicBool>,
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs { inner: Default::default(), cancel: Arc::new(AtomicBool::new(false)) }
    }
}

impl Drop for Jobs {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

/// The right to run the one job, and the way it reports. Dropped without [`JobTicket::done`] or
/// [`JobTicket::fail`] (a panic), the job is marked failed and the slot is freed.
pub struct JobTicket {
    id: String,
    inner: Arc<Mutex<Inner>>,
    cancel: Arc<AtomicBool>,
    finished: bool,
}

/// What a job is asked to do.
pub struct TrainRequest {
    pub who: String,
    pub options: TrainOptions,
    pub examples: Vec<Example>,
    /// The version in force and its model (the comparison's "active" side).
    pub parent: (String, Arc<IntentModel>),
}

impl Jobs {
    /// Claims the slot for a new job, or answers the id of the job that holds it.
    pub fn start(
        &self,
        who: &str,
        options: &TrainOptions,
        examples: usize,
        parent: &str,
    ) -> Result<JobTicket, String> {
        let mut inner = self.inner.lock().expect("jobs lock");
        if let Some(running) = &inner.running {
            return Err(running.clone());
        }
        inner.next += 1;
        let id = format!("train-{}-{}", chrono::Utc::now().format("%Y%m%d-%H%M%S"), inner.next);
        inner.running = Some(id.clone());
        let refit = options.refit && options.dev_fraction > 0.0;
        inner.jobs.push_back(JobStatus {
            id: id.clone(),
            state: JobState::Running,
            requested_by: who.to_string(),
            started: now(),
            finished: None,
            epochs: options.epochs,
            seed: options.seed,
            examples,
            parent: parent.to_string(),
            progress: Progress { epoch: 0, epochs: if refit { 2 * options.epochs } else { options.epochs } },
            version: None,
            comparison: None,
            error: None,
        });
        while inner.jobs.len() > KEEP_JOBS {
            inner.jobs.pop_front();
        }
        Ok(JobTicket { id, inner: self.inner.clone(), cancel: self.cancel.clone(), finished: false })
    }

    pub fn get(&self, id: &str) -> Option<JobStatus> {
        self.inner.lock().expect("jobs lock").jobs.iter().find(|j| j.id == id).cloned()
    }

    /// The running job's id, if any.
    pub fn running(&self) -> Option<String> {
        self.inner.lock().expect("jobs lock").running.clone()
    }
}

impl JobTicket {
    pub fn id(&self) -> &str {
        &self.id
    }

    fn update(&self, f: impl FnOnce(&mut JobStatus)) {
        let mut inner = self.inner.lock().expect("jobs lock");
        if let Some(j) = inner.jobs.iter_mut().find(|j| j.id == self.id) {
            f(j);
        }
    }

    fn finish(mut self, f: impl FnOnce(&mut JobStatus)) {
        self.finished = true;
        self.update(|j| {
            f(j);
            j.finished = Some(now());
        });
        self.inner.lock().expect("jobs lock").running = None;
    }

    pub fn fail(self, error: String) {
        tracing::warn!(job = %self.id, %error, "training job failed");
        self.finish(|j| {
            j.state = JobState::Failed;
            j.error = Some(error);
        });
    }
}

impl Drop for JobTicket {
    fn drop(&mut self) {
        if !self.finished {
            self.update(|j| {
                j.state = JobState::Failed;
                j.error = Some("the training job stopped unexpectedly".into());
                j.finished = Some(now());
            });
            if let Ok(mut inner) = self.inner.lock() {
                inner.running = None;
            }
        }
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Runs a job to its end (call it on a blocking thread): train, evaluate, save. The outcome is
/// in the job's status.
pub fn run(ticket: JobTicket, req: TrainRequest, registry: &Registry, held_out: &Path) {
    match run_inner(&ticket, req, registry, held_out) {
        Ok((version, comparison)) => {
            tracing::info!(job = %ticket.id, %version, not_worse = comparison.not_worse, "candidate model trained");
            ticket.finish(|j| {
                j.state = JobState::Done;
                j.version = Some(version);
                j.comparison = Some(comparison);
            })
        }
        Err(e) => ticket.fail(e.to_string()),
    }
}

fn run_inner(
    ticket: &JobTicket,
    req: TrainRequest,
    registry: &Registry,
    held_out: &Path,
) -> Result<(String, Comparison), ModelsError> {
    let started = Instant::now();
    let created = now();
    // the held-out set is read first: a job that cannot be evaluated fails before it trains
    let test = super::load_held_out(held_out)?;
    let (model, _dev) = train_with_progress(&req.examples, &req.options, |p| {
        ticket.update(|j| j.progress = p);
        !ticket.cancel.load(Ordering::Relaxed)
    })
    .map_err(|e| match e {
        IntentError::Cancelled => ModelsError::Cancelled,
        e => ModelsError::Training(e),
    })?;
    let training_seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
    ticket.update(|j| j.state = JobState::Evaluating);
    let candidate = crate::eval::intents::evaluate(&model, &test).map_err(ModelsError::Training)?;
    let parent = crate::eval::intents::evaluate(&req.parent.1, &test).map_err(ModelsError::Training)?;
    let count = |lang| req.examples.iter().filter(|e| e.lang == lang).count();
    let mut meta = Meta {
        version: String::new(),
        created,
        who: req.who.clone(),
        parent: req.parent.0.clone(),
        seed: req.options.seed,
        epochs: req.options.epochs,
        examples: req.examples.len(),
        examples_zh: count(Lang::Zh),
        examples_en: count(Lang::En),
        labels: model.labels().len(),
        held_out_examples: test.len(),
        training_seconds,
    };
    let version = registry.save(&model, &mut meta, &candidate)?;
    Ok((version.clone(), compare(&req.parent.0, &parent, &version, &candidate)))
}
