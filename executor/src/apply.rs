//! The parent side of apply: preflight, the journalled parent steps, the
//! sandbox's start, supervision, and teardown.
//!
//! ```text
//! preflight (no side effect)
//! block the forwarded signals, become a subreaper
//! create the cgroup              journal: destroy it
//! clone the sandbox init         journal: kill it, reap it
//! write its uid/gid maps         (dies with it)
//! attach it to the cgroup        (undone by destroying the cgroup)
//! create its interfaces          journal: each host-side object
//! tell it to proceed; it builds the sandbox and execs the workload
//! on a failure before exec: unwind the journal, newest first
//! after the workload ends: the same unwind is the teardown
//! ```

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

use sbx_plan::{Network, Plan};

use crate::cgroup::{CgroupOptions, CgroupStats, SandboxCgroup};
use crate::channel::{ChannelPair, FromSandbox, ParentChannel, StepFailure};
use crate::journal::{ApplyJournal, UndoFailure};
use crate::preflight::{self, HostFacts, Launch, PreflightProblem};
use crate::sandbox::{self, Steps, EXEC_STEP, FORWARDED_SIGNALS};
use crate::sys::{CloneResult, Errno, LinuxSys, RecordingSys, Sys, SysCall};

/// Docker's exit status when the runtime itself failed.
pub const EXIT_SBX_FAILED: u8 = 125;
/// The command was found but cannot be executed.
pub const EXIT_NOT_EXECUTABLE: u8 = 126;
/// The command was not found.
pub const EXIT_NOT_FOUND: u8 = 127;

/// How the caller wants the plan applied.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Where the sandbox's cgroup goes.
    pub cgroup: CgroupOptions,
    /// Report each step with its duration.
    pub verbose: bool,
    /// Read the cgroup's accounting after the workload exits.
    pub stats: bool,
}

/// Why a plan was not applied, or the sandbox failed before its workload
/// started. Everything that was done was undone before this is returned
/// (`undo_failures` lists any undo that failed).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The plan cannot be applied here; nothing was touched.
    #[error("{}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Preflight { problems: Vec<PreflightProblem> },
    /// A step failed; the steps before it were undone.
    #[error("{}{}", step_message(failure), undo_message(undo_failures))]
    Step {
        failure: StepFailure,
        undo_failures: Vec<UndoFailure>,
    },
}

fn step_message(failure: &StepFailure) -> String {
    format!("step `{}` failed: {}", failure.step, failure.detail)
}

fn undo_message(failures: &[UndoFailure]) -> String {
    failures.iter().map(|f| format!("\nand then {f}")).collect()
}

impl ApplyError {
    /// The exit status sbx ends with, as Docker's.
    pub fn exit_code(&self) -> u8 {
        match self {
            ApplyError::Step { failure, .. } if failure.step == EXEC_STEP => {
                match failure.errno.map(Errno::from_raw) {
                    Some(Errno::ENOENT) => EXIT_NOT_FOUND,
                    Some(Errno::EACCES | Errno::EPERM | Errno::ENOEXEC) => EXIT_NOT_EXECUTABLE,
                    _ => EXIT_SBX_FAILED,
                }
            }
            _ => EXIT_SBX_FAILED,
        }
    }
}

/// How the workload ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadEnd {
    Exited(i32),
    Killed(i32),
}

/// The workload ran; this is how it ended and what teardown found.
#[derive(Debug)]
pub struct ApplyOutcome {
    pub end: WorkloadEnd,
    /// The cgroup's accounting, with [`ApplyOptions::stats`].
    pub stats: Option<Result<CgroupStats, String>>,
    /// Undos of the teardown that failed.
    pub undo_failures: Vec<UndoFailure>,
}

impl ApplyOutcome {
    /// The workload's own status, or 128+N when signal N killed it.
    pub fn exit_code(&self) -> u8 {
        match self.end {
            WorkloadEnd::Exited(code) => code as u8,
            WorkloadEnd::Killed(signal) => (128 + signal) as u8,
        }
    }
}

/// Checks the plan against this machine, without side effects, and resolves
/// it for [`apply`]. Every problem is reported at once.
pub fn preflight(plan: &Plan, options: &ApplyOptions) -> Result<Launch, ApplyError> {
    let host = HostFacts::read().map_err(|e| ApplyError::Preflight {
        problems: vec![PreflightProblem {
            setting: "host".into(),
            location: None,
            message: e,
            fix: "run sbx on Linux with /proc mounted".into(),
        }],
    })?;
    let mut problems = Vec::new();
    let launch = match preflight::check(plan, &host) {
        Ok(launch) => Some(launch),
        Err(found) => {
            problems.extend(found);
            None
        }
    };
    if let Err(e) = crate::rootfs::preflight(plan) {
        problems.push(match e {
            crate::rootfs::RootfsError::Setting {
                setting,
                location,
                problem,
                help,
            } => PreflightProblem {
                setting,
                location,
                message: problem,
                fix: help,
            },
            other => PreflightProblem {
                setting: "rootfs".into(),
                location: None,
                message: other.to_string(),
                fix: "correct the rootfs or its mounts".into(),
            },
        });
    }
    match SandboxCgroup::preflight(&plan.limits, &options.cgroup) {
        Ok(()) => {}
        // See `start_process`: an ordinary user without limits does without.
        Err(_) if !has_limits(plan) && !nix::unistd::geteuid().is_root() => {}
        Err(e) => problems.push(PreflightProblem {
            setting: "limits".into(),
            location: location(plan, "limits"),
            message: e.to_string(),
            fix: "remove the limits this machine cannot apply".into(),
        }),
    }
    if let Err(e) = crate::net::preflight(&plan.network) {
        problems.push(PreflightProblem {
            setting: "network".into(),
            location: location(plan, "network"),
            message: e.to_string(),
            fix: "change the `net` blocks".into(),
        });
    }
    match launch {
        Some(launch) if problems.is_empty() => Ok(launch),
        _ => Err(ApplyError::Preflight { problems }),
    }
}

fn has_limits(plan: &Plan) -> bool {
    plan.limits != sbx_plan::CgroupLimits::default()
}

fn location(plan: &Plan, key: &str) -> Option<String> {
    plan.sources
        .get(key)
        .map(|s| format!("{}:{}:{}", s.file, s.line, s.column))
}

/// A name unique on this host for the sandbox's host-side objects.
fn sandbox_id(plan: &Plan) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name: String = plan
        .name
        .as_deref()
        .unwrap_or("sandbox")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(32)
        .collect();
    format!("sbx-{name}-{}-{nanos:08x}", std::process::id())
}

/// One step of a dry run: its name and the kernel calls it would make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedStep {
    /// Which process makes it: `sbx`, `init` or `workload`.
    pub process: &'static str,
    pub step: String,
    pub calls: Vec<String>,
}

impl fmt::Display for PlannedStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<8} {}", self.process, self.step)?;
        for call in &self.calls {
            write!(f, "\n           {call}")?;
        }
        Ok(())
    }
}

/// The ordered steps [`apply`] would take, without taking them: the
/// parent's steps as listed here, the sandbox's from running its sequence
/// against a recording kernel.
pub fn dry_run(plan: &Plan, launch: &Launch) -> Vec<PlannedStep> {
    let mut out = Vec::new();
    let parent = |step: String, calls: Vec<String>| PlannedStep {
        process: "sbx",
        step,
        calls,
    };
    out.push(parent(
        if has_limits(plan) {
            "create the cgroup and set its limits".into()
        } else {
            "create the cgroup".into()
        },
        vec![],
    ));
    out.push(parent(
        "create the sandbox init".into(),
        vec![format!("clone({:?})", launch.clone_namespaces)],
    ));
    if let Some(userns) = &launch.user_namespace {
        out.push(parent(
            "write the uid and gid maps".into(),
            vec![
                format!("uid_map {}", userns.uid_map.trim_end().replace('\n', ", ")),
                format!("gid_map {}", userns.gid_map.trim_end().replace('\n', ", ")),
            ],
        ));
    }
    out.push(parent("attach the init to the cgroup".into(), vec![]));
    if matches!(plan.network, Network::Interfaces { .. }) {
        out.push(parent("set up the network interfaces".into(), vec![]));
    }
    for process in ["init", "workload"] {
        let sys = RecordingSys::new().with_clone_side(CloneResult::Child);
        let done: RefCell<Vec<(String, usize)>> = RefCell::new(Vec::new());
        let on_done = |step: &str, _: u64| {
            done.borrow_mut()
                .push((step.to_string(), sys.calls().len()));
        };
        let steps = Steps::new(&on_done);
        let result = if process == "init" {
            sandbox::init_steps(&sys, plan, launch, &steps)
        } else {
            // The pty's descriptor is known only when it is opened.
            sandbox::workload_steps(&sys, launch, launch.terminal.then_some(-1), &steps)
        };
        let calls = sys.calls();
        let mut start = 0;
        for (step, end) in done.into_inner() {
            out.push(PlannedStep {
                process,
                step,
                calls: calls[start..end].iter().map(describe_call).collect(),
            });
            start = end;
        }
        if let Err(failure) = result {
            out.push(PlannedStep {
                process,
                step: format!("(stops: {})", failure.detail),
                calls: vec![],
            });
        }
        if process == "init" {
            out.push(PlannedStep {
                process,
                step: "fork the workload".into(),
                calls: vec!["fork()".into()],
            });
        }
    }
    out
}

fn describe_call(call: &SysCall) -> String {
    format!("{call:?}")
}

/// Applies the plan: sets the sandbox up, runs the workload in the
/// foreground until it ends, tears the sandbox down. `report` receives
/// each step with its duration in microseconds (for `-v`).
///
/// Call it while the process is single-threaded: the sandbox is cloned
/// from this process.
pub fn apply(
    plan: &Plan,
    launch: &Launch,
    options: &ApplyOptions,
    report: &dyn Fn(&str, u64),
) -> Result<ApplyOutcome, ApplyError> {
    let sys: Rc<dyn Sys> = Rc::new(LinuxSys);
    // Blocked before the clone so that the init inherits the mask and reads
    // them from a signalfd, as sbx does: none is lost in between.
    let signals = SignalGuard::block().map_err(|e| ApplyError::Step {
        failure: StepFailure {
            step: "block signals".into(),
            errno: Some(e as i32),
            detail: format!("signalfd: {}", e.desc().to_lowercase()),
        },
        undo_failures: Vec::new(),
    })?;
    // Orphans of the sandbox re-parent to sbx rather than to the host's
    // PID 1 (which, on some machines, reaps slowly): sbx reaps them.
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0) };
    let mut journal = ApplyJournal::new();
    let started = start(&sys, plan, launch, options, &mut journal, report);
    let result = match started {
        Err(failure) => Err(ApplyError::Step {
            failure,
            undo_failures: journal.unwind(),
        }),
        Ok(mut sandbox) => {
            let end = supervise(&sys, &mut sandbox, launch, &signals, report);
            let stats = options.stats.then(|| match &*sandbox.cgroup.borrow() {
                Some(cgroup) => cgroup.stats().map_err(|e| e.to_string()),
                None => Err("the sandbox had no cgroup".to_string()),
            });
            let undo_failures = journal.unwind();
            match end {
                Ok(end) => Ok(ApplyOutcome {
                    end,
                    stats,
                    undo_failures,
                }),
                Err(failure) => Err(ApplyError::Step {
                    failure,
                    undo_failures,
                }),
            }
        }
    };
    reap_orphans();
    drop(signals);
    result
}

/// What the parent holds of a started sandbox.
struct Sandbox {
    init: i32,
    /// Set once the init was reaped, so that the journal's undo does not
    /// wait for it again.
    init_reaped: Rc<Cell<bool>>,
    channel: ParentChannel,
    cgroup: Rc<RefCell<Option<SandboxCgroup>>>,
    /// The init's report of the workload's end, once received.
    end: Option<WorkloadEnd>,
    /// The master of the workload's terminal, with `terminal`.
    terminal: Option<std::os::fd::OwnedFd>,
}

/// The parent's steps, up to the workload's exec. Each host-visible change
/// is in `journal` when this returns, success or not.
fn start(
    sys: &Rc<dyn Sys>,
    plan: &Plan,
    launch: &Launch,
    options: &ApplyOptions,
    journal: &mut ApplyJournal,
    report: &dyn Fn(&str, u64),
) -> Result<Sandbox, StepFailure> {
    let steps = Steps::new(report);
    let id = sandbox_id(plan);
    let sandbox = start_process(sys, plan, launch, options, journal, &steps, &id)?;
    finish_start(sandbox, report)
}

/// The journalled parent steps; separate from the wait for the sandbox's
/// report so that unit tests can run them against a recording kernel.
fn start_process(
    sys: &Rc<dyn Sys>,
    plan: &Plan,
    launch: &Launch,
    options: &ApplyOptions,
    journal: &mut ApplyJournal,
    steps: &Steps,
    id: &str,
) -> Result<Sandbox, StepFailure> {
    let failure = |step: &str, detail: String| StepFailure {
        step: step.into(),
        errno: None,
        detail,
    };
    let cgroup: Rc<RefCell<Option<SandboxCgroup>>> = Rc::new(RefCell::new(None));
    let started = std::time::Instant::now();
    match SandboxCgroup::create(id, &plan.limits, &options.cgroup) {
        Ok(created) => {
            *cgroup.borrow_mut() = Some(created);
            let cgroup = Rc::clone(&cgroup);
            journal.record(format!("create cgroup {id}"), move || {
                match cgroup.borrow_mut().take() {
                    Some(c) => c.destroy().map_err(|e| e.to_string()),
                    None => Ok(()),
                }
            });
            steps.done("create the cgroup", started.elapsed().as_micros() as u64);
        }
        // Every apply gets its own cgroup, except that an ordinary user
        // often may not create one (cgroup v1, or no delegated v2 subtree):
        // with no limit to apply it does without (the pid namespace still
        // ends every process); with limits it fails, closed.
        Err(e) if launch.rootless && !launch.has_limits => {
            steps.done(&format!("create the cgroup (skipped: {e})"), 0);
        }
        Err(e) => return Err(failure("create the cgroup", e.to_string())),
    }
    start_init(sys, plan, launch, options, journal, steps, id, cgroup)
}

/// The journalled steps from the clone on: the init's creation, its maps,
/// its cgroup, its interfaces.
#[allow(clippy::too_many_arguments)]
fn start_init(
    sys: &Rc<dyn Sys>,
    plan: &Plan,
    launch: &Launch,
    options: &ApplyOptions,
    journal: &mut ApplyJournal,
    steps: &Steps,
    id: &str,
    cgroup: Rc<RefCell<Option<SandboxCgroup>>>,
) -> Result<Sandbox, StepFailure> {
    let failure = |step: &str, detail: String| StepFailure {
        step: step.into(),
        errno: None,
        detail,
    };
    let ChannelPair { parent, init } = ChannelPair::new().map_err(|e| StepFailure {
        step: "create the sandbox init".into(),
        errno: e.raw_os_error(),
        detail: format!("a pipe: {e}"),
    })?;
    let pty = if launch.terminal {
        Some(crate::terminal::Pty::open().map_err(|errno| StepFailure {
            step: "open the terminal".into(),
            errno: Some(errno as i32),
            detail: format!("openpty: {}", errno.desc().to_lowercase()),
        })?)
    } else {
        None
    };
    // Not timed through `steps.run`: its report would run on both sides of
    // the clone.
    let started = std::time::Instant::now();
    let clone = sys
        .clone_process(launch.clone_namespaces)
        .map_err(|errno| StepFailure {
            step: "create the sandbox init".into(),
            errno: Some(errno as i32),
            detail: format!(
                "clone({:?}): {}",
                launch.clone_namespaces,
                errno.desc().to_lowercase()
            ),
        })?;
    let pid = match clone {
        CloneResult::Child => {
            drop(parent);
            let slave = pty.map(|pty| {
                drop(pty.master);
                // Kept open for the workload: the init never execs.
                std::os::fd::IntoRawFd::into_raw_fd(pty.slave)
            });
            sandbox::run_init(&**sys, plan, launch, init, slave, options.verbose)
        }
        CloneResult::Parent { child } => child,
    };
    // The sandbox holds the slave now: the master reads end of file (EIO)
    // once every process of the sandbox is gone.
    let terminal = pty.map(|pty| pty.master);
    steps.done(
        "create the sandbox init",
        started.elapsed().as_micros() as u64,
    );
    drop(init);
    let init_reaped = Rc::new(Cell::new(false));
    {
        let sys = Rc::clone(sys);
        let reaped = Rc::clone(&init_reaped);
        journal.record(format!("create the sandbox init (pid {pid})"), move || {
            if reaped.get() {
                return Ok(());
            }
            match sys.kill(pid, libc::SIGKILL) {
                Ok(()) | Err(Errno::ESRCH) => {}
                Err(e) => return Err(format!("kill: {}", e.desc().to_lowercase())),
            }
            sys.waitpid(pid)
                .map(drop)
                .map_err(|e| format!("waitpid: {}", e.desc().to_lowercase()))?;
            reaped.set(true);
            Ok(())
        });
    }

    if let Some(userns) = &launch.user_namespace {
        // Written from outside: the init cannot map ids it has no right to.
        let proc = std::path::PathBuf::from(format!("/proc/{pid}"));
        steps.run(
            "write the uid and gid maps",
            || format!("`/proc/{pid}/uid_map` and `gid_map`"),
            || {
                if userns.deny_setgroups {
                    sys.write_file(&proc.join("setgroups"), b"deny")?;
                }
                sys.write_file(&proc.join("uid_map"), userns.uid_map.as_bytes())?;
                sys.write_file(&proc.join("gid_map"), userns.gid_map.as_bytes())
            },
        )?;
    }
    if let Some(cgroup) = &*cgroup.borrow() {
        let started = std::time::Instant::now();
        cgroup
            .attach(pid)
            .map_err(|e| failure("attach the init to the cgroup", e.to_string()))?;
        steps.done(
            "attach the init to the cgroup",
            started.elapsed().as_micros() as u64,
        );
    }
    if matches!(plan.network, Network::Interfaces { .. }) {
        let started = std::time::Instant::now();
        crate::net::setup(&plan.network, id, pid, journal)
            .map_err(|e| failure("set up the network interfaces", e.to_string()))?;
        steps.done(
            "set up the network interfaces",
            started.elapsed().as_micros() as u64,
        );
    }
    Ok(Sandbox {
        init: pid,
        init_reaped,
        channel: parent,
        cgroup,
        end: None,
        terminal,
    })
}

/// Tells the init to go on, and relays its report until the workload
/// started (or a step failed).
fn finish_start(mut sandbox: Sandbox, report: &dyn Fn(&str, u64)) -> Result<Sandbox, StepFailure> {
    sandbox.channel.proceed().map_err(|e| StepFailure {
        step: "start the sandbox".into(),
        errno: e.raw_os_error(),
        detail: format!("telling the init to proceed: {e}"),
    })?;
    loop {
        match sandbox.channel.next_report() {
            Ok(Some(FromSandbox::StepDone { step, micros })) => report(&step, micros),
            Ok(Some(FromSandbox::Started)) => return Ok(sandbox),
            Ok(Some(FromSandbox::Failed(failure))) => return Err(failure),
            Ok(Some(other)) => {
                return Err(StepFailure {
                    step: "start the sandbox".into(),
                    errno: None,
                    detail: format!("the init reported {other:?} before the workload started"),
                })
            }
            Ok(None) => {
                return Err(StepFailure {
                    step: "start the sandbox".into(),
                    errno: None,
                    detail: "the sandbox init ended before the workload started".into(),
                })
            }
            Err(e) => {
                return Err(StepFailure {
                    step: "start the sandbox".into(),
                    errno: e.raw_os_error(),
                    detail: format!("reading the init's report: {e}"),
                })
            }
        }
    }
}

/// Waits for the workload's end: forwards signals to the init (which
/// forwards them to the workload), reads the init's report, reaps it.
fn supervise(
    sys: &Rc<dyn Sys>,
    sandbox: &mut Sandbox,
    launch: &Launch,
    signals: &SignalGuard,
    report: &dyn Fn(&str, u64),
) -> Result<WorkloadEnd, StepFailure> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;

    let mut channel_open = true;
    let mut init_status: Option<i32> = None;
    // With a terminal: keys from sbx's stdin go to the pty, its output to
    // sbx's stdout, until the sandbox is gone (EIO on the master).
    let _raw_mode = sandbox
        .terminal
        .is_some()
        .then(crate::terminal::RawMode::enter);
    let mut master_open = sandbox.terminal.is_some();
    let mut stdin_open = sandbox.terminal.is_some();
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    while init_status.is_none() || channel_open || master_open {
        if channel_open && sandbox.channel.from_sandbox.has_buffered() {
            read_report(sandbox, &mut channel_open, report);
            continue;
        }
        let (channel_ready, signal_ready, master_ready, stdin_ready) = {
            let mut fds = vec![PollFd::new(signals.fd.as_fd(), PollFlags::POLLIN)];
            let wanted = [
                channel_open.then(|| sandbox.channel.from_sandbox.as_fd()),
                sandbox
                    .terminal
                    .as_ref()
                    .filter(|_| master_open)
                    .map(|m| m.as_fd()),
                sandbox
                    .terminal
                    .as_ref()
                    .filter(|_| stdin_open)
                    .map(|_| stdin.as_fd()),
            ];
            let mut at = [None; 3];
            for (slot, fd) in at.iter_mut().zip(wanted) {
                if let Some(fd) = fd {
                    fds.push(PollFd::new(fd, PollFlags::POLLIN));
                    *slot = Some(fds.len() - 1);
                }
            }
            let [channel_at, master_at, stdin_at] = at;
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => {
                    return Err(StepFailure {
                        step: "supervise the workload".into(),
                        errno: Some(e as i32),
                        detail: format!("poll: {}", e.desc().to_lowercase()),
                    })
                }
            }
            let ready = |at: Option<usize>| {
                at.and_then(|i| fds[i].revents())
                    .is_some_and(|r| !r.is_empty())
            };
            (
                ready(channel_at),
                ready(Some(0)),
                ready(master_at),
                ready(stdin_at),
            )
        };
        if channel_ready {
            read_report(sandbox, &mut channel_open, report);
        }
        if let Some(master) = &sandbox.terminal {
            if master_ready {
                master_open = crate::terminal::relay(master.as_fd(), stdout.as_fd());
            }
            if stdin_ready {
                stdin_open = crate::terminal::relay(stdin.as_fd(), master.as_fd());
            }
        }
        if signal_ready {
            if let Ok(Some(info)) = signals.fd.read_signal() {
                let signal = info.ssi_signo as i32;
                if signal == libc::SIGCHLD {
                    if init_status.is_none() {
                        init_status = try_reap(sandbox.init);
                    }
                } else if signal == libc::SIGWINCH {
                    if let Some(master) = &sandbox.terminal {
                        crate::terminal::follow_window_size(master.as_fd());
                    }
                } else if init_status.is_none() {
                    // SIGTERM is how sbx is asked to stop: the workload gets
                    // its own stop signal (`stop_signal`, STOPSIGNAL).
                    let forwarded = if signal == libc::SIGTERM {
                        launch.stop_signal
                    } else {
                        signal
                    };
                    let _ = sys.kill(sandbox.init, forwarded);
                }
            }
        }
        if init_status.is_none() && !channel_open {
            // The report is complete: the init is exiting.
            init_status = sys.waitpid(sandbox.init).ok().or(Some(0));
        }
    }
    sandbox.init_reaped.set(true);
    sandbox.end.ok_or_else(|| StepFailure {
        step: "supervise the workload".into(),
        errno: None,
        detail: "the sandbox init ended without reporting how the workload ended".into(),
    })
}

fn read_report(sandbox: &mut Sandbox, channel_open: &mut bool, report: &dyn Fn(&str, u64)) {
    match sandbox.channel.next_report() {
        Ok(Some(FromSandbox::Exited { code })) => sandbox.end = Some(WorkloadEnd::Exited(code)),
        Ok(Some(FromSandbox::Signaled { signal })) => {
            sandbox.end = Some(WorkloadEnd::Killed(signal))
        }
        Ok(Some(FromSandbox::StepDone { step, micros })) => report(&step, micros),
        Ok(Some(_)) => {}
        Ok(None) | Err(_) => *channel_open = false,
    }
}

/// Reaps `pid` if it ended; its raw status.
fn try_reap(pid: i32) -> Option<i32> {
    let mut status = 0;
    // SAFETY: `status` is a valid out-pointer.
    let ret = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    (ret == pid).then_some(status)
}

/// Reaps every child left (orphans re-parented to sbx as subreaper).
fn reap_orphans() {
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid out-pointer.
        let ret = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if ret <= 0 {
            break;
        }
    }
}

/// The forwarded signals and SIGCHLD, blocked and read from a signalfd
/// while the sandbox lives; the old mask comes back on drop.
struct SignalGuard {
    fd: nix::sys::signalfd::SignalFd,
    old: nix::sys::signal::SigSet,
}

impl SignalGuard {
    fn block() -> Result<SignalGuard, Errno> {
        use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow, Signal};
        use nix::sys::signalfd::{SfdFlags, SignalFd};
        let mut mask = SigSet::empty();
        for s in FORWARDED_SIGNALS {
            if let Ok(s) = Signal::try_from(s) {
                mask.add(s);
            }
        }
        mask.add(Signal::SIGCHLD);
        // The terminal's size follows sbx's (only used with a terminal).
        mask.add(Signal::SIGWINCH);
        let mut old = SigSet::empty();
        let _ = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), Some(&mut old));
        match SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK) {
            Ok(fd) => Ok(SignalGuard { fd, old }),
            Err(e) => {
                let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
                Err(e)
            }
        }
    }
}

impl Drop for SignalGuard {
    fn drop(&mut self) {
        use nix::sys::signal::{sigprocmask, SigmaskHow};
        let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&self.old), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{host_plan, launch, root_host, user_host};
    use sbx_plan::Namespace;

    #[test]
    fn a_failure_at_each_parent_call_unwinds_what_was_done() {
        let mut plan = host_plan();
        plan.namespaces.push(Namespace::User);
        let launch = launch(&plan, &user_host());
        let run = |sys: Rc<RecordingSys>| {
            let dyn_sys: Rc<dyn Sys> = sys;
            let mut journal = ApplyJournal::new();
            let report = |_: &str, _: u64| {};
            let steps = Steps::new(&report);
            let result = start_init(
                &dyn_sys,
                &plan,
                &launch,
                &ApplyOptions::default(),
                &mut journal,
                &steps,
                "sbx-unit",
                Rc::new(RefCell::new(None)),
            )
            .map(drop);
            (result, journal)
        };
        let total = {
            let sys = Rc::new(RecordingSys::new());
            let (result, journal) = run(Rc::clone(&sys));
            result.unwrap();
            assert_eq!(journal.step_names().count(), 1);
            sys.calls().len()
        };
        // clone, then setgroups, uid_map and gid_map of the rootless map.
        assert_eq!(total, 4);
        for at in 0..total {
            let sys = Rc::new(RecordingSys::failing_at(at, Errno::EIO));
            let (result, journal) = run(Rc::clone(&sys));
            let failure = result.expect_err("the injected failure is reported");
            assert_eq!(failure.errno, Some(Errno::EIO as i32));
            let before = sys.calls().len();
            assert_eq!(before, at + 1);
            let undo_failures = journal.unwind();
            assert!(undo_failures.is_empty(), "{undo_failures:?}");
            let undone = &sys.calls()[before..];
            if at == 0 {
                assert_eq!(failure.step, "create the sandbox init");
                assert!(undone.is_empty(), "nothing to undo: {undone:?}");
            } else {
                assert_eq!(failure.step, "write the uid and gid maps");
                assert_eq!(
                    undone,
                    &[
                        SysCall::Kill {
                            pid: 4242,
                            signal: libc::SIGKILL
                        },
                        SysCall::Waitpid(4242)
                    ]
                );
            }
        }
    }

    #[test]
    fn the_rootless_maps_map_the_caller_to_root() {
        let mut plan = host_plan();
        plan.namespaces.push(Namespace::User);
        let sys = Rc::new(RecordingSys::new());
        let dyn_sys: Rc<dyn Sys> = sys.clone();
        let report = |_: &str, _: u64| {};
        start_init(
            &dyn_sys,
            &plan,
            &launch(&plan, &user_host()),
            &ApplyOptions::default(),
            &mut ApplyJournal::new(),
            &Steps::new(&report),
            "sbx-unit",
            Rc::new(RefCell::new(None)),
        )
        .map(drop)
        .unwrap();
        let writes: Vec<(String, String)> = sys
            .calls()
            .iter()
            .filter_map(|c| match c {
                SysCall::WriteFile { path, contents } => Some((
                    path.display().to_string(),
                    String::from_utf8_lossy(contents).into_owned(),
                )),
                _ => None,
            })
            .collect();
        assert_eq!(
            writes,
            vec![
                ("/proc/4242/setgroups".into(), "deny".into()),
                ("/proc/4242/uid_map".into(), "0 1000 1\n".into()),
                ("/proc/4242/gid_map".into(), "0 1000 1\n".into()),
            ]
        );
    }

    #[test]
    fn exit_codes_are_dockers() {
        let step = |step: &str, errno: Option<Errno>| ApplyError::Step {
            failure: StepFailure {
                step: step.into(),
                errno: errno.map(|e| e as i32),
                detail: String::new(),
            },
            undo_failures: vec![],
        };
        assert_eq!(step(EXEC_STEP, Some(Errno::ENOENT)).exit_code(), 127);
        assert_eq!(step(EXEC_STEP, Some(Errno::EACCES)).exit_code(), 126);
        assert_eq!(step(EXEC_STEP, Some(Errno::ENOEXEC)).exit_code(), 126);
        assert_eq!(step(EXEC_STEP, Some(Errno::E2BIG)).exit_code(), 125);
        assert_eq!(step("set hostname", Some(Errno::ENOENT)).exit_code(), 125);
        assert_eq!(
            ApplyError::Preflight { problems: vec![] }.exit_code(),
            EXIT_SBX_FAILED
        );
        let outcome = |end| ApplyOutcome {
            end,
            stats: None,
            undo_failures: vec![],
        };
        assert_eq!(outcome(WorkloadEnd::Exited(0)).exit_code(), 0);
        assert_eq!(outcome(WorkloadEnd::Exited(42)).exit_code(), 42);
        assert_eq!(outcome(WorkloadEnd::Killed(libc::SIGKILL)).exit_code(), 137);
        assert_eq!(outcome(WorkloadEnd::Killed(libc::SIGTERM)).exit_code(), 143);
    }

    #[test]
    fn dry_run_lists_parent_init_and_workload_steps_in_order() {
        let plan = host_plan();
        let steps = dry_run(&plan, &launch(&plan, &root_host()));
        let names: Vec<&str> = steps.iter().map(|s| s.step.as_str()).collect();
        let at = |name: &str| {
            names
                .iter()
                .position(|n| *n == name)
                .unwrap_or_else(|| panic!("`{name}` in {names:?}"))
        };
        assert!(at("create the sandbox init") < at("build the root filesystem"));
        assert!(at("build the root filesystem") < at("set hostname"));
        assert!(at("fork the workload") < at("set uid"));
        assert!(at("seccomp (no filter)") + 1 == at(EXEC_STEP));
        assert_eq!(steps.last().unwrap().process, "workload");
    }
}
