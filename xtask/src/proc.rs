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
    let (out, failure) = run_tee_all(cmd);
    match failure {
        None => Ok(out),
        Some(e) => Err(e),
    }
}

/// Runs `cmd` like [`run_tee`], returning its output whether or not it
/// succeeded (a test run that fails still says how many passed), and why
/// it failed.
pub fn run_tee_all(cmd: &mut Command) -> (String, Option<String>) {
    match tee(cmd) {
        Ok((out, None)) => (out, None),
        Ok((out, Some(e))) => (out, Some(e)),
        Err(e) => (String::new(), Some(e)),
    }
}

fn tee(cmd: &mut Command) -> Result<(String, Option<String>)> {
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
    let failure = (!status.success()).then(|| format!("{shown} failed ({status})"));
    Ok((out, failure))
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
