//! Writing the outcome down: `build-id` as soon as it is known, then every other output and
//! the step summary; a failed outputs write is exit 2 naming its variable, a failed summary a
//! warning.

use std::path::PathBuf;

use super::{Context, Exit, Outcome};
use crate::ci::github::summary_markdown;
use crate::ci::{Console, OutputsFile, append};
use crate::error::Failure;
use crate::text::Redactor;

pub struct Recorder {
    outputs: Option<OutputsFile>,
    summary: Option<PathBuf>,
    redactor: Redactor,
    failed: Option<String>,
}

impl Recorder {
    pub fn new(outputs: Option<OutputsFile>, summary: Option<PathBuf>, redactor: Redactor) -> Self {
        Recorder { outputs, summary, redactor, failed: None }
    }

    /// The build's id, written at once: a later step gets it even if the gate is stopped.
    pub fn build_found(&mut self, id: &str) -> Result<(), Failure> {
        self.set("build-id", id);
        match &self.failed {
            Some(e) => Err(Failure::Output(e.clone())),
            None => Ok(()),
        }
    }

    fn set(&mut self, name: &str, value: &str) {
        let Some(file) = self.outputs.as_mut() else { return };
        if let Err(e) = file.set(name, value, &self.redactor) {
            self.failed.get_or_insert_with(|| {
                format!("cannot write the outputs file {} ({}): {e}", file.path().display(), file.variable())
            });
        }
    }

    /// Reports `outcome`, writes it down, and says how the gate exits.
    pub fn finish(&mut self, outcome: &Outcome, ctx: &Context, console: &mut Console) -> Exit {
        outcome.report(console, ctx);
        let values = outcome.outputs(ctx);
        match self.outputs {
            Some(_) => values.iter().for_each(|(name, value)| self.set(name, value)),
            // Plain without a file: printed after the result, through the console's defusing.
            None => values
                .iter()
                .for_each(|(name, value)| console.line(crate::ci::plain::output_line(name, value).trim_end())),
        }
        if let Some(path) = &self.summary {
            let error = outcome.error_message(ctx);
            let markdown = summary_markdown(&outcome.summary(ctx, error.as_deref()), &self.redactor);
            if let Err(e) = append(path, markdown.as_bytes()) {
                console.warning(&format!("cannot write the step summary (GITHUB_STEP_SUMMARY): {e}"));
            }
        }
        match (&self.failed, outcome.exit()) {
            (_, Exit::Interrupted(signal)) => Exit::Interrupted(signal),
            (Some(e), _) => {
                console.error("buildgate", e);
                Exit::Config
            }
            (None, exit) => exit,
        }
    }
}
