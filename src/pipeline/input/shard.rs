//! `--shard INDEX/COUNT`: one job's share of an input list.

use super::InputRow;
use crate::error::InvalidValue;

/// One shard of an input, for array jobs (Kubernetes Indexed Jobs, AWS Batch array jobs, Slurm
/// job arrays): shard `index` of `count` owns the rows whose content ID hashes to `index`, so
/// `count` jobs reading the same list split it with no coordination, and each job's records and
/// resume are its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This job's shard, `0..count`.
    pub index: u32,
    /// How many shards.
    pub count: u32,
}

impl Shard {
    /// Parses `INDEX/COUNT` (`3/16`).
    pub fn parse(text: &str) -> Result<Shard, InvalidValue> {
        let (index, count) = text.split_once('/').ok_or_else(|| {
            InvalidValue(format!("--shard {text:?}: expected INDEX/COUNT, e.g. 3/16"))
        })?;
        let parse = |t: &str| {
            t.trim()
                .parse::<u32>()
                .map_err(|_| InvalidValue(format!("--shard {text:?}: not a number: {t:?}")))
        };
        let (index, count) = (parse(index)?, parse(count)?);
        if count == 0 || index >= count {
            return Err(InvalidValue(format!(
                "--shard {text:?}: need 0 <= INDEX < COUNT"
            )));
        }
        Ok(Shard { index, count })
    }

    /// Does this shard own `row`? Items go by content ID; unusable rows by their origin
    /// (`list.jsonl:7`), so each still gets exactly one record across all shards.
    pub fn owns(&self, row: &InputRow) -> bool {
        let key = match row {
            Ok(item) => item.content_id.as_bytes(),
            Err(invalid) => invalid.origin.as_bytes(),
        };
        let hash = blake3::hash(key);
        let first = u64::from_le_bytes(hash.as_bytes()[..8].try_into().expect("8 bytes"));
        first % u64::from(self.count) == u64::from(self.index)
    }
}
