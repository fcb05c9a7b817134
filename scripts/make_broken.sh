#!/usr/bin/env bash
# Broken inputs derived deterministically from samples/chaplin.mp4: each must end as an error record, never a crash.
# usage: make_broken.sh OUT_DIR [SOURCE_MP4]   (SOURCE_MP4 defaults to the repository's samples/chaplin.mp4)
# Needs ffmpeg and python3. The integration tests run it (tests/common/mod.rs, make_broken).
set -euo pipefail
out=${1:?usage: make_broken.sh OUT_DIR [SOURCE_MP4]}
src=${2:-$(cd "$(dirname "$0")/../samples" && pwd)/chaplin.mp4}
[[ -f $src ]] || { echo "make_broken.sh: $src not found" >&2; exit 1; }
mkdir -p "$out"
size=$(stat -c %s "$src")
: > "$out/empty.mp4"
head -c $((size * 40 / 100)) "$src" > "$out/truncated_40pct.mp4"
# moov atom removed: keep only what precedes and follows it
python3 - "$src" "$out/no_moov.mp4" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
out, i = bytearray(), 0
while i + 8 <= len(data):
    size, kind = struct.unpack(">I4s", data[i:i + 8])
    size = size or len(data) - i
    if kind != b"moov":
        out += data[i:i + size]
    i += size
open(sys.argv[2], "wb").write(out)
PY
ffmpeg -nostdin -loglevel error -y -i "$src" -frames:v 1 "$out/image.jpg" && mv "$out/image.jpg" "$out/jpeg_named.mp4"
python3 - "$src" "$out/garbage_middle.mp4" <<'PY'
import random, sys
data = bytearray(open(sys.argv[1], "rb").read())
rng = random.Random(42)
start = len(data) // 2
for k in range(len(data) // 100):
    data[start + k] = rng.randrange(256)
open(sys.argv[2], "wb").write(data)
PY
python3 -c "import random,sys; r=random.Random(7); sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(300000)))" > "$out/random_bytes.mp4"
ls -la "$out"
