//! What the main process and a decoder process say to each other over the child's stdin and
//! stdout. A message is a JSON header (4-byte little-endian length, then the JSON) followed by a
//! body (8-byte little-endian length, then the bytes: a video sent inline, an encoded object).

use crate::error::ItemError;
use crate::pipeline::input::Item;
use crate::pipeline::metrics::Work;
use crate::pipeline::options::ExtractOptions;
use crate::pipeline::record::Extracted;
use crate::pipeline::store::ObjectMeta;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};
use std::path::PathBuf;

/// Largest JSON header accepted (a record's derived block with 10,000 frames fits easily).
const MAX_HEADER_BYTES: u32 = 64 << 20;

/// Main process → decoder process.
#[derive(Debug, Serialize, Deserialize)]
pub enum ToWorker {
    /// Sent once, first.
    Init {
        /// The options the decoder starts with (each job carries its own: `serve` samples each
        /// request its own way).
        options: ExtractOptions,
        /// Largest video the main process sends inline.
        max_video_bytes: u64,
    },
    /// Extract one item; the video is the body when `path` is `None`.
    Job {
        /// The item (its ID, its platform, its fields).
        item: Item,
        /// How this item is extracted (`serve` samples each request its own way).
        options: ExtractOptions,
        /// A local file to read in place, or `None` for the video sent as the body.
        path: Option<PathBuf>,
    },
}

/// Decoder process → main process.
#[derive(Debug, Serialize, Deserialize)]
pub enum FromWorker {
    /// An encoded object to store under `key` (the body holds its bytes).
    Object {
        /// The store key.
        key: String,
        /// Its metadata.
        meta: ObjectMeta,
    },
    /// The item is done; its objects were all sent before this.
    Done {
        /// The record's objects (URIs are filled in by the main process's store).
        extracted: Box<Extracted>,
        /// The decoding work it took.
        work: Work,
    },
    /// The item failed.
    Failed {
        /// Why.
        error: ItemError,
        /// The decoding work it took.
        work: Work,
    },
}

/// Writes one message: `header`, then `body`.
pub fn write_message(out: &mut impl Write, header: &impl Serialize, body: &[u8]) -> io::Result<()> {
    let json = serde_json::to_vec(header).map_err(io::Error::other)?;
    let len = u32::try_from(json.len()).map_err(io::Error::other)?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(&json)?;
    out.write_all(&(body.len() as u64).to_le_bytes())?;
    out.write_all(body)?;
    out.flush()
}

/// Reads one message, or `None` at a clean end of the stream. A body longer than `max_body` is
/// refused (the other side is not trusted to be sane).
pub fn read_message<T: DeserializeOwned>(
    input: &mut impl Read,
    max_body: u64,
) -> io::Result<Option<(T, Vec<u8>)>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(err) => return Err(err),
    }
    let len = u32::from_le_bytes(len);
    if len > MAX_HEADER_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "message header too long",
        ));
    }
    let mut json = vec![0u8; len as usize];
    input.read_exact(&mut json)?;
    let header = serde_json::from_slice(&json).map_err(io::Error::other)?;
    let mut body_len = [0u8; 8];
    input.read_exact(&mut body_len)?;
    let body_len = u64::from_le_bytes(body_len);
    if body_len > max_body {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "message body too long",
        ));
    }
    let mut body = Vec::new();
    input.take(body_len).read_to_end(&mut body)?;
    if body.len() as u64 != body_len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(Some((header, body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_a_cut_stream_is_an_error() {
        let mut wire = Vec::new();
        let meta = ObjectMeta {
            content_id: "a".into(),
            pts_ms: Some(1000),
        };
        write_message(
            &mut wire,
            &FromWorker::Object {
                key: "k".into(),
                meta,
            },
            b"jpeg",
        )
        .unwrap();
        let (message, body) = read_message::<FromWorker>(&mut wire.as_slice(), 1 << 20)
            .unwrap()
            .unwrap();
        assert!(matches!(message, FromWorker::Object { ref key, .. } if key == "k"));
        assert_eq!(body, b"jpeg");
        assert!(read_message::<FromWorker>(&mut &wire[..0], 1 << 20)
            .unwrap()
            .is_none());
        assert!(read_message::<FromWorker>(&mut &wire[..wire.len() - 1], 1 << 20).is_err());
        assert!(read_message::<FromWorker>(&mut wire.as_slice(), 2).is_err());
    }
}
