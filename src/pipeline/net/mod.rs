/*!
What remote sources and stores share: the limits every fetch and upload runs under, the retry
policy ([`retry`]), the addresses an HTTP(S) fetch may connect to ([`guard`]), the S3 client and
`s3://` locations ([`s3`]), and the small tokio runtime they run on. Sources (stage ②) and stores (stage ⑤) both build on this; it depends on neither.
*/

pub mod guard;
pub mod retry;
pub mod s3;

use retry::RetryPolicy;
use std::path::PathBuf;
use std::time::Duration;

/// Builds the tokio runtime that fetches and uploads run on (I/O only; decoding stays on rayon).
pub fn io_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("reelframe-io")
        .enable_all()
        .build()
}

/// Limits every remote fetch runs under; each breach is its own error kind.
#[derive(Debug, Clone)]
pub struct FetchLimits {
    /// Longest wait for a connection ([`crate::error::ErrorKind::ConnectTimeout`]).
    pub connect_timeout: Duration,
    /// Longest wait for the next byte, headers included ([`crate::error::ErrorKind::ReadTimeout`]).
    pub read_timeout: Duration,
    /// Longest time for a whole download, retries included ([`crate::error::ErrorKind::FetchDeadline`]).
    pub fetch_deadline: Duration,
    /// Largest video accepted, checked against Content-Length and while streaming
    /// ([`crate::error::ErrorKind::TooLarge`]).
    pub max_bytes: u64,
    /// Most redirects followed ([`crate::error::ErrorKind::TooManyRedirects`]).
    pub max_redirects: usize,
    /// Downloads up to this size stay in memory; larger ones spill to a temporary file.
    pub memory_limit: u64,
    /// Where spilled downloads go (the system temp dir when unset).
    pub spill_dir: Option<PathBuf>,
    /// How transient failures are retried.
    pub retry: RetryPolicy,
    /// Whether `http(s)://` fetches may connect to private addresses (loopback, RFC 1918, …);
    /// link-local, unspecified, multicast and broadcast ones are always refused
    /// ([`crate::error::ErrorKind::UrlNotAllowed`]). S3 endpoints are the user's own and not
    /// subject to it.
    pub private_addresses: guard::PrivateAddresses,
}

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            fetch_deadline: Duration::from_secs(300),
            max_bytes: 2 << 30,
            max_redirects: 5,
            memory_limit: 64 << 20,
            spill_dir: None,
            retry: RetryPolicy::default(),
            private_addresses: guard::PrivateAddresses::Allow,
        }
    }
}
