//! The Liquid evaluator's tests: the first five over a scope like a flow's; `text_filters`
//! and `filters` have one test per filter and `tags` one per tag, their expected values
//! Shopify Liquid's documented ones unless a comment says this evaluator differs.

use super::*;
use serde_json::{json, Value};

mod filters_tests;
mod tags_tests;
mod text_filters_tests;

fn scope() -> Value {
    json!({
        "trigger": {"message": {"Body": " Hello There ", "From": "+14155550100"}},
        "widgets": {"http_1": {"status_code": 200, "parsed": {"name": "Ada", "items": ["a", "b", "c"], "n": 2.5,
            "orders": [{"id": 1, "status": "open"}, {"id": 2, "status": "shipped"}]}}},
        "flow": {"variables": {"count": "3", "zero": "0"}, "data": {}},
    })
}

fn r(source: &str) -> String {
    Template::parse(source)
        .unwrap_or_else(|e| panic!("{source}: {e}"))
        .render(&scope(), &Budget::default())
}

/// Renders `source` over `scope`, for a test that needs its own input (a string with quotes,
/// an array of numbers…), which a template's literals cannot write.
fn with(source: &str, scope: Value) -> String {
    Template::parse(source)
        .unwrap_or_else(|e| panic!("{source}: {e}"))
        .render(&scope, &Budget::default())
}

/// The error of a template that must not parse.
fn refused(source: &str) -> String {
    match Template::parse(source) {
        Ok(_) => panic!("{source} parsed"),
        Err(e) => e,
    }
}

#[test]
fn outputs_read_paths_and_missing_ones_are_empty() {
    assert_eq!(r("Hi {{widgets.http_1.parsed.name}}!"), "Hi Ada!");
    assert_eq!(
        r("[{{widgets.nope.parsed.name}}][{{ flow.variables.missing }}]"),
        "[][]"
    );
    assert_eq!(r("{{ widgets.http_1.status_code }}"), "200");
    assert_eq!(
        r("{{ widgets.http_1.parsed.items[1] }}{{ widgets.http_1.parsed.items.size }}"),
        "b3"
    );
    assert_eq!(
        r("{{ widgets.http_1.parsed.items.last }}{{ widgets.http_1.parsed['name'] }}"),
        "cAda"
    );
    assert_eq!(r("{{ widgets.http_1.parsed.n }}"), "2.5");
    assert_eq!(
        r("{{ widgets.http_1.parsed.orders[0] }}"),
        r#"{"id":1,"status":"open"}"#
    );
}

#[test]
fn filters() {
    assert_eq!(
        r("{{ trigger.message.Body | strip | downcase }}"),
        "hello there"
    );
    assert_eq!(
        r("{{ trigger.message.Body | strip | upcase | append: '!' }}"),
        "HELLO THERE!"
    );
    assert_eq!(r("{{ flow.variables.count | plus: 1 }}"), "4");
    assert_eq!(r("{{ flow.variables.count | times: 1.5 }}"), "4.5");
    assert_eq!(
        r("{{ 7 | divided_by: 2 }} {{ 7 | divided_by: 2.0 }} {{ 7 | divided_by: 0 }}"),
        "3 3.5 "
    );
    assert_eq!(r("{{ flow.variables.nothing | default: 'none' }}"), "none");
    assert_eq!(r("{{ 'a,b,c' | split: ',' | join: '-' }}"), "a-b-c");
    assert_eq!(
        r("{{ 'Ground control to Major Tom.' | truncate: 20 }}"),
        "Ground control to..."
    );
    assert_eq!(r("{{ 'a b' | url_encode }}"), "a+b");
    assert_eq!(
        r("{{ widgets.http_1.parsed.orders | map: 'status' | join: ', ' }}"),
        "open, shipped"
    );
    assert_eq!(
        r("{{ widgets.http_1.parsed.orders | where: 'status', 'shipped' | map: 'id' | first }}"),
        "2"
    );
    assert_eq!(
        r("{{ 1700000000 | date: '%Y-%m-%d %H:%M %a %b' }}"),
        "2023-11-14 22:13 Tue Nov"
    );
    assert_eq!(
        r("{{ 'ab' | capitalize }}{{ 3.7 | floor }}{{ 3.14159 | round: 2 }}"),
        "Ab33.14"
    );
}

#[test]
fn tags() {
    assert_eq!(
        r("{% if widgets.http_1.status_code == 200 %}ok{% else %}bad{% endif %}"),
        "ok"
    );
    assert_eq!(r("{% if flow.variables.missing %}x{% elsif widgets.http_1.parsed.name == 'Ada' %}y{% endif %}"), "y");
    assert_eq!(
        r("{% unless flow.variables.missing %}no{% endunless %}"),
        "no"
    );
    assert_eq!(r("{% if trigger.message.Body contains 'Hello' and widgets.http_1.parsed.n > 2 %}both{% endif %}"), "both");
    assert_eq!(
        r("{% if flow.variables.count > 2 %}bigger{% else %}a string is no number{% endif %}"),
        "a string is no number"
    );
    assert_eq!(r("{% if flow.variables.missing == blank %}blank{% endif %}{% if widgets.http_1.parsed.items != empty %}!{% endif %}"), "blank!");
    assert_eq!(r("{% for i in widgets.http_1.parsed.items %}{{forloop.index}}{{i}}{% unless forloop.last %},{% endunless %}{% endfor %}"), "1a,2b,3c");
    assert_eq!(r("{% for i in (1..3) reversed %}{{i}}{% endfor %}"), "321");
    assert_eq!(
        r("{% for i in flow.variables.none %}x{% else %}empty{% endfor %}"),
        "empty"
    );
    assert_eq!(r("{% case widgets.http_1.parsed.name %}{% when 'Bob', 'Ada' %}hi{% else %}who{% endcase %}"), "hi");
    assert_eq!(r("{% assign n = flow.variables.count | plus: 2 %}{{ n }}{% capture c %}[{{n}}]{% endcapture %}{{c}}"), "5[5]");
    assert_eq!(
        r("{% raw %}{{ not }}{% endraw %}{% comment %}gone{% endcomment %}."),
        "{{ not }}."
    );
    assert_eq!(r("a  {{- 'b' -}}  c"), "abc");
}

#[test]
fn loops_stop_after_studios_fifteen_iterations() {
    assert_eq!(r("{% for i in (1..100) %}.{% endfor %}"), ".".repeat(15));
    assert_eq!(
        r("{% for i in (1..100) %}{% if i == 3 %}{% break %}{% endif %}{{i}}{% endfor %}"),
        "12"
    );
}

#[test]
fn bad_templates_are_refused_and_nothing_panics() {
    for bad in [
        "{{",
        "{% if x %}",
        "{% include 'x' %}",
        "{{ a | nope }}",
        "{{ a | }}",
        "{% if %}",
        "{% for %}{% endfor %}",
        "{{ 'open }}",
    ] {
        assert!(Template::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(render("{% if x %}", &scope()), "{% if x %}");
    let deep = "{% if a %}".repeat(100);
    assert!(Template::parse(&deep).is_err());
    for odd in [
        "",
        "}}",
        "{",
        "%}",
        "{{ -1 | minus: -2 }}",
        "{{ 'é' | slice: -1 }}",
        "{{ 'ab' | truncate: 0 }}",
        "{{ a[ }}",
        "{{ x.y.z[0][1] }}",
        "{% for i in (1..a) %}{% endfor %}",
        "😀 {{ '😀' | size }}",
    ] {
        let _ = render(odd, &scope());
    }
    assert_eq!(r("{{ '😀' | size }}"), "1");
}
