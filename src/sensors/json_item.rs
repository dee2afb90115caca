//! JSON batch items read straight from the body, without building a generic JSON value.
//!
//! Each field of an item is taken in a loose form that accepts any JSON type, so that a
//! malformed item is rejected alone with its reason, as the checks in
//! [`super::reading`] expect. Strings are borrowed from the body where they carry no
//! escapes.

use std::{borrow::Cow, fmt, marker::PhantomData};

use serde::{
    Deserialize, Deserializer,
    de::{IgnoredAny, MapAccess, SeqAccess, Visitor},
};

/// A field of an item as found, whatever its JSON type.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Loose<'a> {
    #[default]
    Absent,
    Null,
    Text(Cow<'a, str>),
    Integer(i64),
    /// A number that is not an `i64`: a fraction, or an integer past `i64`.
    Real(f64),
    Bool(bool),
    /// An array or object.
    Nested,
}

impl Loose<'_> {
    /// Returns true when the field is present and not `null`.
    pub fn is_present(&self) -> bool {
        !matches!(self, Loose::Absent | Loose::Null)
    }

    /// Returns the number as an `i64` when it is a whole JSON integer.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Loose::Integer(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Loose::Integer(n) => Some(*n as f64),
            Loose::Real(x) => Some(*x),
            _ => None,
        }
    }
}

/// One item of a batch. `object` is false when the item is not a JSON object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LooseItem<'a> {
    pub object: bool,
    pub device: Loose<'a>,
    pub attribute: Loose<'a>,
    pub value: Loose<'a>,
    pub unit: Loose<'a>,
    pub observed_at: Loose<'a>,
    pub observed_at_ms: Loose<'a>,
    pub observed_at_s: Loose<'a>,
}

/// `{"readings": [...]}`; other fields of the body are ignored.
#[derive(Debug, Deserialize)]
pub struct LooseBatch<'a> {
    #[serde(borrow)]
    pub readings: Vec<LooseItem<'a>>,
}

struct LooseVisitor<'a>(PhantomData<Loose<'a>>);

impl<'de: 'a, 'a> Visitor<'de> for LooseVisitor<'a> {
    type Value = Loose<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Loose::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Loose::Integer(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(v).map_or(Loose::Real(v as f64), Loose::Integer))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Loose::Real(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Loose::Text(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Loose::Text(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Loose::Text(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Loose::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Loose::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Loose::Nested)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Loose::Nested)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Loose<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseVisitor(PhantomData))
    }
}

/// The item fields that the checks read; any other name is skipped.
enum Field {
    Device,
    Attribute,
    Value,
    Unit,
    ObservedAt,
    ObservedAtMs,
    ObservedAtS,
    Other,
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E>(self, v: &str) -> Result<Field, E> {
                Ok(match v {
                    "device" => Field::Device,
                    "attribute" => Field::Attribute,
                    "value" => Field::Value,
                    "unit" => Field::Unit,
                    "observed_at" => Field::ObservedAt,
                    "observed_at_ms" => Field::ObservedAtMs,
                    "observed_at_s" => Field::ObservedAtS,
                    _ => Field::Other,
                })
            }
        }
        deserializer.deserialize_identifier(FieldVisitor)
    }
}

struct ItemVisitor<'a>(PhantomData<LooseItem<'a>>);

impl<'de: 'a, 'a> Visitor<'de> for ItemVisitor<'a> {
    type Value = LooseItem<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a reading")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut item = LooseItem { object: true, ..LooseItem::default() };
        while let Some(field) = map.next_key::<Field>()? {
            let slot = match field {
                Field::Device => &mut item.device,
                Field::Attribute => &mut item.attribute,
                Field::Value => &mut item.value,
                Field::Unit => &mut item.unit,
                Field::ObservedAt => &mut item.observed_at,
                Field::ObservedAtMs => &mut item.observed_at_ms,
                Field::ObservedAtS => &mut item.observed_at_s,
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = map.next_value()?;
        }
        Ok(item)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(LooseItem::default())
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(LooseItem::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(LooseItem::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(LooseItem::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(LooseItem::default())
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(LooseItem::default())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(LooseItem::default())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for LooseItem<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ItemVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_their_json_type() {
        let body = r#"{"readings": [
            {"device": "d\u0031", "attribute": "temperature", "value": 21.5,
             "observed_at_ms": 1733277600000, "extra": {"a": [1]}},
            {"device": "d", "value": [1], "unit": null, "observed_at_s": 18446744073709551615},
            [1, 2], "text", 3
        ]}"#;
        let batch: LooseBatch = serde_json::from_str(body).unwrap();
        let first = &batch.readings[0];
        assert!(first.object);
        assert_eq!(first.device, Loose::Text("d1".into()), "escapes are decoded");
        assert_eq!(first.value, Loose::Real(21.5));
        assert_eq!(first.observed_at_ms.as_i64(), Some(1_733_277_600_000));
        assert_eq!(first.attribute, Loose::Text(Cow::Borrowed("temperature")));
        let second = &batch.readings[1];
        assert_eq!((&second.value, &second.unit), (&Loose::Nested, &Loose::Null));
        assert_eq!(second.attribute, Loose::Absent);
        assert_eq!(second.observed_at_s.as_i64(), None, "past i64 is not an integer");
        assert!(batch.readings[2..].iter().all(|item| !item.object));
    }
}
