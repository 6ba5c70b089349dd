//! `/api/models` (trainers and admins): retrain the intent classifier in the background, compare
//! a version with the one in force, activate it (swapped into the router without a restart),
//! roll back. The work is in [`crate::models`]; these handlers check roles, parse, run blocking
//! work off the async threads, and swap the router's engines.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::auth::{ApiError, Staff};
use super::AppState;
use crate::identity::Role;
use crate::intent::data::Example;
use crate::intent::train::TrainOptions;
use crate::intent::IntentModel;
use crate::models::jobs::{self, TrainRequest};
use crate::models::registry::HistoryEntry;
use crate::models::{ActivateError, Listing, ModelsError};

const TRAINERS: &[Role] = &[Role::Trainer, Role::Admin];
/// Most epochs a request may ask for (the shipped model uses 25).
pub const MAX_EPOCHS: usize = 200;

pub fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/api/models", get(list))
        .route("/api/models/train", post(train))
        .route("/api/models/jobs/{id}", get(job))
        .route("/api/models/rollback", post(rollback))
        .route("/api/models/{version}/comparison", get(comparison))
        .route("/api/models/{version}/activate", post(activate))
}

/// The examples a retraining learns from. For now the intent files under the configured
/// knowledge folder (`<knowledge>/intents`); the one place to change when training reads the
/// trainer-edited knowledge base instead.
pub async fn training_examples(app: &AppState) -> Result<Vec<Example>, ModelsError> {
    // the intents as trainers left them (the store's knowledge base, seeded from the files)
    app.curator.training_examples().await.map_err(|e| ModelsError::Data(e.to_string()))
}

/// Puts a model in force in the router. `rcu` rebuilds the engines from the current ones, so a
/// concurrent swap of another part (the FAQ index) is not lost.
fn install(app: &AppState, model: Arc<IntentModel>) {
    app.router.update_engines(|e| crate::dialogue::Engines { intents: model.clone(), ..e.clone() });
}

/// An optional JSON body: empty means all defaults.
fn body<T: serde::de::DeserializeOwned + Default>(bytes: &Bytes) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

/// A refusal that carries more than a message (the comparison, the running job).
fn refusal(status: StatusCode, code: &str, message: String, extra: serde_json::Value) -> Response {
    let mut body = json!({ "error": code, "message": message });
    if let (Some(b), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(extra.clone());
    }
    (status, Json(body)).into_response()
}

fn models_error(e: ModelsError) -> ApiError {
    match e {
        ModelsError::UnknownVersion(_) => ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string()),
        ModelsError::Invalid(..) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_model", e.to_string())
        }
        ModelsError::HeldOut(_) => ApiError::new(StatusCode::CONFLICT, "no_held_out_set", e.to_string()),
        ModelsError::Data(_) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_training_data", e.to_string())
        }
        ModelsError::Conflict => ApiError::new(StatusCode::CONFLICT, "activation_conflict", e.to_string()),
        other => ApiError::internal(other),
    }
}

/// Runs blocking work (loading, evaluating) off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(ApiError::internal)
}

/// The versions and the last activation or rollback.
#[derive(Serialize)]
struct ModelsPage {
    #[serde(flatten)]
    listing: Listing,
    /// The last line of `HISTORY` (None: nothing was ever activated), so the page can say "rolled
    /// back to shipped by wang" rather than "nothing was ever activated".
    last_change: Option<HistoryEntry>,
}

/// Every version (newest first, then `shipped`) with who trained it, when, its held-out
/// metrics, which one is in force, and the last activation or rollback.
async fn list(State(app): State<Arc<AppState>>, staff: Staff) -> Result<Response, ApiError> {
    staff.require(TRAINERS)?;
    let page = blocking(move || {
        let listing = app.models.list()?;
        let last_change = app.models.registry.history()?.pop();
        Ok::<_, ModelsError>(ModelsPage { listing, last_change })
    })
    .await?
    .map_err(models_error)?;
    Ok(Json(page).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TrainBody {
    epochs: Option<usize>,
    seed: Option<u64>,
}

/// Starts training in the background: 202 with the job id, 409 `training_in_progress` while
/// another job runs.
async fn train(State(app): State<Arc<AppState>>, staff: Staff, bytes: Bytes) -> Result<Response, ApiError> {
    staff.require(TRAINERS)?;
    let req: TrainBody = body(&bytes)?;
    let defaults = TrainOptions::default();
    let options = TrainOptions {
        epochs: req.epochs.unwrap_or(defaults.epochs),
        seed: req.seed.unwrap_or(defaults.seed),
        ..defaults
    };
    if options.epochs == 0 || options.epochs > MAX_EPOCHS {
        return Err(ApiError::bad_request(format!("epochs must be between 1 and {MAX_EPOCHS}")));
    }
    if let Some(running) = app.models.jobs.running() {
        return Ok(busy(&running));
    }
    let examples = training_examples(&app).await.map_err(models_error)?;
    let parent = app.models.serving();
    let ticket = match app.models.jobs.start(&staff.0.sub, &options, examples.len(), &parent.0) {
        Ok(t) => t,
        Err(running) => return Ok(busy(&running)),
    };
    let id = ticket.id().to_string();
    let request = TrainRequest { who: staff.0.sub.clone(), options, examples, parent };
    let registry = app.models.registry.clone();
    let held_out = app.models.held_out().to_path_buf();
    // the job holds no reference to the app: when the service stops, dropping the app cancels it
    tokio::task::spawn_blocking(move || jobs::run(ticket, request, &registry, &held_out));
    let status = app.models.jobs.get(&id);
    Ok((StatusCode::ACCEPTED, Json(json!({ "job": id, "status": status }))).into_response())
}

fn busy(running: &str) -> Response {
    refusal(
        StatusCode::CONFLICT,
        "training_in_progress",
        format!("training job {running} is still running; one job at a time"),
        json!({ "job": running }),
    )
}

/// A training job: state (running, evaluating, done, failed), progress, and when done the new
/// version with its comparison against the model that was in force.
async fn job(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    staff.require(TRAINERS)?;
    match app.models.jobs.get(&id) {
        Some(status) => Ok(Json(status).into_response()),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no training job {id}"))),
    }
}

/// A version against the model in force on the held-out set (what activation would decide).
async fn comparison(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    Path(version): Path<String>,
) -> Result<Response, ApiError> {
    staff.require(TRAINERS)?;
    let c = blocking(move || app.models.compare(&version)).await?.map_err(models_error)?;
    Ok(Json(c).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ActivateBody {
    #[serde(rename = "override", default)]
    overridden: bool,
}

fn activate_error(e: ActivateError) -> Result<Response, ApiError> {
    match e {
        ActivateError::Worse(c) => Ok(refusal(
            StatusCode::CONFLICT,
            "worse_than_active",
            format!("{}; send {{\"override\": true}} to activate it anyway", ActivateError::Worse(c.clone())),
            json!({ "comparison": c }),
        )),
        ActivateError::NothingToRollBack => {
            Err(ApiError::new(StatusCode::CONFLICT, "nothing_to_roll_back", e.to_string()))
        }
        ActivateError::Models(e) => Err(models_error(e)),
    }
}

/// Puts a version in force (refused with 409 `worse_than_active` and the comparison when it is
/// worse, unless `{"override": true}`); conversations use it from their next message.
async fn activate(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    Path(version): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    staff.require(TRAINERS)?;
    let req: ActivateBody = body(&bytes)?;
    let who = staff.0.sub.clone();
    let app2 = app.clone();
    let result =
        blocking(move || app2.models.activate(&version, req.overridden, &who, |m| install(&app2, m))).await?;
    match result {
        Ok(a) => {
            if a.changed {
                app.knowledge.announce(crate::knowledge_sync::Changed::Models);
            }
            Ok(Json(a).into_response())
        }
        Err(e) => activate_error(e),
    }
}

/// Back to the version in force before the last activation.
async fn rollback(State(app): State<Arc<AppState>>, staff: Staff) -> Result<Response, ApiError> {
    staff.require(TRAINERS)?;
    let who = staff.0.sub.clone();
    let app2 = app.clone();
    match blocking(move || app2.models.rollback(&who, |m| install(&app2, m))).await? {
        Ok(a) => {
            app.knowledge.announce(crate::knowledge_sync::Changed::Models);
            Ok(Json(a).into_response())
        }
        Err(e) => activate_error(e),
    }
}
