//! What the fault tests share: PostgreSQL clusters and databases made for one test, the real
//! `shenbian` binary started, read and killed, a small district set up over HTTP, and the
//! checks that an order's event log replays to its stored state.
//!
//! Each fault test file is its own crate and uses only part of this module.
#![allow(dead_code)]

pub mod checks;
pub mod district;
pub mod pg;
pub mod server;

/// The test database named by `SHENBIAN_TEST_DATABASE_URL` (a PostgreSQL server), if any.
pub fn test_database_url() -> Option<String> {
    std::env::var("SHENBIAN_TEST_DATABASE_URL").ok().filter(|url| !url.is_empty())
}

/// A port nobody listens on right now: bind 127.0.0.1:0 and let it go.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}
