use super::*;

#[test]
fn templates_keep_stray_braces_and_reject_unknown_placeholders() {
    let v = Values {
        name: "N",
        count: 7,
        from: "F",
        to: "T",
    };
    let t = Template::parse("{ {} }{count}{ :-{) {from}{to}{").unwrap();
    assert_eq!(t.render(&v), "{ {} }7{ :-{) FT{");
    assert!(Template::parse("{Count}").is_err());
    assert_eq!(Template::parse("").unwrap().render(&v), "");
    assert_eq!(Template::parse("é{name}ü").unwrap().render(&v), "éNü");
}
