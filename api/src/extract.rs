//! Our own extractors, so that every rejection — bad JSON, wrong content type, a bad path id,
//! a bad query — is our problem+json, with the field path where there is one.

use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use shenbian_domain::message::Message;

use crate::error::{ApiError, FieldIssue, t};

/// A JSON body. Malformed JSON is `400`; JSON of the wrong shape (a missing or unknown
/// field, a wrong type) is `422` naming the field; a body that is not declared
/// `application/json` is `415`; a body over the limit is `413`. No body at all reads as `{}`,
/// so that a step sent without its body learns which fields it needs (`422` naming them)
/// rather than a content type.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_bytes(req, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// A JSON body with its raw bytes (for idempotency hashing).
pub struct JsonRaw<T>(pub T, pub Bytes);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonRaw<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_bytes(req, state).await?;
        Ok(JsonRaw(parse_json(&bytes)?, bytes))
    }
}

/// An optional JSON body: no body at all gives `T::default()`; a body must be JSON.
pub struct MaybeJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for MaybeJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let declared = req.headers().get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
        let no_body = declared == Some("0") || (declared.is_none() && !req.headers().contains_key(CONTENT_TYPE));
        if no_body {
            return Ok(MaybeJson(T::default()));
        }
        let bytes = json_bytes(req, state).await?;
        if bytes.is_empty() {
            return Ok(MaybeJson(T::default()));
        }
        parse_json(&bytes).map(MaybeJson)
    }
}

/// Reads a body that must be declared as JSON, within the body limit; no body at all is `{}`.
async fn json_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    let declared_empty = req.headers().get(axum::http::header::CONTENT_LENGTH).is_some_and(|v| v.as_bytes() == b"0");
    if declared_empty || !req.headers().contains_key(CONTENT_TYPE) {
        let bytes = read_bytes(req, state).await?;
        return if bytes.is_empty() { Ok(Bytes::from_static(b"{}")) } else { Err(ApiError::UnsupportedMediaType) };
    }
    let is_json =
        req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).and_then(|v| v.split(';').next()).is_some_and(
            |mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
            },
        );
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    let bytes = read_bytes(req, state).await?;
    Ok(if bytes.iter().all(u8::is_ascii_whitespace) { Bytes::from_static(b"{}") } else { bytes })
}

/// The body's bytes, within the body limit.
async fn read_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| match rejection {
        BytesRejection::FailedToBufferBody(_) if rejection.status() == 413 => ApiError::PayloadTooLarge,
        _ => ApiError::bad_request(t("无法读取请求体", "the request body could not be read")),
    })
}

/// Parses JSON bytes into `T`, telling syntax errors (400) from shape errors (422).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // PostgreSQL keeps no NUL character in text; no field takes one.
    if bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        return Err(ApiError::validation("", no_nul()));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        use serde_json::error::Category;
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                let (line, column) = (inner.line(), inner.column());
                ApiError::BadRequest(Message::new(
                    format!("JSON 格式错误，位于第 {line} 行第 {column} 列"),
                    format!("malformed JSON at line {line} column {column}"),
                ))
            }
            Category::Data => field_issue(&path, &strip_position(&inner.to_string())),
        }
    })?;
    de.end().map_err(|_| {
        ApiError::bad_request(t("JSON 格式错误：末尾有多余字符", "malformed JSON: trailing characters"))
    })?;
    Ok(value)
}

/// A serde refusal at `path` as a field issue: a missing field is named itself (serde
/// reports it at its parent), and the message says what is expected in both languages.
fn field_issue(path: &str, message: &str) -> ApiError {
    let mut field = if path == "." { String::new() } else { path.to_owned() };
    if let Some(missing) = message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`')) {
        field = if field.is_empty() { missing.to_owned() } else { format!("{field}.{missing}") };
        return ApiError::validation(&field, t("必须填写", "is required"));
    }
    ApiError::validation(&field, serde_message(message))
}

/// chrono's parse errors, which are all a date or an instant says when it does not parse.
const CHRONO_ERRORS: [&str; 7] = [
    "input is out of range",
    "no possible date and time matching input",
    "input is not enough for unique date and time",
    "input contains invalid characters",
    "premature end of input",
    "trailing input",
    "bad or unsupported format string",
];

/// What serde's message means for the caller, in both languages. A date or an instant that
/// does not parse says its format: instants are read with [`crate::dates::optional_instant`],
/// so chrono's own parse errors come from calendar days.
fn serde_message(message: &str) -> Message {
    if message == crate::dates::NOT_AN_INSTANT {
        return t(
            "须为 RFC 3339 时刻，如 2026-12-04T09:30:00+08:00",
            "must be an RFC 3339 instant, e.g. 2026-12-04T09:30:00+08:00",
        );
    }
    if CHRONO_ERRORS.contains(&message) {
        return t("须为日期 YYYY-MM-DD，如 2026-12-04", "must be a date YYYY-MM-DD, e.g. 2026-12-04");
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let name = rest.split('`').next().unwrap_or("");
        return Message::new(format!("不接受字段 `{name}`（{message}）"), message.to_owned());
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let value = rest.split('`').next().unwrap_or("");
        return Message::new(format!("`{value}` 不是可选的值（{message}）"), message.to_owned());
    }
    if message.starts_with("invalid type")
        || message.starts_with("invalid value")
        || message.starts_with("invalid length")
    {
        return Message::new(format!("类型或取值不对（{message}）"), message.to_owned());
    }
    if message.starts_with("UUID parsing failed")
        || message.starts_with("invalid character")
        || message.contains("UUID")
    {
        return Message::new(format!("须为 UUID（{message}）"), format!("must be a UUID ({message})"));
    }
    if message.starts_with("invalid digit") || message.contains("number") {
        return Message::new(format!("须为整数（{message}）"), format!("must be a whole number ({message})"));
    }
    Message::new(format!("取值不对（{message}）"), message.to_owned())
}

/// serde_json appends " at line 1 column 9" to its messages; the field path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// A path parameter. A value that does not parse (an id that is not a UUID) names no
/// object the caller could see, so it is `404`.
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // No stored key holds a NUL character (and PostgreSQL keeps none in text).
        if parts.uri.path().to_ascii_lowercase().contains("%00") {
            return Err(ApiError::NotFound);
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|_| ApiError::NotFound)
    }
}

/// A query string. A parameter of the wrong type is `422` naming the parameter.
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        // PostgreSQL keeps no NUL character in text; no parameter takes one.
        if let Some((name, _)) =
            form_urlencoded::parse(query.as_bytes()).find(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            return Err(ApiError::validation(&name.replace('\0', ""), no_nul()));
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(Query).map_err(|err| {
            let path = err.path().to_string();
            field_issue(&path, &err.into_inner().to_string())
        })
    }
}

/// Why a text with a NUL character is refused.
fn no_nul() -> Message {
    t("不能含有空字符（NUL）", "must not contain a NUL character")
}

/// Collects field errors while a request body is turned into domain values, so a client
/// learns about every bad field at once.
#[derive(Default)]
pub struct Fields(Vec<FieldIssue>);

impl Fields {
    /// Keeps the parsed value, or records why `field` is wrong.
    pub fn check<T, E: Into<Message>>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(err) => {
                self.0.push(FieldIssue::new(field, err));
                None
            }
        }
    }

    pub fn push(&mut self, field: &str, message: impl Into<Message>) {
        self.0.push(FieldIssue::new(field, message));
    }

    /// `Ok` when every field was fine; the values checked are then all `Some`.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() { Ok(()) } else { Err(self.into_error()) }
    }

    /// The validation error, for when a checked value came back `None`.
    pub fn into_error(self) -> ApiError {
        ApiError::Validation(self.0)
    }
}

pub use crate::lang::Lang;
