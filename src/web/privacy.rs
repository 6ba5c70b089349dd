//! Shoppers' rights over their data (issue 21), for admins: `GET /api/shoppers/{id}/export`,
//! everything kefu holds about a signed-in shopper as one JSON document
//! ([`crate::privacy::export::ShopperExport`]); `POST /api/shoppers/{id}/erase`, which
//! anonymises it all in one transaction and answers what changed
//! ([`crate::privacy::erasure::ErasureReport`]; a repeat answers zeros); `GET /api/erasures`
//! (`?shopper=`), the erasures recorded, newest first. 404 when kefu holds nothing about them.

use crate::store::prelude::*;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Json;

use super::auth::{ApiError, Staff};
use super::AppState;
use crate::identity::Role;
use crate::privacy::erasure::ErasureReport;
use crate::privacy::export::ShopperExport;

pub fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/api/shoppers/{id}/export", get(export))
        .route("/api/shoppers/{id}/erase", post(erase))
        .route("/api/erasures", get(erasures))
}

async fn export(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<ShopperExport>, ApiError> {
    staff.require(&[Role::Admin])?;
    let data = app.store.shopper_data(id.clone()).await.map_err(ApiError::internal)?;
    if data.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("nothing is stored about shopper {id}"),
        ));
    }
    tracing::info!(shopper = %id, by = %staff.0.sub, "shopper data exported");
    Ok(Json(ShopperExport::new(data, crate::store::now())))
}

async fn erase(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<ErasureReport>, ApiError> {
    staff.require(&[Role::Admin])?;
    let erased =
        app.store.erase_shopper(id.clone(), staff.0.sub.clone()).await.map_err(ApiError::internal)?;
    let Some(erasure) = erased else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("nothing is stored about shopper {id}"),
        ));
    };
    tracing::info!(shopper = %id, by = %staff.0.sub, erasure = erasure.id, "shopper data erased");
    Ok(Json(ErasureReport::from(&erasure)))
}

#[derive(serde::Deserialize)]
struct ErasuresQuery {
    shopper: Option<String>,
}

async fn erasures(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    query: Result<Query<ErasuresQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<ErasureReport>>, ApiError> {
    staff.require(&[Role::Admin])?;
    let Query(q) = query?;
    let rows = app.store.erasures(q.shopper).await.map_err(ApiError::internal)?;
    Ok(Json(rows.iter().map(ErasureReport::from).collect()))
}
