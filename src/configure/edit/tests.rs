//! Exact bytes of every kind of insertion, and the diff.

use super::*;

const K: &str = "1.dkr.ecr.r.amazonaws.com";

fn set(text: &str) -> String {
    set_helper(text, K, "ecr-login").unwrap()
}

#[test]
fn docker_layout_new_member_and_new_object() {
    assert_eq!(
        set("{\n\t\"auths\": {}\n}"),
        format!(
            "{{\n\t\"auths\": {{}},\n\t\"credHelpers\": {{\n\t\t\"{K}\": \"ecr-login\"\n\t}}\n}}"
        )
    );
    assert_eq!(
        set("{}"),
        format!("{{\n\t\"credHelpers\": {{\n\t\t\"{K}\": \"ecr-login\"\n\t}}\n}}")
    );
    assert_eq!(
        set("{\n\t\"credHelpers\": {}\n}"),
        format!("{{\n\t\"credHelpers\": {{\n\t\t\"{K}\": \"ecr-login\"\n\t}}\n}}")
    );
}

#[test]
fn two_space_and_compact_layouts() {
    assert_eq!(
        set("{\n  \"a\": 1,\n  \"credHelpers\": {\n    \"x\": \"y\"\n  }\n}\n"),
        format!("{{\n  \"a\": 1,\n  \"credHelpers\": {{\n    \"x\": \"y\",\n    \"{K}\": \"ecr-login\"\n  }}\n}}\n")
    );
    assert_eq!(
        set("{\n  \"a\": [1, {\"b\": \"}\"}]\n}"),
        format!("{{\n  \"a\": [1, {{\"b\": \"}}\"}}],\n  \"credHelpers\": {{\n    \"{K}\": \"ecr-login\"\n  }}\n}}")
    );
    assert_eq!(
        set(r#"{"credHelpers":{"x":"y"},"z":true}"#),
        format!(r#"{{"credHelpers":{{"x":"y","{K}":"ecr-login"}},"z":true}}"#)
    );
}

#[test]
fn replaces_only_the_value() {
    let text = format!("{{ \"credHelpers\" : {{ \"{K}\" : \"other\" , \"b\": \"c\" }} }}");
    assert_eq!(set(&text), text.replace("\"other\"", "\"ecr-login\""));
}

#[test]
fn escaped_keys_are_decoded() {
    let text = r#"{"cred\u0048elpers":{"x":"y"}}"#;
    assert_eq!(
        set(text),
        format!(r#"{{"cred\u0048elpers":{{"x":"y","{K}":"ecr-login"}}}}"#)
    );
}

#[test]
fn expected_document() {
    let old: Map<String, Value> =
        serde_json::from_str(r#"{"credHelpers":{"x":"y"},"a":1}"#).unwrap();
    let want: Value = serde_json::from_str(&format!(
        r#"{{"credHelpers":{{"x":"y","{K}":"ecr-login"}},"a":1}}"#
    ))
    .unwrap();
    assert_eq!(expected(&old, &[K.to_owned()], "ecr-login"), want);
}

#[test]
fn diff_shows_the_change_with_one_line_of_context() {
    assert_eq!(
        diff("f", "{\n\t\"a\": 1\n}", "{\n\t\"a\": 1,\n\t\"b\": 2\n}"),
        "--- f\n+++ f\n {\n-\t\"a\": 1\n+\t\"a\": 1,\n+\t\"b\": 2\n }\n"
    );
    assert_eq!(diff("f", "", "{}"), "--- f\n+++ f\n+{}\n");
}
