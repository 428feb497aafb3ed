//! One error type for every handler. 4xx answers are `application/problem+json` (RFC 9457)
//! with a stable `code`; a 5xx answer is opaque and its cause goes to the log, inside the
//! request's span, never to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::{DbErr, RuntimeErr, SqlErr};
use serde::Serialize;
use shenbian_domain::message::Message;
use utoipa::ToSchema;

use crate::lang::Lang;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem document as clients receive it. `title`, `detail` and the field messages are
/// zh-CN, or English when the request's `Accept-Language` prefers English.
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
    pub reasons: Vec<ReasonView>,
}

/// A reason, with a stable code and a text for people (a provider that may not be offered a
/// job, a candidate's ranking factor).
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema, PartialEq, Eq)]
pub struct ReasonView {
    /// Stable, e.g. `quota_exhausted`.
    pub code: String,
    /// For people, in the language of `Accept-Language` (zh-CN by default, or en).
    pub text: String,
}

/// What is wrong with one field of the input; `field` is its path (`address.room`).
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// What is wrong with one field, in both languages, until the answer is rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIssue {
    pub field: String,
    pub message: Message,
}

impl FieldIssue {
    pub fn new(field: impl Into<String>, message: impl Into<Message>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// Every way a request can fail. Texts people read are [`Message`]s, in both languages.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("malformed request: {0}")]
    BadRequest(Message),
    #[error("validation failed")]
    Validation(Vec<FieldIssue>),
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
    Conflict { code: &'static str, detail: Message },
    #[error("invalid transition")]
    InvalidTransition(Message),
    #[error("not eligible")]
    NotEligible(Vec<IneligibleProvider>),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// An HTTP method the route does not answer.
    #[error("method not allowed")]
    MethodNotAllowed(Message),
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    /// More of something at once than one caller may hold (429, with its code).
    #[error("too many: {code}")]
    TooMany { code: &'static str, detail: Message },
    #[error("service unavailable")]
    Unavailable,
    #[error("internal error: {0}")]
    Internal(String),
}

/// A text in both languages: `t("中文", "English")`.
pub fn t(zh: &'static str, en: &'static str) -> Message {
    Message::new(zh, en)
}

impl ApiError {
    pub fn validation(field: &str, message: impl Into<Message>) -> Self {
        Self::Validation(vec![FieldIssue::new(field, message)])
    }

    pub fn bad_request(message: impl Into<Message>) -> Self {
        Self::BadRequest(message.into())
    }

    pub fn conflict(code: &'static str, detail: impl Into<Message>) -> Self {
        Self::Conflict { code, detail: detail.into() }
    }

    pub fn too_many(code: &'static str, detail: impl Into<Message>) -> Self {
        Self::TooMany { code, detail: detail.into() }
    }

    pub fn invalid_transition(detail: impl Into<Message>) -> Self {
        Self::InvalidTransition(detail.into())
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
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::RateLimited { .. } | Self::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "malformed_request",
            Self::Validation(_) => "validation_failed",
            Self::Unauthorized => "unauthorized",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidCode => "invalid_code",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict { code, .. } | Self::TooMany { code, .. } => code,
            Self::InvalidTransition(_) => "invalid_transition",
            Self::NotEligible(_) => "not_eligible",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    fn detail(&self) -> Message {
        match self {
            Self::BadRequest(detail)
            | Self::Conflict { detail, .. }
            | Self::TooMany { detail, .. }
            | Self::InvalidTransition(detail)
            | Self::MethodNotAllowed(detail) => detail.clone(),
            Self::Validation(_) => t("有字段填写不正确，详见 errors", "some fields are invalid; see errors"),
            Self::Unauthorized => t("请先登录：需要有效的访问令牌", "a valid access token is required; sign in first"),
            Self::InvalidCredentials => t("手机号或密码不正确", "the phone or the password is incorrect"),
            Self::InvalidCode => t("验证码错误或已过期", "the code is wrong or has expired"),
            Self::Forbidden => t("你的角色不能做这件事", "your role may not do this"),
            Self::NotFound => t("没有找到该对象，或你无权查看", "there is no such resource, or you may not see it"),
            Self::NotEligible(_) => t(
                "部分服务方不能接这单，原因见 ineligible",
                "some providers may not be offered this job; see ineligible",
            ),
            Self::PayloadTooLarge => t("请求体不能超过 1 MiB", "the request body is larger than 1 MiB"),
            Self::UnsupportedMediaType => t("请以 application/json 发送请求体", "send the body as application/json"),
            Self::RateLimited { .. } => t("失败次数过多，请稍后再试", "too many failed attempts; try again later"),
            Self::Unavailable => {
                t("服务暂时不可用，请稍后重试", "the service is temporarily unavailable; retry shortly")
            }
            Self::Internal(_) => t("服务器出现意外错误", "an unexpected error occurred"),
        }
    }

    /// The problem document this error answers with, in the request's language.
    pub fn problem(&self) -> Problem {
        self.problem_in(Lang::current())
    }

    /// The problem document this error answers with, in `lang`.
    pub fn problem_in(&self, lang: Lang) -> Problem {
        let status = self.status();
        let code = self.code();
        Problem {
            kind: format!("urn:shenbian:problem:{code}"),
            title: lang.pick(&title(status)),
            status: status.as_u16(),
            detail: lang.pick(&self.detail()),
            code: code.to_owned(),
            errors: match self {
                Self::Validation(errors) => errors
                    .iter()
                    .map(|e| FieldError { field: e.field.clone(), message: lang.pick(&e.message) })
                    .collect(),
                _ => Vec::new(),
            },
            ineligible: match self {
                Self::NotEligible(providers) => providers.clone(),
                _ => Vec::new(),
            },
        }
    }
}

/// A problem's title: what kind of failure its status is, in both languages.
fn title(status: StatusCode) -> Message {
    let (zh, en) = match status.as_u16() {
        400 => ("请求格式错误", "Bad Request"),
        401 => ("未登录或凭据无效", "Unauthorized"),
        403 => ("无权操作", "Forbidden"),
        404 => ("未找到", "Not Found"),
        405 => ("不支持该方法", "Method Not Allowed"),
        409 => ("与当前状态冲突", "Conflict"),
        413 => ("请求体过大", "Payload Too Large"),
        415 => ("不支持的内容类型", "Unsupported Media Type"),
        422 => ("输入有误", "Unprocessable Entity"),
        429 => ("请求过于频繁", "Too Many Requests"),
        503 => ("服务暂不可用", "Service Unavailable"),
        _ => ("服务器错误", "Internal Server Error"),
    };
    Message::new(zh, en)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal(cause) => tracing::error!(%cause, "request failed"),
            Self::Unavailable => tracing::warn!("database unavailable"),
            other => tracing::debug!(code = other.code(), "request refused"),
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
