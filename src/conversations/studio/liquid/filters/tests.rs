//! The name table itself; each filter's behaviour is tested in `liquid/tests/filters.rs`.

use super::*;

#[test]
fn every_name_is_one_filter() {
    for (i, (name, filter)) in NAMES.iter().enumerate() {
        assert_eq!(Filter::parse(name), Some(*filter), "{name}");
        let twins = NAMES.iter().filter(|(_, f)| f == filter).count();
        assert_eq!(twins, 1, "{name} shares its variant");
        assert!(!NAMES[..i].iter().any(|(n, _)| n == name), "{name} twice");
    }
    assert_eq!(NAMES.len(), 45);
    assert_eq!(Filter::parse("Upcase"), None);
    assert_eq!(Filter::parse(""), None);
}
