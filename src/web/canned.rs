//! The staff API for canned responses (JSON), for agents, trainers and admins alike:
//! - `GET /api/canned?lang=zh` — the list (one language, or all without `lang`);
//! - `POST /api/canned` `{"id"?, "lang", "title", "text"}` — create (201; an id is generated
//!   when none is given; 409 `id_taken`);
//! - `PUT /api/canned/{id}` `{"version", "lang", "title", "text"}` — replace, from the version
//!   read; a stale version is 409 `{"error": "conflict", "current": …}` and nothing is written;
//! - `DELETE /api/canned/{id}?version=N` — delete (204), with the same version check.
//!
//! Fields follow the rules of `knowledge/canned.toml` (`knowledge::canned::check_*`): 400 when
//! broken, 404 for an unknown id.

use crate::store::prelude::*;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use serde::Deserialize;

use super::auth::{ApiError, Staff};
use super::AppState;
use crate::identity::Role;
use crate::knowledge::canned::{check_id, check_lang, check_text, check_title};
use crate::lang::Lang;
use crate::store::{CannedChange, CannedResponse};

/// Who may read and edit canned responses.
const EDITORS: [Role; 3] = [Role::Agent, Role::Trainer, Role::Admin];

pub fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/api/canned", get(list).post(create))
        .route("/api/canned/{id}", axum::routing::put(update).delete(remove))
        .route("/api/canned/{id}/history", get(history))
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no canned response {id:?}"))
}

/// 409 with the current response, so the client can show what changed and retry from it.
fn conflict(current: CannedResponse) -> Response {
    let body = serde_json::json!({
        "error": "conflict",
        "message": format!(
            "canned response {:?} was changed by someone else (now version {}); reload it and apply your change again",
            current.id, current.version
        ),
        "current": current,
    });
    (StatusCode::CONFLICT, Json(body)).into_response()
}

/// The lang, title and text of a request, checked and trimmed.
fn fields(lang: &str, title: &str, text: &str) -> Result<(Lang, String, String), ApiError> {
    let lang = check_lang(lang).map_err(ApiError::bad_request)?;
    let title = check_title(title).map_err(ApiError::bad_request)?;
    let text = check_text(text).map_err(ApiError::bad_request)?;
    Ok((lang, title.to_string(), text.to_string()))
}

fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    Ok(body?.0)
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    lang: Option<String>,
}

async fn list(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<CannedResponse>>, ApiError> {
    staff.require(&EDITORS)?;
    let lang = q.lang.as_deref().map(check_lang).transpose().map_err(ApiError::bad_request)?;
    app.store.canned(lang).await.map(Json).map_err(ApiError::internal)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    #[serde(default)]
    id: Option<String>,
    lang: String,
    title: String,
    text: String,
}

async fn create(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    req: Result<Json<CreateRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    staff.require(&EDITORS)?;
    let req = body(req)?;
    if let Some(id) = &req.id {
        check_id(id).map_err(ApiError::bad_request)?;
    }
    let (lang, title, text) = fields(&req.lang, &req.title, &req.text)?;
    let created = app
        .store
        .create_canned(req.id.clone(), lang, title, text, staff.0.sub.clone())
        .await
        .map_err(ApiError::internal)?;
    match created {
        Some(c) => Ok((StatusCode::CREATED, Json(c)).into_response()),
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            "id_taken",
            format!("a canned response {:?} already exists", req.id.unwrap_or_default()),
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateRequest {
    version: i64,
    lang: String,
    title: String,
    text: String,
}

async fn update(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    Path(id): Path<String>,
    req: Result<Json<UpdateRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    staff.require(&EDITORS)?;
    let req = body(req)?;
    let (lang, title, text) = fields(&req.lang, &req.title, &req.text)?;
    let change = app
        .store
        .update_canned(id.clone(), req.version, lang, title, text, staff.0.sub.clone())
        .await
        .map_err(ApiError::internal)?;
    match change {
        CannedChange::Done(c) => Ok(Json(c).into_response()),
        CannedChange::Conflict(current) => Ok(conflict(current)),
        CannedChange::NotFound => Err(not_found(&id)),
    }
}

#[derive(Deserialize)]
struct DeleteQuery {
    version: i64,
}

async fn remove(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    Path(id): Path<String>,
    q: Result<Query<DeleteQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    staff.require(&EDITORS)?;
    let Query(q) = q.map_err(|_| ApiError::bad_request("give the version being deleted: ?version=N"))?;
    match app
        .store
        .delete_canned(id.clone(), q.version, staff.0.sub.clone())
        .await
        .map_err(ApiError::internal)?
    {
        CannedChange::Done(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        CannedChange::Conflict(current) => Ok(conflict(current)),
        CannedChange::NotFound => Err(not_found(&id)),
    }
}

/// A canned response's revisions, newest first (revert one with `POST /api/kb/revisions/{n}/revert`).
async fn history(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<Vec<crate::store::Revision>>, ApiError> {
    staff.require(&EDITORS)?;
    app.store.kb_history("canned", id).await.map(Json).map_err(ApiError::internal)
}
