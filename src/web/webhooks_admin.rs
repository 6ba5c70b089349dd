//! The admin API for outbound webhooks (admin role only; 403 for other staff):
//! - `GET /api/webhooks/endpoints` — the configured endpoints: URL, the events they get, their
//!   counts in the delivery log. Secrets are never sent back;
//! - `GET /api/webhooks/deliveries?endpoint=&status=&before=&limit=` — the delivery log, newest
//!   first (status, attempts, last HTTP status and error, next attempt); `limit` 1–200,
//!   default 50; `next_before` pages on (pass it as `before`), absent on the last page;
//! - `POST /api/webhooks/deliveries/{id}/replay` — send a pending or failed delivery again at
//!   once, with a fresh series of attempts (202); 409 `already_delivered` when the endpoint
//!   acknowledged it (an event id is never sent twice to an endpoint once acknowledged); 404.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::auth::{ApiError, Staff};
use super::AppState;
use crate::identity::Role;
use crate::webhooks::{DeliveryQuery, DeliveryRow, DeliveryStatus, EndpointCounts, Replay};

/// Most log rows in one page.
const MAX_PAGE: usize = 200;
const DEFAULT_PAGE: usize = 50;

pub fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/api/webhooks/endpoints", get(endpoints))
        .route("/api/webhooks/deliveries", get(deliveries))
        .route("/api/webhooks/deliveries/{id}/replay", post(replay))
}

#[derive(Serialize)]
struct EndpointInfo {
    url: String,
    /// The event types it gets; empty: all.
    events: Vec<&'static str>,
    #[serde(flatten)]
    counts: EndpointCounts,
}

async fn endpoints(
    State(app): State<Arc<AppState>>,
    staff: Staff,
) -> Result<Json<Vec<EndpointInfo>>, ApiError> {
    staff.require(&[Role::Admin])?;
    let counts = app.webhooks.counts().await.map_err(ApiError::internal)?;
    let list = app
        .webhooks
        .endpoints()
        .iter()
        .map(|e| EndpointInfo {
            url: e.url.clone(),
            events: e.kinds.iter().map(|k| k.as_str()).collect(),
            counts: counts.iter().find(|(url, _)| *url == e.url).map(|(_, c)| c.clone()).unwrap_or_default(),
        })
        .collect();
    Ok(Json(list))
}

#[derive(Deserialize)]
struct LogQuery {
    endpoint: Option<String>,
    status: Option<DeliveryStatus>,
    before: Option<i64>,
    limit: Option<usize>,
}

/// A log row, with the next attempt's time as text.
#[derive(Serialize)]
struct LogRow {
    #[serde(flatten)]
    row: DeliveryRow,
    next_attempt_at: Option<String>,
}

impl From<DeliveryRow> for LogRow {
    fn from(row: DeliveryRow) -> LogRow {
        let next_attempt_at = row
            .next_attempt_ms
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        LogRow { row, next_attempt_at }
    }
}

#[derive(Serialize)]
struct LogPage {
    deliveries: Vec<LogRow>,
    /// Pass as `before` for the next (older) page; none on the last page.
    next_before: Option<i64>,
}

async fn deliveries(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    query: Result<Query<LogQuery>, QueryRejection>,
) -> Result<Json<LogPage>, ApiError> {
    staff.require(&[Role::Admin])?;
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::bad_request(format!("limit must be between 1 and {MAX_PAGE}")));
    }
    let rows = app
        .webhooks
        .deliveries(DeliveryQuery { endpoint: q.endpoint, status: q.status, before: q.before, limit })
        .await
        .map_err(ApiError::internal)?;
    let next_before = (rows.len() == limit).then(|| rows.last().map(|r| r.id)).flatten();
    Ok(Json(LogPage { deliveries: rows.into_iter().map(LogRow::from).collect(), next_before }))
}

async fn replay(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<(StatusCode, Json<LogRow>), ApiError> {
    staff.require(&[Role::Admin])?;
    tracing::info!(delivery = id, by = %staff.0.sub, "webhook delivery replayed");
    match app.webhooks.replay(id).await.map_err(ApiError::internal)? {
        Replay::Queued(row) => Ok((StatusCode::ACCEPTED, Json(row.into()))),
        Replay::AlreadyDelivered(row) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_delivered",
            format!(
                "delivery {} of event {} was acknowledged by the endpoint; it is never sent twice",
                row.id, row.event_id
            ),
        )),
        Replay::NotFound => {
            Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no delivery {id}")))
        }
    }
}
