//! A JSON-shaped value: what the config object and a cached verdict are read into (the
//! platform builds it from a JS value, stored text going through `JSON.parse`), and
//! the text helpers for JSON and messages. Hand-written rather than serde, which
//! tripled the size of the wasm.

use crate::cat;
use crate::prelude::*;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null` or `undefined`: treated as absent.
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    List(Vec<Value>),
    Map(Vec<(String, Value)>),
    /// Anything JSON has no word for (a function, a symbol, a bigint): its `typeof`.
    Other(&'static str),
}

impl Value {
    /// How a message names this kind of value.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Num(_) => "a number",
            Value::Str(_) => "a string",
            Value::List(_) => "an array",
            Value::Map(_) => "an object",
            Value::Other(t) => t,
        }
    }

    /// The value of `key` in a map; `None` when absent or null.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .filter(|v| **v != Value::Null),
            _ => None,
        }
    }
}

/// `s` as a JSON string literal.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u");
                push_hex(&mut out, c as u32, 4);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `n` in lowercase hex, zero-padded to at least `min_digits` (at most 8).
fn push_hex(out: &mut String, n: u32, min_digits: u32) {
    let mut started = false;
    for place in (0..8).rev() {
        let nibble = (n >> (place * 4)) & 0xf;
        started |= nibble != 0 || place < min_digits;
        if started {
            out.push(char::from_digit(nibble, 16).unwrap_or('0'));
        }
    }
}

/// A number for a message, without pulling float formatting into the wasm.
pub fn show_number(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    let a = if v < 0.0 { -v } else { v };
    if a >= 1e15 {
        return "a number too large".to_string();
    }
    let sign = if v < 0.0 { "-" } else { "" };
    let whole = a as u64;
    // Thousandths, rounded; a fraction that rounds up to 1 carries into the whole part.
    let mut thousandths = ((a - whole as f64) * 1000.0 + 0.5) as u64;
    let whole = whole + thousandths / 1000;
    thousandths %= 1000;
    if thousandths == 0 {
        return cat!(sign, whole);
    }
    let mut digits = cat!(1000 + thousandths);
    digits.remove(0);
    while digits.ends_with('0') {
        digits.pop();
    }
    cat!(sign, whole, '.', digits)
}

/// `s` in double quotes for a message, control characters made visible.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c.is_control() {
            out.push_str("\\u{");
            push_hex(&mut out, c as u32, 1);
            out.push('}');
        } else {
            out.push(c);
        }
    }
    out.push('"');
    out
}

#[cfg(all(test, not(target_arch = "wasm32")))]
pub mod tests {
    use super::*;

    /// Test-only bridge: write configs as `serde_json::json!` literals.
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Num(n.as_f64().unwrap()),
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(a) => Value::List(a.iter().map(from_json).collect()),
            serde_json::Value::Object(o) => {
                Value::Map(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect())
            }
        }
    }

    #[test]
    fn json_strings_round_trip() {
        let s = "a\"b\\c\u{1}d\u{1f}é";
        let via_serde: String = serde_json::from_str(&json_string(s)).unwrap();
        assert_eq!(via_serde, s);
        assert_eq!(json_string("\u{1}\u{1f}"), "\"\\u0001\\u001f\"");
    }

    #[test]
    fn numbers_for_messages() {
        assert_eq!(show_number(49.0), "49");
        assert_eq!(show_number(-1.0), "-1");
        assert_eq!(show_number(100.5), "100.5");
        assert_eq!(show_number(0.25), "0.25");
        assert_eq!(show_number(-2.125), "-2.125");
        assert_eq!(show_number(0.9999), "1");
        assert_eq!(show_number(0.0001), "0");
        assert_eq!(show_number(12.05), "12.05");
        assert_eq!(show_number(1e14 + 0.5), "100000000000000.5");
        assert_eq!(show_number(f64::NAN), "NaN");
        assert_eq!(show_number(f64::INFINITY), "Infinity");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a\nb"), "\"a\\u{a}b\"");
        assert_eq!(quote("\u{9f}\u{0}"), "\"\\u{9f}\\u{0}\"");
    }
}
