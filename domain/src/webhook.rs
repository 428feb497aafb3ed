//! Webhook delivery's rules: what a receiver's answer means, when to try again, when to give
//! up, and which addresses a delivery may never reach.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// Waits after the 1st, 2nd, … failed attempt at an event (the last repeats), before jitter.
pub const RETRY_SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// An endpoint failing this long earns its owner a warning.
pub const WARN_AFTER: Duration = Duration::from_secs(24 * 3600);

/// An endpoint failing this long is switched off (its owner warned at [`WARN_AFTER`]).
pub const DISABLE_AFTER: Duration = Duration::from_secs(5 * 24 * 3600);

/// A `Retry-After` longer than this is read as this.
pub const RETRY_AFTER_MAX: Duration = Duration::from_secs(10 * 3600);

/// What an attempt's outcome means for the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 2xx: the event is delivered.
    Delivered,
    /// 410 Gone: the receiver asks never to be called again.
    Gone,
    /// Anything else, or no answer: try again later.
    Failed,
}

impl Answer {
    pub fn of(status: Option<u16>) -> Self {
        match status {
            Some(200..=299) => Answer::Delivered,
            Some(410) => Answer::Gone,
            _ => Answer::Failed,
        }
    }
}

/// The wait before the next attempt after `failures` failed attempts in a row (at least
/// 1): the schedule's step, spread by ±20 % with `jitter` (0.0–1.0, uniform), or the
/// receiver's `Retry-After` when it gave one (at most [`RETRY_AFTER_MAX`]).
pub fn retry_delay(failures: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
    if let Some(wait) = retry_after {
        return wait.min(RETRY_AFTER_MAX);
    }
    let step = RETRY_SCHEDULE[(failures.max(1) as usize - 1).min(RETRY_SCHEDULE.len() - 1)];
    step.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0))
}

/// Whether a delivery may connect to `ip`: not loopback, private, link-local (cloud
/// metadata lives there), shared (CGNAT), unspecified, multicast, broadcast or reserved.
/// An IPv4-mapped IPv6 address is judged as IPv4.
pub fn public_address(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && ip.octets()[2] == 0))
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local, fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local, fe80::/10
        || (first & 0xffc0) == 0xfec0) // site-local (deprecated), fec0::/10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        assert_eq!(Answer::of(Some(204)), Answer::Delivered);
        assert_eq!(Answer::of(Some(410)), Answer::Gone);
        assert_eq!(Answer::of(Some(500)), Answer::Failed);
        assert_eq!(Answer::of(Some(301)), Answer::Failed);
        assert_eq!(Answer::of(None), Answer::Failed);
    }

    #[test]
    fn retries_follow_the_schedule_within_their_jitter() {
        for (i, step) in RETRY_SCHEDULE.iter().enumerate() {
            let failures = i as u32 + 1;
            assert_eq!(retry_delay(failures, 0.5, None), *step);
            assert!(retry_delay(failures, 0.0, None) >= step.mul_f64(0.8));
            assert!(retry_delay(failures, 1.0, None) <= step.mul_f64(1.2));
        }
        assert_eq!(retry_delay(30, 0.5, None), Duration::from_secs(10 * 3600));
        assert_eq!(retry_delay(1, 0.5, Some(Duration::from_secs(60))), Duration::from_secs(60));
        assert_eq!(retry_delay(1, 0.5, Some(Duration::from_secs(86_400 * 9))), RETRY_AFTER_MAX);
    }

    #[test]
    fn private_and_metadata_addresses_are_refused() {
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!public_address(refused.parse().unwrap()), "{refused} must be refused");
        }
        for allowed in ["1.1.1.1", "203.0.113.9", "2001:4860:4860::8888", "::ffff:8.8.8.8"] {
            assert!(public_address(allowed.parse().unwrap()), "{allowed} must be allowed");
        }
    }
}
