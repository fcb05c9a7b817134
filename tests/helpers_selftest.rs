//! Self-tests for the shared integration-test helpers in `tests/common/mod.rs`,
//! run against the real (not re-encoded) clips in `samples/`: `chaplin.mp4`,
//! `fire2.mp4` and `big_buck_bunny_0_30.webm`, unchanged copies of their sources
//! (see `samples/LICENSES.md`).

mod common;

use std::process::Command;

use common::*;

/// Builds a `ProbeFrame` for the synthetic `frame_displayed_at` tests.
fn pf(pts: i64) -> ProbeFrame {
    ProbeFrame {
        pts,
        pts_time: 0.0,
        key: false,
        pict_type: "P".into(),
    }
}

#[test]
fn paths_resolve() {
    assert!(repo_dir().join("Cargo.toml").is_file());
    assert!(scripts_dir().join("make_broken.sh").is_file());
    assert!(reelframe_bin().ends_with(if cfg!(windows) {
        "reelframe.exe"
    } else {
        "reelframe"
    }));
}

#[test]
#[should_panic(expected = "is missing")]
fn sample_panics_when_missing() {
    sample("definitely-not-a-sample.mp4");
}

#[test]
fn probe_streams() {
    let s = ffprobe_video_stream(&sample("chaplin.mp4"));
    assert_eq!(
        s,
        ProbeStream {
            index: 0,
            codec: "h264".into(),
            width: 640,
            height: 360,
            time_base: (1, 12800),
            rotation: 0,
            start_pts: Some(0),
        }
    );
    assert_eq!(s.rotation_cw(), 0);

    let f = ffprobe_video_stream(&sample("fire2.mp4"));
    assert_eq!((f.codec.as_str(), f.width, f.height), ("h264", 1280, 720));
    assert_eq!(f.time_base, (1, 90000));
    assert_eq!(
        f.rotation, -180,
        "ffprobe reports the display matrix as -180"
    );
    assert_eq!(f.rotation_cw(), 180);
    assert_eq!(f.upright_size(), (1280, 720));

    let w = ffprobe_video_stream(&sample("big_buck_bunny_0_30.webm"));
    assert_eq!(
        (w.codec.as_str(), w.time_base, w.start_pts),
        ("vp8", (1, 1000), Some(3))
    );
}

#[test]
fn frames_match_count_frames() {
    let clip = sample("chaplin.mp4");
    let frames = ffprobe_frames(&clip);
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-count_frames"])
        .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(&clip)
        .output()
        .expect("run ffprobe");
    assert!(out.status.success());
    let counted: usize = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("nb_read_frames");
    assert_eq!(frames.len(), counted);
    assert_eq!(counted, 241);
    // Presentation order, strictly increasing, 25 fps in a 1/12800 time base.
    assert!(frames.windows(2).all(|w| w[0].pts < w[1].pts));
    assert_eq!(frames[0].pts, 0);
    assert!(frames[0].key && frames[0].pict_type == "I");
    assert_eq!(frames[1].pts, 512);
    assert!((frames[1].pts_time - 0.04).abs() < 1e-9);
    assert!(frames.iter().any(|f| f.pict_type == "B"));
}

#[test]
fn packets_in_file_order() {
    let packets = ffprobe_packets(&sample("chaplin.mp4"));
    assert_eq!(packets.len(), 241);
    assert!(packets[0].key);
    assert_eq!(packets[0].pts, 0);
    assert_eq!(
        packets[0].dts,
        Some(-1024),
        "edit-list B-frame delay gives a negative first dts"
    );
    assert!(packets.iter().all(|p| p.size > 0));
    // File order = decode order: dts increasing, pts not (B-frames).
    assert!(packets.windows(2).all(|w| w[0].dts < w[1].dts));
    assert!(packets.windows(2).any(|w| w[0].pts > w[1].pts));
}

#[test]
fn displayed_at_synthetic() {
    let frames: Vec<_> = [10, 50, 90].into_iter().map(pf).collect();
    // time base 1/1000: pts are milliseconds; first_pts 10.
    let at = |ms| frame_displayed_at(&frames, 10, (1, 1000), ms).pts;
    assert_eq!(at(-5), 10, "before the first frame -> first frame");
    assert_eq!(at(0), 10);
    assert_eq!(at(39), 10);
    assert_eq!(at(40), 50, "exactly on a frame boundary -> the new frame");
    assert_eq!(at(79), 50);
    assert_eq!(at(80), 90);
    assert_eq!(at(1_000_000), 90, "past the end -> last frame");
    // Exactness in awkward time bases: 1/3 s frames, t = 333 ms is still frame 0.
    let thirds: Vec<_> = (0..3).map(pf).collect();
    assert_eq!(frame_displayed_at(&thirds, 0, (1, 3), 333).pts, 0);
    assert_eq!(frame_displayed_at(&thirds, 0, (1, 3), 334).pts, 1);
}

#[test]
fn displayed_at_real_clips() {
    let frames = ffprobe_frames(&sample("chaplin.mp4"));
    let tb = (1, 12800);
    let first = frames[0].pts;
    assert_eq!(frame_displayed_at(&frames, first, tb, 0).pts, 0);
    assert_eq!(frame_displayed_at(&frames, first, tb, 39).pts, 0);
    assert_eq!(frame_displayed_at(&frames, first, tb, 40).pts, 512);
    assert_eq!(
        frame_displayed_at(&frames, first, tb, 60).pts,
        512,
        "between frames"
    );
    assert_eq!(
        frame_displayed_at(&frames, first, tb, 5000).pts,
        5000 * 12800 / 1000
    );
    let last = frames.last().unwrap().pts;
    assert_eq!(
        frame_displayed_at(&frames, first, tb, 60_000).pts,
        last,
        "past the end"
    );

    // webm whose first video frame is at pts 3 (ms): t is relative to it.
    let bbb = ffprobe_frames(&sample("big_buck_bunny_0_30.webm"));
    assert_eq!(
        &bbb[..3].iter().map(|f| f.pts).collect::<Vec<_>>(),
        &[3, 45, 86]
    );
    assert_eq!(frame_displayed_at(&bbb, 3, (1, 1000), 0).pts, 3);
    assert_eq!(frame_displayed_at(&bbb, 3, (1, 1000), 41).pts, 3);
    assert_eq!(frame_displayed_at(&bbb, 3, (1, 1000), 42).pts, 45);
}

#[test]
fn pts_to_ms_rounds_to_nearest() {
    assert_eq!(pts_to_ms(512, (1, 12800)), 40);
    assert_eq!(pts_to_ms(45, (1, 1000)), 45);
    assert_eq!(pts_to_ms(9000, (1, 90000)), 100);
    assert_eq!(pts_to_ms(44, (1, 90000)), 0); // 0.49 ms
    assert_eq!(pts_to_ms(46, (1, 90000)), 1); // 0.51 ms
    assert_eq!(pts_to_ms(1, (1, 2000)), 1, "half rounds away from zero");
    assert_eq!(pts_to_ms(3, (1, 2000)), 2);
    assert_eq!(pts_to_ms(-1, (1, 2000)), -1);
    assert_eq!(pts_to_ms(-1024, (1, 12800)), -80);
    assert_eq!(pts_to_ms(1001, (1, 30000)), 33);
}

#[test]
fn psnr_identity_and_perturbation() {
    let mut a = image::RgbImage::new(64, 48);
    for (x, y, p) in a.enumerate_pixels_mut() {
        *p = image::Rgb([(x * 4) as u8, (y * 5) as u8, ((x + y) * 2) as u8]);
    }
    assert_eq!(psnr(&a, &a), f64::INFINITY);
    let mut b = a.clone();
    for (i, p) in b.pixels_mut().enumerate() {
        if i % 7 == 0 {
            p.0[i % 3] = p.0[i % 3].saturating_add(3);
        }
    }
    let v = psnr(&a, &b);
    assert!(v.is_finite() && v > 30.0, "psnr {v}");
    // One channel of one pixel off by 255 in a 1x1 image: MSE = 255^2/3.
    let x = image::RgbImage::from_pixel(1, 1, image::Rgb([0, 0, 0]));
    let y = image::RgbImage::from_pixel(1, 1, image::Rgb([255, 0, 0]));
    assert!((psnr(&x, &y) - 10.0 * 3f64.log10()).abs() < 1e-9);
}

#[test]
#[should_panic(expected = "64x48 vs 48x64")]
fn psnr_panics_on_size_mismatch() {
    psnr(&image::RgbImage::new(64, 48), &image::RgbImage::new(48, 64));
}

#[test]
fn region_means() {
    let mut img = image::RgbImage::from_pixel(10, 10, image::Rgb([0, 0, 255]));
    for x in 0..10 {
        for y in 0..5 {
            img.put_pixel(x, y, image::Rgb([200, 100, 0]));
        }
    }
    assert_eq!(
        region_mean_rgb(&img, 0.0, 0.0, 1.0, 0.5),
        [200.0, 100.0, 0.0]
    );
    assert_eq!(region_mean_rgb(&img, 0.0, 0.5, 1.0, 1.0), [0.0, 0.0, 255.0]);
    assert_eq!(mean_rgb(&img), [100.0, 50.0, 127.5]);
}

#[test]
fn reference_png_fire2_is_upright_and_landscape() {
    let clip = sample("fire2.mp4");
    let tmp = tempfile::tempdir().unwrap();
    let first = ffprobe_frames(&clip)[0].pts;
    let png = tmp.path().join("fire2_first.png");
    ffmpeg_reference_png(&clip, first, &png);
    assert!(std::fs::metadata(&png).unwrap().len() > 0);
    let upright = load_rgb(&png);
    // 1280x720 coded with a 180° display rotation: autorotated output stays 1280x720.
    assert_eq!(upright.dimensions(), (1280, 720));

    // Autorotation really was applied: rotating an un-rotated decode by 180°
    // reproduces the reference exactly.
    let raw_png = tmp.path().join("raw.png");
    ffmpeg(&[
        "-noautorotate",
        "-i",
        &s(&clip),
        "-map",
        "0:v:0",
        "-frames:v",
        "1",
        "-update",
        "1",
        "-pix_fmt",
        "rgb24",
        &s(&raw_png),
    ]);
    let raw = load_rgb(&raw_png);
    assert!(psnr(&raw, &upright) < 20.0, "reference looks un-rotated");
    assert_eq!(
        psnr(&image::imageops::rotate180(&raw), &upright),
        f64::INFINITY
    );
}

#[test]
fn reference_rgb_picks_exact_pts() {
    let clip = sample("chaplin.mp4");
    let tmp = tempfile::tempdir().unwrap();
    // Two neighbouring B-frames (pts 512 and 1024) must give different images,
    // and asking twice for one pts gives identical images.
    let a = ffmpeg_reference_rgb(&clip, 512, tmp.path());
    let b = ffmpeg_reference_rgb(&clip, 1024, tmp.path());
    let a2 = ffmpeg_reference_rgb(&clip, 512, tmp.path());
    assert_eq!(a.dimensions(), (640, 360));
    assert_eq!(psnr(&a, &a2), f64::INFINITY);
    assert!(psnr(&a, &b).is_finite());
}

#[test]
#[should_panic(expected = "wrote no frame")]
fn reference_png_panics_for_missing_pts() {
    let tmp = tempfile::tempdir().unwrap();
    ffmpeg_reference_png(&sample("chaplin.mp4"), 513, &tmp.path().join("x.png"));
}

#[test]
fn reference_png_uses_stream_pts_when_file_starts_late() {
    // A clip whose timestamps start at 5 s: without -copyts ffmpeg would shift
    // them to 0 and `select` would never match the stream pts.
    let tmp = tempfile::tempdir().unwrap();
    let clip = tmp.path().join("late.mp4");
    ffmpeg(&[
        "-i",
        &s(&sample("chaplin.mp4")),
        "-t",
        "0.5",
        "-an",
        "-c:v",
        "copy",
        "-output_ts_offset",
        "5",
        &s(&clip),
    ]);
    let frames = ffprobe_frames(&clip);
    assert_eq!(frames[0].pts, 5 * 12800);
    let img = ffmpeg_reference_rgb(&clip, frames[2].pts, tmp.path());
    assert_eq!(img.dimensions(), (640, 360));
}

#[test]
fn broken_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let files = make_broken(tmp.path());
    let names: Vec<_> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "empty.mp4",
            "garbage_middle.mp4",
            "jpeg_named.mp4",
            "no_moov.mp4",
            "random_bytes.mp4",
            "truncated_40pct.mp4"
        ]
    );
    assert_eq!(std::fs::metadata(&files[0]).unwrap().len(), 0);
}

#[test]
fn jsonl_and_file_counting() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("r.jsonl");
    std::fs::write(&p, "{\"pts_ms\":40}\n{\"error\":\"x\"}\n").unwrap();
    let v = read_jsonl(&p);
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["pts_ms"], 40);

    std::fs::create_dir_all(tmp.path().join("a/b")).unwrap();
    for f in ["1.jpg", "a/2.JPG", "a/b/3.jpg", "a/b/4.png", "a/b/jpg"] {
        std::fs::write(tmp.path().join(f), b"x").unwrap();
    }
    assert_eq!(count_files_with_ext(tmp.path(), "jpg"), 3);
    assert_eq!(count_files_with_ext(tmp.path(), ".png"), 1);
    assert_eq!(count_files_with_ext(&tmp.path().join("nope"), "jpg"), 0);
}

#[test]
#[should_panic(expected = "r.jsonl:2: invalid JSON")]
fn jsonl_names_bad_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("r.jsonl");
    std::fs::write(&p, "{}\n{oops\n").unwrap();
    read_jsonl(&p);
}
