use super::*;

struct Rng(u64);

impl Rng {
    /// SplitMix64.
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn hash(&mut self) -> Pdq {
        let mut words = [0u16; 16];
        for w in &mut words {
            *w = self.next() as u16;
        }
        Pdq(words)
    }

    /// `hash` with `n` random bits flipped.
    fn nudge(&mut self, hash: &Pdq, n: usize) -> Pdq {
        let mut h = *hash;
        for _ in 0..n {
            let b = (self.next() % 256) as usize;
            h.0[b / 16] ^= 1 << (b % 16);
        }
        h
    }
}

fn video(id: &str, hashes: Vec<Pdq>) -> VideoHashes {
    VideoHashes {
        content_id: id.into(),
        frames: hashes.len(),
        hashes,
        mirrors: Vec::new(),
    }
}

fn mirrored_video(id: &str, hashes: Vec<Pdq>, mirrors: Vec<Pdq>) -> VideoHashes {
    VideoHashes {
        mirrors,
        ..video(id, hashes)
    }
}

/// A source (hashes and their mirrors), its mirrored repost (re-encoded: bits off), and a
/// stranger whose own mirrors are random.
fn mirror_set(rng: &mut Rng) -> Vec<VideoHashes> {
    let hashes: Vec<Pdq> = (0..20).map(|_| rng.hash()).collect();
    let mirrors: Vec<Pdq> = (0..20).map(|_| rng.hash()).collect();
    // the repost's frames are the source's mirrored: its hashes are the source's mirror hashes
    let repost_hashes = mirrors.iter().map(|h| rng.nudge(h, 6)).collect();
    let repost_mirrors = hashes.iter().map(|h| rng.nudge(h, 6)).collect();
    let stranger = (0..20).map(|_| rng.hash()).collect();
    let stranger_mirrors = (0..20).map(|_| rng.hash()).collect();
    vec![
        mirrored_video("src", hashes, mirrors),
        mirrored_video("mirror", repost_hashes, repost_mirrors),
        mirrored_video("stranger", stranger, stranger_mirrors),
    ]
}

#[test]
fn mirrored_reposts_group_and_say_so_unless_mirrors_are_off() {
    let videos = mirror_set(&mut Rng(5));
    let rule = MatchRule::default();
    let (groups, stats) = group(&videos, &rule);
    assert_eq!(groups.len(), 1, "{groups:?}");
    let members = &groups[0].members;
    assert_eq!(members.len(), 2);
    assert_eq!(
        (members[0].content_id.as_str(), members[0].mirrored),
        ("src", false)
    );
    assert_eq!(
        (members[1].content_id.as_str(), members[1].mirrored),
        ("mirror", true)
    );
    assert_eq!(members[1].matched_in_founder, 100.0);
    assert_eq!((stats.matches, stats.mirrored_matches), (1, 1));
    let off = MatchRule {
        mirrors: false,
        ..rule
    };
    let (groups, stats) = group(&videos, &off);
    assert!(groups.is_empty(), "{groups:?}");
    assert_eq!(stats.candidates, 0, "mirrors off: not even a candidate");
    // a plain repost stays unmirrored even though mirrors are on
    let mut rng = Rng(6);
    let copy = mirrored_video(
        "copy",
        videos[0].hashes.iter().map(|h| rng.nudge(h, 4)).collect(),
        videos[0].mirrors.iter().map(|h| rng.nudge(h, 4)).collect(),
    );
    let (groups, _) = group(&[videos[0].clone(), copy], &rule);
    assert!(!groups[0].members[1].mirrored);
}

#[test]
fn records_without_mirror_hashes_match_mirrored_only_through_the_others() {
    let videos = mirror_set(&mut Rng(8));
    let old = |v: &VideoHashes| VideoHashes {
        mirrors: Vec::new(),
        ..v.clone()
    };
    let rule = MatchRule::default();
    // one of the pair is an old record: the other's mirrors still find it
    for pair in [
        [old(&videos[0]), videos[1].clone()],
        [videos[0].clone(), old(&videos[1])],
    ] {
        let (groups, _) = group(&pair, &rule);
        assert_eq!(groups.len(), 1, "{groups:?}");
        assert!(groups[0].members[1].mirrored);
    }
    // both old: no mirror to compare
    let (groups, _) = group(&[old(&videos[0]), old(&videos[1])], &rule);
    assert!(groups.is_empty());
}

#[test]
fn against_says_when_an_upload_is_a_known_video_mirrored() {
    let videos = mirror_set(&mut Rng(11));
    let known = vec![videos[0].clone()];
    let queries = vec![videos[2].clone(), videos[1].clone()];
    let (found, stats) = against(&queries, &known, &MatchRule::default());
    assert_eq!(stats.mirrored_matches, 1);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, 1);
    assert_eq!(
        found[0].1,
        vec![KnownMatch {
            content_id: "src".into(),
            query_match: 100.0,
            known_match: 100.0,
            mirrored: true
        }]
    );
    let off = MatchRule {
        mirrors: false,
        ..MatchRule::default()
    };
    assert!(against(&queries, &known, &off).0.is_empty());
}

#[test]
fn from_record_reads_mirror_hashes_of_good_frames() {
    let hex = |n: u16| Pdq([n; 16]).to_string();
    let record = serde_json::json!({
        "content_id": "v", "status": "ok",
        "derived": {"frames": [
            {"pdq": hex(1), "pdq_quality": 90, "pdq_mirror": hex(2)},
            {"pdq": hex(3), "pdq_quality": 10, "pdq_mirror": hex(4)},
            {"pdq": hex(5), "pdq_quality": 90},
            {"pdq": hex(1), "pdq_quality": 90, "pdq_mirror": hex(2)}
        ]}
    });
    let v = VideoHashes::from_record(&record, 50).unwrap();
    assert_eq!(v.hashes, vec![Pdq([1; 16]), Pdq([5; 16])]);
    assert_eq!(v.mirrors, vec![Pdq([2; 16])]);
    assert_eq!(v.frames, 4);
}

#[test]
fn shares_follow_the_reference_rule() {
    let mut rng = Rng(42);
    let a: Vec<Pdq> = (0..10).map(|_| rng.hash()).collect();
    // b: a's first 8 frames re-encoded (5 bits off), and 2 of its own
    let mut b: Vec<Pdq> = a[..8].iter().map(|h| rng.nudge(h, 5)).collect();
    b.extend((0..2).map(|_| rng.hash()));
    let s = shares(&a, &b, 31);
    assert_eq!(
        s,
        Shares {
            first: 80.0,
            second: 80.0
        }
    );
    let rule = MatchRule::default();
    assert!(rule.query_matches(s));
    // a trimmed copy: all of it is in the source, the source is 70% in it
    let trimmed: Vec<Pdq> = a[3..].to_vec();
    let s = shares(&trimmed, &a, 31);
    assert_eq!(
        s,
        Shares {
            first: 100.0,
            second: 70.0
        }
    );
    assert!(!rule.query_matches(s), "the source is not 80% in the trim");
    assert!(rule.either_matches(s), "the trim is 100% in the source");
    assert_eq!(shares(&[], &a, 31).first, 0.0);
    // the distance is inclusive
    let far = rng.nudge(&a[0], 0);
    let mut exact31 = far;
    for b in 0..31 {
        exact31.0[b / 16] ^= 1 << (b % 16);
    }
    assert_eq!(shares(&[far], &[exact31], 31).first, 100.0);
    assert_eq!(shares(&[far], &[exact31], 30).first, 0.0);
}

#[test]
fn groups_hold_each_video_once_founded_by_the_best_connected() {
    let mut rng = Rng(7);
    let source: Vec<Pdq> = (0..20).map(|_| rng.hash()).collect();
    let repost1: Vec<Pdq> = source.iter().map(|h| rng.nudge(h, 4)).collect();
    let repost2: Vec<Pdq> = source[2..].iter().map(|h| rng.nudge(h, 6)).collect();
    let other: Vec<Pdq> = (0..20).map(|_| rng.hash()).collect();
    let other_copy: Vec<Pdq> = other.iter().map(|h| rng.nudge(h, 2)).collect();
    let videos = vec![
        video("r1", repost1),
        video("lonely", (0..20).map(|_| rng.hash()).collect()),
        video("src", source),
        video("o", other),
        video("r2", repost2),
        video("o2", other_copy),
        video("empty", vec![]),
    ];
    let (groups, stats) = group(&videos, &MatchRule::default());
    assert_eq!(stats.videos, 6);
    assert_eq!(groups.len(), 2);
    let ids = |g: &Group| {
        g.members
            .iter()
            .map(|m| m.content_id.clone())
            .collect::<Vec<_>>()
    };
    // r1, src and r2 all match each other: r1 (first of the best connected) founds
    assert_eq!(ids(&groups[0]), ["r1", "src", "r2"]);
    assert_eq!(ids(&groups[1]), ["o", "o2"]);
    assert_eq!(groups[0].members[2].matched_in_founder, 100.0);
    assert_eq!(groups[0].members[2].founder_matched, 90.0);
}

#[test]
fn against_reports_queries_matching_known_videos() {
    let mut rng = Rng(99);
    let known1: Vec<Pdq> = (0..10).map(|_| rng.hash()).collect();
    let known2: Vec<Pdq> = (0..10).map(|_| rng.hash()).collect();
    let mut upload: Vec<Pdq> = known2.iter().map(|h| rng.nudge(h, 3)).collect();
    upload.extend((0..10).map(|_| rng.hash()));
    let queries = vec![
        video("new", (0..5).map(|_| rng.hash()).collect()),
        video("up", upload),
    ];
    let known = vec![video("k1", known1), video("k2", known2)];
    let (found, stats) = against(&queries, &known, &MatchRule::default());
    assert_eq!(stats.matches, 1);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, 1);
    assert_eq!(
        found[0].1,
        vec![KnownMatch {
            content_id: "k2".into(),
            query_match: 50.0,
            known_match: 100.0,
            mirrored: false
        }]
    );
}

#[test]
#[ignore = "timing, run by hand: cargo test --release --lib similar_scaling -- --ignored --nocapture"]
fn similar_scaling() {
    let sizes: Vec<usize> = std::env::var("SIMILAR_SIZES")
        .map(|v| v.split(',').map(|n| n.parse().unwrap()).collect())
        .unwrap_or_else(|_| vec![10_000, 30_000, 100_000]);
    let mirrors = std::env::var("SIMILAR_MIRRORS").map_or(true, |v| v != "0");
    for n in sizes {
        let mut rng = Rng(n as u64);
        let mut videos: Vec<VideoHashes> = (0..n)
            .map(|i| {
                let hashes = (0..60).map(|_| rng.hash()).collect();
                let m = if mirrors {
                    (0..60).map(|_| rng.hash()).collect()
                } else {
                    Vec::new()
                };
                mirrored_video(&i.to_string(), hashes, m)
            })
            .collect();
        // every 100th video gets a repost: 10 frames dropped, 8 bits off (a re-encode); and,
        // with mirrors, a mirrored repost (its hashes are the source's mirrors, 8 bits off)
        for i in (0..n).step_by(100) {
            let copy: Vec<Pdq> = videos[i].hashes[10..]
                .iter()
                .map(|h| rng.nudge(h, 8))
                .collect();
            videos.push(video(&format!("{i}-repost"), copy));
            if mirrors {
                let flipped: Vec<Pdq> = videos[i].mirrors.iter().map(|h| rng.nudge(h, 8)).collect();
                videos.push(video(&format!("{i}-mirrored"), flipped));
            }
        }
        let started = std::time::Instant::now();
        let (groups, stats) = group(&videos, &MatchRule::default());
        let with_mirrored = groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m.mirrored))
            .count();
        eprintln!(
            "{} videos x 60 frames (mirrors {mirrors}): {:.2} s, {} candidate pairs, {} groups ({with_mirrored} with a mirrored member; planted {})",
            videos.len(),
            started.elapsed().as_secs_f64(),
            stats.candidates,
            groups.len(),
            n / 100
        );
    }
}

#[test]
fn compare_makes_the_comparisons_the_pair_met_by_and_mirrored_means_only_mirrored() {
    let mut rng = Rng(13);
    let videos = mirror_set(&mut rng);
    let rule = MatchRule::default();
    let only = |normal, first_mirror, second_mirror| index::Met {
        normal,
        first_mirror,
        second_mirror,
    };
    let (src, mirror) = (&videos[0], &videos[1]);
    // the mirrored repost matches through either side's mirrors, not through the hashes alone
    assert!(rule
        .compare(src, mirror, true, only(true, false, false))
        .is_none());
    for met in [only(false, true, false), only(false, false, true)] {
        let (s, mirrored) = rule
            .compare(src, mirror, true, met)
            .expect("a mirrored match");
        assert!(mirrored);
        assert_eq!((s.first, s.second), (100.0, 100.0));
    }
    // a symmetric video (its mirrors are its hashes) met through a mirror is a plain match
    let symmetric = mirrored_video("sym", src.hashes.clone(), src.hashes.clone());
    let copy = video("copy", src.hashes.iter().map(|h| rng.nudge(h, 3)).collect());
    let found = rule.compare(&symmetric, &copy, true, only(false, true, false));
    assert!(matches!(found, Some((_, false))), "{found:?}");
}

#[test]
fn a_repeated_content_id_keeps_its_first_video_only() {
    let mut rng = Rng(7);
    let (a, b, c) = (rng.hash(), rng.hash(), rng.hash());
    let mut videos = vec![
        video("x", vec![a]),
        video("y", vec![b]),
        video("x", vec![c]),
        video("x", vec![c]),
    ];
    assert_eq!(keep_first_of_each_id(&mut videos), 2);
    let kept: Vec<(&str, Pdq)> = videos
        .iter()
        .map(|v| (v.content_id.as_str(), v.hashes[0]))
        .collect();
    assert_eq!(kept, [("x", a), ("y", b)]);
}
