//! The sbx executor: applies a [`sbx_plan::Plan`] atomically.
//!
//! It knows nothing of the profile language: its only input is the plan.

pub mod cgroup;
pub mod journal;
pub mod net;
pub mod rootfs;
pub mod sys;
