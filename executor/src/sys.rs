//! The one narrow interface through which the executor reaches the kernel.
//!
//! Every call that changes kernel state on the way to the workload goes
//! through [`Sys`] (youki's `Syscall` style): [`LinuxSys`] makes the real
//! calls, [`RecordingSys`] records them for unit tests, which can then check
//! the order of the sequence without root, and inject a failure at the Nth
//! call to exercise every unwind path.
//!
//! Reads without side effects (preflight, `/proc` files) do not go through
//! this trait: they change nothing, and a test can point them at files of
//! its own. Methods are added here additively; keep each one a thin wrapper
//! over a single kernel call (or a fixed, tiny group of them) so that a
//! recording stays a faithful picture of what the kernel sees.

use std::cell::RefCell;
use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

pub use nix::errno::Errno;
pub use nix::mount::{MntFlags, MsFlags};
pub use nix::sched::CloneFlags;
pub use nix::sys::resource::Resource;
pub use nix::sys::stat::SFlag;

/// The result of one kernel call: the kernel's errno on failure.
pub type SysResult<T> = Result<T, Errno>;

/// The three capability sets that `capset(2)` sets at once, as bit masks
/// indexed by capability number (`1 << CAP_CHOWN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapabilitySets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

/// Per-mount attributes that `mount_setattr(2)` sets or clears
/// (`MOUNT_ATTR_*`): unlike a remount, it leaves every other attribute of
/// the mount as it is, and can apply to a whole tree of mounts at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MountAttr(pub u64);

impl MountAttr {
    pub const NONE: MountAttr = MountAttr(0);
    pub const RDONLY: MountAttr = MountAttr(0x1);
    pub const NOSUID: MountAttr = MountAttr(0x2);
    pub const NODEV: MountAttr = MountAttr(0x4);
    pub const NOEXEC: MountAttr = MountAttr(0x8);
}

impl std::ops::BitOr for MountAttr {
    type Output = MountAttr;
    fn bitor(self, other: MountAttr) -> MountAttr {
        MountAttr(self.0 | other.0)
    }
}

impl std::ops::BitOrAssign for MountAttr {
    fn bitor_assign(&mut self, other: MountAttr) {
        self.0 |= other.0;
    }
}

/// What a cloned process is, on each side of the clone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloneResult {
    /// In the caller: the new process's pid (as seen by the caller).
    Parent { child: i32 },
    /// In the new process.
    Child,
}

/// Every kernel call the executor makes on the way to the workload.
pub trait Sys {
    // --- processes and namespaces ---

    /// Creates a process in new namespaces (`clone(2)` without a new stack,
    /// so it returns twice, as `fork` does; `SIGCHLD` on exit).
    fn clone_process(&self, namespaces: CloneFlags) -> SysResult<CloneResult>;
    /// `fork(2)`.
    fn fork(&self) -> SysResult<CloneResult>;
    /// `unshare(2)`.
    fn unshare(&self, namespaces: CloneFlags) -> SysResult<()>;
    /// `kill(2)`.
    fn kill(&self, pid: i32, signal: i32) -> SysResult<()>;
    /// `execve(2)`: never returns `Ok` for real.
    fn execve(&self, path: &CStr, args: &[CString], env: &[CString]) -> SysResult<()>;
    /// `waitpid(2)` for one child, blocking; its raw wait status.
    fn waitpid(&self, pid: i32) -> SysResult<i32>;
    /// `sigprocmask(SIG_SETMASK, {})`: no signal blocked.
    fn unblock_signals(&self) -> SysResult<()>;

    // --- files and mounts (the rootfs is built with these) ---

    /// `mount(2)`.
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> SysResult<()>;
    /// `umount2(2)`.
    fn umount2(&self, target: &Path, flags: MntFlags) -> SysResult<()>;
    /// `pivot_root(2)`.
    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> SysResult<()>;
    /// `chdir(2)`.
    fn chdir(&self, path: &Path) -> SysResult<()>;
    /// `chroot(2)`.
    fn chroot(&self, path: &Path) -> SysResult<()>;
    /// `mkdir(2)` of one directory (`EEXIST` when it exists).
    fn mkdir(&self, path: &Path, mode: u32) -> SysResult<()>;
    /// `mknod(2)`: `kind` is `S_IFCHR`, `S_IFBLK`, `S_IFIFO` ...
    fn mknod(&self, path: &Path, kind: SFlag, mode: u32, dev: u64) -> SysResult<()>;
    /// `symlink(2)`: makes `link` point at `target`.
    fn symlink(&self, target: &Path, link: &Path) -> SysResult<()>;
    /// Creates an empty regular file if nothing exists at `path` (a bind
    /// mount target); leaves an existing file alone.
    fn create_file(&self, path: &Path, mode: u32) -> SysResult<()>;
    /// Writes `contents` to an existing file (`/proc/PID/uid_map`, ...),
    /// in one `write(2)`, as kernel files require.
    fn write_file(&self, path: &Path, contents: &[u8]) -> SysResult<()>;
    /// `chmod(2)`.
    fn chmod(&self, path: &Path, mode: u32) -> SysResult<()>;
    /// `lchown(2)`.
    fn chown(&self, path: &Path, uid: u32, gid: u32) -> SysResult<()>;
    /// `mount_setattr(2)`: sets the attributes `set` on the mount at
    /// `path`, and on every mount below it when `recursive`
    /// (`AT_RECURSIVE`). Linux 5.12 and later; `ENOSYS` before.
    fn mount_setattr(&self, path: &Path, recursive: bool, set: MountAttr) -> SysResult<()>;

    // --- host name, network ---

    /// `sethostname(2)`.
    fn sethostname(&self, name: &str) -> SysResult<()>;
    /// `setdomainname(2)`.
    fn setdomainname(&self, name: &str) -> SysResult<()>;
    /// Brings `lo` up in the current network namespace (`SIOCSIFFLAGS`).
    fn set_loopback_up(&self) -> SysResult<()>;

    // --- identity and process attributes ---

    /// `setgroups(2)`.
    fn setgroups(&self, gids: &[u32]) -> SysResult<()>;
    /// `setresgid(2)` with all three ids equal.
    fn setresgid(&self, gid: u32) -> SysResult<()>;
    /// `setresuid(2)` with all three ids equal.
    fn setresuid(&self, uid: u32) -> SysResult<()>;
    /// `umask(2)` (cannot fail).
    fn umask(&self, mask: u32) -> SysResult<()>;
    /// `setrlimit(2)`; `u64::MAX` is `RLIM_INFINITY`.
    fn setrlimit(&self, resource: Resource, soft: u64, hard: u64) -> SysResult<()>;
    /// `setsid(2)`.
    fn setsid(&self) -> SysResult<()>;
    /// `ioctl(fd, TIOCSCTTY, 0)`: `fd`'s terminal becomes the controlling
    /// terminal of this session.
    fn set_controlling_terminal(&self, fd: i32) -> SysResult<()>;
    /// `dup2(2)`.
    fn dup2(&self, from: i32, to: i32) -> SysResult<()>;

    // --- capabilities and privileges ---

    /// `prctl(PR_SET_KEEPCAPS)`.
    fn set_keep_capabilities(&self, keep: bool) -> SysResult<()>;
    /// `prctl(PR_CAPBSET_DROP)` of one capability number.
    fn drop_bounding_capability(&self, capability: u32) -> SysResult<()>;
    /// `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)`.
    fn clear_ambient_capabilities(&self) -> SysResult<()>;
    /// `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE)` of one capability.
    fn raise_ambient_capability(&self, capability: u32) -> SysResult<()>;
    /// `capset(2)`: effective, permitted and inheritable at once.
    fn set_capabilities(&self, sets: CapabilitySets) -> SysResult<()>;
    /// `prctl(PR_SET_NO_NEW_PRIVS, 1)`.
    fn set_no_new_privileges(&self) -> SysResult<()>;
    /// `prctl(PR_SET_DUMPABLE)`: a process that is not dumpable cannot be
    /// ptraced or have its /proc files read by others of its uid.
    fn set_dumpable(&self, dumpable: bool) -> SysResult<()>;
}

fn cstring(path: &Path) -> SysResult<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)
}

fn io_errno(error: std::io::Error) -> Errno {
    error
        .raw_os_error()
        .map(Errno::from_raw)
        .unwrap_or(Errno::EIO)
}

/// The real kernel.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinuxSys;

impl Sys for LinuxSys {
    fn clone_process(&self, namespaces: CloneFlags) -> SysResult<CloneResult> {
        let flags = namespaces.bits() as libc::c_ulong | libc::SIGCHLD as libc::c_ulong;
        // SAFETY: a raw clone without CLONE_VM and with a null stack behaves
        // as fork(2): the child gets a copy of the address space and returns
        // here on its own copy of the stack. The executor calls this while
        // single-threaded, so no lock can be held by another thread.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_clone,
                flags,
                std::ptr::null_mut::<libc::c_void>(),
                std::ptr::null_mut::<libc::c_int>(),
                std::ptr::null_mut::<libc::c_int>(),
                0 as libc::c_ulong,
            )
        };
        match ret {
            -1 => Err(Errno::last()),
            0 => Ok(CloneResult::Child),
            pid => Ok(CloneResult::Parent { child: pid as i32 }),
        }
    }

    fn fork(&self) -> SysResult<CloneResult> {
        // SAFETY: called while the process is single-threaded (the sandbox
        // init never starts a thread).
        match unsafe { libc::fork() } {
            -1 => Err(Errno::last()),
            0 => Ok(CloneResult::Child),
            pid => Ok(CloneResult::Parent { child: pid }),
        }
    }

    fn unshare(&self, namespaces: CloneFlags) -> SysResult<()> {
        nix::sched::unshare(namespaces)
    }

    fn kill(&self, pid: i32, signal: i32) -> SysResult<()> {
        // SAFETY: kill(2) takes plain integers.
        Errno::result(unsafe { libc::kill(pid, signal) }).map(drop)
    }

    fn execve(&self, path: &CStr, args: &[CString], env: &[CString]) -> SysResult<()> {
        match nix::unistd::execve(path, args, env) {
            Ok(never) => match never {},
            Err(errno) => Err(errno),
        }
    }

    fn waitpid(&self, pid: i32) -> SysResult<i32> {
        let mut status = 0;
        loop {
            // SAFETY: `status` is a valid out-pointer for the call.
            match Errno::result(unsafe { libc::waitpid(pid, &mut status, 0) }) {
                Err(Errno::EINTR) => continue,
                result => return result.map(|_| status),
            }
        }
    }

    fn unblock_signals(&self) -> SysResult<()> {
        nix::sys::signal::sigprocmask(
            nix::sys::signal::SigmaskHow::SIG_SETMASK,
            Some(&nix::sys::signal::SigSet::empty()),
            None,
        )
    }

    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> SysResult<()> {
        nix::mount::mount(source, target, fstype, flags, data)
    }

    fn umount2(&self, target: &Path, flags: MntFlags) -> SysResult<()> {
        nix::mount::umount2(target, flags)
    }

    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> SysResult<()> {
        nix::unistd::pivot_root(new_root, put_old)
    }

    fn chdir(&self, path: &Path) -> SysResult<()> {
        nix::unistd::chdir(path)
    }

    fn chroot(&self, path: &Path) -> SysResult<()> {
        nix::unistd::chroot(path)
    }

    fn mkdir(&self, path: &Path, mode: u32) -> SysResult<()> {
        nix::unistd::mkdir(path, nix::sys::stat::Mode::from_bits_truncate(mode))
    }

    fn mknod(&self, path: &Path, kind: SFlag, mode: u32, dev: u64) -> SysResult<()> {
        nix::sys::stat::mknod(
            path,
            kind,
            nix::sys::stat::Mode::from_bits_truncate(mode),
            dev as libc::dev_t,
        )
    }

    fn symlink(&self, target: &Path, link: &Path) -> SysResult<()> {
        std::os::unix::fs::symlink(target, link).map_err(io_errno)
    }

    fn create_file(&self, path: &Path, mode: u32) -> SysResult<()> {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(mode)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(path)
            .map(drop)
            .map_err(io_errno)
    }

    fn write_file(&self, path: &Path, contents: &[u8]) -> SysResult<()> {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io_errno)?;
        // One write: uid_map, gid_map and setgroups accept a single write.
        let written = file.write(contents).map_err(io_errno)?;
        if written != contents.len() {
            return Err(Errno::EIO);
        }
        Ok(())
    }

    fn chmod(&self, path: &Path, mode: u32) -> SysResult<()> {
        let path = cstring(path)?;
        // SAFETY: `path` is a valid NUL-terminated string for the call.
        Errno::result(unsafe { libc::chmod(path.as_ptr(), mode as libc::mode_t) }).map(drop)
    }

    fn chown(&self, path: &Path, uid: u32, gid: u32) -> SysResult<()> {
        let path = cstring(path)?;
        // SAFETY: `path` is a valid NUL-terminated string for the call.
        Errno::result(unsafe { libc::lchown(path.as_ptr(), uid, gid) }).map(drop)
    }

    fn mount_setattr(&self, path: &Path, recursive: bool, set: MountAttr) -> SysResult<()> {
        // The kernel's struct mount_attr (linux/mount.h, MOUNT_ATTR_SIZE_VER0).
        #[repr(C)]
        struct RawMountAttr {
            attr_set: u64,
            attr_clr: u64,
            propagation: u64,
            userns_fd: u64,
        }
        let attr = RawMountAttr {
            attr_set: set.0,
            attr_clr: 0,
            propagation: 0,
            userns_fd: 0,
        };
        let path = cstring(path)?;
        let flags = if recursive { libc::AT_RECURSIVE } else { 0 };
        // SAFETY: `path` is a valid NUL-terminated string; `attr` has the
        // kernel's layout and its size is passed with it.
        Errno::result(unsafe {
            libc::syscall(
                libc::SYS_mount_setattr,
                libc::AT_FDCWD,
                path.as_ptr(),
                flags as libc::c_uint,
                &attr as *const RawMountAttr,
                std::mem::size_of::<RawMountAttr>(),
            )
        })
        .map(drop)
    }

    fn sethostname(&self, name: &str) -> SysResult<()> {
        nix::unistd::sethostname(name)
    }

    fn setdomainname(&self, name: &str) -> SysResult<()> {
        // SAFETY: the pointer and length describe `name`'s bytes.
        Errno::result(unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) }).map(drop)
    }

    fn set_loopback_up(&self) -> SysResult<()> {
        // SAFETY: socket(2) with constant arguments.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(Errno::last());
        }
        // SAFETY: `fd` was just opened and is owned here.
        let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
        // SAFETY: ifreq is plain old data; all-zero is a valid value.
        let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
        for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
            *slot = *byte as libc::c_char;
        }
        // SAFETY: `request` is a valid ifreq naming `lo`; the kernel fills
        // in its flags.
        Errno::result(unsafe { libc::ioctl(raw, libc::SIOCGIFFLAGS, &mut request) })?;
        // SAFETY: reading the union field the kernel just wrote.
        let flags = unsafe { request.ifr_ifru.ifru_flags };
        request.ifr_ifru.ifru_flags = flags | libc::IFF_UP as libc::c_short;
        // SAFETY: as above, with the flags to set.
        Errno::result(unsafe { libc::ioctl(raw, libc::SIOCSIFFLAGS, &request) }).map(drop)
    }

    fn setgroups(&self, gids: &[u32]) -> SysResult<()> {
        // SAFETY: the pointer and length describe `gids`.
        Errno::result(unsafe { libc::setgroups(gids.len(), gids.as_ptr()) }).map(drop)
    }

    fn setresgid(&self, gid: u32) -> SysResult<()> {
        // SAFETY: plain integers.
        Errno::result(unsafe { libc::setresgid(gid, gid, gid) }).map(drop)
    }

    fn setresuid(&self, uid: u32) -> SysResult<()> {
        // SAFETY: plain integers.
        Errno::result(unsafe { libc::setresuid(uid, uid, uid) }).map(drop)
    }

    fn umask(&self, mask: u32) -> SysResult<()> {
        // SAFETY: umask(2) cannot fail.
        unsafe { libc::umask(mask as libc::mode_t) };
        Ok(())
    }

    fn setrlimit(&self, resource: Resource, soft: u64, hard: u64) -> SysResult<()> {
        nix::sys::resource::setrlimit(resource, soft as libc::rlim_t, hard as libc::rlim_t)
    }

    fn setsid(&self) -> SysResult<()> {
        nix::unistd::setsid().map(drop)
    }

    fn set_controlling_terminal(&self, fd: i32) -> SysResult<()> {
        // SAFETY: TIOCSCTTY takes an integer argument.
        Errno::result(unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) }).map(drop)
    }

    fn dup2(&self, from: i32, to: i32) -> SysResult<()> {
        // SAFETY: dup2(2) takes plain descriptors.
        Errno::result(unsafe { libc::dup2(from, to) }).map(drop)
    }

    fn set_keep_capabilities(&self, keep: bool) -> SysResult<()> {
        prctl(libc::PR_SET_KEEPCAPS, keep as libc::c_ulong, 0)
    }

    fn drop_bounding_capability(&self, capability: u32) -> SysResult<()> {
        prctl(libc::PR_CAPBSET_DROP, capability as libc::c_ulong, 0)
    }

    fn clear_ambient_capabilities(&self) -> SysResult<()> {
        prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
        )
    }

    fn raise_ambient_capability(&self, capability: u32) -> SysResult<()> {
        prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
            capability as libc::c_ulong,
        )
    }

    fn set_capabilities(&self, sets: CapabilitySets) -> SysResult<()> {
        // The kernel's struct __user_cap_header_struct / _data_struct,
        // version 3 (two 32-bit words per set).
        #[repr(C)]
        struct Header {
            version: u32,
            pid: libc::c_int,
        }
        #[repr(C)]
        #[derive(Clone, Copy)]
        struct Data {
            effective: u32,
            permitted: u32,
            inheritable: u32,
        }
        const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
        let mut header = Header {
            version: LINUX_CAPABILITY_VERSION_3,
            pid: 0,
        };
        let word = |set: u64, i: u32| (set >> (32 * i)) as u32;
        let data = [0, 1].map(|i| Data {
            effective: word(sets.effective, i),
            permitted: word(sets.permitted, i),
            inheritable: word(sets.inheritable, i),
        });
        // SAFETY: header and data have the kernel's layout for version 3,
        // which reads exactly two Data entries.
        Errno::result(unsafe {
            libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr())
        })
        .map(drop)
    }

    fn set_no_new_privileges(&self) -> SysResult<()> {
        prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0)
    }

    fn set_dumpable(&self, dumpable: bool) -> SysResult<()> {
        prctl(libc::PR_SET_DUMPABLE, dumpable as libc::c_ulong, 0)
    }
}

fn prctl(option: libc::c_int, arg2: libc::c_ulong, arg3: libc::c_ulong) -> SysResult<()> {
    // SAFETY: the prctl options used here take integer arguments only.
    Errno::result(unsafe {
        libc::prctl(option, arg2, arg3, 0 as libc::c_ulong, 0 as libc::c_ulong)
    })
    .map(drop)
}

/// One recorded kernel call, with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SysCall {
    CloneProcess(CloneFlags),
    Fork,
    Unshare(CloneFlags),
    Kill {
        pid: i32,
        signal: i32,
    },
    Execve {
        path: String,
        args: Vec<String>,
        env: Vec<String>,
    },
    Waitpid(i32),
    UnblockSignals,
    Mount {
        source: Option<PathBuf>,
        target: PathBuf,
        fstype: Option<String>,
        flags: MsFlags,
        data: Option<String>,
    },
    Umount2 {
        target: PathBuf,
        flags: MntFlags,
    },
    PivotRoot {
        new_root: PathBuf,
        put_old: PathBuf,
    },
    Chdir(PathBuf),
    Chroot(PathBuf),
    Mkdir {
        path: PathBuf,
        mode: u32,
    },
    Mknod {
        path: PathBuf,
        kind: SFlag,
        mode: u32,
        dev: u64,
    },
    Symlink {
        target: PathBuf,
        link: PathBuf,
    },
    CreateFile {
        path: PathBuf,
        mode: u32,
    },
    WriteFile {
        path: PathBuf,
        contents: Vec<u8>,
    },
    Chmod {
        path: PathBuf,
        mode: u32,
    },
    Chown {
        path: PathBuf,
        uid: u32,
        gid: u32,
    },
    MountSetattr {
        path: PathBuf,
        recursive: bool,
        set: MountAttr,
    },
    Sethostname(String),
    Setdomainname(String),
    SetLoopbackUp,
    Setgroups(Vec<u32>),
    Setresgid(u32),
    Setresuid(u32),
    Umask(u32),
    Setrlimit {
        resource: Resource,
        soft: u64,
        hard: u64,
    },
    Setsid,
    SetControllingTerminal(i32),
    Dup2 {
        from: i32,
        to: i32,
    },
    SetKeepCapabilities(bool),
    DropBoundingCapability(u32),
    ClearAmbientCapabilities,
    RaiseAmbientCapability(u32),
    SetCapabilities(CapabilitySets),
    SetNoNewPrivileges,
    SetDumpable(bool),
}

/// A fake kernel for unit tests: records every call, succeeds, and can fail
/// the Nth call (0-based) with a chosen errno.
#[derive(Debug, Default)]
pub struct RecordingSys {
    calls: RefCell<Vec<SysCall>>,
    fail_at: Option<(usize, Errno)>,
    /// What `clone_process` and `fork` return: `Parent` (the default) or
    /// `Child`, to follow one side of the sequence.
    clone_side: Option<CloneResult>,
}

impl RecordingSys {
    pub fn new() -> Self {
        RecordingSys::default()
    }

    /// A recorder whose call number `index` (0-based) fails with `errno`
    /// (and is still recorded).
    pub fn failing_at(index: usize, errno: Errno) -> Self {
        RecordingSys {
            fail_at: Some((index, errno)),
            ..RecordingSys::default()
        }
    }

    /// Makes `clone_process` and `fork` return `side`.
    pub fn with_clone_side(mut self, side: CloneResult) -> Self {
        self.clone_side = Some(side);
        self
    }

    /// The calls made so far, oldest first.
    pub fn calls(&self) -> Vec<SysCall> {
        self.calls.borrow().clone()
    }

    /// The index of the first call matching `matches`.
    pub fn position(&self, matches: impl Fn(&SysCall) -> bool) -> Option<usize> {
        self.calls.borrow().iter().position(matches)
    }

    fn record(&self, call: SysCall) -> SysResult<()> {
        let mut calls = self.calls.borrow_mut();
        calls.push(call);
        match self.fail_at {
            Some((index, errno)) if index == calls.len() - 1 => Err(errno),
            _ => Ok(()),
        }
    }

    fn clone_result(&self) -> CloneResult {
        self.clone_side
            .unwrap_or(CloneResult::Parent { child: 4242 })
    }
}

impl Sys for RecordingSys {
    fn clone_process(&self, namespaces: CloneFlags) -> SysResult<CloneResult> {
        self.record(SysCall::CloneProcess(namespaces))
            .map(|()| self.clone_result())
    }
    fn fork(&self) -> SysResult<CloneResult> {
        self.record(SysCall::Fork).map(|()| self.clone_result())
    }
    fn unshare(&self, namespaces: CloneFlags) -> SysResult<()> {
        self.record(SysCall::Unshare(namespaces))
    }
    fn kill(&self, pid: i32, signal: i32) -> SysResult<()> {
        self.record(SysCall::Kill { pid, signal })
    }
    fn execve(&self, path: &CStr, args: &[CString], env: &[CString]) -> SysResult<()> {
        let text = |s: &CStr| s.to_string_lossy().into_owned();
        self.record(SysCall::Execve {
            path: text(path),
            args: args.iter().map(|a| text(a)).collect(),
            env: env.iter().map(|e| text(e)).collect(),
        })
    }
    fn waitpid(&self, pid: i32) -> SysResult<i32> {
        self.record(SysCall::Waitpid(pid)).map(|()| 0)
    }
    fn unblock_signals(&self) -> SysResult<()> {
        self.record(SysCall::UnblockSignals)
    }
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> SysResult<()> {
        self.record(SysCall::Mount {
            source: source.map(Path::to_path_buf),
            target: target.to_path_buf(),
            fstype: fstype.map(str::to_string),
            flags,
            data: data.map(str::to_string),
        })
    }
    fn umount2(&self, target: &Path, flags: MntFlags) -> SysResult<()> {
        self.record(SysCall::Umount2 {
            target: target.to_path_buf(),
            flags,
        })
    }
    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> SysResult<()> {
        self.record(SysCall::PivotRoot {
            new_root: new_root.to_path_buf(),
            put_old: put_old.to_path_buf(),
        })
    }
    fn chdir(&self, path: &Path) -> SysResult<()> {
        self.record(SysCall::Chdir(path.to_path_buf()))
    }
    fn chroot(&self, path: &Path) -> SysResult<()> {
        self.record(SysCall::Chroot(path.to_path_buf()))
    }
    fn mkdir(&self, path: &Path, mode: u32) -> SysResult<()> {
        self.record(SysCall::Mkdir {
            path: path.to_path_buf(),
            mode,
        })
    }
    fn mknod(&self, path: &Path, kind: SFlag, mode: u32, dev: u64) -> SysResult<()> {
        self.record(SysCall::Mknod {
            path: path.to_path_buf(),
            kind,
            mode,
            dev,
        })
    }
    fn symlink(&self, target: &Path, link: &Path) -> SysResult<()> {
        self.record(SysCall::Symlink {
            target: target.to_path_buf(),
            link: link.to_path_buf(),
        })
    }
    fn create_file(&self, path: &Path, mode: u32) -> SysResult<()> {
        self.record(SysCall::CreateFile {
            path: path.to_path_buf(),
            mode,
        })
    }
    fn write_file(&self, path: &Path, contents: &[u8]) -> SysResult<()> {
        self.record(SysCall::WriteFile {
            path: path.to_path_buf(),
            contents: contents.to_vec(),
        })
    }
    fn chmod(&self, path: &Path, mode: u32) -> SysResult<()> {
        self.record(SysCall::Chmod {
            path: path.to_path_buf(),
            mode,
        })
    }
    fn chown(&self, path: &Path, uid: u32, gid: u32) -> SysResult<()> {
        self.record(SysCall::Chown {
            path: path.to_path_buf(),
            uid,
            gid,
        })
    }
    fn mount_setattr(&self, path: &Path, recursive: bool, set: MountAttr) -> SysResult<()> {
        self.record(SysCall::MountSetattr {
            path: path.to_path_buf(),
            recursive,
            set,
        })
    }
    fn sethostname(&self, name: &str) -> SysResult<()> {
        self.record(SysCall::Sethostname(name.to_string()))
    }
    fn setdomainname(&self, name: &str) -> SysResult<()> {
        self.record(SysCall::Setdomainname(name.to_string()))
    }
    fn set_loopback_up(&self) -> SysResult<()> {
        self.record(SysCall::SetLoopbackUp)
    }
    fn setgroups(&self, gids: &[u32]) -> SysResult<()> {
        self.record(SysCall::Setgroups(gids.to_vec()))
    }
    fn setresgid(&self, gid: u32) -> SysResult<()> {
        self.record(SysCall::Setresgid(gid))
    }
    fn setresuid(&self, uid: u32) -> SysResult<()> {
        self.record(SysCall::Setresuid(uid))
    }
    fn umask(&self, mask: u32) -> SysResult<()> {
        self.record(SysCall::Umask(mask))
    }
    fn setrlimit(&self, resource: Resource, soft: u64, hard: u64) -> SysResult<()> {
        self.record(SysCall::Setrlimit {
            resource,
            soft,
            hard,
        })
    }
    fn setsid(&self) -> SysResult<()> {
        self.record(SysCall::Setsid)
    }
    fn set_controlling_terminal(&self, fd: i32) -> SysResult<()> {
        self.record(SysCall::SetControllingTerminal(fd))
    }
    fn dup2(&self, from: i32, to: i32) -> SysResult<()> {
        self.record(SysCall::Dup2 { from, to })
    }
    fn set_keep_capabilities(&self, keep: bool) -> SysResult<()> {
        self.record(SysCall::SetKeepCapabilities(keep))
    }
    fn drop_bounding_capability(&self, capability: u32) -> SysResult<()> {
        self.record(SysCall::DropBoundingCapability(capability))
    }
    fn clear_ambient_capabilities(&self) -> SysResult<()> {
        self.record(SysCall::ClearAmbientCapabilities)
    }
    fn raise_ambient_capability(&self, capability: u32) -> SysResult<()> {
        self.record(SysCall::RaiseAmbientCapability(capability))
    }
    fn set_capabilities(&self, sets: CapabilitySets) -> SysResult<()> {
        self.record(SysCall::SetCapabilities(sets))
    }
    fn set_no_new_privileges(&self) -> SysResult<()> {
        self.record(SysCall::SetNoNewPrivileges)
    }
    fn set_dumpable(&self, dumpable: bool) -> SysResult<()> {
        self.record(SysCall::SetDumpable(dumpable))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_fails_exactly_the_chosen_call() {
        let sys = RecordingSys::failing_at(1, Errno::EPERM);
        assert_eq!(sys.sethostname("a"), Ok(()));
        assert_eq!(sys.setdomainname("b"), Err(Errno::EPERM));
        assert_eq!(sys.set_no_new_privileges(), Ok(()));
        assert_eq!(
            sys.calls(),
            vec![
                SysCall::Sethostname("a".into()),
                SysCall::Setdomainname("b".into()),
                SysCall::SetNoNewPrivileges
            ]
        );
    }

    #[test]
    fn real_write_file_writes_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        LinuxSys.create_file(&path, 0o600).unwrap();
        LinuxSys.write_file(&path, b"0 1000 1\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"0 1000 1\n");
        assert_eq!(
            LinuxSys.write_file(&dir.path().join("missing"), b"x"),
            Err(Errno::ENOENT)
        );
    }
}
