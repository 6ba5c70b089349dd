//! Shoppers' rights over their data (issue 21), for admins: `GET /api/shoppers/{id}/export`,
//! everything kefu holds about a signed-in shopper as one JSON document
//! ([`crate::privacy::export::ShopperExport`]); 404 when kefu holds nothing about them.

use crate::store::prelude::*;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Json;

use super::auth::{ApiError, Staff};
use super::AppState;
use crate::identity::Role;
use crate::privacy::export::ShopperExport;

pub fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new().route("/api/shoppers/{id}/export", get(export))
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
