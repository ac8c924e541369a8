//! A bounds-checked reader over one message body, shared by the decoders.

/// Why a body could not be read: it ended early or held something it may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// The body ended before a field did.
    Short,
    /// A string was not NUL-terminated inside the body.
    Unterminated,
    /// A string was not valid UTF-8.
    Utf8,
    /// A count or length was negative where it may not be, or larger than the bytes left.
    BadCount,
}

pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Cursor { buf }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], BodyError> {
        if n > self.buf.len() {
            return Err(BodyError::Short);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, BodyError> {
        Ok(self.bytes(1)?[0])
    }

    pub(crate) fn i16(&mut self) -> Result<i16, BodyError> {
        let b = self.bytes(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn i32(&mut self) -> Result<i32, BodyError> {
        let b = self.bytes(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, BodyError> {
        Ok(self.i32()? as u32)
    }

    /// A NUL-terminated UTF-8 string, without its terminator.
    pub(crate) fn cstr(&mut self) -> Result<&'a str, BodyError> {
        let end = self.buf.iter().position(|&b| b == 0).ok_or(BodyError::Unterminated)?;
        let s = std::str::from_utf8(&self.buf[..end]).map_err(|_| BodyError::Utf8)?;
        self.buf = &self.buf[end + 1..];
        Ok(s)
    }

    /// A non-negative i16 count of items that each take at least `min_item` bytes,
    /// checked against the bytes actually left, so that nothing is allocated for a
    /// count the client merely claims.
    pub(crate) fn count(&mut self, min_item: usize) -> Result<usize, BodyError> {
        let n = self.i16()?;
        if n < 0 {
            return Err(BodyError::BadCount);
        }
        let n = n as usize;
        if n.saturating_mul(min_item) > self.buf.len() {
            return Err(BodyError::BadCount);
        }
        Ok(n)
    }
}
