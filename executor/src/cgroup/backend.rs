//! What a cgroup version must provide, and the teardown both share.

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::time::Duration;

use sbx_plan::CgroupLimits;

use super::fs::CgroupDir;
use super::{CgroupError, CgroupHost, CgroupStats, CgroupVersion, CgroupWarning};

/// One cgroup version's way of making, filling and emptying the sandbox's
/// cgroup. A backend is built with its placement already decided and every
/// limit checked (`V1Cgroup::plan`, `V2Cgroup::plan`), without side
/// effects; [`CgroupBackend::create`] then makes the change.
pub(crate) trait CgroupBackend: fmt::Debug + Send {
    fn version(&self) -> CgroupVersion;

    /// Makes the directories and writes every limit, each read back. On
    /// failure, removes what it made before returning the error.
    fn create(
        &mut self,
        name: &str,
        limits: &CgroupLimits,
    ) -> Result<Vec<CgroupWarning>, CgroupError>;

    /// The directories made, in creation order.
    fn dirs(&self) -> &[CgroupDir];

    /// One round of killing everything in the cgroup; `pids` are the ones
    /// seen just now.
    fn kill(&self, pids: &[i32]) -> Result<(), CgroupError> {
        let Some(dir) = self.dirs().first() else {
            return Ok(());
        };
        for &pid in pids {
            dir.fs()
                .kill(pid)
                .map_err(|source| CgroupError::Kill { pid, source })?;
        }
        Ok(())
    }

    fn stats(&self) -> Result<CgroupStats, CgroupError>;
}

/// The pids in any of `dirs` (a directory already gone counts as empty).
pub(crate) fn pids(dirs: &[CgroupDir]) -> Result<Vec<i32>, CgroupError> {
    let mut all = BTreeSet::new();
    for dir in dirs {
        match dir.procs() {
            Ok(pids) => all.extend(pids),
            Err(CgroupError::Read { source, .. }) if source.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
    }
    Ok(all.into_iter().collect())
}

/// Kills until no directory lists a process, looking every 10 ms; a
/// cgroup still populated after `host.empty_attempts` looks is an error.
pub(crate) fn kill_until_empty(
    backend: &dyn CgroupBackend,
    host: &CgroupHost,
) -> Result<(), CgroupError> {
    let mut left = Vec::new();
    for _ in 0..host.empty_attempts.max(1) {
        left = pids(backend.dirs())?;
        if left.is_empty() {
            return Ok(());
        }
        backend.kill(&left)?;
        host.fs.pause(Duration::from_millis(10));
    }
    let path = backend
        .dirs()
        .first()
        .map(|d| d.path().display().to_string())
        .unwrap_or_default();
    Err(CgroupError::NotEmpty { path, pids: left })
}

/// Removes `dirs` newest first, trying every one; returns what failed. A
/// directory already gone is fine; EBUSY is retried (v1 may still be
/// releasing exited tasks).
pub(crate) fn remove_dirs(dirs: &[CgroupDir], host: &CgroupHost) -> Vec<String> {
    let mut failures = Vec::new();
    for dir in dirs.iter().rev() {
        let mut attempt = 0;
        loop {
            match dir.fs().rmdir(dir.path()) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempt < 50 => {
                    attempt += 1;
                    host.fs.pause(Duration::from_millis(10));
                }
                Err(e) => {
                    failures.push(format!("cannot remove `{}`: {e}", dir.path().display()));
                    break;
                }
            }
        }
    }
    failures
}

/// Undoes a half-made cgroup after `cause`: the error keeps both.
pub(crate) fn rolled_back(
    cause: CgroupError,
    dirs: &[CgroupDir],
    host: &CgroupHost,
) -> CgroupError {
    let failures = remove_dirs(dirs, host);
    if failures.is_empty() {
        cause
    } else {
        CgroupError::RollbackFailed {
            cause: Box::new(cause),
            failures,
        }
    }
}
