use super::*;

#[test]
fn every_markup_character_is_escaped_and_the_rest_kept() {
    let xml = render(&Reply::text("<b>\"quotes\" & 'apostrophes'</b> 👋"));
    assert!(xml.contains("<Message>&lt;b&gt;\"quotes\" &amp; 'apostrophes'&lt;/b&gt; 👋</Message>"));
}

#[test]
fn several_messages_become_several_elements() {
    let reply = Reply::text("one").then("two");
    assert!(render(&reply)
        .ends_with("<Response><Message>one</Message><Message>two</Message></Response>"));
}

#[test]
fn media_only_messages_have_no_body() {
    let xml = render(
        &Reply::none()
            .with_media("https://a/1")
            .with_media("https://a/2"),
    );
    assert!(xml.ends_with(
        "<Response><Message><Media>https://a/1</Media><Media>https://a/2</Media></Message></Response>"
    ));
}

#[test]
fn characters_xml_cannot_hold_are_dropped() {
    let xml = render(&Reply::text("a\0b\u{1b}c\td\ne\u{FFFE}f"));
    assert!(xml.contains("<Message>abc\td\nef</Message>"), "{xml}");
}

#[test]
fn the_declaration_comes_first() {
    assert!(render(&Reply::text("x")).starts_with("<?xml"));
}
