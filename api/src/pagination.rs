//! Keyset pagination: `?limit=` (default 20, at most 100) and an opaque `?cursor=`, so
//! page 1,000 costs what page 1 costs. Answers are `{items, next_cursor}`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::{ApiError, t};

pub const DEFAULT_LIMIT: u64 = 20;
pub const MAX_LIMIT: u64 = 100;

/// The paging part of a list's query string.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PageParams {
    /// Items per page, 1–100 (default 20).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A checked page request: fetch `limit + 1` rows after `after` to learn whether more follow.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: u64,
    pub after: Option<Uuid>,
}

impl PageParams {
    pub fn page(&self) -> Result<Page, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::validation(
                "limit",
                (format!("须在 1 到 {MAX_LIMIT} 之间"), format!("must be between 1 and {MAX_LIMIT}")),
            ));
        }
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(cursor) => Some(decode_cursor(cursor).ok_or_else(|| {
                ApiError::validation("cursor", t("不是本列表给出的游标", "is not a cursor from this list"))
            })?),
        };
        Ok(Page { limit, after })
    }
}

impl PageParams {
    /// For lists keyed by a text code rather than an id.
    pub fn text_page(&self) -> Result<(u64, Option<String>), ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::validation(
                "limit",
                (format!("须在 1 到 {MAX_LIMIT} 之间"), format!("must be between 1 and {MAX_LIMIT}")),
            ));
        }
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(cursor) => Some(decode_text_cursor(cursor).ok_or_else(|| {
                ApiError::validation("cursor", t("不是本列表给出的游标", "is not a cursor from this list"))
            })?),
        };
        Ok((limit, after))
    }

    /// The limit, and the position of a list keyed by a number (an inbox's, an endpoint's
    /// attempts) that a cursor made by [`encode_text_cursor`] of it names.
    pub fn seq_page(&self) -> Result<(u64, Option<i64>), ApiError> {
        let (limit, after) = self.text_page()?;
        let after = after
            .map(|key| {
                key.parse::<i64>().map_err(|_| {
                    ApiError::validation("cursor", t("不是本列表给出的游标", "is not a cursor from this list"))
                })
            })
            .transpose()?;
        Ok((limit, after))
    }
}

/// The key of a cursor made by [`encode_text_cursor`]; `None` for anything else.
pub fn decode_text_cursor(cursor: &str) -> Option<String> {
    URL_SAFE_NO_PAD.decode(cursor).ok().and_then(|b| String::from_utf8(b).ok())
}

pub fn encode_text_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

fn decode_cursor(cursor: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    Uuid::from_slice(&bytes).ok()
}

pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// One page of a list.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct Paginated<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Paginated<T> {
    /// Builds a page from `limit + 1` fetched rows, ordered by their id.
    pub fn from_rows<R>(mut rows: Vec<R>, page: Page, id: impl Fn(&R) -> Uuid, view: impl FnMut(R) -> T) -> Self {
        let more = rows.len() as u64 > page.limit;
        rows.truncate(page.limit as usize);
        let next_cursor = if more { rows.last().map(|r| encode_cursor(id(r))) } else { None };
        Self { items: rows.into_iter().map(view).collect(), next_cursor }
    }
}
