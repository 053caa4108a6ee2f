//! The workload's identity: `user`, `group` and supplementary `groups` of
//! the plan resolved against the rootfs's `/etc/passwd` and `/etc/group`.
//!
//! Resolution happens at preflight, on the host side, reading the files
//! below the rootfs directory (the sandbox's future `/etc`): a name that does
//! not resolve is refused before anything is touched. As Docker and runc do:
//! a numeric uid that is not in `/etc/passwd` runs with gid 0 and home `/`,
//! and the user's memberships in `/etc/group` join the supplementary groups.

use std::path::Path;

use sbx_plan::{IdOrName, Process};

/// The ids the workload runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups, without duplicates, in the order found.
    pub groups: Vec<u32>,
    /// The home directory from `/etc/passwd`, `/` when the user has none.
    pub home: String,
}

/// Why an identity does not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("user `{name}` is not in `{file}`")]
    UnknownUser { name: String, file: String },
    #[error("group `{name}` is not in `{file}`")]
    UnknownGroup { name: String, file: String },
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 7 {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_string(),
            })
        })
        .collect()
}

fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 4 {
                return None;
            }
            Some(GroupEntry {
                name: f[0].to_string(),
                gid: f[2].parse().ok()?,
                members: f[3]
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect(),
            })
        })
        .collect()
}

/// Resolves the plan's process identity against `root/etc/passwd` and
/// `root/etc/group` (missing files count as empty).
pub fn resolve(process: &Process, root: &Path) -> Result<Identity, IdentityError> {
    let passwd_path = root.join("etc/passwd");
    let group_path = root.join("etc/group");
    let passwd = parse_passwd(&std::fs::read_to_string(&passwd_path).unwrap_or_default());
    let groups = parse_group(&std::fs::read_to_string(&group_path).unwrap_or_default());
    let group_file = || group_path.display().to_string();

    let entry = match &process.user.user {
        IdOrName::Id(uid) => passwd.iter().find(|e| e.uid == *uid),
        IdOrName::Name(name) => Some(passwd.iter().find(|e| &e.name == name).ok_or_else(|| {
            IdentityError::UnknownUser {
                name: name.clone(),
                file: passwd_path.display().to_string(),
            }
        })?),
    };
    let uid = match (&process.user.user, entry) {
        (IdOrName::Id(uid), _) => *uid,
        (_, Some(e)) => e.uid,
        (IdOrName::Name(_), None) => unreachable!("a name resolved above"),
    };
    let group_id = |spec: &IdOrName| -> Result<u32, IdentityError> {
        match spec {
            IdOrName::Id(gid) => Ok(*gid),
            IdOrName::Name(name) => groups
                .iter()
                .find(|g| &g.name == name)
                .map(|g| g.gid)
                .ok_or_else(|| IdentityError::UnknownGroup {
                    name: name.clone(),
                    file: group_file(),
                }),
        }
    };
    let gid = match &process.user.group {
        Some(group) => group_id(group)?,
        None => entry.map(|e| e.gid).unwrap_or(0),
    };
    let mut supplementary = Vec::new();
    if let Some(e) = entry {
        for g in groups.iter().filter(|g| g.members.contains(&e.name)) {
            if !supplementary.contains(&g.gid) {
                supplementary.push(g.gid);
            }
        }
    }
    for spec in &process.groups {
        let g = group_id(spec)?;
        if !supplementary.contains(&g) {
            supplementary.push(g);
        }
    }
    let home = entry
        .map(|e| e.home.clone())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/".to_string());
    Ok(Identity {
        uid,
        gid,
        groups: supplementary,
        home,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sbx_plan::UserSpec;

    fn process(user: IdOrName, group: Option<IdOrName>, groups: Vec<IdOrName>) -> Process {
        Process {
            args: vec!["/bin/true".into()],
            env: vec![],
            user: UserSpec { user, group },
            groups,
            cwd: "/".into(),
            umask: None,
            rlimits: vec![],
            terminal: false,
            stop_signal: "SIGTERM".into(),
        }
    }

    fn rootfs() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1001::/srv/web:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("etc/group"),
            "root:x:0:\nweb:x:1001:\naudio:x:29:web,other\nvideo:x:44:\n",
        )
        .unwrap();
        dir
    }

    #[test]
    fn resolves_names_memberships_and_extra_groups() {
        let root = rootfs();
        let id = resolve(
            &process(
                IdOrName::Name("web".into()),
                None,
                vec![IdOrName::Name("video".into()), IdOrName::Id(7)],
            ),
            root.path(),
        )
        .unwrap();
        assert_eq!(
            id,
            Identity {
                uid: 1000,
                gid: 1001,
                groups: vec![29, 44, 7],
                home: "/srv/web".into()
            }
        );
    }

    #[test]
    fn unknown_numeric_uid_runs_with_gid_zero_and_unknown_names_fail() {
        let root = rootfs();
        let id = resolve(&process(IdOrName::Id(4242), None, vec![]), root.path()).unwrap();
        assert_eq!((id.uid, id.gid, id.home.as_str()), (4242, 0, "/"));
        let err = resolve(
            &process(IdOrName::Name("nobody2".into()), None, vec![]),
            root.path(),
        )
        .unwrap_err();
        assert!(matches!(err, IdentityError::UnknownUser { .. }));
        let err = resolve(
            &process(
                IdOrName::Id(0),
                Some(IdOrName::Name("wheel".into())),
                vec![],
            ),
            root.path(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "group `wheel` is not in `{}`",
                root.path().join("etc/group").display()
            )
        );
    }
}
