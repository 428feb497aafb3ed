//! Password hashing: argon2id (m = 19 MiB, t = 2, p = 1), computed on the blocking pool
//! behind a semaphore so that a burst of sign-ins cannot starve the async threads or
//! exhaust memory.

use std::sync::{Arc, LazyLock};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::ApiError;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash to verify against when the account does not exist, so that an unknown phone
/// costs the same time as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    argon2().hash_password(b"no such account, but the same work").map(|h| h.to_string()).unwrap_or_default()
});

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
}

impl Hasher {
    pub fn new(concurrency: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(concurrency.max(1))) }
    }

    /// Hashes a new password into a PHC string.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.run(move || argon2().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(ApiError::internal))
            .await?
    }

    /// Checks a password against a stored hash; `None` (no such account, or one without a
    /// password yet) checks against a dummy hash and answers false, taking the same time.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, ApiError> {
        self.run(move || {
            let known = stored.is_some();
            let hash = stored.unwrap_or_else(|| DUMMY_HASH.clone());
            let ok = argon2().verify_password(password.as_bytes(), hash.as_str()).is_ok();
            ok && known
        })
        .await
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(work).await.map_err(ApiError::internal)
    }
}
