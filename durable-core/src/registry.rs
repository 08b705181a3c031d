//! What a runtime knows how to run: orchestrations by name and version, activities by
//! name.

use std::collections::{BTreeMap, HashMap};

use crate::activity::ErasedActivity;
use crate::inspect::Shown;
use crate::orchestration::{OrchestrationContext, Step, StepError, StepInput};

pub(crate) type StepFn = fn(&OrchestrationContext, StepInput<'_>) -> Result<Step, StepError>;
/// Shows an encoded input of an orchestration as JSON, for inspection.
pub(crate) type ShowFn = fn(&[u8]) -> Shown;

/// One version of an orchestration's code.
#[derive(Clone, Copy)]
struct Code {
    step: StepFn,
    show_input: ShowFn,
    /// The versions it declares migrations from.
    migrates_from: &'static [u32],
}

/// The code that steps an instance, found for its name and version.
#[derive(Clone, Copy)]
pub(crate) struct Found {
    pub(crate) step: StepFn,
    pub(crate) show_input: ShowFn,
    /// The version of that code.
    pub(crate) version: u32,
    /// The instance's version, when the code is a later one that migrates from it.
    pub(crate) from: Option<u32>,
}

#[derive(Default)]
pub(crate) struct Registry {
    orchestrations: HashMap<&'static str, BTreeMap<u32, Code>>,
    pub(crate) activities: HashMap<&'static str, ErasedActivity>,
}

impl Registry {
    /// Registers version `version` of orchestration `name`; a later registration of the
    /// same name and version replaces it.
    pub(crate) fn add_orchestration(
        &mut self,
        name: &'static str,
        version: u32,
        step: StepFn,
        show_input: ShowFn,
        migrates_from: &'static [u32],
    ) {
        let code = Code {
            step,
            show_input,
            migrates_from,
        };
        self.orchestrations
            .entry(name)
            .or_default()
            .insert(version, code);
    }

    /// The code that steps an instance of version `version` of `name`: that version's,
    /// or else the first later version that declares a migration from it; or why an
    /// instance of it is blocked.
    pub(crate) fn orchestration(&self, name: &str, version: u32) -> Result<Found, String> {
        let Some(versions) = self.orchestrations.get(name) else {
            return Err(format!(
                "no orchestration named `{name}` is registered with this runtime: register it \
                 (under the name its instances were started with), or terminate the instance"
            ));
        };
        if let Some(code) = versions.get(&version) {
            return Ok(Found {
                step: code.step,
                show_input: code.show_input,
                version,
                from: None,
            });
        }
        let later = versions
            .range(version..)
            .find(|(_, c)| c.migrates_from.contains(&version));
        if let Some((later, code)) = later {
            return Ok(Found {
                step: code.step,
                show_input: code.show_input,
                version: *later,
                from: Some(version),
            });
        }
        let known: Vec<String> = versions.keys().map(u32::to_string).collect();
        Err(format!(
            "orchestration `{name}` version {version} is not registered with this runtime \
             (registered: {}) and no later version migrates from it: register the code of \
             version {version} side by side, add a migration, or terminate the instance",
            known.join(", ")
        ))
    }

    /// Whether code that can step an instance of version `version` of `name` is
    /// registered.
    pub(crate) fn has(&self, name: &str, version: u32) -> bool {
        self.orchestration(name, version).is_ok()
    }
}
