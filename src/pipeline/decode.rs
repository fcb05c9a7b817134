/*!
Stage ③ (decode): decode the frames the plan asks for, and only what they need.

Decoding follows the plan from [`crate::pipeline::sample`], on the input the scan already
opened (rewound to its first packet, each packet checked against the scan's): only the packet
ranges the targets need are sent — from each target's keyframe to the target — and the decoder is
drained and flushed across the GOP tails in between; within a range, pictures no target needs and
no other picture references are skipped inside the decoder (`skip_frame = NonReference`). Both
leave every target bit-identical to a full decode (`tests/decode_exact.rs` proves it on every
sample clip); should a target still be missing, a full decode supplies it. The send / receive /
drain steps are named as libavcodec names them.
*/

use crate::error::{ErrorKind, ItemError};
use crate::pipeline::deadline::Deadline;
use crate::pipeline::demux::{ff_error, OpenVideo, MAX_PIXELS};
use crate::pipeline::ffi;
use crate::pipeline::sample::{pts_to_ms, PacketRange, Plan, Target, Timeline};
use crate::pipeline::source::VideoData;
use ffmpeg::codec::threading;
use ffmpeg::format::context::Input;
use ffmpeg::{Discard, Packet};
use ffmpeg_next as ffmpeg;
use std::time::{Duration, Instant};

/// Counters and timings from one decode, for logs and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Video packets read from the container (demuxed) during decoding.
    pub packets_read: u64,
    /// Packets sent to the decoder.
    pub packets_sent: u64,
    /// Frames the decoder returned.
    pub frames_decoded: u64,
    /// Times the decoder was drained and flushed to jump over the tail of a GOP.
    pub flushes: u64,
    /// Whether the input had to be opened again because rewinding it did not reproduce the scan's
    /// packets.
    pub reopened: bool,
    /// Whether the optimised pass missed a target and a full decode had to supply it.
    pub full_decode_fallback: bool,
    /// Time spent reading packets from the container.
    pub demux_time: Duration,
    /// Time spent in the decoder (sending packets, receiving frames, flushing), not counting the
    /// `on_frame` callback.
    pub decode_time: Duration,
}

/// Decoder options. The two skips are exact (every target is bit-identical to a full decode);
/// switching them off exists to prove that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Threads inside one decoder (1 = parallelism comes from decoding several videos at once).
    pub threads: usize,
    /// Tell the decoder to skip pictures no target needs and no other picture references
    /// (`skip_frame = NonReference` for non-target packets).
    pub skip_non_reference: bool,
    /// Send only the packets from each target's keyframe to the target, draining and flushing
    /// the decoder between such ranges instead of decoding the rest of each GOP.
    pub skip_gop_tails: bool,
    /// Largest decoded frame accepted, in pixels: a stream may change size after its header,
    /// so every frame is checked before it is converted ([`ErrorKind::FrameTooLarge`]), and
    /// the decoder is told not to allocate larger ones.
    pub max_pixels: u64,
}

impl Default for DecodeOptions {
    fn default() -> DecodeOptions {
        DecodeOptions {
            threads: 1,
            skip_non_reference: true,
            skip_gop_tails: true,
            max_pixels: MAX_PIXELS,
        }
    }
}

impl DecodeOptions {
    /// The default (both skips on) with `threads` decoder threads.
    pub fn with_threads(threads: usize) -> DecodeOptions {
        DecodeOptions {
            threads,
            ..DecodeOptions::default()
        }
    }
}

/// What one decoding pass over the input achieved.
enum PassEnd {
    /// Read up to this decode-order packet index (exclusive).
    Done { read_to: usize },
    /// The demuxer returned a packet that is not the scan's packet at that position.
    Desync,
}

/// Errors, counts and found targets carried across passes.
struct Tally {
    stats: DecodeStats,
    found: Vec<bool>,
    errors: u64,
    first_error: Option<String>,
    /// Time spent inside `on_frame`, subtracted from the decoder's time.
    callback_time: Duration,
    /// Largest frame accepted, in pixels.
    max_pixels: u64,
    /// For a stream without pts ([`Timeline::pts_from_order`]): the frames' times in
    /// presentation order, and how many frames this pass's decoder has returned.
    by_order: Option<(Vec<i64>, usize)>,
}

/// Packets past the last target's own packet still sent to a decoder that numbers its frames
/// (streams without pts): a frame may leave the decoder this many packets after its own (the
/// reorder depth; H.264 allows at most 16).
const REORDER_MARGIN: usize = 16;

/// The pts the scan assigned to `packet` (pts, else dts), when the packet carries one.
fn packet_pts(packet: &Packet) -> Option<i64> {
    packet.pts().or(packet.dts())
}

/// Puts the demuxer back at the first packet of the stream. Returns false if it cannot.
fn rewind(input: &mut Input, stream_index: usize, timeline: &Timeline) -> bool {
    !timeline.packets.is_empty() && ffi::seek_to(input, stream_index, timeline.rewind_ts)
}

fn open_decoder(
    video: &OpenVideo,
    threads: usize,
    max_pixels: u64,
) -> Result<ffmpeg::decoder::Video, ItemError> {
    let stream = video
        .input
        .stream(video.stream_index)
        .ok_or_else(|| ItemError::new(ErrorKind::Internal, "the video stream vanished"))?;
    let mut context = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
        .map_err(|err| ff_error(ErrorKind::DecodeFailed, "setting up the decoder", err))?;
    context.set_threading(threading::Config {
        kind: if threads == 1 {
            threading::Type::None
        } else {
            threading::Type::Frame
        },
        count: threads,
        ..Default::default()
    });
    ffi::set_max_pixels(&mut context, max_pixels);
    let mut decoder = context.decoder().video().map_err(|err| match err {
        ffmpeg::Error::DecoderNotFound => ItemError::new(
            ErrorKind::UnsupportedCodec,
            format!("no decoder for {} in this FFmpeg", video.facts.codec),
        ),
        err => ff_error(ErrorKind::UnsupportedCodec, "opening the decoder", err),
    })?;
    decoder.set_packet_time_base(stream.time_base());
    Ok(decoder)
}

/// Hands one decoded frame to `on_frame` if it answers targets not yet answered.
fn take_frame<F>(
    frame: &ffmpeg::frame::Video,
    plan: &Plan,
    time_base: (i64, i64),
    tally: &mut Tally,
    on_frame: &mut F,
) -> Result<(), ItemError>
where
    F: FnMut(&[Target], &ffmpeg::frame::Video) -> Result<(), ItemError>,
{
    tally.stats.frames_decoded += 1;
    let pixels = frame.width() as u64 * frame.height() as u64;
    if pixels > tally.max_pixels {
        return Err(ItemError::new(
            ErrorKind::FrameTooLarge,
            format!(
                "a decoded frame is {}x{} ({pixels} pixels), more than --max-pixels {}",
                frame.width(),
                frame.height(),
                tally.max_pixels,
            ),
        ));
    }
    let pts = match &mut tally.by_order {
        Some((times, returned)) => {
            *returned += 1;
            times.get(*returned - 1).copied()
        }
        None => frame.pts().or_else(|| frame.timestamp()),
    };
    let Some(pts) = pts else {
        return Ok(());
    };
    if frame.is_corrupt() || frame.has_decode_errors() {
        tally.errors += 1;
        tally
            .first_error
            .get_or_insert_with(|| format!("damaged picture at {} ms", pts_to_ms(pts, time_base)));
        // never hand on a damaged picture: the item fails, or (keyframes) a clean pass follows
        return Ok(());
    }
    if let Some(indices) = plan.wanted.get(&pts) {
        if indices.iter().all(|&i| tally.found[i]) {
            return Ok(());
        }
        let targets: Vec<Target> = indices.iter().map(|&i| plan.targets[i]).collect();
        for &i in indices {
            tally.found[i] = true;
        }
        let started = Instant::now();
        let result = on_frame(&targets, frame);
        tally.callback_time += started.elapsed();
        result?;
    }
    Ok(())
}

/// Receives every frame the decoder has ready.
fn receive_all<F>(
    decoder: &mut ffmpeg::decoder::Video,
    frame: &mut ffmpeg::frame::Video,
    plan: &Plan,
    time_base: (i64, i64),
    tally: &mut Tally,
    on_frame: &mut F,
) -> Result<(), ItemError>
where
    F: FnMut(&[Target], &ffmpeg::frame::Video) -> Result<(), ItemError>,
{
    while decoder.receive_frame(frame).is_ok() {
        take_frame(frame, plan, time_base, tally, on_frame)?;
    }
    Ok(())
}

/// Sends the packets of `ranges` (decode-order indices into the timeline) from the input's
/// current position, which must be the stream's first packet, and drains the decoder at the end.
#[allow(clippy::too_many_arguments)]
fn decode_pass<F>(
    input: &mut Input,
    stream_index: usize,
    decoder: &mut ffmpeg::decoder::Video,
    timeline: &Timeline,
    plan: &Plan,
    ranges: &[PacketRange],
    skip_non_reference: bool,
    send_non_key: bool,
    deadline: Deadline,
    tally: &mut Tally,
    on_frame: &mut F,
) -> Result<PassEnd, ItemError>
where
    F: FnMut(&[Target], &ffmpeg::frame::Video) -> Result<(), ItemError>,
{
    let tb = timeline.time_base;
    // A decoder that numbers its frames must see every packet and return every picture.
    let keyframes_only = plan.keyframes_only && !timeline.pts_from_order;
    if let Some((_, returned)) = &mut tally.by_order {
        *returned = 0;
    }
    let mut frame = ffmpeg::frame::Video::empty();
    let mut packet = Packet::empty();
    let mut index = 0usize;
    let mut range = 0usize;
    let mut flush_first = false;
    let mut decoding = Duration::ZERO;
    let callbacks_before = tally.callback_time;
    while let Some(current) = ranges.get(range) {
        if deadline.passed() {
            return Err(ItemError::new(
                ErrorKind::Timeout,
                "decoding: deadline passed",
            ));
        }
        let started = Instant::now();
        let read = ffi::read_packet(&mut packet, input);
        tally.stats.demux_time += started.elapsed();
        match read {
            Ok(()) => {}
            Err(ffmpeg::Error::Eof) => break,
            Err(ffmpeg::Error::InvalidData) => continue,
            Err(err) => return Err(ff_error(ErrorKind::Truncated, "reading packets", err)),
        }
        if packet.stream() != stream_index {
            continue;
        }
        let Some(info) = timeline.packets.get(index).copied() else {
            break;
        };
        let pts_differs =
            !timeline.pts_from_order && packet_pts(&packet).is_some_and(|pts| pts != info.pts);
        if pts_differs || packet.is_key() != info.key {
            return Ok(PassEnd::Desync);
        }
        let i = index;
        index += 1;
        tally.stats.packets_read += 1;
        if i < current.first {
            continue;
        }
        if keyframes_only && !info.key && !send_non_key {
            if i == current.last {
                range += 1;
            }
            continue;
        }
        let started = Instant::now();
        if flush_first {
            // Nothing between the previous range and this keyframe is needed: empty the
            // decoder and start afresh here.
            let _ = decoder.send_eof();
            receive_all(decoder, &mut frame, plan, tb, tally, on_frame)?;
            decoder.flush();
            tally.stats.flushes += 1;
            flush_first = false;
        }
        let wanted = plan.wanted.contains_key(&info.pts);
        decoder.skip_frame(if keyframes_only {
            Discard::NonKey
        } else if wanted || !skip_non_reference {
            Discard::Default
        } else {
            Discard::NonReference
        });
        tally.stats.packets_sent += 1;
        loop {
            match decoder.send_packet(&packet) {
                Ok(()) => break,
                Err(ffmpeg::Error::Other { errno }) if errno == libc::EAGAIN => {
                    // The decoder wants its output drained first.
                    receive_all(decoder, &mut frame, plan, tb, tally, on_frame)?;
                }
                Err(err) => {
                    tally.errors += 1;
                    tally.first_error.get_or_insert_with(|| {
                        format!("packet at {} ms: {err}", pts_to_ms(info.pts, tb))
                    });
                    break;
                }
            }
        }
        receive_all(decoder, &mut frame, plan, tb, tally, on_frame)?;
        decoding += started.elapsed();
        if i == current.last {
            range += 1;
            flush_first = true;
        }
    }
    let started = Instant::now();
    let _ = decoder.send_eof();
    receive_all(decoder, &mut frame, plan, tb, tally, on_frame)?;
    decoding += started.elapsed();
    let callbacks = tally.callback_time - callbacks_before;
    tally.stats.decode_time += decoding.saturating_sub(callbacks);
    Ok(PassEnd::Done { read_to: index })
}

/// Decodes the frames `plan` asks for from `video` (already opened and scanned; it is rewound
/// here, or opened again from `data` if rewinding does not reproduce the scan's packets) and
/// hands each to `on_frame` with the targets it answers, in the order the decoder returns them
/// (presentation order within each decoded range).
pub fn decode_targets(
    video: &mut OpenVideo,
    data: &VideoData,
    timeline: &Timeline,
    plan: &Plan,
    options: DecodeOptions,
    deadline: Deadline,
    mut on_frame: impl FnMut(&[Target], &ffmpeg::frame::Video) -> Result<(), ItemError>,
) -> Result<DecodeStats, ItemError> {
    let threads = options.threads.max(1);
    ffi::take_pixel_cap_hit();
    let by_order = timeline.pts_from_order;
    // Per-packet skip_frame decisions are exact only without frame threading; a decoder that
    // numbers its frames must return every one of them.
    let skip_non_reference = options.skip_non_reference && threads == 1 && !by_order;
    let last = if by_order {
        (plan.last_packet + REORDER_MARGIN).min(timeline.packets.len() - 1)
    } else {
        plan.last_packet
    };
    let everything = [PacketRange { first: 0, last }];
    let optimised_ranges: &[PacketRange] =
        if options.skip_gop_tails && !plan.keyframes_only && !by_order {
            &plan.ranges
        } else {
            &everything
        };
    let mut tally = Tally {
        stats: DecodeStats::default(),
        found: vec![false; plan.targets.len()],
        errors: 0,
        first_error: None,
        callback_time: Duration::ZERO,
        max_pixels: options.max_pixels,
        by_order: by_order.then(|| {
            let mut times: Vec<i64> = timeline
                .packets
                .iter()
                .filter(|p| !p.discard)
                .map(|p| p.pts)
                .collect();
            times.sort_unstable();
            (times, 0)
        }),
    };
    let mut read_to = 0usize;
    // Pass 0 is the optimised one; pass 1 (only if it missed a target) decodes every packet.
    let mut pass = 0;
    let mut positioned = rewind(&mut video.input, video.stream_index, timeline);
    while pass < 2 {
        if !positioned {
            let reopened = OpenVideo::open(data, video.facts.bytes, deadline)?;
            if reopened.stream_index != video.stream_index {
                return Err(ItemError::new(
                    ErrorKind::CorruptData,
                    "the file reads differently the second time (its video stream changed): the \
                     container is damaged",
                ));
            }
            video.input = reopened.input;
            tally.stats.reopened = true;
        }
        let (ranges, skip_non_reference) = if pass == 0 {
            (optimised_ranges, skip_non_reference)
        } else {
            (&everything[..], false)
        };
        let mut decoder = open_decoder(video, threads, options.max_pixels)?;
        let end = decode_pass(
            &mut video.input,
            video.stream_index,
            &mut decoder,
            timeline,
            plan,
            ranges,
            skip_non_reference,
            pass == 1,
            deadline,
            &mut tally,
            &mut on_frame,
        )?;
        match end {
            PassEnd::Desync if tally.stats.reopened => {
                return Err(ItemError::new(
                    ErrorKind::CorruptData,
                    "the file reads differently the second time (other packets at the same \
                     place): its index or data is damaged",
                ))
            }
            PassEnd::Desync => {
                positioned = false;
                continue;
            }
            PassEnd::Done { read_to: r } => read_to = read_to.max(r),
        }
        if pass == 0 && plan.keyframes_only && !by_order && tally.errors > 0 {
            // Some decoders (HEVC after an open-GOP CRA) report errors when they are given only
            // the keyframes. Send every packet as ffmpeg's `-skip_frame nokey` does (the decoder
            // still drops non-keyframes) for the targets not found yet.
            tracing::debug!("keyframe-only decoding reported errors; sending every packet");
            tally.errors = 0;
            tally.first_error = None;
            tally.stats.full_decode_fallback = true;
            positioned = rewind(&mut video.input, video.stream_index, timeline);
            pass = 1;
            continue;
        }
        let optimised = ranges.len() > 1 || skip_non_reference;
        let missing = tally.found.iter().any(|f| !f);
        if pass == 0 && missing && optimised && tally.errors == 0 {
            tally.stats.full_decode_fallback = true;
            tracing::debug!("a target was missed with GOP/non-reference skipping; decoding fully");
            positioned = rewind(&mut video.input, video.stream_index, timeline);
            pass = 1;
            continue;
        }
        break;
    }
    if tally.errors > 0 && ffi::take_pixel_cap_hit() {
        return Err(ItemError::new(
            ErrorKind::FrameTooLarge,
            format!(
                "the stream grows past --max-pixels {} after its header (the decoder refused a \
                 larger picture)",
                options.max_pixels
            ),
        ));
    }
    if tally.errors > 0 {
        return Err(ItemError::new(
            ErrorKind::CorruptData,
            format!(
                "the decoder reported {} error(s) in the sampled span; first: {}",
                tally.errors,
                tally.first_error.unwrap_or_default()
            ),
        ));
    }
    let missing: Vec<i64> = plan
        .targets
        .iter()
        .zip(&tally.found)
        .filter(|(_, f)| !**f)
        .map(|(t, _)| t.target_ms)
        .collect();
    if !missing.is_empty() {
        let kind = if read_to <= plan.last_packet {
            ErrorKind::Truncated
        } else {
            ErrorKind::DecodeFailed
        };
        return Err(ItemError::new(
            kind,
            format!(
                "{} of {} target frames were not decoded (first target at {} ms)",
                missing.len(),
                plan.targets.len(),
                missing[0]
            ),
        ));
    }
    Ok(tally.stats)
}
