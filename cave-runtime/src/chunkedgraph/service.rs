//! The service and the segmentation: versions, the segmentation's info, its oldest time.

use chrono::{DateTime, Utc};
use serde_json::Value;

use cave_wire::chunkedgraph::OldestTimestampAnswer;
use cave_wire::paths::segmentation;

use super::ChunkedGraph;
use super::answer::{self, Call};
use crate::error::Error;

impl ChunkedGraph<'_> {
    /// The segmentation's info (`GET /segmentation/table/{table}/info`: `graph.n_layers`,
    /// `graph.chunk_size`, `scales`, ...), as served; read once per [`ChunkedGraph`].
    pub async fn segmentation_info(&self) -> Result<Value, Error> {
        self.info
            .get_or_try_init(|| async {
                let url = self.info_url();
                self.json::<Value>(Call::get(&url), "the segmentation's info")
                    .await
            })
            .await
            .cloned()
    }

    /// PyChunkedGraph's version (`GET /segmentation/api/version`, a JSON string such as
    /// `"2.18.3"`).
    pub async fn server_version(&self) -> Result<String, Error> {
        let url = self.service_url(segmentation::VERSION);
        self.json(Call::get(&url), "a version string").await
    }

    /// The API versions the server offers (`GET /segmentation/api/versions`, e.g. `[0, 1]`);
    /// this client speaks 1.
    pub async fn api_versions(&self) -> Result<Vec<u32>, Error> {
        let url = self.service_url(segmentation::API_VERSIONS);
        self.json(Call::get(&url), "a list of API versions").await
    }

    /// The time of the segmentation's first state (caveclient's `get_oldest_timestamp`):
    /// `GET .../oldest_timestamp`, `{"iso": "2020-06-01 00:00:00+00:00"}` (a space or `T`
    /// between date and time, fractional seconds optional; no offset: UTC).
    pub async fn oldest_timestamp(&self) -> Result<DateTime<Utc>, Error> {
        let url = self.url(segmentation::OLDEST_TIMESTAMP, &[]);
        let answer: OldestTimestampAnswer = self
            .json(Call::get(&url), "an oldest timestamp ({\"iso\": \"...\"})")
            .await?;
        parse_iso(&answer.iso).ok_or_else(|| {
            answer::bad(
                self.http(),
                &url,
                format!(
                    "at iso: expected an ISO 8601 time, found `{}`",
                    cave_wire::untrusted::printable(&answer.iso)
                ),
            )
        })
    }
}

/// Python's `isoformat(" ")` or `isoformat()` of a time: `2020-06-01 00:00:00+00:00`,
/// `2020-06-01T00:00:00.123456+00:00`, `...Z`, or without an offset (UTC).
fn parse_iso(text: &str) -> Option<DateTime<Utc>> {
    cave_wire::parse_time(text).or_else(|| cave_wire::parse_time(&text.replacen(' ', "T", 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_timestamps_read_with_either_separator_and_any_precision() {
        let want = DateTime::from_timestamp(1_590_969_600, 0).unwrap();
        for text in [
            "2020-06-01 00:00:00+00:00",
            "2020-06-01T00:00:00+00:00",
            "2020-06-01 00:00:00.000000+00:00",
            "2020-06-01 02:00:00+02:00",
            "2020-06-01T00:00:00Z",
            "2020-06-01 00:00:00",
        ] {
            assert_eq!(parse_iso(text), Some(want), "{text}");
        }
        assert_eq!(
            parse_iso("2020-06-01 00:00:00.25+00:00"),
            Some(DateTime::from_timestamp(1_590_969_600, 250_000_000).unwrap())
        );
        assert_eq!(parse_iso("June 2020"), None);
    }
}
