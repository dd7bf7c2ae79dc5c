//! Phone numbers as the log shows them: enough to tell conversations apart, not enough to
//! identify anyone. A room of its own at the bottom, because every room that logs (the
//! webhook, the objects, the Messages API, the survey) masks.

/// Keeps the country code's first digits and the last two: enough to tell
/// conversations apart in a log, not enough to identify anyone.
pub fn mask_number(number: &str) -> String {
    // One string, sliced at char boundaries: every log line masks its sender.
    let count = number.chars().count();
    let mut masked = String::with_capacity(number.len());
    if count <= 6 {
        masked.extend(std::iter::repeat_n('*', count));
        return masked;
    }
    let head = number.char_indices().nth(3).map_or(0, |(i, _)| i);
    let tail = number.char_indices().nth_back(1).map_or(0, |(i, _)| i);
    masked.push_str(&number[..head]);
    masked.extend(std::iter::repeat_n('*', count - 5));
    masked.push_str(&number[tail..]);
    masked
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
                mask_into(&mut out, text, copied, i..end);
                (copied, i) = (end, end);
            }
            None => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Copies what came before the number since `copied`, then the number masked: one found
/// number's share of [`mask_numbers`]'s output.
fn mask_into(out: &mut String, text: &str, copied: usize, number: std::ops::Range<usize>) {
    out.push_str(&text[copied..number.start]);
    out.push_str(&mask_number(&text[number]));
}

/// Where the number that starts at `start` ends, when one does (see [`mask_numbers`]). Only
/// ASCII bytes start or end one, so both ends are character boundaries.
fn number_at(bytes: &[u8], start: usize) -> Option<usize> {
    // Not in the middle of a word or a sum ("1+1", "SM123…").
    if start > 0 && bytes[start - 1].is_ascii_alphanumeric() {
        return None;
    }
    let at = after_whatsapp(bytes, start);
    match first_digit_after_plus(bytes, at) {
        Some(first) => international_end(bytes, first),
        None => long_run_end(bytes, at),
    }
}

/// Whether `prefix` is at `at`, ignoring case: the number's prefixes are ASCII.
fn has(bytes: &[u8], at: usize, prefix: &[u8]) -> bool {
    bytes
        .get(at..at + prefix.len())
        .is_some_and(|b| b.eq_ignore_ascii_case(prefix))
}

/// Whether a digit is at `i`: numbers are made of them.
fn digit(bytes: &[u8], i: usize) -> bool {
    bytes.get(i).is_some_and(u8::is_ascii_digit)
}

/// Where the number proper starts: after a `whatsapp:`, which is masked with it.
fn after_whatsapp(bytes: &[u8], start: usize) -> usize {
    if has(bytes, start, b"whatsapp:") {
        start + 9
    } else {
        start
    }
}

/// The first digit after a `+` (or `%2B`) at `at`, when one follows it: an international
/// number, separators allowed.
fn first_digit_after_plus(bytes: &[u8], at: usize) -> Option<usize> {
    let plus = if has(bytes, at, b"+") {
        Some(at + 1)
    } else if has(bytes, at, b"%2B") {
        Some(at + 3)
    } else {
        None
    };
    plus.filter(|&first| digit(bytes, first))
}

/// Where an international number's digits end: digits, with one or two separators between
/// two of them ("555) 123"). None for one masked already, left as it is.
fn international_end(bytes: &[u8], first: usize) -> Option<usize> {
    let (mut i, mut end) = (first, first);
    loop {
        if digit(bytes, i) {
            i += 1;
            end = i;
            continue;
        }
        let separators = separators_at(bytes, i);
        if separators == 0 || !digit(bytes, i + separators) {
            // Masked already (mask_number's "+14*******00"): left as it is.
            return (bytes.get(i + separators) != Some(&b'*')).then_some(end);
        }
        i += separators;
    }
}

/// How many separators (at most two: spaces, dashes, dots, brackets) are at `i`: what may
/// stand between two digits of a number.
fn separators_at(bytes: &[u8], i: usize) -> usize {
    bytes[i..]
        .iter()
        .take(2)
        .take_while(|b| matches!(b, b' ' | b'-' | b'.' | b'(' | b')'))
        .count()
}

/// Where a run of 7 digits or more that starts at `at` ends: a number without its `+`.
fn long_run_end(bytes: &[u8], at: usize) -> Option<usize> {
    let run = bytes[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    (run >= 7).then_some(at + run)
}

#[cfg(test)]
mod tests;
