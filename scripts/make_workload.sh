#!/usr/bin/env bash
# Derive a TikTok-like benchmark workload from the real clips in the repository's samples/
# (chaplin.mp4, big_buck_bunny_0_30.webm, example.mp4, fire2.mp4; ~3-6 min on 2 cores).
# Vertical 720x1280 and 1080x1920, H.264 High with B-frames, 30 fps, AAC; some HEVC; lengths 8-90 s
# (several past the 60 s cap); one with 90-degree rotation metadata; one variable-frame-rate phone clip.
# usage: make_workload.sh OUT_DIR [--small]   (--small: 4 short clips, ~16 MB, for quick runs)
set -euo pipefail
out=${1:?usage: make_workload.sh OUT_DIR [--small]}
small=${2:-}
[[ -z $small || $small == --small ]] || { echo "usage: make_workload.sh OUT_DIR [--small]" >&2; exit 2; }
src=$(cd "$(dirname "$0")/../samples" && pwd)
mkdir -p "$out"
ff() { ffmpeg -nostdin -loglevel error -y "$@"; }
# name seconds source WxH gop codec [extra...]: loop the source, centre-crop to 9:16, scale, encode
vertical() {
  local name=$1 secs=$2 input=$3 size=$4 gop=$5 codec=$6; shift 6
  local w=${size%x*} h=${size#*x}
  local enc=(-c:v libx264 -preset veryfast -profile:v high -crf 23 -bf 3)
  [[ $codec == hevc ]] && enc=(-c:v libx265 -preset ultrafast -crf 26 -tag:v hvc1 -x265-params log-level=error)
  ff -stream_loop -1 -i "$src/$input" -f lavfi -i "sine=frequency=440:sample_rate=44100" -t "$secs" \
    -map 0:v:0 -map 1:a -vf "crop=ih*9/16:ih,scale=$w:$h:flags=lanczos,fps=30,format=yuv420p" \
    "${enc[@]}" -g "$gop" -c:a aac -b:a 64k "$@" "$out/$name.mp4"
}
vertical tt01_720p_12s   12 chaplin.mp4               720x1280   60 h264
vertical tt02_720p_35s   35 big_buck_bunny_0_30.webm  720x1280  250 h264
vertical tt03_1080p_20s  20 example.mp4              1080x1920   60 h264
vertical tt04_720p_75s   75 big_buck_bunny_0_30.webm  720x1280   60 h264
if [[ $small != --small ]]; then
  vertical tt05_1080p_62s  62 chaplin.mp4              1080x1920  120 h264
  vertical tt06_720p_90s   90 example.mp4               720x1280  250 h264
  vertical tt07_720p_8s     8 big_buck_bunny_0_30.webm  720x1280   30 h264
  vertical tt08_1080p_45s  45 big_buck_bunny_0_30.webm 1080x1920   60 h264
  vertical tt09_hevc_30s   30 chaplin.mp4               720x1280   60 hevc
  vertical tt10_hevc_70s   70 big_buck_bunny_0_30.webm  720x1280  250 hevc
  # landscape pixels + 90-degree display matrix, as phones write it
  ff -stream_loop -1 -i "$src/chaplin.mp4" -t 25 -an -vf "scale=1280:720,fps=30" -c:v libx264 -preset veryfast \
    -profile:v high -crf 23 -bf 3 -g 60 "$out/tmp_rot.mp4"
  ff -display_rotation 90 -i "$out/tmp_rot.mp4" -c copy "$out/tt11_rotated_25s.mp4" 2>/dev/null \
    || ff -i "$out/tmp_rot.mp4" -c copy -metadata:s:v:0 rotate=90 "$out/tt11_rotated_25s.mp4"
  rm -f "$out/tmp_rot.mp4"
  # the real phone clip (rotation 180, variable frame rate), looped by stream copy
  ff -stream_loop 8 -i "$src/fire2.mp4" -c copy "$out/tt12_phone_vfr.mp4"
fi
du -sh "$out"
