//! The staff HTTP API under `/api` (JSON): login, who am I, and the feedback records.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Json;
use serde::Deserialize;

use super::auth::{ApiError, Staff};
use super::AppState;
use crate::accounts::{AccountError, Login};
use crate::identity::Role;

pub fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/api/login", post(login))
        .route("/api/me", get(me))
        .route("/api/feedback", get(feedback))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    name: String,
    password: String,
}

async fn login(
    State(app): State<Arc<AppState>>,
    body: Result<Json<LoginRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Login>, ApiError> {
    let Json(req) = body?;
    let now = chrono::Utc::now().timestamp();
    app.logins
        .login(&app.router.store, &app.staff_secret, &req.name, &req.password, now)
        .await
        .map(Json)
        .map_err(|e| match e {
            AccountError::BadCredentials => ApiError::unauthorized(e.to_string()),
            AccountError::LockedOut => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "locked_out", e.to_string())
            }
            other => ApiError::internal(other),
        })
}

async fn me(State(app): State<Arc<AppState>>, staff: Staff) -> Result<Json<serde_json::Value>, ApiError> {
    let account = app.router.store.account(staff.0.sub.clone()).await.map_err(ApiError::internal)?;
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
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    staff.require(&[Role::Trainer, Role::Admin])?;
    let since = q.since.unwrap_or_default();
    app.router.store.feedback_since(since).await.map(Json).map_err(ApiError::internal)
}
