//! `http://` and `https://` videos, fetched with reqwest (rustls) under [`FetchLimits`].

use super::body::{fetch_with_retries, read_body};
use super::{Fetched, Source, VideoUrl};
use crate::error::{error_chain, ErrorKind, ItemError};
use crate::pipeline::net::guard::{self, AddressRefused, GuardedResolver};
use crate::pipeline::net::retry::Failure;
use crate::pipeline::net::FetchLimits;
use futures_util::future::BoxFuture;
use std::time::{Duration, Instant};

/// Fetches videos over HTTP(S).
#[derive(Clone)]
pub struct HttpSource {
    client: reqwest::Client,
    limits: FetchLimits,
}

/// The User-Agent reelframe sends.
pub const USER_AGENT: &str = concat!("reelframe/", env!("CARGO_PKG_VERSION"));

impl HttpSource {
    /// A source with its own connection pool, following at most `limits.max_redirects`
    /// redirects, only to `http`/`https` URLs, and refusing loops. Every address it connects to
    /// passes `limits.private_addresses` ([`guard`]): names where they are resolved, IP literals
    /// before the first request and before every redirect is followed.
    pub fn new(limits: FetchLimits) -> Result<HttpSource, reqwest::Error> {
        let max = limits.max_redirects;
        let policy = limits.private_addresses;
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if !matches!(attempt.url().scheme(), "http" | "https") {
                let scheme = attempt.url().scheme().to_string();
                return attempt.error(format!("redirect to a {scheme}:// URL refused"));
            }
            if let Err(refused) = guard::check_url(attempt.url(), policy) {
                return attempt.error(refused);
            }
            if attempt.previous().iter().any(|seen| seen == attempt.url()) {
                let url = attempt.url().to_string();
                return attempt.error(format!("redirect loop back to {url}"));
            }
            if attempt.previous().len() > max {
                return attempt.error(format!("more than --max-redirects {max} redirects"));
            }
            attempt.follow()
        });
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(limits.connect_timeout)
            .redirect(redirects)
            .dns_resolver(GuardedResolver { policy })
            .build()?;
        Ok(HttpSource { client, limits })
    }

    /// The limits this source fetches under.
    pub fn limits(&self) -> &FetchLimits {
        &self.limits
    }

    async fn attempt(&self, url: &str) -> Result<Fetched, Failure> {
        let limits = &self.limits;
        if let Ok(parsed) = reqwest::Url::parse(url) {
            guard::check_url(&parsed, limits.private_addresses)
                .map_err(|refused| Failure::permanent(not_allowed(url, false, &refused)))?;
        }
        let started = Instant::now();
        let read_timeout = limits.read_timeout;
        let response = match tokio::time::timeout(read_timeout, self.client.get(url).send()).await {
            Err(_) => {
                return Err(Failure::transient(ItemError::new(
                    ErrorKind::ReadTimeout,
                    format!(
                        "no response within --read-timeout {} from {url}",
                        secs(read_timeout)
                    ),
                )))
            }
            Ok(Err(err)) => return Err(request_failure(url, &err, limits)),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if !status.is_success() {
            return Err(status_failure(url, &response));
        }
        let expected = response.content_length();
        let body = read_body(url, expected, Box::pin(response.bytes_stream()), limits).await?;
        body.finish("http", 1, started.elapsed())
            .map_err(Failure::permanent)
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// A [`ErrorKind::UrlNotAllowed`] error for `url`; `redirected` when a redirect led there.
fn not_allowed(url: &str, redirected: bool, refused: &AddressRefused) -> ItemError {
    let via = if redirected {
        " a redirect leads to"
    } else {
        ""
    };
    ItemError::new(ErrorKind::UrlNotAllowed, format!("{url}:{via} {refused}"))
}

fn request_failure(url: &str, err: &reqwest::Error, limits: &FetchLimits) -> Failure {
    if let Some(refused) = guard::refusal_in(err) {
        return Failure::permanent(not_allowed(url, err.is_redirect(), refused));
    }
    let why = error_chain(err);
    if err.is_redirect() {
        return Failure::permanent(ItemError::new(
            ErrorKind::TooManyRedirects,
            format!("{url}: {why}"),
        ));
    }
    if err.is_connect() && err.is_timeout() {
        return Failure::transient(ItemError::new(
            ErrorKind::ConnectTimeout,
            format!(
                "{url}: no connection within --connect-timeout {}",
                secs(limits.connect_timeout)
            ),
        ));
    }
    if err.is_timeout() {
        return Failure::transient(ItemError::new(
            ErrorKind::ReadTimeout,
            format!("{url}: {why}"),
        ));
    }
    if err.is_builder() {
        return Failure::permanent(ItemError::new(
            ErrorKind::InvalidInput,
            format!("{url}: {why}"),
        ));
    }
    Failure::transient(ItemError::new(
        ErrorKind::ConnectionFailed,
        format!("{url}: {why}"),
    ))
}

/// Parses `Retry-After` given in seconds (an HTTP date falls back to the normal backoff).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?;
    let seconds: u64 = value.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

fn status_failure(url: &str, response: &reqwest::Response) -> Failure {
    let status = response.status();
    let code = status.as_u16();
    let message = format!("{url}: HTTP {status}");
    match code {
        404 | 410 => Failure::permanent(ItemError::new(ErrorKind::NotFound, message)),
        401 | 403 => Failure::permanent(ItemError::new(ErrorKind::AccessDenied, message)),
        408 | 429 | 500..=599 => Failure {
            retry_after: retry_after(response),
            ..Failure::transient(ItemError::new(ErrorKind::HttpStatus, message))
        },
        _ => Failure::permanent(ItemError::new(ErrorKind::HttpStatus, message)),
    }
}

impl Source for HttpSource {
    fn fetch<'a>(&'a self, url: &'a VideoUrl) -> BoxFuture<'a, Result<Fetched, ItemError>> {
        Box::pin(async move {
            let VideoUrl::Http(url) = url else {
                return Err(ItemError::new(
                    ErrorKind::UnsupportedScheme,
                    format!("{url} is not an http(s) URL"),
                ));
            };
            fetch_with_retries(url, &self.limits, || self.attempt(url)).await
        })
    }
}
