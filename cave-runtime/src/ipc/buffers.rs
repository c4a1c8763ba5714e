//! A buffer's bytes as the columns ask for them: as they lie in the body, decompressed as
//! they are read (ZSTD, LZ4_FRAME), or, when the caller keeps every batch ([`Decompression::Whole`]),
//! a ZSTD buffer decompressed whole in one call and handed out as slices; never past the length
//! the buffer declares.
//!
//! [`zstd_frame`] decompresses ZSTD frames with reused contexts; [`buffer_pool`] holds the
//! memory of decoded buffers for reuse.

use std::io::Read;

use arrow_buffer::Buffer;
use arrow_ipc::CompressionType;
use bytes::{Buf, Bytes};

use super::IpcError;
use zstd_frame::{ZstdStream, decompress_whole};

pub(super) mod buffer_pool;
mod room;
pub(super) mod zstd_frame;

/// The decompressed length a buffer declares (its length prefix; a stored or uncompressed
/// buffer takes what it is).
pub(super) fn declared_length(slice: &[u8], codec: Option<Codec>) -> u64 {
    match (codec, slice.first_chunk::<8>()) {
        (Some(_), Some(prefix)) => match i64::from_le_bytes(*prefix) {
            -1 => slice.len() as u64 - 8,
            n => u64::try_from(n).unwrap_or(0),
        },
        _ => slice.len() as u64,
    }
}

/// How a record batch's buffers are compressed.
#[derive(Debug, Clone, Copy)]
pub(super) enum Codec {
    Zstd,
    Lz4,
}

impl Codec {
    /// The codec a record batch's header names, if any.
    pub(super) fn of(
        compression: Option<arrow_ipc::BodyCompression<'_>>,
    ) -> Result<Option<Self>, IpcError> {
        let Some(c) = compression else {
            return Ok(None);
        };
        match c.codec() {
            CompressionType::ZSTD => Ok(Some(Codec::Zstd)),
            CompressionType::LZ4_FRAME => Ok(Some(Codec::Lz4)),
            other => Err(format!("unknown buffer compression {other:?}").into()),
        }
    }
}

/// Buffers declaring at most this many bytes are decompressed whole, at once.
const SMALL_BUFFER: usize = 256 * 1024;

/// With [`Decompression::Whole`], ZSTD buffers declaring at most this many bytes are decompressed in
/// one call; bigger ones are streamed. The room is reserved, not written: a buffer that holds
/// less than it declares costs only address space past what it holds.
const WHOLE_MAX: usize = 1 << 30;

/// How a batch's compressed buffers are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Decompression {
    /// A chunk at a time, so that memory holds one chunk of columns (for a caller that turns
    /// chunks into rows and drops them).
    #[default]
    Streamed,
    /// A ZSTD buffer in one call, on the first chunk that needs it, and its chunks as slices of
    /// it: no copy through the streaming decoder's window. For a caller that keeps every batch
    /// anyway (the decompressed columns live as long as any of their chunks).
    Whole,
}

/// The bytes of one buffer, decompressed as they are read.
pub(super) enum Source {
    /// No buffer (length 0).
    Empty,
    /// Uncompressed bytes still to read.
    Raw(Bytes),
    /// A ZSTD frame; `left` is the uncompressed length still declared.
    Zstd { frame: ZstdStream, left: usize },
    /// A ZSTD frame to decompress whole when it is first read ([`Decompression::Whole`]).
    ZstdWhole { frame: Bytes, declared: usize },
    /// Decompressed bytes, from `at` on still to read.
    Decoded { buffer: Buffer, at: usize },
    /// An LZ4 frame.
    Lz4 {
        decoder: Box<lz4_flex::frame::FrameDecoder<bytes::buf::Reader<Bytes>>>,
        left: usize,
    },
}

impl Source {
    /// A buffer as it lies in the body: with compression, an 8-byte little-endian
    /// uncompressed length (-1: stored uncompressed) then the frame.
    pub(super) fn open(
        slice: Bytes,
        codec: Option<Codec>,
        decompression: Decompression,
    ) -> Result<Self, IpcError> {
        let Some(codec) = codec else {
            return Ok(if slice.is_empty() {
                Source::Empty
            } else {
                Source::Raw(slice)
            });
        };
        if slice.is_empty() {
            return Ok(Source::Empty);
        }
        let prefix = slice.first_chunk::<8>().ok_or_else(|| {
            format!(
                "{} bytes, shorter than the 8-byte length prefix",
                slice.len()
            )
        })?;
        let declared = i64::from_le_bytes(*prefix);
        let frame = slice.slice(8..);
        if declared == -1 {
            return Ok(Source::Raw(frame));
        }
        let left = usize::try_from(declared)
            .map_err(|_| format!("uncompressed length {declared} is negative"))?;
        if left == 0 {
            return Ok(Source::Empty);
        }
        Ok(match codec {
            // Decompressed by the thread that first reads it (a decoding worker).
            Codec::Zstd if decompression == Decompression::Whole && left <= WHOLE_MAX => {
                Source::ZstdWhole {
                    frame,
                    declared: left,
                }
            }
            // Small buffers whole, with this thread's decompression context: a streaming
            // decoder costs a context and its buffers each (most of a small query's time).
            Codec::Zstd if left <= SMALL_BUFFER => Source::Decoded {
                buffer: decompress_whole(&frame, left)?,
                at: 0,
            },
            Codec::Zstd => Source::Zstd {
                frame: ZstdStream::new(frame)?,
                left,
            },
            Codec::Lz4 => Source::Lz4 {
                decoder: Box::new(lz4_flex::frame::FrameDecoder::new(frame.reader())),
                left,
            },
        })
    }

    /// Compressed bytes (the share of work it brings).
    pub(super) fn weight(&self) -> usize {
        match self {
            Source::Empty => 0,
            Source::Raw(b) => b.len() / 8,
            Source::Zstd { frame, .. } => frame.compressed_len(),
            Source::ZstdWhole { frame, .. } => frame.len(),
            Source::Decoded { buffer, .. } => buffer.len() / 8,
            Source::Lz4 { decoder, .. } => decoder.get_ref().get_ref().len(),
        }
    }

    /// Decompress a [`Source::ZstdWhole`] frame now.
    fn decode_whole(&mut self) -> Result<(), IpcError> {
        if let Source::ZstdWhole { frame, declared } = self {
            let buffer = decompress_whole(frame, *declared)?;
            *self = Source::Decoded { buffer, at: 0 };
        }
        Ok(())
    }

    /// The next `len` bytes as a slice of the decompressed buffer, when the buffer is read
    /// whole ([`Decompression::Whole`]); `None` for the other sources, which are read with
    /// [`Source::fill`].
    pub(super) fn next_slice(&mut self, len: usize) -> Option<Result<Buffer, IpcError>> {
        if let Err(e) = self.decode_whole() {
            return Some(Err(e));
        }
        let Source::Decoded { buffer, at } = self else {
            return None;
        };
        if buffer.len() - *at < len {
            return Some(Err(ends_short(buffer.len() - *at, len)));
        }
        let slice = buffer.slice_with_length(*at, len);
        *at += len;
        Some(Ok(slice))
    }

    /// Fill `out` with the next bytes.
    pub(super) fn fill(&mut self, out: &mut [u8]) -> Result<(), IpcError> {
        let short = |have: usize| ends_short(have, out.len());
        self.decode_whole()?;
        match self {
            Source::Empty => {
                if out.is_empty() {
                    Ok(())
                } else {
                    Err(short(0))
                }
            }
            Source::Raw(rest) => {
                let head = rest.get(..out.len()).ok_or_else(|| short(rest.len()))?;
                out.copy_from_slice(head);
                rest.advance(out.len());
                Ok(())
            }
            Source::Decoded { buffer, at } => {
                let head = buffer
                    .get(*at..*at + out.len())
                    .ok_or_else(|| short(buffer.len() - *at))?;
                out.copy_from_slice(head);
                *at += out.len();
                Ok(())
            }
            Source::ZstdWhole { .. } => Err("zstd: the frame was not decompressed".into()),
            Source::Zstd { frame, left } => within_declared(left, out, |out| frame.fill(out)),
            Source::Lz4 { decoder, left } => within_declared(left, out, |out| {
                decoder.read_exact(out).map_err(|e| match e.kind() {
                    std::io::ErrorKind::UnexpectedEof => IpcError::new(format!(
                        "the lz4 frame ends before its declared length ({} bytes still needed)",
                        out.len()
                    )),
                    _ => IpcError::new(format!("lz4: {e}")),
                })
            }),
        }
    }

    /// Read and drop `n` bytes.
    pub(super) fn skip(&mut self, mut n: usize) -> Result<(), IpcError> {
        if let Some(slice) = self.next_slice(n) {
            return slice.map(drop);
        }
        let mut scratch = [0u8; 4096];
        while n > 0 {
            let k = n.min(scratch.len());
            self.fill(&mut scratch[..k])?;
            n -= k;
        }
        Ok(())
    }
}

/// A buffer that holds `have` more bytes where `needed` were asked for.
fn ends_short(have: usize, needed: usize) -> IpcError {
    IpcError::new(format!(
        "the buffer ends after {have} more bytes where {needed} were needed"
    ))
}

/// Fill `out` by `read` from a buffer that declares `left` more bytes: asking for more than
/// it declares is an error.
fn within_declared(
    left: &mut usize,
    out: &mut [u8],
    read: impl FnOnce(&mut [u8]) -> Result<(), IpcError>,
) -> Result<(), IpcError> {
    if out.len() > *left {
        return Err(format!(
            "{} bytes needed, but the buffer declares only {left} more",
            out.len()
        )
        .into());
    }
    read(out)?;
    *left -= out.len();
    Ok(())
}
