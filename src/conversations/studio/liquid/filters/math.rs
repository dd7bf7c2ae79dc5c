//! The math filters. Numeric strings count as numbers; anything else makes the result nil.
//! Two integers give an integer (`7 | divided_by: 2` is 3), as in Liquid.

use serde_json::Value;

use super::super::value::{as_number, integer_like, number_value};

/// A filter of the input and one number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Arithmetic {
    Plus,
    Minus,
    Times,
    DividedBy,
    Modulo,
    AtLeast,
    AtMost,
}

/// A filter of the input alone (`round` takes its places too).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Rounding {
    Abs,
    Ceil,
    Floor,
    Round,
}

pub(super) fn arithmetic(f: Arithmetic, value: &Value, args: &[Value]) -> Value {
    let operand = args.first();
    let (Some(a), Some(b)) = (as_number(value), operand.and_then(as_number)) else {
        return Value::Null;
    };
    let integers = integer_like(value) && operand.is_some_and(integer_like);
    match combine(f, a, b, integers) {
        Some(result) => number_value(result, integers),
        None => Value::Null,
    }
}

/// `a` and `b` combined; none for a division by zero.
fn combine(f: Arithmetic, a: f64, b: f64, integers: bool) -> Option<f64> {
    Some(match f {
        Arithmetic::Plus => a + b,
        Arithmetic::Minus => a - b,
        Arithmetic::Times => a * b,
        Arithmetic::DividedBy | Arithmetic::Modulo if b == 0.0 => return None,
        Arithmetic::DividedBy if integers => (a / b).floor(),
        Arithmetic::DividedBy => a / b,
        Arithmetic::Modulo => a % b,
        Arithmetic::AtLeast => a.max(b),
        Arithmetic::AtMost => a.min(b),
    })
}

pub(super) fn rounding(f: Rounding, value: &Value, args: &[Value]) -> Value {
    let Some(a) = as_number(value) else {
        return Value::Null;
    };
    match f {
        Rounding::Abs => number_value(a.abs(), integer_like(value)),
        Rounding::Ceil => number_value(a.ceil(), true),
        Rounding::Floor => number_value(a.floor(), true),
        Rounding::Round => round(a, args.first()),
    }
}

/// `a` rounded to `places` decimals (0 to 10; 0 gives an integer).
fn round(a: f64, places: Option<&Value>) -> Value {
    let places = places.and_then(as_number).unwrap_or(0.0).clamp(0.0, 10.0) as i32;
    let factor = 10f64.powi(places);
    number_value((a * factor).round() / factor, places == 0)
}
