/*!
The multi-index that finds candidate pairs without comparing all pairs.

Every hash is cut into [`CHUNKS`] chunks of 32 bits. For each chunk position, one sorted array
of `(chunk value, video)` holds every frame; videos that meet in a run of equal values are a
candidate pair. By pigeonhole, two hashes within `CHUNKS - 1` bits agree on at least one chunk.
Work is a sort of all frames per chunk position, O(F log F) for F frames, plus the pairs inside
runs, which stay few unless a value is common (those runs, past `max_bucket`, are skipped).

Mirror hashes (the hash of each frame mirrored left to right) go into the same arrays, marked: a
mirror meeting another video's normal hash makes a candidate pair (a mirrored repost), two
mirrors meeting do not (that is two normal hashes meeting, mirrored), nor a video meeting
itself. Each pair says how it met ([`Met`]), so that only those comparisons are made. This
doubles the frames sorted, and the work stays O(F log F).
*/

use crate::pipeline::hash::Pdq;
use rayon::prelude::*;

/// Chunks per hash.
pub const CHUNKS: usize = 8;

/// How the two videos of a candidate pair `(a, b)` met in the index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Met {
    /// A hash of `a` and a hash of `b` share a chunk.
    pub normal: bool,
    /// A mirror hash of `a` and a hash of `b` do.
    pub first_mirror: bool,
    /// A hash of `a` and a mirror hash of `b` do.
    pub second_mirror: bool,
}

impl Met {
    /// Every way: compare the pair by every comparison.
    pub const ALL: Met = Met {
        normal: true,
        first_mirror: true,
        second_mirror: true,
    };
}

/// Candidate pairs `(a, b, how they met)`, `a < b`, indices into `videos`, each once, sorted;
/// and how many runs were skipped for being longer than `max_bucket`. With `mirrors` (one list
/// per video, as `videos`), a pair is also a candidate when one's mirror hash meets the other's
/// hash.
pub fn candidate_pairs(
    videos: &[&[Pdq]],
    mirrors: Option<&[&[Pdq]]>,
    max_bucket: usize,
) -> (Vec<(usize, usize, Met)>, usize) {
    assert!(videos.len() < (1 << 31), "too many videos");
    // (video << 1 | 1 for a mirror hash, the hash's words)
    let mut words: Vec<(u32, [u64; 4])> = videos
        .iter()
        .enumerate()
        .flat_map(|(v, hashes)| hashes.iter().map(move |h| ((v as u32) << 1, h.words())))
        .collect();
    if let Some(mirrors) = mirrors {
        assert_eq!(mirrors.len(), videos.len(), "one mirror list per video");
        words.extend(
            mirrors.iter().enumerate().flat_map(|(v, hashes)| {
                hashes.iter().map(move |h| ((v as u32) << 1 | 1, h.words()))
            }),
        );
    }
    let mut pairs: Vec<u64> = Vec::new();
    let mut skipped = 0;
    let mut keys: Vec<u64> = Vec::with_capacity(words.len());
    for p in 0..CHUNKS {
        keys.clear();
        keys.extend(
            words
                .iter()
                .map(|(v, w)| ((w[p / 2] >> (32 * (p % 2))) & 0xffff_ffff) << 32 | *v as u64),
        );
        keys.par_sort_unstable();
        keys.dedup();
        let mut start = 0;
        while start < keys.len() {
            let value = keys[start] >> 32;
            let mut end = start + 1;
            while end < keys.len() && keys[end] >> 32 == value {
                end += 1;
            }
            if end - start > max_bucket {
                skipped += 1;
            } else {
                for i in start..end {
                    let (vi, mi) = ((keys[i] & 0xffff_ffff) >> 1, keys[i] & 1);
                    for &kj in &keys[i + 1..end] {
                        let (vj, mj) = ((kj & 0xffff_ffff) >> 1, kj & 1);
                        // ascending in a run (after dedup): vi <= vj; the low 2 bits say how
                        // they met: 0 hashes, 1 vi's mirror, 2 vj's mirror
                        if vi != vj && mi & mj == 0 {
                            pairs.push(vi << 33 | vj << 2 | mi | mj << 1);
                        }
                    }
                }
            }
            start = end;
        }
    }
    pairs.par_sort_unstable();
    pairs.dedup();
    let mut out: Vec<(usize, usize, Met)> = Vec::with_capacity(pairs.len());
    for k in pairs {
        let (a, b) = ((k >> 33) as usize, (k >> 2 & 0x7fff_ffff) as usize);
        if out.last().is_none_or(|&(la, lb, _)| (la, lb) != (a, b)) {
            out.push((a, b, Met::default()));
        }
        let met = &mut out.last_mut().expect("pushed above").2;
        match k & 3 {
            0 => met.normal = true,
            1 => met.first_mirror = true,
            _ => met.second_mirror = true,
        }
    }
    (out, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pairs of candidate_pairs, without how they met.
    fn pairs(
        videos: &[&[Pdq]],
        mirrors: Option<&[&[Pdq]]>,
        max_bucket: usize,
    ) -> Vec<(usize, usize)> {
        let found = candidate_pairs(videos, mirrors, max_bucket).0;
        found.into_iter().map(|(a, b, _)| (a, b)).collect()
    }

    /// Chunk `p` (0..8) of `hash`, as candidate_pairs cuts it.
    fn chunk(hash: &Pdq, p: usize) -> u32 {
        (hash.words()[p / 2] >> (32 * (p % 2))) as u32
    }

    fn random_hash(seed: &mut u64) -> Pdq {
        let mut words = [0u16; 16];
        for w in &mut words {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *w = *seed as u16;
        }
        Pdq(words)
    }

    fn flip(hash: &Pdq, bits: &[usize]) -> Pdq {
        let mut h = *hash;
        for &b in bits {
            h.0[b / 16] ^= 1 << (b % 16);
        }
        h
    }

    #[test]
    fn chunks_cover_every_bit_once() {
        let mut seed = 7;
        let h = random_hash(&mut seed);
        let mut bits = 0;
        for p in 0..CHUNKS {
            bits += chunk(&h, p).count_ones();
        }
        assert_eq!(bits, h.0.iter().map(|w| w.count_ones()).sum::<u32>());
    }

    #[test]
    fn hashes_within_seven_bits_always_meet_and_strangers_do_not() {
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        let base: Vec<Pdq> = (0..50).map(|_| random_hash(&mut seed)).collect();
        // one bit flipped in each chunk but one: still a shared chunk
        let near: Vec<Pdq> = base
            .iter()
            .map(|h| flip(h, &[3, 40, 70, 100, 130, 170, 200]))
            .collect();
        let strangers: Vec<Pdq> = (0..50).map(|_| random_hash(&mut seed)).collect();
        let lists: Vec<&[Pdq]> = vec![&base, &near, &strangers];
        let (found, skipped) = candidate_pairs(&lists, None, 1000);
        let normal = Met {
            normal: true,
            ..Met::default()
        };
        assert_eq!(found, vec![(0, 1, normal)]);
        assert_eq!(skipped, 0);
        // a bit in every chunk: no shared chunk left
        let far: Vec<Pdq> = base
            .iter()
            .map(|h| flip(h, &[3, 40, 70, 100, 130, 170, 200, 250]))
            .collect();
        let lists: Vec<&[Pdq]> = vec![&base, &far];
        assert!(pairs(&lists, None, 1000).is_empty());
    }

    #[test]
    fn common_values_are_skipped_past_the_bucket_limit() {
        let same = [Pdq([0x1234; 16])];
        let lists: Vec<&[Pdq]> = vec![&same, &same, &same];
        assert_eq!(pairs(&lists, None, 3), vec![(0, 1), (0, 2), (1, 2)]);
        let (found, skipped) = candidate_pairs(&lists, None, 2);
        assert!(found.is_empty());
        assert_eq!(skipped, CHUNKS);
    }

    #[test]
    fn a_mirror_meeting_a_hash_is_a_candidate_and_two_mirrors_are_not() {
        let mut seed = 0x2545_f491_4f6c_dd1d;
        let source: Vec<Pdq> = (0..20).map(|_| random_hash(&mut seed)).collect();
        let source_mirrors: Vec<Pdq> = (0..20).map(|_| random_hash(&mut seed)).collect();
        // a mirrored repost: its hashes are the source's mirrors (3 bits off), its mirrors the
        // source's hashes
        let repost: Vec<Pdq> = source_mirrors
            .iter()
            .map(|h| flip(h, &[1, 90, 250]))
            .collect();
        let repost_mirrors: Vec<Pdq> = source.iter().map(|h| flip(h, &[5, 99, 201])).collect();
        let stranger: Vec<Pdq> = (0..20).map(|_| random_hash(&mut seed)).collect();
        let lists: Vec<&[Pdq]> = vec![&source, &repost, &stranger];
        let mirrors: Vec<&[Pdq]> = vec![&source_mirrors, &repost_mirrors, &[]];
        assert!(pairs(&lists, None, 1000).is_empty());
        // each met the other's mirror, not its hashes
        let first = Met {
            first_mirror: true,
            ..Met::default()
        };
        let both_ways = Met {
            second_mirror: true,
            ..first
        };
        let found = candidate_pairs(&lists, Some(&mirrors), 1000).0;
        assert_eq!(found, vec![(0, 1, both_ways)]);
        // two mirrors meeting are two hashes meeting, mirrored: already found or not, not new
        let shared: Vec<Pdq> = (0..20).map(|_| random_hash(&mut seed)).collect();
        let both: Vec<&[Pdq]> = vec![&shared, &[], &shared];
        assert!(pairs(&lists, Some(&both), 1000).is_empty());
        // only one side needs mirrors: the source's mirrors meet the repost's hashes
        let no_mirrors: Vec<&[Pdq]> = vec![&source_mirrors, &[], &[]];
        let found = candidate_pairs(&lists, Some(&no_mirrors), 1000).0;
        assert_eq!(found, vec![(0, 1, first)]);
        // a symmetric picture (mirror = hash) does not pair a video with itself
        let symmetric: Vec<&[Pdq]> = vec![&source, &[], &[]];
        assert!(pairs(&lists, Some(&symmetric), 1000).is_empty());
    }
}
