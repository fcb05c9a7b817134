/*!
Near-duplicate videos by vPDQ, the way Meta's ThreatExchange reference matches two videos
(`vpdq/README.md`, "Comparison (Matching) Algorithm"):

- each video is the set of its distinct frame PDQ hashes of quality ≥ `quality` (default 50);
- a frame of A *matches* when some frame of B is within `distance` bits (default 31);
- A's match share is its matched frames over its frames; B's likewise;
- with B as the comparison video, the pair matches when B's share ≥ `comparison_match` (80%)
  and A's ≥ `query_match` (0%: extra content in the query does not prevent a match).

Mirrored reposts: a video also matches another when the rule holds with its frames' mirror hashes
(`derived.frames[].pdq_mirror`, each frame's hash mirrored left to right) against the other's
hashes; such a match says `mirrored` (normal hashes are tried first). Records without mirror
hashes match by mirror only through the other video's mirrors. `MatchRule::mirrors` turns this
off.

Grouping treats either video of a pair as the comparison. Groups are made greedily: the video
with the most matches (earliest on ties) founds a group with every ungrouped video it matches,
then the next; so each video is in at most one group, and every member's shares are against
its group's founder.

Candidate pairs come from a multi-index over the hashes ([`index`]): each 256-bit hash is cut
into 8 chunks of 32 bits, and two videos are compared only when some frames of theirs agree
exactly on a chunk (or one's mirror hash agrees with the other's hash). By pigeonhole, frames within 7 bits always share a chunk; frames 8–31 bits
apart usually do not, but a repost has many frame pairs, most of them close. Chunk values
shared by more than `max_bucket` frames (flat or common pictures) are not used for candidates.
*/

pub mod index;

use crate::pipeline::hash::Pdq;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The reference's match rule and the index's limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchRule {
    /// Frames within this many bits match (the reference's D, 31).
    pub distance: u32,
    /// Frames below this quality are ignored (the reference's F, 50).
    pub quality: u8,
    /// Share of the comparison video's frames that must match, percent (Pc, 80).
    pub comparison_match: f64,
    /// Share of the query video's frames that must match, percent (Pq, 0).
    pub query_match: f64,
    /// Chunk values seen in more frames than this are not used to find candidates.
    pub max_bucket: usize,
    /// Whether a video also matches through its mirror hashes (a mirrored repost).
    pub mirrors: bool,
}

impl Default for MatchRule {
    fn default() -> MatchRule {
        MatchRule {
            distance: 31,
            quality: 50,
            comparison_match: 80.0,
            query_match: 0.0,
            max_bucket: 1000,
            mirrors: true,
        }
    }
}

/// One video's hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoHashes {
    /// The record's content_id.
    pub content_id: String,
    /// Distinct hashes of its frames of sufficient quality.
    pub hashes: Vec<Pdq>,
    /// Distinct mirror hashes of the same frames (empty for records written without them).
    pub mirrors: Vec<Pdq>,
    /// Frames the record lists (before the quality filter).
    pub frames: usize,
}

impl VideoHashes {
    /// The hashes of a reelframe record (`derived.frames[].pdq`, `.pdq_quality`,
    /// `.pdq_mirror`), keeping frames of quality ≥ `quality`, each distinct hash once. `None` for records that are not `ok` or
    /// carry no hashes.
    pub fn from_record(record: &Value, quality: u8) -> Option<VideoHashes> {
        let content_id = match record.get("content_id")? {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if record.get("status")?.as_str()? != "ok" {
            return None;
        }
        let frames = record.pointer("/derived/frames")?.as_array()?;
        let mut hashes = Vec::new();
        let mut mirrors = Vec::new();
        let mut any = false;
        for f in frames {
            let Some(hash) = f.get("pdq").and_then(Value::as_str).and_then(Pdq::from_hex) else {
                continue;
            };
            any = true;
            let q = f.get("pdq_quality").and_then(Value::as_u64).unwrap_or(0);
            if q < quality as u64 {
                continue;
            }
            if !hashes.contains(&hash) {
                hashes.push(hash);
            }
            let mirror = f
                .get("pdq_mirror")
                .and_then(Value::as_str)
                .and_then(Pdq::from_hex);
            if let Some(mirror) = mirror.filter(|m| !mirrors.contains(m)) {
                mirrors.push(mirror);
            }
        }
        any.then_some(VideoHashes {
            content_id,
            hashes,
            mirrors,
            frames: frames.len(),
        })
    }
}

/// How much of each of two videos matches the other, in percent of its usable frames.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Shares {
    /// Share of the first video's frames matched in the second.
    pub first: f64,
    /// Share of the second video's frames matched in the first.
    pub second: f64,
}

fn matched(a: &[[u64; 4]], b: &[[u64; 4]], distance: u32) -> usize {
    let apart = |x: &[u64; 4], y: &[u64; 4]| -> u32 {
        x.iter().zip(y).map(|(p, q)| (p ^ q).count_ones()).sum()
    };
    a.iter()
        .filter(|x| b.iter().any(|y| apart(x, y) <= distance))
        .count()
}

/// The reference's match shares of `a` and `b` (0 when either has no usable frame).
pub fn shares(a: &[Pdq], b: &[Pdq], distance: u32) -> Shares {
    if a.is_empty() || b.is_empty() {
        return Shares {
            first: 0.0,
            second: 0.0,
        };
    }
    // as 64-bit words: a quarter of the popcounts of the 16-bit form
    let (a, b): (Vec<[u64; 4]>, Vec<[u64; 4]>) = (
        a.iter().map(Pdq::words).collect(),
        b.iter().map(Pdq::words).collect(),
    );
    Shares {
        first: matched(&a, &b, distance) as f64 * 100.0 / a.len() as f64,
        second: matched(&b, &a, distance) as f64 * 100.0 / b.len() as f64,
    }
}

impl MatchRule {
    /// Whether `query` matches `comparison` under the reference's rule.
    pub fn query_matches(&self, s: Shares) -> bool {
        s.second >= self.comparison_match && s.first >= self.query_match
    }

    /// Whether two videos match with either as the comparison.
    pub fn either_matches(&self, s: Shares) -> bool {
        self.query_matches(s) || self.query_matches(s.swapped())
    }

    /// The shares of `a` against `b` under which they match (with `a` as the query, or either
    /// as the comparison when `either`), and whether only through a mirror: the normal hashes
    /// first, then (with `mirrors`) `a`'s mirror hashes against `b`'s hashes, then `b`'s mirror
    /// hashes against `a`'s hashes (the same comparison, for records of which one lacks them).
    /// Only the comparisons the pair `met` by in the index are made (and the normal one to
    /// confirm that a mirrored match is only mirrored).
    pub fn compare(
        &self,
        a: &VideoHashes,
        b: &VideoHashes,
        either: bool,
        met: index::Met,
    ) -> Option<(Shares, bool)> {
        let holds = |s: Shares| {
            if either {
                self.either_matches(s)
            } else {
                self.query_matches(s)
            }
        };
        let normal = || shares(&a.hashes, &b.hashes, self.distance);
        if met.normal {
            let s = normal();
            if holds(s) {
                return Some((s, false));
            }
        }
        if !self.mirrors {
            return None;
        }
        let mirrored = (met.first_mirror && !a.mirrors.is_empty())
            .then(|| shares(&a.mirrors, &b.hashes, self.distance))
            .filter(|s| holds(*s))
            .or_else(|| {
                (met.second_mirror && !b.mirrors.is_empty())
                    .then(|| shares(&b.mirrors, &a.hashes, self.distance).swapped())
                    .filter(|s| holds(*s))
            })?;
        if !met.normal {
            let s = normal();
            if holds(s) {
                return Some((s, false));
            }
        }
        Some((mirrored, true))
    }
}

impl Shares {
    /// The same shares with the videos' roles exchanged.
    pub fn swapped(self) -> Shares {
        Shares {
            first: self.second,
            second: self.first,
        }
    }
}

/// The mirror lists to give the index, when mirrors are on and some video has them.
fn mirror_lists<'a>(
    videos: impl Iterator<Item = &'a VideoHashes>,
    rule: &MatchRule,
) -> Option<Vec<&'a [Pdq]>> {
    let lists: Vec<&[Pdq]> = videos.map(|v| v.mirrors.as_slice()).collect();
    (rule.mirrors && lists.iter().any(|m| !m.is_empty())).then_some(lists)
}

/// A member of a group. Read back (the gallery's `--groups`), a field other than the ID that
/// is missing reads as 0 or false, so groups from older versions still load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// Its content_id.
    pub content_id: String,
    /// Its usable frames (distinct hashes of sufficient quality).
    #[serde(default)]
    pub frames: usize,
    /// Percent of its frames matched in the founder (100 for the founder).
    #[serde(default)]
    pub matched_in_founder: f64,
    /// Percent of the founder's frames matched in it (100 for the founder).
    #[serde(default)]
    pub founder_matched: f64,
    /// Whether it matches the founder only through a mirror (a mirrored repost of it, or the
    /// founder is the mirrored one).
    #[serde(default)]
    pub mirrored: bool,
}

/// A group of near-duplicates; the first member founded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// 1, 2, … in order of size, then of the founder's position in the input.
    pub group: usize,
    /// The members, founder first.
    pub members: Vec<Member>,
}

/// What [`group`] did, for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GroupStats {
    /// Videos with usable frames.
    pub videos: usize,
    /// Candidate pairs from the index.
    pub candidates: usize,
    /// Pairs that matched.
    pub matches: usize,
    /// Of those, pairs that matched only through a mirror.
    pub mirrored_matches: usize,
    /// Chunk buckets skipped for being larger than `max_bucket`.
    pub skipped_buckets: usize,
}

/// Keeps the first video of each content ID in `videos` (records read from several runs may
/// repeat one): each is grouped once. Returns how many repeats were dropped.
pub fn keep_first_of_each_id(videos: &mut Vec<VideoHashes>) -> usize {
    let before = videos.len();
    let mut seen = std::collections::HashSet::new();
    videos.retain(|v| seen.insert(v.content_id.clone()));
    before - videos.len()
}

/// Groups `videos` into near-duplicate groups of two or more (see the module doc).
pub fn group(videos: &[VideoHashes], rule: &MatchRule) -> (Vec<Group>, GroupStats) {
    let usable: Vec<usize> = (0..videos.len())
        .filter(|&i| !videos[i].hashes.is_empty())
        .collect();
    let lists: Vec<&[Pdq]> = usable
        .iter()
        .map(|&i| videos[i].hashes.as_slice())
        .collect();
    let mirrors = mirror_lists(usable.iter().map(|&i| &videos[i]), rule);
    let (pairs, skipped) = index::candidate_pairs(&lists, mirrors.as_deref(), rule.max_bucket);
    let mut stats = GroupStats {
        videos: usable.len(),
        candidates: pairs.len(),
        skipped_buckets: skipped,
        ..Default::default()
    };
    let mut edges: Vec<Vec<(usize, Shares, bool)>> = vec![Vec::new(); usable.len()];
    for (a, b, met) in pairs {
        let (va, vb) = (&videos[usable[a]], &videos[usable[b]]);
        if let Some((s, mirrored)) = rule.compare(va, vb, true, met) {
            stats.matches += 1;
            stats.mirrored_matches += mirrored as usize;
            edges[a].push((b, s, mirrored));
            edges[b].push((a, s.swapped(), mirrored));
        }
    }
    let mut order: Vec<usize> = (0..usable.len())
        .filter(|&i| !edges[i].is_empty())
        .collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(edges[i].len()), i));
    let mut taken = vec![false; usable.len()];
    let mut groups = Vec::new();
    for founder in order {
        if taken[founder] {
            continue;
        }
        let mut members: Vec<(usize, Shares, bool)> = edges[founder]
            .iter()
            .filter(|(m, _, _)| !taken[*m])
            .copied()
            .collect();
        if members.is_empty() {
            continue;
        }
        members.sort_by_key(|(m, _, _)| *m);
        taken[founder] = true;
        let video = |i: usize| &videos[usable[i]];
        let mut list = vec![Member {
            content_id: video(founder).content_id.clone(),
            frames: video(founder).hashes.len(),
            matched_in_founder: 100.0,
            founder_matched: 100.0,
            mirrored: false,
        }];
        for (m, s, mirrored) in members {
            taken[m] = true;
            list.push(Member {
                content_id: video(m).content_id.clone(),
                frames: video(m).hashes.len(),
                matched_in_founder: round2(s.second),
                founder_matched: round2(s.first),
                mirrored,
            });
        }
        groups.push((founder, list));
    }
    groups.sort_by_key(|(founder, list)| (std::cmp::Reverse(list.len()), *founder));
    let groups = groups
        .into_iter()
        .enumerate()
        .map(|(n, (_, members))| Group {
            group: n + 1,
            members,
        })
        .collect();
    (groups, stats)
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// A known video an input matches (`--against`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KnownMatch {
    /// The known video's content_id.
    pub content_id: String,
    /// Percent of the input's frames matched in the known video.
    pub query_match: f64,
    /// Percent of the known video's frames matched in the input.
    pub known_match: f64,
    /// Whether the input matches only mirrored.
    pub mirrored: bool,
}

/// For each of `queries`, the `known` videos it matches with the known video as the
/// comparison (the ThreatExchange use: is this upload a known video?), best first. Only queries
/// with a match are returned, as (index in `queries`, matches).
pub fn against(
    queries: &[VideoHashes],
    known: &[VideoHashes],
    rule: &MatchRule,
) -> (Vec<(usize, Vec<KnownMatch>)>, GroupStats) {
    let lists: Vec<&[Pdq]> = queries
        .iter()
        .chain(known)
        .map(|v| v.hashes.as_slice())
        .collect();
    let mirrors = mirror_lists(queries.iter().chain(known), rule);
    let (pairs, skipped) = index::candidate_pairs(&lists, mirrors.as_deref(), rule.max_bucket);
    let n = queries.len();
    let mut found: Vec<Vec<KnownMatch>> = vec![Vec::new(); n];
    let mut stats = GroupStats {
        videos: queries.iter().filter(|v| !v.hashes.is_empty()).count(),
        skipped_buckets: skipped,
        ..Default::default()
    };
    for (a, b, met) in pairs {
        // a < b: a query against a known video, never two of the same side
        if a >= n || b < n {
            continue;
        }
        stats.candidates += 1;
        if let Some((s, mirrored)) = rule.compare(&queries[a], &known[b - n], false, met) {
            stats.matches += 1;
            stats.mirrored_matches += mirrored as usize;
            found[a].push(KnownMatch {
                content_id: known[b - n].content_id.clone(),
                query_match: round2(s.first),
                known_match: round2(s.second),
                mirrored,
            });
        }
    }
    let out = found
        .into_iter()
        .enumerate()
        .filter(|(_, m)| !m.is_empty())
        .map(|(i, mut m)| {
            m.sort_by(|x, y| {
                (y.known_match + y.query_match).total_cmp(&(x.known_match + x.query_match))
            });
            (i, m)
        })
        .collect();
    (out, stats)
}

#[cfg(test)]
mod tests;
