//! The one place where bytes are made: every stored payload (inputs, outputs, activity
//! results, orchestration state) goes through these functions, so the wire format can
//! only change here.
//!
//! Payloads are bincode 2 (serde) with the standard configuration. A checkpointed state
//! additionally starts with a fixed header, the orchestrator's layout fingerprint and
//! the resume point, so a state written by a different shape of the code is refused
//! before a single slot is decoded.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A value could not be turned into bytes or back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("cannot encode {what}: {message}")]
    Encode { what: &'static str, message: String },
    #[error("cannot decode {what}: {message}")]
    Decode { what: &'static str, message: String },
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Encodes one payload.
pub fn encode<T: Serialize + ?Sized>(value: &T, what: &'static str) -> Result<Vec<u8>, CodecError> {
    bincode::serde::encode_to_vec(value, config()).map_err(|e| CodecError::Encode {
        what,
        message: e.to_string(),
    })
}

/// Appends one payload to `buf`.
pub fn encode_into<T: Serialize + ?Sized>(
    value: &T,
    buf: &mut Vec<u8>,
    what: &'static str,
) -> Result<(), CodecError> {
    bincode::serde::encode_into_std_write(value, buf, config())
        .map(drop)
        .map_err(|e| CodecError::Encode {
            what,
            message: e.to_string(),
        })
}

/// Decodes one payload that must span all of `bytes`.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], what: &'static str) -> Result<T, CodecError> {
    let mut rest = bytes;
    let value = decode_from(&mut rest, what)?;
    if !rest.is_empty() {
        return Err(CodecError::Decode {
            what,
            message: format!("{} trailing bytes", rest.len()),
        });
    }
    Ok(value)
}

/// Decodes one payload from the front of `bytes` and advances past it.
pub fn decode_from<T: DeserializeOwned>(
    bytes: &mut &[u8],
    what: &'static str,
) -> Result<T, CodecError> {
    let (value, used) =
        bincode::serde::decode_from_slice(bytes, config()).map_err(|e| CodecError::Decode {
            what,
            message: e.to_string(),
        })?;
    *bytes = &bytes[used..];
    Ok(value)
}

/// Length of the fixed state header: fingerprint (u64 LE), resume point (u32 LE).
pub const STATE_HEADER_LEN: usize = 12;

/// Writes a state header for resume point `pc` of a machine with `fingerprint`.
pub fn state_header(fingerprint: u64, pc: u32) -> Vec<u8> {
    let mut buf = Vec::with_capacity(64);
    buf.extend_from_slice(&fingerprint.to_le_bytes());
    buf.extend_from_slice(&pc.to_le_bytes());
    buf
}

/// Splits a state into `(fingerprint, pc, slots)`.
pub fn split_state(state: &[u8]) -> Result<(u64, u32, &[u8]), CodecError> {
    if state.len() < STATE_HEADER_LEN {
        return Err(CodecError::Decode {
            what: "orchestration state",
            message: format!(
                "{} bytes is shorter than the {STATE_HEADER_LEN}-byte header",
                state.len()
            ),
        });
    }
    let (fingerprint, rest) = state.split_at(8);
    let (pc, slots) = rest.split_at(4);
    let fingerprint = u64::from_le_bytes(fingerprint.try_into().expect("split at 8"));
    let pc = u32::from_le_bytes(pc.try_into().expect("split at 4"));
    Ok((fingerprint, pc, slots))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_trailing_bytes() {
        let bytes = encode(&(7u32, String::from("x")), "t").unwrap();
        let back: (u32, String) = decode(&bytes, "t").unwrap();
        assert_eq!(back, (7, "x".into()));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            decode::<(u32, String)>(&longer, "t"),
            Err(CodecError::Decode { .. })
        ));
    }

    #[test]
    fn state_header_splits_back() {
        let mut state = state_header(0xdead_beef_0123_4567, 9);
        state.extend_from_slice(b"slots");
        let (fp, pc, slots) = split_state(&state).unwrap();
        assert_eq!((fp, pc, slots), (0xdead_beef_0123_4567, 9, &b"slots"[..]));
        assert!(split_state(&state[..5]).is_err());
    }
}
