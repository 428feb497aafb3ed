//! The pages' stylesheet and script, embedded in the binary at build time (no CDN: the
//! service works offline). Their URLs carry a hash of their content, so browsers may keep
//! them for a year and still never use a stale one.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const FILES: [(&str, &str, &str); 2] = [
    ("app.css", "text/css; charset=utf-8", include_str!("../../web/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../../web/app.js")),
];

static VERSIONS: LazyLock<Vec<String>> =
    LazyLock::new(|| FILES.iter().map(|(_, _, body)| hex::encode(&Sha256::digest(body.as_bytes())[..6])).collect());

/// The URL of an asset, with its content's version.
pub fn url(name: &str) -> String {
    let i = FILES.iter().position(|(n, _, _)| *n == name).unwrap_or(0);
    format!("/static/{}?v={}", FILES[i].0, VERSIONS[i])
}

pub async fn serve(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, body)) => {
            ([(CONTENT_TYPE, *kind), (CACHE_CONTROL, "public, max-age=31536000, immutable")], *body).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
