//! The gallery's HTML, written with `maud`, which escapes every value it interpolates: content
//! IDs, messages and URLs from records are untrusted text. Pages carry no script at all, and a
//! Content-Security-Policy that forbids scripts, so a hostile record cannot run code in a
//! reviewer's browser.

use super::links::Href;
use maud::{html, Markup, PreEscaped, DOCTYPE};

/// Scripts, frames, fonts and fetches are forbidden; images may come from the disk or a bucket.
const CSP: &str = "default-src 'none'; img-src * data: file:; style-src 'unsafe-inline'";

const CSS: &str = "\
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#f5f5f7}\
header{background:#fff;border-bottom:1px solid #ddd;padding:10px 16px;position:sticky;top:0;z-index:1}\
h1{font-size:18px;margin:0 0 6px}h1 small{font-weight:normal;color:#666}\
nav a,nav span{display:inline-block;margin:2px 4px 2px 0;padding:2px 8px;border-radius:10px;\
background:#eee;color:#1d1d1f;text-decoration:none}nav .on{background:#1d1d1f;color:#fff}\
nav .kind{background:#fde8e8}.pager{margin:8px 16px}.pager a,.pager span{margin-right:6px}\
main{padding:8px 16px}.row{display:flex;gap:12px;align-items:flex-start;background:#fff;\
border:1px solid #e3e3e3;border-radius:6px;padding:8px;margin-bottom:8px}\
.row img,.noimg{height:120px;width:auto;border-radius:3px;background:#ddd}\
.noimg{display:flex;align-items:center;justify-content:center;width:68px;color:#888;font-size:12px}\
.facts{min-width:0}.facts h3{margin:0 0 4px;font-size:15px;word-break:break-all}\
.badge{padding:1px 6px;border-radius:8px;font-size:12px;color:#fff;background:#888}\
.badge.ok{background:#2e7d32}.badge.failed{background:#c62828}.badge.duplicate{background:#ef6c00}\
.error{color:#b71c1c;margin:4px 0 0;word-break:break-word}.muted{color:#666}\
.frames{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0;background:#fff;padding:4px;\
border:1px solid #e3e3e3;border-radius:4px}figure img{height:180px;width:auto;display:block}\
figcaption{font-size:12px;color:#444}.sheet-full img{max-width:100%;height:auto}\
table.facts-table td{padding:1px 10px 1px 0;vertical-align:top}.members{display:flex;flex-wrap:wrap;gap:8px}";

/// A whole page: `depth` is 1 for pages in a subfolder, whose links are written relative to the
/// gallery's root and resolved through `<base href="../">`.
pub fn page(title: &str, depth: usize, header: Markup, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="Content-Security-Policy" content=(CSP);
                meta name="referrer" content="no-referrer";
                @if depth > 0 { base href=(("../").repeat(depth)); }
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                header { (header) }
                main { (body) }
            }
        }
    }
    .into_string()
}

/// A tab of the navigation bar.
pub struct Tab {
    /// What it says.
    pub label: String,
    /// How many rows (or groups) it holds.
    pub count: usize,
    /// Its first page, from the root.
    pub href: String,
    /// Whether it is the page shown.
    pub current: bool,
    /// An error kind (drawn apart from statuses).
    pub kind: bool,
}

/// The header: title, summary line, tabs.
pub fn header(title: &str, summary: &str, tabs: &[Tab]) -> Markup {
    html! {
        h1 { (title) " " small { (summary) } }
        nav {
            @for tab in tabs {
                @let class = match (tab.current, tab.kind) {
                    (true, _) => Some("on"),
                    (false, true) => Some("kind"),
                    (false, false) => None,
                };
                a class=[class] href=(tab.href) { (tab.label) " (" (tab.count) ")" }
            }
        }
    }
}

/// "‹ prev 1 2 … 9 next ›" for page `current` of `pages`; `path(n)` is page n's href.
pub fn pager(current: usize, pages: usize, path: impl Fn(usize) -> String) -> Markup {
    let shown: Vec<usize> = (1..=pages)
        .filter(|&n| n == 1 || n == pages || n.abs_diff(current) <= 3)
        .collect();
    html! {
        @if pages > 1 {
            div.pager {
                @if current > 1 { a rel="prev" href=(path(current - 1)) { "‹ prev" } }
                @for (i, &n) in shown.iter().enumerate() {
                    @if i > 0 && shown[i - 1] + 1 != n { span.muted { "…" } }
                    @if n == current { span { b { (n) } } } @else { a href=(path(n)) { (n) } }
                }
                @if current < pages { a rel="next" href=(path(current + 1)) { "next ›" } }
                span.muted { "page " (current) " of " (pages) }
            }
        }
    }
}

/// A picture to show: its link and size.
#[derive(Debug, Clone)]
pub struct Shown {
    /// The link.
    pub href: Href,
    /// Width, when the record gives it.
    pub width: Option<u32>,
    /// Height, when the record gives it.
    pub height: Option<u32>,
}

/// An `<img>` that loads only when scrolled near, with its size reserved so the page does not
/// jump; a placeholder when there is no picture.
pub fn image(picture: Option<&Shown>, alt: &str) -> Markup {
    html! {
        @match picture {
            Some(p) => img src=(p.href.url) loading="lazy" alt=(alt)
                width=[p.width] height=[p.height];
            None => div.noimg { "no image" }
        }
    }
}

/// One video's row, as listed on series pages and group pages.
#[derive(Debug, Clone)]
pub struct RowView {
    /// Its page, from the root (`v/12.html`).
    pub page: String,
    /// Its content ID.
    pub content_id: String,
    /// Its status.
    pub status: String,
    /// Its error kind and message.
    pub error: Option<(String, String)>,
    /// Facts: duration, size and codec, frames.
    pub facts: Vec<String>,
    /// Its thumbnail.
    pub thumbnail: Option<Shown>,
    /// Its contact sheet.
    pub contact_sheet: Option<Shown>,
    /// Its near-duplicate group: number, members, page.
    pub group: Option<(usize, usize, String)>,
    /// A link to the video itself.
    pub video: Option<String>,
}

/// A status's CSS class (only known statuses get colours).
fn status_class(status: &str) -> &'static str {
    match status {
        "ok" => "badge ok",
        "failed" => "badge failed",
        "duplicate" => "badge duplicate",
        _ => "badge",
    }
}

/// A video's row.
pub fn row(view: &RowView) -> Markup {
    html! {
        article.row data-status=(view.status) data-content-id=(view.content_id) {
            a href=(view.page) { (image(view.thumbnail.as_ref(), "thumbnail")) }
            @if let Some(sheet) = &view.contact_sheet {
                a href=(sheet.href.url) { (image(Some(sheet), "contact sheet")) }
            }
            div.facts {
                h3 { a href=(view.page) { (view.content_id) } }
                div {
                    span class=(status_class(&view.status)) { (view.status) }
                    @if let Some((kind, _)) = &view.error { " " b { (kind) } }
                    @for fact in &view.facts { " · " (fact) }
                    @if let Some((n, size, href)) = &view.group {
                        " · " a href=(href) { "group " (n) " (" (size) " videos)" }
                    }
                    @if let Some(video) = &view.video { " · " a href=(video) { "video" } }
                }
                @if let Some((_, message)) = &view.error { p.error { (message) } }
            }
        }
    }
}

/// Where a video's page leads: the list page holding its row, the videos before and after.
pub struct Around {
    /// The page of every video that lists it.
    pub list: String,
    /// The previous video's page.
    pub prev: Option<String>,
    /// The next video's page.
    pub next: Option<String>,
}

/// A frame on a video's page.
pub struct FrameView {
    /// The picture.
    pub picture: Shown,
    /// Its caption.
    pub caption: String,
}

/// The body of a video's page: its row, facts, contact sheet at full width, every frame.
pub fn video_body(
    view: &RowView,
    around: &Around,
    facts: &[(String, String)],
    frames: &[FrameView],
) -> Markup {
    html! {
        div.pager {
            a href=(around.list) { "↑ list" }
            @if let Some(prev) = &around.prev { a rel="prev" href=(prev) { "‹ previous video" } }
            @if let Some(next) = &around.next { a rel="next" href=(next) { "next video ›" } }
        }
        (row(view))
        table.facts-table {
            @for (name, value) in facts { tr { td.muted { (name) } td { (value) } } }
        }
        @if let Some(sheet) = &view.contact_sheet {
            h2 { "Contact sheet" }
            a.sheet-full href=(sheet.href.url) { (image(Some(sheet), "contact sheet")) }
        }
        @if !frames.is_empty() {
            h2 { (frames.len()) " frames" }
            div.frames {
                @for frame in frames {
                    figure {
                        a href=(frame.picture.href.url) { (image(Some(&frame.picture), &frame.caption)) }
                        figcaption { (frame.caption) }
                    }
                }
            }
        }
    }
}

/// A member of a group, as shown in the group's list.
pub struct MemberView {
    /// Its row.
    pub row: RowView,
    /// "founder", or its match shares.
    pub shares: String,
}

/// A group's body: its members' rows with their match shares.
pub fn group_body(members: &[MemberView]) -> Markup {
    html! {
        @for m in members {
            p.muted { (m.shares) }
            (row(&m.row))
        }
    }
}

/// One group on a groups page: its members' thumbnails side by side.
pub fn group_row(number: usize, href: &str, members: &[MemberView]) -> Markup {
    html! {
        article.row data-group=(number) {
            div.facts {
                h3 { a href=(href) { "Group " (number) } }
                p.muted { (members.len()) " videos" }
            }
            div.members {
                @for m in members {
                    figure {
                        a href=(m.row.page) { (image(m.row.thumbnail.as_ref(), "thumbnail")) }
                        figcaption { (m.row.content_id) br; (m.shares) }
                    }
                }
            }
        }
    }
}
