//! Phone numbers as the log shows them: enough to tell conversations apart, not enough to
//! identify anyone. A room of its own at the bottom, because every room that logs (the
//! webhook, the objects, the Messages API, the survey) masks.

/// Keeps the country code's first digits and the last two: enough to tell
/// conversations apart in a log, not enough to identify anyone.
pub fn mask_number(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 6 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 5))
}

/// [`mask_number`] over every number in `text`: Twilio's error texts (21211: "The 'To'
/// number +15551234567 is not a valid phone number.") and fetch's can hold a whole number,
/// and they are logged. A number is a `+` (or `%2B`) and digits, with one or two spaces,
/// dashes, dots or brackets between two of them, or 7 digits or more in a row; a `whatsapp:` before it is masked
/// with it. Shorter runs (error codes, statuses) stay readable; a longer one that is no
/// number (a Unix time) is masked too, to be safe. A masked number stays as it is, so
/// masking twice changes nothing.
pub fn mask_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < text.len() {
        match number_at(text.as_bytes(), i) {
            Some(end) => {
                out.push_str(&text[copied..i]);
                out.push_str(&mask_number(&text[i..end]));
                copied = end;
                i = end;
            }
            None => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Where the number that starts at `start` ends, when one does (see [`mask_numbers`]). Only
/// ASCII bytes start or end one, so both ends are character boundaries.
fn number_at(bytes: &[u8], start: usize) -> Option<usize> {
    let has = |at: usize, prefix: &[u8]| {
        bytes
            .get(at..at + prefix.len())
            .is_some_and(|b| b.eq_ignore_ascii_case(prefix))
    };
    let digit = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    // Not in the middle of a word or a sum ("1+1", "SM123…").
    if start > 0 && bytes[start - 1].is_ascii_alphanumeric() {
        return None;
    }
    let at = if has(start, b"whatsapp:") {
        start + 9
    } else {
        start
    };
    let plus = if has(at, b"+") {
        Some(at + 1)
    } else if has(at, b"%2B") {
        Some(at + 3)
    } else {
        None
    };
    if let Some(first) = plus.filter(|&first| digit(first)) {
        // Digits, with one or two separators between two of them ("555) 123").
        let (mut i, mut end) = (first, first);
        loop {
            if digit(i) {
                i += 1;
                end = i;
                continue;
            }
            let separators = bytes[i..]
                .iter()
                .take(2)
                .take_while(|b| matches!(b, b' ' | b'-' | b'.' | b'(' | b')'))
                .count();
            if separators == 0 || !digit(i + separators) {
                // Masked already (mask_number's "+14*******00"): left as it is.
                return (bytes.get(i + separators) != Some(&b'*')).then_some(end);
            }
            i += separators;
        }
    }
    let run = bytes[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    (run >= 7).then_some(at + run)
}

#[cfg(test)]
mod tests;
