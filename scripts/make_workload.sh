#!/usr/bin/env bash
# Derive a TikTok-like benchmark workload from the real clips in the repository's samples/
# (chaplin.mp4, big_buck_bunny_0_30.webm, example.mp4, fire2.mp4; ~3-6 min on 2 cores).
# Vertical 720x1280 and 1080x1920, H.264 High with B-frames, 30 fps, AAC; some HEVC; lengths 8-90 s
# (several past the 60 s cap); one with 90-degree rotation metadata; one variable-frame-rate phone clip.
# usage: make_workload.sh OUT_DIR [--small]   (--small: 4 short clips, ~16 MB, for quick runs)
# Deterministic: reruns give the same bytes (checked with ffmpeg 5.1). Every encoder runs on one thread
# (x264's frame threads gave different bytes from run to run) and up to nproc encodes run side by side;
# no metadata or version strings are written, and swscale takes its bit-exact path so the CPU's SIMD
# extensions do not matter. Another ffmpeg, x264 or x265 version may give other bytes.
set -euo pipefail
out=${1:?usage: make_workload.sh OUT_DIR [--small]}
small=${2:-}
[[ -z $small || $small == --small ]] || { echo "usage: make_workload.sh OUT_DIR [--small]" >&2; exit 2; }
src=$(cd "$(dirname "$0")/../samples" && pwd)
command -v ffmpeg >/dev/null || { echo "make_workload.sh: ffmpeg not found" >&2; exit 1; }
mkdir -p "$out"
ff() { ffmpeg -nostdin -loglevel error -y "$@"; }
bx=(-map_metadata -1 -fflags +bitexact -flags:v +bitexact -flags:a +bitexact)
sws=accurate_rnd+bitexact

# run CMD...: in the background, at most nproc at a time; the exit statuses are checked at the end
max_jobs=$(nproc)
pids=()
run() {
  while (($(jobs -rp | wc -l) >= max_jobs)); do wait -n || true; done
  "$@" &
  pids+=($!)
}

# name seconds source WxH gop codec [extra...]: loop the source, centre-crop to 9:16, scale, encode
vertical() {
  local name=$1 secs=$2 input=$3 size=$4 gop=$5 codec=$6; shift 6
  local w=${size%x*} h=${size#*x}
  local enc=(-c:v libx264 -preset veryfast -profile:v high -crf 23 -bf 3 -threads 1)
  [[ $codec == hevc ]] && enc=(-c:v libx265 -preset ultrafast -crf 26 -tag:v hvc1 -x265-params log-level=error:frame-threads=1:pools=1)
  ff -stream_loop -1 -i "$src/$input" -f lavfi -i "sine=frequency=440:sample_rate=44100" -t "$secs" \
    -map 0:v:0 -map 1:a -vf "crop=ih*9/16:ih,scale=$w:$h:flags=lanczos+$sws,fps=30,format=yuv420p" \
    "${enc[@]}" -g "$gop" -c:a aac -b:a 64k "${bx[@]}" "$@" "$out/$name.mp4"
}

# landscape pixels + 90-degree display matrix, as phones write it
rotated() {
  local tmp=$out/tmp_rot.mp4
  ff -stream_loop -1 -i "$src/chaplin.mp4" -t 25 -an -vf "scale=1280:720:flags=bicubic+$sws,fps=30" -c:v libx264 \
    -preset veryfast -profile:v high -crf 23 -bf 3 -g 60 -threads 1 "${bx[@]}" "$tmp"
  # -display_rotation exists from ffmpeg 6.0 on; older ffmpeg (5.1) takes the legacy rotate tag
  ff -display_rotation 90 -i "$tmp" -c copy "${bx[@]}" "$out/tt11_rotated_25s.mp4" 2>/dev/null \
    || ff -i "$tmp" -c copy "${bx[@]}" -metadata:s:v:0 rotate=90 "$out/tt11_rotated_25s.mp4"
  rm -f "$tmp"
}

# the longest first, so the last encodes to start are short ones
run vertical tt04_720p_75s   75 big_buck_bunny_0_30.webm  720x1280   60 h264
if [[ $small != --small ]]; then
  run vertical tt06_720p_90s   90 example.mp4               720x1280  250 h264
  run vertical tt10_hevc_70s   70 big_buck_bunny_0_30.webm  720x1280  250 hevc
  run vertical tt05_1080p_62s  62 chaplin.mp4              1080x1920  120 h264
  run vertical tt08_1080p_45s  45 big_buck_bunny_0_30.webm 1080x1920   60 h264
fi
run vertical tt02_720p_35s   35 big_buck_bunny_0_30.webm  720x1280  250 h264
if [[ $small != --small ]]; then
  run vertical tt09_hevc_30s   30 chaplin.mp4               720x1280   60 hevc
  run rotated
fi
run vertical tt03_1080p_20s  20 example.mp4              1080x1920   60 h264
run vertical tt01_720p_12s   12 chaplin.mp4               720x1280   60 h264
if [[ $small != --small ]]; then
  run vertical tt07_720p_8s     8 big_buck_bunny_0_30.webm  720x1280   30 h264
  # the real phone clip (rotation 180, variable frame rate), looped by stream copy
  run ff -stream_loop 8 -i "$src/fire2.mp4" -c copy "${bx[@]}" "$out/tt12_phone_vfr.mp4"
fi
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
((failed == 0)) || { echo "make_workload.sh: an encode failed (see above)" >&2; exit 1; }
du -sh "$out"
