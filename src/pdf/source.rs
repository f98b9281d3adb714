//! Random-access byte sources. The verifier reads only the parts of a file
//! it needs, in bounded windows, never the whole file at once.

use std::io;

/// A random-access, read-only byte source.
pub trait Source: Send + Sync {
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Read up to `buf.len()` bytes at `offset`; returns the count read.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;
    /// The whole source, when it is in memory (read without copying).
    fn as_slice(&self) -> Option<&[u8]> {
        None
    }
}

impl Source for std::fs::File {
    fn len(&self) -> u64 {
        self.metadata().map(|m| m.len()).unwrap_or(0)
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(self, buf, offset)
    }
}

/// A file whose length is read once.
pub struct FileSource {
    file: std::fs::File,
    len: u64,
}

impl FileSource {
    pub fn open(path: &std::path::Path) -> io::Result<Self> {
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        Ok(FileSource { file, len })
    }
}

impl Source for FileSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        std::os::unix::fs::FileExt::read_at(&self.file, buf, offset)
    }
}

/// Bytes in memory.
pub struct MemSource<'a>(pub &'a [u8]);

impl Source for MemSource<'_> {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let Ok(start) = usize::try_from(offset) else {
            return Ok(0);
        };
        let Some(avail) = self.0.get(start..) else {
            return Ok(0);
        };
        let n = avail.len().min(buf.len());
        match (buf.get_mut(..n), avail.get(..n)) {
            (Some(dst), Some(src)) => dst.copy_from_slice(src),
            _ => return Ok(0),
        }
        Ok(n)
    }
    fn as_slice(&self) -> Option<&[u8]> {
        Some(self.0)
    }
}

impl Source for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        MemSource(self.as_slice()).read_at(offset, buf)
    }
    fn as_slice(&self) -> Option<&[u8]> {
        Some(self)
    }
}

/// Read exactly `len` bytes at `offset` (short only at end of source).
pub fn read_range(src: &dyn Source, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut done = 0usize;
    while let Some(rest) = buf.get_mut(done..).filter(|r| !r.is_empty()) {
        let at = offset
            .checked_add(done as u64)
            .ok_or_else(|| io::Error::other("range overflow"))?;
        let n = src.read_at(at, rest)?;
        if n == 0 {
            break;
        }
        done = done.saturating_add(n);
    }
    buf.truncate(done);
    Ok(buf)
}

/// Feed the bytes `[offset, offset+len)` to `f` in chunks of at most `chunk` bytes.
pub fn for_each_chunk(
    src: &dyn Source,
    offset: u64,
    len: u64,
    buf: &mut Vec<u8>,
    chunk: usize,
    mut f: impl FnMut(&[u8]),
) -> io::Result<()> {
    let end = offset
        .checked_add(len)
        .ok_or_else(|| io::Error::other("range overflow"))?;
    let chunk = chunk.max(1);
    // In memory: the bytes themselves, no copy.
    if let Some(all) = src.as_slice() {
        let range = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(end).ok())
            .and_then(|(a, b)| all.get(a..b))
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "source ended early"))?;
        for piece in range.chunks(chunk) {
            f(piece);
        }
        return Ok(());
    }
    // Elsewhere: through one buffer, made no larger than needed.
    let want_buf = (len.min(chunk as u64)) as usize;
    if buf.len() < want_buf {
        buf.resize(want_buf, 0);
    }
    let mut pos = offset;
    let early = || io::Error::new(io::ErrorKind::UnexpectedEof, "source ended early");
    while pos < end {
        let want = (end.saturating_sub(pos).min(buf.len() as u64)) as usize;
        let n = src.read_at(pos, buf.get_mut(..want).ok_or_else(early)?)?;
        if n == 0 {
            return Err(early());
        }
        f(buf.get(..n).ok_or_else(early)?);
        pos = pos.saturating_add(n as u64);
    }
    Ok(())
}
