//! The `kai` binary: command line, configuration, sessions and rendering.

fn main() {}
