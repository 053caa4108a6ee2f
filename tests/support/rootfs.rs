//! A minimal root filesystem for end-to-end tests: busybox-static with its
//! applet links, /etc/passwd and /etc/group, the usual empty mount points,
//! and any host binaries copied in with the shared libraries `ldd` lists
//! (so the dynamically linked `sbx-probe` runs inside).
//!
//! ```ignore
//! let rootfs = support::rootfs::Rootfs::busybox()?.with_binary(probe, "/sbx-probe")?;
//! ```
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where Debian's busybox-static puts its binary.
pub const BUSYBOX_STATIC: &str = "/bin/busybox";

/// A rootfs directory that lives as long as this value.
pub struct Rootfs {
    dir: tempfile::TempDir,
}

impl Rootfs {
    /// A busybox rootfs, or why it cannot be built here (no static busybox).
    pub fn busybox() -> Result<Rootfs, String> {
        let busybox = Path::new(BUSYBOX_STATIC);
        if !is_static(busybox) {
            return Err(format!(
                "`{BUSYBOX_STATIC}` is missing or not static (apt-get install busybox-static)"
            ));
        }
        let dir = tempfile::Builder::new()
            .prefix("sbx-rootfs-")
            .tempdir()
            .map_err(|e| format!("cannot create a temp dir: {e}"))?;
        let root = dir.path();
        for d in [
            "bin", "sbin", "usr/bin", "etc", "proc", "sys", "dev", "tmp", "run", "root", "home",
            "var/tmp",
        ] {
            std::fs::create_dir_all(root.join(d)).map_err(|e| format!("mkdir {d}: {e}"))?;
        }
        std::fs::copy(busybox, root.join("bin/busybox"))
            .map_err(|e| format!("cannot copy busybox: {e}"))?;
        let applets = Command::new(busybox)
            .arg("--list")
            .output()
            .map_err(|e| format!("busybox --list: {e}"))?;
        for applet in String::from_utf8_lossy(&applets.stdout).lines() {
            if applet == "busybox" {
                continue;
            }
            let link = root.join("bin").join(applet);
            if !link.exists() {
                std::os::unix::fs::symlink("busybox", &link)
                    .map_err(|e| format!("symlink {applet}: {e}"))?;
            }
        }
        std::fs::write(
            root.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\n\
             app:x:1000:1000:app:/home:/bin/sh\n\
             nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        )
        .map_err(|e| format!("cannot write /etc/passwd: {e}"))?;
        std::fs::write(
            root.join("etc/group"),
            "root:x:0:\ntty:x:5:\napp:x:1000:\nstaff:x:50:app\nnogroup:x:65534:\n",
        )
        .map_err(|e| format!("cannot write /etc/group: {e}"))?;
        Ok(Rootfs { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Copies the host binary `host` to `inside` (absolute), with every
    /// shared library `ldd` lists at the same path inside.
    pub fn with_binary(self, host: &Path, inside: &str) -> Result<Rootfs, String> {
        let root = self.path().to_path_buf();
        copy_into(host, &root.join(inside.trim_start_matches('/')))?;
        for lib in shared_libraries(host)? {
            copy_into(&lib, &root.join(lib.strip_prefix("/").unwrap_or(&lib)))?;
        }
        Ok(self)
    }
}

fn copy_into(from: &Path, to: &Path) -> Result<(), String> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("mkdir {}: {e}", parent.display()))?;
    }
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("cannot copy `{}`: {e}", from.display()))
}

/// The absolute library paths (and the loader) that `ldd` prints.
fn shared_libraries(binary: &Path) -> Result<Vec<PathBuf>, String> {
    let out = Command::new("ldd")
        .arg(binary)
        .output()
        .map_err(|e| format!("ldd: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("not a dynamic executable") || text.contains("statically linked") {
        return Ok(Vec::new());
    }
    Ok(text
        .lines()
        .filter_map(|line| {
            // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
            // "/lib64/ld-linux-x86-64.so.2 (0x...)"
            let path = match line.split_once("=>") {
                Some((_, right)) => right.split_whitespace().next()?,
                None => line.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect())
}

fn is_static(binary: &Path) -> bool {
    binary.is_file()
        && Command::new("ldd")
            .arg(binary)
            .output()
            .map(|o| {
                let text = String::from_utf8_lossy(&o.stdout).to_string()
                    + &String::from_utf8_lossy(&o.stderr);
                text.contains("not a dynamic executable") || text.contains("statically linked")
            })
            .unwrap_or(false)
}
