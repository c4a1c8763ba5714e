//! The messages of an Arrow IPC stream: length-prefixed flatbuffer headers and their bodies,
//! the schema first, record batches after it, and the end-of-stream marker required (a
//! stream cut between two messages is an error, as are bytes after the marker).

use std::ops::Range;

use arrow_ipc::{MessageHeader, MetadataVersion};

use super::IpcError;

/// What the stream holds at a position.
pub(super) enum Next<'a> {
    /// A message: its flatbuffer header and its body.
    Message(arrow_ipc::Message<'a>, &'a [u8]),
    /// The end-of-stream marker.
    End,
    /// The end of the bytes, without the marker.
    Eof,
}

/// A record batch message.
pub(super) struct BatchMessage<'a> {
    pub(super) header: arrow_ipc::RecordBatch<'a>,
    pub(super) version: MetadataVersion,
    /// Its body, where its buffers lie.
    pub(super) body: &'a [u8],
}

/// `offset..offset + length` if it lies inside `len` bytes. Offsets and lengths come from the
/// stream: negative ones, or ones whose end overflows, are `None` too.
pub(super) fn within(
    len: usize,
    offset: impl TryInto<usize>,
    length: impl TryInto<usize>,
) -> Option<Range<usize>> {
    let offset = offset.try_into().ok()?;
    let end = offset.checked_add(length.try_into().ok()?)?;
    (end <= len).then_some(offset..end)
}

/// The next message of the stream at `*pos`, the end-of-stream marker, or the end of the bytes.
pub(super) fn next_message<'a>(bytes: &'a [u8], pos: &mut usize) -> Result<Next<'a>, IpcError> {
    let at = *pos;
    let rest = &bytes[at.min(bytes.len())..];
    if rest.is_empty() {
        return Ok(Next::Eof);
    }
    let word = |i: usize| -> Result<i32, IpcError> {
        rest.get(i..i + 4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| {
                IpcError::new(format!(
                    "the Arrow stream ends inside a message length at byte {}",
                    at + i
                ))
            })
    };
    // A message starts with the continuation marker 0xFFFFFFFF (format 0.15+) or, in the
    // older format, directly with its length.
    let (len, start) = match word(0)? {
        -1 => (word(4)?, 8),
        len => (len, 4),
    };
    if len == 0 {
        *pos = at + start;
        return Ok(Next::End);
    }
    let len = usize::try_from(len)
        .map_err(|_| format!("message at byte {at}: negative metadata length {len}"))?;
    let meta = within(rest.len(), start, len)
        .map(|r| &rest[r])
        .ok_or_else(|| {
            format!("message at byte {at}: the stream ends inside its {len}-byte header")
        })?;
    let message = arrow_ipc::root_as_message(meta)
        .map_err(|e| format!("message at byte {at}: not an Arrow IPC message: {e}"))?;
    let body_len = usize::try_from(message.bodyLength()).map_err(|_| {
        format!(
            "message at byte {at}: negative body length {}",
            message.bodyLength()
        )
    })?;
    let body = within(rest.len(), start + len, body_len)
        .map(|r| &rest[r])
        .ok_or_else(|| {
            format!(
                "message at byte {at}: its body is {body_len} bytes, but only {} remain: the stream was cut short",
                rest.len().saturating_sub(start + len)
            )
        })?;
    *pos = at + start + len + body_len;
    Ok(Next::Message(message, body))
}

/// The stream's first message, which must be its schema.
pub(super) fn schema_message<'a>(
    bytes: &'a [u8],
    pos: &mut usize,
) -> Result<arrow_ipc::Schema<'a>, IpcError> {
    let Next::Message(message, _) = next_message(bytes, pos)? else {
        return Err("the Arrow stream is empty (no schema message)".into());
    };
    message.header_as_schema().ok_or_else(|| {
        IpcError::new(format!(
            "the first message is a {:?}, not the schema",
            message.header_type()
        ))
    })
}

/// The record batch at `*pos`, the `batch_no`-th, or `None` at the end-of-stream marker
/// (which must end the bytes).
pub(super) fn next_record_batch<'a>(
    bytes: &'a [u8],
    pos: &mut usize,
    batch_no: usize,
) -> Result<Option<BatchMessage<'a>>, IpcError> {
    let (message, body) = match next_message(bytes, pos)? {
        Next::Message(m, b) => (m, b),
        Next::End if *pos < bytes.len() => {
            return Err(format!(
                "{} bytes follow the end-of-stream marker",
                bytes.len() - *pos
            )
            .into());
        }
        Next::End => return Ok(None),
        Next::Eof => {
            let after = match batch_no {
                0 => "its schema".to_string(),
                n => format!("record batch {}", n - 1),
            };
            return Err(format!(
                "the Arrow stream ends after {after} without its end-of-stream marker: \
                 the answer was cut short"
            )
            .into());
        }
    };
    match message.header_type() {
        MessageHeader::RecordBatch => {
            let header = message
                .header_as_record_batch()
                .ok_or_else(|| format!("record batch {batch_no}: no header"))?;
            Ok(Some(BatchMessage {
                header,
                version: message.version(),
                body,
            }))
        }
        MessageHeader::DictionaryBatch => Err("dictionary batches are not supported".into()),
        other => Err(format!("unexpected {other:?} message after record batch {batch_no}").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::within;

    #[test]
    fn within_refuses_negative_overflowing_and_outside_spans() {
        assert_eq!(within(10, 2i64, 8i64), Some(2..10));
        assert_eq!(within(10, 0usize, 0usize), Some(0..0));
        assert_eq!(within(10, 3i64, 8i64), None);
        assert_eq!(within(10, -1i64, 2i64), None);
        assert_eq!(within(10, 2i64, -1i64), None);
        assert_eq!(within(usize::MAX, usize::MAX, 1usize), None);
        assert_eq!(within(10, i64::MAX, i64::MAX), None);
    }
}
