//! What bench runs: reelframe's modes (one `reelframe extract` child each) and the ffmpeg anchors
//! of `scripts/baselines.sh` (one ffmpeg per video), with their exact command lines, and which anchor
//! each mode is compared against.

use crate::error::InvalidValue;
use std::ffi::OsString;
use std::path::Path;

/// How a reelframe mode samples (the `extract` sampling flags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModeSampling {
    /// `--fps RATE`, the rate as written (`1`, `0.5`, `30000/1001`).
    Fps(String),
    /// `--frames N`.
    Frames(u32),
    /// `--keyframes`.
    Keyframes,
}

/// One reelframe configuration to measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mode {
    /// Which frames.
    pub sampling: ModeSampling,
    /// `--tolerance MS` passed to `extract`, when asked for.
    pub tolerance_ms: Option<u32>,
    /// Other `extract` flags from the mode's suffixes, as `(flag, value)`: `+hashes:none` is
    /// `--hashes none`, so a run can price one feature against the same run without it.
    pub flags: Vec<(String, String)>,
}

/// The `extract` flags a mode suffix may set (`+hashes:none`, `+contact-sheet:false`).
const SUFFIX_FLAGS: &[&str] = &["hashes", "contact-sheet"];

impl Mode {
    /// Exact 1 frame a second, bench's default.
    pub fn fps1() -> Mode {
        Mode {
            sampling: ModeSampling::Fps("1".into()),
            tolerance_ms: None,
            flags: Vec::new(),
        }
    }

    /// Parses a `--mode` value: `fps1` / `fps:R` / `fpsR`, `keyframes`, `frames10` /
    /// `frames:N`, or `tolerance:MS` / `toleranceMS` (1 fps with `--tolerance MS`). A fps mode
    /// may carry a tolerance as a suffix: `fps2+tolerance:250`; any mode may carry
    /// `+hashes:VALUE` or `+contact-sheet:VALUE`, passed to `extract` as flags.
    pub fn parse(text: &str) -> Result<Mode, InvalidValue> {
        let bad = || {
            InvalidValue(format!(
                "bad --mode {text:?} (expected fps1, fps:RATE, keyframes, frames:N or tolerance:MS)"
            ))
        };
        let mut parts = text.split('+');
        let base = parts.next().unwrap_or_default();
        let number = |rest: &str| rest.strip_prefix(':').unwrap_or(rest).to_string();
        let ms = |rest: &str| number(rest).parse::<u32>().map_err(|_| bad());
        let mut mode = if base == "keyframes" {
            Mode {
                sampling: ModeSampling::Keyframes,
                tolerance_ms: None,
                flags: Vec::new(),
            }
        } else if let Some(rest) = base.strip_prefix("frames") {
            let n: u32 = number(rest).parse().map_err(|_| bad())?;
            if n == 0 {
                return Err(bad());
            }
            Mode {
                sampling: ModeSampling::Frames(n),
                tolerance_ms: None,
                flags: Vec::new(),
            }
        } else if let Some(rest) = base.strip_prefix("fps") {
            let rate = number(rest);
            crate::pipeline::sample::SamplingMode::parse_fps(&rate).map_err(|_| bad())?;
            Mode {
                sampling: ModeSampling::Fps(rate),
                tolerance_ms: None,
                flags: Vec::new(),
            }
        } else if let Some(rest) = base.strip_prefix("tolerance") {
            Mode {
                sampling: ModeSampling::Fps("1".into()),
                tolerance_ms: Some(ms(rest)?),
                flags: Vec::new(),
            }
        } else {
            return Err(bad());
        };
        for suffix in parts {
            if let Some(rest) = suffix.strip_prefix("tolerance") {
                if !matches!(mode.sampling, ModeSampling::Fps(_)) || mode.tolerance_ms.is_some() {
                    return Err(bad());
                }
                mode.tolerance_ms = Some(ms(rest)?);
                continue;
            }
            let (flag, value) = suffix.split_once(':').ok_or_else(bad)?;
            let valid = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
            if !SUFFIX_FLAGS.contains(&flag)
                || value.is_empty()
                || !value.chars().all(valid)
                || mode.flags.iter().any(|(f, _)| f == flag)
            {
                return Err(bad());
            }
            mode.flags.push((flag.to_string(), value.to_string()));
        }
        Ok(mode)
    }

    /// The method's name in reports: `reelframe-fps1`, `reelframe-keyframes`,
    /// `reelframe-frames10`, `reelframe-fps1-tolerance500`.
    pub fn name(&self) -> String {
        let base = match &self.sampling {
            ModeSampling::Fps(rate) => format!("reelframe-fps{rate}"),
            ModeSampling::Frames(n) => format!("reelframe-frames{n}"),
            ModeSampling::Keyframes => "reelframe-keyframes".into(),
        };
        let mut name = match self.tolerance_ms {
            Some(ms) => format!("{base}-tolerance{ms}"),
            None => base,
        };
        for (flag, value) in &self.flags {
            name.push_str(&format!("-{flag}-{value}"));
        }
        name
    }

    /// The sampling flags for `reelframe extract`.
    pub fn extract_args(&self) -> Vec<String> {
        let mut args = match &self.sampling {
            ModeSampling::Fps(rate) => vec!["--fps".into(), rate.clone()],
            ModeSampling::Frames(n) => vec!["--frames".into(), n.to_string()],
            ModeSampling::Keyframes => vec!["--keyframes".into()],
        };
        if let Some(ms) = self.tolerance_ms {
            args.extend(["--tolerance".into(), ms.to_string()]);
        }
        for (flag, value) in &self.flags {
            args.extend([format!("--{flag}"), value.clone()]);
        }
        args
    }

    /// The anchors this mode is compared against, most relevant first: fps modes against the
    /// ffmpeg fps filter at the same rate and the two decode floors; keyframes against ffmpeg's
    /// keyframes-only run alone (the same task); uniform frames against the floors.
    pub fn compared_with(&self) -> Vec<Anchor> {
        match &self.sampling {
            ModeSampling::Fps(rate) => vec![
                Anchor::FpsParallel(rate.clone()),
                Anchor::FpsSerial(rate.clone()),
                Anchor::DecodeFloor,
                Anchor::DecodeRefFloor,
            ],
            ModeSampling::Keyframes => vec![Anchor::KeyframesParallel],
            ModeSampling::Frames(_) => vec![Anchor::DecodeFloor, Anchor::DecodeRefFloor],
        }
    }
}

/// A baseline from `scripts/baselines.sh`: one ffmpeg process per video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    /// `-vf fps=R` with default threading, one video at a time (what most people type).
    FpsSerial(String),
    /// `-threads 1 -vf fps=R`, one ffmpeg per job (the tuned shell pipeline).
    FpsParallel(String),
    /// `-threads 1 -skip_frame nokey`, keyframes only.
    KeyframesParallel,
    /// `-threads 1 -f null`: decoding every frame, nothing scaled or encoded.
    DecodeFloor,
    /// `-threads 1 -skip_frame noref -f null`: decoding reference frames only.
    DecodeRefFloor,
}

impl Anchor {
    /// The anchors to run for `modes`: the fps filter at each mode's rate (1 fps at least),
    /// serially too when `serial`, then keyframes and the two floors, as `scripts/baselines.sh` runs them.
    pub fn for_modes(modes: &[Mode], serial: bool) -> Vec<Anchor> {
        let mut rates: Vec<String> = Vec::new();
        for mode in modes {
            if let ModeSampling::Fps(rate) = &mode.sampling {
                if !rates.contains(rate) {
                    rates.push(rate.clone());
                }
            }
        }
        // with no fps mode, the 1 fps filter is still the reference people know, unless only
        // keyframes are measured (they are compared with ffmpeg's keyframes run alone)
        let only_keyframes = modes
            .iter()
            .all(|m| matches!(m.sampling, ModeSampling::Keyframes));
        if rates.is_empty() && !only_keyframes {
            rates.push("1".into());
        }
        let mut anchors = Vec::new();
        for rate in rates {
            if serial {
                anchors.push(Anchor::FpsSerial(rate.clone()));
            }
            anchors.push(Anchor::FpsParallel(rate));
        }
        anchors.extend([
            Anchor::KeyframesParallel,
            Anchor::DecodeFloor,
            Anchor::DecodeRefFloor,
        ]);
        anchors
    }

    /// The name `scripts/baselines.sh` prints.
    pub fn name(&self) -> String {
        match self {
            Anchor::FpsSerial(rate) => format!("ffmpeg-fps{rate}-serial"),
            Anchor::FpsParallel(rate) => format!("ffmpeg-fps{rate}-parallel"),
            Anchor::KeyframesParallel => "ffmpeg-keyframes-parallel".into(),
            Anchor::DecodeFloor => "decode-only-floor".into(),
            Anchor::DecodeRefFloor => "decode-ref-only-floor".into(),
        }
    }

    /// How many ffmpeg processes run at once, given bench's job count.
    pub fn jobs(&self, jobs: usize) -> usize {
        match self {
            Anchor::FpsSerial(_) => 1,
            _ => jobs,
        }
    }

    /// ffmpeg's arguments for one video, writing JPEGs (if any) into `out` as `%04d.jpg`.
    /// `cap_seconds` is `-t` (omitted when `None`, i.e. no cap).
    pub fn ffmpeg_args(
        &self,
        input: &Path,
        out: &Path,
        cap_seconds: Option<&str>,
    ) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["-nostdin".into(), "-loglevel".into(), "error".into()];
        if !matches!(self, Anchor::FpsSerial(_)) {
            args.extend(["-threads".into(), "1".into()]);
        }
        match self {
            Anchor::KeyframesParallel => args.extend(["-skip_frame".into(), "nokey".into()]),
            Anchor::DecodeRefFloor => args.extend(["-skip_frame".into(), "noref".into()]),
            _ => {}
        }
        if let Some(cap) = cap_seconds {
            args.extend(["-t".into(), cap.into()]);
        }
        args.extend(["-i".into(), input.as_os_str().to_owned()]);
        let pattern = out.join("%04d.jpg").into_os_string();
        match self {
            Anchor::FpsSerial(rate) | Anchor::FpsParallel(rate) => args.extend([
                "-vf".into(),
                format!("fps={rate}").into(),
                "-q:v".into(),
                "3".into(),
                pattern,
            ]),
            Anchor::KeyframesParallel => args.extend([
                "-fps_mode".into(),
                "passthrough".into(),
                "-q:v".into(),
                "3".into(),
                pattern,
            ]),
            Anchor::DecodeFloor | Anchor::DecodeRefFloor => {
                args.extend(["-f".into(), "null".into(), "-".into()])
            }
        }
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(anchor: &Anchor) -> String {
        anchor
            .ffmpeg_args(Path::new("in.mp4"), Path::new("o"), Some("60"))
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn anchors_reproduce_the_command_lines_of_baselines_sh() {
        assert_eq!(
            line(&Anchor::FpsSerial("1".into())),
            "-nostdin -loglevel error -t 60 -i in.mp4 -vf fps=1 -q:v 3 o/%04d.jpg"
        );
        assert_eq!(
            line(&Anchor::FpsParallel("1".into())),
            "-nostdin -loglevel error -threads 1 -t 60 -i in.mp4 -vf fps=1 -q:v 3 o/%04d.jpg"
        );
        assert_eq!(
            line(&Anchor::KeyframesParallel),
            "-nostdin -loglevel error -threads 1 -skip_frame nokey -t 60 -i in.mp4 -fps_mode passthrough -q:v 3 o/%04d.jpg"
        );
        assert_eq!(
            line(&Anchor::DecodeFloor),
            "-nostdin -loglevel error -threads 1 -t 60 -i in.mp4 -f null -"
        );
        assert_eq!(
            line(&Anchor::DecodeRefFloor),
            "-nostdin -loglevel error -threads 1 -skip_frame noref -t 60 -i in.mp4 -f null -"
        );
        let uncapped = Anchor::DecodeFloor.ffmpeg_args(Path::new("a"), Path::new("o"), None);
        assert!(!uncapped.iter().any(|a| a == "-t"));
    }

    #[test]
    fn modes_parse_and_name_themselves() {
        let cases = [
            ("fps1", "reelframe-fps1", "--fps 1"),
            ("fps:0.5", "reelframe-fps0.5", "--fps 0.5"),
            ("keyframes", "reelframe-keyframes", "--keyframes"),
            ("frames10", "reelframe-frames10", "--frames 10"),
            ("frames:3", "reelframe-frames3", "--frames 3"),
            (
                "tolerance:500",
                "reelframe-fps1-tolerance500",
                "--fps 1 --tolerance 500",
            ),
            (
                "fps2+tolerance:250",
                "reelframe-fps2-tolerance250",
                "--fps 2 --tolerance 250",
            ),
            (
                "fps1+hashes:none",
                "reelframe-fps1-hashes-none",
                "--fps 1 --hashes none",
            ),
            (
                "keyframes+contact-sheet:false+hashes:pdq",
                "reelframe-keyframes-contact-sheet-false-hashes-pdq",
                "--keyframes --contact-sheet false --hashes pdq",
            ),
        ];
        for (text, name, args) in cases {
            let mode = Mode::parse(text).unwrap();
            assert_eq!(mode.name(), name, "{text}");
            assert_eq!(mode.extract_args().join(" "), args, "{text}");
        }
        for bad in [
            "",
            "fps",
            "fpsx",
            "frames0",
            "keyframes+tolerance:5",
            "slow",
            "tolerance:x",
            "fps1+colour:red",
            "fps1+hashes:",
            "fps1+hashes:none+hashes:pdq",
            "fps1+hashes:a b",
        ] {
            assert!(Mode::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn anchors_match_the_modes_sampling() {
        let names = |modes: &[Mode], serial| {
            Anchor::for_modes(modes, serial)
                .iter()
                .map(Anchor::name)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&[Mode::fps1()], false),
            [
                "ffmpeg-fps1-parallel",
                "ffmpeg-keyframes-parallel",
                "decode-only-floor",
                "decode-ref-only-floor"
            ]
        );
        let half = Mode::parse("fps0.5").unwrap();
        let keyframes = Mode::parse("keyframes").unwrap();
        assert_eq!(
            names(&[half, keyframes.clone()], true)[..4],
            [
                "ffmpeg-fps0.5-serial",
                "ffmpeg-fps0.5-parallel",
                "ffmpeg-keyframes-parallel",
                "decode-only-floor"
            ]
        );
        assert_eq!(
            names(std::slice::from_ref(&keyframes), false),
            [
                "ffmpeg-keyframes-parallel",
                "decode-only-floor",
                "decode-ref-only-floor"
            ],
            "no 1 fps run for keyframes alone"
        );
        assert_eq!(
            keyframes.compared_with(),
            [Anchor::KeyframesParallel],
            "keyframes compare with ffmpeg's keyframes run only"
        );
    }
}
