//! Running a background plugin: its output captured (the last `KEEP` bytes), its exit status
//! reported; no terminal, no shell.

use std::io::Read;
use std::process::{Command, Stdio};

/// Output kept of a background plugin (its tail: errors come last).
pub const KEEP: usize = 64 * 1024;

/// What a background plugin did.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// `Ok(code)` (`None`: killed by a signal) or why it did not start.
    pub status: Result<Option<i32>, String>,
    /// Its standard output and error, interleaved as they came, at most `KEEP` bytes.
    pub output: String,
}

/// A pipe whose ends are closed on exec (the child gets its own copies as stdout and
/// stderr), so the read end sees EOF when the child and its children are done.
fn pipe() -> std::io::Result<(std::fs::File, std::os::fd::OwnedFd)> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both are open descriptors that nothing else owns.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((std::fs::File::from(r), w))
}

/// Runs `argv` to the end on the calling thread.
pub fn run(argv: &[String]) -> Outcome {
    let Some((program, args)) = argv.split_first() else {
        return Outcome {
            status: Err("empty command".into()),
            output: String::new(),
        };
    };
    // One pipe for both streams, so they interleave as they were written.
    let (mut reader, writer) = match pipe() {
        Ok(p) => p,
        Err(e) => {
            return Outcome {
                status: Err(format!("pipe: {e}")),
                output: String::new(),
            }
        }
    };
    let child = writer.try_clone().and_then(|w2| {
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::from(w2))
            .spawn()
    });
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            return Outcome {
                status: Err(format!("cannot run {program:?}: {e}")),
                output: String::new(),
            }
        }
    };
    let mut kept: Vec<u8> = Vec::new();
    let mut buf = [0u8; 8192];
    // The writers live only in the child now: EOF when it (and its children) close them.
    loop {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > 2 * KEEP {
                    kept.drain(..kept.len() - KEEP);
                }
            }
        }
    }
    if kept.len() > KEEP {
        kept.drain(..kept.len() - KEEP);
    }
    let status = child
        .wait()
        .map(|s| s.code())
        .map_err(|e| format!("waiting for {program:?}: {e}"));
    Outcome {
        status,
        output: String::from_utf8_lossy(&kept).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_output_and_a_missing_program() {
        let o = run(&[
            "sh".into(),
            "-c".into(),
            "echo out; echo err >&2; exit 3".into(),
        ]);
        assert_eq!(o.status, Ok(Some(3)));
        assert!(
            o.output.contains("out\n") && o.output.contains("err\n"),
            "{o:?}"
        );
        let o = run(&["/nonexistent/plugin".into()]);
        assert!(o.status.unwrap_err().contains("cannot run"));
        let o = run(&[
            "head".into(),
            "-c".into(),
            "200000".into(),
            "/dev/zero".into(),
        ]);
        assert_eq!(o.status, Ok(Some(0)));
        assert_eq!(o.output.len(), KEEP, "only the tail is kept");
    }
}
