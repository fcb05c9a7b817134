//! What S3 sources and stores share: settings, the client, `s3://` URIs and error classes.
//!
//! Credentials and region come from the standard AWS chain (environment, profile, instance
//! role); `endpoint` (or `AWS_ENDPOINT_URL`) plus `path_style` reach any S3-compatible server.
//! The SDK's own retries are off: [`crate::pipeline::net::retry`] retries S3 calls under the same
//! policy as HTTP fetches, so `--retries` means one thing everywhere.

use crate::error::{ErrorKind, ItemError};
use crate::pipeline::net::retry::Failure;
use crate::pipeline::net::FetchLimits;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// How to reach S3.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Settings {
    /// An S3-compatible endpoint (`http://127.0.0.1:9000`); AWS itself when unset.
    pub endpoint: Option<String>,
    /// Address buckets as `endpoint/bucket/key` instead of `bucket.endpoint/key`.
    pub path_style: bool,
    /// The region; it wins over the environment and the profile (`us-east-1` when none names
    /// one).
    pub region: Option<String>,
    /// The profile to take credentials and region from, instead of `AWS_PROFILE`/`default`.
    pub profile: Option<String>,
    /// Send requests unsigned (public buckets): no credentials are looked for.
    pub unsigned: bool,
}

/// What to do when no credentials can be found, for messages.
pub const CREDENTIALS_FIX: &str = "set AWS_PROFILE (or pass --profile NAME), or AWS_ACCESS_KEY_ID \
     and AWS_SECRET_ACCESS_KEY; for a public bucket pass --no-sign-request";

/// Builds an S3 client from the standard credential chain and `settings`, with the connect and
/// read timeouts of `limits` and the SDK's retries turned off, and checks that credentials can
/// be found (unless `settings.unsigned`), so a missing key is one clear error before any
/// request rather than a connection failure per request.
///
/// The region is `settings.region`, else the environment (`AWS_REGION`, `AWS_DEFAULT_REGION`)
/// or the profile, else `us-east-1`; the instance metadata service is not asked for a region
/// (it is for credentials, as part of the standard chain, when nothing else provides them).
pub async fn client(
    settings: &S3Settings,
    limits: &FetchLimits,
) -> Result<aws_sdk_s3::Client, ItemError> {
    use aws_config::meta::region::RegionProviderChain;
    use aws_sdk_s3::config::ProvideCredentials;
    let mut profile_region = aws_config::profile::ProfileFileRegionProvider::builder();
    if let Some(profile) = &settings.profile {
        profile_region = profile_region.profile_name(profile);
    }
    let region = match &settings.region {
        Some(region) => RegionProviderChain::first_try(aws_config::Region::new(region.clone())),
        None => RegionProviderChain::first_try(
            aws_config::environment::EnvironmentVariableRegionProvider::new(),
        )
        .or_else(profile_region.build())
        .or_else(aws_config::Region::new("us-east-1")),
    };
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).region(region);
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    if settings.unsigned {
        loader = loader.no_credentials();
    }
    let shared = loader.load().await;
    if let (false, Some(provider)) = (settings.unsigned, shared.credentials_provider()) {
        if let Err(err) = provider.provide_credentials().await {
            return Err(credentials_error(settings, &err));
        }
    }
    let timeouts = aws_sdk_s3::config::timeout::TimeoutConfig::builder()
        .connect_timeout(limits.connect_timeout)
        .read_timeout(limits.read_timeout)
        .build();
    let mut config = aws_sdk_s3::config::Builder::from(&shared)
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .timeout_config(timeouts)
        .force_path_style(settings.path_style);
    if let Some(endpoint) = &settings.endpoint {
        config = config.endpoint_url(endpoint);
    }
    Ok(aws_sdk_s3::Client::from_conf(config.build()))
}

/// One line naming why credentials could not be loaded and what to do.
fn credentials_error(
    settings: &S3Settings,
    err: &aws_credential_types::provider::error::CredentialsError,
) -> ItemError {
    use aws_credential_types::provider::error::CredentialsError;
    let message = match (err, &settings.profile) {
        (CredentialsError::CredentialsNotLoaded(_), None) => {
            format!("no AWS credentials found: {CREDENTIALS_FIX}")
        }
        (_, Some(profile)) => {
            let cause = std::error::Error::source(err)
                .map(|s| s.to_string())
                .unwrap_or_else(|| err.to_string());
            format!(
                "AWS profile {profile:?} gives no credentials ({}): check ~/.aws/config and \
                 ~/.aws/credentials, or pass --no-sign-request for a public bucket",
                one_line(&cause)
            )
        }
        (_, None) => {
            let cause = std::error::Error::source(err)
                .map(|s| s.to_string())
                .unwrap_or_else(|| err.to_string());
            format!(
                "AWS credentials could not be loaded ({}): {CREDENTIALS_FIX}",
                one_line(&cause)
            )
        }
    };
    ItemError::new(ErrorKind::AccessDenied, message)
}

/// The first line of `text`, at most 300 characters.
fn one_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

/// An S3 client made on first use, so runs that never touch S3 never read the AWS config.
pub struct LazyClient {
    settings: S3Settings,
    limits: FetchLimits,
    cell: tokio::sync::OnceCell<Result<aws_sdk_s3::Client, ItemError>>,
}

impl LazyClient {
    /// A client to be built from `settings` and `limits` when first needed.
    pub fn new(settings: S3Settings, limits: FetchLimits) -> LazyClient {
        LazyClient {
            settings,
            limits,
            cell: tokio::sync::OnceCell::new(),
        }
    }

    /// A client that already exists.
    pub fn ready(client: aws_sdk_s3::Client, limits: FetchLimits) -> LazyClient {
        LazyClient {
            settings: S3Settings::default(),
            limits,
            cell: tokio::sync::OnceCell::new_with(Some(Ok(client))),
        }
    }

    /// The client, built now if this is the first call; an `access_denied` error when no
    /// credentials can be found (remembered: later calls fail the same way at once).
    pub async fn get(&self) -> Result<&aws_sdk_s3::Client, &ItemError> {
        self.cell
            .get_or_init(|| client(&self.settings, &self.limits))
            .await
            .as_ref()
    }
}

/// A bucket and a key (or key prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The key or prefix, without leading or trailing `/`.
    pub key: String,
}

impl S3Location {
    /// Parses `s3://bucket` or `s3://bucket/key…`.
    pub fn parse(uri: &str) -> Option<S3Location> {
        let rest = uri.strip_prefix("s3://")?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return None;
        }
        Some(S3Location {
            bucket: bucket.to_string(),
            key: key.trim_matches('/').to_string(),
        })
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.key.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.key)
        }
    }
}

/// The messages of `err` and its sources, joined by `: ` (repeats left out), on one line: what
/// people need, without the SDK's debug dump of the error structure.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    one_line(&parts.join(": "))
}

/// Classifies a failed S3 call: what kind of error, and whether retrying can help.
pub fn classify<E>(what: &str, err: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let detail = error_chain(err);
    match err {
        SdkError::TimeoutError(_) => Failure::transient(ItemError::new(
            ErrorKind::ReadTimeout,
            format!("{what}: timed out: {detail}"),
        )),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => Failure::transient(
            ItemError::new(ErrorKind::ConnectTimeout, format!("{what}: {detail}")),
        ),
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => Failure::transient(
            ItemError::new(ErrorKind::ConnectionFailed, format!("{what}: {detail}")),
        ),
        SdkError::ConstructionFailure(_) => Failure::permanent(ItemError::new(
            ErrorKind::InvalidInput,
            format!("{what}: {detail}"),
        )),
        _ => {
            let status = err.raw_response().map(|r| r.status().as_u16());
            let code = err.code().unwrap_or("");
            let message = match (status, code) {
                (Some(s), "") => format!("{what}: HTTP {s}"),
                (Some(s), c) => format!("{what}: {c} (HTTP {s})"),
                (None, c) => format!("{what}: {c} {detail}"),
            };
            match (code, status) {
                ("NoSuchKey" | "NoSuchBucket" | "NotFound", _) | (_, Some(404)) => {
                    Failure::permanent(ItemError::new(ErrorKind::NotFound, message))
                }
                (
                    "AccessDenied"
                    | "InvalidAccessKeyId"
                    | "SignatureDoesNotMatch"
                    | "ExpiredToken"
                    | "InvalidToken",
                    _,
                )
                | (_, Some(401 | 403)) => {
                    Failure::permanent(ItemError::new(ErrorKind::AccessDenied, message))
                }
                ("SlowDown" | "RequestTimeout" | "InternalError" | "ServiceUnavailable", _)
                | (_, Some(408 | 429 | 500..=599)) => {
                    Failure::transient(ItemError::new(ErrorKind::HttpStatus, message))
                }
                _ => Failure::permanent(ItemError::new(ErrorKind::HttpStatus, message)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_and_print() {
        let l = S3Location::parse("s3://b/p/q/").unwrap();
        assert_eq!((l.bucket.as_str(), l.key.as_str()), ("b", "p/q"));
        assert_eq!(l.to_string(), "s3://b/p/q");
        assert_eq!(S3Location::parse("s3://b").unwrap().to_string(), "s3://b");
        assert!(S3Location::parse("s3:///k").is_none());
        assert!(S3Location::parse("http://b/k").is_none());
    }
}
