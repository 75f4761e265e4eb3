//! Writing to stdout and stderr without panicking: a closed pipe (`kai ... | head -1`) or a
//! closed terminal is the reader's choice, so output stops quietly and the command still ends
//! with its own exit code (the standard `println!` panics there, exit 101).

use std::fmt::Arguments;
use std::io::Write;

/// Writes to stdout, ignoring a closed pipe.
pub fn write_out(args: Arguments<'_>) {
    let _ = std::io::stdout().lock().write_fmt(args);
}

/// Writes to stderr, ignoring a closed pipe.
pub fn write_err(args: Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// `println!` that never panics on a closed stdout.
macro_rules! outln {
    () => {
        $crate::stdio::write_out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::stdio::write_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` that never panics on a closed stdout.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::stdio::write_out(format_args!($($arg)*))
    };
}

/// `eprintln!` that never panics on a closed stderr.
macro_rules! errln {
    () => {
        $crate::stdio::write_err(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::stdio::write_err(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` that never panics on a closed stderr.
macro_rules! err {
    ($($arg:tt)*) => {
        $crate::stdio::write_err(format_args!($($arg)*))
    };
}
