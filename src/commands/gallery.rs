//! `reelframe gallery`: a static review site for a run's records.

use crate::config::{GalleryConfig, LinkMode};
use crate::gallery::links::{Links, S3Links};
use crate::gallery::presign::S3Presigner;
use crate::gallery::{self, GalleryReport};
use anyhow::Context;
use std::time::Instant;

/// Runs `gallery`; exit code 0 once the pages are written (warnings say what is missing).
pub fn run(config: &GalleryConfig) -> anyhow::Result<i32> {
    let started = Instant::now();
    let root = gallery::prepare(&config.out)?;
    let s3 = match &config.links {
        LinkMode::None => S3Links::None,
        LinkMode::PublicBase(base) => S3Links::PublicBase(base.clone()),
        LinkMode::Presign(settings, expires) => {
            let signer = S3Presigner::new(settings).context("--presign")?;
            S3Links::Presigned(Box::new(signer), *expires)
        }
    };
    let links = Links::new(root.clone(), s3);
    let report = gallery::build(&config.records, &root, &links, &config.options)?;
    eprintln!(
        "gallery: {}; {} pages in {:.1} s; open {}",
        report.summary(),
        report.pages,
        started.elapsed().as_secs_f64(),
        root.join("index.html").display()
    );
    warn(&report);
    Ok(0)
}

fn warn(report: &GalleryReport) {
    if let (n @ 1.., Some(first)) = &report.skipped {
        eprintln!(
            "gallery: {} not records and were left out (first: {first})",
            plural(*n, "line is", "lines are")
        );
    }
    if let (n @ 1.., Some(first)) = &report.missing {
        eprintln!(
            "gallery: {} not on disk (first: {first}); \
             were frames moved or deleted after the run?",
            plural(
                *n,
                "picture named by the records is",
                "pictures named by the records are"
            )
        );
    }
    if report.unlinked > 0 {
        eprintln!(
            "gallery: {} in S3 and shown without a link: pass --presign 1h (signed \
             with your credentials) or --public-url-base BASE",
            plural(report.unlinked, "picture is", "pictures are")
        );
    }
}

/// "1 line is", "2 lines are".
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
