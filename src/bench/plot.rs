//! `bench --plot FILE.svg`: a horizontal bar chart of videos per second per method, reelframe's
//! modes highlighted, the anchors in grey, each reelframe bar annotated with its speed-up against
//! its first anchor. Drawn with plotters' SVG backend, which writes text as `<text>` elements
//! (no fonts needed).

use super::report::{BenchReport, Kind};
use anyhow::{anyhow, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// reelframe's bars.
const HIGHLIGHT: RGBColor = RGBColor(0xd9, 0x5f, 0x02);
/// The anchors' bars.
const GREY: RGBColor = RGBColor(0xa0, 0xa0, 0xa0);

/// The annotation of each method's bar: its rate, and for reelframe the speed-up against the
/// first anchor it was compared with.
pub fn bar_labels(report: &BenchReport) -> Vec<String> {
    report
        .methods
        .iter()
        .map(|m| {
            let rate = format!("{:.2} videos/s", m.videos_per_second);
            match report.ratios.iter().find(|r| r.reelframe == m.name) {
                Some(r) => format!("{rate}, {:.2}× vs {}", r.speedup, r.anchor),
                None => rate,
            }
        })
        .collect()
}

/// Writes the chart of `report` to `path` as SVG.
pub fn write_svg(report: &BenchReport, path: &Path) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| anyhow!("drawing {}: {e}", path.display());
    let methods = &report.methods;
    let n = methods.len();
    let labels = bar_labels(report);
    let longest_name = methods.iter().map(|m| m.name.len()).max().unwrap_or(10);
    let longest_label = labels.iter().map(String::len).max().unwrap_or(10);
    let width = 900u32;
    let height = 110 + 42 * n as u32;
    let max_rate = methods
        .iter()
        .map(|m| m.videos_per_second)
        .fold(0.0f64, f64::max)
        .max(1e-6);
    // room right of the longest bar for its annotation (~7 px a character at 13 px)
    let plot_width = (width as f64 - 40.0 - 7.5 * longest_name as f64).max(200.0);
    let label_fraction = (7.0 * longest_label as f64 / plot_width).min(0.7);
    let x_max = max_rate / (1.0 - label_fraction);

    let root = SVGBackend::new(path, (width, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let s = &report.settings;
    let title = format!(
        "Videos per second ({} video{}, {} jobs, {} s cap)",
        s.videos,
        if s.videos == 1 { "" } else { "s" },
        s.jobs,
        s.max_seconds
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size((7.5 * longest_name as f64) as u32 + 16)
        .build_cartesian_2d(
            0.0..x_max,
            // one row a method; the names are drawn beside the rows below
            0.0..n as f64,
        )
        .map_err(|e| err(&e))?;
    // method i is drawn in row n-1-i so that the first method is at the top
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .y_labels(n)
        .y_labels(0)
        .y_label_formatter(&|_| String::new())
        .x_desc("videos per second, higher is better (orange: reelframe, grey: ffmpeg)")
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(|e| err(&e))?;
    chart
        .draw_series(methods.iter().enumerate().map(|(i, m)| {
            let row = n - 1 - i;
            let colour = match m.kind {
                Kind::Reelframe => HIGHLIGHT,
                Kind::Ffmpeg => GREY,
            };
            Rectangle::new(
                [
                    (0.0, row as f64 + 0.15),
                    (m.videos_per_second, row as f64 + 0.85),
                ],
                colour.filled(),
            )
        }))
        .map_err(|e| err(&e))?;
    let style =
        TextStyle::from(("sans-serif", 16).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    chart
        .draw_series(
            methods
                .iter()
                .zip(&labels)
                .enumerate()
                .map(|(i, (m, label))| {
                    let row = n - 1 - i;
                    EmptyElement::at((m.videos_per_second, row as f64 + 0.5))
                        + Text::new(label.clone(), (6, 0), style.clone())
                }),
        )
        .map_err(|e| err(&e))?;
    let name_style =
        TextStyle::from(("sans-serif", 16).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
    for (i, m) in methods.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(0.0, (n - 1 - i) as f64 + 0.5));
        root.draw(&Text::new(m.name.clone(), (x - 8, y), name_style.clone()))
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
