//! The one place where bytes are made: every stored payload (inputs, outputs, activity
//! results, orchestration state) goes through these functions, so the wire format can
//! only change here.
//!
//! Values are bincode 2 (serde) with the standard configuration. bincode is not
//! self-describing (`true` decodes as the `u64` 1), so what crosses from one party to
//! another (orchestration inputs and outputs, activity inputs and outputs, event
//! payloads, custom status) is a *payload*: the value after a type tag
//! ([`encode_payload`]), checked when it is decoded, so a value of another type is
//! refused by name instead of reinterpreted. A checkpointed state starts with a fixed
//! header instead, the orchestrator's layout fingerprint and the resume point, so a
//! state written by a different shape of the code is refused before a slot is decoded.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A value could not be turned into bytes or back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("cannot encode {what}: {message}")]
    Encode { what: &'static str, message: String },
    #[error("cannot decode {what}: {message}")]
    Decode { what: &'static str, message: String },
    #[error("cannot decode {what}: it holds a value of another type than `{expected}`")]
    WrongType {
        what: &'static str,
        expected: &'static str,
    },
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

/// The tag a payload of type `T` starts with: a hash of `T`'s name in which the
/// borrowed and owned forms of a type, which encode alike, are one (`&str` and `String`,
/// `&[T]` and `Vec<T>`, `&T` and `T`). Type names are not guaranteed stable across
/// compiler versions; a change shows as a refused payload, never as a reinterpreted one.
pub fn type_tag<T: ?Sized>() -> u64 {
    let mut hash = Fnv(0xcbf2_9ce4_8422_2325);
    hash_canonical_type(std::any::type_name::<T>(), &mut hash);
    hash.0
}

/// Encodes a payload: [`type_tag`] (u64 LE), then the value.
pub fn encode_payload<T: Serialize + ?Sized>(
    value: &T,
    what: &'static str,
) -> Result<Vec<u8>, CodecError> {
    let mut buf = Vec::with_capacity(32);
    buf.extend_from_slice(&type_tag::<T>().to_le_bytes());
    encode_into(value, &mut buf, what)?;
    Ok(buf)
}

/// Decodes a payload written by [`encode_payload`] for the same type, or says which
/// type was expected.
pub fn decode_payload<T: DeserializeOwned>(
    bytes: &[u8],
    what: &'static str,
) -> Result<T, CodecError> {
    let Some((tag, value)) = bytes.split_first_chunk::<8>() else {
        return Err(CodecError::Decode {
            what,
            message: format!("{} bytes is shorter than a type tag", bytes.len()),
        });
    };
    if u64::from_le_bytes(*tag) != type_tag::<T>() {
        return Err(CodecError::WrongType {
            what,
            expected: std::any::type_name::<T>(),
        });
    }
    decode(value, what)
}

/// FNV-1a, fed piece by piece: the tag is computed on every encode and decode, without
/// allocating.
struct Fnv(u64);

impl Fnv {
    fn feed(&mut self, text: &str) {
        for b in text.bytes() {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Feeds `name` with references dropped, `str` as `String` and slices as `Vec`s.
fn hash_canonical_type(name: &str, hash: &mut Fnv) {
    let path_char = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
    let mut rest = name;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest
            .strip_prefix("&mut ")
            .or_else(|| rest.strip_prefix('&'))
        {
            rest = after;
        } else if path_char(c) {
            let end = rest.find(|c: char| !path_char(c)).unwrap_or(rest.len());
            let path = &rest[..end];
            hash.feed(if path == "str" {
                "alloc::string::String"
            } else {
                path
            });
            rest = &rest[end..];
        } else if c == '[' {
            let (inside, after) = bracketed(&rest[1..]);
            if inside.contains(';') {
                hash.feed("[");
                hash_canonical_type(inside, hash);
                hash.feed("]");
            } else {
                hash.feed("alloc::vec::Vec<");
                hash_canonical_type(inside, hash);
                hash.feed(">");
            }
            rest = after;
        } else {
            hash.feed(&rest[..c.len_utf8()]);
            rest = &rest[c.len_utf8()..];
        }
    }
}

/// Splits `text`, which follows a `[`, at its matching `]`: (inside, after the `]`).
fn bracketed(text: &str) -> (&str, &str) {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' if depth == 0 => return (&text[..i], &text[i + 1..]),
            ']' => depth -= 1,
            _ => {}
        }
    }
    (text, "")
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
    fn payloads_of_another_type_are_refused_by_name() {
        let bytes = encode_payload(&true, "event payload").unwrap();
        assert_eq!(decode_payload::<bool>(&bytes, "event payload"), Ok(true));
        assert_eq!(
            decode_payload::<u64>(&bytes, "event payload"),
            Err(CodecError::WrongType {
                what: "event payload",
                expected: "u64"
            })
        );
        assert!(decode_payload::<u64>(&[1, 2], "x").is_err());
    }

    #[test]
    fn borrowed_and_owned_forms_of_a_type_share_a_tag() {
        assert_eq!(type_tag::<&str>(), type_tag::<String>());
        assert_eq!(type_tag::<&[u8]>(), type_tag::<Vec<u8>>());
        assert_eq!(type_tag::<(&str, u32)>(), type_tag::<(String, u32)>());
        assert_eq!(type_tag::<&Vec<&str>>(), type_tag::<Vec<String>>());
        assert_ne!(type_tag::<[u8; 4]>(), type_tag::<Vec<u8>>());
        assert_ne!(type_tag::<u32>(), type_tag::<u64>());
        assert_ne!(type_tag::<Option<u8>>(), type_tag::<u8>());
        let bytes = encode_payload(&["a", "b"][..], "t").unwrap();
        assert_eq!(
            decode_payload::<Vec<String>>(&bytes, "t"),
            Ok(vec!["a".into(), "b".into()])
        );
    }
}
