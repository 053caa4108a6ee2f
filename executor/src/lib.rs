//! The sbx executor: applies a [`sbx_plan::Plan`] atomically.
