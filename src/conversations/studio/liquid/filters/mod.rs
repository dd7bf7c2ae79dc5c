//! The filters, by family. A filter's name is resolved to a [`Filter`] when the template is
//! parsed ([`NAMES`] is the one place a name is written), so an unknown one is refused
//! then, and rendering only dispatches on the variant.

mod args;
mod array;
mod date;
mod math;
mod misc;
mod string;
mod url;

use serde_json::Value;

use args::arg;
use array::List;
use math::{Arithmetic, Rounding};
use string::Text;
use url::Url;

/// A known filter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Filter {
    Text(Text),
    Url(Url),
    Arithmetic(Arithmetic),
    Rounding(Rounding),
    List(List),
    Default,
    Json,
    Date,
}

/// Every filter by its Liquid name.
const NAMES: &[(&str, Filter)] = &[
    ("upcase", Filter::Text(Text::Upcase)),
    ("downcase", Filter::Text(Text::Downcase)),
    ("capitalize", Filter::Text(Text::Capitalize)),
    ("strip", Filter::Text(Text::Strip)),
    ("lstrip", Filter::Text(Text::Lstrip)),
    ("rstrip", Filter::Text(Text::Rstrip)),
    ("strip_newlines", Filter::Text(Text::StripNewlines)),
    ("newline_to_br", Filter::Text(Text::NewlineToBr)),
    ("escape", Filter::Text(Text::Escape)),
    ("url_encode", Filter::Url(Url::Encode)),
    ("url_decode", Filter::Url(Url::Decode)),
    ("append", Filter::Text(Text::Append)),
    ("prepend", Filter::Text(Text::Prepend)),
    ("replace", Filter::Text(Text::Replace)),
    ("replace_first", Filter::Text(Text::ReplaceFirst)),
    ("remove", Filter::Text(Text::Remove)),
    ("remove_first", Filter::Text(Text::RemoveFirst)),
    ("truncate", Filter::Text(Text::Truncate)),
    ("truncatewords", Filter::Text(Text::Truncatewords)),
    ("split", Filter::Text(Text::Split)),
    ("join", Filter::List(List::Join)),
    ("first", Filter::List(List::First)),
    ("last", Filter::List(List::Last)),
    ("size", Filter::List(List::Size)),
    ("default", Filter::Default),
    ("plus", Filter::Arithmetic(Arithmetic::Plus)),
    ("minus", Filter::Arithmetic(Arithmetic::Minus)),
    ("times", Filter::Arithmetic(Arithmetic::Times)),
    ("divided_by", Filter::Arithmetic(Arithmetic::DividedBy)),
    ("modulo", Filter::Arithmetic(Arithmetic::Modulo)),
    ("abs", Filter::Rounding(Rounding::Abs)),
    ("ceil", Filter::Rounding(Rounding::Ceil)),
    ("floor", Filter::Rounding(Rounding::Floor)),
    ("round", Filter::Rounding(Rounding::Round)),
    ("at_least", Filter::Arithmetic(Arithmetic::AtLeast)),
    ("at_most", Filter::Arithmetic(Arithmetic::AtMost)),
    ("slice", Filter::List(List::Slice)),
    ("reverse", Filter::List(List::Reverse)),
    ("sort", Filter::List(List::Sort)),
    ("uniq", Filter::List(List::Uniq)),
    ("compact", Filter::List(List::Compact)),
    ("map", Filter::List(List::Map)),
    ("where", Filter::List(List::Where)),
    ("json", Filter::Json),
    ("date", Filter::Date),
];

impl Filter {
    /// The filter called `name` (Liquid's names are case-sensitive).
    pub(super) fn parse(name: &str) -> Option<Filter> {
        NAMES.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
    }

    /// The filter over `value`; a filter never fails (a wrong type gives nil or the value).
    /// `now` (Unix seconds) is what `date` makes of `"now"` and `"today"`.
    pub(super) fn apply(self, value: Value, args: &[Value], now: Option<u64>) -> Value {
        match self {
            Filter::Text(f) => string::apply(f, &value, args),
            Filter::Url(f) => url::apply(f, &value),
            Filter::Arithmetic(f) => math::arithmetic(f, &value, args),
            Filter::Rounding(f) => math::rounding(f, &value, args),
            Filter::List(f) => array::apply(f, value, args),
            Filter::Default => misc::default(value, args),
            Filter::Json => misc::json(&value),
            Filter::Date => date::date(&value, &arg(args, 0), now),
        }
    }
}

#[cfg(test)]
mod tests;
