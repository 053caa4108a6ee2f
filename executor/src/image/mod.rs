//! Images: a local content-addressed store, `sbx image import` of OCI image
//! layouts and `docker save` archives, overlayfs root filesystems for
//! `sbx apply`, and `sbx build` with a layer cache.
//!
//! Every layer is kept unpacked as an overlayfs lower directory (whiteouts
//! as overlayfs writes them), so that a sandbox's upper directory, and a
//! build step's, is itself a layer: docs/images.md says why and what is
//! refused while unpacking.

mod build;
mod import;
mod overlay;
mod store;
mod unpack;

pub use build::{build, built_image, BuildOptions, BuildOutcome, StepOutcome};
pub use import::import;
pub use overlay::{mount_rootfs, resolve_process, RootfsMount};
pub use store::{ImageConfig, ImageRecord, Store};

use std::path::PathBuf;

/// Why an image operation failed. Nothing half-written stays in the store.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A `from` name that the store does not hold.
    #[error("image `{name}` is not in the image store `{}`\n  help: import it first: `sbx image import PATH --tag {name}` (PATH: an OCI image layout directory or a `docker save` archive); sbx never pulls from a registry", store.display())]
    NotFound { name: String, store: PathBuf },
    /// The input is malformed or unsafe to unpack.
    #[error("`{input}`: {problem}")]
    Refused { input: String, problem: String },
    /// A blob does not hash to the digest that names it.
    #[error("`{input}`: digest mismatch for {what}: expected `{expected}`, found `{actual}` (the file is corrupt or was altered)")]
    Digest {
        input: String,
        what: String,
        expected: String,
        actual: String,
    },
    /// An I/O operation failed.
    #[error("{context}: {error}")]
    Io {
        context: String,
        error: std::io::Error,
    },
    /// Mounting or unmounting an overlay failed.
    #[error("{0}")]
    Mount(String),
    /// A build step failed.
    #[error("build step {step} (`{what}`): {problem}")]
    Build {
        step: usize,
        what: String,
        problem: String,
    },
    /// The operation is not possible here (needs root, not supported).
    #[error("{problem}\n  help: {help}")]
    Unsupported { problem: String, help: String },
}

impl ImageError {
    pub(crate) fn io(context: impl Into<String>, error: std::io::Error) -> ImageError {
        ImageError::Io {
            context: context.into(),
            error,
        }
    }

    pub(crate) fn refused(input: impl Into<String>, problem: impl Into<String>) -> ImageError {
        ImageError::Refused {
            input: input.into(),
            problem: problem.into(),
        }
    }
}

/// True when sbx runs as root (owners, device nodes, whiteouts and
/// overlay mounts need it).
pub(crate) fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[cfg(test)]
mod tests;
