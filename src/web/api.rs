//! The staff HTTP API under `/api` (JSON): login, who am I, and the feedback records.
//!
//! Login answers: 200 with a token; 401 `unauthorized` for a wrong name or password (the same
//! for a name that does not exist); 400 for a password over the length limit; 429 `locked_out`
//! after repeated wrong passwords; 503 `busy` with `Retry-After: 1` while the most password
//! checks allowed at once (`max_concurrent_logins`) are running; 413 for a body over
//! [`LOGIN_BODY_BYTES`].

use crate::store::prelude::*;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use serde::Deserialize;

use super::auth::{ApiError, Staff};
use super::AppState;
use crate::accounts::{AccountError, Login};
use crate::identity::Role;

pub fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/api/login", post(login).layer(DefaultBodyLimit::max(LOGIN_BODY_BYTES)))
        .route("/api/me", get(me))
        .route("/api/feedback", get(feedback))
}

/// The largest login body: a name and a password within their limits, JSON-escaped, fit.
pub const LOGIN_BODY_BYTES: usize = 16 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    name: String,
    password: String,
}

async fn login(
    State(app): State<Arc<AppState>>,
    body: Result<Json<LoginRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Login>, Response> {
    let Json(req) = body.map_err(|e| ApiError::from(e).into_response())?;
    let now = chrono::Utc::now().timestamp();
    app.logins.login(&app.store, &app.staff_secret, &req.name, &req.password, now).await.map(Json).map_err(
        |e| match e {
            AccountError::BadCredentials => ApiError::unauthorized(e.to_string()).into_response(),
            AccountError::PasswordTooLong => ApiError::bad_request(e).into_response(),
            AccountError::LockedOut => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "locked_out", e.to_string()).into_response()
            }
            AccountError::Busy => (
                [(header::RETRY_AFTER, "1")],
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", e.to_string()),
            )
                .into_response(),
            other => ApiError::internal(other).into_response(),
        },
    )
}

async fn me(State(app): State<Arc<AppState>>, staff: Staff) -> Result<Json<serde_json::Value>, ApiError> {
    let account = app.store.account(staff.0.sub.clone()).await.map_err(ApiError::internal)?;
    let account = account.ok_or_else(|| ApiError::unauthorized("this account no longer exists"))?;
    Ok(Json(serde_json::json!({
        "name": account.name,
        "display_name": account.display_name,
        "role": account.role,
        "expires_at": staff.0.exp,
    })))
}

#[derive(Deserialize)]
struct FeedbackQuery {
    #[serde(default)]
    since: Option<String>,
}

/// Feedback records (trainers and admins): `?since=2026-11-01`.
async fn feedback(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    Query(q): Query<FeedbackQuery>,
) -> Result<Json<Vec<crate::records::FeedbackRecord>>, ApiError> {
    staff.require(&[Role::Trainer, Role::Admin])?;
    let since = q.since.unwrap_or_default();
    app.store.feedback_since(since).await.map(Json).map_err(ApiError::internal)
}
