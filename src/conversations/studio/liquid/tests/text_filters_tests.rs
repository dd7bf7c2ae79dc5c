//! One test per string and URL filter: an output for a usual input, and the edges that
//! matter (a missing variable, a value of the wrong type, an argument left out). Where this
//! evaluator differs from Shopify Liquid the comment says so; the test pins today's
//! behaviour.

use super::{r, with};
use serde_json::json;

#[test]
fn upcase() {
    assert_eq!(r("{{ 'Hello é' | upcase }}"), "HELLO É");
    assert_eq!(r("{{ nope | upcase }}"), "");
    assert_eq!(r("{{ 12 | upcase }}"), "12");
}

#[test]
fn downcase() {
    assert_eq!(r("{{ 'HeLLo É' | downcase }}"), "hello é");
    assert_eq!(r("{{ nope | downcase }}"), "");
}

#[test]
fn capitalize() {
    assert_eq!(r("{{ 'hELLO wORLD' | capitalize }}"), "Hello world");
    assert_eq!(r("{{ 'élan' | capitalize }}"), "Élan");
    assert_eq!(r("{{ '' | capitalize }}{{ nope | capitalize }}"), "");
}

#[test]
fn strip() {
    assert_eq!(r("[{{ trigger.message.Body | strip }}]"), "[Hello There]");
    assert_eq!(
        with("[{{ v | strip }}]", json!({"v": "\t a b \n"})),
        "[a b]"
    );
    assert_eq!(r("[{{ nope | strip }}]"), "[]");
}

#[test]
fn lstrip() {
    assert_eq!(r("[{{ trigger.message.Body | lstrip }}]"), "[Hello There ]");
}

#[test]
fn rstrip() {
    assert_eq!(r("[{{ trigger.message.Body | rstrip }}]"), "[ Hello There]");
}

#[test]
fn strip_newlines() {
    let scope = json!({"v": "a\nb\r\nc\rd"});
    // Shopify removes "\r\n" and "\n" only: a lone "\r" would stay ("abc\rd").
    assert_eq!(with("{{ v | strip_newlines }}", scope), "abcd");
}

#[test]
fn newline_to_br() {
    assert_eq!(
        with("{{ v | newline_to_br }}", json!({"v": "a\nb"})),
        "a<br />\nb"
    );
    // Shopify replaces "\r\n" as a whole ("a<br />\nb"); here the "\r" stays.
    assert_eq!(
        with("{{ v | newline_to_br }}", json!({"v": "a\r\nb"})),
        "a\r<br />\nb"
    );
}

#[test]
fn escape() {
    let scope = json!({"v": "<p class=\"x\">Tom's & Jerry's</p>"});
    assert_eq!(
        with("{{ v | escape }}", scope),
        "&lt;p class=&quot;x&quot;&gt;Tom&#39;s &amp; Jerry&#39;s&lt;/p&gt;"
    );
    assert_eq!(r("{{ 'plain' | escape }}{{ nope | escape }}"), "plain");
}

#[test]
fn url_encode() {
    assert_eq!(r("{{ 'a b&c=d/é' | url_encode }}"), "a+b%26c%3Dd%2F%C3%A9");
    assert_eq!(
        r("{{ 'john@liquid.com' | url_encode }}"),
        "john%40liquid.com"
    );
    // Ruby's CGI.escape (Shopify) gives "%2A~": form encoding keeps "*" and escapes "~".
    assert_eq!(r("{{ '*~' | url_encode }}"), "*%7E");
    assert_eq!(r("{{ nope | url_encode }}"), "");
}

#[test]
fn url_decode() {
    assert_eq!(
        r("{{ '%27Stop%21%27+said+Fred' | url_decode }}"),
        "'Stop!' said Fred"
    );
    assert_eq!(r("{{ 'a%26b%3Dc+%C3%A9' | url_decode }}"), "a&b=c é");
    // Shopify keeps a raw "&" ("a&b"): here the text is read as a form value, which ends there.
    assert_eq!(r("{{ 'a&b' | url_decode }}"), "a");
    assert_eq!(r("{{ nope | url_decode }}"), "");
}

#[test]
fn append() {
    assert_eq!(
        r("{{ '/my/fancy/url' | append: '.html' }}"),
        "/my/fancy/url.html"
    );
    assert_eq!(r("{{ 1 | append: 2 }}"), "12");
    assert_eq!(r("{{ 'a' | append: nope }}{{ nope | append: 'b' }}"), "ab");
}

#[test]
fn prepend() {
    assert_eq!(
        r("{{ 'apples, oranges' | prepend: 'Some fruit: ' }}"),
        "Some fruit: apples, oranges"
    );
    assert_eq!(
        r("{{ 'a' | prepend: nope }}{{ nope | prepend: 'b' }}"),
        "ab"
    );
}

#[test]
fn replace() {
    assert_eq!(
        r("{{ 'Take my protein pills' | replace: 'my', 'your' }}"),
        "Take your protein pills"
    );
    assert_eq!(r("{{ 'a-b-c' | replace: '-' }}"), "abc");
    assert_eq!(r("{{ nope | replace: 'a', 'b' }}"), "");
}

#[test]
fn replace_first() {
    assert_eq!(r("{{ 'a-b-c' | replace_first: '-', '+' }}"), "a+b-c");
    assert_eq!(r("{{ 'abc' | replace_first: 'x', '+' }}"), "abc");
}

#[test]
fn remove() {
    assert_eq!(
        r("{{ 'I strained to see the train' | remove: 'rain' }}"),
        "I sted to see the t"
    );
    assert_eq!(r("{{ 'abc' | remove: 'x' }}"), "abc");
}

#[test]
fn remove_first() {
    assert_eq!(
        r("{{ 'I strained to see the train' | remove_first: 'rain' }}"),
        "I sted to see the train"
    );
}

#[test]
fn truncate() {
    let text = "'Ground control to Major Tom.'";
    assert_eq!(
        r(&format!("{{{{ {text} | truncate: 20 }}}}")),
        "Ground control to..."
    );
    assert_eq!(
        r(&format!("{{{{ {text} | truncate: 25, ', and so on' }}}}")),
        "Ground control, and so on"
    );
    assert_eq!(
        r(&format!("{{{{ {text} | truncate: 20, '' }}}}")),
        "Ground control to Ma"
    );
    assert_eq!(
        r(&format!("{{{{ {text} | truncate }}}}")),
        "Ground control to Major Tom."
    );
    assert_eq!(
        r("{{ 'ab' | truncate: 0 }}{{ 'ab' | truncate: 2 }}"),
        "...ab"
    );
    assert_eq!(r("{{ 'éééé' | truncate: 3, '' }}"), "ééé");
}

#[test]
fn truncatewords() {
    let text = "'Ground control to Major Tom.'";
    assert_eq!(
        r(&format!("{{{{ {text} | truncatewords: 3 }}}}")),
        "Ground control to..."
    );
    assert_eq!(
        r(&format!("{{{{ {text} | truncatewords: 3, '--' }}}}")),
        "Ground control to--"
    );
    assert_eq!(
        r(&format!("{{{{ {text} | truncatewords: 3, '' }}}}")),
        "Ground control to"
    );
    assert_eq!(
        r(&format!("{{{{ {text} | truncatewords: 0 }}}}")),
        "Ground..."
    );
    assert_eq!(
        r(&format!("{{{{ {text} | truncatewords: 9 }}}}")),
        "Ground control to Major Tom."
    );
}

#[test]
fn split() {
    assert_eq!(
        r("{{ 'a, b, c' | split: ', ' | json }}"),
        r#"["a","b","c"]"#
    );
    assert_eq!(r("{{ 'abc' | split: '' | json }}"), r#"["a","b","c"]"#);
    // Ruby's split drops trailing empty strings (["a","b"]) and gives [] for "".
    assert_eq!(r("{{ 'a,b,' | split: ',' | json }}"), r#"["a","b",""]"#);
    assert_eq!(r("{{ '' | split: ',' | json }}"), r#"[""]"#);
}
