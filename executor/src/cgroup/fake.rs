//! A fake cgroupfs in a temporary directory, for unit tests: `mkdir`
//! creates the files the kernel would (per hierarchy on v1, per enabled
//! controller on v2), writes are answered as the kernel answers them (page
//! rounding, list normalisation, `-1`, `default N`, the no-internal-process
//! rule, `cgroup.kill`), and every call is recorded. Tests can make a file
//! keep another value than the one written, refuse a write, or refuse a
//! removal.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::convert::{memory_readback, parse_list, v1_memory_unlimited};
use super::fs::CgroupFs;
use super::layout::{CgroupLayout, LayoutKind, V1Hierarchy, V2Hierarchy};
use super::CgroupHost;

const PAGE: u64 = 4096;

/// The v1 hierarchies of the fake, each at `<root>/<name>`.
pub const V1_HIERARCHIES: [&str; 6] = ["cpuset", "memory", "cpu", "cpuacct", "blkio", "pids"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeVersion {
    V1,
    V2,
}

#[derive(Debug, Default)]
struct Rules {
    /// File name -> what it keeps whatever is written.
    keeps: BTreeMap<String, String>,
    /// File name -> errno of a refused write.
    refuses: BTreeMap<String, i32>,
    /// Directory names whose rmdir fails with EBUSY.
    busy: BTreeSet<String>,
    /// File names the kernel of this fake does not have.
    missing: BTreeSet<String>,
}

#[derive(Debug)]
pub struct FakeCgroupFs {
    dir: tempfile::TempDir,
    version: FakeVersion,
    calls: Mutex<Vec<String>>,
    rules: Mutex<Rules>,
}

impl FakeCgroupFs {
    /// A fake host of one version with every controller.
    pub fn new(version: FakeVersion) -> Arc<FakeCgroupFs> {
        let fake = FakeCgroupFs {
            dir: tempfile::tempdir().expect("a temporary directory"),
            version,
            calls: Mutex::new(Vec::new()),
            rules: Mutex::new(Rules::default()),
        };
        let root = fake.root().to_path_buf();
        match version {
            FakeVersion::V1 => {
                for name in V1_HIERARCHIES {
                    let dir = root.join(name);
                    std::fs::create_dir(&dir).unwrap();
                    fake.populate(&dir, true);
                }
            }
            FakeVersion::V2 => {
                let dir = root.join("unified");
                std::fs::create_dir(&dir).unwrap();
                fake.populate(&dir, true);
            }
        }
        // A disk under mq-deadline, an unused loop device, no swap.
        let vda = root.join("block/vda/queue");
        std::fs::create_dir_all(&vda).unwrap();
        std::fs::write(vda.join("scheduler"), "none [mq-deadline] kyber bfq\n").unwrap();
        std::fs::write(root.join("block/vda/size"), "41943040\n").unwrap();
        let loop0 = root.join("block/loop0/queue");
        std::fs::create_dir_all(&loop0).unwrap();
        std::fs::write(loop0.join("scheduler"), "[none] bfq\n").unwrap();
        std::fs::write(root.join("block/loop0/size"), "0\n").unwrap();
        std::fs::write(
            root.join("swaps"),
            "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n",
        )
        .unwrap();
        Arc::new(fake)
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The host the backends see: this fake, 4 KiB pages, a short wait.
    pub fn host(self: &Arc<Self>) -> CgroupHost {
        CgroupHost {
            fs: self.clone(),
            page_size: PAGE,
            block_dir: self.root().join("block"),
            swaps_file: self.root().join("swaps"),
            empty_attempts: 5,
        }
    }

    /// The layout of this fake: the caller sits in `own` (relative to each
    /// hierarchy's root, created here) in every hierarchy.
    pub fn layout(&self, own: &str) -> CgroupLayout {
        let own = own.trim_matches('/');
        // Each level down to the caller's cgroup, as a service manager
        // makes them: every controller enabled for the levels above it.
        let at = |mount: PathBuf| {
            let mut dir = mount.clone();
            for part in own.split('/').filter(|p| !p.is_empty()) {
                if self.version == FakeVersion::V2 {
                    let offered = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap();
                    std::fs::write(dir.join("cgroup.subtree_control"), offered).unwrap();
                }
                dir = dir.join(part);
                if !dir.exists() {
                    std::fs::create_dir(&dir).unwrap();
                    self.populate(&dir, false);
                }
            }
            dir
        };
        match self.version {
            FakeVersion::V1 => CgroupLayout {
                kind: LayoutKind::Legacy,
                v1: V1_HIERARCHIES
                    .iter()
                    .filter(|name| self.root().join(name).exists())
                    .map(|name| {
                        let mount = self.root().join(name);
                        V1Hierarchy {
                            controllers: vec![name.to_string()],
                            own_dir: Some(at(mount.clone())),
                            mount_point: mount,
                            mount_root: "/".into(),
                        }
                    })
                    .collect(),
                v2: None,
            },
            FakeVersion::V2 => {
                let mount = self.root().join("unified");
                CgroupLayout {
                    kind: LayoutKind::Unified,
                    v1: Vec::new(),
                    v2: Some(V2Hierarchy {
                        own_dir: Some(at(mount.clone())),
                        mount_point: mount,
                        mount_root: "/".into(),
                    }),
                }
            }
        }
    }

    /// Removes a v1 hierarchy (the controller is not mounted).
    pub fn unmount(&self, hierarchy: &str) {
        std::fs::remove_dir_all(self.root().join(hierarchy)).unwrap();
    }

    /// New cgroups lack this file (and it is removed where it exists).
    pub fn without_file(&self, name: &str) {
        self.rules.lock().unwrap().missing.insert(name.to_string());
        for dir in self.all_dirs() {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }

    /// The file keeps `value` whatever is written (a silent failure).
    pub fn keeps(&self, file: &str, value: &str) {
        let mut rules = self.rules.lock().unwrap();
        rules.keeps.insert(file.to_string(), value.to_string());
    }

    /// Writes to the file fail with `errno`.
    pub fn refuses(&self, file: &str, errno: i32) {
        self.rules
            .lock()
            .unwrap()
            .refuses
            .insert(file.into(), errno);
    }

    /// Removing a directory of this name fails with EBUSY.
    pub fn busy(&self, dir_name: &str) {
        self.rules.lock().unwrap().busy.insert(dir_name.into());
    }

    /// Adds a process to a cgroup directory (as a fork inside it would).
    pub fn add_process(&self, dir: &Path, pid: i32) {
        let procs = dir.join("cgroup.procs");
        let mut text = std::fs::read_to_string(&procs).unwrap();
        text.push_str(&format!("{pid}\n"));
        std::fs::write(procs, text).unwrap();
    }

    /// Sets a file's content as the kernel would (accounting after a run).
    pub fn set(&self, file: &Path, value: &str) {
        std::fs::write(file, value).unwrap();
    }

    /// The calls so far, paths relative to the fake's root.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    /// The index of the first call starting with `prefix`.
    pub fn position(&self, prefix: &str) -> Option<usize> {
        self.calls().iter().position(|c| c.starts_with(prefix))
    }

    /// Every directory under the root (cgroups and the rest).
    pub fn all_dirs(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            out.push(dir.to_path_buf());
            if let Ok(entries) = std::fs::read_dir(dir) {
                for entry in entries.flatten() {
                    if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                        walk(&entry.path(), out);
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(self.root(), &mut out);
        out
    }

    fn relative(&self, path: &Path) -> String {
        path.strip_prefix(self.root())
            .unwrap_or(path)
            .display()
            .to_string()
    }

    fn log(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }

    /// The files a new cgroup directory gets from the kernel.
    fn populate(&self, dir: &Path, is_root: bool) {
        let mut files: Vec<(&str, String)> = vec![("cgroup.procs", String::new())];
        match self.version {
            FakeVersion::V1 => {
                let hierarchy = self
                    .relative(dir)
                    .split('/')
                    .next()
                    .unwrap_or_default()
                    .to_string();
                files.push(("tasks", String::new()));
                let unlimited = v1_memory_unlimited(PAGE).to_string();
                match hierarchy.as_str() {
                    "memory" => files.extend([
                        ("memory.limit_in_bytes", unlimited.clone()),
                        ("memory.memsw.limit_in_bytes", unlimited),
                        ("memory.swappiness", "60".into()),
                        ("memory.max_usage_in_bytes", "0".into()),
                        (
                            "memory.oom_control",
                            "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n".into(),
                        ),
                    ]),
                    "cpu" => files.extend([
                        ("cpu.shares", "1024".into()),
                        ("cpu.cfs_period_us", "100000".into()),
                        ("cpu.cfs_quota_us", "-1".into()),
                    ]),
                    "cpuacct" => files.push(("cpuacct.usage", "0".into())),
                    "cpuset" if is_root => {
                        files.extend([("cpuset.cpus", "0-3".into()), ("cpuset.mems", "0".into())])
                    }
                    "cpuset" => files.extend([
                        ("cpuset.cpus", String::new()),
                        ("cpuset.mems", String::new()),
                    ]),
                    // The hierarchy's root has no bfq weight, as on Linux.
                    "blkio" if !is_root => files.push(("blkio.bfq.weight", "100".into())),
                    "pids" if !is_root => files.extend([
                        ("pids.max", "max".into()),
                        ("pids.current", "0".into()),
                        ("pids.peak", "0".into()),
                    ]),
                    _ => {}
                }
            }
            FakeVersion::V2 => {
                let enabled = if is_root {
                    "cpuset cpu io memory hugetlb pids".to_string()
                } else {
                    std::fs::read_to_string(dir.parent().unwrap().join("cgroup.subtree_control"))
                        .unwrap_or_default()
                };
                files.extend([
                    ("cgroup.controllers", enabled.clone()),
                    ("cgroup.subtree_control", String::new()),
                    (
                        "cpu.stat",
                        "usage_usec 0\nuser_usec 0\nsystem_usec 0\n".into(),
                    ),
                ]);
                if !is_root {
                    files.extend([
                        ("cgroup.kill", String::new()),
                        ("cgroup.events", "populated 0\nfrozen 0\n".into()),
                    ]);
                }
                for controller in enabled.split_whitespace().filter(|_| !is_root) {
                    match controller {
                        "memory" => files.extend([
                            ("memory.max", "max".into()),
                            ("memory.high", "max".into()),
                            ("memory.swap.max", "max".into()),
                            ("memory.peak", "0".into()),
                            (
                                "memory.events",
                                "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n".into(),
                            ),
                        ]),
                        "cpu" => files.extend([
                            ("cpu.weight", "100".into()),
                            ("cpu.max", "max 100000".into()),
                        ]),
                        "cpuset" => files.extend([
                            ("cpuset.cpus", String::new()),
                            ("cpuset.mems", String::new()),
                        ]),
                        "io" => files.extend([
                            ("io.weight", "default 100".into()),
                            ("io.bfq.weight", "default 100".into()),
                        ]),
                        "pids" => files.extend([
                            ("pids.max", "max".into()),
                            ("pids.current", "0".into()),
                            ("pids.peak", "0".into()),
                        ]),
                        _ => {}
                    }
                }
            }
        }
        let missing = self.rules.lock().unwrap().missing.clone();
        for (name, content) in files {
            if !missing.contains(name) {
                std::fs::write(dir.join(name), content).unwrap();
            }
        }
    }

    /// What the kernel keeps after `value` is written to `path`.
    fn kernel_answer(&self, path: &Path, value: &str) -> io::Result<String> {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let invalid = || io::Error::from_raw_os_error(libc::EINVAL);
        let value = value.trim();
        let bytes = |text: &str| -> io::Result<u64> { text.parse().map_err(|_| invalid()) };
        Ok(match name.as_str() {
            "memory.limit_in_bytes" | "memory.memsw.limit_in_bytes" => {
                if value == "-1" {
                    v1_memory_unlimited(PAGE).to_string()
                } else {
                    memory_readback(bytes(value)?, PAGE).to_string()
                }
            }
            "memory.max" | "memory.high" | "memory.swap.max" => {
                if value == "max" {
                    "max".into()
                } else {
                    memory_readback(bytes(value)?, PAGE).to_string()
                }
            }
            "cpuset.cpus" | "cpuset.mems" => {
                let set = parse_list(value).map_err(|_| invalid())?;
                let list: Vec<String> = set.iter().map(u32::to_string).collect();
                list.join(",")
            }
            "io.weight" | "io.bfq.weight" => format!("default {}", bytes(value)?),
            _ => value.to_string(),
        })
    }

    fn write_control(&self, path: &Path, value: &str) -> io::Result<bool> {
        let dir = path.parent().unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        match name.as_str() {
            "cgroup.procs" => {
                self.add_process(
                    dir,
                    value
                        .trim()
                        .parse()
                        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?,
                );
                Ok(true)
            }
            "cgroup.kill" => {
                std::fs::write(path.with_file_name("cgroup.procs"), "")?;
                Ok(true)
            }
            "cgroup.subtree_control" => {
                let available = std::fs::read_to_string(dir.join("cgroup.controllers"))?;
                let procs = std::fs::read_to_string(dir.join("cgroup.procs"))?;
                let is_root = dir == self.root().join("unified");
                if !is_root && !procs.trim().is_empty() {
                    return Err(io::Error::from_raw_os_error(libc::EBUSY));
                }
                let mut enabled: BTreeSet<String> = std::fs::read_to_string(path)?
                    .split_whitespace()
                    .map(str::to_string)
                    .collect();
                for word in value.split_whitespace() {
                    let (on, controller) = word.split_at(1);
                    if !available.split_whitespace().any(|c| c == controller) {
                        return Err(io::Error::from_raw_os_error(libc::ENOENT));
                    }
                    if on == "+" {
                        enabled.insert(controller.to_string());
                    } else {
                        enabled.remove(controller);
                    }
                }
                std::fs::write(path, enabled.into_iter().collect::<Vec<_>>().join(" "))?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

impl CgroupFs for FakeCgroupFs {
    fn mkdir(&self, path: &Path) -> io::Result<()> {
        self.log(format!("mkdir {}", self.relative(path)));
        std::fs::create_dir(path)?;
        self.populate(path, false);
        Ok(())
    }

    fn rmdir(&self, path: &Path) -> io::Result<()> {
        self.log(format!("rmdir {}", self.relative(path)));
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if self.rules.lock().unwrap().busy.contains(&name) {
            return Err(io::Error::from_raw_os_error(libc::EBUSY));
        }
        if !path.exists() {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        }
        let procs = std::fs::read_to_string(path.join("cgroup.procs")).unwrap_or_default();
        let has_children = std::fs::read_dir(path)?
            .flatten()
            .any(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false));
        if !procs.trim().is_empty() || has_children {
            return Err(io::Error::from_raw_os_error(libc::EBUSY));
        }
        std::fs::remove_dir_all(path)
    }

    fn read(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn write(&self, path: &Path, value: &str) -> io::Result<()> {
        self.log(format!("write {}={value}", self.relative(path)));
        if !path.is_file() {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        }
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let rules = self.rules.lock().unwrap();
        if let Some(errno) = rules.refuses.get(&name) {
            return Err(io::Error::from_raw_os_error(*errno));
        }
        let kept = rules.keeps.get(&name).cloned();
        drop(rules);
        let answer = match kept {
            Some(kept) => kept,
            None if self.write_control(path, value)? => return Ok(()),
            None => self.kernel_answer(path, value)?,
        };
        std::fs::write(path, format!("{answer}\n"))
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn list(&self, path: &Path) -> io::Result<Vec<String>> {
        let mut names: Vec<String> = std::fs::read_dir(path)?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    fn kill(&self, pid: i32) -> io::Result<()> {
        self.log(format!("kill {pid}"));
        for dir in self.all_dirs() {
            let procs = dir.join("cgroup.procs");
            if let Ok(text) = std::fs::read_to_string(&procs) {
                let kept: String = text
                    .lines()
                    .filter(|l| l.trim() != pid.to_string())
                    .map(|l| format!("{l}\n"))
                    .collect();
                std::fs::write(&procs, kept)?;
            }
        }
        Ok(())
    }

    fn pause(&self, _duration: Duration) {}
}
