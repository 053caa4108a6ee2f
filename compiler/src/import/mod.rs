//! Importers: foreign configuration (LXC, systemd, Dockerfile) as a profile
//! syntax tree. Placeholder.
