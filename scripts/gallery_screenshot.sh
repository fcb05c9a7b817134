#!/usr/bin/env bash
# Regenerates the gallery screenshots in docs/: extracts the bundled samples plus two inputs that
# fail on purpose, writes the gallery, and photographs two of its pages in headless Chromium.
#
#   apt-get install chromium    # Debian's; any Chromium or Chrome on PATH as `chromium` works
#   cargo build --release && bash scripts/gallery_screenshot.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${REELFRAME:-$repo/target/release/reelframe}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf 'not a video\n' >"$work/notes.mp4"
head -c 300000 "$repo/samples/chaplin.mp4" >"$work/cut.mp4"
# exit code 1 is expected: the two inputs above fail, and their rows show why
"$bin" extract -q "$work/notes.mp4" "$work/cut.mp4" "$repo/samples" -o "$work/out" -j 1 || [ $? -eq 1 ]
"$bin" gallery "$work/out/records.jsonl" -o "$work/gallery" --title "reelframe · samples"

shot() { # PAGE NAME HEIGHT
    # Chromium as root needs --no-sandbox; the background-networking flags keep it off the
    # network; the virtual time budget lets the lazy pictures in view load before the shot
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$work/chromium" --hide-scrollbars --virtual-time-budget=5000 --window-size="1280,$3" \
        --screenshot="$work/$2.png" "file://$work/gallery/$1" >/dev/null 2>&1
    ffmpeg -nostdin -v error -y -i "$work/$2.png" -q:v 3 "$repo/docs/$2.jpg"
    echo "docs/$2.jpg"
}
shot index.html gallery 1040
shot v/3.html gallery-video 1000
