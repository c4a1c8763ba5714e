//! A benchmark baseline: the time ZSTD or LZ4 alone take on a body, to compare the reader
//! with. Not used to read answers.

use std::io::Read;

use arrow_ipc::CompressionType;

use super::IpcError;
use super::framing::{Next, next_message, within};

/// Benchmark baseline: decompress every buffer of every record batch of `bytes`, serially, in
/// one call each (the time zstd or lz4 alone needs), and return the bytes produced. Trusts the
/// declared lengths up to 1 GiB per buffer. Returns the rows of the batches and the bytes.
pub(crate) fn decompress_only(bytes: &[u8]) -> Result<(usize, usize), IpcError> {
    let mut pos = 0;
    let mut total = 0;
    let mut rows = 0;
    let mut scratch: Vec<u8> = Vec::new();
    let mut zstd = zstd::bulk::Decompressor::new().map_err(|e| e.to_string())?;
    while let Next::Message(message, body) = next_message(bytes, &mut pos)? {
        let Some(fb) = message.header_as_record_batch() else {
            continue;
        };
        rows += usize::try_from(fb.length()).unwrap_or(0);
        let codec = fb.compression().map(|c| c.codec());
        for b in fb.buffers().iter().flat_map(|b| b.iter()) {
            let slice = within(body.len(), b.offset(), b.length())
                .map(|r| &body[r])
                .ok_or("a buffer outside the body")?;
            let Some(codec) = codec else {
                total += slice.len();
                continue;
            };
            let Some((prefix, frame)) = slice.split_first_chunk::<8>() else {
                continue;
            };
            let declared = i64::from_le_bytes(*prefix);
            if declared <= 0 {
                total += frame.len();
                continue;
            }
            let declared = usize::try_from(declared)
                .ok()
                .filter(|&d| d <= 1 << 30)
                .ok_or("a declared length over 1 GiB")?;
            scratch.clear();
            scratch.reserve(declared);
            total += match codec {
                CompressionType::ZSTD => zstd
                    .decompress_to_buffer(frame, &mut scratch)
                    .map_err(|e| e.to_string())?,
                _ => {
                    let mut d = lz4_flex::frame::FrameDecoder::new(frame);
                    d.read_to_end(&mut scratch).map_err(|e| e.to_string())?
                }
            };
        }
    }
    Ok((rows, total))
}
