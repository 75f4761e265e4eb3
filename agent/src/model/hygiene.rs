//! Cleans a model's text before anyone sees it: chat-template control tokens that leak from a
//! server (`<|im_start|>user`, `<end_of_turn>`, `</s>`) and HTML entities (`&#39;`, `&amp;`).
//!
//! Text arrives in pieces, and a token or an entity may be split across them, so the filter
//! holds back a short unfinished tail until the next piece decides it. A token that ends or
//! starts a turn ends the answer: what follows is the model writing the user's next turn.

/// Longest control token or entity held back while it is unfinished.
const HOLD: usize = 32;

/// Tokens that end the model's turn (or start another): the text stops there.
const TURN_BOUNDARIES: &[&str] = &[
    "<|im_end|>",
    "<|im_start|>",
    "<|eot_id|>",
    "<|end|>",
    "<|endoftext|>",
    "<|start_header_id|>",
    "<|user|>",
    "<|system|>",
    "<end_of_turn>",
    "<start_of_turn>",
    "</s>",
    "<eos>",
    "[/INST]",
    "[INST]",
];

/// Tokens dropped wherever they appear.
const DROPPED: &[&str] = &[
    "<|assistant|>",
    "<|end_header_id|>",
    "<|begin_of_text|>",
    "<s>",
    "<bos>",
    "<|eom_id|>",
];

/// A streaming filter over a model's text.
#[derive(Debug, Default)]
pub struct TextFilter {
    pending: String,
    /// Some text was let through: a turn marker now ends the answer.
    started: bool,
    ended: bool,
}

impl TextFilter {
    /// Feeds a piece of text; returns what can be shown now.
    pub fn push(&mut self, piece: &str) -> String {
        if self.ended {
            return String::new();
        }
        self.pending.push_str(piece);
        let keep = self.unfinished_tail();
        let ready: String = self.pending[..keep].to_string();
        self.pending.drain(..keep);
        self.clean(&ready)
    }

    /// Whether a turn boundary was seen: nothing after it is shown.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Ends the text: returns what was held back, cleaned.
    pub fn finish(&mut self) -> String {
        let rest = std::mem::take(&mut self.pending);
        if self.ended {
            return String::new();
        }
        self.clean(&rest)
    }

    /// Where an unfinished token or entity starts at the end of the pending text (its length
    /// when there is none).
    fn unfinished_tail(&self) -> usize {
        let p = &self.pending;
        let start = p.len().saturating_sub(HOLD);
        for (i, c) in p.char_indices().filter(|(i, _)| *i >= start) {
            let tail = &p[i..];
            let closes = match c {
                '<' => tail.contains('>'),
                '[' => tail.contains(']'),
                '&' => tail.contains(';') || tail.contains(char::is_whitespace),
                _ => continue,
            };
            if !closes {
                return i;
            }
        }
        p.len()
    }

    fn clean(&mut self, text: &str) -> String {
        let mut text = text.to_string();
        while let Some((pos, token)) = TURN_BOUNDARIES
            .iter()
            .filter_map(|t| text.find(t).map(|p| (p, *t)))
            .min_by_key(|(p, _)| *p)
        {
            if self.started || !text[..pos].trim().is_empty() {
                text.truncate(pos);
                self.ended = true;
                self.pending.clear();
                break;
            }
            // A marker before any text (`<|im_start|>assistant`): drop it with its role.
            let mut rest = &text[pos + token.len()..];
            for role in ["assistant", "model"] {
                if let Some(r) = rest.strip_prefix(role) {
                    rest = r;
                    break;
                }
            }
            text = format!("{}{}", &text[..pos], rest.trim_start());
        }
        for t in DROPPED {
            text = text.replace(t, "");
        }
        let out = decode_entities(&text);
        self.started |= !out.trim().is_empty();
        out
    }
}

/// Cleans a whole text at once.
pub fn clean_text(text: &str) -> String {
    let mut f = TextFilter::default();
    let mut out = f.push(text);
    out.push_str(&f.finish());
    out
}

/// Decodes the HTML entities servers produce when they escape text: the five XML ones,
/// `&nbsp;` and numeric references. Anything else is left as it is.
fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp..];
        let decoded = after
            .find(';')
            .filter(|&end| end <= 10)
            .and_then(|end| entity(&after[1..end]).map(|c| (c, end)));
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_end_the_answer_and_entities_decode_even_when_split() {
        let mut f = TextFilter::default();
        let mut out = String::new();
        for piece in [
            "It&#3",
            "9;s the DB &am",
            "p; cache. <|im",
            "_end|><|im_start|>user\nthanks",
        ] {
            out.push_str(&f.push(piece));
        }
        out.push_str(&f.finish());
        assert_eq!(out, "It's the DB & cache. ");
        assert_eq!(
            clean_text("<s>a &lt;b&gt; [x] c<end_of_turn>\n<start_of_turn>user"),
            "a <b> [x] c"
        );
        assert_eq!(clean_text("R&D & ops; x&y"), "R&D & ops; x&y");
        assert_eq!(clean_text("list [INST] ignore"), "list ");
        assert_eq!(
            clean_text("<|im_start|>assistant\nHello<|im_end|>\n<|im_start|>user"),
            "Hello"
        );
    }
}
