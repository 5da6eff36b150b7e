//! PEM (RFC 7468) reading and writing; DER is accepted wherever PEM is.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::Error;

/// Longest input the PEM reader accepts: a CRL of a large branch fits many times over.
pub const INPUT_LEN_MAX: usize = 64 * 1024 * 1024;

/// Writes `der` as PEM with the given label, lines of 64 characters.
#[must_use]
pub fn encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Reads the first PEM block with `label`, or returns `input` itself when it is DER
/// (it starts with a SEQUENCE tag).
pub fn decode(label: &str, input: &[u8]) -> Result<Vec<u8>, Error> {
    if input.len() > INPUT_LEN_MAX {
        return Err(Error::Malformed("input too large"));
    }
    if input.first() == Some(&0x30) {
        return Ok(input.to_vec());
    }
    let text = core::str::from_utf8(input).map_err(|_| Error::Malformed("neither DER nor PEM"))?;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin).ok_or(Error::Malformed(
        "PEM block with the expected label not found",
    ))?;
    let body_start = start + begin.len();
    let rest = text.get(body_start..).unwrap_or_default();
    let stop = rest
        .find(&end)
        .ok_or(Error::Malformed("PEM block not terminated"))?;
    let body: String = rest
        .get(..stop)
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    STANDARD
        .decode(body)
        .map_err(|_| Error::Malformed("PEM body is not base64"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves PEM round-trips, DER passes through, and a wrong label is refused.
    #[test]
    fn round_trip_and_label_check() {
        let der = vec![0x30, 0x03, 0x02, 0x01, 0x05];
        let pem = encode("CERTIFICATE", &der);
        assert_eq!(decode("CERTIFICATE", pem.as_bytes()), Ok(der.clone()));
        assert_eq!(decode("CERTIFICATE", &der), Ok(der.clone()));
        assert!(decode("X509 CRL", pem.as_bytes()).is_err());
    }
}
