//! The language of the texts people read in an answer: zh-CN unless the request's
//! `Accept-Language` prefers English. A middleware reads the header once and keeps the
//! choice for the rest of the request, so errors pick their text when they are rendered,
//! wherever they were raised.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use shenbian_domain::message::Message;

/// The language for texts people read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

tokio::task_local! {
    static CURRENT: Lang;
}

impl Lang {
    /// English when the most preferred language range of `Accept-Language` (highest
    /// q-value, the first of equals) is English (`en`, `en-US`, `en-GB`); otherwise zh-CN.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let Some(header) = headers.get(axum::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()) else {
            return Lang::Zh;
        };
        let mut best: Option<(f32, &str)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim();
            if tag.is_empty() {
                continue;
            }
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()))
                .next()
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, tag));
            }
        }
        let english = |tag: &str| {
            tag.eq_ignore_ascii_case("en") || tag.get(..3).is_some_and(|head| head.eq_ignore_ascii_case("en-"))
        };
        match best {
            Some((_, tag)) if english(tag) => Lang::En,
            _ => Lang::Zh,
        }
    }

    /// The language of the request being served; zh-CN outside a request.
    pub fn current() -> Self {
        CURRENT.try_with(|lang| *lang).unwrap_or(Lang::Zh)
    }

    /// `message` in this language.
    pub fn pick(self, message: &Message) -> String {
        message.text(self == Lang::En).to_owned()
    }
}

impl Lang {
    /// Runs `work` with this as the request's language.
    pub async fn scope<F: Future>(self, work: F) -> F::Output {
        CURRENT.scope(self, work).await
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang::from_headers(&parts.headers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(header: &str) -> Lang {
        let mut headers = HeaderMap::new();
        headers.insert(axum::http::header::ACCEPT_LANGUAGE, header.parse().unwrap());
        Lang::from_headers(&headers)
    }

    #[test]
    fn the_most_preferred_language_decides() {
        assert_eq!(lang("en"), Lang::En);
        assert_eq!(lang("en-US"), Lang::En);
        assert_eq!(lang("en-GB;q=0.9, zh-CN;q=0.8"), Lang::En);
        assert_eq!(lang("zh-CN;q=0.5, en-GB;q=0.9"), Lang::En);
        assert_eq!(lang("zh-CN, en;q=0.9"), Lang::Zh);
        assert_eq!(lang("fr"), Lang::Zh);
        assert_eq!(lang("english"), Lang::Zh);
        assert_eq!(lang(""), Lang::Zh);
        assert_eq!(Lang::from_headers(&HeaderMap::new()), Lang::Zh);
    }
}
