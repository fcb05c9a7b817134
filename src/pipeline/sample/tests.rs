//! Unit tests of the sampler and the plan.
use super::*;

/// 25 fps, time base 1/12800, `n` frames, keyframe every 50, B-frame-like decode order.
fn timeline(n: i64) -> Timeline {
    let step = 512;
    let mut packets: Vec<PacketInfo> = (0..n)
        .map(|i| PacketInfo {
            pts: i * step,
            duration: step,
            key: i % 50 == 0,
            discard: false,
        })
        .collect();
    // swap pairs to mimic reordering; planning must not depend on decode order
    for i in (1..packets.len() - 1).step_by(2) {
        packets.swap(i, i + 1);
    }
    Timeline {
        packets,
        time_base: (1, 12800),
        first_pts: 0,
        end_pts: n * step,
        stopped_at_cap: false,
        pts_from_order: false,
        rewind_ts: 0,
    }
}

fn fps(text: &str, max_ms: u64) -> Sampling {
    Sampling {
        mode: SamplingMode::parse_fps(text).unwrap(),
        max_ms,
        tolerance_ms: 0,
    }
}

#[test]
fn one_fps_on_a_ten_point_oh_four_second_clip_gives_eleven_targets() {
    let tl = timeline(251); // 10.04 s
    let p = plan(&tl, &fps("1", 60_000)).unwrap();
    assert_eq!(p.targets.len(), 11);
    assert_eq!(p.targets[10].target_ms, 10_000);
    assert_eq!(p.targets[10].pts, 250 * 512);
    assert_eq!(p.span_ms, 10_040);
}

#[test]
fn exactly_ten_seconds_gives_ten_targets_and_the_cap_bounds_targets() {
    assert_eq!(
        plan(&timeline(250), &fps("1", 60_000))
            .unwrap()
            .targets
            .len(),
        10
    );
    assert_eq!(
        plan(&timeline(2000), &fps("1", 60_000))
            .unwrap()
            .targets
            .len(),
        60
    );
    assert_eq!(
        plan(&timeline(2000), &fps("1", 0)).unwrap().targets.len(),
        80
    );
    assert_eq!(
        plan(&timeline(2000), &fps("2", 5_500))
            .unwrap()
            .targets
            .len(),
        11
    );
}

#[test]
fn target_takes_the_frame_displayed_at_that_time() {
    // frames at 0, 0.04, ... ; at t = 1/3 s the displayed frame is pts 8*512 (0.32 s)
    let p = plan(&timeline(100), &fps("3", 0)).unwrap();
    assert_eq!(p.targets[1].pts, 8 * 512);
    assert_eq!(p.targets[1].target_ms, 333);
}

#[test]
fn uniform_frames_take_slice_centres() {
    let p = plan(
        &timeline(250),
        &Sampling {
            mode: SamplingMode::Frames(5),
            max_ms: 60_000,
            tolerance_ms: 0,
        },
    )
    .unwrap();
    let ms: Vec<i64> = p.targets.iter().map(|t| t.target_ms).collect();
    assert_eq!(ms, vec![1000, 3000, 5000, 7000, 9000]);
    assert_eq!(p.targets[0].pts, 25 * 512);
}

#[test]
fn keyframes_inside_the_cap() {
    let p = plan(
        &timeline(500),
        &Sampling {
            mode: SamplingMode::Keyframes,
            max_ms: 4_000,
            tolerance_ms: 0,
        },
    )
    .unwrap();
    let pts: Vec<i64> = p.targets.iter().map(|t| t.pts).collect();
    assert_eq!(pts, vec![0, 50 * 512]);
    assert!(p.keyframes_only);
}

#[test]
fn a_zero_duration_stream_still_yields_its_first_frame() {
    let mut tl = timeline(1);
    tl.end_pts = tl.first_pts;
    let p = plan(&tl, &fps("1", 60_000)).unwrap();
    assert_eq!(
        p.targets,
        vec![Target {
            index: 0,
            target_ms: 0,
            pts: 0
        }]
    );
}

#[test]
fn tolerance_moves_targets_onto_the_nearest_keyframe_within_reach() {
    // keyframes every 2 s (frames 0, 50, 100, ...)
    let tl = timeline(251);
    let mut s = fps("1", 60_000);
    s.tolerance_ms = 500;
    let p = plan(&tl, &s).unwrap();
    let pts: Vec<i64> = p.targets.iter().map(|t| t.pts / 512).collect();
    // even seconds land on keyframes; odd seconds are 1 s from any keyframe: exact frames
    assert_eq!(pts, vec![0, 25, 50, 75, 100, 125, 150, 175, 200, 225, 250]);
    assert_eq!(p.targets[3].target_ms, 3000);
    assert_eq!(p.tolerance_ms, 500);
    // a tolerance of a full second reaches a keyframe from every target; ties go earlier
    s.tolerance_ms = 1000;
    let p = plan(&tl, &s).unwrap();
    let pts: Vec<i64> = p.targets.iter().map(|t| t.pts / 512).collect();
    assert_eq!(pts, vec![0, 0, 50, 50, 100, 100, 150, 150, 200, 200, 250]);
    assert!(p.targets.iter().all(|t| t.pts % (50 * 512) == 0));
    // six keyframes (0, 2, ..., 10 s) answer all eleven targets
    assert_eq!(p.wanted.len(), 6);
    // without tolerance the same targets are exact frames
    s.tolerance_ms = 0;
    let p = plan(&tl, &s).unwrap();
    assert_eq!(p.targets[1].pts, 25 * 512);
}

#[test]
fn ranges_start_at_the_keyframe_before_each_target_and_skip_gop_tails() {
    // 4 s, keyframes at frames 0 and 50; decode order swaps pairs (1,2), (3,4), ... so
    // frame 25 sits at index 26, keyframe 50 at index 49 and frame 75 at index 76
    let tl = timeline(100);
    let p = plan(&tl, &fps("1", 0)).unwrap();
    let pts: Vec<i64> = p.targets.iter().map(|t| t.pts / 512).collect();
    assert_eq!(pts, vec![0, 25, 50, 75]);
    assert_eq!(
        p.ranges,
        vec![
            PacketRange { first: 0, last: 26 },
            PacketRange {
                first: 49,
                last: 76
            }
        ]
    );
    assert_eq!(p.last_packet, 76);
    assert_eq!(p.packets_to_send(&tl), 27 + 28);
    // frame 49 follows keyframe 50 in decode order but is shown before it: a leading
    // picture, which needs the GOP before as well
    assert_eq!(tl.packets[50].pts, 49 * 512);
    assert_eq!(
        needed_ranges(&tl.packets, [50]),
        vec![PacketRange { first: 0, last: 50 }]
    );
    // adjacent ranges merge
    assert_eq!(
        needed_ranges(&tl.packets, [0, 49, 51]),
        vec![
            PacketRange { first: 0, last: 0 },
            PacketRange {
                first: 49,
                last: 51
            }
        ]
    );
    assert_eq!(
        needed_ranges(&tl.packets, [0, 1]),
        vec![PacketRange { first: 0, last: 1 }]
    );
}

#[test]
fn rates_parse_exactly() {
    assert_eq!(
        SamplingMode::parse_fps("0.5").unwrap(),
        SamplingMode::Fps { num: 1, den: 2 }
    );
    assert_eq!(
        SamplingMode::parse_fps("30000/1001").unwrap(),
        SamplingMode::Fps {
            num: 30000,
            den: 1001
        }
    );
    assert!(SamplingMode::parse_fps("0").is_err());
    assert!(SamplingMode::parse_fps("-1").is_err());
    assert!(SamplingMode::parse_fps("abc").is_err());
}

#[test]
fn ms_rounding() {
    assert_eq!(pts_to_ms(1001, (1, 30000)), 33);
    assert_eq!(pts_to_ms(-512, (1, 12800)), -40);
}
