//! The sandbox side of apply: the init (PID 1 of the sandbox) and the
//! workload it forks, from the new namespaces to exec.
//!
//! The setup is one top-to-bottom sequence (crun's `container_init_setup`,
//! runc's `standard_init_linux.go`), split in two because a new time
//! namespace applies to children only and because the init stays behind to
//! reap and forward signals:
//!
//! - [`init_steps`], in the init: become root of the user namespace, the
//!   cgroup namespace (after the parent joined us to the cgroup), loopback,
//!   the root filesystem, hostname and domainname (while we still hold
//!   CAP_SYS_ADMIN), the time namespace (before the fork).
//! - [`workload_steps`], in the forked workload: session, rlimits (before
//!   the uid changes, while raising is still allowed), the bounding set
//!   (needs CAP_SETPCAP, so before anything drops it), groups/gid/uid with
//!   keep-caps, umask, workdir (as the workload's user), capability sets,
//!   ambient set, no_new_privs, the seccomp slot (last: a filter could
//!   forbid the calls above), exec.
//!
//! Every kernel call goes through [`Sys`]; every step is named, and a
//! failure travels to the parent as a message naming the step.

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Instant;

use sbx_plan::Plan;

use crate::capability::CapabilitySet;
use crate::channel::{InitChannel, Receiver, StepFailure, WorkloadChannel};
use crate::preflight::Launch;
use crate::sys::{CapabilitySets, CloneFlags, CloneResult, Errno, Sys};

/// The name of the exec step, which the parent maps to 126 and 127.
pub const EXEC_STEP: &str = "exec the workload";

/// The signals the init forwards to the workload.
pub const FORWARDED_SIGNALS: [i32; 6] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// Runs named steps, times them, and reports each to a sink (`-v`).
pub struct Steps<'a> {
    on_done: &'a dyn Fn(&str, u64),
}

impl<'a> Steps<'a> {
    pub fn new(on_done: &'a dyn Fn(&str, u64)) -> Steps<'a> {
        Steps { on_done }
    }

    /// Reports a step done elsewhere (a whole module's, or a parent's).
    pub fn done(&self, step: &str, micros: u64) {
        (self.on_done)(step, micros)
    }

    /// Runs one step; a kernel failure becomes a failure naming the step.
    pub fn run<T>(
        &self,
        step: &str,
        detail: impl FnOnce() -> String,
        f: impl FnOnce() -> Result<T, Errno>,
    ) -> Result<T, StepFailure> {
        let start = Instant::now();
        match f() {
            Ok(value) => {
                self.done(step, start.elapsed().as_micros() as u64);
                Ok(value)
            }
            Err(errno) => Err(StepFailure {
                step: step.to_string(),
                errno: Some(errno as i32),
                detail: format!("{}: {}", detail(), errno.desc().to_lowercase()),
            }),
        }
    }
}

/// The init's steps, from the new namespaces to the workload's fork.
pub fn init_steps(
    sys: &dyn Sys,
    plan: &Plan,
    launch: &Launch,
    steps: &Steps,
) -> Result<(), StepFailure> {
    if launch.user_namespace.is_some() {
        // The maps are written: become root of the user namespace, so that
        // files made from here on belong to it (and not to the overflow id).
        steps.run(
            "become root of the user namespace",
            || "setresgid(0) and setresuid(0)".into(),
            || {
                sys.setresgid(0)?;
                sys.setresuid(0)
            },
        )?;
    }
    if launch.unshare_cgroup {
        // After the parent moved us into the sandbox's cgroup: the new
        // namespace's root is that cgroup, so the workload sees `/`.
        steps.run(
            "create the cgroup namespace",
            || "unshare(CLONE_NEWCGROUP)".into(),
            || sys.unshare(CloneFlags::CLONE_NEWCGROUP),
        )?;
    }
    if launch.creates(CloneFlags::CLONE_NEWNET) {
        steps.run(
            "bring loopback up",
            || "`lo` up".into(),
            || sys.set_loopback_up(),
        )?;
    }
    // Mounts private first, then the new root, pivot_root, /proc, /dev,
    // mounts, masked and read-only paths (see rootfs::prepare).
    let start = Instant::now();
    crate::rootfs::prepare(plan, sys).map_err(|e| StepFailure {
        step: e
            .step()
            .map(|s| format!("rootfs: {s}"))
            .unwrap_or_else(|| "rootfs".into()),
        errno: match &e {
            crate::rootfs::RootfsError::Step(error) => Some(error.errno as i32),
            crate::rootfs::RootfsError::Setting { .. } => None,
        },
        // The step is named above: the detail must not repeat it.
        detail: match &e {
            crate::rootfs::RootfsError::Step(error) => error.detail(),
            crate::rootfs::RootfsError::Setting { .. } => e.to_string(),
        },
    })?;
    steps.done(
        "build the root filesystem",
        start.elapsed().as_micros() as u64,
    );
    // Before any capability is dropped: sethostname needs CAP_SYS_ADMIN in
    // the owner of the uts namespace.
    if let Some(hostname) = &launch.hostname {
        steps.run(
            "set hostname",
            || format!("sethostname `{hostname}`"),
            || sys.sethostname(hostname),
        )?;
    }
    if let Some(domainname) = &launch.domainname {
        steps.run(
            "set domainname",
            || format!("setdomainname `{domainname}`"),
            || sys.setdomainname(domainname),
        )?;
    }
    if launch.unshare_time {
        // A new time namespace applies to the children of the caller: the
        // workload, forked next.
        steps.run(
            "create the time namespace",
            || "unshare(CLONE_NEWTIME)".into(),
            || sys.unshare(CloneFlags::from_bits_retain(libc::CLONE_NEWTIME)),
        )?;
    }
    Ok(())
}

/// The workload's steps, from its fork to exec. Returns only on failure
/// (for real) or after the recorded exec (in tests).
pub fn workload_steps(
    sys: &dyn Sys,
    launch: &Launch,
    terminal: Option<i32>,
    steps: &Steps,
) -> Result<(), StepFailure> {
    // A session of its own: job-control signals of the caller's terminal
    // do not reach it through sbx's process group, and it can take a
    // controlling terminal.
    steps.run("start a new session", || "setsid".into(), || sys.setsid())?;
    if let Some(slave) = terminal {
        // The pty's slave becomes the session's controlling terminal and
        // the workload's stdin, stdout and stderr.
        steps.run(
            "attach the terminal",
            || "TIOCSCTTY and dup2 onto 0, 1, 2".into(),
            || {
                sys.set_controlling_terminal(slave)?;
                for fd in 0..3 {
                    sys.dup2(slave, fd)?;
                }
                Ok(())
            },
        )?;
    }
    // Before the uid changes: raising a limit needs the privilege we still
    // have.
    for limit in &launch.rlimits {
        steps.run(
            &format!("set rlimit {}", limit.name),
            || format!("setrlimit `{}`", limit.name),
            || sys.setrlimit(limit.resource, limit.soft, limit.hard),
        )?;
    }
    let caps = &launch.capabilities;
    // The bounding set first: dropping from it needs CAP_SETPCAP in the
    // effective set, which the steps below take away.
    steps.run(
        "drop capabilities from the bounding set",
        || "prctl(PR_CAPBSET_DROP)".into(),
        || {
            for n in CapabilitySet::all_up_to(caps.last)
                .difference(caps.bounding)
                .numbers()
            {
                sys.drop_bounding_capability(n)?;
            }
            Ok(())
        },
    )?;
    // Keep the permitted set across the uid change (it is cleared when a
    // process with uid 0 changes to a non-zero uid otherwise).
    steps.run(
        "keep capabilities across the uid change",
        || "prctl(PR_SET_KEEPCAPS, 1)".into(),
        || sys.set_keep_capabilities(true),
    )?;
    let identity = &launch.identity;
    if !launch.rootless {
        // Unprivileged user namespaces have setgroups denied: the caller's
        // groups are all the workload can have there.
        steps.run(
            "set supplementary groups",
            || format!("setgroups {:?}", identity.groups),
            || sys.setgroups(&identity.groups),
        )?;
    }
    steps.run(
        "set gid",
        || format!("setresgid {}", identity.gid),
        || sys.setresgid(identity.gid),
    )?;
    steps.run(
        "set uid",
        || format!("setresuid {}", identity.uid),
        || sys.setresuid(identity.uid),
    )?;
    steps.run(
        "stop keeping capabilities",
        || "prctl(PR_SET_KEEPCAPS, 0)".into(),
        || sys.set_keep_capabilities(false),
    )?;
    if let Some(mask) = launch.umask {
        steps.run(
            "set umask",
            || format!("umask {mask:#o}"),
            || sys.umask(mask),
        )?;
    }
    // As the workload's user, so that a workdir it may not enter fails.
    steps.run(
        "change to the working directory",
        || format!("chdir `{}`", launch.cwd),
        || sys.chdir(Path::new(&launch.cwd)),
    )?;
    // Ambient cleared (capset would drop it anyway when lowering the
    // inheritable set; explicit is clearer), then effective, permitted,
    // inheritable at once, then the ambient set, which needs its
    // capabilities permitted and inheritable already.
    steps.run(
        "clear the ambient capabilities",
        || "prctl(PR_CAP_AMBIENT_CLEAR_ALL)".into(),
        || sys.clear_ambient_capabilities(),
    )?;
    steps.run(
        "set the capability sets",
        || {
            format!(
                "capset effective {:?} permitted {:?} inheritable {:?}",
                caps.effective, caps.permitted, caps.inheritable
            )
        },
        || {
            sys.set_capabilities(CapabilitySets {
                effective: caps.effective.0,
                permitted: caps.permitted.0,
                inheritable: caps.inheritable.0,
            })
        },
    )?;
    if !caps.ambient.is_empty() {
        steps.run(
            "raise the ambient capabilities",
            || format!("ambient {:?}", caps.ambient),
            || {
                for n in caps.ambient.numbers() {
                    sys.raise_ambient_capability(n)?;
                }
                Ok(())
            },
        )?;
    }
    if launch.no_new_privileges {
        steps.run(
            "set no_new_privs",
            || "prctl(PR_SET_NO_NEW_PRIVS, 1)".into(),
            || sys.set_no_new_privileges(),
        )?;
    }
    // The seccomp slot, last before exec: a filter may forbid the calls
    // above. sbx has no seccomp filter yet; the step stays, empty, so that
    // the order is fixed when one comes.
    steps.run("seccomp (no filter)", String::new, || Ok(()))?;
    exec(sys, launch, steps)
}

/// The init stays for the sandbox's whole life beside the workload: once
/// the workload is forked it gives up what it needed for the setup. It
/// keeps CAP_KILL (to signal a workload of another uid) and nothing else,
/// within the workload's bounding set, with no_new_privs, and not dumpable
/// (a workload allowed to ptrace cannot attach to it or read its memory).
pub fn restrict_init(sys: &dyn Sys, launch: &Launch, steps: &Steps) -> Result<(), StepFailure> {
    let caps = &launch.capabilities;
    let kill = CapabilitySet::EMPTY.with(crate::capability::CAP_KILL);
    steps.run(
        "restrict the init",
        || "not dumpable, bounding set, CAP_KILL only, no_new_privs".into(),
        || {
            sys.set_dumpable(false)?;
            for n in CapabilitySet::all_up_to(caps.last)
                .difference(caps.bounding.union(kill))
                .numbers()
            {
                sys.drop_bounding_capability(n)?;
            }
            sys.clear_ambient_capabilities()?;
            sys.set_capabilities(CapabilitySets {
                effective: kill.0,
                permitted: kill.0,
                inheritable: 0,
            })?;
            sys.set_no_new_privileges()
        },
    )
}

/// Executes the workload, searching `PATH` as `execvp(3)` does: a name
/// without `/` is tried in each directory; `EACCES` in one does not stop
/// the search but is reported if nothing else is found.
fn exec(sys: &dyn Sys, launch: &Launch, steps: &Steps) -> Result<(), StepFailure> {
    let program = launch.args[0].to_string_lossy().into_owned();
    let candidates: Vec<PathBuf> = if program.contains('/') {
        vec![PathBuf::from(&program)]
    } else {
        launch
            .path_variable()
            .split(':')
            .map(|dir| if dir.is_empty() { "." } else { dir })
            .map(|dir| Path::new(dir).join(&program))
            .collect()
    };
    let mut denied: Option<Errno> = None;
    for candidate in &candidates {
        let Ok(path) = CString::new(candidate.as_os_str().as_encoded_bytes()) else {
            continue;
        };
        // Signals were blocked for the init's signalfd: the workload starts
        // with none blocked, as any program expects.
        if let Err(e) = sys.unblock_signals() {
            return Err(StepFailure {
                step: EXEC_STEP.into(),
                errno: Some(e as i32),
                detail: format!("unblocking signals: {}", e.desc().to_lowercase()),
            });
        }
        match sys.execve(&path, &launch.args, &launch.env) {
            Ok(()) => {
                steps.done(EXEC_STEP, 0);
                return Ok(());
            }
            Err(Errno::ENOENT | Errno::ENOTDIR) => continue,
            Err(e @ (Errno::EACCES | Errno::EPERM | Errno::ENOEXEC)) => {
                denied.get_or_insert(e);
                if program.contains('/') {
                    break;
                }
            }
            Err(e) => {
                return Err(StepFailure {
                    step: EXEC_STEP.into(),
                    errno: Some(e as i32),
                    detail: format!("`{}`: {}", candidate.display(), e.desc().to_lowercase()),
                })
            }
        }
    }
    Err(match denied {
        Some(e) => StepFailure {
            step: EXEC_STEP.into(),
            errno: Some(e as i32),
            detail: format!(
                "`{program}` cannot be executed: {}",
                e.desc().to_lowercase()
            ),
        },
        None => StepFailure {
            step: EXEC_STEP.into(),
            errno: Some(Errno::ENOENT as i32),
            detail: if program.contains('/') {
                format!("`{program}` not found in the sandbox")
            } else {
                format!(
                    "`{program}` not found in the sandbox's PATH `{}`",
                    launch.path_variable()
                )
            },
        },
    })
}

extern "C" fn ignore_signal(_: libc::c_int) {}

/// The init: runs in the new process right after the clone, never returns.
///
/// Waits for the parent's go, sets the sandbox up, forks the workload,
/// relays its setup report, then stays as PID 1: forwards signals to the
/// workload, reaps every process that ends, and reports how the workload
/// ended. The forwarded signals and SIGCHLD arrive blocked (the parent
/// blocked them before the clone) and are read from a signalfd.
pub fn run_init(
    sys: &dyn Sys,
    plan: &Plan,
    launch: &Launch,
    mut channel: InitChannel,
    terminal: Option<i32>,
    verbose: bool,
) -> ! {
    // If sbx dies, the sandbox dies with it.
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    // Named for what it is in `ps` inside and outside the sandbox.
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
    unsafe {
        libc::prctl(
            libc::PR_SET_NAME,
            c"sbx-init".as_ptr() as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    if !channel.wait_for_proceed() {
        // The parent failed (and unwinds) or died: nothing to report to.
        exit_now(1);
    }
    let report = |step: &str, micros: u64| {
        if verbose {
            let _ = channel.step_done(step, micros);
        }
    };
    let steps = Steps::new(&report);
    // Out of the caller's session and process group: a Ctrl-C on sbx's
    // terminal reaches sbx only, which forwards it once (through us).
    let _ = sys.setsid();
    if let Err(failure) = init_steps(sys, plan, launch, &steps) {
        let _ = channel.step_failed(failure);
        exit_now(1);
    }
    // PID 1 of a pid namespace gets a signal from outside only if it has a
    // handler: install one (never run: the signals stay blocked and are read
    // from the signalfd). Without a pid namespace, become the subreaper of
    // the workload's orphans.
    for signal in FORWARDED_SIGNALS {
        // SAFETY: installing a handler that does nothing.
        unsafe { libc::signal(signal, ignore_signal as *const () as libc::sighandler_t) };
    }
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) };
    let (mut from_workload, to_init) = match WorkloadChannel::pair() {
        Ok(pair) => pair,
        Err(e) => {
            let _ = channel.step_failed(StepFailure {
                step: "fork the workload".into(),
                errno: e.raw_os_error(),
                detail: format!("a pipe to the workload: {e}"),
            });
            exit_now(1);
        }
    };
    let workload = match sys.fork() {
        Ok(CloneResult::Child) => {
            drop(from_workload);
            let report = |step: &str, micros: u64| {
                if verbose {
                    let _ = to_init.step_done(step, micros);
                }
            };
            let steps = Steps::new(&report);
            // The handlers above must not survive in the workload until
            // exec resets them: restore the defaults now.
            for signal in FORWARDED_SIGNALS {
                // SAFETY: restoring the default disposition.
                unsafe { libc::signal(signal, libc::SIG_DFL) };
            }
            if let Err(failure) = workload_steps(sys, launch, terminal, &steps) {
                let _ = to_init.step_failed(failure);
            }
            exit_now(127);
        }
        Ok(CloneResult::Parent { child }) => child,
        Err(errno) => {
            let _ = channel.step_failed(StepFailure {
                step: "fork the workload".into(),
                errno: Some(errno as i32),
                detail: format!("fork: {}", errno.desc().to_lowercase()),
            });
            exit_now(1);
        }
    };
    drop(to_init);
    if let Err(failure) = restrict_init(sys, launch, &steps) {
        let _ = sys.kill(workload, libc::SIGKILL);
        let _ = sys.waitpid(workload);
        let _ = channel.step_failed(failure);
        exit_now(1);
    }
    // Relay the workload's setup report; end of file without a failure
    // means its exec succeeded (the pipe is close-on-exec).
    let mut failed = false;
    loop {
        match from_workload.receive::<crate::channel::FromSandbox>() {
            Ok(Some(crate::channel::FromSandbox::Failed(failure))) => {
                failed = true;
                let _ = channel.step_failed(failure);
            }
            Ok(Some(message)) => {
                let _ = channel.report(&message);
            }
            Ok(None) => break,
            Err(e) => {
                failed = true;
                let _ = channel.step_failed(StepFailure {
                    step: EXEC_STEP.into(),
                    errno: e.raw_os_error(),
                    detail: format!("reading the workload's report: {e}"),
                });
                break;
            }
        }
    }
    drop(from_workload);
    if !failed {
        let _ = channel.workload_started();
    }
    let status = supervise(sys, workload, launch.creates(CloneFlags::CLONE_NEWPID));
    if !failed {
        match status {
            WorkloadEnd::Exited(code) => {
                let _ = channel.workload_exited(code);
            }
            WorkloadEnd::Killed(signal) => {
                let _ = channel.workload_killed(signal);
            }
        }
    }
    exit_now(0)
}

enum WorkloadEnd {
    Exited(i32),
    Killed(i32),
}

/// Forwards signals to the workload and reaps until it ends; then ends
/// every process left (orphans the workload left behind).
fn supervise(sys: &dyn Sys, workload: i32, pid_namespace: bool) -> WorkloadEnd {
    use nix::sys::signal::{SigSet, Signal};
    use nix::sys::signalfd::{SfdFlags, SignalFd};
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};

    let mut mask = SigSet::empty();
    for s in FORWARDED_SIGNALS {
        if let Ok(s) = Signal::try_from(s) {
            mask.add(s);
        }
    }
    mask.add(Signal::SIGCHLD);
    let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC).ok();
    let mut end = None;
    'outer: loop {
        // Reap whatever ended; the workload's status is the one we report.
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid.as_raw() == workload => {
                    end = Some(WorkloadEnd::Exited(code))
                }
                Ok(WaitStatus::Signaled(pid, signal, _)) if pid.as_raw() == workload => {
                    end = Some(WorkloadEnd::Killed(signal as i32))
                }
                Ok(WaitStatus::StillAlive) => break,
                Ok(_) => continue,
                Err(Errno::EINTR) => continue,
                Err(_) => break 'outer, // ECHILD: nothing left
            }
        }
        if end.is_some() {
            break;
        }
        match &signals {
            Some(fd) => {
                if let Ok(Some(info)) = fd.read_signal() {
                    let signal = info.ssi_signo as i32;
                    if signal != libc::SIGCHLD {
                        let _ = sys.kill(workload, signal);
                    }
                }
            }
            None => {
                // No signalfd: wait for the workload blocking.
                let _ = waitpid(nix::unistd::Pid::from_raw(workload), None).map(|s| match s {
                    WaitStatus::Exited(_, code) => end = Some(WorkloadEnd::Exited(code)),
                    WaitStatus::Signaled(_, sig, _) => end = Some(WorkloadEnd::Killed(sig as i32)),
                    _ => {}
                });
            }
        }
    }
    if !pid_namespace {
        // Orphans were re-parented to us (subreaper): end them and reap,
        // so that nothing of the sandbox outlives it.
        kill_children(sys);
    }
    // With a pid namespace, our exit kills every process left in it.
    end.unwrap_or(WorkloadEnd::Exited(0))
}

fn kill_children(sys: &dyn Sys) {
    use nix::sys::wait::waitpid;
    loop {
        let children: Vec<i32> = std::fs::read_dir("/proc/self/task")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
            .flat_map(|s| {
                s.split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect::<Vec<i32>>()
            })
            .collect();
        for child in &children {
            let _ = sys.kill(*child, libc::SIGKILL);
        }
        match waitpid(None, None) {
            Ok(_) => continue,
            Err(Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
}

/// Ends the process without running Rust's exit machinery (this is a copy
/// of sbx made by clone or fork: its buffers belong to the parent).
fn exit_now(code: i32) -> ! {
    // SAFETY: _exit(2) ends the process immediately.
    unsafe { libc::_exit(code) }
}

/// The raw fd of a receiver (for poll).
pub fn raw_fd(receiver: &Receiver) -> i32 {
    receiver.as_raw_fd()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::{capability_number, CAP_SYS_ADMIN};
    use crate::sys::{MsFlags, RecordingSys, SysCall};
    use crate::testing::{host_plan, launch, root_host, user_host};
    use sbx_plan::{IdOrName, Namespace};
    use std::cell::RefCell;

    /// Runs the whole sandbox sequence (init then workload) against a
    /// recording kernel; returns the calls and the steps reported done.
    fn record(
        plan: &Plan,
        launch: &Launch,
        sys: &RecordingSys,
    ) -> (Result<(), StepFailure>, Vec<String>) {
        let done = RefCell::new(Vec::new());
        let on_done = |step: &str, _: u64| done.borrow_mut().push(step.to_string());
        let steps = Steps::new(&on_done);
        let result = init_steps(sys, plan, launch, &steps)
            .and_then(|()| workload_steps(sys, launch, None, &steps));
        (result, done.into_inner())
    }

    fn index(calls: &[SysCall], matches: impl Fn(&SysCall) -> bool) -> usize {
        calls
            .iter()
            .position(matches)
            .expect("the call is in the sequence")
    }

    fn last_index(calls: &[SysCall], matches: impl Fn(&SysCall) -> bool) -> usize {
        calls
            .iter()
            .rposition(matches)
            .expect("the call is in the sequence")
    }

    #[test]
    fn mounts_are_made_private_before_anything_is_mounted_and_before_pivot_root() {
        let plan = host_plan();
        let sys = RecordingSys::new();
        let (result, _) = record(&plan, &launch(&plan, &root_host()), &sys);
        result.unwrap();
        let calls = sys.calls();
        let first_mount = index(&calls, |c| matches!(c, SysCall::Mount { .. }));
        assert!(
            matches!(
                &calls[first_mount],
                SysCall::Mount { target, flags, .. }
                    if target.as_os_str() == "/" && flags.contains(MsFlags::MS_REC | MsFlags::MS_PRIVATE)
            ),
            "first mount: {:?}",
            calls[first_mount]
        );
        let pivot = index(&calls, |c| matches!(c, SysCall::PivotRoot { .. }));
        assert!(first_mount < pivot);
    }

    #[test]
    fn hostname_is_set_before_any_capability_is_dropped() {
        let plan = host_plan();
        let sys = RecordingSys::new();
        record(&plan, &launch(&plan, &root_host()), &sys).0.unwrap();
        let calls = sys.calls();
        let hostname = index(
            &calls,
            |c| matches!(c, SysCall::Sethostname(n) if n == "box"),
        );
        let domainname = index(
            &calls,
            |c| matches!(c, SysCall::Setdomainname(n) if n == "example"),
        );
        let first_drop = index(&calls, |c| matches!(c, SysCall::DropBoundingCapability(_)));
        let capset = index(&calls, |c| matches!(c, SysCall::SetCapabilities(_)));
        let setuid = index(&calls, |c| matches!(c, SysCall::Setresuid(_)));
        assert!(hostname < first_drop && domainname < first_drop);
        assert!(hostname < capset && hostname < setuid);
    }

    #[test]
    fn capabilities_follow_the_kernel_order_and_seccomp_comes_last() {
        let plan = host_plan();
        let sys = RecordingSys::new();
        let (result, done) = record(&plan, &launch(&plan, &root_host()), &sys);
        result.unwrap();
        let calls = sys.calls();
        let last_drop = last_index(&calls, |c| matches!(c, SysCall::DropBoundingCapability(_)));
        let keep = index(&calls, |c| matches!(c, SysCall::SetKeepCapabilities(true)));
        let setgroups = index(&calls, |c| matches!(c, SysCall::Setgroups(_)));
        let setgid = index(&calls, |c| matches!(c, SysCall::Setresgid(_)));
        let setuid = last_index(&calls, |c| matches!(c, SysCall::Setresuid(_)));
        let unkeep = index(&calls, |c| matches!(c, SysCall::SetKeepCapabilities(false)));
        let clear_ambient = index(&calls, |c| matches!(c, SysCall::ClearAmbientCapabilities));
        let capset = index(&calls, |c| matches!(c, SysCall::SetCapabilities(_)));
        let nnp = index(&calls, |c| matches!(c, SysCall::SetNoNewPrivileges));
        let exec = index(&calls, |c| matches!(c, SysCall::Execve { .. }));
        let rlimit = index(&calls, |c| matches!(c, SysCall::Setrlimit { .. }));
        // Bounding set first (needs CAP_SETPCAP), before the uid changes.
        assert!(last_drop < keep && keep < setgroups && setgroups < setgid && setgid < setuid);
        assert!(setuid < unkeep && unkeep < clear_ambient && clear_ambient < capset);
        assert!(capset < nnp && nnp < exec);
        // Raising limits needs the privilege the uid change takes away.
        assert!(rlimit < setuid);
        // The seccomp slot is the last step before exec.
        let seccomp = done.iter().position(|s| s.starts_with("seccomp")).unwrap();
        assert_eq!(done[seccomp + 1], EXEC_STEP);
        assert_eq!(seccomp + 2, done.len());
        // Exactly the capabilities outside the plan's bounding set go.
        let dropped: Vec<u32> = calls
            .iter()
            .filter_map(|c| match c {
                SysCall::DropBoundingCapability(n) => Some(*n),
                _ => None,
            })
            .collect();
        assert_eq!(dropped.len(), 41 - 11);
        assert!(dropped.contains(&CAP_SYS_ADMIN));
        assert!(!dropped.contains(&capability_number("CAP_KILL").unwrap()));
    }

    #[test]
    fn a_non_root_workload_keeps_its_capabilities_through_ambient() {
        let mut plan = host_plan();
        plan.process.user.user = IdOrName::Id(4242);
        plan.capabilities.bounding = vec!["CAP_NET_BIND_SERVICE".into()];
        plan.capabilities.effective = plan.capabilities.bounding.clone();
        plan.capabilities.permitted = plan.capabilities.bounding.clone();
        let sys = RecordingSys::new();
        record(&plan, &launch(&plan, &root_host()), &sys).0.unwrap();
        let calls = sys.calls();
        let bind = capability_number("CAP_NET_BIND_SERVICE").unwrap();
        let capset = index(&calls, |c| matches!(c, SysCall::SetCapabilities(_)));
        let raise = index(
            &calls,
            |c| matches!(c, SysCall::RaiseAmbientCapability(n) if *n == bind),
        );
        assert!(capset < raise);
        match &calls[capset] {
            SysCall::SetCapabilities(sets) => {
                assert_eq!(sets.inheritable, 1 << bind);
                assert_eq!(sets.permitted, 1 << bind);
            }
            other => panic!("{other:?}"),
        }
        assert!(calls.contains(&SysCall::Setresuid(4242)));
        // A uid not in /etc/passwd runs with gid 0, as Docker does.
        assert!(calls.contains(&SysCall::Setresgid(0)));
    }

    #[test]
    fn time_and_cgroup_namespaces_are_created_by_the_init() {
        let mut plan = host_plan();
        plan.namespaces.push(Namespace::Time);
        let launch = launch(&plan, &root_host());
        assert!(!launch.creates(CloneFlags::from_bits_retain(libc::CLONE_NEWTIME)));
        assert!(!launch.creates(CloneFlags::CLONE_NEWCGROUP));
        let sys = RecordingSys::new();
        let done = RefCell::new(Vec::new());
        let on_done = |step: &str, _: u64| done.borrow_mut().push(step.to_string());
        init_steps(&sys, &plan, &launch, &Steps::new(&on_done)).unwrap();
        let calls = sys.calls();
        assert_eq!(
            calls.first(),
            Some(&SysCall::Unshare(CloneFlags::CLONE_NEWCGROUP)),
            "the cgroup namespace comes first, right after the parent attached the init"
        );
        // The time namespace is the init's last step: the workload forked
        // next is the first process in it.
        assert_eq!(
            calls.last(),
            Some(&SysCall::Unshare(CloneFlags::from_bits_retain(
                libc::CLONE_NEWTIME
            )))
        );
    }

    #[test]
    fn a_user_namespace_makes_the_init_root_inside_first() {
        let mut plan = host_plan();
        plan.namespaces.push(Namespace::User);
        let sys = RecordingSys::new();
        record(&plan, &launch(&plan, &user_host()), &sys).0.unwrap();
        let calls = sys.calls();
        assert_eq!(&calls[..2], &[SysCall::Setresgid(0), SysCall::Setresuid(0)]);
        // setgroups is denied in an unprivileged user namespace.
        assert!(!calls.iter().any(|c| matches!(c, SysCall::Setgroups(_))));
    }

    #[test]
    fn an_injected_failure_at_each_call_stops_the_sequence_naming_its_step() {
        let plan = host_plan();
        let launch = launch(&plan, &root_host());
        let total = {
            let sys = RecordingSys::new();
            record(&plan, &launch, &sys).0.unwrap();
            sys.calls().len()
        };
        assert!(total > 40, "the sequence has {total} calls");
        for at in 0..total {
            // EIO: no step treats it as a known condition with a fallback
            // (the rootfs falls back on EPERM for /sys, for instance).
            let sys = RecordingSys::failing_at(at, Errno::EIO);
            let (result, done) = record(&plan, &launch, &sys);
            let Err(failure) = result else {
                panic!(
                    "a failure injected at {:?} did not stop the sequence",
                    sys.calls()[at]
                );
            };
            assert_eq!(sys.calls().len(), at + 1, "nothing runs after the failure");
            assert_eq!(failure.errno, Some(Errno::EIO as i32));
            assert!(!failure.step.is_empty());
            assert!(
                !done.contains(&failure.step),
                "a failed step is not reported done"
            );
            if matches!(sys.calls()[at], SysCall::Execve { .. }) {
                assert_eq!(failure.step, EXEC_STEP);
            }
        }
    }

    #[test]
    fn the_init_keeps_only_cap_kill_once_the_workload_is_forked() {
        let plan = host_plan();
        let launch = launch(&plan, &root_host());
        let sys = RecordingSys::new();
        let on_done = |_: &str, _: u64| {};
        restrict_init(&sys, &launch, &Steps::new(&on_done)).unwrap();
        let calls = sys.calls();
        assert_eq!(calls.first(), Some(&SysCall::SetDumpable(false)));
        let kill = crate::capability::CAP_KILL;
        assert!(!calls.contains(&SysCall::DropBoundingCapability(kill)));
        assert!(calls.contains(&SysCall::DropBoundingCapability(CAP_SYS_ADMIN)));
        assert!(calls.contains(&SysCall::SetCapabilities(CapabilitySets {
            effective: 1 << kill,
            permitted: 1 << kill,
            inheritable: 0,
        })));
        assert_eq!(calls.last(), Some(&SysCall::SetNoNewPrivileges));
    }

    #[test]
    fn a_terminal_is_attached_right_after_the_new_session() {
        let plan = host_plan();
        let launch = launch(&plan, &root_host());
        let sys = RecordingSys::new();
        let on_done = |_: &str, _: u64| {};
        workload_steps(&sys, &launch, Some(7), &Steps::new(&on_done)).unwrap();
        assert_eq!(
            &sys.calls()[..5],
            &[
                SysCall::Setsid,
                SysCall::SetControllingTerminal(7),
                SysCall::Dup2 { from: 7, to: 0 },
                SysCall::Dup2 { from: 7, to: 1 },
                SysCall::Dup2 { from: 7, to: 2 },
            ]
        );
    }

    #[test]
    fn exec_searches_path_and_reports_not_found() {
        let mut plan = host_plan();
        plan.process.args = vec!["true".into()];
        plan.process.env = vec![sbx_plan::EnvVar {
            name: "PATH".into(),
            value: "/a:/b".into(),
        }];
        let launch = launch(&plan, &root_host());
        let sys = RecordingSys::new();
        record(&plan, &launch, &sys).0.unwrap();
        let execs: Vec<String> = sys
            .calls()
            .iter()
            .filter_map(|c| match c {
                SysCall::Execve { path, .. } => Some(path.clone()),
                _ => None,
            })
            .collect();
        // The recorder's exec succeeds: the first candidate is taken.
        assert_eq!(execs, vec!["/a/true"]);
        assert!(launch.env.iter().any(|e| e.to_str() == Ok("HOME=/root")));
    }
}
