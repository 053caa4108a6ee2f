//! The thin cgroupfs layer: every cgroup file is reached through
//! [`CgroupFs`], and every value written is read back through
//! [`CgroupDir::set`].
//!
//! The executor's [`crate::sys::Sys`] deliberately leaves reads out; here the
//! reads are half of the work (a write is only trusted once it reads back),
//! so the whole of it goes through one trait. [`HostCgroupFs`] is the real
//! kernel; the unit tests use a fake cgroupfs in a temporary directory that
//! models the kernel's answers (page rounding, list normalisation, refused
//! values) and records the call sequence.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::convert;
use super::CgroupError;

/// The kernel calls the cgroup backends make.
pub trait CgroupFs: fmt::Debug + Send + Sync {
    /// `mkdir(2)` of one cgroup directory.
    fn mkdir(&self, path: &Path) -> io::Result<()>;
    /// `rmdir(2)` of one cgroup directory.
    fn rmdir(&self, path: &Path) -> io::Result<()>;
    /// Reads a whole cgroup (or `/proc`, `/sys`) file.
    fn read(&self, path: &Path) -> io::Result<String>;
    /// Writes `value` to an existing file in one `write(2)` (never creates).
    fn write(&self, path: &Path, value: &str) -> io::Result<()>;
    /// Whether the file or directory exists.
    fn exists(&self, path: &Path) -> bool;
    /// The names in a directory.
    fn list(&self, path: &Path) -> io::Result<Vec<String>>;
    /// `kill(pid, SIGKILL)`; a process already gone is not an error.
    fn kill(&self, pid: i32) -> io::Result<()>;
    /// Waits a little between two looks at a cgroup that is emptying.
    fn pause(&self, duration: Duration);
}

/// The real kernel.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostCgroupFs;

impl CgroupFs for HostCgroupFs {
    fn mkdir(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir(path)
    }

    fn rmdir(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_dir(path)
    }

    fn read(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn write(&self, path: &Path, value: &str) -> io::Result<()> {
        use std::io::Write;
        // One write(2) of the whole value: cgroup files parse each write on
        // its own, and `write_all` could split it.
        let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
        let written = file.write(value.as_bytes())?;
        if written != value.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("short write ({written} of {} bytes)", value.len()),
            ));
        }
        Ok(())
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn list(&self, path: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(path)? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    fn kill(&self, pid: i32) -> io::Result<()> {
        use nix::sys::signal::{kill, Signal};
        use nix::unistd::Pid;
        match kill(Pid::from_raw(pid), Signal::SIGKILL) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
            Err(errno) => Err(io::Error::from_raw_os_error(errno as i32)),
        }
    }

    fn pause(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// How a value written to a cgroup file must read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Readback {
    /// This exact text (surrounding whitespace ignored).
    Exact(String),
    /// The same cpu or node list (`0-2` and `0,1,2` are equal).
    List,
    /// A weight: the number alone (v1 `blkio.bfq.weight`) or a
    /// `default N` line (v2 `io.weight`, `io.bfq.weight`).
    Weight(u64),
}

/// One cgroup directory in one hierarchy.
#[derive(Clone)]
pub(crate) struct CgroupDir {
    fs: Arc<dyn CgroupFs>,
    path: PathBuf,
}

impl fmt::Debug for CgroupDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())
    }
}

impl CgroupDir {
    pub(crate) fn new(fs: Arc<dyn CgroupFs>, path: PathBuf) -> CgroupDir {
        CgroupDir { fs, path }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn fs(&self) -> &Arc<dyn CgroupFs> {
        &self.fs
    }

    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Whether the directory has the file `name` (its controller is there).
    pub(crate) fn has(&self, name: &str) -> bool {
        self.fs.exists(&self.file(name))
    }

    pub(crate) fn read(&self, name: &str) -> Result<String, CgroupError> {
        let file = self.file(name);
        self.fs.read(&file).map_err(|source| CgroupError::Read {
            file: file.display().to_string(),
            source,
        })
    }

    /// A file holding one number.
    pub(crate) fn read_u64(&self, name: &str) -> Result<u64, CgroupError> {
        let text = self.read(name)?;
        text.trim().parse().map_err(|_| CgroupError::Unreadable {
            file: self.file(name).display().to_string(),
            text: text.trim().to_string(),
        })
    }

    /// The number after `key` in a flat keyed file (`oom_kill 3`); `None`
    /// when the file has no such line.
    pub(crate) fn read_keyed(&self, name: &str, key: &str) -> Result<Option<u64>, CgroupError> {
        let text = self.read(name)?;
        match convert::keyed_value(&text, key) {
            Some(Ok(value)) => Ok(Some(value)),
            Some(Err(())) => Err(CgroupError::Unreadable {
                file: self.file(name).display().to_string(),
                text: text.trim().to_string(),
            }),
            None => Ok(None),
        }
    }

    /// The pids listed in `cgroup.procs`.
    pub(crate) fn procs(&self) -> Result<Vec<i32>, CgroupError> {
        let text = self.read("cgroup.procs")?;
        let mut pids = Vec::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            pids.push(line.parse().map_err(|_| CgroupError::Unreadable {
                file: self.file("cgroup.procs").display().to_string(),
                text: line.to_string(),
            })?);
        }
        Ok(pids)
    }

    /// Writes without reading back: only for files that do not hold a value
    /// (`cgroup.procs`, `cgroup.kill`, `cgroup.subtree_control`).
    pub(crate) fn write(&self, name: &str, value: &str) -> Result<(), CgroupError> {
        let file = self.file(name);
        self.fs
            .write(&file, value)
            .map_err(|source| CgroupError::Write {
                file: file.display().to_string(),
                value: value.to_string(),
                source,
            })
    }

    /// Writes `value` to `name`, reads it back and fails unless it reads as
    /// `expected`: the kernel (and cgroups-rs before us) can accept a write
    /// and keep another value.
    pub(crate) fn set(
        &self,
        name: &str,
        value: &str,
        expected: Readback,
    ) -> Result<(), CgroupError> {
        let file = self.file(name);
        if !self.fs.exists(&file) {
            return Err(CgroupError::FileMissing {
                file: file.display().to_string(),
            });
        }
        self.write(name, value)?;
        let read = self.read(name)?;
        let matches = match &expected {
            Readback::Exact(text) => read.trim() == text.trim(),
            Readback::List => match (convert::parse_list(value), convert::parse_list(&read)) {
                (Ok(want), Ok(got)) => want == got,
                _ => false,
            },
            Readback::Weight(weight) => match convert::keyed_value(&read, "default") {
                Some(found) => found == Ok(*weight),
                None => read.trim().parse() == Ok(*weight),
            },
        };
        if matches {
            Ok(())
        } else {
            Err(CgroupError::Mismatch {
                file: file.display().to_string(),
                written: value.to_string(),
                read: read.trim().replace('\n', "; "),
            })
        }
    }
}
