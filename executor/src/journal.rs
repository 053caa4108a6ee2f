//! The apply journal: every host-visible change is a step with an undo.
//!
//! A step is recorded right after its change succeeded. On any failure
//! before exec, and at teardown after the workload exits, the journal
//! unwinds in reverse order and tries every undo, even after one failed;
//! the failures are returned so that the caller can report them beside
//! the cause. Namespace-local state is never journalled: it dies with the
//! sandbox.

use std::fmt;

type Undo = Box<dyn FnOnce() -> Result<(), String>>;

/// One recorded host-visible change.
struct Step {
    /// What was done, as a user would name it (`create cgroup sbx-1a2b`).
    name: String,
    undo: Undo,
}

/// An undo that failed during an unwind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndoFailure {
    /// The step whose undo failed.
    pub step: String,
    pub error: String,
}

impl fmt::Display for UndoFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "undo of `{}` failed: {}", self.step, self.error)
    }
}

#[derive(Default)]
pub struct ApplyJournal {
    steps: Vec<Step>,
}

impl ApplyJournal {
    pub fn new() -> Self {
        ApplyJournal::default()
    }

    /// Records a change that was made, with the way to undo it.
    pub fn record(
        &mut self,
        name: impl Into<String>,
        undo: impl FnOnce() -> Result<(), String> + 'static,
    ) {
        self.steps.push(Step {
            name: name.into(),
            undo: Box::new(undo),
        });
    }

    /// The names of the recorded steps, oldest first.
    pub fn step_names(&self) -> impl Iterator<Item = &str> {
        self.steps.iter().map(|s| s.name.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Undoes every step, newest first, attempting each even after a failure.
    pub fn unwind(mut self) -> Vec<UndoFailure> {
        let mut failures = Vec::new();
        while let Some(step) = self.steps.pop() {
            if let Err(error) = (step.undo)() {
                failures.push(UndoFailure {
                    step: step.name,
                    error,
                });
            }
        }
        failures
    }
}

impl fmt::Debug for ApplyJournal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.step_names()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[test]
    fn unwinds_in_reverse_and_tries_every_undo() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut journal = ApplyJournal::new();
        for name in ["cgroup", "veth", "bridge"] {
            let log = Rc::clone(&log);
            journal.record(name, move || {
                log.borrow_mut().push(name);
                if name == "veth" {
                    Err("no such device".to_string())
                } else {
                    Ok(())
                }
            });
        }
        let failures = journal.unwind();
        assert_eq!(*log.borrow(), vec!["bridge", "veth", "cgroup"]);
        assert_eq!(
            failures,
            vec![UndoFailure {
                step: "veth".into(),
                error: "no such device".into()
            }]
        );
    }
}
