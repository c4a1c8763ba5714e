//! ZSTD frames of Arrow IPC buffers: small ones (and any, for a caller keeping every batch)
//! decompressed whole, big ones as they are read,
//! with decompression contexts reused across buffers and bodies.
//!
//! A streaming context holds a window (512 KiB for pyarrow's frames) and block buffers; making
//! one for every column of every record batch, and freeing it after, costs page faults on
//! every body. Contexts are kept in a small process-wide stack instead.

use arrow_buffer::Buffer;
use bytes::Bytes;
use zstd::zstd_safe::{self, DCtx, DParameter, InBuffer, OutBuffer, ResetDirective};

use super::room::Room;

use crate::ipc::IpcError;

/// Largest zstd window accepted (2^27 = 128 MiB, zstd's own default limit). Writers use far
/// less (pyarrow: 512 KiB); a frame asking for more is refused rather than allocated.
const WINDOW_LOG_MAX: u32 = 27;

/// Streaming contexts kept for reuse (about 0.7 MiB each after a pyarrow frame): a synapse
/// batch streams a dozen columns at once.
const MAX_IDLE_CONTEXTS: usize = 24;

fn idle_contexts() -> &'static std::sync::Mutex<Vec<DCtx<'static>>> {
    static IDLE: std::sync::OnceLock<std::sync::Mutex<Vec<DCtx<'static>>>> =
        std::sync::OnceLock::new();
    IDLE.get_or_init(Default::default)
}

fn error(e: usize) -> IpcError {
    IpcError::new(format!("zstd: {}", zstd_safe::get_error_name(e)))
}

/// A ZSTD frame (or frames back to back) decompressed whole, in one call, with this thread's
/// reusable context, into memory of its own ([`Room`], [`super::room`]). `declared` is the room reserved (not
/// written: address space only past what the frame holds); a frame holding more is an error.
pub(crate) fn decompress_whole(frame: &[u8], declared: usize) -> Result<Buffer, IpcError> {
    thread_local! {
        static CONTEXT: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    let mut room = Room::new(declared)?;
    CONTEXT.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            *cell = Some(zstd::bulk::Decompressor::new().map_err(|e| format!("zstd: {e}"))?);
        }
        let Some(context) = cell.as_mut() else {
            return Err(IpcError::new("zstd: no context"));
        };
        context
            .decompress_to_buffer(frame, &mut room)
            .map_err(|e| format!("zstd: {e} (declared {declared} bytes)"))?;
        Ok(())
    })?;
    Ok(room.into_buffer())
}

/// One ZSTD frame, decompressed as its bytes are asked for.
pub(crate) struct ZstdStream {
    /// `None` only while being dropped.
    context: Option<DCtx<'static>>,
    frame: Bytes,
    /// Frame bytes consumed.
    pos: usize,
    /// The frame's end was reached.
    ended: bool,
}

impl ZstdStream {
    pub(crate) fn new(frame: Bytes) -> Result<Self, IpcError> {
        let reused = idle_contexts()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        let mut context = match reused {
            Some(c) => c,
            None => DCtx::try_create().ok_or("zstd: cannot make a decompression context")?,
        };
        context.reset(ResetDirective::SessionOnly).map_err(error)?;
        context
            .set_parameter(DParameter::WindowLogMax(WINDOW_LOG_MAX))
            .map_err(error)?;
        Ok(ZstdStream {
            context: Some(context),
            frame,
            pos: 0,
            ended: false,
        })
    }

    /// Compressed bytes of the frame.
    pub(crate) fn compressed_len(&self) -> usize {
        self.frame.len()
    }

    /// Fill `out` with the frame's next bytes.
    pub(crate) fn fill(&mut self, out: &mut [u8]) -> Result<(), IpcError> {
        let context = self.context.as_mut().ok_or("zstd: no context")?;
        let cut_short = |missing: usize| {
            IpcError::new(format!(
                "the zstd frame ends before its declared length ({missing} bytes still needed)"
            ))
        };
        let mut written = 0;
        while written < out.len() {
            if self.ended {
                return Err(cut_short(out.len() - written));
            }
            let mut output = OutBuffer::around(&mut out[written..]);
            let mut input = InBuffer::around(&self.frame[self.pos..]);
            let hint = context
                .decompress_stream(&mut output, &mut input)
                .map_err(error)?;
            let (produced, consumed) = (output.pos(), input.pos);
            written += produced;
            self.pos += consumed;
            if hint == 0 && self.pos == self.frame.len() {
                // A frame ended with no input left. (With input left, another frame follows:
                // zstd, like arrow-ipc's one-shot decompression, reads frames back to back.)
                self.ended = true;
            } else if produced == 0 && consumed == 0 {
                // No input left and nothing more to flush: the frame is cut.
                return Err(cut_short(out.len() - written));
            }
        }
        Ok(())
    }
}

impl Drop for ZstdStream {
    fn drop(&mut self) {
        if let Some(context) = self.context.take() {
            let mut idle = idle_contexts().lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < MAX_IDLE_CONTEXTS {
                idle.push(context);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(data: &[u8]) -> Bytes {
        Bytes::from(zstd::bulk::compress(data, 1).unwrap())
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn pieces_of_any_size_give_the_frame_back() {
        let original = data(3 << 20);
        for piece in [1, 1000, 65536, 1 << 20, 3 << 20] {
            let mut stream = ZstdStream::new(frame(&original)).unwrap();
            let mut back = vec![0u8; original.len()];
            for chunk in back.chunks_mut(piece) {
                stream.fill(chunk).unwrap();
            }
            assert_eq!(back, original, "pieces of {piece}");
        }
    }

    #[test]
    fn a_reused_context_starts_the_next_frame_afresh() {
        // Leave a frame half read, so its context goes back mid-frame.
        let mut half = ZstdStream::new(frame(&data(1 << 20))).unwrap();
        half.fill(&mut vec![0; 1000]).unwrap();
        drop(half);
        let other = vec![42u8; 300_000];
        let mut stream = ZstdStream::new(frame(&other)).unwrap();
        let mut back = vec![0u8; other.len()];
        stream.fill(&mut back).unwrap();
        assert_eq!(back, other);
    }

    #[test]
    fn frames_back_to_back_are_read_as_one_buffer() {
        let (a, b) = (data(400_000), vec![5u8; 200_000]);
        let mut both = frame(&a).to_vec();
        both.extend_from_slice(&frame(&b));
        let mut stream = ZstdStream::new(Bytes::from(both)).unwrap();
        let mut back = vec![0u8; a.len() + b.len()];
        for chunk in back.chunks_mut(65_536) {
            stream.fill(chunk).unwrap();
        }
        assert_eq!(back[..a.len()], a[..]);
        assert_eq!(back[a.len()..], b[..]);
        assert!(stream.fill(&mut [0u8]).is_err());
    }

    #[test]
    fn asking_past_the_end_or_a_cut_frame_is_an_error() {
        let original = data(500_000);
        let mut stream = ZstdStream::new(frame(&original)).unwrap();
        let mut back = vec![0u8; original.len() + 1];
        let e = stream.fill(&mut back).unwrap_err().to_string();
        assert!(
            e.contains("ends before its declared length (1 bytes"),
            "{e}"
        );

        let whole = frame(&original);
        let mut cut = ZstdStream::new(whole.slice(..whole.len() / 2)).unwrap();
        let e = cut
            .fill(&mut vec![0u8; original.len()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("ends before its declared length"), "{e}");

        let mut garbage = ZstdStream::new(Bytes::from_static(b"not a zstd frame")).unwrap();
        let e = garbage.fill(&mut [0u8; 10]).unwrap_err().to_string();
        assert!(e.starts_with("zstd: "), "{e}");
    }
}
