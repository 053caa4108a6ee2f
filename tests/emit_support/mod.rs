//! Hand-built plans for the emitter tests: they exercise every emitter
//! without the compiler, and pin what each plan field becomes.
#![allow(dead_code)]

use std::collections::BTreeMap;

use sbx_plan::*;

/// The podman default set, which the compiler gives a silent profile.
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

/// runc's default masked paths.
pub const MASKED: [&str; 10] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
];

/// runc's default read-only paths.
pub const READONLY: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Root workload: effective = permitted = bounding.
pub fn root_caps(list: &[&str]) -> Capabilities {
    Capabilities {
        bounding: strings(list),
        effective: strings(list),
        permitted: strings(list),
        inheritable: vec![],
        ambient: vec![],
    }
}

/// What the compiler gives a profile that says only `cmd`.
pub fn minimal_host() -> Plan {
    Plan {
        version: PLAN_VERSION,
        name: None,
        rootfs: Rootfs::Host,
        process: Process {
            args: strings(&["/bin/true"]),
            env: vec![EnvVar {
                name: "PATH".into(),
                value: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            }],
            user: UserSpec {
                user: IdOrName::Id(0),
                group: None,
            },
            groups: vec![],
            cwd: "/".into(),
            umask: None,
            rlimits: vec![],
            terminal: false,
            stop_signal: "SIGTERM".into(),
        },
        hostname: None,
        domainname: None,
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
        capabilities: root_caps(&DEFAULT_CAPS),
        security: Security {
            no_new_privileges: true,
            readonly_paths: strings(&READONLY),
            masked_paths: strings(&MASKED),
            rootfs_readonly: true,
        },
        mounts: vec![],
        volumes: vec![],
        idmap: IdMap::default(),
        console: Console::default(),
        build: vec![],
        expose: vec![],
        labels: BTreeMap::new(),
        sources: BTreeMap::new(),
    }
}

/// Nearly every field set, on a rootfs directory.
pub fn full_directory() -> Plan {
    let mut plan = minimal_host();
    plan.name = Some("web".into());
    plan.rootfs = Rootfs::Directory {
        path: "/srv/rootfs/web".into(),
    };
    plan.hostname = Some("web-1".into());
    plan.domainname = Some("example.org".into());
    plan.process.args = strings(&["/usr/bin/httpd", "-f", "/etc/httpd conf/%h.conf", "$HOME"]);
    plan.process.env.push(EnvVar {
        name: "GREETING".into(),
        value: "say \"hi\" 100%".into(),
    });
    plan.process.user = UserSpec {
        user: IdOrName::Id(1000),
        group: Some(IdOrName::Id(1000)),
    };
    plan.process.groups = vec![IdOrName::Id(50)];
    plan.process.cwd = "/srv".into();
    plan.process.umask = Some(0o027);
    plan.process.rlimits = vec![
        Rlimit {
            resource: "nofile".into(),
            soft: Limit::Value(1024),
            hard: Limit::Value(4096),
        },
        Rlimit {
            resource: "core".into(),
            soft: Limit::Value(0),
            hard: Limit::MAX,
        },
    ];
    plan.process.stop_signal = "SIGQUIT".into();
    plan.namespaces.push(Namespace::User);
    plan.namespaces.sort();
    plan.idmap = IdMap {
        uid: vec![IdRange {
            inside: 0,
            outside: 100000,
            count: 65536,
        }],
        gid: vec![IdRange {
            inside: 0,
            outside: 100000,
            count: 65536,
        }],
    };
    plan.network = Network::Interfaces {
        interfaces: vec![NetInterface {
            name: "eth0".into(),
            kind: NetKind::Veth,
            link: Some("br0".into()),
            create_bridge: true,
            macvlan_mode: None,
            vlan_id: None,
            hwaddr: Some("00:16:3e:c6:0e:04".into()),
            addresses: strings(&["10.0.3.2/24", "fd00::2/64"]),
            gateways: strings(&["10.0.3.1"]),
            mtu: Some(1500),
            up: true,
        }],
    };
    plan.limits = CgroupLimits {
        memory_max: Some(Limit::Value(512 << 20)),
        memory_high: Some(Limit::Value(384 << 20)),
        memory_swap_max: Some(Limit::Value(0)),
        cpu_weight: Some(200),
        cpu_quota: Some(CpuQuota {
            quota_us: 150_000,
            period_us: 100_000,
        }),
        cpuset_cpus: Some("0-1".into()),
        cpuset_mems: Some("0".into()),
        io_weight: Some(100),
        pids_max: Some(Limit::Value(128)),
    };
    plan.capabilities = Capabilities {
        bounding: strings(&["CAP_NET_BIND_SERVICE", "CAP_SETGID", "CAP_SETUID"]),
        effective: strings(&["CAP_NET_BIND_SERVICE"]),
        permitted: strings(&["CAP_NET_BIND_SERVICE"]),
        inheritable: strings(&["CAP_NET_BIND_SERVICE"]),
        ambient: strings(&["CAP_NET_BIND_SERVICE"]),
    };
    plan.security.rootfs_readonly = false;
    plan.mounts = vec![
        Mount {
            destination: "/srv/data".into(),
            kind: MountKind::Bind,
            source: Some("/var/lib/web data".into()),
            options: vec![MountOption::Rbind, MountOption::Nosuid],
            size: None,
        },
        Mount {
            destination: "/etc/web".into(),
            kind: MountKind::Bind,
            source: Some("/etc/web".into()),
            options: vec![MountOption::Ro],
            size: None,
        },
        Mount {
            destination: "/scratch".into(),
            kind: MountKind::Tmpfs,
            source: None,
            options: vec![MountOption::Nosuid, MountOption::Nodev],
            size: Some(64 << 20),
        },
    ];
    plan.volumes = strings(&["/var/cache/web"]);
    plan.console = Console {
        tty: 2,
        pts: Some(64),
    };
    plan.expose = vec![
        Port {
            port: 8080,
            protocol: Protocol::Tcp,
        },
        Port {
            port: 53,
            protocol: Protocol::Udp,
        },
    ];
    plan.labels = BTreeMap::from([
        ("app".to_string(), "web".to_string()),
        (
            "description".to_string(),
            "the front web server".to_string(),
        ),
    ]);
    plan.sources = BTreeMap::from([(
        "expose".to_string(),
        SourceLocation {
            file: "web.sbx".into(),
            line: 12,
            column: 1,
        },
    )]);
    plan
}

/// LANGUAGE.md's seed example (mysql from an image).
pub fn image_mysql() -> Plan {
    let mut plan = minimal_host();
    plan.name = Some("mysql".into());
    plan.rootfs = Rootfs::Image {
        name: "debian:wheezy".into(),
    };
    plan.hostname = Some("toto".into());
    plan.process.args = strings(&["/entrypoint.sh", "mysqld", "--datadir=/var/lib/mysql"]);
    plan.process.env.push(EnvVar {
        name: "MYSQL_MAJOR".into(),
        value: "5.7".into(),
    });
    plan.volumes = strings(&["/var/lib/mysql"]);
    plan.expose = vec![Port {
        port: 3306,
        protocol: Protocol::Tcp,
    }];
    plan.limits = CgroupLimits {
        cpu_weight: Some(146),
        memory_max: Some(Limit::Value(1 << 30)),
        io_weight: Some(100),
        ..CgroupLimits::default()
    };
    let caps: Vec<&str> = DEFAULT_CAPS.to_vec();
    plan.capabilities = root_caps(&caps);
    plan.build = vec![
        BuildStep::Run {
            script: "groupadd -r mysql && useradd -r -g mysql mysql".into(),
        },
        BuildStep::Copy {
            sources: strings(&["docker-entrypoint.sh"]),
            destination: "/entrypoint.sh".into(),
        },
    ];
    plan.network = Network::Interfaces {
        interfaces: vec![NetInterface {
            name: "eth0".into(),
            kind: NetKind::Veth,
            link: Some("tap0".into()),
            create_bridge: false,
            macvlan_mode: None,
            vlan_id: None,
            hwaddr: Some("00:16:3e:c6:0e:04".into()),
            addresses: vec![],
            gateways: vec![],
            mtu: None,
            up: true,
        }],
    };
    plan.console = Console {
        tty: 4,
        pts: Some(1024),
    };
    plan.security.rootfs_readonly = false;
    plan
}

/// Host network, a non-root named user, the minimum of namespaces.
pub fn host_network_named_user() -> Plan {
    let mut plan = minimal_host();
    plan.name = Some("agent".into());
    plan.network = Network::Host;
    plan.namespaces = vec![Namespace::Mount, Namespace::Uts];
    plan.hostname = Some("Agent_Host".into());
    plan.process.args = strings(&["/usr/sbin/agent", "--foreground"]);
    plan.process.user = UserSpec {
        user: IdOrName::Name("daemon".into()),
        group: Some(IdOrName::Name("daemon".into())),
    };
    plan.capabilities = Capabilities::default();
    plan.limits = CgroupLimits {
        memory_max: Some(Limit::MAX),
        memory_swap_max: Some(Limit::MAX),
        pids_max: Some(Limit::MAX),
        cpu_quota: Some(CpuQuota {
            quota_us: 1_000,
            period_us: 300_000,
        }),
        ..CgroupLimits::default()
    };
    plan.security.no_new_privileges = false;
    plan.security.masked_paths = vec![];
    plan
}

/// Every hand-built plan, by name.
pub fn all() -> Vec<(&'static str, Plan)> {
    vec![
        ("minimal-host", minimal_host()),
        ("full-directory", full_directory()),
        ("image-mysql", image_mysql()),
        ("host-network-named-user", host_network_named_user()),
    ]
}

/// Every shipped profile (`profiles/*.sbx`), compiled, by file stem. A
/// profile that does not compile fails the calling test.
pub fn profiles() -> Vec<(String, Plan)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "sbx"))
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let compilation = sbx_compiler::compile_file(&path);
            let plan = compilation.plan.unwrap_or_else(|| {
                panic!(
                    "`{}` does not compile: {:?}",
                    path.display(),
                    compilation.diagnostics
                )
            });
            let stem = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            (stem, plan)
        })
        .collect()
}

/// The hand-built plans and the shipped profiles.
pub fn all_with_profiles() -> Vec<(String, Plan)> {
    all()
        .into_iter()
        .map(|(name, plan)| (name.to_string(), plan))
        .chain(
            profiles()
                .into_iter()
                .map(|(name, plan)| (format!("profiles/{name}"), plan)),
        )
        .collect()
}
