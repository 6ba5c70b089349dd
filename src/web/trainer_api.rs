//! The trainers' HTTP API (JSON, staff token with role trainer or admin): the review queue of
//! questions the bot did not resolve (dismiss a group, or record how it was resolved), the
//! analytics by day or ISO week, and "try it" (a question through the FAQ search and two intent
//! models side by side). Dates are days in the store's timezone (`business_timezone`).

use crate::store::prelude::*;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Json;
use chrono::{Duration, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

use super::auth::{ApiError, Staff};
use super::AppState;
use crate::analytics::review_queue::{self, Group};
use crate::analytics::{self, parse_date, Bucket, Period, Range};
use crate::identity::Role;
use crate::lang::Lang;
use crate::store::review_rows::{ReviewAction, ReviewDecision};
use crate::trainer::try_it::{self, Tried, TryError};

const TRAINERS: &[Role] = &[Role::Trainer, Role::Admin];
/// Days shown when no start is given (today and the 29 before).
const DEFAULT_DAYS: i64 = 30;
/// Longest `target` of a resolution.
const MAX_TARGET: usize = 200;

pub fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/api/review", get(review_queue))
        .route("/api/review/{key}/dismiss", post(dismiss))
        .route("/api/review/{key}/resolve", post(resolve))
        .route("/api/analytics", get(analytics_buckets))
        .route("/api/try", post(try_question))
}

/// The store's timezone (validated at start-up; UTC if it somehow is not an offset).
fn timezone(app: &AppState) -> FixedOffset {
    crate::time::parse_offset(&app.config.business_timezone)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"))
}

/// `from`..=`to` from optional parameters: `to` defaults to today (in the business timezone),
/// `from` to the `days` days ending at `to` (default 30), so "the last 7 days" means the store's
/// days whatever the browser's clock says.
fn range(
    app: &AppState,
    period: Period,
    from: (&str, Option<&str>),
    to: Option<&str>,
    days: Option<i64>,
) -> Result<Range, ApiError> {
    let offset = timezone(app);
    let to = match to {
        Some(d) => parse_date("to", d).map_err(ApiError::bad_request)?,
        None => analytics::today(offset),
    };
    let from: NaiveDate = match from.1 {
        Some(d) => parse_date(from.0, d).map_err(ApiError::bad_request)?,
        None => match days {
            Some(n) if !(1..=366).contains(&n) => {
                return Err(ApiError::bad_request(format!("days {n}: 1 to 366")))
            }
            Some(n) => to - Duration::days(n - 1),
            None => to - Duration::days(DEFAULT_DAYS - 1),
        },
    };
    Range::new(period, from, to, offset).map_err(ApiError::bad_request)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewQuery {
    since: Option<String>,
    to: Option<String>,
    days: Option<i64>,
    lang: Option<String>,
    limit: Option<usize>,
}

/// The review queue as the API gives it.
#[derive(Serialize)]
struct ReviewPage {
    since: NaiveDate,
    to: NaiveDate,
    timezone: String,
    lang: Option<Lang>,
    /// Open groups in the range (before `limit`).
    total: usize,
    /// Open messages in those groups.
    messages: usize,
    groups: Vec<Group>,
}

/// Unresolved shopper questions from `since` to `to` (days, inclusive), grouped, the most asked
/// first; groups trainers dismissed or resolved are left out.
async fn review_queue(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    q: Result<Query<ReviewQuery>, QueryRejection>,
) -> Result<Json<ReviewPage>, ApiError> {
    staff.require(TRAINERS)?;
    let Query(q) = q?;
    let range = range(&app, Period::Day, ("since", q.since.as_deref()), q.to.as_deref(), q.days)?;
    let lang = match q.lang.as_deref() {
        None => None,
        Some(l) => {
            Some(Lang::parse(l).ok_or_else(|| ApiError::bad_request(format!("lang {l:?}: zh or en")))?)
        }
    };
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let (from, to) = range.utc_bounds();
    let store = &app.store;
    let turns = store.review_turns(Some(from), Some(to)).await.map_err(ApiError::internal)?;
    let decisions = store.review_decisions().await.map_err(ApiError::internal)?;
    let mut items = review_queue::open(review_queue::unresolved(&turns), &decisions);
    items.retain(|i| lang.is_none_or(|l| i.lang == l));
    let mut groups = review_queue::group(&items);
    let total = groups.len();
    groups.truncate(limit);
    // trainers see no phone numbers (privacy::mask); the keys were made from the texts as written
    for g in &mut groups {
        g.representative = crate::privacy::mask::text(&g.representative);
        for e in &mut g.examples {
            e.text = crate::privacy::mask::text(&e.text);
            e.escalated_by = e.escalated_by.as_deref().map(crate::privacy::mask::text);
        }
    }
    Ok(Json(ReviewPage {
        since: range.from,
        to: range.to,
        timezone: app.config.business_timezone.clone(),
        lang,
        total,
        messages: items.len(),
        groups,
    }))
}

/// Records a decision about the review group `key`: the group is found among everything the
/// bot did not resolve (404 if it is not), and stored with who decided and when.
async fn decide(
    app: &AppState,
    key: String,
    action: ReviewAction,
    target: Option<String>,
    text: Option<String>,
    by: String,
) -> Result<Json<ReviewDecision>, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no review group {key}"));
    if key.len() != 16 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_found());
    }
    let store = &app.store;
    let turns = store.review_turns(None, None).await.map_err(ApiError::internal)?;
    let found = review_queue::find(&review_queue::unresolved(&turns), &key).ok_or_else(not_found)?;
    // the knowledge-base change first: the group is recorded as resolved only once it is made
    if let Some(target) = &target {
        let text = text.unwrap_or_else(|| found.text.clone());
        let curator = &app.curator;
        let done = match action {
            ReviewAction::Phrasing => curator.add_phrasing(target, found.lang, &text, &by).await.map(|_| ()),
            ReviewAction::Intent => curator.add_example(target, found.lang, &text, &by).await.map(|_| ()),
            // the new entry was made through /api/kb/faqs: it must exist
            ReviewAction::Faq => curator.get(crate::trainer::Kind::Faq, target).await.map(|_| ()),
            ReviewAction::Dismiss => Ok(()),
        };
        done.map_err(|e| match e {
            crate::trainer::CurateError::NotFound => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no {} {target:?}", action.as_str()),
            ),
            crate::trainer::CurateError::Invalid(p) => ApiError::bad_request(p.join("; ")),
            crate::trainer::CurateError::Conflict(_) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", "the entry changed meanwhile; try again")
            }
            other => ApiError::internal(other),
        })?;
    }
    store.resolve_review(found, action, target, by).await.map(Json).map_err(ApiError::internal)
}

/// Not worth acting on: the group and its near-duplicates leave the queue for good.
async fn dismiss(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    Path(key): Path<String>,
) -> Result<Json<ReviewDecision>, ApiError> {
    staff.require(TRAINERS)?;
    decide(&app, key, ReviewAction::Dismiss, None, None, staff.0.sub).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveRequest {
    action: String,
    target: String,
    /// The phrasing to add (default: the group's representative question).
    #[serde(default)]
    text: Option<String>,
}

/// Resolved by a knowledge-base change, made here: `phrasing` adds the question (or `text`) to
/// FAQ `target` (live at once), `intent` adds it as an example of intent `target` (for the
/// next training), `faq` names an entry made through `/api/kb/faqs`. Recorded; the group
/// leaves the queue until it is asked again.
async fn resolve(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    Path(key): Path<String>,
    body: Result<Json<ResolveRequest>, JsonRejection>,
) -> Result<Json<ReviewDecision>, ApiError> {
    staff.require(TRAINERS)?;
    let Json(req) = body?;
    let action = match ReviewAction::parse(&req.action) {
        Some(a) if a != ReviewAction::Dismiss => a,
        _ => return Err(ApiError::bad_request(format!("action {:?}: phrasing, faq or intent", req.action))),
    };
    let target = req.target.trim().to_string();
    if target.is_empty() || target.chars().count() > MAX_TARGET {
        return Err(ApiError::bad_request(format!(
            "target: the FAQ id or intent, 1 to {MAX_TARGET} characters"
        )));
    }
    decide(&app, key, action, Some(target), req.text, staff.0.sub).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalyticsQuery {
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    days: Option<i64>,
}

/// The analytics as the API gives them.
#[derive(Serialize)]
struct AnalyticsPage {
    period: Period,
    from: NaiveDate,
    to: NaiveDate,
    timezone: String,
    /// The whole range as one bucket (averages and percentiles over all of it).
    total: Bucket,
    buckets: Vec<Bucket>,
}

/// One bucket per day or ISO week from `from` to `to` (inclusive; at most 366 days). Unresolved
/// questions trainers dismissed or resolved since still count (what happened), marked.
async fn analytics_buckets(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    q: Result<Query<AnalyticsQuery>, QueryRejection>,
) -> Result<Json<AnalyticsPage>, ApiError> {
    staff.require(TRAINERS)?;
    let Query(q) = q?;
    let period = Period::parse(q.period.as_deref().unwrap_or("day")).map_err(ApiError::bad_request)?;
    let range = range(&app, period, ("from", q.from.as_deref()), q.to.as_deref(), q.days)?;
    let (from, to) = range.utc_bounds();
    let rows = app.store.analytics_rows(from, to).await.map_err(ApiError::internal)?;
    let decisions = app.store.review_decisions().await.map_err(ApiError::internal)?;
    Ok(Json(AnalyticsPage {
        period,
        from: range.from,
        to: range.to,
        timezone: app.config.business_timezone.clone(),
        total: analytics::total(&range, &rows, &decisions),
        buckets: analytics::compute(&range, &rows, &decisions),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TryRequest {
    text: String,
    /// A model version to compare with the one in force (none: the model in force only).
    #[serde(default)]
    candidate: Option<String>,
}

/// "Try it": what the FAQ search decides about `text` with the knowledge base as it is live,
/// and the top intents of the model in force and of `candidate`, side by side. Nothing is
/// stored; no conversation sees it.
async fn try_question(
    State(app): State<Arc<AppState>>,
    staff: Staff,
    body: Result<Json<TryRequest>, JsonRejection>,
) -> Result<Json<Tried>, ApiError> {
    staff.require(TRAINERS)?;
    let Json(req) = body?;
    try_it::question(&req.text).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let app2 = app.clone();
    let tried = tokio::task::spawn_blocking(move || {
        let engines = app2.router.engines();
        let (version, active) = app2.models.serving();
        // the candidate is loaded from disk for this question (a few milliseconds; nothing
        // is kept, so a new version is seen at once)
        let candidate = match req.candidate.as_deref().filter(|c| *c != version) {
            Some(c) => Some((c.to_string(), app2.models.registry.load(c)?)),
            None => None,
        };
        Ok::<_, crate::models::ModelsError>(try_it::try_question(
            &req.text,
            &engines.faq,
            (&version, &active),
            candidate.as_ref().map(|(v, m)| (v.as_str(), m)),
        ))
    })
    .await
    .map_err(ApiError::internal)?;
    match tried {
        Ok(Ok(t)) => Ok(Json(t)),
        Ok(Err(e @ (TryError::Empty | TryError::TooLong))) => Err(ApiError::bad_request(e.to_string())),
        Ok(Err(e)) => Err(ApiError::internal(e)),
        Err(e @ crate::models::ModelsError::UnknownVersion(_)) => {
            Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string()))
        }
        Err(e) => Err(ApiError::internal(e)),
    }
}
