//! `reelframe similar`: near-duplicate groups (or matches against known videos) from records.

use crate::config::SimilarConfig;
use crate::files::{AtomicFile, Durability};
use crate::similar::{self, VideoHashes};
use anyhow::Context;
use serde_json::{json, Value};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::time::Instant;

/// What reading the records found.
#[derive(Default)]
struct Loaded {
    videos: Vec<VideoHashes>,
    records: usize,
    unhashed: usize,
    duplicates: usize,
    /// Videos with hashes but no mirror hashes (records written before `pdq_mirror`).
    unmirrored: usize,
}

fn load(paths: &[&Path], quality: u8) -> anyhow::Result<Loaded> {
    let mut loaded = Loaded::default();
    for path in paths {
        let file = File::open(path).with_context(|| format!("reading {}", path.display()))?;
        for (n, line) in BufReader::new(file).lines().enumerate() {
            let line = line.with_context(|| format!("reading {}", path.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            let record: Value = serde_json::from_str(&line)
                .with_context(|| format!("{}:{}: not a JSON record", path.display(), n + 1))?;
            loaded.records += 1;
            if record.get("status").and_then(Value::as_str) != Some("ok") {
                continue;
            }
            match VideoHashes::from_record(&record, quality) {
                Some(v) => loaded.videos.push(v),
                None => loaded.unhashed += 1,
            }
        }
    }
    loaded.duplicates = similar::keep_first_of_each_id(&mut loaded.videos);
    loaded.unmirrored = loaded
        .videos
        .iter()
        .filter(|v| !v.hashes.is_empty() && v.mirrors.is_empty())
        .count();
    Ok(loaded)
}

/// Runs `similar`; exit code 0.
pub fn run(config: &SimilarConfig) -> anyhow::Result<i32> {
    let started = Instant::now();
    let paths: Vec<&Path> = config.records.iter().map(|p| p.as_path()).collect();
    let loaded = load(&paths, config.rule.quality)?;
    let mut unmirrored = loaded.unmirrored;
    let mut lines = Vec::new();
    let summary = match &config.against {
        None => {
            let (groups, stats) = similar::group(&loaded.videos, &config.rule);
            for g in &groups {
                lines.push(serde_json::to_string(g)?);
            }
            let grouped: usize = groups.iter().map(|g| g.members.len()).sum();
            format!(
                "{} groups holding {grouped} of {} hashed videos ({} candidate pairs compared, {} matching pairs, {} of them only mirrored)",
                groups.len(),
                stats.videos,
                stats.candidates,
                stats.matches,
                stats.mirrored_matches
            )
        }
        Some(known_path) => {
            let known = load(&[known_path.as_path()], config.rule.quality)?;
            unmirrored += known.unmirrored;
            let (found, stats) = similar::against(&loaded.videos, &known.videos, &config.rule);
            for (i, matches) in &found {
                let v = &loaded.videos[*i];
                lines.push(
                    json!({"content_id": v.content_id, "frames": v.hashes.len(), "matches": matches})
                        .to_string(),
                );
            }
            format!(
                "{} of {} hashed videos match {} known videos ({} candidate pairs compared, {} matching pairs, {} of them only mirrored)",
                found.len(),
                stats.videos,
                known.videos.len(),
                stats.candidates,
                stats.matches,
                stats.mirrored_matches
            )
        }
    };
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    match &config.out {
        Some(path) => {
            let mut out =
                AtomicFile::create(path).with_context(|| format!("writing {}", path.display()))?;
            out.write_all(text.as_bytes())?;
            out.commit(Durability::Synced)?;
        }
        None => io::stdout().lock().write_all(text.as_bytes())?,
    }
    eprintln!(
        "similar: {summary}, from {} records in {:.1} s",
        loaded.records,
        started.elapsed().as_secs_f64()
    );
    if loaded.unhashed > 0 {
        eprintln!(
            "similar: {} ok records carry no PDQ hashes and were left out; re-extract them with --hashes pdq",
            loaded.unhashed
        );
    }
    if config.rule.mirrors && unmirrored > 0 {
        eprintln!(
            "similar: {unmirrored} records carry no mirror hashes (pdq_mirror, from an older reelframe), so two of them never match mirrored; re-extract them to catch mirrored reposts"
        );
    }
    if loaded.duplicates > 0 {
        eprintln!(
            "similar: {} records repeat a content_id; only the first of each was used",
            loaded.duplicates
        );
    }
    Ok(0)
}
