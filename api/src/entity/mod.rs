//! sea-orm entities: the tables as the API reads and writes them. Never request bodies:
//! wire types live with their routes and convert at the edge.

pub mod audit_log;
pub mod auth_failure;
pub mod community;
pub mod one_time_code;
pub mod refresh_token;
pub mod server_secret;
pub mod session;
pub mod user;
