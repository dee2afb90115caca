//! The binary form of a queued batch. It starts with a version byte and the reading
//! count as a `u32`. Each reading follows as the device id (`i64`), the attribute code
//! (`i16`), the measurement time in UTC milliseconds (`i64`) and the value (`f64`).
//! Every number is little-endian, so a reading takes 26 bytes.
//!
//! A fixed layout keeps encoding and decoding far cheaper than the checks before them.

use crate::sensors::{Attribute, reading::Reading};

const VERSION: u8 = 1;
const HEADER: usize = 5;
const ENTRY: usize = 26;

/// A stored body that this build cannot read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodecError {
    #[error("unknown queued batch version {0}")]
    Version(u8),
    #[error("queued batch of {0} bytes does not match its reading count")]
    Length(usize),
    #[error("unknown attribute code {0} in a queued batch")]
    Attribute(i16),
}

/// Encodes checked readings.
pub fn encode(readings: &[Reading]) -> Vec<u8> {
    let mut body = Vec::with_capacity(HEADER + ENTRY * readings.len());
    body.push(VERSION);
    let count = u32::try_from(readings.len()).unwrap_or(u32::MAX);
    body.extend_from_slice(&count.to_le_bytes());
    for reading in readings.iter().take(count as usize) {
        body.extend_from_slice(&reading.device_id.to_le_bytes());
        body.extend_from_slice(&reading.attribute.code().to_le_bytes());
        body.extend_from_slice(&reading.observed_at_ms.to_le_bytes());
        body.extend_from_slice(&reading.value.to_le_bytes());
    }
    body
}

/// Decodes a body written by [`encode`].
///
/// # Errors
/// A wrong version byte, a length that does not match the count, or an attribute code
/// this build does not know.
pub fn decode(body: &[u8]) -> Result<Vec<Reading>, CodecError> {
    let (&version, rest) = body.split_first().ok_or(CodecError::Length(0))?;
    if version != VERSION {
        return Err(CodecError::Version(version));
    }
    let (count, entries) = rest.split_at_checked(4).ok_or(CodecError::Length(body.len()))?;
    let count = u32::from_le_bytes(count.try_into().map_err(|_| CodecError::Length(body.len()))?);
    if entries.len() != count as usize * ENTRY {
        return Err(CodecError::Length(body.len()));
    }
    entries
        .chunks_exact(ENTRY)
        .map(|entry| {
            let code = i16::from_le_bytes([entry[8], entry[9]]);
            Ok(Reading {
                device_id: i64::from_le_bytes(field(&entry[0..8])),
                attribute: Attribute::from_code(code).ok_or(CodecError::Attribute(code))?,
                observed_at_ms: i64::from_le_bytes(field(&entry[10..18])),
                value: f64::from_le_bytes(field(&entry[18..26])),
            })
        })
        .collect()
}

fn field(bytes: &[u8]) -> [u8; 8] {
    let mut out = [0; 8];
    out.copy_from_slice(bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Reading> {
        vec![
            Reading {
                device_id: 7,
                attribute: Attribute::Temperature,
                observed_at_ms: 1_733_277_600_000,
                value: -3.25,
            },
            Reading {
                device_id: i64::MAX,
                attribute: Attribute::Status,
                observed_at_ms: -1,
                value: 1.0,
            },
        ]
    }

    #[test]
    fn readings_survive_a_round_trip() {
        let readings = sample();
        let body = encode(&readings);
        assert_eq!(body.len(), HEADER + 2 * ENTRY);
        assert_eq!(decode(&body), Ok(readings));
        assert_eq!(decode(&encode(&[])), Ok(Vec::new()));
    }

    #[test]
    fn damaged_bodies_are_refused() {
        let mut body = encode(&sample());
        assert_eq!(decode(&body[..body.len() - 1]), Err(CodecError::Length(body.len() - 1)));
        assert_eq!(decode(&[]), Err(CodecError::Length(0)));
        body[HEADER + 8] = 99;
        assert_eq!(decode(&body), Err(CodecError::Attribute(99)));
        body[0] = 2;
        assert_eq!(decode(&body), Err(CodecError::Version(2)));
    }
}
