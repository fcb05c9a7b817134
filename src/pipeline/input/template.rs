//! `--video-url-template`: a `video_url` built from a record's ID and platform.

use crate::error::InvalidValue;

/// A `video_url` template such as `s3://bucket/videos/{content_id}.mp4`.
///
/// Placeholders: `{content_id}` (required) and `{platform}`. In a URL (`scheme://…`) the values
/// are percent-encoded (everything but `A-Z a-z 0-9 - _ ~`, so `/`, `?`, `#`, `.` cannot change
/// the URL's shape); in a local path template a value with `/`, `\\` or NUL, or one that is `.`
/// or `..`, is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlTemplate {
    text: String,
    is_url: bool,
}

const URL_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'~');

impl UrlTemplate {
    /// Checks a template: it must contain `{content_id}` and no other placeholder than
    /// `{platform}`.
    pub fn parse(text: &str) -> Result<UrlTemplate, InvalidValue> {
        if !text.contains("{content_id}") {
            return Err(InvalidValue(format!(
                "--video-url-template must contain {{content_id}}: {text:?}"
            )));
        }
        let rest = text.replace("{content_id}", "").replace("{platform}", "");
        if rest.contains('{') || rest.contains('}') {
            return Err(InvalidValue(format!(
                "--video-url-template knows only {{content_id}} and {{platform}}: {text:?}"
            )));
        }
        Ok(UrlTemplate {
            text: text.to_string(),
            is_url: text.contains("://"),
        })
    }

    /// The URL for `content_id` on `platform`.
    pub fn render(&self, content_id: &str, platform: &str) -> Result<String, InvalidValue> {
        let encode = |value: &str, what: &str| -> Result<String, InvalidValue> {
            if value.is_empty() || value.chars().all(|c| c == '.') {
                return Err(InvalidValue(format!(
                    "{what} {value:?} cannot go into a video URL"
                )));
            }
            if self.is_url {
                Ok(percent_encoding::utf8_percent_encode(value, URL_VALUE).to_string())
            } else if value.contains(['/', '\\', '\0']) {
                Err(InvalidValue(format!(
                    "{what} {value:?} cannot go into a path template"
                )))
            } else {
                Ok(value.to_string())
            }
        };
        let id = encode(content_id, "content_id")?;
        let mut out = self.text.replace("{content_id}", &id);
        if out.contains("{platform}") {
            out = out.replace("{platform}", &encode(platform, "platform")?);
        }
        Ok(out)
    }
}
