/*!
Stage ⑥ (Avro): records as an Avro object container file, for consumers that read Avro.

The JSONL records file stays the journal (it is what makes a killed run resumable); at the end
of a run it is converted, one record at a time, into an Avro file whose schema is
`schema/record.avsc` (embedded here). Input fields reelframe does not know travel as JSON text in
`input_json`, since Avro needs a fixed schema.
*/

use crate::error::ItemError;
use crate::files::{AtomicFile, Durability};
use crate::pipeline::demux::VideoFacts;
use crate::pipeline::record::{Derived, FrameRecord, ThumbnailRecord};
use serde::Serialize;
use serde_json::{Map, Value};
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

/// The Avro schema of a record (`schema/record.avsc`).
pub const RECORD_SCHEMA: &str = include_str!("../../../schema/record.avsc");

/// Fields of a record that have their own place in the Avro schema.
const KNOWN_FIELDS: &[&str] = &[
    "content_id",
    "video_url",
    "content_type",
    "status",
    "error",
    "derived",
    "thumbnail",
];

#[derive(Serialize)]
struct AvroDerived {
    platform: String,
    frames: Vec<FrameRecord>,
    video: VideoFacts,
    sampling_json: String,
    extractor: crate::pipeline::record::ExtractorInfo,
    fetch: Option<crate::pipeline::record::FetchRecord>,
    contact_sheet: Option<crate::pipeline::record::ContactSheetRecord>,
}

#[derive(Serialize)]
struct AvroError {
    kind: String,
    message: String,
    attempts: Option<i32>,
}

#[derive(Serialize)]
struct AvroContent {
    content_id: Option<String>,
    video_url: Option<String>,
    content_type: String,
    status: String,
    error: Option<AvroError>,
    derived: Option<AvroDerived>,
    thumbnail: Option<ThumbnailRecord>,
    input_json: String,
}

fn to_avro(record: Map<String, Value>) -> Result<AvroContent, String> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let derived: Option<Derived> = match record.get("derived") {
        Some(Value::Null) | None => None,
        Some(v) => Some(serde_json::from_value(v.clone()).map_err(|e| format!("derived: {e}"))?),
    };
    let thumbnail: Option<ThumbnailRecord> = match record.get("thumbnail") {
        Some(Value::Null) | None => None,
        Some(v) => Some(serde_json::from_value(v.clone()).map_err(|e| format!("thumbnail: {e}"))?),
    };
    let error: Option<ItemError> = match record.get("error") {
        Some(Value::Null) | None => None,
        Some(v) => Some(serde_json::from_value(v.clone()).map_err(|e| format!("error: {e}"))?),
    };
    let others: Map<String, Value> = record
        .iter()
        .filter(|(k, _)| !KNOWN_FIELDS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(AvroContent {
        content_id: text(record.get("content_id")),
        video_url: text(record.get("video_url")),
        content_type: text(record.get("content_type")).unwrap_or_else(|| "VIDEO".into()),
        status: text(record.get("status")).unwrap_or_default(),
        error: error.map(|e| AvroError {
            kind: e.kind.name(),
            message: e.message,
            attempts: e.attempts.map(|a| a as i32),
        }),
        derived: derived.map(|d| AvroDerived {
            platform: d.platform,
            frames: d.frames,
            video: d.video,
            sampling_json: d.sampling.to_string(),
            extractor: d.extractor,
            fetch: d.fetch,
            contact_sheet: d.contact_sheet,
        }),
        thumbnail,
        input_json: Value::Object(others).to_string(),
    })
}

/// Converts the JSONL records at `jsonl` into an Avro container file at `avro` (written to a
/// temporary name and renamed). Returns how many records were written.
pub fn write_avro_from_jsonl(jsonl: &Path, avro: &Path) -> io::Result<u64> {
    let schema = apache_avro::Schema::parse_str(RECORD_SCHEMA).map_err(io::Error::other)?;
    let mut count = 0;
    {
        let out = AtomicFile::create(avro)?;
        let mut writer = apache_avro::Writer::with_codec(
            &schema,
            out,
            apache_avro::Codec::Deflate(Default::default()),
        );
        for (n, line) in BufReader::new(File::open(jsonl)?).lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let bad = |why: String| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}:{}: {why}", jsonl.display(), n + 1),
                )
            };
            let record: Map<String, Value> =
                serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
            let content = to_avro(record).map_err(bad)?;
            writer.append_ser(content).map_err(|e| bad(e.to_string()))?;
            count += 1;
        }
        let out = writer.into_inner().map_err(io::Error::other)?;
        out.commit(Durability::Synced)?;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_parses() {
        apache_avro::Schema::parse_str(RECORD_SCHEMA).unwrap();
    }
}
