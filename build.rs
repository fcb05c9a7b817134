//! Checks for the FFmpeg development libraries and records the FFmpeg version built against.

use std::path::Path;

const APT_PACKAGES: &str = "libavcodec-dev libavformat-dev libavutil-dev libswscale-dev \
libavfilter-dev libavdevice-dev libswresample-dev clang pkg-config";

/// libavcodec 59 is FFmpeg 5.0; older releases are not supported.
const MIN_LIBAVCODEC_MAJOR: u32 = 59;

fn fail(why: &str) -> ! {
    eprintln!(
        "\nerror: reelframe needs the FFmpeg development libraries (FFmpeg 5.0 or newer, libavcodec >= {MIN_LIBAVCODEC_MAJOR}), \
found with pkg-config: {why}\n\
On Debian/Ubuntu install them with:\n\n    sudo apt-get install -y {APT_PACKAGES}\n"
    );
    panic!("FFmpeg development libraries missing or too old: {why}; install: apt-get install -y {APT_PACKAGES}");
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    let mut include_dirs = Vec::new();
    let mut avcodec_version = String::new();
    for lib in ["libavcodec", "libavformat", "libavutil", "libswscale"] {
        match pkg_config::Config::new().cargo_metadata(false).probe(lib) {
            Ok(found) => {
                if lib == "libavcodec" {
                    avcodec_version = found.version.clone();
                    let major: u32 = found
                        .version
                        .split('.')
                        .next()
                        .and_then(|m| m.parse().ok())
                        .unwrap_or(0);
                    if major < MIN_LIBAVCODEC_MAJOR {
                        fail(&format!("libavcodec {} is too old", found.version));
                    }
                }
                include_dirs.extend(found.include_paths);
            }
            Err(err) => fail(&format!("{lib} not found ({err})")),
        }
    }
    // The release version (e.g. 5.1.9-0+deb12u1) is in libavutil/ffversion.h.
    let release = include_dirs
        .iter()
        .chain(
            [
                Path::new("/usr/include").to_path_buf(),
                Path::new("/usr/local/include").to_path_buf(),
            ]
            .iter(),
        )
        .find_map(|dir| std::fs::read_to_string(dir.join("libavutil/ffversion.h")).ok())
        .and_then(|text| {
            text.lines().find_map(|l| {
                l.strip_prefix("#define FFMPEG_VERSION \"")
                    .map(|v| v.trim_end_matches('"').to_string())
            })
        });
    let version = match release {
        Some(r) => format!("{r}, libavcodec {avcodec_version}"),
        None => format!("libavcodec {avcodec_version}"),
    };
    println!("cargo:rustc-env=REELFRAME_FFMPEG_VERSION={version}");
}
