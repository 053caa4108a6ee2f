//! Fixtures for the unit tests of the apply sequence.

use sbx_plan::{
    Capabilities, CgroupLimits, Console, IdOrName, Limit, Namespace, Network, Plan, Process,
    Rlimit, Rootfs, Security, UserSpec, PLAN_VERSION,
};

use crate::capability::{CapabilitySet, ProcessCapabilities};
use crate::preflight::{HostFacts, Launch, RLIMITS};

/// podman's default set, which the compiler gives a profile that says
/// nothing.
pub const DEFAULT_CAPS: [&str; 11] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

/// A plan as the compiler makes it for `from = "host"` with `cmd`.
pub fn host_plan() -> Plan {
    let caps: Vec<String> = DEFAULT_CAPS.iter().map(|c| c.to_string()).collect();
    Plan {
        version: PLAN_VERSION,
        name: Some("unit".into()),
        rootfs: Rootfs::Host,
        process: Process {
            args: vec!["/bin/true".into()],
            env: vec![],
            user: UserSpec {
                user: IdOrName::Id(0),
                group: None,
            },
            groups: vec![],
            cwd: "/".into(),
            umask: Some(0o022),
            rlimits: vec![Rlimit {
                resource: "nofile".into(),
                soft: Limit::Value(1024),
                hard: Limit::Value(1024),
            }],
            terminal: false,
            stop_signal: "SIGTERM".into(),
        },
        hostname: Some("box".into()),
        domainname: Some("example".into()),
        namespaces: vec![
            Namespace::Mount,
            Namespace::Uts,
            Namespace::Ipc,
            Namespace::Pid,
            Namespace::Net,
            Namespace::Cgroup,
        ],
        network: Network::None,
        limits: CgroupLimits::default(),
        capabilities: Capabilities {
            bounding: caps.clone(),
            effective: caps.clone(),
            permitted: caps,
            inheritable: vec![],
            ambient: vec![],
        },
        security: Security {
            no_new_privileges: true,
            readonly_paths: vec![],
            masked_paths: vec![],
            rootfs_readonly: false,
        },
        mounts: vec![],
        volumes: vec![],
        idmap: Default::default(),
        console: Console::default(),
        build: vec![],
        expose: vec![],
        labels: Default::default(),
        sources: Default::default(),
    }
}

/// A root process on a kernel with every namespace and 41 capabilities,
/// lacking CAP_SYS_RESOURCE as the development machines do.
pub fn root_host() -> HostFacts {
    let all = CapabilitySet::all_up_to(40).difference(CapabilitySet(1 << 24));
    HostFacts {
        euid: 0,
        egid: 0,
        capabilities: ProcessCapabilities {
            effective: all,
            permitted: all,
            inheritable: CapabilitySet::EMPTY,
            bounding: all,
            ambient: CapabilitySet::EMPTY,
        },
        last_capability: 40,
        namespaces: Namespace::ALL.to_vec(),
        unprivileged_userns: Ok(()),
        hard_limits: RLIMITS.iter().map(|(n, _)| (*n, 4096)).collect(),
    }
}

/// An ordinary user (uid 1000) with no capability.
pub fn user_host() -> HostFacts {
    HostFacts {
        euid: 1000,
        egid: 1000,
        capabilities: ProcessCapabilities {
            bounding: CapabilitySet::all_up_to(40),
            ..ProcessCapabilities::default()
        },
        ..root_host()
    }
}

pub fn launch(plan: &Plan, host: &HostFacts) -> Launch {
    match crate::preflight::check(plan, host) {
        Ok(launch) => launch,
        Err(problems) => panic!("preflight refused the fixture: {problems:#?}"),
    }
}
