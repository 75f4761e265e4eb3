//! Rendering answers: markdown styled with ANSI on a terminal, left as plain markdown when piped.

use std::io::IsTerminal;

/// Whether stdout gets colours: a terminal, and `NO_COLOR` unset.
pub fn stdout_styled() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Whether stderr gets colours: a terminal, and `NO_COLOR` unset.
pub fn stderr_styled() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const CYAN: &str = "\x1b[36m";
const UNDERLINE_BOLD: &str = "\x1b[1;4m";
const RESET: &str = "\x1b[0m";

/// Renders markdown for a terminal when `styled`, else returns it unchanged.
pub fn markdown(text: &str, styled: bool) -> String {
    if !styled {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 64);
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            out.push_str(&format!("  {DIM}{line}{RESET}\n"));
            continue;
        }
        let trimmed = line.trim_start();
        if let Some(h) = trimmed.strip_prefix('#') {
            let h = h.trim_start_matches('#').trim();
            out.push_str(&format!("{UNDERLINE_BOLD}{}{RESET}\n", inline(h)));
        } else if let Some(item) = trimmed.strip_prefix("- ") {
            let indent = &line[..line.len() - trimmed.len()];
            out.push_str(&format!("{indent}  • {}\n", inline(item)));
        } else {
            out.push_str(&inline(line));
            out.push('\n');
        }
    }
    out
}

/// Styles `**bold**` and `` `code` `` spans.
fn inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut rest = s;
    loop {
        let bold = rest.find("**");
        let code = rest.find('`');
        match (bold, code) {
            (Some(b), c) if c.is_none_or(|c| b < c) => {
                let after = &rest[b + 2..];
                if let Some(end) = after.find("**") {
                    out.push_str(&rest[..b]);
                    out.push_str(&format!("{BOLD}{}{RESET}", &after[..end]));
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
                    out.push_str(&format!("{CYAN}{}{RESET}", &after[..end]));
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

    #[test]
    fn plain_is_unchanged_and_styled_has_no_markers() {
        let md =
            "## deployment shop/backend\n\n**Cause:** crash\n- `KeyError: 'X'`\n```\nline\n```\n";
        assert_eq!(markdown(md, false), md);
        let s = markdown(md, true);
        assert!(
            !s.contains("**") && !s.contains('`') && !s.contains("##"),
            "{s}"
        );
        assert!(s.contains("KeyError: 'X'") && s.contains("• ") && s.contains("  \x1b[2mline"));
    }

    #[test]
    fn unbalanced_markers_are_kept() {
        assert_eq!(inline("a ** b"), "a ** b");
        assert_eq!(inline("a ` b"), "a ` b");
    }
}
