//! Running child processes with a clear account of what is happening.

use std::path::Path;
use std::process::{Command, Stdio};

/// Error type of every xtask step: a message for a human.
pub type Result<T = ()> = std::result::Result<T, String>;

/// Prints a step header, so a long CI log says what it is doing.
pub fn step(what: &str) {
    eprintln!("\n==> {what}");
}

/// Runs `cmd`, inheriting stdout/stderr; an unsuccessful exit is an error.
pub fn run(cmd: &mut Command) -> Result {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("could not start {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

/// Runs `cmd`, echoing its output live and returning it for parsing.
pub fn run_tee(cmd: &mut Command) -> Result<String> {
    use std::io::{BufRead, BufReader, Write};
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start {shown}: {e}"))?;
    let stderr = child.stderr.take().expect("piped");
    let err_thread = std::thread::spawn(move || {
        let mut seen = String::new();
        for line in BufReader::new(stderr)
            .lines()
            .map_while(std::result::Result::ok)
        {
            eprintln!("{line}");
            seen.push_str(&line);
            seen.push('\n');
        }
        seen
    });
    let mut out = String::new();
    for line in BufReader::new(child.stdout.take().expect("piped"))
        .lines()
        .map_while(std::result::Result::ok)
    {
        println!("{line}");
        let _ = std::io::stdout().flush();
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&err_thread.join().unwrap_or_default());
    let status = child.wait().map_err(|e| e.to_string())?;
    if status.success() {
        Ok(out)
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

/// The trimmed stdout of `program args…`, or `None` when it cannot run.
pub fn output_of(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A `cargo` command run from the workspace root.
pub fn cargo(root: &Path) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root);
    cmd
}
