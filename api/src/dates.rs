//! The dates and instants a caller may ask about: from 2000-01-01 to a year from today.
//! Everything outside is refused with a 422 naming the field, so that no date arithmetic
//! downstream (a day added, a window's midnights) can leave chrono's range or the
//! database's.

use chrono::{DateTime, Months, NaiveDate, Utc};
use shenbian_domain::message::Message;

use crate::error::ApiError;
use crate::state::AppState;

/// The earliest date a caller may ask about.
pub const EARLIEST: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// The latest date a caller may ask about: a year from today.
pub fn latest(state: &AppState) -> NaiveDate {
    state.today().checked_add_months(Months::new(12)).unwrap_or(NaiveDate::MAX)
}

/// Why a date given by the caller is refused: outside [`EARLIEST`] … a year from today.
pub fn date_problem(state: &AppState, day: NaiveDate) -> Option<Message> {
    let last = latest(state);
    (day < EARLIEST || day > last).then(|| {
        Message::new(
            format!("须为日期 YYYY-MM-DD，从 {EARLIEST} 到 {last}"),
            format!("a date YYYY-MM-DD from {EARLIEST} to {last}"),
        )
    })
}

/// A date given by the caller, within [`EARLIEST`] and a year from today.
pub fn bounded_date(state: &AppState, field: &str, day: NaiveDate) -> Result<NaiveDate, ApiError> {
    match date_problem(state, day) {
        Some(problem) => Err(ApiError::validation(field, problem)),
        None => Ok(day),
    }
}

/// Why an instant given by the caller is refused: outside 2000-01-01T00:00:00Z … a year
/// from now.
pub fn instant_problem(state: &AppState, at: DateTime<Utc>) -> Option<Message> {
    let first = EARLIEST.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let last = state.now().checked_add_months(Months::new(12)).unwrap_or(DateTime::<Utc>::MAX_UTC);
    (at < first || at > last).then(|| {
        let last = last.format("%Y-%m-%dT%H:%M:%SZ");
        Message::new(
            format!("须为 RFC 3339 时刻，从 2000-01-01T00:00:00Z 到 {last}"),
            format!("an RFC 3339 instant from 2000-01-01T00:00:00Z to {last}"),
        )
    })
}

/// An instant given by the caller, within 2000-01-01 and a year from now (UTC).
pub fn bounded_instant(state: &AppState, field: &str, at: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
    match instant_problem(state, at) {
        Some(problem) => Err(ApiError::validation(field, problem)),
        None => Ok(at),
    }
}

/// What a value that is not an RFC 3339 instant is refused with, so that the extractors
/// can tell the caller the format (every other date-like value is a calendar day).
pub const NOT_AN_INSTANT: &str = "not an RFC 3339 instant";

/// Deserialises an optional RFC 3339 instant, refusing anything else with [`NOT_AN_INSTANT`].
pub fn optional_instant<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    use serde::Deserialize;
    let raw: Option<String> = Option::deserialize(d)?;
    raw.map(|s| s.parse::<DateTime<Utc>>().map_err(|_| serde::de::Error::custom(NOT_AN_INSTANT))).transpose()
}
