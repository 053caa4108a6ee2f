//! `sbx apply`: exit statuses as Docker's, and what is left on the host
//! after a failure at each point (nothing).

mod apply_support;
mod support;

use apply_support::*;

fn code(plan: &sbx_plan::Plan) -> (Option<i32>, String) {
    let output = apply(plan, &[]);
    (output.status.code(), text(&output.stderr))
}

#[test]
fn exit_status_is_the_workloads_own() {
    if !support::privileged("exit_status_is_the_workloads_own") {
        return;
    }
    let (status, stderr) = code(&host_plan("exit0", &[PROBE]));
    assert_eq!(status, Some(0), "{stderr}");
    assert_eq!(
        code(&host_plan("exit7", &[PROBE, "--exit", "7"])).0,
        Some(7)
    );
    assert_eq!(
        code(&host_plan("exit255", &["/bin/sh", "-c", "exit 255"])).0,
        Some(255)
    );
}

#[test]
fn killed_by_signal_n_is_128_plus_n() {
    if !support::privileged("killed_by_signal_n_is_128_plus_n") {
        return;
    }
    let plan = host_plan("sigkill", &["/bin/sh", "-c", "kill -KILL $$"]);
    assert_eq!(code(&plan).0, Some(128 + 9));
    let plan = host_plan("sigsegv", &["/bin/sh", "-c", "kill -SEGV $$"]);
    assert_eq!(code(&plan).0, Some(128 + 11));
}

#[test]
fn a_command_not_found_is_127_and_leaves_nothing() {
    if !support::privileged("a_command_not_found_is_127") {
        return;
    }
    let before = host_state("notfound", "no-such-command-1f3a");
    let (status, stderr) = code(&host_plan("notfound", &["/no-such-command-1f3a"]));
    assert_eq!(status, Some(127), "{stderr}");
    assert!(
        stderr.contains("`/no-such-command-1f3a` not found"),
        "{stderr}"
    );
    let (status, stderr) = code(&host_plan("notfound", &["no-such-command-1f3a"]));
    assert_eq!(status, Some(127), "{stderr}");
    assert!(
        stderr.contains("not found in the sandbox's PATH"),
        "{stderr}"
    );
    assert_eq!(host_state("notfound", "no-such-command-1f3a"), before);
}

#[test]
fn a_command_that_cannot_be_executed_is_126() {
    if !support::privileged("a_command_that_cannot_be_executed_is_126") {
        return;
    }
    let (status, stderr) = code(&host_plan("noexec", &["/etc/hostname"]));
    assert_eq!(status, Some(126), "{stderr}");
    assert!(stderr.contains("cannot be executed"), "{stderr}");
    // A directory is not executable either.
    assert_eq!(code(&host_plan("noexec", &["/etc"])).0, Some(126));
}

#[test]
fn a_preflight_refusal_is_125_names_the_setting_and_touches_nothing() {
    if !support::privileged("a_preflight_refusal_is_125") {
        return;
    }
    let before = host_state("preflight", PROBE);
    let mut plan = host_plan("preflight", &[PROBE]);
    plan.capabilities.bounding.push("CAP_NOT_A_THING".into());
    plan.sources.insert(
        "capabilities".into(),
        sbx_plan::SourceLocation {
            file: "web.sbx".into(),
            line: 12,
            column: 1,
        },
    );
    let (status, stderr) = code(&plan);
    assert_eq!(status, Some(125), "{stderr}");
    assert!(
        stderr.contains(
            "web.sbx:12:1: `capabilities.bounding`: `CAP_NOT_A_THING` is not a capability name"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert_eq!(host_state("preflight", PROBE), before);
}

#[test]
fn a_step_failing_after_the_sandbox_was_built_is_125_and_everything_is_undone() {
    if !support::privileged("a_step_failing_after_the_sandbox_was_built") {
        return;
    }
    // The workdir does not exist in the sandbox: chdir fails after the
    // namespaces, the rootfs, the hostname, the identity were set up.
    let before = host_state("latefail", PROBE);
    let mut plan = host_plan("latefail", &[PROBE]);
    plan.hostname = Some("latefail".into());
    plan.process.cwd = "/no/such/workdir".into();
    let (status, stderr) = code(&plan);
    assert_eq!(status, Some(125), "{stderr}");
    assert!(
        stderr.contains("step `change to the working directory` failed: chdir `/no/such/workdir`: no such file or directory"),
        "{stderr}"
    );
    assert_eq!(host_state("latefail", PROBE), before);
}

#[test]
fn a_plan_without_a_command_is_refused_clearly() {
    let mut plan = host_plan("nocmd", &[]);
    plan.process.args.clear();
    let (status, stderr) = code(&plan);
    assert_eq!(status, Some(125));
    assert!(stderr.contains("has no command to run"), "{stderr}");
    assert!(stderr.contains("after `--`"), "{stderr}");
}

#[test]
fn a_command_after_double_dash_replaces_the_plans() {
    if !support::privileged("a_command_after_double_dash_replaces_the_plans") {
        return;
    }
    let file = write_plan(&host_plan("override", &["/bin/false"]));
    let output = std::process::Command::new(SBX)
        .args(["apply"])
        .arg(&file.path)
        .args(["--", "/bin/sh", "-c", "echo overridden; exit 3"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(text(&output.stdout), "overridden\n");
}

#[test]
fn dry_run_prints_the_ordered_steps_and_runs_nothing() {
    let before = host_state("dryrun", "dry-run-marker-77");
    let mut plan = host_plan("dryrun", &["/bin/sh", "-c", "echo dry-run-marker-77"]);
    plan.hostname = Some("dry".into());
    let output = apply(&plan, &["--dry-run"]);
    if !support::privileged("dry_run_prints_the_ordered_steps") {
        return;
    }
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        !stdout.contains("dry-run-marker-77\n"),
        "the workload did not run"
    );
    let position = |needle: &str| {
        stdout
            .find(needle)
            .unwrap_or_else(|| panic!("`{needle}` in:\n{stdout}"))
    };
    assert!(position("create the sandbox init") < position("build the root filesystem"));
    assert!(position("PivotRoot") < position("set hostname"));
    assert!(position("set hostname") < position("drop capabilities from the bounding set"));
    assert!(position("set no_new_privs") < position("seccomp (no filter)"));
    assert!(position("seccomp (no filter)") < position("exec the workload"));
    assert_eq!(host_state("dryrun", "dry-run-marker-77"), before);
}

#[test]
fn verbose_prints_each_step_with_its_duration() {
    if !support::privileged("verbose_prints_each_step") {
        return;
    }
    let output = apply(&host_plan("verbose", &["/bin/true"]), &["-v"]);
    assert_eq!(output.status.code(), Some(0));
    let stderr = text(&output.stderr);
    for step in [
        "create the sandbox init",
        "build the root filesystem",
        "drop capabilities from the bounding set",
        "set the capability sets",
        "set no_new_privs",
    ] {
        let line = stderr
            .lines()
            .find(|l| l.starts_with(&format!("sbx: {step} (")))
            .unwrap_or_else(|| panic!("`{step}` in:\n{stderr}"));
        assert!(line.ends_with(" ms)"), "{line}");
    }
}

#[test]
fn a_profile_is_compiled_and_a_refusal_points_at_its_line() {
    if !support::privileged("a_profile_is_compiled_and_a_refusal_points_at_its_line") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ok = dir.path().join("ok.sbx");
    std::fs::write(
        &ok,
        "name = \"profile\"\nhostname = \"from-profile\"\ncmd = [\"/bin/hostname\"]\n",
    )
    .unwrap();
    let output = apply_file(&ok, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "from-profile\n");

    // This host's bounding set lacks CAP_SYS_RESOURCE (KERNEL-NOTES.md);
    // where it has it, the refusal cannot happen and there is nothing to
    // check.
    let host_caps = std::fs::read_to_string("/proc/self/status").unwrap();
    let bounding = host_caps
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
        .unwrap();
    if bounding & (1 << 24) != 0 {
        support::skip_missing(
            "a_profile_is_compiled_and_a_refusal_points_at_its_line",
            "this host can give CAP_SYS_RESOURCE",
        );
        return;
    }
    let refused = dir.path().join("refused.sbx");
    std::fs::write(
        &refused,
        "name = \"profile\"\ncmd = [\"/bin/true\"]\ncapabilities {\n    add = [sys_resource]\n}\n",
    )
    .unwrap();
    let output = apply_file(&refused, &[]);
    assert_eq!(output.status.code(), Some(125));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(
            "refused.sbx:4:12: `capabilities`: sbx itself does not hold CAP_SYS_RESOURCE"
        ),
        "{stderr}"
    );
}

#[test]
fn a_profile_with_errors_is_125_with_its_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.sbx");
    std::fs::write(&bad, "hostname = 3\ncmd = [\"/bin/true\"]\n").unwrap();
    let output = apply_file(&bad, &[]);
    assert_eq!(output.status.code(), Some(125));
    assert!(
        text(&output.stderr).contains("`hostname` expects a string"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_parent_step_failing_after_the_clone_kills_and_reaps_the_init() {
    if !support::privileged("a_parent_step_failing_after_the_clone") {
        return;
    }
    // Overlapping uid ranges: the kernel refuses the map when sbx writes
    // it, after the init was cloned (preflight does not model every rule
    // of the kernel's; the unwind is what this test is about).
    let marker = "/bin/true-parent-fail-marker";
    let before = host_state("parentfail", marker);
    let mut plan = host_plan("parentfail", &[marker]);
    plan.namespaces.push(sbx_plan::Namespace::User);
    plan.idmap.uid = vec![
        sbx_plan::IdRange {
            inside: 0,
            outside: 300000,
            count: 10,
        },
        sbx_plan::IdRange {
            inside: 5,
            outside: 400000,
            count: 10,
        },
    ];
    plan.idmap.gid = vec![sbx_plan::IdRange {
        inside: 0,
        outside: 300000,
        count: 10,
    }];
    let file = write_plan(&plan);
    let output = apply_file(&file.path, &["-v"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("sbx: create the sandbox init ("),
        "{stderr}"
    );
    assert!(
        stderr.contains("step `write the uid and gid maps` failed"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("undo of"),
        "every undo succeeded: {stderr}"
    );
    assert_eq!(host_state("parentfail", marker), before);
    // No init is left (its command line is sbx's, naming the plan file).
    let plan_path = file.path.display().to_string();
    assert!(processes_with(&plan_path).is_empty());
}
