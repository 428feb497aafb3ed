//! The dates and instants a caller may ask about: from 2000-01-01 to a year from today.
//! Everything outside is refused with a 422 naming the field, so that no date arithmetic
//! downstream (a day added, a window's midnights) can leave chrono's range or the
//! database's.

use chrono::{DateTime, Months, NaiveDate, Utc};

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
pub fn date_problem(state: &AppState, day: NaiveDate) -> Option<String> {
    let last = latest(state);
    (day < EARLIEST || day > last).then(|| format!("a date YYYY-MM-DD from {EARLIEST} to {last}"))
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
pub fn instant_problem(state: &AppState, at: DateTime<Utc>) -> Option<String> {
    let first = EARLIEST.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let last = state.now().checked_add_months(Months::new(12)).unwrap_or(DateTime::<Utc>::MAX_UTC);
    (at < first || at > last)
        .then(|| format!("an RFC 3339 instant from 2000-01-01T00:00:00Z to {}", last.format("%Y-%m-%dT%H:%M:%SZ")))
}

/// An instant given by the caller, within 2000-01-01 and a year from now (UTC).
pub fn bounded_instant(state: &AppState, field: &str, at: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
    match instant_problem(state, at) {
        Some(problem) => Err(ApiError::validation(field, problem)),
        None => Ok(at),
    }
}
