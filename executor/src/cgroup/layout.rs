//! Which cgroup hierarchies this host has, where they are mounted, and
//! where the calling process sits in each: read from `/proc/self/mountinfo`
//! and `/proc/self/cgroup` at preflight, never assumed.

use std::path::{Path, PathBuf};

use super::CgroupError;

/// The v1 controllers sbx knows by name (a named hierarchy such as
/// `name=systemd` has none).
const V1_CONTROLLERS: [&str; 14] = [
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "net_prio",
    "blkio",
    "perf_event",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
];

/// The shape of the host's cgroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutKind {
    /// Only cgroup2 (`/sys/fs/cgroup` is cgroup2): most hosts today.
    Unified,
    /// v1 controller hierarchies plus a cgroup2 mount (systemd's "hybrid").
    Hybrid,
    /// Only v1 hierarchies.
    Legacy,
}

impl LayoutKind {
    /// How messages name the layout.
    pub fn name(self) -> &'static str {
        match self {
            LayoutKind::Unified => "cgroup v2 (unified)",
            LayoutKind::Hybrid => "hybrid (v1 controllers, cgroup2 mounted)",
            LayoutKind::Legacy => "cgroup v1 (legacy)",
        }
    }
}

/// One mounted v1 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Hierarchy {
    /// The controllers bound to it (`["cpu", "cpuacct"]` when co-mounted).
    pub controllers: Vec<String>,
    /// Where it is mounted (`/sys/fs/cgroup/memory`).
    pub mount_point: PathBuf,
    /// The directory of the calling process in it, when visible.
    pub own_dir: Option<PathBuf>,
    /// The hierarchy path the mount shows at its mount point (mountinfo's
    /// root field, `/` unless a subtree is bind-mounted).
    pub mount_root: String,
}

/// The mounted cgroup2 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2Hierarchy {
    /// Where it is mounted (`/sys/fs/cgroup`, `/sys/fs/cgroup/unified`).
    pub mount_point: PathBuf,
    /// The directory of the calling process in it, when visible.
    pub own_dir: Option<PathBuf>,
    /// mountinfo's root field, as for [`V1Hierarchy::mount_root`].
    pub mount_root: String,
}

/// The host's cgroups as seen by this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupLayout {
    pub kind: LayoutKind,
    /// v1 hierarchies with at least one controller.
    pub v1: Vec<V1Hierarchy>,
    pub v2: Option<V2Hierarchy>,
}

/// One cgroup mount from mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgroupMount {
    /// `None` for cgroup2.
    pub controllers: Option<Vec<String>>,
    pub mount_point: PathBuf,
    pub root: String,
    pub device: (u64, u64),
}

impl CgroupLayout {
    /// Reads this process's view of the host.
    pub fn detect() -> Result<CgroupLayout, CgroupError> {
        let read = |path: &str| {
            std::fs::read_to_string(path).map_err(|source| CgroupError::Read {
                file: path.to_string(),
                source,
            })
        };
        let mountinfo = read("/proc/self/mountinfo")?;
        let own = read("/proc/self/cgroup")?;
        let mounts = parse_mountinfo(&mountinfo)
            .into_iter()
            .filter(is_visible)
            .collect::<Vec<_>>();
        CgroupLayout::from_mounts(&mounts, &own)
    }

    /// A layout from parsed mounts and the text of `/proc/self/cgroup`.
    pub(crate) fn from_mounts(
        mounts: &[CgroupMount],
        own: &str,
    ) -> Result<CgroupLayout, CgroupError> {
        let membership = parse_proc_cgroup(own);
        let mut v1: Vec<V1Hierarchy> = Vec::new();
        let mut v2: Option<V2Hierarchy> = None;
        for mount in mounts {
            match &mount.controllers {
                Some(controllers) if !controllers.is_empty() => {
                    // The same hierarchy mounted twice: the first one serves.
                    if v1.iter().any(|h| &h.controllers == controllers) {
                        continue;
                    }
                    let own_path = membership
                        .iter()
                        .find(|(set, _)| set.as_ref() == Some(controllers))
                        .map(|(_, path)| path.as_str());
                    v1.push(V1Hierarchy {
                        controllers: controllers.clone(),
                        mount_point: mount.mount_point.clone(),
                        own_dir: own_path.and_then(|p| dir_in_mount(mount, p)),
                        mount_root: mount.root.clone(),
                    });
                }
                Some(_) => {}
                None => {
                    if v2.is_none() {
                        let own_path = membership
                            .iter()
                            .find(|(set, _)| set.is_none())
                            .map(|(_, path)| path.as_str());
                        v2 = Some(V2Hierarchy {
                            mount_point: mount.mount_point.clone(),
                            own_dir: own_path.and_then(|p| dir_in_mount(mount, p)),
                            mount_root: mount.root.clone(),
                        });
                    }
                }
            }
        }
        let kind = match (v1.is_empty(), v2.is_some()) {
            (false, true) => LayoutKind::Hybrid,
            (false, false) => LayoutKind::Legacy,
            (true, true) => LayoutKind::Unified,
            (true, false) => return Err(CgroupError::NoCgroupFs),
        };
        Ok(CgroupLayout { kind, v1, v2 })
    }

    /// The v1 hierarchy holding `controller`.
    pub fn v1_hierarchy(&self, controller: &str) -> Option<&V1Hierarchy> {
        self.v1
            .iter()
            .find(|h| h.controllers.iter().any(|c| c == controller))
    }
}

/// Where a hierarchy path (`/process_api/x`) is under `mount`, if the mount
/// shows it.
fn dir_in_mount(mount: &CgroupMount, path: &str) -> Option<PathBuf> {
    let root = mount.root.trim_end_matches('/');
    let rest = path.strip_prefix(root)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let rest = rest.trim_matches('/');
    if rest.is_empty() {
        Some(mount.mount_point.clone())
    } else {
        Some(mount.mount_point.join(rest))
    }
}

/// The directory for a hierarchy path given by the user (`--cgroup-parent`,
/// relative to the hierarchy's root).
pub(crate) fn dir_for(mount_point: &Path, mount_root: &str, path: &Path) -> Option<PathBuf> {
    let mount = CgroupMount {
        controllers: None,
        mount_point: mount_point.to_path_buf(),
        root: mount_root.to_string(),
        device: (0, 0),
    };
    let text = path.to_string_lossy();
    let absolute = format!("/{}", text.trim_start_matches('/'));
    dir_in_mount(&mount, &absolute)
}

/// The cgroup mounts of a mountinfo text, in order.
pub(crate) fn parse_mountinfo(text: &str) -> Vec<CgroupMount> {
    let mut mounts = Vec::new();
    for line in text.lines() {
        let Some((before, after)) = line.split_once(" - ") else {
            continue;
        };
        let fields: Vec<&str> = before.split(' ').collect();
        let tail: Vec<&str> = after.split(' ').collect();
        if fields.len() < 5 || tail.len() < 3 {
            continue;
        }
        let device = fields[2]
            .split_once(':')
            .and_then(|(major, minor)| Some((major.parse().ok()?, minor.parse().ok()?)));
        let Some(device) = device else { continue };
        let controllers = match tail[0] {
            "cgroup2" => None,
            "cgroup" => Some(
                tail[2]
                    .split(',')
                    .filter(|o| V1_CONTROLLERS.contains(o))
                    .map(str::to_string)
                    .collect::<Vec<_>>(),
            ),
            _ => continue,
        };
        mounts.push(CgroupMount {
            controllers,
            mount_point: PathBuf::from(unescape(fields[4])),
            root: unescape(fields[3]),
            device,
        });
    }
    mounts
}

/// mountinfo escapes space, tab, newline and backslash as `\NNN` (octal).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            let digits = std::str::from_utf8(&bytes[i + 1..i + 4]).ok();
            if let Some(code) = digits.and_then(|d| u8::from_str_radix(d, 8).ok()) {
                out.push(code);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A mount over-mounted later (as in a private namespace that mounts
/// cgroup2 over `/sys/fs/cgroup`) still appears in mountinfo; only a mount
/// whose mount point really shows its filesystem is used.
fn is_visible(mount: &CgroupMount) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(&mount.mount_point) else {
        return false;
    };
    let dev = meta.dev();
    (nix::sys::stat::major(dev), nix::sys::stat::minor(dev)) == mount.device
}

/// `/proc/self/cgroup`: (controllers, path) per line; `None` for the v2
/// line (`0::/path`). Named hierarchies are skipped.
fn parse_proc_cgroup(text: &str) -> Vec<(Option<Vec<String>>, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if controllers.is_empty() {
            out.push((None, path.to_string()));
        } else {
            let set: Vec<String> = controllers
                .split(',')
                .filter(|c| V1_CONTROLLERS.contains(c))
                .map(str::to_string)
                .collect();
            if !set.is_empty() {
                out.push((Some(set), path.to_string()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This development machine's mountinfo (KERNEL-NOTES.md: hybrid).
    const HYBRID: &str = "\
23 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const HYBRID_OWN: &str = "\
9:name=systemd:/
8:pids:/
7:blkio:/
4:memory:/process_api/26b3
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
";

    #[test]
    fn hybrid_host_is_detected_with_the_callers_memory_cgroup() {
        let layout = CgroupLayout::from_mounts(&parse_mountinfo(HYBRID), HYBRID_OWN).unwrap();
        assert_eq!(layout.kind, LayoutKind::Hybrid);
        let controllers: Vec<_> = layout.v1.iter().map(|h| h.controllers.join(",")).collect();
        assert_eq!(
            controllers,
            ["cpu", "cpuacct", "cpuset", "memory", "blkio", "pids"]
        );
        assert_eq!(
            layout.v1_hierarchy("memory").unwrap().own_dir.as_deref(),
            Some(Path::new("/sys/fs/cgroup/memory/process_api/26b3"))
        );
        assert_eq!(
            layout.v1_hierarchy("pids").unwrap().own_dir.as_deref(),
            Some(Path::new("/sys/fs/cgroup/pids"))
        );
        let v2 = layout.v2.unwrap();
        assert_eq!(v2.mount_point, Path::new("/sys/fs/cgroup/unified"));
    }

    #[test]
    fn unified_and_legacy_hosts() {
        let unified = "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        let own = "0::/user.slice/user-1000.slice/session-2.scope\n";
        let layout = CgroupLayout::from_mounts(&parse_mountinfo(unified), own).unwrap();
        assert_eq!(layout.kind, LayoutKind::Unified);
        assert_eq!(
            layout.v2.unwrap().own_dir.unwrap(),
            Path::new("/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope")
        );

        let legacy = "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n";
        let own = "1:cpu,cpuacct:/box\n";
        let layout = CgroupLayout::from_mounts(&parse_mountinfo(legacy), own).unwrap();
        assert_eq!(layout.kind, LayoutKind::Legacy);
        let h = layout.v1_hierarchy("cpuacct").unwrap();
        assert_eq!(h.controllers, ["cpu", "cpuacct"]);
        assert_eq!(
            h.own_dir.as_deref(),
            Some(Path::new("/sys/fs/cgroup/cpu,cpuacct/box"))
        );
    }

    #[test]
    fn no_cgroup_mount_is_an_error() {
        let none = "23 1 0:21 / /sys rw - sysfs sysfs rw\n";
        let err = CgroupLayout::from_mounts(&parse_mountinfo(none), "").unwrap_err();
        assert!(matches!(err, CgroupError::NoCgroupFs), "{err}");
    }

    #[test]
    fn bind_mounted_subtree_and_escapes() {
        let text = "50 31 0:32 /box /sys/fs/cgroup/my\\040memory rw - cgroup cgroup rw,memory\n";
        let mounts = parse_mountinfo(text);
        assert_eq!(mounts[0].mount_point, Path::new("/sys/fs/cgroup/my memory"));
        let layout = CgroupLayout::from_mounts(&mounts, "4:memory:/box/inner\n").unwrap();
        assert_eq!(
            layout.v1[0].own_dir.as_deref(),
            Some(Path::new("/sys/fs/cgroup/my memory/inner"))
        );
        // A process outside the bind-mounted subtree has no visible dir.
        let layout = CgroupLayout::from_mounts(&mounts, "4:memory:/elsewhere\n").unwrap();
        assert_eq!(layout.v1[0].own_dir, None);
        let layout = CgroupLayout::from_mounts(&mounts, "4:memory:/boxer\n").unwrap();
        assert_eq!(layout.v1[0].own_dir, None);
    }

    #[test]
    fn the_real_host_is_readable() {
        // Whatever this machine is, detection must not fail on it.
        let layout = CgroupLayout::detect().unwrap();
        assert!(!layout.v1.is_empty() || layout.v2.is_some());
    }
}
