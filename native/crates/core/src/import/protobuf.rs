//! Just enough protobuf wire format to read pprof's profile.proto: varints, length-delimited fields and packed
//! repeated varints. Hand-written so the core has no codegen step; every read is bounds-checked and every error
//! carries the absolute byte offset.

#[derive(Debug, Clone, PartialEq)]
pub struct WireError {
    pub message: String,
    pub offset: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Field<'a> {
    Varint(u64),
    Fixed64(u64),
    /// Bytes of a length-delimited field and the absolute offset where they start.
    Bytes(&'a [u8], usize),
    Fixed32(u32),
}

impl Field<'_> {
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Field::Varint(v) | Field::Fixed64(v) => Some(v),
            Field::Fixed32(v) => Some(v as u64),
            Field::Bytes(..) => None,
        }
    }
}

/// Iterates the fields of one message.
pub struct MessageReader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Absolute offset of `buf[0]` in the file, for error messages.
    base: usize,
}

impl<'a> MessageReader<'a> {
    pub fn new(buf: &'a [u8], base: usize) -> Self {
        MessageReader { buf, pos: 0, base }
    }

    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    fn fail<T>(&self, at: usize, message: impl Into<String>) -> Result<T, WireError> {
        Err(WireError { message: message.into(), offset: (self.base + at) as u64 })
    }

    pub fn read_varint(&mut self) -> Result<u64, WireError> {
        let start = self.pos;
        let mut v: u64 = 0;
        for i in 0..10 {
            let Some(&byte) = self.buf.get(self.pos) else {
                return self.fail(start, "a varint runs past the end of its field or of the file (corrupt or cut short)");
            };
            self.pos += 1;
            v |= ((byte & 0x7F) as u64) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        self.fail(start, "bad varint: more than 10 bytes")
    }

    /// Next (field number, value), or None at the end of the message.
    pub fn next_field(&mut self) -> Result<Option<(u32, Field<'a>)>, WireError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let at = self.pos;
        let tag = self.read_varint()?;
        let (number, wire) = (tag >> 3, tag & 7);
        if number == 0 || number > u32::MAX as u64 >> 3 {
            return self.fail(at, format!("bad field number {number}"));
        }
        let value = match wire {
            0 => Field::Varint(self.read_varint()?),
            1 => Field::Fixed64(u64::from_le_bytes(self.take(8, at)?.try_into().unwrap_or([0; 8]))),
            2 => {
                let len = self.read_varint()?;
                let start = self.pos;
                let bytes = self.take(usize::try_from(len).unwrap_or(usize::MAX), at)?;
                Field::Bytes(bytes, self.base + start)
            }
            5 => Field::Fixed32(u32::from_le_bytes(self.take(4, at)?.try_into().unwrap_or([0; 4]))),
            other => return self.fail(at, format!("unsupported wire type {other} for field {number}")),
        };
        Ok(Some((number as u32, value)))
    }

    fn take(&mut self, n: usize, field_at: usize) -> Result<&'a [u8], WireError> {
        match self.pos.checked_add(n).filter(|&e| e <= self.buf.len()) {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => self.fail(
                field_at,
                format!("a field needs {n} bytes but only {} are left (is the file cut short?)", self.buf.len() - self.pos),
            ),
        }
    }
}

/// Appends a repeated varint field's values, packed (wire type 2) or not (wire type 0).
pub fn push_repeated(field: Field, out: &mut Vec<u64>) -> Result<(), WireError> {
    match field {
        Field::Bytes(bytes, base) => {
            let mut r = MessageReader::new(bytes, base);
            while r.pos < bytes.len() {
                out.push(r.read_varint()?);
            }
            Ok(())
        }
        other => {
            out.extend(other.as_u64());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_packed_values() {
        // field 1 varint 300; field 2 packed [1, 150]; field 3 fixed32 7
        let bytes = [0x08, 0xAC, 0x02, 0x12, 0x03, 0x01, 0x96, 0x01, 0x1D, 7, 0, 0, 0];
        let mut r = MessageReader::new(&bytes, 0);
        assert_eq!(r.next_field().unwrap(), Some((1, Field::Varint(300))));
        let (n, f) = r.next_field().unwrap().unwrap();
        assert_eq!(n, 2);
        let mut v = Vec::new();
        push_repeated(f, &mut v).unwrap();
        assert_eq!(v, vec![1, 150]);
        assert_eq!(r.next_field().unwrap(), Some((3, Field::Fixed32(7))));
        assert_eq!(r.next_field().unwrap(), None);
    }

    #[test]
    fn rejects_overlong_varint_and_short_bytes() {
        let e = MessageReader::new(&[0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], 100)
            .next_field()
            .unwrap_err();
        assert_eq!(e.offset, 101);
        let e = MessageReader::new(&[0x12, 0x05, 1], 0).next_field().unwrap_err();
        assert!(e.message.contains("cut short"));
    }
}
