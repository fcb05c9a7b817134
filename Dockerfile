# reelframe in a container: build on Debian bookworm with the FFmpeg development libraries, run on
# bookworm-slim with only the FFmpeg runtime libraries. The binary is the entrypoint:
#   docker build -t reelframe .
#   docker run --rm -v "$PWD:/data" reelframe extract /data/samples -o /data/out
# The image holds no credentials; S3 access comes from the engine (an IAM role, a Kubernetes
# service account, AWS_* variables) at run time.

FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libavfilter-dev \
      libavdevice-dev libswresample-dev clang pkg-config cmake nasm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY schema ./schema
COPY benches ./benches
RUN cargo build --release --locked --bin reelframe \
 && strip target/release/reelframe

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libavcodec59 libavformat59 libavutil57 libswscale6 libavfilter8 libavdevice59 \
      libswresample4 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /work reelframe \
 && mkdir -p /work && chown reelframe /work
COPY --from=build /src/target/release/reelframe /usr/local/bin/reelframe
USER reelframe
WORKDIR /work
ENTRYPOINT ["reelframe"]
CMD ["--help"]
