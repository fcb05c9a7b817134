/*!
Durations and sizes as people type them, one syntax for every flag.

Durations use [`humantime`]'s syntax (`500ms`, `90s`, `1m`, `1h 30m`); a bare number keeps the
unit the flag always had (seconds for timeouts and `--max-seconds`, milliseconds for
`--tolerance`), and may have a fraction (`2.5`). Sizes use [`bytesize`]'s units: `GB`/`MB`/`KB`
are powers of 1000 (`2GB` = 2·10⁹), `GiB`/`MiB`/`KiB` powers of 1024 (`2GiB` = 2³¹), a bare
number is bytes. A single letter without `B` (`2G`, `500M`) keeps the meaning it had before
reelframe used bytesize, and has in GNU `dd`, `sort -S` and `head -c`: powers of 1024, so
`2G` = `2GiB`.

The parsers return messages that name the accepted forms; clap puts the flag in front.
*/

use std::time::Duration;

/// The accepted duration forms, for messages.
const DURATION_FORMS: &str = "a number, or a duration such as 500ms, 90s, 1m or 1h 30m";

/// Parses a duration; a bare number (fraction allowed) is taken in `bare_unit`.
fn duration_with(text: &str, bare_unit: Duration) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(format!("empty duration (expected {DURATION_FORMS})"));
    }
    if let Ok(n) = t.parse::<f64>() {
        if !n.is_finite() || n < 0.0 {
            return Err(format!(
                "{t:?} is not a duration (expected {DURATION_FORMS})"
            ));
        }
        return Duration::try_from_secs_f64(n * bare_unit.as_secs_f64())
            .map_err(|_| format!("{t:?} is too long"));
    }
    humantime::parse_duration(t)
        .map_err(|_| format!("{t:?} is not a duration (expected {DURATION_FORMS})"))
}

/// A duration whose bare numbers are seconds (`30`, `2.5`, `500ms`, `1m`); 0 allowed.
pub fn duration_secs(text: &str) -> Result<Duration, String> {
    duration_with(text, Duration::from_secs(1))
}

/// A positive duration whose bare numbers are seconds (timeouts and deadlines).
pub fn positive_duration_secs(text: &str) -> Result<Duration, String> {
    match duration_secs(text)? {
        d if d.is_zero() => Err("must be more than 0 (e.g. 30s, 2m)".into()),
        d => Ok(d),
    }
}

/// A duration whose bare numbers are milliseconds (`250`, `500ms`, `1s`); 0 allowed.
pub fn duration_ms(text: &str) -> Result<Duration, String> {
    duration_with(text, Duration::from_millis(1))
}

/// Whole milliseconds of `d`, rounded.
pub fn as_ms(d: Duration) -> u64 {
    (d.as_secs_f64() * 1000.0).round() as u64
}

/// The accepted size forms, for messages.
const SIZE_FORMS: &str =
    "bytes, or a size such as 500MB, 2GB (powers of 1000), 512MiB, 2GiB or 2G \
                          (powers of 1024)";

/// Parses a size in bytes (see the module doc for the units). Zero is refused.
pub fn size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    // A lone K/M/G/T/P/E (any case) means powers of 1024, as it did before and does in GNU tools.
    let binary_letter = t
        .chars()
        .last()
        .filter(|c| "kmgtpeKMGTPE".contains(*c))
        .filter(|_| t.len() > 1 && t[..t.len() - 1].trim().parse::<f64>().is_ok());
    let normalised = match binary_letter {
        Some(_) => format!("{t}iB"),
        None => t.to_string(),
    };
    let bytes = normalised
        .parse::<bytesize::ByteSize>()
        .map_err(|_| format!("{t:?} is not a size (expected {SIZE_FORMS})"))?
        .as_u64();
    if bytes == 0 {
        return Err(format!("must be more than 0 (expected {SIZE_FORMS})"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_one_syntax_and_keep_bare_numbers() {
        assert_eq!(duration_secs("30").unwrap(), Duration::from_secs(30));
        assert_eq!(duration_secs("2.5").unwrap(), Duration::from_millis(2500));
        assert_eq!(duration_secs("1m").unwrap(), Duration::from_secs(60));
        assert_eq!(duration_secs("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(duration_secs("1.5m").unwrap(), Duration::from_secs(90));
        assert_eq!(duration_secs("1h 30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(duration_secs("0").unwrap(), Duration::ZERO);
        assert_eq!(duration_ms("250").unwrap(), Duration::from_millis(250));
        assert_eq!(duration_ms("1s").unwrap(), Duration::from_secs(1));
        assert!(positive_duration_secs("0").is_err());
        for bad in ["", "abc", "-1", "5x", "1.5 parsecs"] {
            let err = duration_secs(bad).unwrap_err();
            assert!(err.contains("500ms"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn sizes_follow_bytesize_and_a_lone_letter_is_binary() {
        assert_eq!(size("2GB").unwrap(), 2_000_000_000);
        assert_eq!(size("2GiB").unwrap(), 1 << 31);
        assert_eq!(size("2G").unwrap(), 1 << 31);
        assert_eq!(size("64M").unwrap(), 64 << 20);
        assert_eq!(size("500 MB").unwrap(), 500_000_000);
        assert_eq!(size("1500").unwrap(), 1500);
        assert_eq!(size("1.5KiB").unwrap(), 1536);
        for bad in ["", "0", "-1", "2X", "G", "lots"] {
            let err = size(bad).unwrap_err();
            assert!(err.contains("2GiB"), "{bad:?}: {err}");
        }
    }
}
