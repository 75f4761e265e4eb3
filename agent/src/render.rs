//! Rendering answers: markdown styled with ANSI and wrapped to the width of a terminal, plain
//! text without markdown markers when piped (stable for scripts and `grep`).

use std::io::IsTerminal;

/// Whether stdout gets colours: a terminal, and `NO_COLOR` unset.
pub fn stdout_styled() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Whether stderr gets colours: a terminal, and `NO_COLOR` unset.
pub fn stderr_styled() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Width to wrap stdout at: the terminal's columns, None when stdout is not a terminal.
pub fn stdout_width() -> Option<usize> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    terminal_size::terminal_size_of(std::io::stdout())
        .map(|(w, _)| usize::from(w.0))
        .filter(|w| *w >= 20)
}

/// Writes `text` and a newline to stdout; a reader that went away (`| head`) is not an error.
pub fn print_line(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out
        .write_all(text.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
}

const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const CYAN: &str = "\x1b[36m";
const UNDERLINE_BOLD: &str = "\x1b[1;4m";
const RESET: &str = "\x1b[0m";

/// Renders markdown for stdout: styled when `styled`, plain text otherwise; prose is wrapped
/// at word boundaries when stdout is a terminal (with or without colours).
pub fn markdown(text: &str, styled: bool) -> String {
    markdown_at(text, styled, stdout_width())
}

/// Renders markdown, styled with ANSI or plain (no `**`, backticks, `#` or fences), wrapping
/// prose at `width` columns when given. Code blocks are never wrapped (they hold tables).
pub fn markdown_at(text: &str, styled: bool, width: Option<usize>) -> String {
    let paint = |code: &str, s: &str| {
        if styled {
            format!("{code}{s}{RESET}")
        } else {
            s.to_string()
        }
    };
    let mut out = String::with_capacity(text.len() + 64);
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            out.push_str(&if styled {
                format!("  {DIM}{line}{RESET}")
            } else {
                line.to_string()
            });
            out.push('\n');
            continue;
        }
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let (first, rest, body) = if let Some(h) = trimmed.strip_prefix('#') {
            let h = h.trim_start_matches('#').trim();
            (
                String::new(),
                String::new(),
                paint(UNDERLINE_BOLD, &inline(h, styled)),
            )
        } else if let Some(item) = trimmed.strip_prefix("- ") {
            let bullet = if styled { "  • " } else { "- " };
            (
                format!("{indent}{bullet}"),
                " ".repeat(indent.chars().count() + bullet.chars().count()),
                inline(item, styled),
            )
        } else {
            (
                indent.to_string(),
                indent.to_string(),
                inline(trimmed, styled),
            )
        };
        for l in wrap(&body, &first, &rest, width) {
            out.push_str(&l);
            out.push('\n');
        }
    }
    out
}

/// Wraps `body` after a first-line prefix and a continuation prefix, at word boundaries, so
/// that no line (counted without ANSI codes) exceeds `width`; a word longer than a line
/// gets a line of its own.
fn wrap(body: &str, first: &str, rest: &str, width: Option<usize>) -> Vec<String> {
    let Some(width) = width else {
        return vec![format!("{first}{body}")];
    };
    let mut lines = Vec::new();
    let mut cur = first.to_string();
    let mut cur_len = visible_len(first);
    let mut empty = true;
    for word in body.split(' ').filter(|w| !w.is_empty()) {
        let wl = visible_len(word);
        if !empty && cur_len + 1 + wl > width {
            lines.push(std::mem::replace(&mut cur, rest.to_string()));
            cur_len = visible_len(rest);
            empty = true;
        }
        if !empty {
            cur.push(' ');
            cur_len += 1;
        }
        cur.push_str(word);
        cur_len += wl;
        empty = false;
    }
    lines.push(cur);
    lines
}

/// Characters a terminal shows for `s`: ANSI escape sequences count zero.
fn visible_len(s: &str) -> usize {
    let mut n = 0;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for e in chars.by_ref() {
                if e.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            n += 1;
        }
    }
    n
}

/// Styles (or, plain, removes the markers of) balanced `**bold**` and `` `code` `` spans.
fn inline(s: &str, styled: bool) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut rest = s;
    let span = |code: &str, t: &str| {
        if styled {
            format!("{code}{t}{RESET}")
        } else {
            t.to_string()
        }
    };
    loop {
        let bold = rest.find("**");
        let code = rest.find('`');
        match (bold, code) {
            (Some(b), c) if c.is_none_or(|c| b < c) => {
                let after = &rest[b + 2..];
                // `****` is a masked secret, not an empty bold span: shown as it is.
                if let Some(tail) = after.strip_prefix("**") {
                    out.push_str(&rest[..b + 4]);
                    rest = tail;
                } else if let Some(end) = after.find("**") {
                    out.push_str(&rest[..b]);
                    out.push_str(&span(BOLD, &after[..end]));
                    rest = &after[end + 2..];
                } else {
                    out.push_str(rest);
                    break;
                }
            }
            (_, Some(c)) => {
                let after = &rest[c + 1..];
                if let Some(end) = after.find('`') {
                    out.push_str(&rest[..c]);
                    out.push_str(&span(CYAN, &after[..end]));
                    rest = &after[end + 1..];
                } else {
                    out.push_str(rest);
                    break;
                }
            }
            _ => {
                out.push_str(rest);
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MD: &str = "## deployment shop/backend\n\n**Cause:** crash\n- `KeyError: 'X'`\n```\nNAME  READY\n```\n";

    #[test]
    fn plain_has_no_markers_and_keeps_the_words() {
        let p = markdown_at(MD, false, None);
        assert_eq!(
            p,
            "deployment shop/backend\n\nCause: crash\n- KeyError: 'X'\nNAME  READY\n"
        );
    }

    #[test]
    fn a_masked_value_shows_as_masked() {
        let p = markdown_at("Last line: api_key=\"****\" and **bold**", false, None);
        assert_eq!(p, "Last line: api_key=\"****\" and bold\n");
    }

    #[test]
    fn styled_has_no_markers() {
        let s = markdown_at(MD, true, None);
        assert!(
            !s.contains("**") && !s.contains('`') && !s.contains("##"),
            "{s}"
        );
        assert!(s.contains("KeyError: 'X'") && s.contains("• ") && s.contains("  \x1b[2mNAME"));
    }

    #[test]
    fn long_lines_wrap_at_words_within_the_width() {
        let text = "- one two three four five six seven eight nine ten eleven twelve";
        let s = markdown_at(text, true, Some(24));
        for l in s.lines() {
            assert!(visible_len(l) <= 24, "{l:?}");
        }
        let words: Vec<&str> = s.split_whitespace().filter(|w| *w != "•").collect();
        assert_eq!(words.join(" "), text.trim_start_matches("- "));
        assert!(s.lines().nth(1).unwrap().starts_with("    "), "{s}");
    }

    #[test]
    fn unbalanced_markers_are_kept() {
        assert_eq!(inline("a ** b", true), "a ** b");
        assert_eq!(inline("a ` b", false), "a ` b");
    }
}
