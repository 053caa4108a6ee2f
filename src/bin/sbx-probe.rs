//! `sbx-probe`: run as a sandbox's workload, prints as one JSON object what
//! it sees from inside: identity, capability sets, limits, mounts, processes,
//! namespaces, cgroup, network interfaces and routes, and the outcome of the
//! checks given as arguments.
//!
//! ```text
//! sbx-probe [--read PATH] [--write PATH] [--list PATH] [--connect HOST:PORT]
//!           [--listen PORT] [--exit CODE]
//! ```
//!
//! Only std and serde_json: it reads `/proc` and `/sys`, so what it reports
//! is what the kernel shows this process, not what a library believes.
//! Fields are only ever added, never renamed: the end-to-end tests of several
//! parts of sbx read them.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Map, Value};

use sbx_plan::CAPABILITY_NAMES;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut checks = Vec::new();
    let mut exit_code = 0;
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        let Some(value) = args.get(i + 1) else {
            eprintln!("sbx-probe: `{flag}` needs a value");
            std::process::exit(2);
        };
        match flag {
            "--read" => checks.push(check_read(value)),
            "--write" => checks.push(check_write(value)),
            "--list" => checks.push(check_list(value)),
            "--connect" => checks.push(check_connect(value)),
            "--listen" => checks.push(check_listen(value)),
            "--exit" => match value.parse() {
                Ok(code) => exit_code = code,
                Err(_) => {
                    eprintln!("sbx-probe: `--exit` needs a number, not `{value}`");
                    std::process::exit(2);
                }
            },
            _ => {
                eprintln!(
                    "sbx-probe: unknown argument `{flag}` (known: --read, --write, --list, --connect, --listen, --exit)"
                );
                std::process::exit(2);
            }
        }
        i += 2;
    }

    let mut report = report();
    report.insert("checks".into(), Value::Array(checks));
    let text = serde_json::to_string(&Value::Object(report)).expect("JSON values serialise");
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}");
    let _ = stdout.flush();
    std::process::exit(exit_code);
}

fn report() -> Map<String, Value> {
    let status = proc_status();
    let field = |name: &str| status.get(name).cloned().unwrap_or_default();
    let ids = |name: &str| -> Vec<u64> {
        field(name)
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect()
    };
    let uids = ids("Uid");
    let gids = ids("Gid");
    let mut r = Map::new();
    r.insert("pid".into(), json!(std::process::id()));
    r.insert("ppid".into(), json!(field("PPid").parse::<u64>().ok()));
    r.insert("uid".into(), json!(uids.first()));
    r.insert("euid".into(), json!(uids.get(1)));
    r.insert("gid".into(), json!(gids.first()));
    r.insert("egid".into(), json!(gids.get(1)));
    r.insert("groups".into(), json!(ids("Groups")));
    r.insert(
        "hostname".into(),
        json!(read_trimmed("/proc/sys/kernel/hostname")),
    );
    r.insert(
        "domainname".into(),
        json!(read_trimmed("/proc/sys/kernel/domainname")),
    );
    r.insert("uid_map".into(), id_map("/proc/self/uid_map"));
    r.insert("gid_map".into(), id_map("/proc/self/gid_map"));
    r.insert(
        "setgroups".into(),
        json!(read_trimmed("/proc/self/setgroups")),
    );
    let mut capabilities = Map::new();
    for (key, line) in [
        ("inheritable", "CapInh"),
        ("permitted", "CapPrm"),
        ("effective", "CapEff"),
        ("bounding", "CapBnd"),
        ("ambient", "CapAmb"),
    ] {
        capabilities.insert(key.into(), json!(capability_names(&field(line))));
    }
    r.insert("capabilities".into(), Value::Object(capabilities));
    r.insert(
        "no_new_privs".into(),
        json!(field("NoNewPrivs").parse::<u8>().ok().map(|v| v == 1)),
    );
    r.insert("seccomp".into(), json!(field("Seccomp").parse::<u8>().ok()));
    r.insert(
        "umask".into(),
        json!(u32::from_str_radix(&field("Umask"), 8).ok()),
    );
    r.insert(
        "cwd".into(),
        json!(std::env::current_dir()
            .ok()
            .map(|p| p.to_string_lossy().into_owned())),
    );
    let env: BTreeMap<String, String> = std::env::vars_os()
        .map(|(k, v)| (k.to_string_lossy().into(), v.to_string_lossy().into()))
        .collect();
    r.insert("env".into(), json!(env));
    r.insert("rlimits".into(), rlimits());
    r.insert("mounts".into(), mounts());
    r.insert("processes".into(), processes());
    r.insert("namespaces".into(), namespaces());
    r.insert("cgroup".into(), cgroup());
    r.insert("interfaces".into(), interfaces());
    r.insert("routes".into(), routes());
    r
}

fn read_trimmed(path: &str) -> Option<String> {
    fs::read_to_string(path)
        .ok()
        .map(|s| s.trim_end_matches('\n').to_string())
}

fn proc_status() -> BTreeMap<String, String> {
    fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

/// `[[inside, outside, count], ...]`.
fn id_map(path: &str) -> Value {
    let text = fs::read_to_string(path).unwrap_or_default();
    let rows: Vec<Vec<u64>> = text
        .lines()
        .map(|l| {
            l.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .collect();
    json!(rows)
}

fn capability_names(hex: &str) -> Vec<String> {
    let mask = u64::from_str_radix(hex, 16).unwrap_or(0);
    (0..64)
        .filter(|bit| mask & (1u64 << bit) != 0)
        .map(|bit| match CAPABILITY_NAMES.get(bit as usize) {
            Some(name) => name.to_string(),
            None => format!("CAP_{bit}"),
        })
        .collect()
}

/// `{"nofile": {"soft": 1024, "hard": 1024}, ...}`; `null` for unlimited.
fn rlimits() -> Value {
    let text = fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let mut out = Map::new();
    for line in text.lines().skip(1) {
        // "Max open files            1024                 1024                 files"
        let Some(name_end) = line.find("  ") else {
            continue;
        };
        let name = line[..name_end].trim();
        let mut rest = line[name_end..].split_whitespace();
        let (Some(soft), Some(hard)) = (rest.next(), rest.next()) else {
            continue;
        };
        let key = match name {
            "Max cpu time" => "cpu",
            "Max file size" => "fsize",
            "Max data size" => "data",
            "Max stack size" => "stack",
            "Max core file size" => "core",
            "Max resident set" => "rss",
            "Max processes" => "nproc",
            "Max open files" => "nofile",
            "Max locked memory" => "memlock",
            "Max address space" => "as",
            "Max file locks" => "locks",
            "Max pending signals" => "sigpending",
            "Max msgqueue size" => "msgqueue",
            "Max nice priority" => "nice",
            "Max realtime priority" => "rtprio",
            "Max realtime timeout" => "rttime",
            _ => continue,
        };
        let value = |s: &str| -> Value { s.parse::<u64>().map(Value::from).unwrap_or(Value::Null) };
        out.insert(
            key.into(),
            json!({"soft": value(soft), "hard": value(hard)}),
        );
    }
    Value::Object(out)
}

/// `/proc/self/mountinfo`, one object per line.
fn mounts() -> Value {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        if l.len() < 6 || r.len() < 3 {
            continue;
        }
        out.push(json!({
            "id": l[0].parse::<u64>().ok(),
            "parent": l[1].parse::<u64>().ok(),
            "root": unescape(l[3]),
            "mount_point": unescape(l[4]),
            "options": l[5].split(',').collect::<Vec<_>>(),
            "propagation": l[6..].to_vec(),
            "fstype": r[0],
            "source": unescape(r[1]),
            "super_options": r[2].split(',').collect::<Vec<_>>(),
        }));
    }
    Value::Array(out)
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 4], 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every process this process can see in its /proc.
fn processes() -> Value {
    let mut out = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(pid) = name.parse::<u64>() else {
                continue;
            };
            let comm = read_trimmed(&format!("/proc/{pid}/comm"));
            let cmdline = fs::read(format!("/proc/{pid}/cmdline"))
                .map(|b| {
                    b.split(|c| *c == 0)
                        .filter(|a| !a.is_empty())
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            let state = fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    s.rsplit_once(") ")
                        .and_then(|(_, rest)| rest.split(' ').next().map(str::to_string))
                });
            out.push(json!({"pid": pid, "comm": comm, "cmdline": cmdline, "state": state}));
        }
    }
    out.sort_by_key(|p| p["pid"].as_u64());
    Value::Array(out)
}

/// `{"mnt": "mnt:[4026531841]", ...}`.
fn namespaces() -> Value {
    let mut out = Map::new();
    if let Ok(entries) = fs::read_dir("/proc/self/ns") {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Ok(target) = fs::read_link(entry.path()) {
                out.insert(name, json!(target.to_string_lossy()));
            }
        }
    }
    Value::Object(out)
}

/// `/proc/self/cgroup`: `[{"id": 0, "controllers": "", "path": "/"}]`.
fn cgroup() -> Value {
    let text = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let rows: Vec<Value> = text
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let id = parts.next()?.parse::<u64>().ok()?;
            let controllers = parts.next()?;
            let path = parts.next()?;
            Some(json!({"id": id, "controllers": controllers, "path": path}))
        })
        .collect();
    Value::Array(rows)
}

/// The network interfaces of this process's network namespace
/// (`/proc/net/dev`, which follows the namespace), with what /sys and /proc
/// tell of each.
fn interfaces() -> Value {
    let names: Vec<String> = fs::read_to_string("/proc/net/dev")
        .unwrap_or_default()
        .lines()
        .skip(2)
        .filter_map(|l| l.split_once(':').map(|(n, _)| n.trim().to_string()))
        .collect();
    let ipv4 = ipv4_addresses();
    let ipv6 = ipv6_addresses();
    let mut out = Vec::new();
    for name in names {
        let sys = |attr: &str| read_trimmed(&format!("/sys/class/net/{name}/{attr}"));
        let flags =
            sys("flags").and_then(|f| u32::from_str_radix(f.trim_start_matches("0x"), 16).ok());
        out.push(json!({
            "name": name,
            "mtu": sys("mtu").and_then(|m| m.parse::<u32>().ok()),
            "address": sys("address"),
            "operstate": sys("operstate"),
            "flags": flags,
            // IFF_UP
            "up": flags.map(|f| f & 1 != 0),
            "ipv4": ipv4.get(&name).cloned().unwrap_or_default(),
            "ipv6": ipv6.get(&name).cloned().unwrap_or_default(),
        }));
    }
    Value::Array(out)
}

struct Ipv4Route {
    iface: String,
    destination: u32,
    gateway: u32,
    mask: u32,
    flags: u32,
    metric: u32,
}

fn ipv4_routes() -> Vec<Ipv4Route> {
    let text = fs::read_to_string("/proc/net/route").unwrap_or_default();
    // The kernel prints each address as the native-endian integer of its
    // bytes in network order.
    let hex = |s: &str| {
        u32::from_str_radix(s, 16)
            .ok()
            .map(|v| u32::from_be_bytes(v.to_ne_bytes()))
    };
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 8 {
                return None;
            }
            Some(Ipv4Route {
                iface: f[0].to_string(),
                destination: hex(f[1])?,
                gateway: hex(f[2])?,
                flags: u32::from_str_radix(f[3], 16).ok()?,
                metric: f[6].parse().ok()?,
                mask: hex(f[7])?,
            })
        })
        .collect()
}

fn dotted(a: u32) -> String {
    std::net::Ipv4Addr::from(a).to_string()
}

/// The local IPv4 addresses (from `/proc/net/fib_trie`, netlink-free), each
/// attributed to the interface whose subnet route contains it; loopback
/// addresses to `lo`. `ADDR/PREFIX` where a subnet route gives the prefix.
fn ipv4_addresses() -> BTreeMap<String, Vec<String>> {
    let text = fs::read_to_string("/proc/net/fib_trie").unwrap_or_default();
    let mut locals: Vec<u32> = Vec::new();
    let mut last: Option<u32> = None;
    for line in text.lines() {
        let t = line.trim_start();
        if let Some(addr) = t.strip_prefix("|-- ") {
            last = addr
                .trim()
                .parse::<std::net::Ipv4Addr>()
                .ok()
                .map(u32::from);
        } else if t.starts_with("/32 host LOCAL") {
            if let Some(a) = last {
                if !locals.contains(&a) {
                    locals.push(a);
                }
            }
        }
    }
    let routes = ipv4_routes();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in locals {
        if a >> 24 == 127 {
            out.entry("lo".into())
                .or_default()
                .push(format!("{}/8", dotted(a)));
            continue;
        }
        let best = routes
            .iter()
            .filter(|r| r.gateway == 0 && r.mask != 0 && a & r.mask == r.destination)
            .max_by_key(|r| r.mask.count_ones());
        match best {
            Some(r) => out.entry(r.iface.clone()).or_default().push(format!(
                "{}/{}",
                dotted(a),
                r.mask.count_ones()
            )),
            None => out
                .entry("?".into())
                .or_default()
                .push(format!("{}/32", dotted(a))),
        }
    }
    out
}

fn ipv6_text(hex: &str) -> String {
    let mut bytes = [0u8; 16];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2).unwrap_or("00"), 16).unwrap_or(0);
    }
    std::net::Ipv6Addr::from(bytes).to_string()
}

fn ipv6_addresses() -> BTreeMap<String, Vec<String>> {
    let text = fs::read_to_string("/proc/net/if_inet6").unwrap_or_default();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 {
            continue;
        }
        let prefix = u8::from_str_radix(f[2], 16).unwrap_or(128);
        out.entry(f[5].to_string())
            .or_default()
            .push(format!("{}/{prefix}", ipv6_text(f[0])));
    }
    out
}

fn routes() -> Value {
    let v4: Vec<Value> = ipv4_routes()
        .iter()
        .map(|r| {
            json!({
                "interface": r.iface,
                "destination": format!("{}/{}", dotted(r.destination), r.mask.count_ones()),
                "gateway": (r.gateway != 0).then(|| dotted(r.gateway)),
                "flags": r.flags,
                "metric": r.metric,
            })
        })
        .collect();
    let text = fs::read_to_string("/proc/net/ipv6_route").unwrap_or_default();
    let v6: Vec<Value> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 10 {
                return None;
            }
            let plen = u8::from_str_radix(f[1], 16).ok()?;
            let gateway = ipv6_text(f[4]);
            Some(json!({
                "interface": f[9],
                "destination": format!("{}/{plen}", ipv6_text(f[0])),
                "gateway": (gateway != "::").then_some(gateway),
                "metric": u32::from_str_radix(f[5], 16).ok(),
                "flags": u32::from_str_radix(f[8], 16).ok(),
            }))
        })
        .collect();
    json!({"ipv4": v4, "ipv6": v6})
}

fn outcome(check: &str, target: &str, result: std::io::Result<Value>) -> Value {
    match result {
        Ok(detail) => json!({"check": check, "target": target, "ok": true, "detail": detail}),
        Err(e) => json!({
            "check": check,
            "target": target,
            "ok": false,
            "errno": e.raw_os_error(),
            "error": e.to_string(),
        }),
    }
}

fn check_read(path: &str) -> Value {
    let result = fs::File::open(Path::new(path)).and_then(|mut f| {
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        Ok(json!({"bytes": buf.len()}))
    });
    outcome("read", path, result)
}

fn check_write(path: &str) -> Value {
    let result = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(b"sbx-probe\n"))
        .map(|()| Value::Null);
    outcome("write", path, result)
}

/// The names in a directory, sorted (`{"entries": ["null", "zero"]}`).
fn check_list(path: &str) -> Value {
    let result = fs::read_dir(path).and_then(|entries| {
        let mut names = entries
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<std::io::Result<Vec<_>>>()?;
        names.sort();
        Ok(json!({"entries": names}))
    });
    outcome("list", path, result)
}

fn check_connect(target: &str) -> Value {
    let result = target.to_socket_addrs().and_then(|mut addrs| {
        let addr = addrs
            .next()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address"))?;
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        Ok(json!({"local": stream.local_addr()?.to_string()}))
    });
    outcome("connect", target, result)
}

fn check_listen(port: &str) -> Value {
    let result = port
        .parse::<u16>()
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a port"))
        .and_then(|p| TcpListener::bind(("0.0.0.0", p)))
        .and_then(|l| Ok(json!({"local": l.local_addr()?.to_string()})));
    outcome("listen", port, result)
}
