//! The checked `gallery` configuration.

use super::s3_settings;
use crate::cli::GalleryArgs;
use crate::gallery::presign::MAX_PRESIGN;
use crate::gallery::scan::GroupsFrom;
use crate::gallery::GalleryOptions;
use crate::pipeline::net::s3::S3Settings;
use crate::similar::MatchRule;
use anyhow::{bail, Result};
use std::path::PathBuf;
use std::time::Duration;

/// How pictures in S3 are linked.
#[derive(Debug, Clone)]
pub enum LinkMode {
    /// Not at all: the gallery says how to get links.
    None,
    /// `s3://bucket/key` → `BASE/key`.
    PublicBase(String),
    /// Presigned with these settings, for this long.
    Presign(S3Settings, Duration),
}

/// A checked `gallery` configuration.
#[derive(Debug, Clone)]
pub struct GalleryConfig {
    /// The record files, local.
    pub records: Vec<PathBuf>,
    /// The gallery's folder.
    pub out: PathBuf,
    /// Layout and groups.
    pub options: GalleryOptions,
    /// How pictures in S3 are linked.
    pub links: LinkMode,
}

impl GalleryConfig {
    /// Checks `args` into a configuration.
    pub fn from_args(args: &GalleryArgs) -> Result<GalleryConfig> {
        for path in &args.records {
            let text = path.to_string_lossy();
            if text.contains("://") {
                bail!(
                    "gallery reads local record files: copy {text} here first (e.g. `aws s3 cp {text} .`)"
                );
            }
            if !path.is_file() {
                bail!(
                    "{}: no such record file (give the records.jsonl that extract wrote)",
                    path.display()
                );
            }
        }
        let first = &args.records[0];
        let out = match &args.out {
            Some(out) => out.clone(),
            None => first
                .parent()
                .map(|p| p.join("gallery"))
                .unwrap_or_else(|| PathBuf::from("gallery")),
        };
        if args.records.iter().any(|r| r == &out) {
            bail!("--out {} is a records file: give a folder", out.display());
        }
        let links = match (&args.s3.public_url_base, args.presign) {
            (Some(base), _) => LinkMode::PublicBase(base.trim_end_matches('/').to_string()),
            (None, Some(expires)) if expires > MAX_PRESIGN => {
                bail!(
                    "--presign {} is longer than S3 allows: at most 7d",
                    humantime::format_duration(expires)
                )
            }
            (None, Some(_)) if args.s3.no_sign_request => {
                bail!("--presign needs credentials to sign with: drop --no-sign-request, or use --public-url-base for a public bucket")
            }
            (None, Some(expires)) => LinkMode::Presign(s3_settings(&args.s3), expires),
            (None, None) => LinkMode::None,
        };
        let groups = match (&args.groups, args.no_groups) {
            (Some(path), _) => GroupsFrom::File(path.clone()),
            (None, true) => GroupsFrom::Off,
            (None, false) => GroupsFrom::Compute(MatchRule::default()),
        };
        let title = args.title.clone().unwrap_or_else(|| {
            format!(
                "reelframe · {}",
                first
                    .file_name()
                    .map_or_else(|| first.to_string_lossy(), |n| n.to_string_lossy())
            )
        });
        Ok(GalleryConfig {
            records: args.records.clone(),
            out,
            options: GalleryOptions {
                title,
                page_size: args.page_size as usize,
                groups,
            },
            links,
        })
    }
}
