//! Interactive-query endpoints of the admin server, read from the stages' state:
//!
//! - `GET /assets/{asset_id}/exposures`: open exposures of an asset;
//! - `GET /vulnerabilities/{id}/exposures`: open exposures of a vulnerability, by CVE, GHSA or
//!   OSV id, on the assets this instance holds.
//!
//! Invariant: answers come from the stage's own task (see `runtime::query`), never from a copy;
//! with several instances each answers for the partitions it owns, and says so.

use crate::runtime::query::QueryHandle;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use axum::Router;
use patchline_processors::events::Event;
use patchline_processors::Query;
use std::sync::Arc;

/// The stages that may answer, in topology order.
#[derive(Clone)]
struct Stages(Arc<Vec<(String, QueryHandle)>>);

/// Routes for the query endpoints; merge them into the admin router.
pub fn query_router(stages: Vec<(String, QueryHandle)>) -> Router {
    Router::new()
        .route("/assets/{asset_id}/exposures", get(asset_exposures))
        .route("/vulnerabilities/{id}/exposures", get(vulnerability_exposures))
        .with_state(Stages(Arc::new(stages)))
}

async fn asset_exposures(
    State(stages): State<Stages>,
    Path(asset_id): Path<String>,
) -> impl IntoResponse {
    answer(&stages, Query::AssetExposures(asset_id.clone()), ("asset_id", asset_id)).await
}

async fn vulnerability_exposures(
    State(stages): State<Stages>,
    Path(id): Path<String>,
) -> impl IntoResponse {
    answer(&stages, Query::VulnerabilityExposures(id.clone()), ("vulnerability_id", id)).await
}

async fn answer(
    stages: &Stages,
    query: Query,
    subject: (&str, String),
) -> (StatusCode, Json<serde_json::Value>) {
    for (stage, handle) in stages.0.iter() {
        match handle.ask(query.clone()).await {
            Ok(Some(events)) => {
                let exposures: Vec<serde_json::Value> = events
                    .iter()
                    .filter_map(|e| match e {
                        Event::Exposure(x) => serde_json::to_value(x).ok(),
                        _ => None,
                    })
                    .collect();
                return (
                    StatusCode::OK,
                    Json(serde_json::json!({
                        subject.0: subject.1,
                        "stage": stage,
                        "scope": "partitions owned by this instance",
                        "count": exposures.len(),
                        "exposures": exposures,
                    })),
                );
            }
            Ok(None) => continue,
            Err(e) => {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(serde_json::json!({"error": e.to_string()})),
                )
            }
        }
    }
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({"error": "no running stage serves this query"})),
    )
}
