//! The trainers' knowledge-base API (role trainer or admin): FAQ entries and intents with their
//! examples. Every change names the `version` it starts from (409 `conflict` with the current
//! entry when it is stale), is validated with `kefu check`'s messages (400 `invalid` with
//! `problems`), becomes a revision with history and revert, and is live when the answer comes.
//!
//! An FAQ entry comes with `answers`: when its Chinese and its English answer were last changed
//! and which one is behind the other (see [`crate::trainer::answer_sync`]), so the console can
//! warn that one was edited and the other not.
//!
//! `/api/kb/faqs[/{id}]`, `/api/kb/intents[/{id}]`, `…/{id}/history`,
//! `POST /api/kb/revisions/{revision}/revert`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::auth::{ApiError, Staff};
use super::AppState;
use crate::identity::Role;
use crate::store::{KbEntry, Revision};
use crate::trainer::{AnswerSync, CurateError, Curator, Kind};

const TRAINERS: &[Role] = &[Role::Trainer, Role::Admin];

pub fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/api/kb/{kind}", get(list).post(create))
        .route("/api/kb/{kind}/{id}", get(one).put(update).delete(remove))
        .route("/api/kb/{kind}/{id}/history", get(history))
        .route("/api/kb/revisions/{revision}/revert", post(revert))
        // an entry is a few KB; refuse anything far bigger before parsing it
        .layer(axum::extract::DefaultBodyLimit::max(256 * 1024))
}

fn kind(s: &str) -> Result<Kind, ApiError> {
    Kind::parse(s).ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no such kind {s:?}: faqs or intents"))
    })
}

/// A curation error as its HTTP answer.
fn refused(e: CurateError) -> Response {
    match e {
        CurateError::Invalid(problems) => (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({ "error": "invalid", "message": problems.join("; "), "problems": problems })),
        )
            .into_response(),
        CurateError::Conflict(current) => (
            StatusCode::CONFLICT,
            Json(serde_json::json!({
                "error": "conflict",
                "message": "the entry changed since you loaded it (or the id is taken): reload and apply your change again",
                "current": current,
            })),
        )
            .into_response(),
        CurateError::NotFound => ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such entry").into_response(),
        other => ApiError::internal(other).into_response(),
    }
}

type Answer<T> = Result<Json<T>, Response>;

/// An entry as the API gives it: the stored entry and, for an FAQ entry, its answers' sync.
#[derive(Serialize)]
struct Listed {
    #[serde(flatten)]
    entry: KbEntry,
    #[serde(skip_serializing_if = "Option::is_none")]
    answers: Option<AnswerSync>,
}

/// `entry` with its answers' sync when it is an FAQ entry.
async fn listed(curator: &Curator, kind: Kind, entry: KbEntry) -> Result<Listed, Response> {
    let answers = match kind {
        Kind::Faq => Some(curator.answer_sync(&entry.id).await.map_err(refused)?),
        Kind::Intent => None,
    };
    Ok(Listed { entry, answers })
}

// axum's `Response` as the error: built once, on the refusal path only
#[allow(clippy::result_large_err)]
fn guard(staff: &Staff, k: &str) -> Result<Kind, Response> {
    staff.require(TRAINERS).map_err(IntoResponse::into_response)?;
    kind(k).map_err(IntoResponse::into_response)
}

async fn list(State(app): State<Arc<AppState>>, staff: Staff, Path(k): Path<String>) -> Answer<Vec<Listed>> {
    let k = guard(&staff, &k)?;
    let entries = app.curator.list(k).await.map_err(refused)?;
    let mut syncs = match k {
        Kind::Faq => app.curator.answer_syncs().await.map_err(refused)?,
        Kind::Intent => Default::default(),
    };
    Ok(Json(entries.into_iter().map(|entry| Listed { answers: syncs.remove(&entry.id), entry }).collect()))
}

async fn one(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    Path((k, id)): Path<(String, String)>,
) -> Answer<Listed> {
    let k = guard(&staff, &k)?;
    let entry = app.curator.get(k, &id).await.map_err(refused)?;
    listed(&app.curator, k, entry).await.map(Json)
}

#[allow(clippy::result_large_err)]
fn body<T>(b: Result<Json<T>, axum::extract::rejection::JsonRejection>) -> Result<T, Response> {
    b.map(|Json(v)| v).map_err(|e| ApiError::from(e).into_response())
}

async fn create(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    Path(k): Path<String>,
    b: Result<Json<serde_json::Value>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Listed>), Response> {
    let k = guard(&staff, &k)?;
    let value = body(b)?;
    let entry = app.curator.create(k, value, &staff.0.sub).await.map_err(refused)?;
    Ok((StatusCode::CREATED, Json(listed(&app.curator, k, entry).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    /// The version the change starts from.
    version: i64,
    entry: serde_json::Value,
}

async fn update(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    Path((k, id)): Path<(String, String)>,
    b: Result<Json<Change>, axum::extract::rejection::JsonRejection>,
) -> Answer<Listed> {
    let k = guard(&staff, &k)?;
    let change = body(b)?;
    let entry =
        app.curator.update(k, &id, change.version, change.entry, &staff.0.sub).await.map_err(refused)?;
    listed(&app.curator, k, entry).await.map(Json)
}

#[derive(Deserialize)]
struct VersionQuery {
    version: Option<i64>,
}

async fn remove(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    Path((k, id)): Path<(String, String)>,
    Query(q): Query<VersionQuery>,
) -> Result<StatusCode, Response> {
    let k = guard(&staff, &k)?;
    let Some(version) = q.version else {
        let m = "say which version you delete: ?version=N";
        return Err(ApiError::bad_request(m).into_response());
    };
    app.curator.delete(k, &id, version, &staff.0.sub).await.map_err(refused)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn history(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    Path((k, id)): Path<(String, String)>,
) -> Answer<Vec<Revision>> {
    let k = guard(&staff, &k)?;
    app.curator.history(k, &id).await.map(Json).map_err(refused)
}

/// Undoes a revision: the entry goes back to what it was before it.
async fn revert(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    Path(revision): Path<i64>,
) -> Result<Json<serde_json::Value>, Response> {
    staff.require(TRAINERS).map_err(IntoResponse::into_response)?;
    let entry = app.curator.revert(revision, &staff.0.sub).await.map_err(refused)?;
    Ok(Json(serde_json::json!({ "reverted": revision, "entry": entry })))
}
