//! The command line, as clap reads it.

use clap::{Args, Parser, Subcommand};
use reqwest::Url;

/// Where the API is when neither `--url` nor `DURABLE_URL` says: the address and prefix
/// of `durable::http`'s example service. The demo binds a free port and prints its URL;
/// run it with `ADDRESS=127.0.0.1:8080` to match.
const DEFAULT_URL: &str = "http://127.0.0.1:8080/api";

/// The help's closing text. The codes are `error.rs`'s constants; a test there checks
/// that each appears here as `  N  `.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success (`status` exits 0 whatever the instance's status)
  1  the service answered with an error (its message is printed), or with something unreadable
  2  usage error: bad arguments, a payload that is not JSON
  3  the service could not be reached, or did not answer within 30 seconds

Results go to standard output, errors to standard error as `durable: error: <message>`.";

/// Manage the instances of a durable service through its HTTP API: list them, show
/// their status or where they wait, raise events, terminate, suspend, resume, purge.
#[derive(Debug, Parser)]
#[command(name = "durable", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// The API's base URL: the prefix it is mounted under, where `/instances` is.
    #[arg(
        long,
        global = true,
        env = "DURABLE_URL",
        default_value = DEFAULT_URL,
        value_parser = parse_url,
    )]
    pub url: Url,

    /// Print the API's JSON answer (pretty) instead of text for people.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List instances, one page (`--top`) or all of them (`--all`).
    List(ListArgs),
    /// Show an instance's status, input, custom status, output and error.
    Status {
        /// The instance id.
        id: String,
    },
    /// Show an instance's status and where it waits: the `.await`, what it awaits,
    /// its live locals, and the events buffered for it.
    Inspect {
        /// The instance id.
        id: String,
    },
    /// Raise an event on an instance.
    Raise {
        /// The instance id.
        id: String,
        /// The event's name.
        event: String,
        /// The event's payload as JSON (`null` if left out); `-` reads it from
        /// standard input.
        #[arg(allow_hyphen_values = true)]
        payload: Option<String>,
    },
    /// Terminate an instance at its next step.
    Terminate(ControlArgs),
    /// Suspend an instance: results and events wait until it is resumed.
    Suspend(ControlArgs),
    /// Resume a suspended instance.
    Resume(ControlArgs),
    /// Delete an ended instance's record, and those of its sub-orchestrations.
    Purge {
        /// The instance id.
        id: String,
    },
}

/// The filters and paging of `list`, passed to the API as its query parameters.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only instances with one of these statuses (Pending, Running, Completed,
    /// Failed, Terminated, Suspended, Blocked), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub status: Vec<String>,

    /// Only instances of this orchestration.
    #[arg(long)]
    pub name: Option<String>,

    /// Only instances created at or after this RFC 3339 time (2026-11-26T10:00:00Z).
    #[arg(long, value_name = "RFC3339")]
    pub created_from: Option<String>,

    /// Only instances created at or before this RFC 3339 time.
    #[arg(long, value_name = "RFC3339")]
    pub created_to: Option<String>,

    /// Instances per page, 1 to 1000 (the API's default is 100).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub top: Option<u16>,

    /// Follow the continuation token to the last page, and show every instance.
    #[arg(long)]
    pub all: bool,
}

/// The instance a control command is for, and why.
#[derive(Debug, Args)]
pub struct ControlArgs {
    /// The instance id.
    pub id: String,
    /// Why, sent as the API's `reason`: `terminate` makes it the instance's error;
    /// the service logs it for `suspend` and `resume`.
    #[arg(long)]
    pub reason: Option<String>,
}

/// Accepts an `http` or `https` URL that can take path segments.
fn parse_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(format!(
            "`{text}` is not an http:// or https:// URL like {DEFAULT_URL}"
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn urls_must_be_http() {
        assert!(parse_url("http://localhost:1/api").is_ok());
        assert!(parse_url("https://example.com").is_ok());
        assert!(parse_url("ftp://example.com").unwrap_err().contains("http"));
        assert!(parse_url("localhost:8080").is_err());
        assert!(parse_url("not a url").is_err());
    }

    #[test]
    fn a_payload_may_be_a_negative_number() {
        let cli = Cli::try_parse_from(["durable", "raise", "i", "e", "-5"]).unwrap();
        let Command::Raise { payload, .. } = cli.command else {
            panic!("not raise: {cli:?}");
        };
        assert_eq!(payload.as_deref(), Some("-5"));
    }

    #[test]
    fn statuses_are_comma_separated() {
        let cli = Cli::try_parse_from(["durable", "list", "--status", "Running,Failed"]).unwrap();
        let Command::List(list) = cli.command else {
            panic!("not list: {cli:?}");
        };
        assert_eq!(list.status, ["Running", "Failed"]);
    }
}
