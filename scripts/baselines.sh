#!/usr/bin/env bash
# Baselines for reelframe's throughput: the ways a user would extract 1 frame/s from the first 60 s
# of each video without reelframe, run on the same inputs and cores, one after another.
# usage: baselines.sh WORKLOAD_DIR [JOBS]   (prints a TSV: method, seconds, videos/s, frames written)
# Make a workload with scripts/make_workload.sh. `reelframe bench --compare ffmpeg` runs the same ffmpeg
# command lines (it calls them anchors). CAP (default 60) is the seconds read from each video.
# Peers run too when PYAV_PYTHON, DECORD_PYTHON or TORCHCODEC_PYTHON names a Python that has av, decord or
# torchcodec (each with numpy and Pillow); their scripts are in scripts/peers/.
set -euo pipefail
dir=${1:?usage: baselines.sh WORKLOAD_DIR [JOBS]}
jobs=${2:-$(nproc)}
cap=${CAP:-60}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mapfile -t videos < <(find "$dir" -maxdepth 1 -type f \( -name '*.mp4' -o -name '*.mov' -o -name '*.webm' -o -name '*.mkv' \) | sort)
n=${#videos[@]}
((n > 0)) || { echo "no videos in $dir" >&2; exit 2; }
export tmp cap

run() { # name, then a command that reads one video path as $1 and writes into $tmp/out/<name>/<stem>/
  local name=$1; shift
  rm -rf "$tmp/out"; mkdir -p "$tmp/out"
  local start end
  start=$(date +%s.%N)
  printf '%s\n' "${videos[@]}" | xargs -P "$J" -I{} bash -c "$*" _ {}
  end=$(date +%s.%N)
  local frames; frames=$(find "$tmp/out" -name '*.jpg' | wc -l)
  awk -v m="$name" -v s="$start" -v e="$end" -v n="$n" -v f="$frames" \
    'BEGIN { t = e - s; printf "%s\t%.2f\t%.2f\t%d\n", m, t, n / t, f }'
}
printf 'method\tseconds\tvideos_per_s\tframes\n'
# what most people type: one ffmpeg per video, default threading, one video at a time
J=1 run ffmpeg-fps1-serial 'd=$tmp/out/$(basename "$1"); mkdir -p "$d"; ffmpeg -nostdin -loglevel error -t $cap -i "$1" -vf fps=1 -q:v 3 "$d/%04d.jpg"'
# the tuned shell pipeline: one single-threaded ffmpeg per core
J=$jobs run ffmpeg-fps1-parallel 'd=$tmp/out/$(basename "$1"); mkdir -p "$d"; ffmpeg -nostdin -loglevel error -threads 1 -t $cap -i "$1" -vf fps=1 -q:v 3 "$d/%04d.jpg"'
# keyframes only (what a "fast" mode can get)
J=$jobs run ffmpeg-keyframes-parallel 'd=$tmp/out/$(basename "$1"); mkdir -p "$d"; ffmpeg -nostdin -loglevel error -threads 1 -skip_frame nokey -t $cap -i "$1" -fps_mode passthrough -q:v 3 "$d/%04d.jpg"'
# floors: decoding alone, every frame / reference frames only, no scaling, no encoding
J=$jobs run decode-only-floor 'ffmpeg -nostdin -loglevel error -threads 1 -t $cap -i "$1" -f null -'
J=$jobs run decode-ref-only-floor 'ffmpeg -nostdin -loglevel error -threads 1 -skip_frame noref -t $cap -i "$1" -f null -'
# peers a user would pick instead: one long-lived Python process per core, each over its share of the videos
# (so an import such as torch's is paid once per process, as a real user would)
here=$(cd "$(dirname "$0")" && pwd)
peer() { # name, python, script
  [[ -n $2 ]] || return 0
  rm -rf "$tmp/out"; mkdir -p "$tmp/out"
  local start end k i pid pids=() failed=0
  start=$(date +%s.%N)
  for ((k = 0; k < jobs; k++)); do
    local share=()
    for ((i = k; i < n; i += jobs)); do share+=("${videos[i]}"); done
    ((${#share[@]})) || continue
    "$2" "$here/peers/$3" "$cap" "$tmp/out" "${share[@]}" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  end=$(date +%s.%N)
  ((failed == 0)) || { echo "baselines.sh: $1 failed ($2 $here/peers/$3)" >&2; return 1; }
  local frames; frames=$(find "$tmp/out" -name '*.jpg' | wc -l)
  awk -v m="$1" -v s="$start" -v e="$end" -v n="$n" -v f="$frames" \
    'BEGIN { t = e - s; printf "%s\t%.2f\t%.2f\t%d\n", m, t, n / t, f }'
}
peer pyav-fps1-parallel "${PYAV_PYTHON:-}" pyav_fps1.py
peer decord-fps1-parallel "${DECORD_PYTHON:-}" decord_fps1.py
peer torchcodec-exact-fps1-parallel "${TORCHCODEC_PYTHON:-}" torchcodec_fps1.py
