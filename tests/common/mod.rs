#![allow(dead_code)]
//! Shared helpers for `reelframe` integration tests.
//!
//! Each test binary declares `mod common;` and uses the subset it needs. The
//! helpers never touch the `reelframe` library API: they find the binary via
//! `CARGO_BIN_EXE_reelframe` and use the `ffmpeg` / `ffprobe` CLIs (which must be
//! on `PATH`) as the independent reference implementation.
//!
//! Timestamp conventions used throughout:
//! * every `pts` is an integer in the *stream* time base, exactly as stored in the
//!   file (ffprobe reports raw timestamps; no start-time shifting);
//! * a time base is a `(num, den)` pair, e.g. `(1, 12800)`;
//! * millisecond conversions round to nearest, halves away from zero (the same
//!   rounding as `av_rescale_q`).

pub mod http_faults;
pub mod s3_server;
pub mod serve_process;

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

// ---------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------

/// Root of the crate under test (`CARGO_MANIFEST_DIR`).
pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The project's own sample clips: `<repo>/samples`.
pub fn samples_dir() -> PathBuf {
    repo_dir().join("samples")
}

/// Path of `samples/<name>`; panics with a clear message if the file is missing.
pub fn sample(name: &str) -> PathBuf {
    let p = samples_dir().join(name);
    assert!(
        p.is_file(),
        "sample file {} is missing (expected in {}; see samples/LICENSES.md)",
        name,
        samples_dir().display()
    );
    p
}

/// The repository's helper scripts: `<repo>/scripts` (test-input generators, baselines).
pub fn scripts_dir() -> PathBuf {
    repo_dir().join("scripts")
}

// ---------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------

/// Path of the `reelframe` binary built by cargo for this test run.
pub fn reelframe_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_reelframe"))
}

/// A `Command` for the `reelframe` binary, preconfigured like [`run_reelframe`]
/// (stdin null, `NO_COLOR=1`, and loopback exempt from any proxy the environment sets, since the
/// tests' servers are on 127.0.0.1), for tests that need to set a working directory, extra
/// environment or stdin themselves.
pub fn reelframe_command() -> Command {
    let mut cmd = Command::new(reelframe_bin());
    cmd.stdin(Stdio::null())
        .env("NO_COLOR", "1")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
    // a CI host that is itself an array task must not shard the tests' runs; a test that means
    // to shard sets these itself
    for name in [
        "JOB_COMPLETION_INDEX",
        "AWS_BATCH_JOB_ARRAY_INDEX",
        "AWS_BATCH_JOB_ARRAY_SIZE",
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_MIN",
        "SLURM_ARRAY_TASK_COUNT",
    ] {
        cmd.env_remove(name);
    }
    cmd
}

/// Runs `reelframe` with `args` (stdin null, env `NO_COLOR=1`, stdout and stderr
/// captured) and returns its output. Panics only if the process cannot be spawned.
///
/// Accepts anything iterable over `AsRef<OsStr>`: `&["extract", "a.mp4"]`,
/// `vec![path.as_os_str(), OsStr::new("--json")]`, `[&dir_os_string]`, ...
pub fn run_reelframe<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    reelframe_command()
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", reelframe_bin().display()))
}

/// A path as an argument: `p.display().to_string()`.
pub fn s(p: &Path) -> String {
    p.display().to_string()
}

/// A finished process's stderr, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The validator of `schema/record.schema.json`, which every record must pass.
pub fn schema_validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(
        &fs::read_to_string(repo_dir().join("schema/record.schema.json")).unwrap(),
    )
    .unwrap();
    jsonschema::validator_for(&schema).expect("schema compiles")
}

/// Fails the test, naming every violation and the record, unless `record` passes `validator`.
pub fn assert_valid(validator: &jsonschema::Validator, record: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(record)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "record violates schema: {errors:?}\n{record}"
    );
}

/// Runs the `ffmpeg` CLI with `args` (quiet, overwriting, no stdin) and fails the test, with
/// ffmpeg's own error, if it fails: for tests that make their clips at test time.
pub fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts `reelframe extract -q --input - -o OUT ARGS…` with its list on a pipe (stderr piped
/// too) and returns once it holds OUT's records lock (`OUT/records.jsonl.lock` says
/// `pid N running`, N its pid, not that of an earlier owner that was killed):
/// it keeps the output until the test closes its stdin, so an overlap with it is certain, not a
/// matter of timing.
pub fn extract_holding_output(out: &Path, args: &[&str]) -> std::process::Child {
    let child = reelframe_command()
        .args(["extract", "-q", "--input", "-", "-o"])
        .arg(out)
        .args(args)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lock = out.join("records.jsonl.lock");
    let held = format!("pid {} running", child.id());
    let started = std::time::Instant::now();
    while !fs::read_to_string(&lock)
        .unwrap_or_default()
        .contains(&held)
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "extract never took the lock {}",
            lock.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child
}

/// A loopback port that refuses connections for as long as this lives: its socket is bound but
/// never listens. (The port of a listener just closed is free for any other program's next
/// listener, which would then answer in the test's place.)
pub struct RefusedPort {
    _socket: std::os::fd::OwnedFd,
    /// The port number.
    pub port: u16,
}

/// See [`RefusedPort`].
pub fn refused_port() -> RefusedPort {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    // SAFETY (test): socket(2) makes a new descriptor, owned at once; bind(2) and getsockname(2)
    // read and write a local sockaddr_in of the length given.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let socket = OwnedFd::from_raw_fd(fd);
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let bound = libc::bind(
            socket.as_raw_fd(),
            (&raw const addr).cast::<libc::sockaddr>(),
            len,
        );
        assert_eq!(bound, 0, "bind: {}", std::io::Error::last_os_error());
        let named = libc::getsockname(
            socket.as_raw_fd(),
            (&raw mut addr).cast::<libc::sockaddr>(),
            &mut len,
        );
        assert_eq!(named, 0, "getsockname: {}", std::io::Error::last_os_error());
        RefusedPort {
            _socket: socket,
            port: u16::from_be(addr.sin_port),
        }
    }
}

// ---------------------------------------------------------------------------
// ffprobe
// ---------------------------------------------------------------------------

/// The video stream chosen by [`ffprobe_video_stream`].
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeStream {
    /// Absolute stream index in the container.
    pub index: usize,
    /// ffprobe `codec_name`, e.g. `"h264"`, `"vp9"`.
    pub codec: String,
    /// Coded width in pixels (before any display rotation).
    pub width: u32,
    /// Coded height in pixels (before any display rotation).
    pub height: u32,
    /// Stream time base as `(num, den)`.
    pub time_base: (i64, i64),
    /// ffprobe's `rotation` of the display-matrix side data, in degrees, exactly
    /// as ffprobe prints it (`av_display_rotation_get`, counter-clockwise; e.g.
    /// fire2.mp4 reports `-180`, a phone "rotate=90" clip reports `-90`); 0 if
    /// the stream has no display matrix. See [`ProbeStream::rotation_cw`].
    pub rotation: i32,
    /// ffprobe `start_pts` of the stream, if known.
    pub start_pts: Option<i64>,
}

impl ProbeStream {
    /// Clockwise rotation (0, 90, 180 or 270) that ffmpeg's autorotation applies
    /// to make frames upright: `(-rotation) mod 360`, snapped to a multiple of 90.
    pub fn rotation_cw(&self) -> i32 {
        let r = (-self.rotation).rem_euclid(360);
        ((r + 45) / 90 * 90) % 360
    }

    /// `(width, height)` of upright (autorotated) frames: swapped for 90/270.
    pub fn upright_size(&self) -> (u32, u32) {
        match self.rotation_cw() {
            90 | 270 => (self.height, self.width),
            _ => (self.width, self.height),
        }
    }
}

/// Runs `ffprobe` with `args` followed by `path` and parses its JSON output;
/// panics with ffprobe's stderr on failure.
fn ffprobe_json(args: &[&str], path: &Path) -> Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-of", "json"])
        .args(args)
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run ffprobe (is it on PATH?): {e}"));
    assert!(
        out.status.success(),
        "ffprobe {:?} {} failed ({}): {}",
        args,
        path.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "ffprobe {:?} {} printed invalid JSON: {e}\n{}",
            args,
            path.display(),
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Reads an integer field that ffprobe may print as a JSON number or a string
/// (ffprobe prints e.g. packet `size` as `"20368"`). `None` if absent or `N/A`.
fn json_i64(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.round() as i64)),
        Value::String(s) => s
            .parse::<i64>()
            .ok()
            .or_else(|| s.parse::<f64>().ok().map(|f| f.round() as i64)),
        _ => None,
    }
}

/// Reads a string field (`None` if absent).
fn json_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)?.as_str()
}

/// Parses a rational such as `"1/12800"`.
fn parse_rational(s: &str) -> Option<(i64, i64)> {
    let (n, d) = s.split_once('/')?;
    Some((n.trim().parse().ok()?, d.trim().parse().ok()?))
}

/// Probes `path` and returns the video stream ffmpeg would pick: the first video
/// stream (`-select_streams v`, i.e. `v:0` order) that is not an attached picture
/// (cover art, `disposition.attached_pic == 1`). Panics if there is none.
pub fn ffprobe_video_stream(path: &Path) -> ProbeStream {
    let json = ffprobe_json(
        &[
            "-select_streams",
            "v",
            "-show_entries",
            "stream=index,codec_name,width,height,time_base,start_pts:stream_disposition=attached_pic:stream_side_data=rotation",
        ],
        path,
    );
    let streams = json["streams"].as_array().cloned().unwrap_or_default();
    let s = streams
        .iter()
        .find(|s| json_i64(&s["disposition"], "attached_pic").unwrap_or(0) == 0)
        .unwrap_or_else(|| {
            panic!(
                "{} has no video stream (other than attached pictures): {json}",
                path.display()
            )
        });
    let rotation = s["side_data_list"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|sd| json_i64(sd, "rotation"))
        .unwrap_or(0) as i32;
    let time_base = json_str(s, "time_base")
        .and_then(parse_rational)
        .unwrap_or_else(|| panic!("{}: stream has no time_base: {s}", path.display()));
    ProbeStream {
        index: json_i64(s, "index").expect("stream index") as usize,
        codec: json_str(s, "codec_name").unwrap_or("").to_string(),
        width: json_i64(s, "width").unwrap_or(0) as u32,
        height: json_i64(s, "height").unwrap_or(0) as u32,
        time_base,
        rotation,
        start_pts: json_i64(s, "start_pts"),
    }
}

/// One decoded video frame as reported by ffprobe.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeFrame {
    /// Frame timestamp in the stream time base: ffprobe's frame `pts`, or its
    /// `best_effort_timestamp` when `pts` is absent (`N/A`). (On every corpus
    /// clip the two are identical; the ffmpeg CLI itself uses the best-effort
    /// timestamp as the frame pts.)
    pub pts: i64,
    /// `pts` in seconds, computed as `pts * tb_num / tb_den`.
    pub pts_time: f64,
    /// Whether the decoder flagged the frame as a key frame (`key_frame == 1`).
    pub key: bool,
    /// Picture type letter: `"I"`, `"P"`, `"B"`, ... (`"?"` if unknown).
    pub pict_type: String,
}

/// Every decoded frame of the [`ffprobe_video_stream`] stream of `path`, in
/// presentation order (stable sort by `pts`). Decodes the whole stream, so it
/// costs about as much as decoding the clip once.
///
/// Uses `ffprobe -v error -select_streams <index> -show_entries
/// frame=pts,pts_time,best_effort_timestamp,best_effort_timestamp_time,key_frame,pict_type -of json`.
/// Panics if a frame has neither `pts` nor `best_effort_timestamp`.
pub fn ffprobe_frames(path: &Path) -> Vec<ProbeFrame> {
    let stream = ffprobe_video_stream(path);
    let (num, den) = stream.time_base;
    let sel = stream.index.to_string();
    let json = ffprobe_json(
        &[
            "-select_streams",
            &sel,
            "-show_entries",
            "frame=pts,pts_time,best_effort_timestamp,best_effort_timestamp_time,key_frame,pict_type",
        ],
        path,
    );
    let mut frames: Vec<ProbeFrame> = json["frames"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, f)| {
            let pts = json_i64(f, "pts")
                .or_else(|| json_i64(f, "best_effort_timestamp"))
                .unwrap_or_else(|| {
                    panic!(
                        "{}: decoded frame #{i} has no timestamp: {f}",
                        path.display()
                    )
                });
            ProbeFrame {
                pts,
                pts_time: pts as f64 * num as f64 / den as f64,
                key: json_i64(f, "key_frame") == Some(1),
                pict_type: json_str(f, "pict_type").unwrap_or("?").to_string(),
            }
        })
        .collect();
    frames.sort_by_key(|f| f.pts);
    frames
}

/// One demuxed packet as reported by ffprobe.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbePacket {
    /// Packet pts in the stream time base (falls back to `dts` if pts is `N/A`).
    pub pts: i64,
    /// Packet dts in the stream time base, if present.
    pub dts: Option<i64>,
    /// Key packet (`flags` contains `K`).
    pub key: bool,
    /// Payload size in bytes.
    pub size: usize,
}

/// Packets of the [`ffprobe_video_stream`] stream of `path`, in file (demux)
/// order. Cheap: no decoding. Panics if a packet has neither pts nor dts.
pub fn ffprobe_packets(path: &Path) -> Vec<ProbePacket> {
    let stream = ffprobe_video_stream(path);
    let sel = stream.index.to_string();
    let json = ffprobe_json(
        &[
            "-select_streams",
            &sel,
            "-show_entries",
            "packet=pts,dts,flags,size",
        ],
        path,
    );
    json["packets"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, p)| {
            let dts = json_i64(p, "dts");
            ProbePacket {
                pts: json_i64(p, "pts").or(dts).unwrap_or_else(|| {
                    panic!("{}: packet #{i} has no timestamp: {p}", path.display())
                }),
                dts,
                key: json_str(p, "flags").is_some_and(|f| f.contains('K')),
                size: json_i64(p, "size").unwrap_or(0) as usize,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Timestamp arithmetic
// ---------------------------------------------------------------------------

/// "The frame displayed at t": with `t = target_ms` milliseconds after the
/// stream's first frame (`first_pts`), returns the last frame in presentation
/// order whose pts is `<= first_pts + t` (converted exactly to `time_base`), i.e.
/// the frame still on screen at that instant. Returns the first frame if `t`
/// precedes every frame, and the last frame for any `t` past the end.
///
/// The comparison is exact integer arithmetic (i128):
/// `pts * num * 1000 <= target_ms * den + first_pts * num * 1000`.
/// `frames` must be sorted by pts (as [`ffprobe_frames`] returns them); panics
/// if it is empty.
pub fn frame_displayed_at(
    frames: &[ProbeFrame],
    first_pts: i64,
    time_base: (i64, i64),
    target_ms: i64,
) -> &ProbeFrame {
    assert!(!frames.is_empty(), "frame_displayed_at: no frames");
    let (num, den) = (time_base.0 as i128, time_base.1 as i128);
    assert!(num > 0 && den > 0, "invalid time base {time_base:?}");
    let limit = target_ms as i128 * den + first_pts as i128 * num * 1000;
    let n = frames.partition_point(|f| f.pts as i128 * num * 1000 <= limit);
    &frames[n.saturating_sub(1)]
}

/// Converts `pts` (in `time_base`) to milliseconds, rounding to the nearest
/// integer with halves rounded away from zero — the same as
/// `av_rescale_q(pts, time_base, 1/1000)` (AV_ROUND_NEAR_INF). Exact (i128).
pub fn pts_to_ms(pts: i64, time_base: (i64, i64)) -> i64 {
    let (num, den) = (time_base.0 as i128, time_base.1 as i128);
    assert!(num > 0 && den > 0, "invalid time base {time_base:?}");
    let n = pts as i128 * num * 1000;
    // floor((2|n| + den) / (2 den)) rounds |n|/den to nearest, halves up.
    let q = (2 * n.abs() + den) / (2 * den);
    (if n < 0 { -q } else { q }) as i64
}

// ---------------------------------------------------------------------------
// ffmpeg reference frames
// ---------------------------------------------------------------------------

/// Has the ffmpeg CLI decode the frame of `video`'s first video stream whose
/// stream pts equals `pts`, apply ffmpeg's default autorotation (display
/// matrix), and write it losslessly as an rgb24 PNG to `out_png`.
///
/// Runs `ffmpeg -nostdin -v error -y -copyts -i VIDEO -map 0:v:0
/// -vf select='eq(pts\,PTS)' -vsync passthrough -frames:v 1 -update 1
/// -pix_fmt rgb24 OUT.png`. `-copyts` matters: without it ffmpeg shifts
/// timestamps by the file's start time, so `select` would see different pts
/// values (and silently write nothing) on files that don't start at 0. The
/// autorotation filters (hflip/vflip/transpose) keep pts, so `select` still sees
/// the stream pts.
///
/// Panics with ffmpeg's stderr if ffmpeg fails, or if no non-empty PNG was
/// written (ffmpeg exits 0 when no frame has that pts).
pub fn ffmpeg_reference_png(video: &Path, pts: i64, out_png: &Path) {
    let _ = fs::remove_file(out_png);
    // Select the frame by its stream pts, then correct a non-square sample aspect ratio the way
    // reelframe does (width scaled, rounded to nearest) so sizes match.
    let filter = format!("select='eq(pts\\,{pts})',scale='round(iw*sar)':ih,setsar=1");
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-copyts", "-i"])
        .arg(video)
        .args(["-map", "0:v:0", "-vf", &filter])
        .args(["-vsync", "passthrough", "-frames:v", "1", "-update", "1"])
        .args(["-pix_fmt", "rgb24", "-f", "image2", "-c:v", "png"])
        .arg(out_png)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run ffmpeg (is it on PATH?): {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "ffmpeg reference decode of {} at pts {pts} failed ({}): {stderr}",
        video.display(),
        out.status
    );
    let len = fs::metadata(out_png).map(|m| m.len()).unwrap_or(0);
    assert!(
        len > 0,
        "ffmpeg wrote no frame for {} at pts {pts} (no decoded frame has that pts?) -> {}; stderr: {stderr}",
        video.display(),
        out_png.display()
    );
}

/// [`ffmpeg_reference_png`] into a uniquely named PNG inside `scratch_dir`, then
/// loads it as an RGB image (upright, rgb24).
pub fn ffmpeg_reference_rgb(video: &Path, pts: i64, scratch_dir: &Path) -> image::RgbImage {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let stem = video
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "video".into());
    let png = scratch_dir.join(format!(
        "ref_{stem}_{pts}_{}_{}.png",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    ffmpeg_reference_png(video, pts, &png);
    load_rgb(&png)
}

// ---------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------

/// Loads any image the `image` crate can read (JPEG, PNG) as 8-bit RGB; panics
/// naming the file on failure.
pub fn load_rgb(path: &Path) -> image::RgbImage {
    image::open(path)
        .unwrap_or_else(|e| panic!("cannot load image {}: {e}", path.display()))
        .to_rgb8()
}

/// PSNR in dB over all three channels of every pixel, peak 255:
/// `10 * log10(255^2 / MSE)`. `f64::INFINITY` when the images are identical.
/// Panics (printing both sizes) if the dimensions differ.
pub fn psnr(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    assert_eq!(
        a.dimensions(),
        b.dimensions(),
        "psnr: image sizes differ: {}x{} vs {}x{}",
        a.width(),
        a.height(),
        b.width(),
        b.height()
    );
    let sse: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| {
            let d = x as i64 - y as i64;
            (d * d) as u64
        })
        .sum();
    if sse == 0 {
        return f64::INFINITY;
    }
    let mse = sse as f64 / a.as_raw().len() as f64;
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

/// Mean R, G, B (0..=255) over the whole image.
pub fn mean_rgb(img: &image::RgbImage) -> [f64; 3] {
    region_mean_rgb(img, 0.0, 0.0, 1.0, 1.0)
}

/// Mean R, G, B over a rectangle given as fractions of the image size:
/// columns `floor(x0*w) .. ceil(x1*w)`, rows `floor(y0*h) .. ceil(y1*h)` (end
/// exclusive, clamped to the image, at least one pixel each way). E.g.
/// `(0.0, 0.0, 1.0, 0.25)` is the top quarter. Panics if `x0 >= x1` or `y0 >= y1`.
pub fn region_mean_rgb(img: &image::RgbImage, x0: f64, y0: f64, x1: f64, y1: f64) -> [f64; 3] {
    assert!(x0 < x1 && y0 < y1, "empty region ({x0},{y0})-({x1},{y1})");
    let (w, h) = img.dimensions();
    assert!(w > 0 && h > 0, "empty image");
    let span = |a: f64, b: f64, n: u32| {
        let s = ((a.clamp(0.0, 1.0) * n as f64).floor() as u32).min(n - 1);
        let e = ((b.clamp(0.0, 1.0) * n as f64).ceil() as u32).clamp(s + 1, n);
        (s, e)
    };
    let (xs, xe) = span(x0, x1, w);
    let (ys, ye) = span(y0, y1, h);
    let mut sum = [0u64; 3];
    for y in ys..ye {
        for x in xs..xe {
            let p = img.get_pixel(x, y).0;
            for c in 0..3 {
                sum[c] += p[c] as u64;
            }
        }
    }
    let n = ((xe - xs) as u64 * (ye - ys) as u64) as f64;
    [sum[0] as f64 / n, sum[1] as f64 / n, sum[2] as f64 / n]
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

/// Runs `bash <repo>/scripts/make_broken.sh DIR` (deterministic broken inputs
/// derived from `samples/chaplin.mp4`; needs `ffmpeg` and `python3`) and returns the
/// files it produced in `dir`, sorted, excluding any `image.jpg` leftover. Panics
/// with the script's stderr on failure.
pub fn make_broken(dir: &Path) -> Vec<PathBuf> {
    let script = scripts_dir().join("make_broken.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run bash {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} {} failed ({}): {}",
        script.display(),
        dir.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file() && p.file_name() != Some(OsStr::new("image.jpg")))
        .collect();
    files.sort();
    files
}

/// Parses a JSON-Lines file: one JSON value per line. Panics naming the file and
/// the 1-based line number (and its text) on invalid JSON; blank lines count as
/// invalid. A final trailing newline is fine.
pub fn read_jsonl(path: &Path) -> Vec<Value> {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line).unwrap_or_else(|e| {
                panic!("{}:{}: invalid JSON ({e}): {line:?}", path.display(), i + 1)
            })
        })
        .collect()
}

/// Number of regular files under `dir` (recursively) whose extension equals
/// `ext`, compared ASCII case-insensitively; `ext` may be given with or without
/// the leading dot (`"jpg"` or `".jpg"`). A missing `dir` counts as 0 files.
pub fn count_files_with_ext(dir: &Path, ext: &str) -> usize {
    let ext = ext.trim_start_matches('.');
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .map(|e| e.expect("dir entry").path())
        .map(|p| {
            if p.is_dir() {
                count_files_with_ext(&p, ext)
            } else {
                let hit = p.is_file()
                    && p.extension()
                        .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case(ext));
                usize::from(hit)
            }
        })
        .sum()
}

/// Writes `rows` as JSON lines to `path`.
pub fn write_jsonl(path: &Path, rows: &[Value]) {
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}
