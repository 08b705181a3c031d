//! Why a command failed, and the exit code each reason gets.
//!
//! Scripts branch on the exit code, so the codes separate what they would handle
//! differently: the service said no (1: a retry will not help), the command line is
//! wrong (2: clap's code for usage errors, kept for ours), the service is not there (3:
//! a retry later may help).

use std::fmt;

/// A command that did not do what it was asked; printed as `durable: error: {self}`.
#[derive(Debug)]
pub enum Failure {
    /// The service answered with an error status; `message` is its `{"error"}` text.
    Api { message: String },
    /// The service answered with a success status, but not with what the API contract
    /// says (a body that is not JSON, a field of the wrong type).
    Response(String),
    /// What the command line asks cannot be sent: a payload that is not JSON, an id
    /// that cannot be a URL path segment, an `https` URL without the `tls` feature.
    Usage(String),
    /// The service could not be reached, or did not answer in time.
    Unreachable(String),
}

/// Exit code: the service answered with an error, or with something unreadable (or
/// the result could not be written).
pub const ERROR: u8 = 1;
/// Exit code: a usage error, as clap exits for one.
pub const USAGE: u8 = 2;
/// Exit code: the service could not be reached.
pub const UNREACHABLE: u8 = 3;

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Api { .. } | Failure::Response(_) => ERROR,
            Failure::Usage(_) => USAGE,
            Failure::Unreachable(_) => UNREACHABLE,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Api { message }
            | Failure::Response(message)
            | Failure::Usage(message)
            | Failure::Unreachable(message) => f.write_str(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::EXIT_CODES;

    /// `--help` lists the codes as text; this keeps the text and the constants together.
    #[test]
    fn help_names_every_exit_code() {
        for failure in [
            Failure::Api {
                message: String::new(),
            },
            Failure::Usage(String::new()),
            Failure::Unreachable(String::new()),
        ] {
            let code = failure.exit_code();
            assert!(
                EXIT_CODES.contains(&format!("  {code}  ")),
                "exit code {code} of {failure:?} is not in the help text"
            );
        }
    }
}
