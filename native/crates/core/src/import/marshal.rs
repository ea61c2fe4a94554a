//! A reader for the subset of CPython's `marshal` format that `pstats` files use (see CPython `Python/marshal.c`).
//! Never panics: every read is bounds-checked, nesting is capped, and errors carry the byte offset.

use std::rc::Rc;

/// A decoded marshal value. Containers are `Rc` so back-references (`TYPE_REF`) are cheap clones.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    Tuple(Rc<Vec<Value>>),
    Dict(Rc<Vec<(Value, Value)>>),
    /// A reference to a container that is still being read (only in self-referencing input).
    Pending,
}

impl Value {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Bool(b) => Some(*b as u8 as f64),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_tuple(&self) -> Option<&[Value]> {
        match self {
            Value::Tuple(t) => Some(t),
            _ => None,
        }
    }
    pub fn as_dict(&self) -> Option<&[(Value, Value)]> {
        match self {
            Value::Dict(d) => Some(d),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MarshalError {
    pub message: String,
    pub offset: u64,
}

const FLAG_REF: u8 = 0x80;
const MAX_DEPTH: usize = 100;

pub struct MarshalReader<'a> {
    bytes: &'a [u8],
    pos: usize,
    refs: Vec<Value>,
    depth: usize,
}

impl<'a> MarshalReader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        MarshalReader { bytes, pos: 0, refs: Vec::new(), depth: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    /// Reads a dict's type byte (reserving its ref slot like `read_value` would) so the caller can read the
    /// entries one by one and know each entry's offset.
    pub fn begin_dict(&mut self) -> Result<(), MarshalError> {
        let at = self.pos;
        let code = self.read_u8()?;
        if code & !FLAG_REF != b'{' {
            return self.fail(at, format!("expected a dict (type '{{'), found type 0x{code:02X}"));
        }
        if code & FLAG_REF != 0 {
            self.refs.push(Value::Pending);
        }
        Ok(())
    }

    /// True (and consumes the terminator) when the dict being read has no more entries.
    pub fn at_dict_end(&mut self) -> Result<bool, MarshalError> {
        match self.bytes.get(self.pos) {
            Some(b'0') => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) => Ok(false),
            None => self.fail(self.pos, "the data ends inside a dict (is the file cut short?)"),
        }
    }

    fn fail<T>(&self, at: usize, message: impl Into<String>) -> Result<T, MarshalError> {
        Err(MarshalError { message: message.into(), offset: at as u64 })
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], MarshalError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let s = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => self.fail(
                self.pos,
                format!("the data ends early: {n} more bytes needed, {} left (is the file cut short?)", self.bytes.len() - self.pos),
            ),
        }
    }

    fn read_u8(&mut self) -> Result<u8, MarshalError> {
        Ok(self.take(1)?[0])
    }

    fn read_i32(&mut self) -> Result<i32, MarshalError> {
        let b = self.take(4)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A length prefix; negative or larger than the rest of the input is an error (not an allocation).
    fn read_len(&mut self, short: bool) -> Result<usize, MarshalError> {
        let at = self.pos;
        let n = if short { self.read_u8()? as i64 } else { self.read_i32()? as i64 };
        if n < 0 || n as usize > self.bytes.len() - self.pos {
            return self.fail(at, format!("bad length {n} with {} bytes left", self.bytes.len() - self.pos));
        }
        Ok(n as usize)
    }

    fn read_text(&mut self, short: bool) -> Result<Value, MarshalError> {
        let n = self.read_len(short)?;
        let at = self.pos;
        let raw = self.take(n)?;
        match std::str::from_utf8(raw) {
            Ok(s) => Ok(Value::Str(Rc::from(s))),
            Err(e) => self.fail(at + e.valid_up_to(), "a string is not valid UTF-8"),
        }
    }

    pub fn read_value(&mut self) -> Result<Value, MarshalError> {
        let at = self.pos;
        let code = self.read_u8()?;
        let flag = code & FLAG_REF != 0;
        let ty = code & !FLAG_REF;
        // Containers reserve their ref slot before their items, as marshal.c does, so indexes line up.
        let slot = if flag {
            self.refs.push(Value::Pending);
            Some(self.refs.len() - 1)
        } else {
            None
        };
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail(at, "values nest too deeply");
        }
        let value = self.read_body(at, ty);
        self.depth -= 1;
        let value = value?;
        if let Some(slot) = slot {
            self.refs[slot] = value.clone();
        }
        Ok(value)
    }

    fn read_body(&mut self, at: usize, ty: u8) -> Result<Value, MarshalError> {
        Ok(match ty {
            b'N' => Value::None,
            b'T' => Value::Bool(true),
            b'F' => Value::Bool(false),
            b'i' => Value::Int(self.read_i32()? as i64),
            b'l' => self.read_long()?,
            b'g' => {
                let b = self.take(8)?;
                Value::Float(f64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
            }
            b'f' => {
                let n = self.read_len(true)?;
                let raw = self.take(n)?;
                match std::str::from_utf8(raw).ok().and_then(|s| s.parse::<f64>().ok()) {
                    Some(f) => Value::Float(f),
                    None => return self.fail(at, "a float is not a number"),
                }
            }
            b'u' | b't' | b'a' | b'A' => self.read_text(false)?,
            b'z' | b'Z' => self.read_text(true)?,
            b's' => {
                let n = self.read_len(false)?;
                Value::Bytes(Rc::from(self.take(n)?))
            }
            b'(' | b'[' | b'<' | b'>' => {
                let n = self.read_len(false)?;
                self.read_items(n)?
            }
            b')' => {
                let n = self.read_len(true)?;
                self.read_items(n)?
            }
            b'{' => {
                let mut pairs = Vec::new();
                loop {
                    if self.bytes.get(self.pos) == Some(&b'0') {
                        self.pos += 1;
                        break;
                    }
                    let k = self.read_value()?;
                    let v = self.read_value()?;
                    pairs.push((k, v));
                }
                Value::Dict(Rc::new(pairs))
            }
            b'r' => {
                let i = self.read_i32()?;
                match usize::try_from(i).ok().and_then(|i| self.refs.get(i)) {
                    Some(v) => v.clone(),
                    None => return self.fail(at, format!("reference {i} to a value not read yet ({} known)", self.refs.len())),
                }
            }
            other => {
                return self.fail(at, format!("unsupported marshal type 0x{other:02X} ({:?})", other as char));
            }
        })
    }

    fn read_items(&mut self, n: usize) -> Result<Value, MarshalError> {
        let mut items = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            items.push(self.read_value()?);
        }
        Ok(Value::Tuple(Rc::new(items)))
    }

    /// Python long: signed count of 15-bit digits, least significant first. Huge ones become floats.
    fn read_long(&mut self) -> Result<Value, MarshalError> {
        let at = self.pos;
        let n = self.read_i32()?;
        let count = n.unsigned_abs() as usize;
        if count > (self.bytes.len() - self.pos) / 2 {
            return self.fail(at, format!("bad long digit count {n}"));
        }
        let mut acc: f64 = 0.0;
        let mut exact: i128 = 0;
        for i in 0..count {
            let d = self.take(2)?;
            let digit = u16::from_le_bytes([d[0], d[1]]);
            if digit >= 1 << 15 {
                return self.fail(self.pos - 2, "bad long digit");
            }
            acc += digit as f64 * 2f64.powi(15 * i as i32);
            if i < 8 {
                exact |= (digit as i128) << (15 * i);
            }
        }
        let sign = if n < 0 { -1 } else { 1 };
        Ok(if count <= 4 { Value::Int(sign * exact as i64) } else { Value::Float(sign as f64 * acc) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_refs_small_tuples_and_longs() {
        // {('a', 1, 'f'): (1, 2**40, 0.5)} with a FLAG_REF string reused through 'r'.
        let mut b = vec![b'{', b')' | FLAG_REF, 3, b'z' | FLAG_REF, 1, b'a', b'i', 1, 0, 0, 0, b'r', 1, 0, 0, 0];
        b.extend([b')', 3, b'i', 1, 0, 0, 0, b'l', 3, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x04, b'g']);
        b.extend(0.5f64.to_le_bytes());
        b.push(b'0');
        let v = MarshalReader::new(&b).read_value().unwrap();
        let d = v.as_dict().unwrap();
        let key = d[0].0.as_tuple().unwrap();
        assert_eq!(key[2].as_str(), Some("a"));
        let val = d[0].1.as_tuple().unwrap();
        assert_eq!(val[1], Value::Int(1 << 40));
        assert_eq!(val[2], Value::Float(0.5));
    }

    #[test]
    fn reports_truncation_with_offset() {
        let e = MarshalReader::new(&[b'{', b'(', 3, 0, 0, 0, b'u', 200, 0, 0, 0, b'x']).read_value().unwrap_err();
        assert_eq!(e.offset, 7);
        assert!(e.message.contains("bad length"), "{}", e.message);
    }
}
