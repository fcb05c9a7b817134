//! Starting `reelframe serve` on a free loopback port, for the tests and the serve bench (which
//! includes this file with `#[path]`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Spawns `command`, a `reelframe serve --listen 127.0.0.1:0 …`, with its stdout piped, and
/// reads the line it prints once listening: returns the process and the base URL that line names
/// (`http://127.0.0.1:PORT`), or `None` for the URL when the server exited (or printed something
/// else) instead.
pub fn spawn_serve(command: &mut Command) -> (Child, Option<String>) {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .expect("reelframe serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout is piped"))
        .read_line(&mut line)
        .expect("reading the server's stdout");
    let base = line
        .trim()
        .strip_prefix("reelframe serve: listening on ")
        .map(str::to_string);
    (child, base)
}
