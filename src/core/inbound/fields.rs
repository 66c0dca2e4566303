//! Reading an event's objects with the path of each field, for error messages.

use serde_json::Value;

use crate::core::rejection::{type_name, Rejection};

/// An object in the event, with its path for error messages.
pub(super) struct Fields<'a> {
    map: &'a serde_json::Map<String, Value>,
    path: String,
}

impl<'a> Fields<'a> {
    pub(super) fn new(value: &'a Value, path: &str) -> Result<Self, Rejection> {
        match value {
            Value::Object(map) => Ok(Self {
                map,
                path: path.to_owned(),
            }),
            other => Err(Rejection::invalid_event(
                display_path(path),
                format!("must be an object, got {}", type_name(other)),
            )),
        }
    }

    pub(super) fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub(super) fn has(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|v| !v.is_null())
    }

    /// The raw value at `key`, if any.
    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub(super) fn object(&self, key: &str) -> Result<Fields<'a>, Rejection> {
        match self.map.get(key) {
            None | Some(Value::Null) => {
                Err(Rejection::invalid_event(self.path_of(key), "is missing"))
            }
            Some(value) => Fields::new(value, &self.path_of(key)),
        }
    }

    pub(super) fn required_str(&self, key: &str) -> Result<&'a str, Rejection> {
        self.optional_str(key)?
            .ok_or_else(|| Rejection::invalid_event(self.path_of(key), "is missing"))
    }

    /// Absent and `null` both mean "not given".
    pub(super) fn optional_bool(&self, key: &str) -> Result<Option<bool>, Rejection> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(Rejection::invalid_event(
                self.path_of(key),
                format!("must be true or false, got {}", type_name(other)),
            )),
        }
    }

    /// A list of strings; absent and `null` both mean "not given".
    pub(super) fn optional_str_list(&self, key: &str) -> Result<Option<Vec<String>>, Rejection> {
        let refused = || Rejection::invalid_event(self.path_of(key), "must be a list of strings");
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned).ok_or_else(refused))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(refused()),
        }
    }

    /// Absent and `null` both mean "not given".
    pub(super) fn optional_str(&self, key: &str) -> Result<Option<&'a str>, Rejection> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(Rejection::invalid_event(
                self.path_of(key),
                format!("must be a string, got {}", type_name(other)),
            )),
        }
    }

    pub(super) fn bool_at(&self, path: &[&str]) -> bool {
        let mut value = self.map.get(path[0]);
        for key in &path[1..] {
            value = value.and_then(|v| v.get(key));
        }
        value.and_then(Value::as_bool).unwrap_or(false)
    }

    pub(super) fn expect_cloudtrail_call(
        &self,
        event_source: &str,
        event_name: &str,
    ) -> Result<(), Rejection> {
        let source = self.required_str("eventSource")?;
        if source != event_source {
            return Err(Rejection::invalid_event(
                self.path_of("eventSource"),
                format!("is \"{source}\"; expected \"{event_source}\""),
            ));
        }
        let name = self.required_str("eventName")?;
        if !name.eq_ignore_ascii_case(event_name) {
            return Err(Rejection::invalid_event(
                self.path_of("eventName"),
                format!("is \"{name}\"; dkim-autopilot acts only on \"{event_name}\""),
            ));
        }
        Ok(())
    }

    /// CloudTrail records failed calls too, with an `errorCode`.
    pub(super) fn failed_call(&self) -> Result<Option<&'a str>, Rejection> {
        self.optional_str("errorCode")
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        "(payload)".to_owned()
    } else {
        path.to_owned()
    }
}
