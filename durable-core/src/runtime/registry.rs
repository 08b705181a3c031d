//! What a runtime knows how to run: orchestrations by name and version, activities by
//! name.

use std::collections::{BTreeMap, HashMap};

use crate::activity::ErasedActivity;
use crate::orchestration::{OrchestrationContext, Step, StepError, StepInput};

pub(crate) type StepFn = fn(&OrchestrationContext, StepInput<'_>) -> Result<Step, StepError>;

#[derive(Default)]
pub(crate) struct Registry {
    orchestrations: HashMap<&'static str, BTreeMap<u32, StepFn>>,
    pub(crate) activities: HashMap<&'static str, ErasedActivity>,
}

impl Registry {
    /// Registers version `version` of orchestration `name`; a later registration of the
    /// same name and version replaces it.
    pub(crate) fn add_orchestration(&mut self, name: &'static str, version: u32, step: StepFn) {
        self.orchestrations
            .entry(name)
            .or_default()
            .insert(version, step);
    }

    /// The code of version `version` of `name`, or why an instance of it is blocked.
    pub(crate) fn orchestration(&self, name: &str, version: u32) -> Result<StepFn, String> {
        let Some(versions) = self.orchestrations.get(name) else {
            return Err(format!(
                "no orchestration named `{name}` is registered with this runtime: register it \
                 (under the name its instances were started with), or terminate the instance"
            ));
        };
        versions.get(&version).copied().ok_or_else(|| {
            let known: Vec<String> = versions.keys().map(u32::to_string).collect();
            format!(
                "orchestration `{name}` version {version} is not registered with this runtime \
                 (registered: {}): register the code of version {version} side by side, or \
                 terminate the instance",
                known.join(", ")
            )
        })
    }

    /// Whether version `version` of `name` is registered.
    pub(crate) fn has(&self, name: &str, version: u32) -> bool {
        self.orchestrations
            .get(name)
            .is_some_and(|v| v.contains_key(&version))
    }
}
