//! Shared pieces of the JSON importers (Chrome trace, speedscope, V8 .cpuprofile): a hand-driven walk over the
//! top level so each element is deserialized straight from the input slice (no DOM, byte offsets for progress and
//! errors, tolerance of Chrome's unterminated arrays), lenient number/string fields, and a fast hasher for interning.

use std::borrow::Cow;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::import::{ImportError, Location};

/// FxHash (rustc's hasher): far cheaper than SipHash for the short keys interned per event; input is not
/// adversarial enough to need DoS resistance (a hostile file can only slow its own import down).
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_i64(&mut self, i: i64) {
        self.add(i as u64);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub type FxBuild = BuildHasherDefault<FxHasher>;
pub type FxMap<K, V> = std::collections::HashMap<K, V, FxBuild>;

/// Index of the first non-whitespace byte at or after `pos` (`bytes.len()` at the end).
#[inline]
pub fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while let Some(&b) = bytes.get(pos) {
        if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
            break;
        }
        pos += 1;
    }
    pos
}

/// Deserializes one JSON value starting at `pos` (leading whitespace allowed) and returns it with the offset just
/// past it. The value borrows from `bytes` where it can.
#[inline]
pub fn parse_one<'de, T: Deserialize<'de>>(
    bytes: &'de [u8],
    pos: usize,
) -> Result<(T, usize), serde_json::Error> {
    let rest = bytes.get(pos..).unwrap_or(&[]);
    let mut it = serde_json::Deserializer::from_slice(rest).into_iter::<T>();
    match it.next() {
        Some(Ok(v)) => Ok((v, pos + it.byte_offset())),
        Some(Err(e)) => Err(e),
        None => Err(de::Error::custom("unexpected end of input")),
    }
}

/// Byte offset of serde_json's (1-based line, column) inside `bytes[base..]`, as an absolute offset.
pub fn offset_of(bytes: &[u8], base: usize, e: &serde_json::Error) -> u64 {
    let rest = bytes.get(base..).unwrap_or(&[]);
    if e.line() == 0 {
        return base as u64;
    }
    let mut line = 1;
    let mut start = 0;
    if e.line() > 1 {
        for (i, &b) in rest.iter().enumerate() {
            if b == b'\n' {
                line += 1;
                if line == e.line() {
                    start = i + 1;
                    break;
                }
            }
        }
    }
    let col = e.column().saturating_sub(1);
    (base + (start + col).min(rest.len())) as u64
}

/// A serde_json error while reading `format`, located in the whole input.
pub fn json_error(
    format: &'static str,
    bytes: &[u8],
    base: usize,
    e: &serde_json::Error,
    what: &str,
) -> ImportError {
    let msg = if e.is_eof() {
        format!("the file ends in the middle of {what} (truncated?)")
    } else {
        // serde_json appends "at line L column C" relative to the element; the Location replaces it.
        let full = e.to_string();
        let short = full
            .rsplit_once(" at line ")
            .map_or(full.as_str(), |(m, _)| m);
        format!("{short} in {what}")
    };
    ImportError::parse(format, msg, Location::Byte(offset_of(bytes, base, e)))
}

/// Whether `needle` occurs in `hay` (the heads we search are ≤ 64 KB, so a plain scan is cheap enough).
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memfind(hay, needle).is_some()
}

pub fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let last_start = hay.len() - needle.len();
    let mut i = 0;
    while i <= last_start {
        match hay[i..=last_start].iter().position(|&b| b == first) {
            None => return None,
            Some(p) => {
                i += p;
                if &hay[i..i + needle.len()] == needle {
                    return Some(i);
                }
                i += 1;
            }
        }
    }
    None
}

/// The head without a UTF-8 BOM and leading whitespace.
pub fn trim_head(head: &[u8]) -> &[u8] {
    let h = head.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(head);
    &h[skip_ws(h, 0)..]
}

/// A number that some writers put in a string (`"ts": "11550183666"`). Anything else becomes NaN rather than an
/// error, so one odd field does not sink a whole trace.
#[derive(Clone, Copy, Debug, Default)]
pub struct Num(pub f64);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_f64<E>(self, v: f64) -> Result<Num, E> {
                Ok(Num(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Num, E> {
                Ok(Num(v as f64))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Num, E> {
                Ok(Num(v as f64))
            }
            fn visit_str<E>(self, v: &str) -> Result<Num, E> {
                Ok(Num(v.trim().parse().unwrap_or(f64::NAN)))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Num, E> {
                Ok(Num(f64::NAN))
            }
            fn visit_unit<E>(self) -> Result<Num, E> {
                Ok(Num(f64::NAN))
            }
            fn visit_none<E>(self) -> Result<Num, E> {
                Ok(Num(f64::NAN))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<Num, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Num(f64::NAN))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Num, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Num(f64::NAN))
            }
        }
        d.deserialize_any(V)
    }
}

impl Num {
    pub fn finite(self) -> Option<f64> {
        self.0.is_finite().then_some(self.0)
    }
}

/// A string where the writer may have put a number or null instead; non-strings become None (never an error).
#[derive(Debug, Default)]
pub struct LaxStr<'a>(pub Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for LaxStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LaxStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(LaxStr(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(LaxStr(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(LaxStr(Some(Cow::Owned(v))))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(LaxStr(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(LaxStr(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(LaxStr(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(LaxStr(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(LaxStr(None))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(LaxStr(None))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LaxStr(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(LaxStr(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses a pid/tid: numbers as they are, numeric strings parsed, other strings hashed to a stable id (so two
/// threads named differently stay apart).
pub fn id_of(n: &IdField) -> i64 {
    match n {
        IdField::Num(v) => *v,
        IdField::Str(s) => s.trim().parse().unwrap_or_else(|_| {
            let mut h = FxHasher::default();
            h.write(s.as_bytes());
            (h.finish() >> 12) as i64
        }),
        IdField::Missing => 0,
    }
}

#[derive(Debug, Default)]
pub enum IdField {
    Num(i64),
    Str(String),
    #[default]
    Missing,
}

impl<'de> Deserialize<'de> for IdField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IdField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a pid/tid")
            }
            fn visit_u64<E>(self, v: u64) -> Result<IdField, E> {
                Ok(IdField::Num(v as i64))
            }
            fn visit_i64<E>(self, v: i64) -> Result<IdField, E> {
                Ok(IdField::Num(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<IdField, E> {
                Ok(IdField::Num(v as i64))
            }
            fn visit_str<E>(self, v: &str) -> Result<IdField, E> {
                Ok(match v.trim().parse() {
                    Ok(n) => IdField::Num(n),
                    Err(_) => IdField::Str(v.to_owned()),
                })
            }
            fn visit_unit<E>(self) -> Result<IdField, E> {
                Ok(IdField::Missing)
            }
            fn visit_bool<E>(self, _: bool) -> Result<IdField, E> {
                Ok(IdField::Missing)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<IdField, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(IdField::Missing)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<IdField, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(IdField::Missing)
            }
        }
        d.deserialize_any(V)
    }
}

/// Splits VizTracer's `"func (/path/file.py:12)"` into (func, file, line). Names without that suffix come back
/// whole with no file.
pub fn split_located_name(name: &str) -> (&str, Option<&str>, u32) {
    if let Some(inner) = name.strip_suffix(')') {
        if let Some(open) = inner.rfind(" (") {
            let loc = &inner[open + 2..];
            if let Some((file, line)) = loc.rsplit_once(':') {
                if let Ok(line) = line.parse::<u32>() {
                    if !file.is_empty() {
                        return (&name[..open], Some(file), line);
                    }
                }
            }
        }
    }
    (name, None, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_viztracer_names() {
        assert_eq!(
            split_located_name("fib (/a/b.py:7)"),
            ("fib", Some("/a/b.py"), 7)
        );
        assert_eq!(
            split_located_name("A.b (C:\\x\\y.py:12)"),
            ("A.b", Some("C:\\x\\y.py"), 12)
        );
        assert_eq!(
            split_located_name("builtins.len"),
            ("builtins.len", None, 0)
        );
        assert_eq!(split_located_name("f (x)"), ("f (x)", None, 0));
        assert_eq!(split_located_name("f (:3)"), ("f (:3)", None, 0));
    }

    #[test]
    fn locates_errors_by_line_and_column() {
        let text = b"xx[\n {\"a\": 1},\n {\"a\": }\n]";
        let base = 2;
        let err = serde_json::from_slice::<serde_json::Value>(&text[base..]).unwrap_err();
        let off = offset_of(text, base, &err) as usize;
        assert_eq!(text[off], b'}');
    }

    #[test]
    fn finds_needles() {
        assert!(contains(b"abc\"ph\"", b"\"ph\""));
        assert!(!contains(b"ab", b"abc"));
        assert_eq!(memfind(b"aab", b"ab"), Some(1));
    }
}
