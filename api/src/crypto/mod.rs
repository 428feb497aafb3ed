//! The server's cryptography: the keys that sign access tokens and hash stored tokens and
//! codes ([`keys`]), the access tokens themselves (HS256 JWTs), and password hashing
//! ([`password`]). It knows nothing of requests: the shared state holds the keys and the
//! hasher, and sign-in ([`crate::auth`]) uses them.

mod jwt;
pub mod keys;
pub mod password;
