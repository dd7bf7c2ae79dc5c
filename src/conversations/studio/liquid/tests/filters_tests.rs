//! One test per filter of the other families (array, math, `default`, `json`, `date`; the
//! string and URL filters are in `text_filters`): an output for a usual input, and the edges
//! that matter (a missing variable, a value of the wrong type, an argument left out). Where
//! this evaluator differs from Shopify Liquid the comment says so; the test pins today's
//! behaviour.

use super::{r, refused, with, Budget, Template};
use serde_json::{json, Value};

#[test]
fn join() {
    let items = "widgets.http_1.parsed.items";
    assert_eq!(r(&format!("{{{{ {items} | join: ', ' }}}}")), "a, b, c");
    assert_eq!(r(&format!("{{{{ {items} | join }}}}")), "a b c");
    assert_eq!(r("{{ 'abc' | join: '-' }}{{ nope | join: '-' }}"), "abc");
}

#[test]
fn first() {
    assert_eq!(r("{{ widgets.http_1.parsed.items | first }}"), "a");
    // Shopify's first of a string is nil: here it is the first character.
    assert_eq!(r("{{ 'abc' | first }}"), "a");
    assert_eq!(with("[{{ v | first }}]", json!({"v": []})), "[]");
    assert_eq!(r("[{{ 5 | first }}{{ nope | first }}]"), "[]");
}

#[test]
fn last() {
    assert_eq!(r("{{ widgets.http_1.parsed.items | last }}"), "c");
    // Shopify's last of a string is nil: here it is the last character.
    assert_eq!(r("{{ 'abc' | last }}"), "c");
    assert_eq!(with("[{{ v | last }}]", json!({"v": []})), "[]");
    assert_eq!(r("[{{ nope | last }}]"), "[]");
}

#[test]
fn size() {
    assert_eq!(r("{{ widgets.http_1.parsed.items | size }}"), "3");
    assert_eq!(
        r("{{ 'Ground control' | size }} {{ 'é😀' | size }}"),
        "14 2"
    );
    assert_eq!(r("{{ widgets.http_1.parsed | size }}"), "4");
    // Shopify gives 8 for an integer (Ruby's Integer#size, its bytes); here 0.
    assert_eq!(r("{{ nope | size }} {{ 5 | size }}"), "0 0");
}

#[test]
fn default() {
    assert_eq!(r("{{ nope | default: 'none' }}"), "none");
    assert_eq!(
        r("{{ '' | default: 'none' }}{{ false | default: 'no' }}"),
        "noneno"
    );
    assert_eq!(r("{{ 'x' | default: 'none' }}{{ 0 | default: 1 }}"), "x0");
    assert_eq!(r("{{ false | default: 'no', allow_false: true }}"), "false");
    assert_eq!(r("{{ nope | default: 'no', allow_false: true }}"), "no");
    assert_eq!(with("{{ v | default: 'none' }}", json!({"v": []})), "none");
    assert_eq!(r("[{{ nope | default }}]"), "[]");
    // Shopify keeps a string of spaces (it is not empty); here it is blank, so defaulted.
    assert_eq!(r("{{ '  ' | default: 'none' }}"), "none");
}

#[test]
fn plus() {
    assert_eq!(
        r("{{ 4 | plus: 2 }} {{ '3' | plus: 1 }} {{ 1.5 | plus: 1 }}"),
        "6 4 2.5"
    );
    assert_eq!(r("{{ 183.357 | plus: 12 }}"), "195.357");
    // Shopify reads a non-number as 0 ("1" twice): here the result is nil.
    assert_eq!(r("[{{ 'a' | plus: 1 }}{{ nope | plus: 1 }}]"), "[]");
    assert_eq!(r("[{{ 1 | plus: 'a' }}]"), "[]");
}

#[test]
fn minus() {
    assert_eq!(r("{{ 4 | minus: 2 }} {{ 16 | minus: 4.5 }}"), "2 11.5");
    assert_eq!(r("{{ -1 | minus: -2 }}"), "1");
    assert_eq!(r("[{{ nope | minus: 1 }}]"), "[]");
}

#[test]
fn times() {
    assert_eq!(r("{{ 3 | times: 2 }} {{ 24 | times: 7.5 }}"), "6 180.0");
    assert_eq!(r("{{ flow.variables.count | times: 1.5 }}"), "4.5");
    assert_eq!(r("[{{ 'x' | times: 2 }}]"), "[]");
}

#[test]
fn divided_by() {
    assert_eq!(r("{{ 16 | divided_by: 4 }} {{ 5 | divided_by: 3 }}"), "4 1");
    assert_eq!(r("{{ 20 | divided_by: 7.0 }}"), "2.857142857142857");
    assert_eq!(r("{{ -7 | divided_by: 2 }}"), "-4");
    // Shopify raises "divided by 0": here the output is empty.
    assert_eq!(
        r("[{{ 7 | divided_by: 0 }}{{ 7 | divided_by: 0.0 }}]"),
        "[]"
    );
}

#[test]
fn modulo() {
    assert_eq!(
        r("{{ 3 | modulo: 2 }} {{ 24 | modulo: 7 }} {{ 183.357 | modulo: 12 }}"),
        "1 3 3.3569999999999993"
    );
    // Ruby's modulo takes the divisor's sign (2): here the dividend's, as Rust's `%`.
    assert_eq!(r("{{ -7 | modulo: 3 }}"), "-1");
    assert_eq!(r("[{{ 7 | modulo: 0 }}]"), "[]");
}

#[test]
fn abs() {
    assert_eq!(
        r("{{ -17 | abs }} {{ 4 | abs }} {{ '-19.86' | abs }}"),
        "17 4 19.86"
    );
    assert_eq!(r("[{{ 'x' | abs }}{{ nope | abs }}]"), "[]");
}

#[test]
fn ceil() {
    assert_eq!(
        r("{{ 1.2 | ceil }} {{ 2.0 | ceil }} {{ '3.5' | ceil }}"),
        "2 2 4"
    );
    assert_eq!(r("[{{ nope | ceil }}]"), "[]");
}

#[test]
fn floor() {
    assert_eq!(
        r("{{ 1.8 | floor }} {{ -1.2 | floor }} {{ '3.5' | floor }}"),
        "1 -2 3"
    );
    assert_eq!(r("[{{ 'x' | floor }}]"), "[]");
}

#[test]
fn round() {
    assert_eq!(
        r("{{ 1.2 | round }} {{ 2.7 | round }} {{ 183.357 | round: 2 }}"),
        "1 3 183.36"
    );
    assert_eq!(r("{{ 2.5 | round }} {{ -2.5 | round }}"), "3 -3");
    // Shopify keeps an integer an integer ("2"): with places the result is a float here.
    assert_eq!(r("{{ 2 | round: 1 }}"), "2.0");
    assert_eq!(r("[{{ nope | round }}]"), "[]");
}

#[test]
fn at_least() {
    assert_eq!(
        r("{{ 4 | at_least: 5 }} {{ 4 | at_least: 3 }} {{ 1.5 | at_least: 1 }}"),
        "5 4 1.5"
    );
    assert_eq!(r("[{{ nope | at_least: 5 }}]"), "[]");
}

#[test]
fn at_most() {
    assert_eq!(r("{{ 4 | at_most: 5 }} {{ 4 | at_most: 3 }}"), "4 3");
    assert_eq!(r("[{{ 4 | at_most: 'x' }}]"), "[]");
}

#[test]
fn slice() {
    assert_eq!(
        r("{{ 'Liquid' | slice: 0 }} {{ 'Liquid' | slice: 2 }} {{ 'Liquid' | slice: 2, 5 }}"),
        "L q quid"
    );
    assert_eq!(
        r("{{ 'Liquid' | slice: -3, 2 }} {{ 'é😀x' | slice: 1, 2 }}"),
        "ui 😀x"
    );
    assert_eq!(
        r("{{ widgets.http_1.parsed.items | slice: 1, 2 | json }}"),
        r#"["b","c"]"#
    );
    assert_eq!(
        r("[{{ 'abc' | slice: 9 }}{{ 'abc' | slice: 1, -1 }}{{ nope | slice: 0 }}]"),
        "[]"
    );
}

#[test]
fn reverse() {
    assert_eq!(
        r("{{ widgets.http_1.parsed.items | reverse | join: ',' }}"),
        "c,b,a"
    );
    assert_eq!(r("{{ 'abc' | reverse }}"), "abc");
    assert_eq!(r("{{ 'abc' | split: '' | reverse | join: '' }}"), "cba");
}

#[test]
fn sort() {
    assert_eq!(
        r("{{ 'b,A,c,a' | split: ',' | sort | join: ',' }}"),
        "A,a,b,c"
    );
    let scope = json!({"v": [10, 2, 1.5, -3]});
    assert_eq!(with("{{ v | sort | json }}", scope), "[-3,1.5,2,10]");
    assert_eq!(r("{{ 'cba' | sort }}"), "cba");
}

/// Numbers and numeric strings mixed in one large array: the comparison used to take numbers
/// by value but a number and a string by text, which is no total order (`9 < 10`, `"10" <
/// "9"`, `"9" == 9` as text), and Rust's sort panics on such a comparison. Now numbers come
/// first, by value, then everything else by its text (Shopify Liquid raises "cannot sort
/// values of incompatible type" here; a filter never fails).
#[test]
fn sort_of_numbers_and_strings_mixed_is_a_total_order() {
    let items: Vec<Value> = (0..200)
        .map(|i| match (i * 37 % 200, i % 2) {
            (n, 0) => json!(n),
            (n, _) => json!(n.to_string()),
        })
        .collect();
    let sorted = with("{{ v | sort | json }}", json!({ "v": items }));
    let sorted: Vec<Value> = serde_json::from_str(&sorted).unwrap();
    let (numbers, texts) = sorted.split_at(100);
    assert!(numbers.iter().all(Value::is_number) && texts.iter().all(Value::is_string));
    let numbers: Vec<f64> = numbers.iter().filter_map(Value::as_f64).collect();
    assert!(numbers.is_sorted());
    let texts: Vec<&str> = texts.iter().filter_map(Value::as_str).collect();
    assert!(texts.is_sorted());
    assert_eq!(
        with("{{ v | sort | json }}", json!({"v": ["10", 9, "9", 10]})),
        r#"[9,10,"10","9"]"#
    );
}

#[test]
fn uniq() {
    assert_eq!(
        r("{{ 'a,b,a,c,b' | split: ',' | uniq | join: ',' }}"),
        "a,b,c"
    );
    assert_eq!(
        with(
            "{{ v | uniq | json }}",
            json!({"v": [1, 1, "1", null, null]})
        ),
        r#"[1,"1",null]"#
    );
    assert_eq!(r("{{ 'aa' | uniq }}"), "aa");
}

#[test]
fn compact() {
    assert_eq!(
        with(
            "{{ v | compact | json }}",
            json!({"v": [1, null, "", false, null]})
        ),
        r#"[1,"",false]"#
    );
    assert_eq!(
        r("{{ widgets.http_1.parsed.orders | map: 'nope' | compact | size }}"),
        "0"
    );
    assert_eq!(r("{{ 'x' | compact }}"), "x");
}

#[test]
fn map() {
    let orders = "widgets.http_1.parsed.orders";
    assert_eq!(
        r(&format!("{{{{ {orders} | map: 'status' | json }}}}")),
        r#"["open","shipped"]"#
    );
    assert_eq!(
        r(&format!("{{{{ {orders} | map: 'nope' | json }}}}")),
        "[null,null]"
    );
    assert_eq!(r("{{ widgets.http_1 | map: 'status_code' }}"), "200");
    assert_eq!(r("[{{ nope | map: 'x' }}]"), "[]");
}

#[test]
fn r#where() {
    let orders = "widgets.http_1.parsed.orders";
    assert_eq!(
        r(&format!(
            "{{{{ {orders} | where: 'status', 'open' | map: 'id' | json }}}}"
        )),
        "[1]"
    );
    assert_eq!(
        r(&format!(
            "{{{{ {orders} | where: 'id', 2 | map: 'status' | json }}}}"
        )),
        r#"["shipped"]"#
    );
    let people =
        json!({"v": [{"name": "a", "vip": true}, {"name": "b", "vip": false}, {"name": "c"}]});
    assert_eq!(
        with("{{ v | where: 'vip' | map: 'name' | json }}", people),
        r#"["a"]"#
    );
    assert_eq!(r("{{ 'x' | where: 'a' }}"), "x");
}

#[test]
fn json() {
    assert_eq!(
        r("{{ widgets.http_1.parsed.orders[0] | json }}"),
        r#"{"id":1,"status":"open"}"#
    );
    assert_eq!(
        r("{{ 'a\"b' | json }} {{ 2.5 | json }} {{ nope | json }}"),
        r#""a\"b" 2.5 null"#
    );
}

#[test]
fn date() {
    let at = "1700000000";
    assert_eq!(
        r(&format!("{{{{ {at} | date: '%Y-%m-%d %H:%M:%S' }}}}")),
        "2023-11-14 22:13:20"
    );
    assert_eq!(
        r(&format!(
            "{{{{ '{at}' | date: '%a %A %b %B %e %y %I%p %s %% %q' }}}}"
        )),
        "Tue Tuesday Nov November 14 23 10PM 1700000000 % %q"
    );
    assert_eq!(
        r("{{ '2024-02-29T08:05:09Z' | date: '%d/%m/%Y %H:%M:%S %p' }}"),
        "29/02/2024 08:05:09 AM"
    );
    assert_eq!(r("{{ '2024-03-05' | date: '%e %b|%' }}"), " 5 Mar|%");
    // "now" and "today" are the event's moment (Shopify's current time; "today" is not
    // midnight), whatever their case; a word that is no date is left as written.
    let at = |source: &str| {
        let template = Template::parse(source).unwrap();
        template.render(&json!({}), &Budget::at(1_700_000_000))
    };
    assert_eq!(
        at("{{ 'now' | date: '%Y-%m-%d %H:%M' }}|{{ 'today' | date: '%d %H' }}|{{ 'Now' | date: '%s' }}"),
        "2023-11-14 22:13|14 22|1700000000"
    );
    assert_eq!(at("{{ 'soon' | date: '%Y' }}"), "soon");
    // Without a clock (a template rendered outside a conversation) it is left as written.
    assert_eq!(r("{{ 'now' | date: '%Y' }}"), "now");
    // Without a format Shopify prints the input: here nothing.
    assert_eq!(r("[{{ 1700000000 | date }}{{ nope | date: '%Y' }}]"), "[]");
    assert_eq!(r("{{ '2023-02-30' | date: '%Y' }}"), "2023-02-30");
}

#[test]
fn an_unknown_filter_is_refused_when_parsed() {
    assert_eq!(refused("{{ a | nope }}"), "unknown filter \"nope\"");
    assert_eq!(
        refused("{{ a | upcase | Upcase }}"),
        "unknown filter \"Upcase\""
    );
    assert_eq!(refused("{{ a | }}"), "a filter name after \"|\"");
}
