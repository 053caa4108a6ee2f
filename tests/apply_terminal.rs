//! `sbx apply --tty` and `terminal = true`: the workload gets a pty as its
//! controlling terminal and stdio, relayed to sbx's own stdin and stdout.

mod apply_support;
mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use apply_support::*;

#[test]
fn the_workload_gets_a_terminal_and_its_output_is_relayed() {
    if !support::privileged("the_workload_gets_a_terminal") {
        return;
    }
    let script = "[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-three-are-terminals; \
                  read line; echo got-$line; exit 4";
    let file = write_plan(&host_plan("tty", &["/bin/sh", "-c", script]));
    let mut child = Command::new(SBX)
        .args(["apply", "--tty"])
        .arg(&file.path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Typed keys reach the workload through the pty (echoed back by its
    // line discipline, as a terminal does).
    child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = text(&output.stdout).replace('\r', "");
    assert_eq!(output.status.code(), Some(4), "{}", text(&output.stderr));
    assert!(stdout.contains("all-three-are-terminals\n"), "{stdout:?}");
    assert!(stdout.contains("got-hello\n"), "{stdout:?}");
}

#[test]
fn without_a_terminal_the_workload_has_sbxs_stdio() {
    if !support::privileged("without_a_terminal") {
        return;
    }
    let plan = host_plan(
        "notty",
        &["/bin/sh", "-c", "[ -t 1 ] || echo not-a-terminal"],
    );
    let output = apply(&plan, &[]);
    assert_eq!(text(&output.stdout), "not-a-terminal\n");
}
