//! Fast path for the common trace event: a flat object of plain strings and short decimal numbers, like every
//! `X` event VizTracer writes. Scanning it by hand is about twice as fast as serde's generic struct visitor, which
//! is what lets a GB trace import at disk speed. Anything unusual (escapes, nested values such as `args`,
//! exponents, long mantissas, duplicate keys) returns None and the caller re-reads the event with serde, which
//! also produces the precise error for malformed input. So this code only has to be right when it says yes.

/// The fields of a flat event.
#[derive(Default, Debug)]
pub struct FlatEvent<'a> {
    pub ph: Option<&'a str>,
    pub name: Option<&'a str>,
    pub cat: Option<&'a str>,
    pub ts: Option<f64>,
    pub dur: Option<f64>,
    pub tdur: Option<f64>,
    pub pid: Option<i64>,
    pub tid: Option<i64>,
}

/// Exact powers of ten as f64 (all exactly representable), for mantissa / 10^k.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// Scans the object starting at `pos` (which must hold `{`). Returns the event and the offset after `}`.
#[inline]
pub fn scan_flat_event(bytes: &[u8], pos: usize) -> Option<(FlatEvent<'_>, usize)> {
    let mut ev = FlatEvent::default();
    let mut i = pos;
    if *bytes.get(i)? != b'{' {
        return None;
    }
    i = ws(bytes, i + 1);
    if *bytes.get(i)? == b'}' {
        return Some((ev, i + 1));
    }
    loop {
        let (key, _, next) = string(bytes, i)?;
        i = ws(bytes, next);
        if *bytes.get(i)? != b':' {
            return None;
        }
        i = ws(bytes, i + 1);
        match key {
            b"ph" => i = put_str(&mut ev.ph, bytes, i)?,
            b"name" => i = put_str(&mut ev.name, bytes, i)?,
            b"cat" => i = put_str(&mut ev.cat, bytes, i)?,
            b"ts" => i = put_num(&mut ev.ts, bytes, i)?,
            b"dur" => i = put_num(&mut ev.dur, bytes, i)?,
            b"tdur" => i = put_num(&mut ev.tdur, bytes, i)?,
            b"pid" => i = put_int(&mut ev.pid, bytes, i)?,
            b"tid" => i = put_int(&mut ev.tid, bytes, i)?,
            _ => i = skip_scalar(bytes, i)?,
        }
        i = ws(bytes, i);
        match *bytes.get(i)? {
            b',' => i = ws(bytes, i + 1),
            b'}' => return Some((ev, i + 1)),
            _ => return None,
        }
    }
}

#[inline]
fn ws(bytes: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(i) {
        i += 1;
    }
    i
}

/// A string without escapes or control characters: its raw bytes, whether they are all ASCII, and the offset after
/// the closing quote.
#[inline]
fn string(bytes: &[u8], i: usize) -> Option<(&[u8], bool, usize)> {
    if *bytes.get(i)? != b'"' {
        return None;
    }
    let body = bytes.get(i + 1..)?;
    // Eight bytes at a time while none is special (a quote, a backslash, a control or a non-ASCII byte): names
    // run to dozens of bytes, and this loop and the UTF-8 check it spares were a fifth of the scan.
    let mut j = 0;
    while let Some(word) = body.get(j..j + 8) {
        if has_special_byte(u64::from_le_bytes(word.try_into().ok()?)) {
            break;
        }
        j += 8;
    }
    let mut ascii = true;
    loop {
        match *body.get(j)? {
            b'"' => return Some((&body[..j], ascii, i + 2 + j)),
            b'\\' | 0..=0x1f => return None,
            b => ascii &= b < 0x80,
        }
        j += 1;
    }
}

/// Whether any byte of `w` is below 0x20, a `"`, a `\` or 0x80 and above. Exact: a byte's flag can be wrong
/// only through a borrow out of a lower byte, and a lower byte borrows only when it is itself flagged.
#[inline]
fn has_special_byte(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x;
    let control = w.wrapping_sub(ONES * 0x20) & !w;
    (control | zero_byte(w ^ (ONES * b'"' as u64)) | zero_byte(w ^ (ONES * b'\\' as u64)) | w) & HIGH != 0
}

#[inline]
fn put_str<'a>(slot: &mut Option<&'a str>, bytes: &'a [u8], i: usize) -> Option<usize> {
    if slot.is_some() {
        return None;
    }
    let (raw, ascii, next) = string(bytes, i)?;
    *slot = Some(if ascii {
        // SAFETY: every byte is below 0x80, and ASCII is valid UTF-8.
        unsafe { std::str::from_utf8_unchecked(raw) }
    } else {
        std::str::from_utf8(raw).ok()?
    });
    Some(next)
}

#[inline]
fn put_num(slot: &mut Option<f64>, bytes: &[u8], i: usize) -> Option<usize> {
    if slot.is_some() {
        return None;
    }
    let (v, next) = decimal(bytes, i)?;
    *slot = Some(v);
    Some(next)
}

#[inline]
fn put_int(slot: &mut Option<i64>, bytes: &[u8], i: usize) -> Option<usize> {
    if slot.is_some() {
        return None;
    }
    let (neg, digits_at) = if bytes.get(i) == Some(&b'-') {
        (true, i + 1)
    } else {
        (false, i)
    };
    let mut j = digits_at;
    let mut v: i64 = 0;
    while let Some(&b @ b'0'..=b'9') = bytes.get(j) {
        if j - digits_at >= 18 {
            return None;
        }
        v = v * 10 + (b - b'0') as i64;
        j += 1;
    }
    if j == digits_at || matches!(bytes.get(j), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    *slot = Some(if neg { -v } else { v });
    Some(j)
}

/// `-?digits(.digits)?` with at most 15 significant digits, so mantissa and 10^k are exact and one division gives
/// the correctly rounded value (the same f64 serde_json would produce).
#[inline]
fn decimal(bytes: &[u8], i: usize) -> Option<(f64, usize)> {
    let (neg, mut j) = if bytes.get(i) == Some(&b'-') {
        (true, i + 1)
    } else {
        (false, i)
    };
    let start = j;
    let mut mantissa: u64 = 0;
    let mut digits = 0usize;
    while let Some(&b @ b'0'..=b'9') = bytes.get(j) {
        mantissa = mantissa * 10 + (b - b'0') as u64;
        digits += 1;
        j += 1;
        if digits > 15 {
            return None;
        }
    }
    if j == start {
        return None;
    }
    let mut frac = 0usize;
    if bytes.get(j) == Some(&b'.') {
        j += 1;
        let frac_start = j;
        while let Some(&b @ b'0'..=b'9') = bytes.get(j) {
            mantissa = mantissa * 10 + (b - b'0') as u64;
            digits += 1;
            j += 1;
            if digits > 15 {
                return None;
            }
        }
        frac = j - frac_start;
        if frac == 0 {
            return None;
        }
    }
    if matches!(bytes.get(j), Some(b'e' | b'E')) {
        return None;
    }
    let v = mantissa as f64 / POW10[frac];
    Some((if neg { -v } else { v }, j))
}

/// Skips a string, number, true, false or null. Objects and arrays are left to serde.
#[inline]
fn skip_scalar(bytes: &[u8], i: usize) -> Option<usize> {
    match *bytes.get(i)? {
        b'"' => string(bytes, i).map(|(_, _, next)| next),
        b'-' | b'0'..=b'9' => {
            let mut j = i + 1;
            while let Some(b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') = bytes.get(j) {
                j += 1;
            }
            Some(j)
        }
        b't' if bytes.get(i..i + 4) == Some(b"true") => Some(i + 4),
        b'f' if bytes.get(i..i + 5) == Some(b"false") => Some(i + 5),
        b'n' if bytes.get(i..i + 4) == Some(b"null") => Some(i + 4),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_a_viztracer_event() {
        let text = br#"{"pid":7145,"tid":-7,"ts":344528068.52,"ph":"X","cat":"fee","dur":0.911,"name":"f (/a.py:3)"} ,"#;
        let (ev, end) = scan_flat_event(text, 0).unwrap();
        assert_eq!(text[end - 1], b'}');
        assert_eq!(ev.pid, Some(7145));
        assert_eq!(ev.tid, Some(-7));
        assert_eq!(ev.ts, Some(344528068.52));
        assert_eq!(ev.dur, Some(0.911));
        assert_eq!(ev.ph, Some("X"));
        assert_eq!(ev.name, Some("f (/a.py:3)"));
    }

    #[test]
    fn matches_serde_on_decimals() {
        for s in [
            "0",
            "1.5",
            "-2.25",
            "123456789.123456",
            "0.1",
            "99999.99999",
            "344528068.09",
        ] {
            let (v, _) = decimal(s.as_bytes(), 0).unwrap();
            assert_eq!(v, s.parse::<f64>().unwrap(), "{s}");
        }
        assert!(decimal(b"1e5", 0).is_none());
        assert!(decimal(b"1.", 0).is_none());
        assert!(decimal(b"12345678901234567", 0).is_none());
    }

    #[test]
    fn reads_strings_word_by_word_exactly() {
        // Every special byte at every position of a word, and strings across several words.
        for len in 0..20 {
            for at in 0..=len {
                for special in [b'"', b'\\', 0x00, 0x1f, 0x80, 0xc3, 0xff] {
                    let mut text = vec![b'"'];
                    text.extend((0..len).map(|k| if k == at { special } else { b'a' + (k % 26) as u8 }));
                    text.extend_from_slice(b"\"xyz");
                    let expected = {
                        let body = &text[1..];
                        let end = body.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).unwrap();
                        (body[end] == b'"').then(|| (&body[..end], body[..end].is_ascii(), end + 2))
                    };
                    assert_eq!(string(&text, 0), expected, "{text:?}");
                }
            }
        }
        let mut slot = None;
        assert_eq!(put_str(&mut slot, "\"caf\u{e9} (/a/\u{e9}t\u{e9}.py:3)\",".as_bytes(), 0), Some(23));
        assert_eq!(slot, Some("caf\u{e9} (/a/\u{e9}t\u{e9}.py:3)"));
        assert_eq!(put_str(&mut None, b"\"bad \xff utf-8\"", 0), None);
    }

    #[test]
    fn declines_what_serde_must_read() {
        for s in [
            r#"{"name":"a\"b","ph":"X"}"#,
            r#"{"ph":"M","args":{"name":"x"}}"#,
            r#"{"ph":"X","ts":"12"}"#,
            r#"{"ph":"X","ph":"B"}"#,
            r#"{"ph":"X" "ts":1}"#,
            r#"{"ph":"X","ts":1"#,
        ] {
            assert!(scan_flat_event(s.as_bytes(), 0).is_none(), "{s}");
        }
    }
}
