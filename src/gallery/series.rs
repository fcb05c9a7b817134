//! The lists a reviewer pages through: every video, each status, each error kind, the
//! near-duplicate groups. Each is a run of static pages, so filtering needs no script.

use std::fmt;

/// One list of the gallery.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Series {
    /// Every record, in the order of the record files.
    All,
    /// Records with `status: ok`.
    Ok,
    /// Records with `status: failed`.
    Failed,
    /// Failed records of one error kind (a kind name that is not a plain snake_case word is
    /// listed as `other`).
    Kind(String),
    /// Records with `status: duplicate`.
    Duplicate,
    /// Near-duplicate groups (one row per group).
    Groups,
}

/// What a failed record's kind is listed as: the kind when it is a plain snake_case word, so
/// it can name a file, else `other`.
pub fn kind_label(kind: &str) -> String {
    let plain = !kind.is_empty()
        && kind.len() <= 40
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if plain {
        kind.to_string()
    } else {
        "other".to_string()
    }
}

impl Series {
    /// The lists a record with `status` and error `kind` is in (besides [`Series::All`]).
    pub fn of(status: &str, kind: Option<&str>) -> Vec<Series> {
        let mut lists = vec![Series::All];
        match status {
            "ok" => lists.push(Series::Ok),
            "failed" => {
                lists.push(Series::Failed);
                lists.push(Series::Kind(kind_label(kind.unwrap_or(""))));
            }
            "duplicate" => lists.push(Series::Duplicate),
            _ => {}
        }
        lists
    }

    /// The name its pages' files start with.
    fn stem(&self) -> String {
        match self {
            Series::All => "all".into(),
            Series::Ok => "ok".into(),
            Series::Failed => "failed".into(),
            Series::Kind(kind) => format!("kind-{kind}"),
            Series::Duplicate => "duplicate".into(),
            Series::Groups => "groups".into(),
        }
    }

    /// Page `n` (from 1), relative to the gallery's root: the first page of every video is
    /// `index.html`.
    pub fn page_path(&self, n: usize) -> String {
        match (self, n) {
            (Series::All, 1) => "index.html".into(),
            _ => format!("p/{}-{n}.html", self.stem()),
        }
    }

    /// Whether it is an error kind's list.
    pub fn is_kind(&self) -> bool {
        matches!(self, Series::Kind(_))
    }
}

impl fmt::Display for Series {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Series::All => f.write_str("all"),
            Series::Ok => f.write_str("ok"),
            Series::Failed => f.write_str("failed"),
            Series::Kind(kind) => f.write_str(kind),
            Series::Duplicate => f.write_str("duplicate"),
            Series::Groups => f.write_str("groups"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_land_in_their_lists() {
        assert_eq!(Series::of("ok", None), [Series::All, Series::Ok]);
        assert_eq!(
            Series::of("failed", Some("decode_failed")),
            [
                Series::All,
                Series::Failed,
                Series::Kind("decode_failed".into())
            ]
        );
        assert_eq!(
            Series::of("failed", Some("../x")),
            [Series::All, Series::Failed, Series::Kind("other".into())]
        );
        assert_eq!(Series::of("weird", None), [Series::All]);
    }

    #[test]
    fn page_paths_stay_in_the_gallery() {
        assert_eq!(Series::All.page_path(1), "index.html");
        assert_eq!(Series::All.page_path(2), "p/all-2.html");
        assert_eq!(
            Series::Kind("timeout".into()).page_path(3),
            "p/kind-timeout-3.html"
        );
    }
}
