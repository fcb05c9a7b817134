/*!
`reelframe gallery`: a static, offline review site for a run's records. One row per video
(thumbnail, contact sheet, status or error kind, duration, near-duplicate group), a page per
video with every frame, a page per near-duplicate group, and a run of pages per list (every
video, each status, each error kind, the groups), so filtering and paging need no script and
10,000 videos open as fast as 100: pictures load lazily, with their sizes reserved.

Two passes over the records, each streaming: [`scan`] counts the lists and groups the videos;
the second writes the pages, holding one page of rows per list at a time.

```text
 gallery/
 ├── index.html            every video, page 1 (the other pages: p/all-2.html …)
 ├── p/ok-1.html …         one run of pages per status and per error kind (p/kind-timeout-1.html)
 ├── p/groups-1.html …     the near-duplicate groups
 ├── v/1.html …            one page per record, in record order: facts, contact sheet, frames
 └── g/1.html …            one page per group: its members and how much of each matches
```
*/

pub mod html;
pub mod links;
pub mod presign;
pub mod record;
pub mod scan;
pub mod series;

use crate::pipeline::input::JsonLine;
use html::{MemberView, RowView, Shown, Tab};
use links::Links;
use maud::Markup;
use record::{Picture, ShownRecord};
use scan::{GroupsFrom, Membership, Scan};
use series::Series;
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};

/// The file that marks a folder as a gallery, so a rerun may replace its pages.
pub const MARKER: &str = ".reelframe-gallery";

/// Why a gallery could not be written.
#[derive(Debug, thiserror::Error)]
pub enum GalleryError {
    /// Reading records or writing pages failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// The output folder holds other files.
    #[error("{0} is not empty and is not a reelframe gallery: give --out a new or empty folder")]
    NotAGallery(PathBuf),
    /// A groups file line is not a group.
    #[error(
        "{at}: not a group from `reelframe similar` ({why}); pass the file `similar -o` wrote"
    )]
    Groups {
        /// `FILE:LINE`.
        at: String,
        /// What is wrong.
        why: String,
    },
}

impl GalleryError {
    fn io(path: &Path, source: io::Error) -> GalleryError {
        GalleryError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// How the gallery is laid out.
#[derive(Debug, Clone)]
pub struct GalleryOptions {
    /// The title on every page.
    pub title: String,
    /// Rows per page.
    pub page_size: usize,
    /// Where near-duplicate groups come from.
    pub groups: GroupsFrom,
}

/// What was written.
#[derive(Debug, Default)]
pub struct GalleryReport {
    /// Records shown.
    pub records: usize,
    /// Records per list.
    pub counts: BTreeMap<Series, usize>,
    /// HTML files written.
    pub pages: usize,
    /// Near-duplicate groups.
    pub groups: usize,
    /// Lines that were not records: how many, and the first.
    pub skipped: (usize, Option<String>),
    /// Local pictures the records name that are not on disk: how many, and the first.
    pub missing: (usize, Option<String>),
    /// Pictures in S3 shown without a link (no --public-url-base or --presign).
    pub unlinked: usize,
}

impl GalleryReport {
    /// "12 videos: 10 ok, 2 failed, 0 duplicate; 1 near-duplicate group".
    pub fn summary(&self) -> String {
        let count = |s: Series| self.counts.get(&s).copied().unwrap_or(0);
        format!(
            "{} videos: {} ok, {} failed, {} duplicate; {} near-duplicate group{}",
            self.records,
            count(Series::Ok),
            count(Series::Failed),
            count(Series::Duplicate),
            self.groups,
            if self.groups == 1 { "" } else { "s" }
        )
    }
}

/// Makes `root` ready for a gallery: creates it, or empties the pages of an earlier gallery
/// there; refuses a folder that holds anything else. Returns its canonical path.
pub fn prepare(root: &Path) -> Result<PathBuf, GalleryError> {
    std::fs::create_dir_all(root).map_err(|e| GalleryError::io(root, e))?;
    let marker = root.join(MARKER);
    let empty = std::fs::read_dir(root)
        .map_err(|e| GalleryError::io(root, e))?
        .next()
        .is_none();
    if !empty && !marker.is_file() {
        return Err(GalleryError::NotAGallery(root.to_path_buf()));
    }
    for dir in ["p", "v", "g"] {
        match std::fs::remove_dir_all(root.join(dir)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(GalleryError::io(&root.join(dir), e))
            }
            _ => {}
        }
        std::fs::create_dir(root.join(dir)).map_err(|e| GalleryError::io(root, e))?;
    }
    std::fs::write(
        &marker,
        b"written by reelframe gallery; its pages are replaced on a rerun\n",
    )
    .map_err(|e| GalleryError::io(&marker, e))?;
    root.canonicalize().map_err(|e| GalleryError::io(root, e))
}

/// One list's pages, written as they fill.
struct Pages {
    series: Series,
    page: usize,
    total: usize,
    rows: Vec<Markup>,
}

/// What every page shares.
struct Site<'a> {
    root: &'a Path,
    options: &'a GalleryOptions,
    scan: &'a Scan,
    summary: String,
    pages_written: usize,
}

impl Site<'_> {
    fn tabs(&self, current: Option<&Series>) -> Vec<Tab> {
        let mut order: Vec<(&Series, usize)> =
            self.scan.counts.iter().map(|(s, &n)| (s, n)).collect();
        // the enum's order (all, ok, failed, the kinds, duplicate, groups), the kinds by size;
        // the sort is stable, so equal sizes keep the map's (alphabetical) order
        let rank = |s: &Series| match s {
            Series::All | Series::Ok => 0,
            Series::Failed => 1,
            Series::Kind(_) => 2,
            Series::Duplicate => 3,
            Series::Groups => 4,
        };
        order.sort_by_key(|&(s, n)| (rank(s), std::cmp::Reverse(if s.is_kind() { n } else { 0 })));
        if !order.iter().any(|(s, _)| **s == Series::All) {
            order.insert(0, (&Series::All, 0));
        }
        order
            .into_iter()
            .map(|(series, count)| Tab {
                label: series.to_string(),
                count,
                href: series.page_path(1),
                current: current == Some(series),
                kind: series.is_kind(),
            })
            .collect()
    }

    fn write(
        &mut self,
        relative: &str,
        title: &str,
        current: Option<&Series>,
        body: Markup,
    ) -> Result<(), GalleryError> {
        let depth = relative.matches('/').count();
        let header = html::header(&self.options.title, &self.summary, &self.tabs(current));
        let text = html::page(title, depth, header, body);
        let path = self.root.join(relative);
        std::fs::write(&path, text).map_err(|e| GalleryError::io(&path, e))?;
        self.pages_written += 1;
        Ok(())
    }

    fn flush(&mut self, pages: &mut Pages) -> Result<(), GalleryError> {
        let series = pages.series.clone();
        let pager = html::pager(pages.page, pages.total, |n| series.page_path(n));
        let rows = std::mem::take(&mut pages.rows);
        let body = maud::html! { (pager) @for r in &rows { (r) } (pager) };
        let title = format!("{} · {series} · page {}", self.options.title, pages.page);
        self.write(&series.page_path(pages.page), &title, Some(&series), body)?;
        pages.page += 1;
        Ok(())
    }
}

/// Writes the gallery of the records in `paths` into `root` (from [`prepare`]).
pub fn build(
    paths: &[PathBuf],
    root: &Path,
    links: &Links,
    options: &GalleryOptions,
) -> Result<GalleryReport, GalleryError> {
    let scan = scan::scan(paths, &options.groups)?;
    let mut report = GalleryReport {
        records: scan.records,
        counts: scan.counts.clone(),
        groups: scan.group_count,
        skipped: scan.skipped.clone(),
        ..Default::default()
    };
    let mut site = Site {
        root,
        options,
        scan: &scan,
        summary: report.summary(),
        pages_written: 0,
    };
    let page_size = options.page_size.max(1);
    let mut lists: HashMap<Series, Pages> = scan
        .counts
        .iter()
        .filter(|(s, _)| **s != Series::Groups)
        .map(|(s, &n)| {
            let pages = Pages {
                series: s.clone(),
                page: 1,
                total: n.div_ceil(page_size).max(1),
                rows: Vec::new(),
            };
            (s.clone(), pages)
        })
        .collect();
    let mut members: BTreeMap<usize, Vec<Option<MemberView>>> = BTreeMap::new();
    let mut row_no = 0;
    for snapshot in &scan.files {
        let mut lines = scan::open(snapshot)?;
        while let Some((_, line)) = lines
            .next_line()
            .map_err(|e| GalleryError::io(&snapshot.path, e))?
        {
            // lines the scan skipped are skipped again: they are counted in `report.skipped`
            let JsonLine::Object(map) = line else {
                continue;
            };
            let Some(record) = ShownRecord::from_map(map) else {
                continue;
            };
            row_no += 1;
            let membership = (record.status() == "ok")
                .then(|| scan.groups.get(&record.content_id))
                .flatten();
            let view = row_view(&record, row_no, links, membership, &mut report);
            write_video_page(&mut site, row_no, &record, &view, links, &mut report)?;
            let markup = html::row(&view);
            for series in Series::of(record.status(), record.error_kind()) {
                let Some(pages) = lists.get_mut(&series) else {
                    continue;
                };
                pages.rows.push(markup.clone());
                if pages.rows.len() == page_size {
                    site.flush(pages)?;
                }
            }
            if let Some(m) = membership {
                let slots = members
                    .entry(m.group)
                    .or_insert_with(|| std::iter::repeat_with(|| None).take(m.size).collect());
                if let Some(slot @ None) = slots.get_mut(m.position) {
                    *slot = Some(MemberView {
                        row: view,
                        shares: m.shares.clone(),
                    });
                }
            }
        }
    }
    let mut all = lists.remove(&Series::All).unwrap_or(Pages {
        series: Series::All,
        page: 1,
        total: 1,
        rows: Vec::new(),
    });
    if !all.rows.is_empty() || all.page == 1 {
        site.flush(&mut all)?;
    }
    let mut rest: Vec<Pages> = lists.into_values().collect();
    rest.sort_by(|a, b| a.series.cmp(&b.series));
    for mut pages in rest {
        if !pages.rows.is_empty() {
            site.flush(&mut pages)?;
        }
    }
    write_groups(&mut site, members, page_size)?;
    report.pages = site.pages_written;
    Ok(report)
}

/// A picture's link and size, counting pictures that are missing or cannot be linked.
fn shown(picture: &Picture, links: &Links, report: &mut GalleryReport) -> Option<Shown> {
    let Some(href) = links.href(&picture.uri) else {
        if picture.uri.starts_with("s3://") {
            report.unlinked += 1;
        }
        return None;
    };
    if !href.present {
        report.missing.0 += 1;
        report.missing.1.get_or_insert_with(|| picture.uri.clone());
    }
    Some(Shown {
        href,
        width: picture.width,
        height: picture.height,
    })
}

fn row_view(
    record: &ShownRecord,
    row_no: usize,
    links: &Links,
    membership: Option<&Membership>,
    report: &mut GalleryReport,
) -> RowView {
    let mut facts = Vec::new();
    if let Some(video) = record.video() {
        if let Some(ms) = video.duration_ms {
            facts.push(format!("{:.1} s", ms as f64 / 1000.0));
        }
        if let (Some(w), Some(h)) = (video.display_width, video.display_height) {
            facts.push(format!("{w}×{h}"));
        }
        if let Some(codec) = &video.codec {
            facts.push(codec.clone());
        }
    }
    if !record.frames().is_empty() {
        facts.push(format!("{} frames", record.frames().len()));
    }
    RowView {
        page: format!("v/{row_no}.html"),
        content_id: record.content_id.clone(),
        status: record.status().to_string(),
        error: record
            .error
            .as_ref()
            .map(|e| (e.kind.clone(), e.message.clone())),
        facts,
        thumbnail: record
            .thumbnail
            .as_ref()
            .and_then(|p| shown(p, links, report)),
        contact_sheet: record.contact_sheet().and_then(|p| shown(p, links, report)),
        group: membership.map(|m| (m.group, m.size, format!("g/{}.html", m.group))),
        video: record
            .video_url
            .as_deref()
            .and_then(|u| links.href(u))
            .map(|h| h.url),
    }
}

fn write_video_page(
    site: &mut Site,
    row_no: usize,
    record: &ShownRecord,
    view: &RowView,
    links: &Links,
    report: &mut GalleryReport,
) -> Result<(), GalleryError> {
    let mut facts = vec![
        ("content_id".to_string(), record.content_id.clone()),
        ("status".to_string(), record.status().to_string()),
    ];
    if let Some(url) = &record.video_url {
        facts.push(("video_url".to_string(), url.clone()));
    }
    if let Some(v) = record.video() {
        if let Some(fps) = v.fps {
            facts.push(("fps".to_string(), format!("{fps:.3}")));
        }
    }
    let frames: Vec<html::FrameView> = record
        .frames()
        .iter()
        .enumerate()
        .filter_map(|(i, frame)| {
            let picture = shown(&frame.picture, links, report)?;
            let mut caption = format!("#{i}");
            if let Some(ms) = frame.pts_ms {
                caption.push_str(&format!(" · {:.3} s", ms as f64 / 1000.0));
            }
            if let Some(q) = frame.pdq_quality {
                caption.push_str(&format!(" · PDQ quality {q}"));
            }
            Some(html::FrameView { picture, caption })
        })
        .collect();
    let around = html::Around {
        list: Series::All.page_path(row_no.div_ceil(site.options.page_size.max(1))),
        prev: (row_no > 1).then(|| format!("v/{}.html", row_no - 1)),
        next: (row_no < site.scan.records).then(|| format!("v/{}.html", row_no + 1)),
    };
    let title = format!("{} · {}", site.options.title, record.content_id);
    let body = html::video_body(view, &around, &facts, &frames);
    site.write(&view.page, &title, None, body)
}

fn write_groups(
    site: &mut Site,
    members: BTreeMap<usize, Vec<Option<MemberView>>>,
    page_size: usize,
) -> Result<(), GalleryError> {
    let total = members.len().div_ceil(page_size).max(1);
    let mut pages = Pages {
        series: Series::Groups,
        page: 1,
        total,
        rows: Vec::new(),
    };
    for (number, slots) in members {
        let present: Vec<MemberView> = slots.into_iter().flatten().collect();
        let href = format!("g/{number}.html");
        pages.rows.push(html::group_row(number, &href, &present));
        let title = format!("{} · group {number}", site.options.title);
        site.write(
            &href,
            &title,
            Some(&Series::Groups),
            html::group_body(&present),
        )?;
        if pages.rows.len() == page_size {
            site.flush(&mut pages)?;
        }
    }
    // the tab links to the first page, so it exists even when no member was among the records
    if !pages.rows.is_empty() || (pages.page == 1 && site.scan.group_count > 0) {
        site.flush(&mut pages)?;
    }
    Ok(())
}
