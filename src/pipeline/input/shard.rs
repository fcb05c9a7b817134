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

/// The array index variables of the engines reelframe runs on, in the order they are tried.
pub const INDEX_VARIABLES: &[&str] = &[
    "JOB_COMPLETION_INDEX",
    "AWS_BATCH_JOB_ARRAY_INDEX",
    "SLURM_ARRAY_TASK_ID",
];

impl Shard {
    /// Parses `INDEX/COUNT` (`3/16`), or `auto/COUNT` and `auto` with the index (and for `auto`
    /// the count) taken from the array engine's environment through `env`: Kubernetes Indexed
    /// Jobs (`JOB_COMPLETION_INDEX`), AWS Batch array jobs (`AWS_BATCH_JOB_ARRAY_INDEX`), Slurm
    /// arrays (`SLURM_ARRAY_TASK_ID` relative to `SLURM_ARRAY_TASK_MIN`, the count from
    /// `SLURM_ARRAY_TASK_COUNT`).
    pub fn resolve(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Shard, InvalidValue> {
        let (index, count) = text.split_once('/').unwrap_or((text, ""));
        if index.trim() != "auto" {
            return Shard::parse(text);
        }
        let number = |name: &str| -> Result<Option<u32>, InvalidValue> {
            match env(name) {
                None => Ok(None),
                Some(v) => v.trim().parse().map(Some).map_err(|_| {
                    InvalidValue(format!("--shard {text}: {name}={v:?} is not a number"))
                }),
            }
        };
        let mut found = None;
        for name in INDEX_VARIABLES {
            if let Some(value) = number(name)? {
                let index = if *name == "SLURM_ARRAY_TASK_ID" {
                    let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
                    value.checked_sub(min).ok_or_else(|| {
                        InvalidValue(format!(
                            "--shard {text}: SLURM_ARRAY_TASK_ID {value} is below SLURM_ARRAY_TASK_MIN {min}"
                        ))
                    })?
                } else {
                    value
                };
                found = Some((*name, index));
                break;
            }
        }
        let Some((source, index)) = found else {
            return Err(InvalidValue(format!(
                "--shard {text}: no array index in the environment ({}): run inside an array job, \
                 or give --shard INDEX/COUNT",
                INDEX_VARIABLES.join(", ")
            )));
        };
        let count = if count.is_empty() {
            match (source, number("SLURM_ARRAY_TASK_COUNT")?) {
                ("SLURM_ARRAY_TASK_ID", Some(n)) => n,
                _ => {
                    return Err(InvalidValue(format!(
                        "--shard auto: {source} gives this job's index but not the array's size; \
                         give it as --shard auto/COUNT"
                    )))
                }
            }
        } else {
            count
                .trim()
                .parse()
                .map_err(|_| InvalidValue(format!("--shard {text:?}: not a number: {count:?}")))?
        };
        Shard::parse(&format!("{index}/{count}"))
            .map_err(|err| InvalidValue(format!("{err} (index {index} from {source})")))
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(text: &str, vars: &[(&str, &str)]) -> Result<Shard, InvalidValue> {
        let env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Shard::resolve(text, &|name| env.get(name).cloned())
    }

    #[test]
    fn auto_takes_each_engines_index() {
        let s = |index, count| Shard { index, count };
        assert_eq!(resolve("3/16", &[]).unwrap(), s(3, 16));
        assert_eq!(
            resolve("auto/16", &[("JOB_COMPLETION_INDEX", "5")]).unwrap(),
            s(5, 16)
        );
        assert_eq!(
            resolve("auto/4", &[("AWS_BATCH_JOB_ARRAY_INDEX", "3")]).unwrap(),
            s(3, 4)
        );
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", "12"),
            ("SLURM_ARRAY_TASK_MIN", "10"),
            ("SLURM_ARRAY_TASK_COUNT", "8"),
        ];
        assert_eq!(resolve("auto", &slurm).unwrap(), s(2, 8));
        assert_eq!(resolve("auto/8", &slurm).unwrap(), s(2, 8));
        let none = resolve("auto/4", &[]).unwrap_err().to_string();
        assert!(
            none.contains("no array index") && none.contains("JOB_COMPLETION_INDEX"),
            "{none}"
        );
        let no_count = resolve("auto", &[("JOB_COMPLETION_INDEX", "1")])
            .unwrap_err()
            .to_string();
        assert!(no_count.contains("--shard auto/COUNT"), "{no_count}");
        let too_big = resolve("auto/4", &[("JOB_COMPLETION_INDEX", "4")])
            .unwrap_err()
            .to_string();
        assert!(too_big.contains("JOB_COMPLETION_INDEX"), "{too_big}");
    }
}
