//! Password hashing: argon2id with m = 7 MiB, t = 5, p = 1 — one of the settings OWASP's
//! password storage guidance lists as equivalent to m = 19 MiB, t = 2 (the same work, less
//! memory held). Hashes are computed on the blocking pool behind a semaphore, so that a
//! burst of sign-ins cannot starve the async threads, and in memory blocks that are kept
//! and reused: at most `hash_concurrency` of them exist, allocated once.
//!
//! Why reuse: glibc serves a freed 19 MiB block's successors from per-thread arenas and
//! never gives them back, so a server that allocates a fresh block per hash grows by a
//! block per thread that ever hashed (≈ 600 MB after a few dozen sign-ins, measured in
//! docs/BENCHMARKS.md, "Memory: password hashing"). Hashes stored with other parameters
//! verify too, with memory of their own size.

use std::sync::{Arc, LazyLock, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// Memory in KiB (= blocks), passes, lanes.
const M_COST: u32 = 7 * 1024;
const T_COST: u32 = 5;
const P_COST: u32 = 1;
const SALT_LEN: usize = 16;
const OUTPUT_LEN: usize = 32;

fn params() -> Params {
    Params::new(M_COST, T_COST, P_COST, Some(OUTPUT_LEN)).expect("valid argon2 parameters")
}

/// Memory blocks for hashes with the current parameters, kept between hashes.
#[derive(Default)]
struct Blocks(Mutex<Vec<Vec<Block>>>);

impl Blocks {
    fn take(&self) -> Vec<Block> {
        let kept = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop();
        kept.unwrap_or_else(|| vec![Block::default(); M_COST as usize])
    }

    fn give_back(&self, blocks: Vec<Block>) {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(blocks);
    }
}

/// Hashes `password` with `salt` and the given parameters into `out`, in kept memory when
/// the parameters are the current ones.
fn compute(
    blocks: &Blocks,
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    let current = params.m_cost() == M_COST && params.p_cost() == P_COST;
    let needed = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    if current {
        let mut memory = blocks.take();
        let result = argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..needed]);
        blocks.give_back(memory);
        result
    } else {
        argon2.hash_password_into(password, salt, out)
    }
}

/// A new PHC string for `password`, with a random salt.
fn hash_new(blocks: &Blocks, password: &[u8]) -> Result<String, String> {
    let salt: [u8; SALT_LEN] = rand::random();
    let mut out = [0u8; OUTPUT_LEN];
    compute(blocks, Algorithm::Argon2id, Version::V0x13, params(), password, &salt, &mut out)
        .map_err(|e| e.to_string())?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params()).map_err(|e| e.to_string())?,
        salt: Some(Salt::new(&salt).map_err(|e| e.to_string())?),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `stored` (compared in constant time).
fn matches(blocks: &Blocks, password: &[u8], stored: &str) -> bool {
    let Ok(phc) = PasswordHash::new(stored) else { return false };
    let (Ok(algorithm), Some(salt), Some(expected)) =
        (Algorithm::try_from(phc.algorithm.as_str()), &phc.salt, &phc.hash)
    else {
        return false;
    };
    let version = phc.version.map(Version::try_from).unwrap_or(Ok(Version::V0x13));
    let (Ok(version), Ok(params)) = (version, Params::try_from(&phc)) else { return false };
    let mut out = vec![0u8; expected.len()];
    if compute(blocks, algorithm, version, params, password, salt, &mut out).is_err() {
        return false;
    }
    Output::new(&out).is_ok_and(|computed| computed == *expected)
}

/// A hash to verify against when the account does not exist, so that an unknown phone
/// costs the same time as a wrong password.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_new(&Blocks::default(), b"no such account, but the same work").unwrap_or_default());

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    blocks: Arc<Blocks>,
}

impl Hasher {
    pub fn new(concurrency: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(concurrency.max(1))), blocks: Arc::default() }
    }

    /// Hashes a new password into a PHC string.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        let blocks = self.blocks.clone();
        self.run(move || hash_new(&blocks, password.as_bytes()).map_err(ApiError::internal)).await?
    }

    /// Checks a password against a stored hash; `None` (no such account, or one without a
    /// password yet) checks against a dummy hash and answers false, taking the same time.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, ApiError> {
        let blocks = self.blocks.clone();
        self.run(move || {
            let known = stored.is_some();
            let hash = stored.unwrap_or_else(|| DUMMY_HASH.clone());
            matches(&blocks, password.as_bytes(), &hash) && known
        })
        .await
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(work).await.map_err(ApiError::internal)
    }
}

#[cfg(test)]
mod tests {
    use argon2::PasswordHasher;

    use super::*;

    #[test]
    fn a_new_hash_verifies_and_a_wrong_password_does_not() {
        let blocks = Blocks::default();
        let stored = hash_new(&blocks, b"correct horse").unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{stored}");
        assert!(matches(&blocks, b"correct horse", &stored));
        assert!(!matches(&blocks, b"correct horsf", &stored));
        // Two hashes of one password differ (salted) and both verify.
        let again = hash_new(&blocks, b"correct horse").unwrap();
        assert_ne!(stored, again);
        assert!(matches(&blocks, b"correct horse", &again));
    }

    #[test]
    fn hashes_with_the_earlier_parameters_still_verify() {
        let earlier = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19 * 1024, 2, 1, None).unwrap())
            .hash_password(b"old password")
            .unwrap()
            .to_string();
        assert!(earlier.contains("m=19456,t=2,p=1"), "{earlier}");
        let blocks = Blocks::default();
        assert!(matches(&blocks, b"old password", &earlier));
        assert!(!matches(&blocks, b"old passwore", &earlier));
    }

    #[test]
    fn garbage_never_matches() {
        let blocks = Blocks::default();
        for stored in ["", "$argon2id$", "not a hash", "$argon2id$v=19$m=7168,t=5,p=1$AAAA$AAAA"] {
            assert!(!matches(&blocks, b"", stored), "{stored}");
        }
    }

    #[test]
    fn memory_is_kept_for_the_next_hash() {
        let blocks = Blocks::default();
        hash_new(&blocks, b"one").unwrap();
        hash_new(&blocks, b"two").unwrap();
        assert_eq!(blocks.0.lock().unwrap().len(), 1, "one block set, reused");
    }
}
