//! The config table of docs/configuration.md and the `.d.ts` config types, written from [`CONFIG`]: the
//! tests fail with the difference when either disagrees with the schema, and
//! `UPDATE_CONFIG_DOCS=1 cargo test -p health-proxy --lib schema` rewrites both.

use super::{Key, Kind, Unset, CONFIG};
use std::fmt::Write;

const CONFIG_DOC: &str = "docs/configuration.md";
const TABLE_HEAD: &str = "| key | default | rule |\n|---|---|---|\n";
const TYPES: &str = "src/js/types.rs";
/// Where the generated part of the custom section starts; it runs to the section's end.
const TYPES_START: &str = "export interface RouteConfig {";
const TYPES_END: &str = "\"#;";

fn fields(kind: &Kind) -> &'static [Key] {
    match kind {
        Kind::Object(keys) => keys,
        _ => &[],
    }
}

/// What the value may be, beyond its type: "50 – 60000".
fn range(kind: &Kind) -> Option<String> {
    match kind {
        Kind::Number { min, max, .. } => Some(format!("{min} – {max}")),
        Kind::OffOr(inner) => range(inner).map(|r| format!("0 (off) or {r}")),
        Kind::List(Kind::Object(keys)) => {
            let names: Vec<String> = keys
                .iter()
                .map(|k| match k.default {
                    Unset::Required => k.name.to_string(),
                    _ => format!("{}?", k.name),
                })
                .collect();
            Some(format!("`{{ {} }}`", names.join(", ")))
        }
        Kind::List(item) => range(item).map(|r| format!("each {r}")),
        Kind::Choice { of: choices } => {
            let quoted: Vec<String> = choices.iter().map(|c| format!("`\"{c}\"`")).collect();
            match quoted.split_last() {
                Some((last, [])) => Some(last.clone()),
                Some((last, rest)) => Some(format!("{} or {last}", rest.join(", "))),
                None => None,
            }
        }
        Kind::Text | Kind::Flag | Kind::Expect | Kind::Object(_) => None,
    }
}

/// The table's rule column; the `.d.ts` doc line.
fn rule(key: &Key) -> String {
    match (range(&key.kind), key.doc) {
        (Some(range), "") => range,
        (Some(range), doc) => format!("{range}: {doc}"),
        (None, doc) => doc.to_string(),
    }
}

/// The default as JSON writes it, or a word when there is none.
fn default(unset: &Unset) -> Result<String, &'static str> {
    match unset {
        Unset::Required => Err("required"),
        Unset::None => Err("none"),
        Unset::Null => Ok("null".into()),
        Unset::Flag(flag) => Ok(flag.to_string()),
        Unset::Number(n) => Ok(n.to_string()),
        Unset::Text(text) => Ok(format!("\"{text}\"")),
        Unset::NoItems => Ok("[]".into()),
        Unset::Numbers(numbers) => {
            let items: Vec<String> = numbers.iter().map(u16::to_string).collect();
            Ok(format!("[{}]", items.join(", ")))
        }
    }
}

/// The config table, from its header to its last row.
pub(super) fn config_table() -> String {
    fn rows(keys: &[Key], path: &str, out: &mut String) {
        for key in keys {
            let path = format!("{path}{}", key.name);
            if let Kind::Object(inner) = key.kind {
                rows(inner, &format!("{path}."), out);
                continue;
            }
            let default = match default(&key.default) {
                Ok(value) => format!("`{value}`"),
                Err(word) => word.to_string(),
            };
            let _ = writeln!(out, "| `{path}` | {default} | {} |", rule(key));
        }
    }
    let mut out = TABLE_HEAD.to_string();
    rows(fields(&CONFIG), "", &mut out);
    out
}

/// TypeScript for a value of this kind, and the interfaces it names.
fn ts_type(key: &Key, indent: &str, interfaces: &mut Vec<String>) -> String {
    let ts = match &key.kind {
        Kind::Text => "string".to_string(),
        Kind::Flag => "boolean".to_string(),
        Kind::Number { .. } | Kind::OffOr(_) => "number".to_string(),
        Kind::Choice { of: choices } => {
            let quoted: Vec<String> = choices.iter().map(|c| format!("\"{c}\"")).collect();
            quoted.join(" | ")
        }
        Kind::Expect => "string | Record<string, string | number | boolean | null>".to_string(),
        Kind::Object(keys) => format!(
            "{{\n{}{indent}}}",
            members(keys, &format!("{indent}  "), interfaces)
        ),
        Kind::List(Kind::Object(keys)) => {
            // `routes` holds `RouteConfig`s.
            let mut name = key.name.trim_end_matches('s').to_string();
            if let Some(first) = name.get(..1).map(str::to_uppercase) {
                name.replace_range(..1, &first);
            }
            let name = format!("{name}Config");
            let body = members(keys, "  ", interfaces);
            interfaces.push(format!("export interface {name} {{\n{body}}}\n"));
            format!("{name}[]")
        }
        Kind::List(_) => "number[]".to_string(),
    };
    match key.default {
        Unset::Null => format!("{ts} | null"),
        _ => ts,
    }
}

fn members(keys: &[Key], indent: &str, interfaces: &mut Vec<String>) -> String {
    let mut out = String::new();
    for key in keys {
        let mut doc = rule(key);
        if let Ok(value) = default(&key.default) {
            let _ = write!(
                doc,
                "{}default {value}",
                if doc.is_empty() { "" } else { "; " }
            );
        }
        if let Some(first) = doc.get(..1).map(str::to_uppercase) {
            doc.replace_range(..1, &first);
            let _ = writeln!(out, "{indent}/** {doc}. */");
        }
        let optional = if matches!(key.default, Unset::Required) {
            ""
        } else {
            "?"
        };
        let ts = ts_type(key, indent, interfaces);
        let _ = writeln!(out, "{indent}{}{optional}: {ts};", key.name);
    }
    out
}

/// The config's part of `types.rs`'s custom section: the interfaces lists of objects
/// hold, then `HealthProxyConfig`.
pub(super) fn ts_config() -> String {
    let mut interfaces = Vec::new();
    let body = members(fields(&CONFIG), "  ", &mut interfaces);
    let mut out = interfaces.join("\n");
    let _ = write!(
        out,
        "\n/** Spec §5. Unknown keys are refused. */\nexport interface HealthProxyConfig {{\n{body}}}\n"
    );
    out
}

/// The part of `text` from `start` up to (not including) `end`, with its offsets.
fn section(text: &str, start: &str, end: &str) -> Option<(usize, usize)> {
    let from = text.find(start)?;
    let to = from + text.get(from..)?.find(end)?;
    Some((from, to))
}

/// The config table's extent: its header, then every line that starts with `|`.
fn table_extent(doc: &str) -> Option<(usize, usize)> {
    let from = doc.find(TABLE_HEAD)?;
    let mut to = from;
    for line in doc.get(from..)?.split_inclusive('\n') {
        if !line.starts_with('|') {
            break;
        }
        to += line.len();
    }
    Some((from, to))
}

/// Lines of `want` missing from `got` (+) and lines of `got` not in `want` (-).
fn difference(want: &str, got: &str) -> String {
    let mut out = String::new();
    for line in got.lines().filter(|l| !want.lines().any(|w| w == *l)) {
        let _ = writeln!(out, "- {line}");
    }
    for line in want.lines().filter(|l| !got.lines().any(|g| g == *l)) {
        let _ = writeln!(out, "+ {line}");
    }
    out
}

/// Compares the generated text with the file's, or writes it with `UPDATE_CONFIG_DOCS`.
fn check_or_write(file: &str, extent: fn(&str) -> Option<(usize, usize)>, want: &str) {
    let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    let (from, to) = extent(&text).unwrap_or_else(|| panic!("{file}: the config part is missing"));
    let got = &text[from..to];
    if got == want {
        return;
    }
    if std::env::var_os("UPDATE_CONFIG_DOCS").is_some() {
        std::fs::write(&path, format!("{}{want}{}", &text[..from], &text[to..])).unwrap();
        return;
    }
    panic!(
        "{file} disagrees with schema::CONFIG (- the file, + the schema):\n{}\n\
         UPDATE_CONFIG_DOCS=1 cargo test -p health-proxy --lib schema writes it.",
        difference(want, got)
    );
}

#[test]
fn the_configuration_table_is_the_schema() {
    check_or_write(CONFIG_DOC, table_extent, &config_table());
}

#[test]
fn the_d_ts_config_types_are_the_schema() {
    check_or_write(TYPES, |t| section(t, TYPES_START, TYPES_END), &ts_config());
}

#[test]
fn every_default_passes_its_own_check() {
    fn each(keys: &[Key], path: &str) {
        for key in keys {
            let path = format!("{path}{}", key.name);
            let value = match key.default {
                Unset::Number(n) => serde_json::json!(n),
                Unset::Flag(flag) => serde_json::json!(flag),
                Unset::Numbers(ns) => serde_json::json!(ns),
                Unset::Text(text) => {
                    if let Kind::Choice { of: choices } = key.kind {
                        assert!(choices.contains(&text), "{path}: {text:?}");
                    }
                    serde_json::json!(text)
                }
                Unset::NoItems => serde_json::json!([]),
                Unset::Required | Unset::None | Unset::Null => serde_json::Value::Null,
            };
            if let Err(e) = super::walk(&value, &key.kind, &path) {
                panic!("{path}'s default: {e}");
            }
            each(fields(&key.kind), &format!("{path}."));
        }
    }
    each(fields(&CONFIG), "");
}

#[test]
fn the_config_takes_each_listed_choice_and_no_other() {
    let storage = fields(&CONFIG)
        .iter()
        .find(|k| k.name == "cache")
        .and_then(|cache| fields(&cache.kind).iter().find(|k| k.name == "storage"));
    let Some(Key {
        kind: Kind::Choice { of: choices },
        ..
    }) = storage
    else {
        panic!("cache.storage is a choice");
    };
    let config = |storage: &str| {
        crate::model::config::parse_json(
            &serde_json::json!({"leader": "https://a", "follower": "https://b", "cache": {"storage": storage}}),
            false,
        )
    };
    for choice in *choices {
        assert!(config(choice).is_ok(), "{choice}");
    }
    assert!(config("cookie").is_err());
}

#[test]
fn the_stand_in_takes_the_schemas_request_timeout() {
    // The loader's stand-in runs when the wasm cannot: it keeps its own copy of this one
    // default, checked here.
    let path = format!("{}/src/loader/index.js", env!("CARGO_MANIFEST_DIR"));
    let loader = std::fs::read_to_string(path).unwrap();
    let want = format!("config.requestTimeoutMs ?? {}", super::REQUEST_TIMEOUT_MS);
    assert!(
        loader.contains(&want),
        "src/loader/index.js must say `{want}`"
    );
}
