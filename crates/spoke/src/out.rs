//! Standard output and error that a closed reader cannot turn into a panic: `println!` and
//! `eprintln!` panic when the write fails, so `spoke token list | head -c 10` died with a
//! backtrace (issue 18).

use std::io::{ErrorKind, Write};

/// What a shell reports for a process ended by SIGPIPE (128 + 13), as `cat` or `git log`
/// are when the reader goes away: quiet, and not mistaken for a complete run.
const CLOSED_STDOUT: i32 = 141;

/// Writes one line to stdout. If nobody reads it any more the command stops quietly;
/// any other failure (a full disk) is reported and ends the command with status 1.
pub fn line(args: std::fmt::Arguments<'_>) {
    match try_line(args) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::BrokenPipe => std::process::exit(CLOSED_STDOUT),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "spoke: writing to standard output: {e}");
            std::process::exit(1)
        }
    }
}

/// Writes one line to stdout and flushes it, for output that is a by-product of work
/// which must finish whether or not anyone reads it (`spoke import`'s ids).
pub fn try_line(args: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_fmt(args)?;
    stdout.write_all(b"\n")?;
    stdout.flush()
}

/// `println!` for the `spoke` binary, through [`line`].
macro_rules! outln {
    () => {
        $crate::out::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::out::line(format_args!($($arg)*))
    };
}

/// `eprintln!` for the `spoke` binary: a message nobody can read any more is dropped, since
/// there is nowhere left to report that it was.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
