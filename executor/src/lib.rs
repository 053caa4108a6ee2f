//! The sbx executor: applies a [`sbx_plan::Plan`] atomically.
//!
//! It knows nothing of the profile language: its only input is the plan.

pub mod apply;
pub mod capability;
pub mod cgroup;
pub mod channel;
pub mod identity;
pub mod image;
pub mod journal;
pub mod net;
pub mod preflight;
pub mod rootfs;
pub mod sandbox;
pub mod sys;
pub mod terminal;
#[cfg(test)]
mod testing;

pub use apply::{apply, dry_run, preflight, ApplyError, ApplyOptions, ApplyOutcome, WorkloadEnd};
