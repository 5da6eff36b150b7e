//! A small DER writer and a strict DER reader (ITU-T X.690, Section 10).
//!
//! The writer builds the certificates, CSRs and CRLs that pqbank signs; the reader parses
//! the contents of pqbank's own extensions and attributes, which `x509-parser` hands over
//! as raw bytes. The reader accepts only the definite, minimal length forms that DER
//! allows, so one value has exactly one encoding.

use time::OffsetDateTime;

use crate::Error;

/// Universal tags used by pqbank's encodings.
pub(crate) mod tag {
    pub const BOOLEAN: u8 = 0x01;
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const OCTET_STRING: u8 = 0x04;
    pub const OID: u8 = 0x06;
    pub const ENUMERATED: u8 = 0x0a;
    pub const UTF8_STRING: u8 = 0x0c;
    pub const UTC_TIME: u8 = 0x17;
    pub const GENERALIZED_TIME: u8 = 0x18;
    pub const SEQUENCE: u8 = 0x30;
    pub const SET: u8 = 0x31;
}

/// Deepest nesting the reader follows; pqbank's own structures nest three levels.
const DEPTH_MAX: usize = 8;

/// Encodes one tag-length-value.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    push_length(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

fn push_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let significant = &bytes[skip..];
    out.push(0x80 | significant.len() as u8);
    out.extend_from_slice(significant);
}

/// SEQUENCE of already encoded parts.
pub(crate) fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag::SEQUENCE, &parts.concat())
}

/// SET of already encoded parts, sorted as DER requires for SET OF.
pub(crate) fn set_of(parts: &[&[u8]]) -> Vec<u8> {
    let mut sorted: Vec<&[u8]> = parts.to_vec();
    sorted.sort_unstable();
    tlv(tag::SET, &sorted.concat())
}

/// Context-specific constructed tag `[n]` around already encoded content (EXPLICIT).
pub(crate) fn explicit(n: u8, inner: &[u8]) -> Vec<u8> {
    tlv(0xa0 | n, inner)
}

/// Context-specific primitive tag `[n]` (IMPLICIT over a primitive type).
pub(crate) fn implicit_primitive(n: u8, content: &[u8]) -> Vec<u8> {
    tlv(0x80 | n, content)
}

/// INTEGER from an unsigned big-endian magnitude.
pub(crate) fn uint(magnitude: &[u8]) -> Vec<u8> {
    let skip = magnitude.iter().take_while(|b| **b == 0).count();
    let trimmed = &magnitude[skip..];
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    tlv(tag::INTEGER, &content)
}

/// INTEGER from a u64.
pub(crate) fn uint64(value: u64) -> Vec<u8> {
    uint(&value.to_be_bytes())
}

/// BOOLEAN.
pub(crate) fn boolean(value: bool) -> Vec<u8> {
    tlv(tag::BOOLEAN, &[if value { 0xff } else { 0x00 }])
}

/// OCTET STRING.
pub(crate) fn octets(content: &[u8]) -> Vec<u8> {
    tlv(tag::OCTET_STRING, content)
}

/// BIT STRING with no unused bits.
pub(crate) fn bits(content: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(content.len() + 1);
    body.push(0);
    body.extend_from_slice(content);
    tlv(tag::BIT_STRING, &body)
}

/// UTF8String.
pub(crate) fn utf8(text: &str) -> Vec<u8> {
    tlv(tag::UTF8_STRING, text.as_bytes())
}

/// ENUMERATED with a small non-negative value.
pub(crate) fn enumerated(value: u8) -> Vec<u8> {
    let mut content = Vec::with_capacity(2);
    if value & 0x80 != 0 {
        content.push(0);
    }
    content.push(value);
    tlv(tag::ENUMERATED, &content)
}

/// OBJECT IDENTIFIER content octets from its arcs (X.690 8.19). Arcs may be as wide as
/// a 128-bit UUID, as the 2.25 arc needs.
pub(crate) const fn oid_content<const N: usize>(arcs: [u128; N]) -> ([u8; 64], usize) {
    let mut out = [0u8; 64];
    let mut len = 0;
    let mut i = 1;
    while i < N {
        let value = if i == 1 {
            arcs[0] * 40 + arcs[1]
        } else {
            arcs[i]
        };
        // Base-128, most significant group first, continuation bit on all but the last.
        let mut groups = [0u8; 19];
        let mut count = 0;
        let mut v = value;
        loop {
            groups[count] = (v & 0x7f) as u8;
            count += 1;
            v >>= 7;
            if v == 0 {
                break;
            }
        }
        while count > 0 {
            count -= 1;
            out[len] = groups[count] | if count > 0 { 0x80 } else { 0 };
            len += 1;
        }
        i += 1;
    }
    (out, len)
}

/// OBJECT IDENTIFIER from its content octets.
pub(crate) fn oid(content: &[u8]) -> Vec<u8> {
    tlv(tag::OID, content)
}

/// Time as RFC 5280 4.1.2.5 requires: UTCTime through 2049, GeneralizedTime after.
pub(crate) fn time(at: OffsetDateTime) -> Vec<u8> {
    let at = at.to_offset(time::UtcOffset::UTC);
    let year = at.year();
    let tail = format!(
        "{:02}{:02}{:02}{:02}{:02}Z",
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    if (1950..2050).contains(&year) {
        tlv(tag::UTC_TIME, format!("{:02}{tail}", year % 100).as_bytes())
    } else {
        tlv(tag::GENERALIZED_TIME, format!("{year:04}{tail}").as_bytes())
    }
}

/// A strict reader over DER bytes.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    depth: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data, depth: 0 }
    }

    /// True when every byte has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Fails unless every byte has been read: trailing data is never ignored.
    pub(crate) fn finish(&self) -> Result<(), Error> {
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(Error::Malformed("trailing bytes after DER value"))
        }
    }

    /// The tag of the next value, without consuming it.
    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    /// Reads one value with the expected tag and returns its content octets.
    pub(crate) fn read(&mut self, expected_tag: u8) -> Result<&'a [u8], Error> {
        let (&found, rest) = self
            .data
            .split_first()
            .ok_or(Error::Malformed("DER value truncated"))?;
        if found != expected_tag {
            return Err(Error::Malformed("unexpected DER tag"));
        }
        let (len, rest) = read_length(rest)?;
        if rest.len() < len {
            return Err(Error::Malformed("DER value truncated"));
        }
        let (content, after) = rest.split_at(len);
        self.data = after;
        Ok(content)
    }

    /// Reads a constructed value and returns a reader over its content.
    pub(crate) fn nested(&mut self, expected_tag: u8) -> Result<Reader<'a>, Error> {
        if self.depth >= DEPTH_MAX {
            return Err(Error::Malformed("DER nested too deeply"));
        }
        let content = self.read(expected_tag)?;
        Ok(Reader {
            data: content,
            depth: self.depth + 1,
        })
    }

    /// Reads a non-negative INTEGER that fits in a u64.
    pub(crate) fn read_u64(&mut self) -> Result<u64, Error> {
        let content = self.read(tag::INTEGER)?;
        uint_content_to_u64(content)
    }

    /// Reads an ENUMERATED with a value in 0..=127.
    pub(crate) fn read_enumerated(&mut self) -> Result<u8, Error> {
        match self.read(tag::ENUMERATED)? {
            [v] if *v < 0x80 => Ok(*v),
            _ => Err(Error::Malformed("ENUMERATED out of range")),
        }
    }

    /// Reads a UTF8String.
    pub(crate) fn read_utf8(&mut self) -> Result<&'a str, Error> {
        let content = self.read(tag::UTF8_STRING)?;
        core::str::from_utf8(content).map_err(|_| Error::Malformed("UTF8String is not UTF-8"))
    }

    /// Reads a BOOLEAN (DER: 0x00 or 0xff only).
    pub(crate) fn read_bool(&mut self) -> Result<bool, Error> {
        match self.read(tag::BOOLEAN)? {
            [0x00] => Ok(false),
            [0xff] => Ok(true),
            _ => Err(Error::Malformed("BOOLEAN is not DER")),
        }
    }
}

/// Decodes the content octets of a non-negative, minimally encoded INTEGER into a u64.
pub(crate) fn uint_content_to_u64(content: &[u8]) -> Result<u64, Error> {
    match content {
        [] => Err(Error::Malformed("empty INTEGER")),
        [first, ..] if first & 0x80 != 0 => Err(Error::Malformed("negative INTEGER")),
        [0, second, ..] if second & 0x80 == 0 => Err(Error::Malformed("INTEGER not minimal")),
        _ => {
            let magnitude = match content {
                [0, rest @ ..] => rest,
                all => all,
            };
            if magnitude.len() > 8 {
                return Err(Error::Malformed("INTEGER too large"));
            }
            Ok(magnitude
                .iter()
                .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
        }
    }
}

fn read_length(data: &[u8]) -> Result<(usize, &[u8]), Error> {
    let (&first, rest) = data
        .split_first()
        .ok_or(Error::Malformed("DER length truncated"))?;
    if first < 0x80 {
        return Ok((usize::from(first), rest));
    }
    let count = usize::from(first & 0x7f);
    if count == 0 {
        return Err(Error::Malformed("indefinite length is not DER"));
    }
    if count > 4 || rest.len() < count {
        return Err(Error::Malformed("DER length too large or truncated"));
    }
    let (len_bytes, rest) = rest.split_at(count);
    if len_bytes.first() == Some(&0) {
        return Err(Error::Malformed("DER length not minimal"));
    }
    let len = len_bytes
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    if len < 0x80 {
        return Err(Error::Malformed("DER length not minimal"));
    }
    Ok((len, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves the OID encoder matches X.690 for a known OID and a 2.25 UUID arc.
    #[test]
    fn oid_encoding_matches_x690() {
        let (buf, len) = oid_content([1, 3, 6, 1, 5, 5, 7, 6, 48]);
        assert_eq!(
            &buf[..len],
            &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x06, 0x30]
        );
        // 2.25.329800735698586629295641978511506172918 from X.667's example.
        let (buf, len) = oid_content([2, 25, 329_800_735_698_586_629_295_641_978_511_506_172_918]);
        assert_eq!(
            hex::encode(&buf[..len]),
            "6983f09da7ebcfdee0c7a1a7b2c0948cc8f9d776"
        );
    }

    /// Proves lengths round-trip in short and long form and non-minimal forms are refused.
    #[test]
    fn lengths_round_trip_and_reject_non_minimal() {
        for len in [0usize, 1, 127, 128, 255, 256, 65_535, 70_000] {
            let encoded = octets(&vec![7u8; len]);
            let mut r = Reader::new(&encoded);
            assert_eq!(r.read(tag::OCTET_STRING).map(<[u8]>::len), Ok(len));
            assert!(r.finish().is_ok());
        }
        assert!(
            Reader::new(&[0x04, 0x81, 0x05, 0, 0, 0, 0, 0])
                .read(0x04)
                .is_err()
        );
        assert!(Reader::new(&[0x04, 0x80, 0, 0]).read(0x04).is_err());
    }

    /// Proves INTEGER decoding refuses negative and non-minimal forms.
    #[test]
    fn integers_are_strict() {
        assert_eq!(uint_content_to_u64(&[0x00, 0x80]), Ok(128));
        assert!(uint_content_to_u64(&[0x00, 0x01]).is_err());
        assert!(uint_content_to_u64(&[0x80]).is_err());
        assert!(uint_content_to_u64(&[]).is_err());
        let encoded = uint64(u64::MAX);
        assert_eq!(Reader::new(&encoded).read_u64(), Ok(u64::MAX));
    }
}
