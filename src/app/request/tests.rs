use super::*;

fn with_authorization(authorization: &str) -> HttpRequest<'_> {
    HttpRequest {
        authorization: Some(authorization),
        ..Default::default()
    }
}

#[test]
fn the_bearer_scheme_is_read_in_any_case_and_nothing_else_passes() {
    let key = "k".repeat(32);
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let header = format!("{scheme} {key}");
        assert!(bearer_is(&with_authorization(&header), &key), "{header}");
    }
    let header = format!("  Bearer   {key}  ");
    assert!(
        bearer_is(&with_authorization(&header), &key),
        "spaces around"
    );
    for header in [
        format!("Basic {key}"),
        format!("Bearer{key}"),
        key.clone(),
        format!("Bearer {key}x"),
        "Bearer ".to_string(),
        String::new(),
    ] {
        assert!(!bearer_is(&with_authorization(&header), &key), "{header:?}");
    }
    assert!(!bearer_is(&HttpRequest::default(), &key), "no header");
}
