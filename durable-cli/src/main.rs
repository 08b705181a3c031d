//! `durable`: a command-line tool for the HTTP management API of a service built on
//! `durable` (`durable::http`). It lists instances and shows their status or where
//! they wait, raises events, and terminates, suspends, resumes and purges them.
//!
//! Results go to standard output, as text for people or, with `--json`, as the API's
//! JSON answer; errors go to standard error as `durable: error: <message>`. Exit codes
//! (also in `--help`):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success; `status` exits 0 whatever the instance's status |
//! | 1 | the service answered with an error (its `{"error"}` message is printed) or with something unreadable |
//! | 2 | a usage error: clap's, or a payload that is not JSON, an id that cannot be a path segment |
//! | 3 | the service could not be reached, or did not answer within 30 seconds |
//!
//! `https://` URLs need the `tls` feature (`cargo install --path durable-cli --features tls`).

mod api;
mod args;
mod error;
mod inspect;
mod payload;
mod run;
mod show;
mod table;

use std::io::{ErrorKind, Write};
use std::process::ExitCode;

use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match run::run(cli).await {
        Ok(output) => {
            let code = print(&output.stdout);
            if let Some(note) = output.note {
                eprintln!("durable: {note}");
            }
            code
        }
        Err(failure) => {
            eprintln!("durable: error: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}

/// Writes the result to stdout. A reader that closed the pipe early (`| head`) has
/// what it wanted, so that is success; any other write error is a failure.
fn print(text: &str) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("durable: error: cannot write the output: {e}");
            ExitCode::from(error::ERROR)
        }
    }
}
