//! Photos over HTTP (issue 17, shopper item 7): the shopper uploads one into their conversation,
//! then sends it into the chat with an `image` frame (`chat::session::images`).
//!
//! - `POST /api/chat/{conversation}/images`: the raw bytes as the body. Who may: the shopper
//!   whose conversation it is, proven as on `/ws/chat` (the conversation id, and for a
//!   signed-in shopper's conversation their token as `Authorization: Bearer`). Checked here, in
//!   this order: the conversation and its shopper (404, 401, 403), still open (409), the size
//!   (`image_max_bytes`, 413, from `Content-Length` before a byte is read and again while
//!   reading), the address's hourly budget (`address_images_per_hour`, 429), the kind from the
//!   bytes (JPEG, PNG, WebP, GIF: 415 for anything else, whatever its name or content type),
//!   then in the store's job the conversation's count (`images_per_conversation`, 429) and the
//!   bytes all photos take (`images_max_total_mb`, 507). 201 with the image's reference.
//! - `GET /api/chat/{conversation}/images/{image}`: to staff (any role's token) and to that
//!   shopper (same credential). Served as the sniffed type only, `nosniff`, `inline` with a
//!   name kefu made, a CSP that runs nothing (`sandbox`), never cached by shared caches.
//!
//! The widget runs on the store's pages, another origin: these routes answer CORS preflights
//! and allow any origin (no cookies are involved; the credential is in the request itself).

use crate::store::prelude::*;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use serde::Serialize;

use super::auth::ApiError;
use super::listener::ClientAddr;
use super::AppState;
use crate::accounts::AccountError;
use crate::identity;
use crate::images::{sniff, ImageKind, MAX_ID_CHARS};
use crate::store::images::ImageQuota;
use crate::store::{Conversation, ConversationState};

/// What an image answer may do in a browser: nothing (it is an image, shown by an `<img>`).
const IMAGE_CSP: &str = "default-src 'none'; sandbox; frame-ancestors 'none'";

pub fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route(
            "/api/chat/{conversation}/images",
            post(upload).options(preflight).layer(DefaultBodyLimit::disable()),
        )
        .route("/api/chat/{conversation}/images/{image}", get(read).options(preflight))
        .layer(axum::middleware::map_response(cors))
}

/// Any origin may call these routes (the widget runs on the store's pages); credentials are
/// never cookies, so this gives a foreign page nothing it could not send anyway.
async fn cors(mut resp: Response) -> Response {
    resp.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    resp
}

async fn preflight() -> impl IntoResponse {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"),
            (header::ACCESS_CONTROL_ALLOW_HEADERS, "authorization, content-type"),
            (header::ACCESS_CONTROL_MAX_AGE, "600"),
        ],
    )
}

/// 413's body: the usual error, with the limit (the widget says it in the shopper's language).
#[derive(Serialize)]
struct TooBig {
    error: &'static str,
    message: String,
    max_bytes: u64,
}

fn too_big(max: u64) -> Response {
    let body = TooBig {
        error: "payload_too_large",
        message: format!("a photo may be at most {max} bytes"),
        max_bytes: max,
    };
    (StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response()
}

/// The bearer token of a request, if it has one; a malformed `Authorization` is a 401.
fn bearer(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(h) = headers.get(header::AUTHORIZATION) else { return Ok(None) };
    h.to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(|t| Some(t.trim()))
        .ok_or_else(|| ApiError::unauthorized("expected Authorization: Bearer <token>"))
}

/// The conversation, if `token` (or its absence, for a guest) is its shopper's credential:
/// the same rule as `hello` with `resume` on `/ws/chat`.
async fn shoppers_conversation(
    app: &AppState,
    id: &str,
    token: Option<&str>,
) -> Result<Conversation, ApiError> {
    let shopper = match token {
        None => None,
        Some(t) => {
            let Some(secret) = app.config.token_secret.as_deref() else {
                return Err(ApiError::unauthorized("shopper tokens are not accepted here"));
            };
            let now = chrono::Utc::now().timestamp();
            match identity::verify_shopper(secret, t, now, app.config.shopper_token_max_secs) {
                Ok(c) => Some(c.sub),
                Err(e) => return Err(ApiError::unauthorized(e.to_string())),
            }
        }
    };
    let conv = conversation(app, id).await?;
    match (&conv.shopper_id, &shopper) {
        (a, b) if a == b => Ok(conv),
        (Some(_), None) => Err(ApiError::unauthorized("this conversation needs its shopper's token")),
        _ => Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "not your conversation")),
    }
}

async fn conversation(app: &AppState, id: &str) -> Result<Conversation, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such conversation");
    if id.is_empty() || id.len() > 64 {
        return Err(not_found());
    }
    app.store.conversation(id.to_string()).await.map_err(ApiError::internal)?.ok_or_else(not_found)
}

async fn upload(
    State(app): State<Arc<AppState>>,
    client: ClientAddr,
    Path(conversation_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let conv = shoppers_conversation(&app, &conversation_id, bearer(&headers)?).await?;
    if conv.state == ConversationState::Closed {
        let message = "this conversation has ended; start a new one";
        return Err(ApiError::new(StatusCode::CONFLICT, "conversation_closed", message));
    }
    let max = app.config.image_max_bytes;
    let length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if length.is_some_and(|n| n > max) {
        return Ok(too_big(max));
    }
    if app.chat.rates.image(client.0).is_err() {
        app.metrics.limited.with_label_values(&["image", "address"]).inc();
        let per_hour = app.config.address_images_per_hour.max(1);
        let retry = 3600u32.div_ceil(per_hour).to_string();
        let mut resp = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many photos from here; try later",
        )
        .into_response();
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_str(&retry).expect("digits"));
        return Ok(resp);
    }
    let data = match axum::body::to_bytes(body, max.min(usize::MAX as u64) as usize).await {
        Ok(d) => d,
        Err(_) => return Ok(too_big(max)),
    };
    let Some(kind) = sniff(&data) else {
        let message = "not a photo: send a JPEG, PNG, WebP or GIF image";
        return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message));
    };
    let per_conversation = app.config.images_per_conversation;
    let total = app.config.images_max_total_mb.saturating_mul(1024 * 1024);
    let stored = app.store.add_image(conv.id, kind, data.to_vec(), per_conversation, total).await;
    match stored.map_err(ApiError::internal)? {
        Ok(image) => Ok((StatusCode::CREATED, Json(image)).into_response()),
        Err(ImageQuota::Conversation(n)) => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_images",
            format!("a conversation holds at most {n} photos"),
        )),
        Err(ImageQuota::Full) => {
            tracing::warn!("photo storage is full (images_max_total_mb); uploads are refused");
            let message = "photos cannot be stored right now";
            Err(ApiError::new(StatusCode::INSUFFICIENT_STORAGE, "storage_full", message))
        }
    }
}

async fn read(
    State(app): State<Arc<AppState>>,
    Path((conversation_id, image_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = bearer(&headers)?;
    let staff = match token {
        Some(t) => staff(&app, t).await?,
        None => false,
    };
    let conv = if staff {
        conversation(&app, &conversation_id).await?
    } else {
        shoppers_conversation(&app, &conversation_id, token).await?
    };
    let not_found =
        || ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such image in this conversation");
    if image_id.is_empty() || image_id.chars().count() > MAX_ID_CHARS {
        return Err(not_found());
    }
    let file = app.store.image(conv.id, image_id.clone()).await.map_err(ApiError::internal)?;
    let file = file.ok_or_else(not_found)?;
    Ok(image_response(&image_id, file.kind, file.data))
}

/// Whether `token` is a valid staff token (any role: agents, trainers and admins read
/// conversations). A token that is not a staff token at all is left to be a shopper's.
async fn staff(app: &AppState, token: &str) -> Result<bool, ApiError> {
    let Ok(claims) = identity::verify_staff(&app.staff_secret, token, chrono::Utc::now().timestamp()) else {
        return Ok(false);
    };
    match app.roster.check(&claims).await {
        Ok(_) => Ok(true),
        Err(e @ AccountError::Revoked(_)) => Err(ApiError::unauthorized(e.to_string())),
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// The image as its sniffed type, and nothing a browser could run or guess.
fn image_response(id: &str, kind: ImageKind, data: Vec<u8>) -> Response {
    // ids are kefu's own ("i" and digits), checked again so the header can never be bent
    let name: String = id.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let disposition = format!("inline; filename=\"{name}.{}\"", kind.ext());
    let mut resp = data.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind.mime()));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).expect("ASCII name"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(IMAGE_CSP));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    resp
}
