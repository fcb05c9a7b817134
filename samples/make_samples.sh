#!/usr/bin/env bash
# Regenerate reelframe's bundled sample videos into this script's own folder (deterministic).
# Derived clips follow the recipe of scripts/make_workload.sh; real clips are plain copies.
# usage: make_samples.sh [SRC_DIR]   (SRC_DIR holds the real clips; it defaults to this script's own
# folder, which already has them, so by default only the derived clips are remade)
set -euo pipefail
if [[ ${1:-} == -h || ${1:-} == --help || $# -gt 1 ]]; then
  echo "usage: make_samples.sh [SRC_DIR]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "${1:-$here}" && pwd)
out=$here
command -v ffmpeg >/dev/null || { echo "make_samples.sh: ffmpeg not found" >&2; exit 1; }

# reproducible output: no input metadata, no encoder/version strings from the muxer or native encoders;
# encoders run single-threaded (x264 output with frame threads varied between runs here, and auto thread
# counts follow the core count, which the x264/x265 headers record),
# and swscale runs its bit-exact C path so the result does not depend on the CPU's SIMD extensions
bx=(-map_metadata -1 -fflags +bitexact -flags:v +bitexact -flags:a +bitexact)
ff() { ffmpeg -nostdin -loglevel error -y "$@"; }
tmp=$out/.tmp_rot.mp4
trap 'rm -f "$tmp"' EXIT

# name seconds source WxH gop codec crf audio_kbps [extra...]: loop the source, centre-crop to 9:16,
# scale (lanczos), 30 fps, yuv420p, encode; audio is a 440 Hz sine, AAC (as make_workload.sh's vertical)
vertical() {
  local name=$1 secs=$2 input=$3 size=$4 gop=$5 codec=$6 crf=$7 abr=$8; shift 8
  local w=${size%x*} h=${size#*x}
  local enc=(-c:v libx264 -preset veryfast -profile:v high -crf "$crf" -bf 3 -threads 1)
  [[ $codec == hevc ]] && enc=(-c:v libx265 -preset ultrafast -crf "$crf" -tag:v hvc1 -x265-params log-level=error:frame-threads=1:pools=1)
  ff -stream_loop -1 -i "$src/$input" -f lavfi -i "sine=frequency=440:sample_rate=44100" -t "$secs" \
    -map 0:v:0 -map 1:a -vf "crop=ih*9/16:ih,scale=$w:$h:flags=lanczos+accurate_rnd+bitexact,fps=30,format=yuv420p" \
    "${enc[@]}" -g "$gop" -c:a aac -b:a "$abr" "${bx[@]}" -movflags +faststart "$@" "$out/$name.mp4"
}

vertical portrait_h264_aac 12 chaplin.mp4              540x960 60 h264 28 64k
vertical long_62s          62 big_buck_bunny_0_30.webm 270x480 60 h264 32 24k
vertical hevc_portrait      6 chaplin.mp4              360x640 60 hevc 30 64k

# landscape 640x360 pixels + 90-degree display matrix, as phones write it (make_workload.sh's tt11)
ff -stream_loop -1 -i "$src/chaplin.mp4" -t 8 -an -vf "scale=640:360:flags=lanczos+accurate_rnd+bitexact,fps=30,format=yuv420p" -c:v libx264 \
  -preset veryfast -profile:v high -crf 28 -bf 3 -g 60 -threads 1 "${bx[@]}" "$tmp"
# -display_rotation exists from ffmpeg 6.0 on; older ffmpeg (5.1) takes the legacy rotate tag
ff -display_rotation 90 -i "$tmp" -c copy "${bx[@]}" "$out/rotated90.mp4" 2>/dev/null \
  || ff -i "$tmp" -c copy "${bx[@]}" -metadata:s:v:0 rotate=90 "$out/rotated90.mp4"

# real clips, unchanged (nothing to copy when they are read from this folder)
if [[ $src != "$out" ]]; then
  for f in fire2.mp4 no_duration.webm smpte-2997.mp4 big_buck_bunny_0_30.webm chaplin.mp4 example.mp4; do
    cp "$src/$f" "$out/$f"
    chmod 644 "$out/$f"
  done
fi
du -sh "$out"
