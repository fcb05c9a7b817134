//! Presigned GET URLs for pictures in S3, so a gallery of an S3 run opens in any browser for a
//! while without credentials.

use super::links::Presign;
use crate::pipeline::net::s3::{self, S3Location, S3Settings};
use crate::pipeline::net::FetchLimits;
use aws_sdk_s3::presigning::PresigningConfig;
use std::time::Duration;

/// The longest validity SigV4 allows.
pub const MAX_PRESIGN: Duration = Duration::from_secs(7 * 24 * 3600);

/// Signs with an S3 client built from the standard credential chain. Signing is local: no
/// request is sent.
pub struct S3Presigner {
    runtime: tokio::runtime::Runtime,
    client: aws_sdk_s3::Client,
}

impl S3Presigner {
    /// A presigner for `settings`; fails when no credentials can be found.
    pub fn new(settings: &S3Settings) -> Result<S3Presigner, crate::ItemError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| crate::ItemError::new(crate::ErrorKind::Internal, e.to_string()))?;
        let client = runtime.block_on(s3::client(settings, &FetchLimits::default()))?;
        Ok(S3Presigner { runtime, client })
    }
}

impl Presign for S3Presigner {
    fn presign(&self, location: &S3Location, expires: Duration) -> Option<String> {
        let config = PresigningConfig::expires_in(expires).ok()?;
        let request = self.runtime.block_on(
            self.client
                .get_object()
                .bucket(&location.bucket)
                .key(&location.key)
                .presigned(config),
        );
        request.ok().map(|r| r.uri().to_string())
    }
}
