//! Adds `credHelpers` entries to a client config's JSON text by inserting text, so that every
//! other byte stays where it was: key order, indentation, spacing and unknown keys (serde_json
//! without `preserve_order` would sort the keys). The text must be valid JSON (checked first);
//! the result is checked to parse to exactly the old document plus the new entries.

use serde_json::{Map, Value};
use std::ops::Range;

/// One `"key": value` of an object: the key decoded, the value's byte range.
struct Member {
    key: String,
    value: Range<usize>,
}

/// An object's members and where its braces are.
struct Object {
    open: usize,
    close: usize,
    members: Vec<Member>,
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// The end (exclusive) of the string starting at `i` (a `"`).
fn string_end(b: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < b.len() && b[i] != b'"' {
        i += if b[i] == b'\\' { 2 } else { 1 };
    }
    i + 1
}

/// The end (exclusive) of the value starting at `i` (valid JSON assumed).
fn value_end(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b'"') => string_end(b, i),
        Some(b'{' | b'[') => {
            let (mut depth, mut j) = (0usize, i);
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = string_end(b, j);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return j + 1;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            j
        }
        _ => {
            let mut j = i;
            while j < b.len() && !b",}] \t\r\n".contains(&b[j]) {
                j += 1;
            }
            j
        }
    }
}

/// The object whose `{` is at `open`.
fn object_at(text: &str, open: usize) -> Option<Object> {
    let b = text.as_bytes();
    let mut members = Vec::new();
    let mut i = skip_ws(b, open + 1);
    while b.get(i) == Some(&b'"') {
        let key_end = string_end(b, i);
        let key = serde_json::from_slice::<Value>(&b[i..key_end]).ok()?;
        let key = key.as_str()?.to_owned();
        let start = skip_ws(b, skip_ws(b, key_end) + 1);
        let end = value_end(b, start);
        members.push(Member {
            key,
            value: start..end,
        });
        i = skip_ws(b, end);
        if b.get(i) == Some(&b',') {
            i = skip_ws(b, i + 1);
        }
    }
    (b.get(i) == Some(&b'}')).then_some(Object {
        open,
        close: i,
        members,
    })
}

/// The whitespace that starts the line holding byte `at`.
fn line_indent(text: &str, at: usize) -> &str {
    let start = text[..at].rfind('\n').map_or(0, |n| n + 1);
    let line = &text[start..at];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// How an object's members are laid out: (newline + indent before a member, `":"` spacing,
/// newline + indent before the `}`).
fn layout(text: &str, obj: &Object) -> (String, &'static str, String) {
    let Some(first) = obj.members.first() else {
        let close = line_indent(text, obj.open);
        return (format!("\n{close}\t"), ": ", format!("\n{close}"));
    };
    let between = &text[obj.open + 1..first.value.start];
    if !between.contains('\n') {
        let sep = if between.contains(": ") { ": " } else { ":" };
        return (String::new(), sep, String::new());
    }
    let indent = line_indent(text, skip_ws(text.as_bytes(), obj.open + 1));
    let close = line_indent(text, obj.close);
    let sep = if between.contains(": ") { ": " } else { ":" };
    (format!("\n{indent}"), sep, format!("\n{close}"))
}

/// `"key": value` inserted as the last member of `obj`.
fn append(text: &str, obj: &Object, key: &str, value: &str) -> String {
    let (nl, sep, close_nl) = layout(text, obj);
    let member = format!("{nl}{}{sep}{value}", quote(key));
    match obj.members.last() {
        Some(last) => format!(
            "{},{member}{}",
            &text[..last.value.end],
            &text[last.value.end..]
        ),
        None => format!(
            "{}{{{member}{close_nl}}}{}",
            &text[..obj.open],
            &text[obj.close + 1..]
        ),
    }
}

/// A JSON string literal.
fn quote(s: &str) -> String {
    let mut out = String::new();
    crate::go::json::push_str(&mut out, s);
    out
}

/// Sets `credHelpers[key]` to `helper`: added, or replaced when `replace`.
pub fn set_helper(text: &str, key: &str, helper: &str) -> Option<String> {
    let top = object_at(text, skip_ws(text.as_bytes(), 0))?;
    let quoted = quote(helper);
    let Some(ch) = top.members.iter().find(|m| m.key == "credHelpers") else {
        let (nl, sep, close) = layout(text, &top);
        let unit = nl
            .strip_prefix(close.as_str())
            .filter(|u| !u.is_empty())
            .unwrap_or("\t");
        let inner = if nl.is_empty() {
            String::new()
        } else {
            nl.clone() + unit
        };
        let value = format!("{{{inner}{}{sep}{quoted}{nl}}}", quote(key));
        return Some(append(text, &top, "credHelpers", &value));
    };
    let obj = object_at(text, ch.value.start)?;
    Some(match obj.members.iter().find(|m| m.key == key) {
        Some(m) => format!("{}{quoted}{}", &text[..m.value.start], &text[m.value.end..]),
        None => append(text, &obj, key, &quoted),
    })
}

/// The document `old` with `credHelpers[key] = helper` for every key.
pub fn expected(old: &Map<String, Value>, keys: &[String], helper: &str) -> Value {
    let mut doc = old.clone();
    let helpers = doc
        .entry("credHelpers")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(h) = helpers {
        for k in keys {
            h.insert(k.clone(), Value::from(helper));
        }
    }
    Value::Object(doc)
}

/// A unified-style diff of two texts: the changed lines with one line of context.
pub fn diff(path: &str, old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let head = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let from = head.saturating_sub(1);
    let mut out = format!("--- {path}\n+++ {path}\n");
    let context = |out: &mut String, lines: &[&str]| {
        lines.iter().for_each(|l| out.push_str(&format!(" {l}\n")))
    };
    context(&mut out, &a[from..head]);
    a[head..a.len() - tail]
        .iter()
        .for_each(|l| out.push_str(&format!("-{l}\n")));
    b[head..b.len() - tail]
        .iter()
        .for_each(|l| out.push_str(&format!("+{l}\n")));
    context(
        &mut out,
        &a[a.len() - tail..(a.len() - tail + 1).min(a.len())],
    );
    out
}

#[cfg(test)]
mod tests;
