//! The cost of giving a sandbox one veth interface (host end up, peer in the
//! sandbox with an address, up, loopback up): sbx's netlink path against the
//! same steps with iproute2, as KERNEL-NOTES.md measured (about 16 ms).
//!
//! Root only. Runs in a network namespace of its own (the machine's
//! interfaces are never touched), with an `unshare --net sleep` process as
//! the sandbox. Teardown is outside the timed part.
//!
//! ```text
//! cargo bench -p sbx-executor --bench net_veth
//! ```

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use nix::sched::{unshare, CloneFlags};
use sbx_executor::journal::ApplyJournal;
use sbx_executor::net;
use sbx_plan::{NetInterface, NetKind, Network};

struct Sandbox(Child);

impl Sandbox {
    fn start() -> Sandbox {
        let child = Command::new("unshare")
            .args(["--net", "sleep", "3600"])
            .spawn()
            .expect("unshare starts");
        let own = std::fs::read_link("/proc/self/ns/net").unwrap();
        // Wait until the child is in its own namespace.
        while std::fs::read_link(format!("/proc/{}/ns/net", child.id()))
            .ok()
            .as_ref()
            == Some(&own)
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        Sandbox(child)
    }

    fn pid(&self) -> i32 {
        self.0.id() as i32
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program).args(args).status().expect("runs");
    assert!(status.success(), "{program} {args:?} failed");
}

fn one_veth() -> Network {
    Network::Interfaces {
        interfaces: vec![NetInterface {
            name: "eth0".into(),
            kind: NetKind::Veth,
            link: None,
            create_bridge: false,
            macvlan_mode: None,
            vlan_id: None,
            hwaddr: None,
            addresses: vec!["10.231.9.2/24".into()],
            gateways: Vec::new(),
            mtu: None,
            up: true,
        }],
    }
}

fn veth_setup(c: &mut Criterion) {
    if !std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
    {
        eprintln!("skipped net_veth: needs root");
        return;
    }
    unshare(CloneFlags::CLONE_NEWNET).expect("a network namespace for the bench");
    let sandbox = Sandbox::start();
    let pid = sandbox.pid();
    let plan = one_veth();
    let mut group = c.benchmark_group("one veth into a sandbox");

    // Everything sbx does for it: connect (runtime, two sockets), create,
    // address, up; then unwind untimed.
    group.bench_function("sbx netlink", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let started = Instant::now();
                let mut journal = ApplyJournal::new();
                net::setup(&plan, "bench", pid, &mut journal).expect("setup");
                total += started.elapsed();
                assert!(journal.unwind().is_empty());
            }
            total
        })
    });

    // Of which: the runtime and the two netlink sockets.
    group.bench_function("sbx netlink connect only", |b| {
        b.iter(|| net::Netlink::connect(pid).expect("connect"))
    });

    let ns = format!("--net=/proc/{pid}/ns/net");
    group.bench_function("iproute2", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let started = Instant::now();
                run(
                    "ip",
                    &[
                        "link",
                        "add",
                        "sbxbench-0",
                        "type",
                        "veth",
                        "peer",
                        "name",
                        "eth0",
                        "netns",
                        &pid.to_string(),
                    ],
                );
                run("ip", &["link", "set", "sbxbench-0", "up"]);
                run("nsenter", &[&ns, "ip", "link", "set", "lo", "up"]);
                run(
                    "nsenter",
                    &[&ns, "ip", "addr", "add", "10.231.9.2/24", "dev", "eth0"],
                );
                run("nsenter", &[&ns, "ip", "link", "set", "eth0", "up"]);
                total += started.elapsed();
                run("ip", &["link", "del", "sbxbench-0"]);
            }
            total
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(5));
    targets = veth_setup
}
criterion_main!(benches);
