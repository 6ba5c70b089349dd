//! Staff authentication for the HTTP API: a `Bearer` staff token in `Authorization`, checked
//! for signature, expiry and audience, then against the account as it is now (it exists, with
//! the token's role and generation: `accounts::Roster`), and for the role a route needs. JSON
//! errors with 401 (who are you?) and 403 (not allowed).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::AppState;
use crate::accounts::AccountError;
use crate::identity::{self, Role, StaffClaims};

/// An error answered as `{"error": code, "message": …}` with its HTTP status.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }

    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 400 `bad_request`: what was wrong with the request.
    pub fn bad_request(message: impl std::fmt::Display) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message.to_string())
    }

    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "API request failed");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "something went wrong; try again")
    }
}

/// A query string or JSON body that does not parse is the client's mistake: 400 with axum's
/// explanation (which field, what was expected).
impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(e: axum::extract::rejection::QueryRejection) -> ApiError {
        ApiError::bad_request(e.body_text())
    }
}

/// A body over the limit (`DefaultBodyLimit`) keeps axum's own status: 413, not 400.
impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> ApiError {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", e.body_text());
        }
        ApiError::bad_request(e.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(serde_json::json!({ "error": self.code, "message": self.message }));
        let mut r = (self.status, body).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert("www-authenticate", "Bearer".parse().expect("header value"));
        }
        r
    }
}

/// A signed-in staff member (extracting it refuses a request without a valid staff token).
#[derive(Debug, Clone)]
pub struct Staff(pub StaffClaims);

impl Staff {
    /// Refuses (403) unless the staff member has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.0.role) {
            Ok(())
        } else {
            let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("this needs the role {}", allowed.join(" or ")),
            ))
        }
    }
}

impl FromRequestParts<Arc<AppState>> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<AppState>) -> Result<Staff, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("log in first: Authorization: Bearer <token>"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::unauthorized("expected Authorization: Bearer <token>"))?;
        let claims = identity::verify_staff(&app.staff_secret, token.trim(), chrono::Utc::now().timestamp())
            .map_err(|e| ApiError::unauthorized(format!("{e}; log in again")))?;
        match app.roster.check(&claims).await {
            Ok(_) => Ok(Staff(claims)),
            Err(e @ AccountError::Revoked(_)) => Err(ApiError::unauthorized(e.to_string())),
            Err(e) => Err(ApiError::internal(e)),
        }
    }
}
