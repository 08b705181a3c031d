//! The payload of `raise`: JSON from the command line or standard input, checked here so
//! that a typo is a usage error before anything is sent.

use std::io::Read;

use serde_json::Value;

use crate::error::Failure;

/// The payload `arg` names: `null` if none, standard input for `-`, else `arg` itself.
pub fn read(arg: Option<&str>, stdin: impl Read) -> Result<Value, Failure> {
    let text = match arg {
        None => return Ok(Value::Null),
        Some("-") => std::io::read_to_string(stdin).map_err(|e| {
            Failure::Usage(format!("cannot read the payload from standard input: {e}"))
        })?,
        Some(text) => text.to_owned(),
    };
    serde_json::from_str(&text).map_err(|e| {
        Failure::Usage(format!(
            "the payload is not JSON ({e}); a string is quoted: '\"text\"'"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn payloads_are_json_from_the_argument_or_stdin() {
        let none: &[u8] = b"";
        assert_eq!(read(None, none).unwrap(), Value::Null);
        assert_eq!(read(Some("-5"), none).unwrap(), json!(-5));
        let stdin: &[u8] = b"{\"approved\": true}\n";
        assert_eq!(read(Some("-"), stdin).unwrap(), json!({"approved": true}));
    }

    #[test]
    fn text_that_is_not_json_is_a_usage_error() {
        let failure = read(Some("hello"), &b""[..]).unwrap_err();
        assert!(matches!(failure, Failure::Usage(_)), "{failure:?}");
        assert!(failure.to_string().contains("quoted"), "{failure}");
    }
}
