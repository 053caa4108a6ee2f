//! `sbx apply`: signals reach the workload, orphans are reaped, nothing
//! outlives the sandbox.

mod apply_support;
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use apply_support::*;
use sbx_plan::Namespace;

/// Starts sbx with a workload that prints `ready` once its traps are set,
/// waits for that line, and returns the running sbx.
fn start_ready(plan: &sbx_plan::Plan) -> (std::process::Child, PlanFile) {
    let file = write_plan(plan);
    let mut child = Command::new(SBX)
        .arg("apply")
        .arg(&file.path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "ready\n");
    (child, file)
}

fn trap_script(signal: &str, code: u8) -> String {
    format!("trap 'exit {code}' {signal}; echo ready; while :; do sleep 0.05; done")
}

#[test]
fn sigterm_to_sbx_reaches_the_workload() {
    if !support::privileged("sigterm_to_sbx_reaches_the_workload") {
        return;
    }
    let script = trap_script("TERM", 42);
    let plan = host_plan("sigterm", &["/bin/sh", "-c", &script]);
    let (child, _file) = start_ready(&plan);
    // SAFETY-free: kill(1) with the child's pid.
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(42), "{}", text(&output.stderr));
}

#[test]
fn every_forwarded_signal_reaches_the_workload() {
    if !support::privileged("every_forwarded_signal_reaches_the_workload") {
        return;
    }
    for (signal, code) in [
        ("INT", 50),
        ("HUP", 51),
        ("QUIT", 52),
        ("USR1", 53),
        ("USR2", 54),
    ] {
        let script = trap_script(signal, code);
        let plan = host_plan("forward", &["/bin/sh", "-c", &script]);
        let (child, _file) = start_ready(&plan);
        let pid = child.id().to_string();
        assert!(Command::new("kill")
            .args([&format!("-{signal}"), pid.as_str()])
            .status()
            .unwrap()
            .success());
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(code as i32), "SIG{signal}");
    }
}

#[test]
fn sbx_asked_to_stop_sends_the_stop_signal() {
    if !support::privileged("sbx_asked_to_stop_sends_the_stop_signal") {
        return;
    }
    // The workload ignores SIGTERM itself; its stop signal is SIGUSR1.
    let script = format!("trap '' TERM; {}", trap_script("USR1", 43));
    let mut plan = host_plan("stopsignal", &["/bin/sh", "-c", &script]);
    plan.process.stop_signal = "SIGUSR1".into();
    let (child, _file) = start_ready(&plan);
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(43));
}

fn orphans_are_reaped(name: &str, plan_change: impl Fn(&mut sbx_plan::Plan)) {
    let marker = format!("{}", 400000 + std::process::id() % 100000);
    // The workload leaves a background sleep behind and exits at once.
    let script = format!("sleep {marker} & echo started; exit 5");
    let mut plan = host_plan(name, &["/bin/sh", "-c", &script]);
    plan_change(&mut plan);
    let before = host_state(name, &format!("sleep {marker}"));
    let output = apply(&plan, &[]);
    assert_eq!(output.status.code(), Some(5), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "started\n");
    let after = host_state(name, &format!("sleep {marker}"));
    assert!(
        after.processes.is_empty(),
        "left behind: {:?}",
        after.processes
    );
    assert_eq!(after, before);
    // No zombie child of this test either (sbx reaped what it started).
    let zombies: Vec<String> = processes_with(SBX)
        .into_iter()
        .filter(|p| {
            let pid = p.split(' ').next().unwrap();
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| s.contains(") Z "))
                .unwrap_or(false)
        })
        .collect();
    assert!(zombies.is_empty(), "{zombies:?}");
}

#[test]
fn orphans_are_reaped_and_killed_with_a_pid_namespace() {
    if !support::privileged("orphans_are_reaped_with_a_pid_namespace") {
        return;
    }
    orphans_are_reaped("orphanpid", |_| {});
}

#[test]
fn orphans_are_reaped_and_killed_without_a_pid_namespace() {
    if !support::privileged("orphans_are_reaped_without_a_pid_namespace") {
        return;
    }
    orphans_are_reaped("orphanhost", |plan| {
        plan.namespaces.retain(|ns| *ns != Namespace::Pid);
    });
}

#[test]
fn a_ctrl_c_to_sbxs_process_group_reaches_the_workload_once() {
    if !support::privileged("a_ctrl_c_to_sbxs_process_group_reaches_the_workload_once") {
        return;
    }
    use std::os::unix::process::CommandExt;
    // Each SIGINT prints a line; SIGTERM ends the workload.
    let script =
        "trap 'echo int' INT; trap 'exit 0' TERM; echo ready; while :; do sleep 0.05; done";
    let file = write_plan(&host_plan("ctrlc", &["/bin/sh", "-c", script]));
    let mut child = Command::new(SBX)
        .arg("apply")
        .arg(&file.path)
        .process_group(0)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    // As a terminal does: to the whole foreground process group.
    let group = format!("-{}", child.id());
    assert!(Command::new("kill")
        .args(["-INT", "--", &group])
        .status()
        .unwrap()
        .success());
    line.clear();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "int\n");
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, "", "the workload got SIGINT once");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn while_running_the_sandbox_has_a_cgroup_and_processes_and_afterwards_none() {
    if !support::privileged("while_running_the_sandbox_has_a_cgroup") {
        return;
    }
    let marker = "teardown-marker-5150";
    let script = format!("{}; : {marker}", trap_script("TERM", 0));
    let plan = host_plan("teardown", &["/bin/sh", "-c", &script]);
    let before = host_state("teardown", marker);
    assert!(before.cgroups.is_empty() && before.processes.is_empty());
    let (child, _file) = start_ready(&plan);
    // What the after-state comparisons look for does exist while it runs:
    // they can fail.
    let during = host_state("teardown", marker);
    assert!(
        !during.cgroups.is_empty(),
        "the sandbox's cgroup is visible while it runs"
    );
    assert!(
        !during.processes.is_empty(),
        "the workload is visible while it runs"
    );
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(host_state("teardown", marker), before);
}
