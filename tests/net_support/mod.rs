//! Shared by the network tests: a network namespace per test, sandbox
//! children, and `ip` run in them. Nothing here touches the machine's own
//! interfaces: a test runs on a thread that moved into a network namespace
//! of its own (which vanishes with the thread), and the sandboxes it starts
//! are created from there.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Child, Command, Stdio};

use sbx_plan::{NetInterface, NetKind, Network};

/// Runs `test` on a new thread in a new network namespace (loopback up)
/// and returns its result; a panic in `test` fails the caller.
pub fn in_test_netns<T: Send + 'static>(test: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
        ip(&["link", "set", "lo", "up"]);
        test()
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Runs `ip ARGS` in the test's namespace and returns its output; fails the
/// test when it fails.
pub fn ip(args: &[&str]) -> String {
    run(Command::new("ip").args(args))
}

/// `ip -d link` without the carrier state, which the kernel updates on its
/// own a moment after a link comes up (linkwatch): what is left is what
/// exists and how it is configured. No waiting: an interface that vanishes
/// only later (with a dying namespace) must still show up as a difference.
pub fn link_snapshot() -> String {
    ip(&["-d", "link"])
        .lines()
        .map(|line| {
            line.split(' ')
                .scan(false, |skip_next, word| {
                    let skip = std::mem::replace(skip_next, word == "state");
                    Some(if skip || word == "state" {
                        None
                    } else {
                        Some(word)
                    })
                })
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
                .replace("NO-CARRIER,", "")
                .replace(",LOWER_UP", "")
                .replace(",M-DOWN", "")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn run(command: &mut Command) -> String {
    let out = command.output().expect("the command runs");
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// A process in a network namespace of its own, standing in for the
/// sandbox child: it waits for [`SandboxChild::go`], then runs its script.
pub struct SandboxChild {
    child: Option<Child>,
}

impl SandboxChild {
    pub fn start(script: &str) -> SandboxChild {
        let child = Command::new("unshare")
            .args(["--net", "--", "sh", "-c", &format!("read go; {script}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("unshare starts");
        let sandbox = SandboxChild { child: Some(child) };
        // Wait until unshare has made the namespace and exec'd the shell.
        let own = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
        for _ in 0..1000 {
            let ns = std::fs::read_link(format!("/proc/{}/ns/net", sandbox.pid()));
            let comm = std::fs::read_to_string(format!("/proc/{}/comm", sandbox.pid()))
                .unwrap_or_default();
            if ns.map(|ns| ns != own).unwrap_or(false) && comm.trim() == "sh" {
                return sandbox;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        panic!("the sandbox child never entered its namespace");
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    /// `ip ARGS` inside the child's network namespace.
    pub fn ip(&self, args: &[&str]) -> String {
        run(Command::new("nsenter")
            .arg(format!("--net=/proc/{}/ns/net", self.pid()))
            .arg("ip")
            .args(args))
    }

    /// Lets the script run.
    pub fn go(&mut self) {
        let stdin = self.child.as_mut().unwrap().stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for the script and returns (success, stdout, stderr).
    pub fn finish(mut self) -> (bool, String, String) {
        let out = self.child.take().unwrap().wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Ends the child now (the sandbox "exits").
    pub fn kill(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for SandboxChild {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn interface(name: &str, kind: NetKind, link: Option<&str>) -> NetInterface {
    NetInterface {
        name: name.into(),
        kind,
        link: link.map(Into::into),
        create_bridge: false,
        macvlan_mode: None,
        vlan_id: None,
        hwaddr: None,
        addresses: Vec::new(),
        gateways: Vec::new(),
        mtu: None,
        up: true,
    }
}

pub fn network(interfaces: Vec<NetInterface>) -> Network {
    Network::Interfaces { interfaces }
}

/// A veth pair in the test's namespace, up, to serve as a lower device or a
/// "physical" interface.
pub fn test_veth(name: &str, peer: &str) {
    ip(&["link", "add", name, "type", "veth", "peer", "name", peer]);
    ip(&["link", "set", name, "up"]);
    ip(&["link", "set", peer, "up"]);
}
