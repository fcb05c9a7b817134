//! Signals for scoring: PDQ / vPDQ hashes and contact sheets.
//!
//! Hashes are checked against Meta's reference implementations, through their PyPI packages:
//! `pdqhash` (the C++ PDQ reference behind Cython) on the same pixels, and `vpdq` (the vPDQ
//! reference: decodes with libavcodec, one PDQ hash a second) on the same videos.
//! Both install with `pip install --break-system-packages 'numpy<2' pdqhash vpdq` (`.ci/run`).

mod common;

use common::*;
use reelframe::pipeline::hash::{Pdq, PdqHasher};
use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::Command;

const PIP: &str = "pip install --break-system-packages 'numpy<2' pdqhash vpdq";

/// Runs a Python snippet with `args`, returns its stdout parsed as JSON.
fn python(script: &str, args: &[String]) -> Value {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python3 failed (are the reference packages installed? {PIP}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the script prints JSON")
}

/// What the reference says of one picture.
struct Reference {
    /// `pdqhash.compute`: the hash.
    hash: Pdq,
    /// Its quality.
    quality: u8,
    /// `pdqhash.compute_dihedral`'s `FlipY` hash (index 5): the left-right mirror, from the
    /// same DCT.
    flip_y: Pdq,
    /// Its `FlipX` hash (index 4): the upside-down flip.
    flip_x: Pdq,
    /// `pdqhash.compute` on the pixels mirrored left to right (`np.fliplr`).
    of_mirrored: Pdq,
}

/// pdqhash (the reference) on raw RGB files.
fn reference_pdq(pictures: &[(std::path::PathBuf, u32, u32)]) -> Vec<Reference> {
    let script = "import sys, json, numpy as np, pdqhash\n\
        def hx(bits): return format(int(''.join(str(int(b)) for b in bits), 2), '064x')\n\
        out = []\n\
        args = sys.argv[1:]\n\
        for i in range(0, len(args), 3):\n\
        \x20   w, h = int(args[i + 1]), int(args[i + 2])\n\
        \x20   img = np.fromfile(args[i], dtype=np.uint8).reshape(h, w, 3)\n\
        \x20   bits, q = pdqhash.compute(img)\n\
        \x20   dihedral, _ = pdqhash.compute_dihedral(img)\n\
        \x20   flipped, _ = pdqhash.compute(np.ascontiguousarray(np.fliplr(img)))\n\
        \x20   out.append([hx(bits), int(q), hx(dihedral[5]), hx(dihedral[4]), hx(flipped)])\n\
        print(json.dumps(out))";
    let args: Vec<String> = pictures
        .iter()
        .flat_map(|(p, w, h)| [p.display().to_string(), w.to_string(), h.to_string()])
        .collect();
    let hash = |v: &Value| Pdq::from_hex(v.as_str().unwrap()).unwrap();
    python(script, &args)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| Reference {
            hash: hash(&r[0]),
            quality: r[1].as_u64().unwrap() as u8,
            flip_y: hash(&r[2]),
            flip_x: hash(&r[3]),
            of_mirrored: hash(&r[4]),
        })
        .collect()
}

fn write_raw(img: &image::RgbImage, path: &Path) -> (std::path::PathBuf, u32, u32) {
    fs::write(path, img.as_raw()).unwrap();
    (path.to_path_buf(), img.width(), img.height())
}

fn extract(video: &Path, out: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "extract".to_string(),
        video.display().to_string(),
        "-o".into(),
    ];
    args.push(out.display().to_string());
    args.push("-q".into());
    args.extend(extra.iter().map(|s| s.to_string()));
    let run = run_reelframe(&args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let records = read_jsonl(&out.join("records.jsonl"));
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["status"], "ok", "{}", records[0]);
    records[0].clone()
}

fn frame_pdq(frame: &Value) -> (Pdq, u8) {
    (
        Pdq::from_hex(frame["pdq"].as_str().expect("pdq is set")).expect("64 hex digits"),
        frame["pdq_quality"].as_u64().expect("pdq_quality is set") as u8,
    )
}

fn frame_mirror(frame: &Value) -> Pdq {
    Pdq::from_hex(frame["pdq_mirror"].as_str().expect("pdq_mirror is set")).expect("64 hex digits")
}

/// Our hasher and the reference on identical pixels: ffmpeg's decoded frames of several sizes
/// (odd and small ones exercise the filter windows and the decimation).
#[test]
fn pdq_agrees_with_the_reference_on_the_same_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let mut pictures = Vec::new();
    let mut ours = Vec::new();
    let mut hasher = PdqHasher::new();
    let cases = [
        ("chaplin.mp4", 0),
        ("chaplin.mp4", 12800 * 3),
        ("portrait_h264_aac.mp4", 15360 * 4),
        ("smpte-2997.mp4", 12800 * 2),
    ];
    for (n, (name, pts)) in cases.iter().enumerate() {
        let img = ffmpeg_reference_rgb(&sample(name), *pts, dir.path());
        for (m, img) in [
            img.clone(),
            image::imageops::resize(&img, 101, 77, image::imageops::FilterType::Triangle),
            image::imageops::resize(&img, 64, 64, image::imageops::FilterType::Triangle),
        ]
        .iter()
        .enumerate()
        {
            pictures.push(write_raw(img, &dir.path().join(format!("{n}_{m}.rgb"))));
            let r = hasher.hash_rgb(
                img.as_raw(),
                img.width(),
                img.height(),
                img.width() as usize * 3,
            );
            ours.push(r);
        }
    }
    let reference = reference_pdq(&pictures);
    assert_eq!(reference.len(), ours.len());
    let dists: Vec<u32> = ours
        .iter()
        .zip(&reference)
        .map(|(a, b)| a.hash.distance(&b.hash))
        .collect();
    let mirror_dists: Vec<u32> = ours
        .iter()
        .zip(&reference)
        .map(|(a, b)| a.mirror.distance(&b.flip_y))
        .collect();
    eprintln!("same pixels: bits from pdqhash {dists:?}");
    let of_mirrored: Vec<u32> = ours
        .iter()
        .zip(&reference)
        .map(|(a, b)| a.mirror.distance(&b.of_mirrored))
        .collect();
    eprintln!("same pixels: mirror bits from pdqhash's dihedral FlipY {mirror_dists:?}, from pdqhash of the mirrored pixels {of_mirrored:?}");
    for (i, (ours, r)) in ours.iter().zip(&reference).enumerate() {
        let (h, q, m) = (ours.hash, ours.quality, ours.mirror);
        let d = h.distance(&r.hash);
        assert!(
            d <= 2,
            "picture {i}: {d} bits from the reference ({h} vs {})",
            r.hash
        );
        assert!(
            (q as i32 - r.quality as i32).abs() <= 1,
            "picture {i}: quality {q} vs {}",
            r.quality
        );
        let d = m.distance(&r.flip_y);
        assert!(
            d <= 2,
            "picture {i}: mirror hash {d} bits from the reference's FlipY ({m} vs {})",
            r.flip_y
        );
        // FlipY is the left-right mirror: the reference's hash of the mirrored pixels is near
        // it (exact only where the blur and decimation are symmetric), FlipX is not.
        let d = m.distance(&r.of_mirrored);
        assert!(
            d <= 16,
            "picture {i}: mirror hash {d} bits from the reference's hash of the mirrored pixels"
        );
        assert!(
            m.distance(&r.flip_x) > 40,
            "picture {i}: FlipX is upside down"
        );
    }
    // not all the same (a constant hash would pass the comparison above), and a mirror is not
    // the picture
    assert!(ours[0].hash.distance(&ours[3].hash) > 40);
    assert!(ours.iter().all(|r| r.hash.distance(&r.mirror) > 40));
}

/// The records' hashes, taken on reelframe's own decoded upright frames, against the reference
/// on ffmpeg's decode of the same frame (so rotation and the colour matrix must both be right).
#[test]
fn record_hashes_match_the_reference_on_ffmpegs_upright_frame() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["portrait_h264_aac.mp4", "rotated90.mp4", "chaplin.mp4"] {
        let video = sample(name);
        let out = dir.path().join(name);
        let record = extract(&video, &out, &["--frames", "4"]);
        assert_valid(&schema_validator(), &record);
        assert_eq!(record["derived"]["sampling"]["hashes"], "pdq");
        let frames = record["derived"]["frames"].as_array().unwrap().clone();
        let stream = ffprobe_video_stream(&video);
        let probe = ffprobe_frames(&video);
        let mut pictures = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            let pts = probe
                .iter()
                .map(|p| p.pts)
                .find(|&p| pts_to_ms(p, stream.time_base) == f["pts_ms"].as_i64().unwrap())
                .expect("a probed frame at the record's pts");
            let img = ffmpeg_reference_rgb(&video, pts, dir.path());
            assert_eq!(
                (img.width(), img.height()),
                (
                    f["width"].as_u64().unwrap() as u32,
                    f["height"].as_u64().unwrap() as u32
                )
            );
            pictures.push(write_raw(&img, &dir.path().join(format!("{name}_{i}.rgb"))));
        }
        let reference = reference_pdq(&pictures);
        let dists: Vec<u32> = frames
            .iter()
            .zip(&reference)
            .map(|(f, r)| frame_pdq(f).0.distance(&r.hash))
            .collect();
        let mirror_dists: Vec<u32> = frames
            .iter()
            .zip(&reference)
            .map(|(f, r)| frame_mirror(f).distance(&r.flip_y))
            .collect();
        eprintln!("{name}: bits from pdqhash on ffmpeg's frame {dists:?}, mirror {mirror_dists:?}");
        for (f, r) in frames.iter().zip(&reference) {
            let (h, q) = frame_pdq(f);
            let d = h.distance(&r.hash);
            assert!(
                d <= 8,
                "{name} frame {}: {d} bits from the reference",
                f["index"]
            );
            assert!(
                (q as i32 - r.quality as i32).abs() <= 3,
                "{name}: quality {q} vs {}",
                r.quality
            );
            let d = frame_mirror(f).distance(&r.flip_y);
            assert!(
                d <= 8,
                "{name} frame {}: pdq_mirror {d} bits from the reference's FlipY",
                f["index"]
            );
        }
    }
}

/// vPDQ: the reference's one-hash-a-second on the same files lands on the same frames
/// (timestamps from the first frame = our `target_ms`) with (near) identical hashes.
#[test]
fn per_second_hashes_match_the_reference_vpdq() {
    let dir = tempfile::tempdir().unwrap();
    let script = "import sys, json, vpdq\n\
        print(json.dumps([[round(f.timestamp * 1000), f.hex, f.quality] for f in vpdq.computeHash(sys.argv[1], seconds_per_hash=1)]))";
    // (sample, most bits apart on frames of quality ≥ 50): vpdq converts with swscale's default
    // BT.601 matrix; reelframe honours smpte-2997's BT.709, which moves a few bits.
    for (name, max_bits) in [
        ("portrait_h264_aac.mp4", 2),
        ("hevc_portrait.mp4", 2),
        ("chaplin.mp4", 2),
        ("smpte-2997.mp4", 16),
    ] {
        let video = sample(name);
        let record = extract(&video, &dir.path().join(name), &["--fps", "1"]);
        let frames = record["derived"]["frames"].as_array().unwrap();
        let reference = python(script, &[video.display().to_string()]);
        let reference = reference.as_array().unwrap();
        assert_eq!(frames.len(), reference.len(), "{name}: hashes per video");
        let dists: Vec<(u32, u64)> = frames
            .iter()
            .zip(reference)
            .map(|(f, r)| {
                (
                    frame_pdq(f)
                        .0
                        .distance(&Pdq::from_hex(r[1].as_str().unwrap()).unwrap()),
                    r[2].as_u64().unwrap(),
                )
            })
            .collect();
        eprintln!("{name}: (bits from vpdq, vpdq quality) {dists:?}");
        for (f, r) in frames.iter().zip(reference) {
            assert_eq!(f["target_ms"], r[0], "{name}: same timestamps");
            let (h, q) = frame_pdq(f);
            let d = h.distance(&Pdq::from_hex(r[1].as_str().unwrap()).unwrap());
            if q >= 50 {
                assert!(d <= max_bits, "{name} at {} ms: {d} bits apart", r[0]);
            }
        }
    }
}

#[test]
fn hashes_none_writes_null_hashes_and_says_so_in_sampling() {
    let dir = tempfile::tempdir().unwrap();
    let record = extract(
        &sample("hevc_portrait.mp4"),
        dir.path(),
        &["--hashes", "none"],
    );
    assert_eq!(record["derived"]["sampling"]["hashes"], "none");
    for f in record["derived"]["frames"].as_array().unwrap() {
        assert_eq!(f["pdq"], Value::Null);
        assert_eq!(f["pdq_quality"], Value::Null);
        assert_eq!(f["pdq_mirror"], Value::Null);
    }
}

/// One sheet per video, stored beside the frames, every frame in its tile in frame order (each
/// tile looks like its own frame scaled down, and not like its neighbours), upright, ≤ 2048 wide.
#[test]
fn contact_sheet_tiles_every_frame_in_order() {
    let dir = tempfile::tempdir().unwrap();
    for (name, args) in [
        ("portrait_h264_aac.mp4", vec!["--fps", "1"]),
        ("rotated90.mp4", vec!["--fps", "2"]),
        ("long_62s.mp4", vec!["--fps", "1"]),
    ] {
        let out = dir.path().join(name);
        let record = extract(&sample(name), &out, &args);
        assert_valid(&schema_validator(), &record);
        assert_eq!(record["derived"]["sampling"]["contact_sheet"], true);
        let sheet = &record["derived"]["contact_sheet"];
        let stem = name.trim_end_matches(".mp4");
        assert_eq!(sheet["key"], format!("tiktok/{stem}/contact_sheet.jpg"));
        let path = Path::new(sheet["uri"].as_str().unwrap());
        let bytes = fs::read(path).unwrap();
        assert_eq!(bytes.len() as u64, sheet["bytes"].as_u64().unwrap());
        assert_eq!(blake3::hash(&bytes).to_hex().as_str(), sheet["blake3"]);
        let img = load_rgb(path);
        let (sw, sh) = img.dimensions();
        assert_eq!(
            (sw as u64, sh as u64),
            (
                sheet["width"].as_u64().unwrap(),
                sheet["height"].as_u64().unwrap()
            )
        );
        assert!(sw <= 2048, "{name}: {sw} px wide");
        let frames = record["derived"]["frames"].as_array().unwrap();
        let (cols, rows) = (
            sheet["columns"].as_u64().unwrap() as u32,
            sheet["rows"].as_u64().unwrap() as u32,
        );
        assert!(cols * rows >= frames.len() as u32 && cols * (rows - 1) < frames.len() as u32);
        // tiles: 4 px apart and from the edges
        let (tw, th) = ((sw - 4) / cols - 4, (sh - 4) / rows - 4);
        let fw = frames[0]["width"].as_f64().unwrap();
        let fh = frames[0]["height"].as_f64().unwrap();
        assert!(
            ((tw as f64 / th as f64) - fw / fh).abs() < 0.02,
            "{name}: tiles keep the upright aspect"
        );
        // the upper 3/4 of each tile (below is the time label)
        let tile = |i: usize| {
            let (x0, y0) = (
                4 + (i as u32 % cols) * (tw + 4),
                4 + (i as u32 / cols) * (th + 4),
            );
            image::imageops::crop_imm(&img, x0, y0, tw, th * 3 / 4).to_image()
        };
        let scaled = |i: usize| {
            let f = load_rgb(Path::new(frames[i]["uri"].as_str().unwrap()));
            let f = image::imageops::resize(&f, tw, th, image::imageops::FilterType::Triangle);
            image::imageops::crop_imm(&f, 0, 0, tw, th * 3 / 4).to_image()
        };
        let mut margins = Vec::new();
        for i in 0..frames.len() {
            let own = psnr(&tile(i), &scaled(i));
            assert!(own > 24.0, "{name}: tile {i} is {own:.1} dB from its frame");
            let j = if i + 5 < frames.len() {
                i + 5
            } else {
                i.saturating_sub(5)
            };
            margins.push(own - psnr(&tile(i), &scaled(j)));
        }
        let better = margins.iter().filter(|m| **m > 0.0).count();
        assert!(
            better * 10 >= frames.len() * 9,
            "{name}: tiles out of order? {margins:?}"
        );
        // the label box: a dark strip with white glyph pixels at the tile's bottom-left
        let label = image::imageops::crop_imm(&img, 4, 4 + th - 18, 60.min(tw), 18).to_image();
        let white = label
            .pixels()
            .filter(|p| p.0.iter().all(|&v| v > 200))
            .count();
        let dark = label
            .pixels()
            .filter(|p| p.0.iter().all(|&v| v < 60))
            .count();
        assert!(
            white > 20 && dark > 100,
            "{name}: label box {white} white, {dark} dark pixels"
        );
    }
}

/// Reposts made with the ffmpeg CLI group with their source under vPDQ's default rule, a mirrored
/// one (`hflip`) through the mirror hashes and saying so (not with `--no-mirrors`); other videos
/// do not. Also prints how edits the rule is not made for fare (crop, logo).
#[test]
fn similar_groups_reposts_with_their_source() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).display().to_string();
    let src = sample("chaplin.mp4").display().to_string();
    let x264 = ["-c:v", "libx264", "-preset", "veryfast", "-an"];
    let variants: [(&str, Vec<&str>); 6] = [
        ("lowbitrate.mp4", vec!["-b:v", "60k"]),
        ("scaled.mp4", vec!["-vf", "scale=240:-2"]),
        ("trimmed.mp4", vec!["-ss", "2"]),
        (
            "crop5.mp4",
            vec!["-vf", "crop=iw*0.95:ih*0.95,scale=640:360"],
        ),
        (
            "logo.mp4",
            vec!["-vf", "drawbox=x=iw-90:y=10:w=80:h=30:color=white:t=fill"],
        ),
        ("mirror.mp4", vec!["-vf", "hflip"]),
    ];
    for (name, extra) in &variants {
        let mut args: Vec<&str> = Vec::new();
        if extra[0] == "-ss" {
            args.extend(["-ss", "2", "-i", &src]);
        } else {
            args.extend(["-i", &src]);
            args.extend(extra.iter().copied());
        }
        args.extend(x264);
        let out = d(name);
        args.push(&out);
        ffmpeg(&args);
    }
    let out = dir.path().join("out");
    let mut args: Vec<String> = vec!["extract".into(), src.clone()];
    args.extend(variants.iter().map(|(n, _)| d(n)));
    for other in ["example.mp4", "smpte-2997.mp4"] {
        args.push(sample(other).display().to_string());
    }
    args.extend(["-o".into(), out.display().to_string(), "-q".into()]);
    let run = run_reelframe(&args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let records = out.join("records.jsonl");
    let groups_file = dir.path().join("groups.jsonl");
    let run = run_reelframe([
        "similar".as_ref(),
        records.as_os_str(),
        "-o".as_ref(),
        groups_file.as_os_str(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let groups = read_jsonl(&groups_file);
    eprintln!("{}", String::from_utf8_lossy(&run.stderr));
    for g in &groups {
        eprintln!("{g}");
    }
    let ids = |g: &Value| -> Vec<String> {
        g["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["content_id"].as_str().unwrap().to_string())
            .collect()
    };
    let with_source: Vec<String> = groups
        .iter()
        .map(ids)
        .find(|m| m.contains(&"chaplin".to_string()))
        .expect("the source is in a group");
    for repost in ["lowbitrate", "scaled", "trimmed", "mirror"] {
        assert!(
            with_source.contains(&repost.to_string()),
            "{repost} not with its source: {groups:?}"
        );
    }
    // "mirrored" is said of the mirror's match, and only of it
    let source_group = groups
        .iter()
        .find(|g| ids(g).contains(&"chaplin".to_string()))
        .unwrap();
    let founder = &source_group["members"][0]["content_id"];
    for m in source_group["members"].as_array().unwrap() {
        let id = m["content_id"].as_str().unwrap();
        // relative to the founder: if the mirror founded, the others are its mirrored matches
        let expected =
            (id == "mirror") != (founder == "mirror") && m != &source_group["members"][0];
        assert_eq!(m["mirrored"], expected, "{id} in {source_group}");
    }
    for stranger in ["example", "smpte-2997"] {
        assert!(
            !groups
                .iter()
                .map(ids)
                .any(|m| m.contains(&stranger.to_string())),
            "{stranger} grouped: {groups:?}"
        );
    }
    let mut seen = std::collections::HashSet::new();
    for id in groups.iter().flat_map(ids) {
        assert!(seen.insert(id.clone()), "{id} in two groups");
    }
    // --no-mirrors: the mirror is left out, the other reposts stay
    let run = run_reelframe([
        "similar".as_ref(),
        records.as_os_str(),
        "--no-mirrors".as_ref(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let plain: Vec<Value> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let plain_source: Vec<String> = plain
        .iter()
        .map(ids)
        .find(|m| m.contains(&"chaplin".to_string()))
        .expect("the source is in a group without mirrors");
    assert!(plain_source.contains(&"lowbitrate".to_string()));
    assert!(
        !plain
            .iter()
            .map(ids)
            .any(|m| m.contains(&"mirror".to_string())),
        "mirror grouped with --no-mirrors: {plain:?}"
    );
    assert!(plain
        .iter()
        .flat_map(|g| g["members"].as_array().unwrap())
        .all(|m| m["mirrored"] == false));
    // --against: the known list is the source's record; the reposts match it, strangers not
    let known = dir.path().join("known.jsonl");
    let source_record: Vec<Value> = read_jsonl(&records)
        .into_iter()
        .filter(|r| r["content_id"] == "chaplin")
        .collect();
    write_jsonl(&known, &source_record);
    let run = run_reelframe([
        "similar".as_ref(),
        records.as_os_str(),
        "--against".as_ref(),
        known.as_os_str(),
        "--query-match".as_ref(),
        "0".as_ref(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for l in &lines {
        eprintln!("against: {l}");
    }
    let matching: Vec<&str> = lines
        .iter()
        .map(|l| l["content_id"].as_str().unwrap())
        .collect();
    for id in ["chaplin", "lowbitrate", "scaled", "mirror"] {
        assert!(
            matching.contains(&id),
            "{id} does not match the known video: {lines:?}"
        );
    }
    for l in &lines {
        let mirrored = l["content_id"] == "mirror";
        assert_eq!(l["matches"][0]["mirrored"], mirrored, "{l}");
    }
    assert!(!matching.contains(&"example") && !matching.contains(&"smpte-2997"));
}
