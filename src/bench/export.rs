//! The bench report as files other tools read, as hyperfine writes them: a Markdown table
//! (`--export-markdown`) and CSV (`--export-csv`), one row per method, followed in Markdown by
//! the speed-ups with both methods' frame counts.

use super::report::{frames_cell, BenchReport};
use std::fmt::Write as _;

/// The CSV header.
pub const CSV_HEADER: &str = "method,kind,jobs,videos,median_seconds,min_seconds,max_seconds,\
videos_per_second,frames_per_second,input_mb_per_second,cpu_seconds_per_video,peak_rss_mb,frames,\
command";

/// One row per method under [`CSV_HEADER`]; numbers unrounded, the command line quoted.
pub fn to_csv(report: &BenchReport) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    for m in &report.methods {
        let kind = serde_json::to_value(m.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{},{kind},{},{},{},{},{},{},{},{},{},{},{},{}",
            csv_field(&m.name),
            m.jobs,
            m.videos,
            m.seconds.median,
            m.seconds.min,
            m.seconds.max,
            m.videos_per_second,
            m.frames_per_second,
            m.input_mb_per_second,
            m.cpu_seconds_per_video,
            m.peak_rss_mb,
            m.frames,
            csv_field(&m.command.join(" ")),
        );
    }
    out
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// A Markdown table of the methods, then one of the speed-ups (when any).
pub fn to_markdown(report: &BenchReport) -> String {
    let s = &report.settings;
    let mut out = format!(
        "{} videos, {} jobs, cap {} s, {} repeat(s); {}\n\n",
        s.videos,
        s.jobs,
        s.max_seconds,
        s.repeat,
        report.machine.cpu_model.as_deref().unwrap_or("unknown CPU")
    );
    out.push_str(
        "| method | seconds (median) | min | max | videos/s | frames/s | CPU s/video | peak RSS MB | frames |\n",
    );
    out.push_str("|:---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for m in &report.methods {
        let _ = writeln!(
            out,
            "| `{}` | {:.3} | {:.3} | {:.3} | {:.2} | {:.1} | {:.2} | {:.0} | {} |",
            m.name,
            m.seconds.median,
            m.seconds.min,
            m.seconds.max,
            m.videos_per_second,
            m.frames_per_second,
            m.cpu_seconds_per_video,
            m.peak_rss_mb,
            m.frames
        );
    }
    if !report.ratios.is_empty() {
        out.push_str("\n| comparison | speed-up | frames (ours / theirs) |\n|:---|---:|---:|\n");
        for r in &report.ratios {
            let _ = writeln!(
                out,
                "| `{}` vs `{}` | {:.2}× | {} |",
                r.reelframe,
                r.anchor,
                r.speedup,
                frames_cell(r)
            );
        }
        if report.ratios.iter().any(|r| r.frames_differ) {
            out.push_str("\n≠ different frame counts: that comparison measures unequal work.\n");
        }
    }
    out
}
