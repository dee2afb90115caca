//! The stored form of a handling-time histogram, the `hours` column of the rollup
//! tables: a sparse list of (bucket, count) pairs with a non-zero count, in increasing
//! bucket order. Each pair is written as two LEB128 varints: the distance from the
//! previous pair's bucket (from 0 for the first pair), then the count zigzag-encoded, so
//! that a count below zero, which a delta may carry, stays short too. A bucket under 128
//! and a count under 64 take one byte each, so a group with 100 buckets takes about
//! 200–300 bytes. An empty histogram is stored as NULL.

/// A blob that is not a valid encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the histogram blob ends inside a number")]
    Truncated,
    #[error("a number of the histogram blob overflows 64 bits")]
    Overflow,
}

fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn read_varint(bytes: &[u8], at: &mut usize) -> Result<u64, DecodeError> {
    let mut value = 0_u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at).ok_or(DecodeError::Truncated)?;
        *at += 1;
        let bits = u64::from(byte & 0x7f);
        if shift == 63 && bits > 1 {
            return Err(DecodeError::Overflow);
        }
        value |= bits << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(DecodeError::Overflow)
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// Encodes `pairs`, given in strictly increasing bucket order with buckets from 0;
/// pairs with a zero count are left out.
pub fn encode(pairs: impl IntoIterator<Item = (i64, i64)>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut previous = 0_i64;
    for (bucket, cases) in pairs {
        if cases == 0 {
            continue;
        }
        debug_assert!(bucket >= previous, "buckets out of order: {bucket} after {previous}");
        write_varint(&mut out, bucket.saturating_sub(previous).max(0) as u64);
        write_varint(&mut out, zigzag(cases));
        previous = bucket;
    }
    out
}

/// Calls `visit` with every (bucket, count) pair of `blob`, in bucket order.
///
/// # Errors
/// The blob ends inside a number or a number overflows.
pub fn decode_each(blob: &[u8], mut visit: impl FnMut(i64, i64)) -> Result<(), DecodeError> {
    let mut at = 0;
    let mut bucket = 0_i64;
    while at < blob.len() {
        let step = i64::try_from(read_varint(blob, &mut at)?).map_err(|_| DecodeError::Overflow)?;
        bucket = bucket.checked_add(step).ok_or(DecodeError::Overflow)?;
        visit(bucket, unzigzag(read_varint(blob, &mut at)?));
    }
    Ok(())
}

/// Returns the (bucket, count) pairs of `blob`.
///
/// # Errors
/// As [`decode_each`].
pub fn decode(blob: &[u8]) -> Result<Vec<(i64, i64)>, DecodeError> {
    let mut pairs = Vec::new();
    decode_each(blob, |bucket, cases| pairs.push((bucket, cases)))?;
    Ok(pairs)
}

/// Returns the stored histogram `blob` (`None` for an empty one) with `changes` added,
/// both in bucket order; `None` when every count ends at zero.
///
/// # Errors
/// `blob` is not a valid encoding.
pub fn apply_changes(
    blob: Option<&[u8]>,
    changes: &[(i64, i64)],
) -> Result<Option<Vec<u8>>, DecodeError> {
    let stored = blob.map(decode).transpose()?.unwrap_or_default();
    let mut merged = Vec::with_capacity(stored.len() + changes.len());
    let (mut i, mut j) = (0, 0);
    while i < stored.len() || j < changes.len() {
        let pair = match (stored.get(i), changes.get(j)) {
            (Some(a), Some(b)) if a.0 == b.0 => {
                (i, j) = (i + 1, j + 1);
                (a.0, a.1 + b.1)
            }
            (Some(a), Some(b)) if a.0 > b.0 => {
                j += 1;
                *b
            }
            (Some(a), _) => {
                i += 1;
                *a
            }
            (None, Some(b)) => {
                j += 1;
                *b
            }
            (None, None) => break,
        };
        if pair.1 != 0 {
            merged.push(pair);
        }
    }
    Ok((!merged.is_empty()).then(|| encode(merged)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_survive_a_round_trip() {
        let pairs = vec![(0, 1), (1, -1), (31, 64), (32, -65), (200, 1 << 40), (511, i64::MIN)];
        let blob = encode(pairs.clone());
        assert_eq!(decode(&blob), Ok(pairs));
        assert_eq!(decode(&encode([(7, i64::MAX)])), Ok(vec![(7, i64::MAX)]));
    }

    #[test]
    fn encode_skips_zero_counts() {
        assert_eq!(decode(&encode([(3, 0), (5, 2), (9, 0)])), Ok(vec![(5, 2)]));
        assert!(encode([]).is_empty());
        assert_eq!(decode(&[]), Ok(vec![]));
    }

    #[test]
    fn small_buckets_and_counts_take_a_byte_each() {
        assert_eq!(encode([(3, 1), (10, -2)]), [3, 2, 7, 3]);
        assert_eq!(encode([(128, 64)]).len(), 4);
    }

    #[test]
    fn broken_blobs_are_errors() {
        assert_eq!(decode(&[0x85]), Err(DecodeError::Truncated), "varint cut short");
        assert_eq!(decode(&[4]), Err(DecodeError::Truncated), "bucket without count");
        assert_eq!(decode(&[0xff; 11]), Err(DecodeError::Overflow));
    }

    #[test]
    fn changes_merge_into_the_stored_counts() {
        let stored = encode([(1, 2), (5, 1), (9, 4)]);
        let changed = apply_changes(Some(&stored), &[(0, 1), (5, -1), (9, 1), (12, 3)]);
        assert_eq!(
            changed.map(|blob| decode(&blob.unwrap())),
            Ok(Ok(vec![(0, 1), (1, 2), (9, 5), (12, 3)]))
        );
        assert_eq!(apply_changes(Some(&encode([(4, 1)])), &[(4, -1)]), Ok(None), "all gone");
        let fresh = apply_changes(None, &[(6, 1)]).unwrap().unwrap();
        assert_eq!(decode(&fresh), Ok(vec![(6, 1)]));
        assert_eq!(apply_changes(Some(&[0x80]), &[(1, 1)]), Err(DecodeError::Truncated));
    }
}
