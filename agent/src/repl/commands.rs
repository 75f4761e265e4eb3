//! Parsing one REPL line into a slash command or a question (a pure function, tested alone).

/// The approval mode a `/mode` command asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeArg {
    /// Refuse every change.
    ReadOnly,
    /// Ask before every change.
    Confirm,
    /// Change without asking (rules still apply).
    Auto,
}

/// A slash command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlashCommand {
    /// `/help`.
    Help,
    /// `/context [NAME]`: list contexts, or switch.
    Context(Option<String>),
    /// `/namespace [NS]`: show, or switch.
    Namespace(Option<String>),
    /// `/model [NAME]`: show, or switch.
    Model(Option<String>),
    /// `/offline`.
    Offline,
    /// `/online`.
    Online,
    /// `/mode [read-only|confirm|auto]`: show, or switch.
    Mode(Option<ModeArg>),
    /// `/tools`.
    Tools,
    /// `/health`.
    Health,
    /// `/clear`: forget the conversation.
    Clear,
    /// `/exit`.
    Exit,
}

/// What a line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// Nothing typed.
    Empty,
    /// A slash command.
    Command(SlashCommand),
    /// A question for kai.
    Question(String),
    /// A slash command that does not parse; the text says why and what exists.
    Invalid(String),
}

/// Every command with its one-line help, in `/help` order.
pub const COMMANDS: &[(&str, &str)] = &[
    ("/help", "this list"),
    ("/context [NAME]", "list kube contexts, or switch to NAME"),
    (
        "/namespace [NS]",
        "show the namespace, or switch to NS (also /ns)",
    ),
    ("/model [NAME]", "show the model, or switch to NAME"),
    (
        "/offline",
        "answer without a model (diagnosis engine and fixed queries)",
    ),
    ("/online", "use the configured model again"),
    (
        "/mode [read-only|confirm|auto]",
        "show or set how changes are approved",
    ),
    ("/tools", "the tools kai can use"),
    ("/health", "health summary of the current namespace"),
    ("/clear", "forget the conversation"),
    (
        "/exit",
        "leave (also Ctrl-D; help, exit, quit and clear work without the slash)",
    ),
];

/// Names of the commands, for completion.
pub fn command_names() -> impl Iterator<Item = &'static str> {
    COMMANDS
        .iter()
        .map(|(c, _)| c.split_whitespace().next().unwrap_or(c))
        .chain(["/ns", "/quit"])
}

/// Parses one line of input.
pub fn parse_line(line: &str) -> Line {
    let line = line.trim();
    if line.is_empty() {
        return Line::Empty;
    }
    let Some(rest) = line.strip_prefix('/') else {
        // The words people type to leave or get help work without the slash too; a sentence
        // that merely starts with them ("help me fix backend") is still a question.
        return match line.to_ascii_lowercase().trim_end_matches(['!', '.', '?']) {
            "help" => Line::Command(SlashCommand::Help),
            "exit" | "quit" | "bye" | ":q" => Line::Command(SlashCommand::Exit),
            "clear" => Line::Command(SlashCommand::Clear),
            _ => Line::Question(line.to_string()),
        };
    };
    let mut words = rest.split_whitespace();
    let name = words.next().unwrap_or("").to_ascii_lowercase();
    let arg = words.next().map(str::to_string);
    let extra = words.next().is_some();
    let no_arg = |c: SlashCommand| {
        if arg.is_some() {
            Line::Invalid(format!("/{name} takes no argument"))
        } else {
            Line::Command(c)
        }
    };
    if extra {
        return Line::Invalid(format!("/{name} takes at most one argument"));
    }
    match name.as_str() {
        "help" | "h" | "?" => no_arg(SlashCommand::Help),
        "context" | "ctx" => Line::Command(SlashCommand::Context(arg)),
        "namespace" | "ns" => Line::Command(SlashCommand::Namespace(arg)),
        "model" => Line::Command(SlashCommand::Model(arg)),
        "offline" => no_arg(SlashCommand::Offline),
        "online" => no_arg(SlashCommand::Online),
        "mode" => match arg.as_deref() {
            None => Line::Command(SlashCommand::Mode(None)),
            Some("read-only" | "readonly" | "ro") => {
                Line::Command(SlashCommand::Mode(Some(ModeArg::ReadOnly)))
            }
            Some("confirm") => Line::Command(SlashCommand::Mode(Some(ModeArg::Confirm))),
            Some("auto" | "yes") => Line::Command(SlashCommand::Mode(Some(ModeArg::Auto))),
            Some(other) => Line::Invalid(format!(
                "unknown mode \"{other}\": use /mode read-only, /mode confirm or /mode auto"
            )),
        },
        "tools" => no_arg(SlashCommand::Tools),
        "health" => no_arg(SlashCommand::Health),
        "clear" | "reset" => no_arg(SlashCommand::Clear),
        "exit" | "quit" | "q" => no_arg(SlashCommand::Exit),
        _ => {
            let known: Vec<&str> = COMMANDS
                .iter()
                .map(|(c, _)| c.split_whitespace().next().unwrap_or(c))
                .collect();
            Line::Invalid(format!(
                "unknown command /{name}; commands: {}",
                known.join(" ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_and_empty_lines() {
        assert_eq!(parse_line("   "), Line::Empty);
        assert_eq!(
            parse_line(" why is backend crashing "),
            Line::Question("why is backend crashing".into())
        );
    }

    #[test]
    fn commands_with_and_without_arguments() {
        assert_eq!(parse_line("/help"), Line::Command(SlashCommand::Help));
        assert_eq!(
            parse_line("/ns shop"),
            Line::Command(SlashCommand::Namespace(Some("shop".into())))
        );
        assert_eq!(
            parse_line("/namespace"),
            Line::Command(SlashCommand::Namespace(None))
        );
        assert_eq!(
            parse_line("/context kind-dev"),
            Line::Command(SlashCommand::Context(Some("kind-dev".into())))
        );
        assert_eq!(
            parse_line("/mode read-only"),
            Line::Command(SlashCommand::Mode(Some(ModeArg::ReadOnly)))
        );
        assert_eq!(
            parse_line("/MODE auto"),
            Line::Command(SlashCommand::Mode(Some(ModeArg::Auto)))
        );
        assert_eq!(parse_line("/exit"), Line::Command(SlashCommand::Exit));
        assert_eq!(parse_line("/quit"), Line::Command(SlashCommand::Exit));
        assert_eq!(parse_line("/offline"), Line::Command(SlashCommand::Offline));
        assert_eq!(parse_line("/clear"), Line::Command(SlashCommand::Clear));
    }

    #[test]
    fn help_exit_quit_clear_work_without_the_slash() {
        assert_eq!(parse_line("help"), Line::Command(SlashCommand::Help));
        assert_eq!(parse_line(" Help? "), Line::Command(SlashCommand::Help));
        assert_eq!(parse_line("exit"), Line::Command(SlashCommand::Exit));
        assert_eq!(parse_line("QUIT"), Line::Command(SlashCommand::Exit));
        assert_eq!(parse_line("clear"), Line::Command(SlashCommand::Clear));
        // Sentences starting with those words are questions.
        assert_eq!(
            parse_line("help me fix backend"),
            Line::Question("help me fix backend".into())
        );
        assert_eq!(
            parse_line("clear the failed pods"),
            Line::Question("clear the failed pods".into())
        );
    }

    #[test]
    fn errors_name_the_problem_and_the_real_commands() {
        let Line::Invalid(m) = parse_line("/frobnicate") else {
            panic!("expected invalid")
        };
        assert!(
            m.contains("unknown command /frobnicate") && m.contains("/help") && m.contains("/exit"),
            "{m}"
        );
        let Line::Invalid(m) = parse_line("/mode yolo") else {
            panic!("expected invalid")
        };
        assert!(m.contains("yolo") && m.contains("confirm"), "{m}");
        assert!(matches!(parse_line("/exit now"), Line::Invalid(_)));
        assert!(matches!(parse_line("/ns a b"), Line::Invalid(_)));
    }

    #[test]
    fn completion_names_cover_every_command() {
        let names: Vec<_> = command_names().collect();
        for n in [
            "/help",
            "/context",
            "/namespace",
            "/ns",
            "/model",
            "/mode",
            "/tools",
            "/health",
            "/clear",
            "/exit",
        ] {
            assert!(names.contains(&n), "{n}");
        }
    }
}
