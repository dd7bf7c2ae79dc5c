//! One test per tag or block, and the limits that keep rendering bounded.

use super::{r, refused, with};
use crate::conversations::studio::liquid::{render, MAX_LOOP};
use serde_json::json;

#[test]
fn if_elsif_else() {
    let t = "{% if n == 1 %}one{% elsif n == 2 %}two{% elsif n > 2 %}many{% else %}none{% endif %}";
    for (n, want) in [(1, "one"), (2, "two"), (7, "many"), (0, "none")] {
        assert_eq!(with(t, json!({ "n": n })), want);
    }
    assert_eq!(with(t, json!({})), "none");
    assert_eq!(
        r("{% if nope %}x{% endif %}[{% if '' %}empty is truthy{% endif %}]"),
        "[empty is truthy]"
    );
    assert_eq!(
        r("{% if 0 %}0 is truthy{% endif %}{% if false %}no{% endif %}"),
        "0 is truthy"
    );
    assert_eq!(refused("{% if a %}"), "unclosed {% endif %}");
    assert_eq!(refused("{% if %}{% endif %}"), "an expression, not the end");
}

#[test]
fn comparisons_and_contains() {
    let cases = [
        ("1 == 1.0", true),
        ("1 != 2", true),
        ("1 <> 1", false),
        ("2 < 10", true),
        ("2 > 10", false),
        ("2 <= 2", true),
        ("3 >= 4", false),
        ("'b' > 'a'", true),
        ("'10' > 2", false),
        ("'10' == 10", false),
        ("nope == nil", true),
        ("'seafood' contains 'foo'", true),
        ("'seafood' contains 'x'", false),
        ("widgets.http_1.parsed.items contains 'b'", true),
        ("5 contains 5", false),
        ("'' == empty", true),
        ("'  ' == blank", true),
        ("nope == blank", true),
        ("widgets.http_1.parsed.items == empty", false),
        ("0 == blank", false),
    ];
    for (cond, want) in cases {
        let got = r(&format!("{{% if {cond} %}}y{{% else %}}n{{% endif %}}"));
        assert_eq!(got, if want { "y" } else { "n" }, "{cond}");
    }
}

#[test]
fn and_or_read_right_to_left() {
    // Liquid has no precedence: `a and b or c` is `a and (b or c)`.
    assert_eq!(
        r("{% if false and false or true %}y{% else %}n{% endif %}"),
        "n"
    );
    assert_eq!(
        r("{% if true or false and false %}y{% else %}n{% endif %}"),
        "y"
    );
    assert_eq!(
        r("{% if 1 == 1 and 2 == 2 and nope %}y{% else %}n{% endif %}"),
        "n"
    );
    assert_eq!(refused("{% if a b %}{% endif %}"), "unexpected \"b\"");
}

#[test]
fn unless() {
    assert_eq!(r("{% unless true %}a{% else %}b{% endunless %}"), "b");
    assert_eq!(r("{% unless nope %}a{% endunless %}"), "a");
    // The elsif of an unless is a plain (not negated) condition.
    assert_eq!(
        r("{% unless true %}a{% elsif 1 == 1 %}b{% endunless %}"),
        "b"
    );
    assert_eq!(refused("{% unless a %}"), "unclosed {% endunless %}");
}

#[test]
fn case_when() {
    let t = "{% case v %}ignored{% when 1 %}one{% when 2, 3 %}few{% when 'x' or 'y' %}xy{% else %}other{% endcase %}";
    for (v, want) in [
        (json!(1), "one"),
        (json!(3), "few"),
        (json!(1.0), "one"),
        (json!("y"), "xy"),
        (json!("1"), "other"),
    ] {
        assert_eq!(with(t, json!({ "v": v })), want, "{v}");
    }
    assert_eq!(r("[{% case nope %}{% when 1 %}one{% endcase %}]"), "[]");
    assert_eq!(
        refused("{% case a b %}{% endcase %}"),
        "case takes one expression"
    );
    assert_eq!(
        refused("{% case a %}{% when 1 %}"),
        "unclosed {% endcase %}"
    );
}

#[test]
fn for_loops() {
    let items = "widgets.http_1.parsed.items";
    assert_eq!(
        r(&format!(
            "{{% for i in {items} %}}{{{{ i }}}}{{% endfor %}}"
        )),
        "abc"
    );
    assert_eq!(
        r("{% for i in (1..6) limit: 2 offset: 3 %}{{ i }}{% endfor %}"),
        "45"
    );
    assert_eq!(
        r("{% for i in (1..6) offset: 4 reversed %}{{ i }}{% endfor %}"),
        "65"
    );
    assert_eq!(
        r("{% for i in (3..1) %}{{ i }}{% else %}none{% endfor %}"),
        "none"
    );
    assert_eq!(
        with(
            "{% for i in (a..b) %}{{ i }}{% endfor %}",
            json!({"a": 2, "b": "4"})
        ),
        "234"
    );
    assert_eq!(r("{% for i in 'abc' %}[{{ i }}]{% endfor %}"), "[abc]");
    let pairs = json!({"v": {"a": 1, "b": 2}});
    assert_eq!(
        with("{% for p in v %}{{ p[0] }}={{ p[1] }};{% endfor %}", pairs),
        "a=1;b=2;"
    );
    assert_eq!(
        refused("{% for 'i' in x %}{% endfor %}"),
        "for takes a variable: {% for x in list %}"
    );
    assert_eq!(
        refused("{% for x on y %}{% endfor %}"),
        "for takes \"in\": {% for x in list %}"
    );
    assert_eq!(
        refused("{% for x in y by 2 %}{% endfor %}"),
        "unexpected \"by\" in for"
    );
}

#[test]
fn forloop_variables() {
    let t = "{% for i in (5..7) %}{{ forloop.index }}{{ forloop.index0 }}{{ forloop.rindex }}\
             {{ forloop.rindex0 }}{{ forloop.first }}{{ forloop.last }}{{ forloop.length }};{% endfor %}";
    assert_eq!(r(t), "1032truefalse3;2121falsefalse3;3210falsetrue3;");
    let nested = "{% for a in (1..2) %}{% for b in (1..2) %}{{ forloop.index }}{% endfor %}{{ forloop.index }}|{% endfor %}[{{ forloop.index }}]";
    assert_eq!(r(nested), "121|122|[]");
    assert_eq!(
        r("{% assign i = 'kept' %}{% for i in (1..2) %}{{ i }}{% endfor %}{{ i }}"),
        "12kept"
    );
}

#[test]
fn break_and_continue() {
    assert_eq!(
        r("{% for i in (1..5) %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}"),
        "12"
    );
    assert_eq!(
        r("{% for i in (1..5) %}{% if i == 3 %}{% continue %}{% endif %}{{ i }}{% endfor %}"),
        "1245"
    );
    let nested = "{% for a in (1..2) %}{% for b in (1..3) %}{% if b == 2 %}{% break %}{% endif %}{{ a }}{{ b }}{% endfor %};{% endfor %}";
    assert_eq!(r(nested), "11;21;");
    assert_eq!(r("a{% break %}b"), "a");
}

#[test]
fn loops_stop_at_max_loop() {
    assert_eq!(MAX_LOOP, 15);
    assert_eq!(
        r("{% for i in (1..20) %}{{ forloop.length }},{% endfor %}"),
        "15,".repeat(15)
    );
    // limit and reversed come first, Studio's cap last: the 15 run from 20 down.
    assert_eq!(r("{% for i in (1..100) limit: 20 reversed %}{% if forloop.first %}{{ i }}{% endif %}{% endfor %}"), "20");
}

#[test]
fn assign() {
    assert_eq!(
        r("{% assign x = 'a' | upcase %}{{ x }}{% assign x = x | append: x %}{{ x }}"),
        "AAA"
    );
    assert_eq!(
        r("{% assign flow = 'shadowed' %}{{ flow }}{{ flow.variables.count }}"),
        "shadowed"
    );
    assert_eq!(
        r("{% assign list = 'a,b' | split: ',' %}{{ list.size }}{{ list[1] }}"),
        "2b"
    );
    assert_eq!(refused("{% assign x %}"), "assign takes name = value");
    assert_eq!(refused("{% assign = 1 %}"), "assign takes name = value");
    assert_eq!(
        refused("{% assign x = a | nope %}"),
        "unknown filter \"nope\""
    );
}

#[test]
fn capture() {
    let t = "{% capture greeting %}Hi {{ widgets.http_1.parsed.name }}{% if true %}!{% endif %}{% endcapture %}[{{ greeting | upcase }}]";
    assert_eq!(r(t), "[HI ADA!]");
    assert_eq!(
        r("{% capture x %}{% endcapture %}[{{ x }}]{{ x.size }}"),
        "[]0"
    );
    assert_eq!(refused("{% capture x %}"), "unclosed {% endcapture %}");
}

#[test]
fn raw() {
    assert_eq!(
        r("{% raw %}{{ a | nope }}{% if %}{% endraw %}!"),
        "{{ a | nope }}{% if %}!"
    );
    assert_eq!(r("[{% raw %}{%- endraw -%}]"), "[]");
    assert_eq!(refused("{% raw %}{{ x }}"), "unclosed {% raw %}");
}

#[test]
fn comment() {
    assert_eq!(
        r("a{% comment %}{{ a | nope }}{% if %}{% endcomment %}b"),
        "ab"
    );
    assert_eq!(refused("{% comment %}x"), "unclosed {% comment %}");
}

#[test]
fn whitespace_control() {
    assert_eq!(r("a \n {%- if true -%} \n b \n {%- endif -%} \n c"), "abc");
    assert_eq!(r("a \n {{- 'b' }} \n {{ 'c' -}} \n d"), "ab \n cd");
}

#[test]
fn unknown_tags_are_refused() {
    for tag in [
        "include 'x'",
        "render 'x'",
        "cycle 1, 2",
        "increment x",
        "echo x",
        "tablerow x in y",
    ] {
        let name = tag.split(' ').next().unwrap();
        assert_eq!(
            refused(&format!("{{% {tag} %}}")),
            format!("unknown tag \"{name}\"")
        );
    }
    assert_eq!(refused("{% endif %}"), "unknown tag \"endif\"");
    assert_eq!(refused("{{ x "), "unclosed {{");
    assert_eq!(refused("{% x "), "unclosed {%");
}

#[test]
fn nesting_is_bounded() {
    let nested = |n: usize| "{% if true %}".repeat(n) + "x" + &"{% endif %}".repeat(n);
    assert_eq!(r(&nested(64)), "x");
    assert_eq!(refused(&nested(65)), "tags nested too deep");
}

#[test]
fn output_is_cut_at_64_kib() {
    // 15 × 15 × 15 × 100 bytes would be 337,500: the output stops at 64 KiB.
    let hundred = "x".repeat(100);
    let t = format!("{{% for a in (1..15) %}}{{% for b in (1..15) %}}{{% for c in (1..15) %}}{hundred}{{% endfor %}}{{% endfor %}}{{% endfor %}}");
    assert_eq!(r(&t).len(), 64 * 1024);
    let wide = "é".repeat(50);
    let t = format!("x{{% for a in (1..15) %}}{{% for b in (1..15) %}}{{% for c in (1..15) %}}{wide}{{% endfor %}}{{% endfor %}}{{% endfor %}}");
    let out = r(&t);
    assert!(
        out.len() <= 64 * 1024 && out.len() > 64 * 1024 - 2,
        "{}",
        out.len()
    );
}

#[test]
fn a_template_that_does_not_parse_renders_as_written() {
    let scope = json!({});
    assert_eq!(
        render("{{ a | nope }} {% if %}", &scope),
        "{{ a | nope }} {% if %}"
    );
    assert_eq!(render("{{ 'ok' }}", &scope), "ok");
}
