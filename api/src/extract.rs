//! Our own extractors, so that every rejection — bad JSON, wrong content type, a bad path id,
//! a bad query — is our problem+json, with the field path where there is one.

use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};

/// A JSON body. Malformed JSON is `400`; JSON of the wrong shape (a missing or unknown
/// field, a wrong type) is `422` naming the field; no `application/json` is `415`; a body
/// over the limit is `413`.
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

/// Reads a body that must be declared as JSON, within the body limit.
async fn json_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
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
    Bytes::from_request(req, state).await.map_err(|rejection| match rejection {
        BytesRejection::FailedToBufferBody(_) if rejection.status() == 413 => ApiError::PayloadTooLarge,
        _ => ApiError::BadRequest("the request body could not be read".into()),
    })
}

/// Parses JSON bytes into `T`, telling syntax errors (400) from shape errors (422).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        use serde_json::error::Category;
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::BadRequest(format!("malformed JSON at line {} column {}", inner.line(), inner.column()))
            }
            Category::Data => {
                let message = strip_position(&inner.to_string());
                let mut field = if path == "." { String::new() } else { path };
                // A missing field is reported at its parent; name the field itself.
                if let Some(missing) = message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`')) {
                    field = if field.is_empty() { missing.to_owned() } else { format!("{field}.{missing}") };
                }
                ApiError::Validation(vec![FieldError::new(field, message)])
            }
        }
    })?;
    de.end().map_err(|_| ApiError::BadRequest("malformed JSON: trailing characters".into()))?;
    Ok(value)
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
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(Query).map_err(|err| {
            let field = err.path().to_string();
            let message = err.into_inner().to_string();
            ApiError::Validation(vec![FieldError::new(if field == "." { String::new() } else { field }, message)])
        })
    }
}

/// Collects field errors while a request body is turned into domain values, so a client
/// learns about every bad field at once.
#[derive(Default)]
pub struct Fields(Vec<FieldError>);

impl Fields {
    /// Keeps the parsed value, or records why `field` is wrong.
    pub fn check<T, E: std::fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(err) => {
                self.0.push(FieldError::new(field, err));
                None
            }
        }
    }

    pub fn push(&mut self, field: &str, message: impl ToString) {
        self.0.push(FieldError::new(field, message));
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

/// The language for texts people read: `en` when `Accept-Language` prefers English,
/// otherwise zh-CN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(axum::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
        // The first language named wins; q-values beyond that are not worth the parsing.
        let first = header.split(',').next().unwrap_or("").trim().to_ascii_lowercase();
        Ok(if first.starts_with("en") { Lang::En } else { Lang::Zh })
    }
}
