//! TXT values as Route 53 holds them: one or more quoted character-strings
//! (`"v=spf1 include:amazonses.com ~all"`, `"part one" "part two"`), each at most
//! 255 bytes, with `\"` and `\\` escaped. A value's meaning is its strings joined:
//! SPF receivers join them (RFC 7208 §3.3), and DMARC records are read the same way.

/// The longest character-string a TXT record may hold (RFC 1035 §3.3).
pub const MAX_STRING_BYTES: usize = 255;

/// The text a TXT value carries: its character-strings joined. Unquoted text (as
/// some tools write it) is taken as it is.
pub fn text_of(value: &str) -> String {
    let value = value.trim();
    if !value.starts_with('"') {
        return value.to_owned();
    }
    let mut text = String::new();
    let mut chars = value.chars();
    let mut inside = false;
    while let Some(c) = chars.next() {
        match (inside, c) {
            (false, '"') => inside = true,
            (false, _) => {}
            (true, '"') => inside = false,
            (true, '\\') => {
                if let Some(next) = chars.next() {
                    text.push(next);
                }
            }
            (true, other) => text.push(other),
        }
    }
    text
}

/// `text` as one TXT value, in strings of at most 255 bytes, each quoted and
/// escaped. The records this function writes are ASCII, so a split never falls
/// inside a character.
pub fn value_of(text: &str) -> String {
    let escaped = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return "\"\"".to_owned();
    }
    bytes
        .chunks(MAX_STRING_BYTES)
        .map(|chunk| format!("\"{}\"", escaped(&String::from_utf8_lossy(chunk))))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `text` starts with the version tag `tag` (`v=spf1`, `v=DMARC1`), as its
/// RFC reads it: the tag, then the end or a separator.
pub fn has_version(text: &str, tag: &str, separators: &[char]) -> bool {
    let text = text.trim_start();
    let Some(head) = text.get(..tag.len()) else {
        return false;
    };
    head.eq_ignore_ascii_case(tag)
        && text[tag.len()..]
            .chars()
            .next()
            .is_none_or(|c| separators.contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strings_of_a_value_are_joined_and_unescaped() {
        assert_eq!(text_of("\"v=spf1 ~all\""), "v=spf1 ~all");
        assert_eq!(text_of("\"v=DMARC1; \" \"p=none\""), "v=DMARC1; p=none");
        assert_eq!(text_of(r#""say \"hi\" \\ there""#), r#"say "hi" \ there"#);
        assert_eq!(text_of("unquoted text"), "unquoted text");
    }

    #[test]
    fn a_long_text_is_split_into_strings_of_255_bytes_and_reads_back() {
        let text = "x".repeat(600);
        let value = value_of(&text);
        assert_eq!(value.matches('"').count(), 6, "three strings");
        assert_eq!(text_of(&value), text);
        assert_eq!(value_of("v=spf1 ~all"), "\"v=spf1 ~all\"");
        assert_eq!(text_of(&value_of(r#"a "b" \c"#)), r#"a "b" \c"#);
    }

    #[test]
    fn a_version_tag_counts_only_when_it_ends_where_the_rfc_says() {
        assert!(has_version(
            "v=spf1 include:amazonses.com ~all",
            "v=spf1",
            &[' ']
        ));
        assert!(has_version("V=SPF1", "v=spf1", &[' ']));
        assert!(!has_version("v=spf10 ~all", "v=spf1", &[' ']));
        assert!(!has_version(
            "google-site-verification=abc",
            "v=spf1",
            &[' ']
        ));
        assert!(has_version("v=DMARC1; p=none", "v=DMARC1", &[';', ' ']));
        assert!(has_version("v=DMARC1;p=none", "v=DMARC1", &[';', ' ']));
        assert!(!has_version("v=DMARC", "v=DMARC1", &[';', ' ']));
    }
}
