//! Parent and sandbox talk through typed messages on one-way pipes, wrapped
//! in role-named methods (youki's `channel` style).
//!
//! Three pipes:
//! - parent -> init: "go on" once the parent's steps are done (maps written,
//!   cgroup joined, interfaces moved in);
//! - init -> parent: step timings, a failure naming its step, "started",
//!   and at the end how the workload ended;
//! - workload -> init: step timings and a failure before exec. Its write end
//!   is close-on-exec, so end of file without a failure means exec succeeded.
//!
//! Each message is one JSON line written with a single `write(2)` (smaller
//! than `PIPE_BUF`, so never interleaved).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use serde::{Deserialize, Serialize};

/// What the parent tells the sandbox init.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToSandbox {
    /// The parent's steps are done: the init may set the sandbox up.
    Proceed,
}

/// A step inside the sandbox that failed, as sent to the parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepFailure {
    /// The step, as `-v` names it (`set hostname`, `exec`).
    pub step: String,
    /// The kernel's errno, when the failure is one.
    pub errno: Option<i32>,
    /// What failed, for the user.
    pub detail: String,
}

/// What the sandbox tells the parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FromSandbox {
    /// A step finished (sent only with `-v`).
    StepDone { step: String, micros: u64 },
    /// A step failed; the sandbox is exiting.
    Failed(StepFailure),
    /// The workload was executed: everything before it succeeded.
    Started,
    /// The workload exited with this status.
    Exited { code: i32 },
    /// The workload was killed by this signal.
    Signaled { signal: i32 },
}

/// A pipe pair, both ends close-on-exec.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io::Error::from)
}

/// Writes one message as one line in one `write(2)`.
fn send<T: Serialize>(fd: BorrowedFd<'_>, message: &T) -> io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(io::Error::other)?;
    line.push(b'\n');
    let mut written = 0;
    while written < line.len() {
        match nix::unistd::write(fd, &line[written..]) {
            Ok(n) => written += n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The reading end of a pipe of messages, with its own line buffer.
#[derive(Debug)]
pub struct Receiver {
    fd: OwnedFd,
    buffer: Vec<u8>,
}

impl Receiver {
    pub fn new(fd: OwnedFd) -> Receiver {
        Receiver {
            fd,
            buffer: Vec::new(),
        }
    }

    /// True when a whole message is already buffered (poll would not say so).
    pub fn has_buffered(&self) -> bool {
        self.buffer.contains(&b'\n')
    }

    /// The next message, `None` at end of file (every writer closed).
    pub fn receive<T: for<'de> Deserialize<'de>>(&mut self) -> io::Result<Option<T>> {
        loop {
            if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                return serde_json::from_slice(&line[..end])
                    .map(Some)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e));
            }
            let mut chunk = [0u8; 4096];
            match nix::unistd::read(self.fd.as_fd(), &mut chunk) {
                Ok(0) => {
                    if self.buffer.is_empty() {
                        return Ok(None);
                    }
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "a message was cut short",
                    ));
                }
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl AsRawFd for Receiver {
    fn as_raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }
}

impl AsFd for Receiver {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The parent's side: sends `Proceed`, receives what the sandbox reports.
#[derive(Debug)]
pub struct ParentChannel {
    to_init: OwnedFd,
    pub from_sandbox: Receiver,
}

/// The init's side of its channel to the parent.
#[derive(Debug)]
pub struct InitChannel {
    from_parent: Receiver,
    to_parent: OwnedFd,
}

/// The workload's side: reports steps and a failure to the init.
#[derive(Debug)]
pub struct WorkloadChannel {
    to_init: OwnedFd,
}

/// The two ends of the channel between parent and init, before the clone.
#[derive(Debug)]
pub struct ChannelPair {
    pub parent: ParentChannel,
    pub init: InitChannel,
}

impl ChannelPair {
    pub fn new() -> io::Result<ChannelPair> {
        let (down_read, down_write) = pipe()?;
        let (up_read, up_write) = pipe()?;
        Ok(ChannelPair {
            parent: ParentChannel {
                to_init: down_write,
                from_sandbox: Receiver::new(up_read),
            },
            init: InitChannel {
                from_parent: Receiver::new(down_read),
                to_parent: up_write,
            },
        })
    }
}

impl ParentChannel {
    /// Tells the init that the parent's steps are done.
    pub fn proceed(&self) -> io::Result<()> {
        send(self.to_init.as_fd(), &ToSandbox::Proceed)
    }

    /// The next report of the sandbox; `None` when the init is gone.
    pub fn next_report(&mut self) -> io::Result<Option<FromSandbox>> {
        self.from_sandbox.receive()
    }
}

impl InitChannel {
    /// Waits until the parent's steps are done; `false` when the parent went
    /// away (or told something else) instead.
    pub fn wait_for_proceed(&mut self) -> bool {
        matches!(self.from_parent.receive(), Ok(Some(ToSandbox::Proceed)))
    }

    pub fn report(&self, message: &FromSandbox) -> io::Result<()> {
        send(self.to_parent.as_fd(), message)
    }

    pub fn step_done(&self, step: &str, micros: u64) -> io::Result<()> {
        self.report(&FromSandbox::StepDone {
            step: step.to_string(),
            micros,
        })
    }

    pub fn step_failed(&self, failure: StepFailure) -> io::Result<()> {
        self.report(&FromSandbox::Failed(failure))
    }

    pub fn workload_started(&self) -> io::Result<()> {
        self.report(&FromSandbox::Started)
    }

    pub fn workload_exited(&self, code: i32) -> io::Result<()> {
        self.report(&FromSandbox::Exited { code })
    }

    pub fn workload_killed(&self, signal: i32) -> io::Result<()> {
        self.report(&FromSandbox::Signaled { signal })
    }
}

impl WorkloadChannel {
    /// The channel between the init and the workload it is about to fork.
    pub fn pair() -> io::Result<(Receiver, WorkloadChannel)> {
        let (read, write) = pipe()?;
        Ok((Receiver::new(read), WorkloadChannel { to_init: write }))
    }

    pub fn step_done(&self, step: &str, micros: u64) -> io::Result<()> {
        send(
            self.to_init.as_fd(),
            &FromSandbox::StepDone {
                step: step.to_string(),
                micros,
            },
        )
    }

    pub fn step_failed(&self, failure: StepFailure) -> io::Result<()> {
        send(self.to_init.as_fd(), &FromSandbox::Failed(failure))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_cross_in_order_and_eof_ends() {
        let pair = ChannelPair::new().unwrap();
        let ChannelPair { mut parent, init } = pair;
        init.step_done("set hostname", 12).unwrap();
        init.step_failed(StepFailure {
            step: "exec".into(),
            errno: Some(2),
            detail: "`/nope` not found".into(),
        })
        .unwrap();
        drop(init);
        assert_eq!(
            parent.next_report().unwrap(),
            Some(FromSandbox::StepDone {
                step: "set hostname".into(),
                micros: 12
            })
        );
        assert!(matches!(
            parent.next_report().unwrap(),
            Some(FromSandbox::Failed(StepFailure { errno: Some(2), .. }))
        ));
        assert_eq!(parent.next_report().unwrap(), None);
    }

    #[test]
    fn init_waits_for_proceed_and_sees_a_vanished_parent() {
        let ChannelPair { parent, mut init } = ChannelPair::new().unwrap();
        parent.proceed().unwrap();
        assert!(init.wait_for_proceed());
        drop(parent);
        assert!(!init.wait_for_proceed());
    }
}
