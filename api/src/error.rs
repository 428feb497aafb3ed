//! One error type for every handler. 4xx answers are `application/problem+json` (RFC 9457)
//! with a stable `code`; a 5xx answer is opaque and its cause goes to the log, inside the
//! request's span, never to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::{DbErr, RuntimeErr, SqlErr};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem document as clients receive it.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:shenbian:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, e.g. `validation_failed`, `not_found`, `conflict`.
    pub code: String,
    /// Per-field messages, for `validation_failed`.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub errors: Vec<FieldError>,
    /// Per provider, why it may not be offered the job, for `not_eligible`.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub ineligible: Vec<IneligibleProvider>,
}

/// A provider a dispatch named that may not be offered the job, and why.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema, PartialEq, Eq)]
pub struct IneligibleProvider {
    pub provider_id: uuid::Uuid,
    pub reasons: Vec<crate::eligibility::ReasonView>,
}

/// What is wrong with one field of the input; `field` is its path (`address.room`).
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl ToString) -> Self {
        Self { field: field.into(), message: message.to_string() }
    }
}

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("malformed request: {0}")]
    BadRequest(String),
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("unauthorized")]
    Unauthorized,
    #[error("invalid credentials")]
    InvalidCredentials,
    /// A one-time code that is wrong, spent or expired (or a phone without one).
    #[error("invalid code")]
    InvalidCode,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("conflict: {code}")]
    Conflict { code: &'static str, detail: String },
    #[error("invalid transition")]
    InvalidTransition(String),
    #[error("not eligible")]
    NotEligible(Vec<IneligibleProvider>),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    #[error("service unavailable")]
    Unavailable,
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn validation(field: &str, message: impl ToString) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Conflict { code, detail: detail.into() }
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        Self::Internal(err.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Validation(_) | Self::NotEligible(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized | Self::InvalidCredentials | Self::InvalidCode => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict { .. } | Self::InvalidTransition(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code_and_detail(&self) -> (&'static str, String) {
        match self {
            Self::BadRequest(detail) => ("malformed_request", detail.clone()),
            Self::Validation(_) => ("validation_failed", "some fields are invalid; see errors".into()),
            Self::Unauthorized => ("unauthorized", "a valid access token is required".into()),
            Self::InvalidCredentials => ("invalid_credentials", "phone or password is incorrect".into()),
            Self::InvalidCode => ("invalid_code", "验证码错误或已过期 (the code is wrong or has expired)".into()),
            Self::Forbidden => ("forbidden", "your role may not do this".into()),
            Self::NotFound => ("not_found", "no such resource".into()),
            Self::Conflict { code, detail } => (code, detail.clone()),
            Self::InvalidTransition(detail) => ("invalid_transition", detail.clone()),
            Self::NotEligible(_) => {
                ("not_eligible", "some providers may not be offered this job; see ineligible".into())
            }
            Self::PayloadTooLarge => ("payload_too_large", "the request body is larger than 1 MiB".into()),
            Self::UnsupportedMediaType => ("unsupported_media_type", "send the body as application/json".into()),
            Self::RateLimited { .. } => ("rate_limited", "too many failed attempts; try again later".into()),
            Self::Unavailable => ("unavailable", "the service is temporarily unavailable; retry shortly".into()),
            Self::Internal(_) => ("internal", "an unexpected error occurred".into()),
        }
    }

    /// The problem document this error answers with.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let (code, detail) = self.code_and_detail();
        Problem {
            kind: format!("urn:shenbian:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            code: code.to_owned(),
            errors: match self {
                Self::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
            ineligible: match self {
                Self::NotEligible(providers) => providers.clone(),
                _ => Vec::new(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal(cause) => tracing::error!(%cause, "request failed"),
            Self::Unavailable => tracing::warn!("database unavailable"),
            other => tracing::debug!(code = other.code_and_detail().0, "request refused"),
        }
        let mut response = problem_response(&self.problem());
        let headers = response.headers_mut();
        match self {
            Self::Unauthorized | Self::InvalidCredentials | Self::InvalidCode => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::RateLimited { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)));
            }
            Self::Unavailable => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            }
            _ => {}
        }
        response
    }
}

/// Serialises a problem with its status and content type.
pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))], body).into_response()
}

/// Database errors: a lost or exhausted connection is `503` (the client may retry); a
/// constraint the caller did not anticipate is a server fault. Call sites map the unique
/// constraints they expect (`uq_user_phone`) to `409` before this applies.
impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        if is_unavailable(&err) {
            return Self::Unavailable;
        }
        // Constraint messages can quote the offending value (a phone); log only the kind.
        if err.sql_err().is_some() {
            return Self::Internal("unexpected constraint violation".into());
        }
        Self::Internal(err.to_string())
    }
}

/// True when the database could not be reached or the pool had no connection in time.
pub fn is_unavailable(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            let text = e.to_string();
            matches!(
                **e,
                sea_orm::sqlx::Error::Io(_) | sea_orm::sqlx::Error::PoolTimedOut | sea_orm::sqlx::Error::PoolClosed
            ) || text.contains("database is locked")
                || text.contains("lock timeout")
                || text.contains("terminating connection")
                || text.contains("deadlock detected")
                || text.contains("could not serialize access")
        }
        _ => false,
    }
}

/// True when a write broke the named unique constraint. PostgreSQL names the constraint
/// (`uq_user_phone`); SQLite names its columns (`users.phone`), so callers give both.
pub fn violates_unique(err: &DbErr, constraint: &str, sqlite_columns: &str) -> bool {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(message)) => {
            message.contains(constraint) || message.contains(sqlite_columns)
        }
        _ => false,
    }
}
