//! JSON at the edge, bincode inside: the conversions registered per orchestration.

use std::any::type_name;
use std::collections::HashMap;

use durable_core::codec;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// JSON to stored bytes for one Rust type; the error says what was wrong with the JSON.
pub(crate) type FromJson = fn(Value) -> Result<Vec<u8>, String>;
/// Stored bytes to JSON for one Rust type.
pub(crate) type ToJson = fn(&[u8]) -> Result<Value, String>;

pub(crate) fn from_json<T: Serialize + DeserializeOwned>(json: Value) -> Result<Vec<u8>, String> {
    let value: T = serde_json::from_value(json)
        .map_err(|e| format!("expected JSON for `{}`: {e}", type_name::<T>()))?;
    codec::encode_payload(&value, type_name::<T>()).map_err(|e| e.to_string())
}

pub(crate) fn to_json<T: Serialize + DeserializeOwned>(bytes: &[u8]) -> Result<Value, String> {
    let value: T = codec::decode_payload(bytes, type_name::<T>()).map_err(|e| e.to_string())?;
    serde_json::to_value(&value).map_err(|e| e.to_string())
}

/// The types of one orchestration, as far as the HTTP API knows them.
pub(crate) struct Conversions {
    pub(crate) input_from_json: FromJson,
    pub(crate) input_to_json: ToJson,
    pub(crate) output_to_json: ToJson,
    /// The type passed to `ctx.set_custom_status`, if registered.
    pub(crate) custom_status_to_json: Option<ToJson>,
    /// Event payload types by event name.
    pub(crate) events: HashMap<String, FromJson>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Order {
        item: String,
        quantity: u32,
    }

    #[test]
    fn json_round_trips_through_the_stored_encoding() {
        let bytes = from_json::<Order>(json!({"item": "tea", "quantity": 3})).unwrap();
        let order: Order = codec::decode_payload(&bytes, "order").unwrap();
        assert_eq!(order.quantity, 3);
        assert_eq!(
            to_json::<Order>(&bytes).unwrap(),
            json!({"item": "tea", "quantity": 3})
        );
    }

    #[test]
    fn a_wrong_shape_names_the_type_and_the_field() {
        let err = from_json::<Order>(json!({"item": "tea"})).unwrap_err();
        assert!(err.contains("Order"), "{err}");
        assert!(err.contains("quantity"), "{err}");
        let err = from_json::<u32>(json!(-1)).unwrap_err();
        assert!(err.contains("u32"), "{err}");
    }

    #[test]
    fn bytes_of_another_type_are_an_error_not_a_panic() {
        let bytes = codec::encode_payload(&7u8, "byte").unwrap();
        assert!(to_json::<Order>(&bytes).is_err());
    }
}
