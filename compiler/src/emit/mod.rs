//! Emitters: the plan as another engine's configuration. Placeholder.
