//! Each command: the API call, then the answer as JSON or as text for people.

use serde_json::{json, Value};

use crate::api::{Control, Service};
use crate::args::{Cli, Command, ControlArgs, ListArgs};
use crate::error::Failure;
use crate::{inspect, payload, show};

/// What a command prints: `stdout` for its result, `note` for a remark to standard
/// error (a list cut at its page, an empty list), which scripts reading stdout skip.
pub struct Output {
    pub stdout: String,
    pub note: Option<String>,
}

impl Output {
    /// The answer as pretty JSON with `--json`, else `human`'s text. An empty answer
    /// (a `202` without a body) prints nothing as JSON: the exit code says it all.
    fn of(json: bool, answer: &Value, human: impl FnOnce() -> String) -> Self {
        let stdout = match (json, answer) {
            (true, Value::Null) => String::new(),
            (true, answer) => format!("{answer:#}\n"),
            (false, _) => human(),
        };
        Self { stdout, note: None }
    }
}

pub async fn run(cli: Cli) -> Result<Output, Failure> {
    let service = Service::new(cli.url)?;
    let json = cli.json;
    match cli.command {
        Command::List(filter) => list(&service, &filter, json).await,
        Command::Status { id } => {
            let answer = service.status(&id).await?;
            Ok(Output::of(json, &answer, || show::status(&answer)))
        }
        Command::Inspect { id } => {
            let answer = service.state(&id).await?;
            Ok(Output::of(json, &answer, || inspect::state(&answer)))
        }
        Command::Raise { id, event, payload } => {
            let payload = payload::read(payload.as_deref(), std::io::stdin())?;
            let answer = service.raise(&id, &event, &payload).await?;
            Ok(Output::of(json, &answer, || show::raised(&id, &event)))
        }
        Command::Terminate(args) => control(&service, Control::Terminate, args, json).await,
        Command::Suspend(args) => control(&service, Control::Suspend, args, json).await,
        Command::Resume(args) => control(&service, Control::Resume, args, json).await,
        Command::Purge { id } => {
            let answer = service.purge(&id).await?;
            Ok(Output::of(json, &answer, || show::purged(&id, &answer)))
        }
    }
}

async fn control(
    service: &Service,
    control: Control,
    args: ControlArgs,
    json: bool,
) -> Result<Output, Failure> {
    let answer = service
        .control(&args.id, control, args.reason.as_deref())
        .await?;
    Ok(Output::of(json, &answer, || {
        show::controlled(&args.id, control.path())
    }))
}

/// One page as the API answers it; or with `--all` every page, concatenated into one
/// answer of the page's shape whose `continuationToken` is `null`.
async fn list(service: &Service, filter: &ListArgs, json: bool) -> Result<Output, Failure> {
    let first = service.list(filter, None).await?;
    let (mut instances, mut token) = page(first.clone())?;
    let mut note = None;
    if filter.all {
        while let Some(current) = token {
            let (more, next) = page(service.list(filter, Some(&current)).await?)?;
            if next.as_deref() == Some(current.as_str()) {
                return Err(Failure::Response(format!(
                    "the service answered continuation token `{current}` with itself"
                )));
            }
            instances.extend(more);
            token = next;
        }
    } else if token.is_some() {
        note = Some("more instances match: `--all` lists every page".to_owned());
    }
    if instances.is_empty() {
        note = Some("no instances match".to_owned());
    }
    let answer = match filter.all {
        true => json!({ "instances": instances, "continuationToken": null }),
        false => first,
    };
    let mut output = Output::of(json, &answer, || show::list(&instances));
    if !json {
        output.note = note;
    }
    Ok(output)
}

/// A page's instances and continuation token.
fn page(mut answer: Value) -> Result<(Vec<Value>, Option<String>), Failure> {
    let token = match answer.get("continuationToken") {
        None | Some(Value::Null) => None,
        Some(Value::String(token)) => Some(token.clone()),
        Some(other) => {
            return Err(Failure::Response(format!(
                "the list's continuationToken is {other}, not a string"
            )))
        }
    };
    match answer.get_mut("instances").map(Value::take) {
        Some(Value::Array(instances)) => Ok((instances, token)),
        _ => Err(Failure::Response(
            "the list answer has no `instances` array".to_owned(),
        )),
    }
}
