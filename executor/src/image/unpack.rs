//! Unpacking one layer tar into an empty directory, as an overlayfs lower
//! dir, without ever following a symlink and verifying both digests.
//!
//! Each entry's parent is opened component by component from the layer's
//! root with `O_NOFOLLOW`: a `..` component, an absolute path, or a parent
//! that is a symlink (absolute, escaping or not) is refused, so nothing is
//! ever written outside the layer. Whiteouts become what overlayfs expects:
//! `.wh.NAME` a 0:0 character device `NAME`, `.wh..wh..opq` the
//! `trusted.overlay.opaque=y` xattr on its directory.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{Mode, SFlag};
use nix::unistd::{Gid, Uid, UnlinkatFlags};
use sha2::{Digest, Sha256};

use super::store::hex;
use super::ImageError;

/// A reader that hashes what passes through it.
pub(crate) struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    pub(crate) bytes: u64,
}

impl<R: Read> Hashing<R> {
    pub(crate) fn new(inner: R) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Reads to the end, then returns `sha256:HEX` of everything read.
    pub(crate) fn finish(mut self) -> io::Result<(String, R)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((
            format!("sha256:{}", hex(&self.hasher.finalize())),
            self.inner,
        ))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// What a layer blob should hash to.
pub(crate) struct Expected<'a> {
    /// The input's name for errors (`layer 2 of oci:/path`).
    pub input: &'a str,
    /// The digest of the blob as stored (compressed), if known.
    pub blob: Option<&'a str>,
    /// The digest of the uncompressed tar (the config's `diff_id`).
    pub diff_id: &'a str,
}

/// Unpacks the layer blob `blob` (a tar, gzip-compressed or not: told by
/// its first bytes) into the empty directory `dest`, verifying both
/// digests. On an error `dest` holds garbage: the caller removes it.
pub(crate) fn unpack_layer(
    mut open: impl FnMut() -> io::Result<Box<dyn Read>>,
    dest: &Path,
    expected: &Expected,
) -> Result<(), ImageError> {
    let input = expected.input;
    let io_err = |e: io::Error| ImageError::io(format!("`{input}`"), e);
    let mut magic = [0u8; 2];
    let gzip = {
        let mut peek = open().map_err(io_err)?;
        let mut n = 0;
        while n < 2 {
            match peek.read(&mut magic[n..]).map_err(io_err)? {
                0 => break,
                k => n += k,
            }
        }
        n == 2 && magic == [0x1f, 0x8b]
    };
    if magic == [0x28, 0xb5] {
        return Err(ImageError::refused(
            input,
            "the layer is zstd-compressed, which sbx does not unpack yet (re-export the image with gzip or uncompressed layers)",
        ));
    }
    let outer = Hashing::new(open().map_err(io_err)?);
    let (blob_digest, diff_digest) = if gzip {
        let inner = Hashing::new(flate2::read::GzDecoder::new(outer));
        let inner = extract(inner, dest, input)?;
        let (diff, decoder) = inner.finish().map_err(|e| truncated(input, e))?;
        let (blob, _) = decoder
            .into_inner()
            .finish()
            .map_err(|e| truncated(input, e))?;
        (blob, diff)
    } else {
        let inner = extract(outer, dest, input)?;
        let (diff, _) = inner.finish().map_err(|e| truncated(input, e))?;
        (diff.clone(), diff)
    };
    if let Some(want) = expected.blob {
        if want != blob_digest {
            return Err(ImageError::Digest {
                input: input.into(),
                what: "the layer blob".into(),
                expected: want.into(),
                actual: blob_digest,
            });
        }
    }
    if expected.diff_id != diff_digest {
        return Err(ImageError::Digest {
            input: input.into(),
            what: "the uncompressed layer (its `diff_id` in the image config)".into(),
            expected: expected.diff_id.into(),
            actual: diff_digest,
        });
    }
    Ok(())
}

fn truncated(input: &str, e: io::Error) -> ImageError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        ImageError::refused(
            input,
            "the layer is truncated (it ends before its last entry)",
        )
    } else {
        ImageError::refused(input, format!("the layer cannot be read: {e}"))
    }
}

/// A directory whose owner and mode are set once every entry is written
/// (a read-only directory would refuse its own entries otherwise).
struct DirMeta {
    path: Vec<Vec<u8>>,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: i64,
}

fn extract<R: Read>(reader: R, dest: &Path, input: &str) -> Result<R, ImageError> {
    let root = open_dir_at(None, dest.as_os_str())
        .map_err(|e| ImageError::io(format!("cannot open `{}`", dest.display()), e.into()))?;
    let as_root = super::is_root();
    let mut archive = tar::Archive::new(reader);
    let mut dirs: Vec<DirMeta> = Vec::new();
    {
        let entries = archive
            .entries()
            .map_err(|e| ImageError::refused(input, format!("not a tar archive: {e}")))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| bad_tar(input, e))?;
            let raw = entry.path().map_err(|e| bad_tar(input, e))?.into_owned();
            let shown = raw.display().to_string();
            let Some(components) = plain_components(&raw).map_err(|problem| {
                ImageError::refused(input, format!("entry `{shown}` {problem}"))
            })?
            else {
                continue; // "./": the layer's root itself
            };
            let refuse =
                |problem: String| ImageError::refused(input, format!("entry `{shown}`: {problem}"));
            let (name, parents) = components.split_last().expect("not empty");
            let parent = walk(&root, parents, true).map_err(refuse)?;
            let name_os = OsStr::from_bytes(name);
            let header = entry.header();
            let mode = header.mode().map_err(|e| bad_tar(input, e))? & 0o7777;
            let uid = header.uid().map_err(|e| bad_tar(input, e))? as u32;
            let gid = header.gid().map_err(|e| bad_tar(input, e))? as u32;
            let mtime = header.mtime().unwrap_or(0) as i64;
            let kind = header.entry_type();

            if let Some(hidden) = name.strip_prefix(b".wh.") {
                if !as_root {
                    return Err(ImageError::Unsupported {
                        problem: format!("`{input}`: the layer has whiteouts (`{shown}`), which only root can write as overlayfs expects them"),
                        help: "run `sbx image import` as root".into(),
                    });
                }
                if hidden == b".wh..opq" {
                    set_opaque(&parent)
                        .map_err(|e| refuse(format!("cannot mark its directory opaque: {e}")))?;
                } else if hidden.starts_with(b".wh.") {
                    // aufs bookkeeping (`.wh..wh.plnk`): nothing for overlayfs.
                } else if hidden.is_empty() || hidden == b"." || hidden == b".." {
                    return Err(refuse("a whiteout of nothing".into()));
                } else {
                    let hidden = OsStr::from_bytes(hidden);
                    remove_existing(&parent, hidden).map_err(|e| refuse(e.to_string()))?;
                    nix::sys::stat::mknodat(&parent, hidden, SFlag::S_IFCHR, Mode::empty(), 0)
                        .map_err(|e| refuse(format!("cannot create its whiteout: {}", e.desc())))?;
                }
                continue;
            }

            match kind {
                tar::EntryType::Directory => {
                    match nix::sys::stat::fstatat(&parent, name_os, AtFlags::AT_SYMLINK_NOFOLLOW) {
                        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => {}
                        Ok(_) => {
                            remove_existing(&parent, name_os).map_err(|e| refuse(e.to_string()))?;
                            mkdir(&parent, name_os).map_err(refuse)?;
                        }
                        Err(_) => mkdir(&parent, name_os).map_err(refuse)?,
                    }
                    dirs.push(DirMeta {
                        path: components.clone(),
                        mode,
                        uid,
                        gid,
                        mtime,
                    });
                }
                tar::EntryType::Regular
                | tar::EntryType::Continuous
                | tar::EntryType::GNUSparse => {
                    if kind == tar::EntryType::GNUSparse {
                        return Err(refuse("sparse files are not supported".into()));
                    }
                    remove_existing(&parent, name_os).map_err(|e| refuse(e.to_string()))?;
                    let fd = nix::fcntl::openat(
                        &parent,
                        name_os,
                        OFlag::O_CREAT
                            | OFlag::O_EXCL
                            | OFlag::O_WRONLY
                            | OFlag::O_NOFOLLOW
                            | OFlag::O_CLOEXEC,
                        Mode::from_bits_truncate(0o600),
                    )
                    .map_err(|e| refuse(format!("cannot create it: {}", e.desc())))?;
                    let mut file = File::from(fd);
                    let size = entry.size();
                    let copied =
                        io::copy(&mut entry, &mut file).map_err(|e| truncated(input, e))?;
                    if copied != size {
                        return Err(truncated(input, io::ErrorKind::UnexpectedEof.into()));
                    }
                    if as_root {
                        nix::unistd::fchown(
                            &file,
                            Some(Uid::from_raw(uid)),
                            Some(Gid::from_raw(gid)),
                        )
                        .map_err(|e| refuse(format!("cannot set its owner: {}", e.desc())))?;
                        set_xattrs(&mut entry, &file).map_err(refuse)?;
                    }
                    // After the chown, which clears set-id bits.
                    nix::sys::stat::fchmod(file.as_fd(), Mode::from_bits_truncate(mode))
                        .map_err(|e| refuse(format!("cannot set its mode: {}", e.desc())))?;
                    set_mtime(&parent, name_os, mtime).map_err(refuse)?;
                }
                tar::EntryType::Symlink => {
                    let target = entry
                        .link_name()
                        .map_err(|e| bad_tar(input, e))?
                        .ok_or_else(|| refuse("a symlink without a target".into()))?
                        .into_owned();
                    remove_existing(&parent, name_os).map_err(|e| refuse(e.to_string()))?;
                    nix::unistd::symlinkat(target.as_os_str(), &parent, name_os)
                        .map_err(|e| refuse(format!("cannot create the symlink: {}", e.desc())))?;
                    set_mtime(&parent, name_os, mtime).map_err(refuse)?;
                    if as_root {
                        nix::unistd::fchownat(
                            &parent,
                            name_os,
                            Some(Uid::from_raw(uid)),
                            Some(Gid::from_raw(gid)),
                            AtFlags::AT_SYMLINK_NOFOLLOW,
                        )
                        .map_err(|e| refuse(format!("cannot set its owner: {}", e.desc())))?;
                    }
                }
                tar::EntryType::Link => {
                    let target = entry
                        .link_name()
                        .map_err(|e| bad_tar(input, e))?
                        .ok_or_else(|| refuse("a hardlink without a target".into()))?
                        .into_owned();
                    let target_shown = target.display().to_string();
                    let target = plain_components(&target)
                        .map_err(|p| refuse(format!("its hardlink target `{target_shown}` {p}")))?
                        .ok_or_else(|| refuse("a hardlink to the layer's root".into()))?;
                    let (tname, tparents) = target.split_last().expect("not empty");
                    let tparent = walk(&root, tparents, false).map_err(|p| {
                        refuse(format!("its hardlink target `{target_shown}`: {p}"))
                    })?;
                    remove_existing(&parent, name_os).map_err(|e| refuse(e.to_string()))?;
                    nix::unistd::linkat(&tparent, OsStr::from_bytes(tname), &parent, name_os, AtFlags::empty())
                        .map_err(|e| refuse(format!("cannot link it to `{target_shown}` (hardlinks must point to an earlier entry of the same layer): {}", e.desc())))?;
                }
                tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                    let (flag, dev) = match kind {
                        tar::EntryType::Char | tar::EntryType::Block => {
                            if !as_root {
                                return Err(ImageError::Unsupported {
                                    problem: format!("`{input}`: entry `{shown}` is a device node, which only root can create"),
                                    help: "run `sbx image import` as root".into(),
                                });
                            }
                            let major = header.device_major().ok().flatten().unwrap_or(0);
                            let minor = header.device_minor().ok().flatten().unwrap_or(0);
                            let flag = if kind == tar::EntryType::Char {
                                SFlag::S_IFCHR
                            } else {
                                SFlag::S_IFBLK
                            };
                            (flag, nix::sys::stat::makedev(major.into(), minor.into()))
                        }
                        _ => (SFlag::S_IFIFO, 0),
                    };
                    remove_existing(&parent, name_os).map_err(|e| refuse(e.to_string()))?;
                    nix::sys::stat::mknodat(
                        &parent,
                        name_os,
                        flag,
                        Mode::from_bits_truncate(mode),
                        dev,
                    )
                    .map_err(|e| refuse(format!("cannot create it: {}", e.desc())))?;
                    if as_root {
                        nix::unistd::fchownat(
                            &parent,
                            name_os,
                            Some(Uid::from_raw(uid)),
                            Some(Gid::from_raw(gid)),
                            AtFlags::AT_SYMLINK_NOFOLLOW,
                        )
                        .map_err(|e| refuse(format!("cannot set its owner: {}", e.desc())))?;
                    }
                }
                tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => {}
                other => {
                    return Err(refuse(format!("unsupported entry type `{other:?}`")));
                }
            }
        }
    }
    // Deepest first, so that a read-only parent is closed last.
    for dir in dirs.iter().rev() {
        let (name, parents) = dir.path.split_last().expect("not empty");
        let shown = String::from_utf8_lossy(&dir.path.join(&b'/')).to_string();
        let refuse =
            |problem: String| ImageError::refused(input, format!("entry `{shown}`: {problem}"));
        let parent = walk(&root, parents, false).map_err(refuse)?;
        let name = OsStr::from_bytes(name);
        if as_root {
            nix::unistd::fchownat(
                &parent,
                name,
                Some(Uid::from_raw(dir.uid)),
                Some(Gid::from_raw(dir.gid)),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .map_err(|e| refuse(format!("cannot set its owner: {}", e.desc())))?;
        }
        let fd = open_dir_at(Some(&parent), name)
            .map_err(|e| refuse(format!("cannot open it: {}", e.desc())))?;
        nix::sys::stat::fchmod(fd.as_fd(), Mode::from_bits_truncate(dir.mode))
            .map_err(|e| refuse(format!("cannot set its mode: {}", e.desc())))?;
        set_mtime(&parent, name, dir.mtime).map_err(refuse)?;
    }
    Ok(archive.into_inner())
}

fn bad_tar(input: &str, e: io::Error) -> ImageError {
    // The tar crate reports a short archive as `Other` with these words.
    let message = e.to_string();
    if e.kind() == io::ErrorKind::UnexpectedEof
        || message.contains("unexpected EOF")
        || message.contains("failed to read entire block")
    {
        return truncated(input, e);
    }
    ImageError::refused(input, format!("not a valid tar archive: {e}"))
}

/// The components of an entry path, `./` dropped; `None` for the root
/// itself. A `..` component is refused; a leading `/` is the layer's root.
fn plain_components(path: &Path) -> Result<Option<Vec<Vec<u8>>>, String> {
    let mut out = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(c) => out.push(c.as_bytes().to_vec()),
            // A leading `/` means the rootfs's root, as tar and Docker read
            // it (umoci writes `/bin`): it never reaches the host's.
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => {
                return Err("has a `..` component, which could climb out of the rootfs".into())
            }
            Component::Prefix(_) => return Err("is not a Unix path".into()),
        }
    }
    Ok((!out.is_empty()).then_some(out))
}

fn open_dir_at(parent: Option<&OwnedFd>, name: &OsStr) -> nix::Result<OwnedFd> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    match parent {
        Some(parent) => nix::fcntl::openat(parent, name, flags, Mode::empty()),
        None => nix::fcntl::open(name, flags, Mode::empty()),
    }
}

/// Opens `parents` below `root` one component at a time, never following a
/// symlink; with `create`, missing directories are made (0755).
fn walk(root: &OwnedFd, parents: &[Vec<u8>], create: bool) -> Result<OwnedFd, String> {
    let mut current = root
        .try_clone()
        .map_err(|e| format!("cannot open the layer: {e}"))?;
    for (i, component) in parents.iter().enumerate() {
        let name = OsStr::from_bytes(component);
        let so_far = || String::from_utf8_lossy(&parents[..=i].join(&b'/')).to_string();
        current = match open_dir_at(Some(&current), name) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) if create => {
                mkdir(&current, name)?;
                open_dir_at(Some(&current), name)
                    .map_err(|e| format!("cannot open `{}`: {}", so_far(), e.desc()))?
            }
            Err(Errno::ELOOP | Errno::ENOTDIR) => {
                return Err(match nix::fcntl::readlinkat(&current, name) {
                    Ok(target) => format!(
                        "its parent `{}` is a symlink (to `{}`); sbx never follows a symlink while unpacking, so that no entry can land outside the rootfs",
                        so_far(),
                        target.to_string_lossy()
                    ),
                    Err(_) => format!("its parent `{}` is not a directory", so_far()),
                });
            }
            Err(e) => return Err(format!("cannot open `{}`: {}", so_far(), e.desc())),
        };
    }
    Ok(current)
}

fn mkdir(parent: &OwnedFd, name: &OsStr) -> Result<(), String> {
    match nix::sys::stat::mkdirat(parent, name, Mode::from_bits_truncate(0o755)) {
        Ok(()) | Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(format!(
            "cannot create the directory `{}`: {}",
            name.to_string_lossy(),
            e.desc()
        )),
    }
}

/// Removes what an earlier entry of the same layer put at `name` (tar
/// semantics: the later entry wins). A directory is removed with its tree.
fn remove_existing(parent: &OwnedFd, name: &OsStr) -> io::Result<()> {
    match nix::sys::stat::fstatat(parent, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Err(Errno::ENOENT) => Ok(()),
        Err(e) => Err(e.into()),
        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => {
            // Through /proc/self/fd: the path cannot leave the layer, and
            // remove_dir_all does not follow symlinks.
            let path = format!(
                "/proc/self/fd/{}/{}",
                parent.as_raw_fd(),
                name.to_string_lossy()
            );
            super::store::remove_any(Path::new(&path))
        }
        Ok(_) => {
            nix::unistd::unlinkat(parent, name, UnlinkatFlags::NoRemoveDir).map_err(Into::into)
        }
    }
}

fn set_opaque(dir: &OwnedFd) -> io::Result<()> {
    fsetxattr(dir, "trusted.overlay.opaque", b"y")
}

fn fsetxattr(fd: &impl AsRawFd, name: &str, value: &[u8]) -> io::Result<()> {
    let name = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: a valid descriptor, a NUL-terminated name, and a buffer with
    // its length.
    let rc = unsafe {
        libc::fsetxattr(
            fd.as_raw_fd(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Restores the PAX `SCHILY.xattr.*` records of a regular file (file
/// capabilities: `security.capability`). Other namespaces are refused by
/// the kernel or not meaningful; `trusted.overlay.*` would forge overlay
/// metadata and is refused.
fn set_xattrs<R: Read>(entry: &mut tar::Entry<R>, file: &File) -> Result<(), String> {
    let Ok(Some(extensions)) = entry.pax_extensions() else {
        return Ok(());
    };
    for extension in extensions.flatten() {
        let Ok(key) = extension.key() else { continue };
        let Some(name) = key.strip_prefix("SCHILY.xattr.") else {
            continue;
        };
        if name.starts_with("trusted.overlay.") {
            return Err(format!(
                "it carries the overlayfs xattr `{name}`, which a layer must not set"
            ));
        }
        if name.starts_with("security.") || name.starts_with("user.") {
            fsetxattr(file, name, extension.value_bytes())
                .map_err(|e| format!("cannot set its xattr `{name}`: {e}"))?;
        }
    }
    Ok(())
}

/// Sets the modification (and access) time of `name`, not following a
/// symlink: tools compare them (Python's bytecode cache, make).
fn set_mtime(parent: &OwnedFd, name: &OsStr, mtime: i64) -> Result<(), String> {
    let time = nix::sys::time::TimeSpec::new(mtime, 0);
    nix::sys::stat::utimensat(
        parent,
        name,
        &time,
        &time,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .map_err(|e| format!("cannot set its modification time: {}", e.desc()))
}
