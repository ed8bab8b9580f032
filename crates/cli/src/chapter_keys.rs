//! The key that starts the next chapter while `pigeon record` runs: `n` on a terminal,
//! read key by key (no Enter needed), or a line `n` when the input is not a terminal
//! (a script or a test writing to the recorder's stdin).
//!
//! The input is read on a thread of its own, which blocks on it: the recording loop only
//! counts the presses. When the recording ends, the thread is left waiting on the input
//! (nothing else in `pigeon` reads it) and ends with the process.

use std::io::{BufRead, IsTerminal as _, Read as _};
use std::process::{Command, Stdio};
use std::sync::mpsc::{channel, Receiver, Sender};

/// Presses of the "next item" key, counted since the last look.
pub struct ChapterKeys {
    presses: Receiver<()>,
    /// Puts the terminal back as it was, when it was switched to single keys.
    _terminal: Option<KeyByKey>,
}

impl ChapterKeys {
    /// Listens on stdin: key by key on a terminal the user watches, by line otherwise.
    /// None when stdin is a terminal but the output is not (nobody would see a mark),
    /// or the terminal cannot be switched to single keys.
    pub fn listen() -> Option<Self> {
        let (press, presses) = channel();
        let terminal = if std::io::stdin().is_terminal() {
            if !std::io::stderr().is_terminal() {
                return None;
            }
            let terminal = KeyByKey::switch()?;
            spawn(move || read_keys(&press));
            Some(terminal)
        } else {
            spawn(move || read_lines(std::io::stdin().lock(), &press));
            None
        };
        Some(ChapterKeys {
            presses,
            _terminal: terminal,
        })
    }

    /// How many times the key was pressed since the last call.
    pub fn pressed(&self) -> usize {
        self.presses.try_iter().count()
    }
}

fn spawn(read: impl FnOnce() + Send + 'static) {
    let started = std::thread::Builder::new()
        .name("chapter keys".into())
        .spawn(read);
    if let Err(e) = started {
        tracing::warn!(error = %e, "the next-item key cannot be read");
    }
}

/// `n` or `N`, each key as it is typed.
fn read_keys(press: &Sender<()>) {
    let mut byte = [0u8; 1];
    let mut stdin = std::io::stdin();
    while let Ok(1) = stdin.read(&mut byte) {
        if byte[0].eq_ignore_ascii_case(&b'n') && press.send(()).is_err() {
            return;
        }
    }
}

/// A line `n` (any case, spaces around it ignored).
fn read_lines(input: impl BufRead, press: &Sender<()>) {
    for line in input.lines() {
        let Ok(line) = line else { return };
        if line.trim().eq_ignore_ascii_case("n") && press.send(()).is_err() {
            return;
        }
    }
}

/// The terminal switched to deliver each key at once, without echo, until dropped.
/// `stty` does it (on the terminal stdin is), so no terminal library is needed for
/// one key; Ctrl-C still interrupts as before.
struct KeyByKey {
    saved: String,
}

impl KeyByKey {
    fn switch() -> Option<Self> {
        let saved = stty(&["-g"])?;
        stty(&["-icanon", "-echo", "min", "1", "time", "0"])?;
        Some(KeyByKey {
            saved: saved.trim().to_owned(),
        })
    }
}

impl Drop for KeyByKey {
    fn drop(&mut self) {
        if stty(&[&self.saved]).is_none() {
            eprintln!("the terminal may not echo what you type: run `stty sane` to restore it");
        }
    }
}

/// Runs `stty` on stdin's terminal; its output, or None (logged) when it failed.
fn stty(args: &[&str]) -> Option<String> {
    let output = Command::new("stty")
        .args(args)
        .stdin(Stdio::inherit())
        .stderr(Stdio::piped())
        .output();
    match output {
        Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).into()),
        Ok(out) => {
            tracing::info!(stderr = %String::from_utf8_lossy(&out.stderr), "stty failed: no next-item key");
            None
        }
        Err(e) => {
            tracing::info!(error = %e, "no stty: no next-item key");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_n_is_a_press_and_other_lines_are_not() {
        let (press, presses) = channel();
        read_lines(&b"n\nnext\n N \n\nx\nn"[..], &press);
        assert_eq!(presses.try_iter().count(), 3);
    }
}
