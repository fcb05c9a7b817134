//! Retries with exponential backoff and full jitter, shared by fetches and uploads.
//!
//! Only transient failures retry: connection errors, timeouts, HTTP 408/429/5xx (and their S3
//! equivalents). A `Retry-After` the server sends is honoured. Every operation makes at most
//! `retries + 1` attempts and never waits past its deadline, so nothing retries forever and
//! nothing sleeps a fixed 10 s.

use crate::error::ItemError;
use std::future::Future;
use std::time::{Duration, Instant};

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so at most `retries + 1` attempts).
    pub retries: u32,
    /// The first backoff ceiling; it doubles per retry.
    pub base: Duration,
    /// The largest backoff ceiling.
    pub cap: Duration,
    /// The longest `Retry-After` honoured; a server asking for more fails the item now.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 3,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The ceiling of the wait before retry number `retry` (1-based): `base × 2^(retry-1)`,
    /// at most `cap`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32 << retry.saturating_sub(1).min(16);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The wait before retry number `retry`: uniformly random in `[0, ceiling]` ("full jitter"),
    /// or the server's `Retry-After` when it gave one.
    pub fn backoff(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(wait) => wait,
            None => {
                let ceiling = self.ceiling(retry).as_micros() as u64;
                Duration::from_micros(fastrand::u64(0..=ceiling))
            }
        }
    }
}

/// One failed attempt: the error, and whether trying again could help.
#[derive(Debug, Clone)]
pub struct Failure {
    /// What went wrong.
    pub error: ItemError,
    /// Transient (connection, timeout, 408/429/5xx): worth retrying.
    pub retryable: bool,
    /// The server's `Retry-After`, if it sent one.
    pub retry_after: Option<Duration>,
}

impl Failure {
    /// A failure that retrying cannot fix.
    pub fn permanent(error: ItemError) -> Failure {
        Failure {
            error,
            retryable: false,
            retry_after: None,
        }
    }

    /// A transient failure.
    pub fn transient(error: ItemError) -> Failure {
        Failure {
            error,
            retryable: true,
            retry_after: None,
        }
    }
}

/// Runs `attempt` until it succeeds, fails permanently, runs out of retries, or the next wait
/// would end past `deadline`. Returns the value and the number of attempts made; an error carries
/// its attempt count (see [`ItemError::attempts`]).
pub async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    deadline: Instant,
    what: &str,
    mut attempt: F,
) -> Result<(T, u32), ItemError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let failure = match attempt(attempts).await {
            Ok(value) => return Ok((value, attempts)),
            Err(failure) => failure,
        };
        if !failure.retryable || attempts > policy.retries {
            return Err(failure.error.after_attempts(attempts));
        }
        if let Some(asked) = failure.retry_after {
            if asked > policy.max_retry_after {
                let mut error = failure.error;
                error.message = format!(
                    "{} (the server asked to retry after {} s, more than the {} s reelframe waits)",
                    error.message,
                    asked.as_secs(),
                    policy.max_retry_after.as_secs()
                );
                return Err(error.after_attempts(attempts));
            }
        }
        let wait = policy.backoff(attempts, failure.retry_after);
        if Instant::now() + wait >= deadline {
            let mut error = failure.error;
            error.message = format!(
                "{} (no time left before the deadline for another attempt)",
                error.message
            );
            return Err(error.after_attempts(attempts));
        }
        tracing::debug!(
            attempt = attempts,
            wait_ms = wait.as_millis() as u64,
            "{what}: {}; retrying",
            failure.error
        );
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            retries: 3,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(4),
            max_retry_after: Duration::from_secs(2),
        }
    }

    #[test]
    fn ceilings_double_up_to_the_cap_and_jitter_stays_below() {
        let p = policy();
        let ceilings: Vec<u128> = (1..=5).map(|r| p.ceiling(r).as_millis()).collect();
        assert_eq!(ceilings, vec![1, 2, 4, 4, 4]);
        for retry in 1..=5 {
            for _ in 0..100 {
                assert!(p.backoff(retry, None) <= p.ceiling(retry));
            }
        }
        assert_eq!(
            p.backoff(1, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
    }

    fn run<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn transient_failures_retry_at_most_n_times_and_count_attempts() {
        let deadline = Instant::now() + Duration::from_secs(10);
        let calls = std::cell::Cell::new(0);
        let out: Result<((), u32), ItemError> = run(with_retries(&policy(), deadline, "t", |_| {
            calls.set(calls.get() + 1);
            async {
                Err(Failure::transient(ItemError::new(
                    ErrorKind::HttpStatus,
                    "503",
                )))
            }
        }));
        let err = out.unwrap_err();
        assert_eq!((calls.get(), err.attempts), (4, Some(4)));
        assert_eq!(err.kind, ErrorKind::HttpStatus);
    }

    #[test]
    fn permanent_failures_do_not_retry_and_success_reports_attempts() {
        let deadline = Instant::now() + Duration::from_secs(10);
        let err = run(with_retries(&policy(), deadline, "t", |_| async {
            Err::<(), _>(Failure::permanent(ItemError::new(
                ErrorKind::NotFound,
                "404",
            )))
        }))
        .unwrap_err();
        assert_eq!(err.attempts, Some(1));
        let ok = run(with_retries(&policy(), deadline, "t", |n| async move {
            if n < 3 {
                Err(Failure::transient(ItemError::new(
                    ErrorKind::HttpStatus,
                    "500",
                )))
            } else {
                Ok(n * 10)
            }
        }))
        .unwrap();
        assert_eq!(ok, (30, 3));
    }

    #[test]
    fn a_retry_after_beyond_the_limit_or_the_deadline_fails_now() {
        let far = Instant::now() + Duration::from_secs(10);
        let too_long = Failure {
            retry_after: Some(Duration::from_secs(5)),
            ..Failure::transient(ItemError::new(ErrorKind::HttpStatus, "429"))
        };
        let err = run(with_retries(&policy(), far, "t", |_| {
            let f = too_long.clone();
            async move { Err::<(), _>(f) }
        }))
        .unwrap_err();
        assert_eq!(err.attempts, Some(1));
        assert!(err.message.contains("retry after 5 s"), "{}", err.message);
        let near = Instant::now() + Duration::from_millis(500);
        let asks_one_second = Failure {
            retry_after: Some(Duration::from_secs(1)),
            ..Failure::transient(ItemError::new(ErrorKind::HttpStatus, "503"))
        };
        let err = run(with_retries(&policy(), near, "t", |_| {
            let f = asks_one_second.clone();
            async move { Err::<(), _>(f) }
        }))
        .unwrap_err();
        assert_eq!(err.attempts, Some(1));
        assert!(err.message.contains("deadline"), "{}", err.message);
    }
}
