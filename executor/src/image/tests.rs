//! Unit tests of unpacking and build keys on temp dirs (the end-to-end
//! tests are tests/image_*.rs).

use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use super::unpack::{unpack_layer, Expected};
use super::ImageError;

fn header(path: &str, kind: tar::EntryType, mode: u32, size: usize) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_path(path).unwrap();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size as u64);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(1_600_000_000);
    header.set_cksum();
    header
}

/// A tar of (path, kind, mode, data or link target).
fn tar_of(entries: &[(&str, tar::EntryType, u32, &str)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, kind, mode, data) in entries {
        match kind {
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let mut h = header(path, *kind, *mode, 0);
                builder.append_link(&mut h, path, data).unwrap();
            }
            _ => {
                let mut h = header(path, *kind, *mode, data.len());
                builder.append_data(&mut h, path, data.as_bytes()).unwrap();
            }
        }
    }
    builder.into_inner().unwrap()
}

fn digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", super::store::hex(&sha2::Sha256::digest(bytes)))
}

fn unpack(tar: Vec<u8>, dest: &Path) -> Result<(), ImageError> {
    let diff_id = digest(&tar);
    unpack_layer(
        || Ok(Box::new(std::io::Cursor::new(tar.clone())) as Box<dyn Read>),
        dest,
        &Expected {
            input: "test",
            blob: None,
            diff_id: &diff_id,
        },
    )
}

#[test]
fn a_later_entry_replaces_an_earlier_one_and_read_only_dirs_are_filled() {
    let dir = tempfile::tempdir().unwrap();
    let tar = tar_of(&[
        ("ro", tar::EntryType::Directory, 0o555, ""),
        ("ro/file", tar::EntryType::Regular, 0o644, "first"),
        ("ro/file", tar::EntryType::Regular, 0o640, "second"),
        ("ro/link", tar::EntryType::Link, 0o644, "ro/file"),
        ("ro/sym", tar::EntryType::Symlink, 0o777, "/etc/passwd"),
        ("bin/tool", tar::EntryType::Regular, 0o4755, "#!"),
    ]);
    unpack(tar, dir.path()).unwrap();
    let ro = dir.path().join("ro");
    assert_eq!(std::fs::read_to_string(ro.join("file")).unwrap(), "second");
    assert_eq!(
        ro.join("file").metadata().unwrap().permissions().mode() & 0o7777,
        0o640
    );
    assert_eq!(ro.metadata().unwrap().permissions().mode() & 0o7777, 0o555);
    assert_eq!(
        ro.join("file").metadata().unwrap().ino(),
        ro.join("link").metadata().unwrap().ino()
    );
    assert_eq!(
        std::fs::read_link(ro.join("sym")).unwrap(),
        Path::new("/etc/passwd")
    );
    let tool = dir.path().join("bin/tool").metadata().unwrap();
    assert_eq!(
        tool.permissions().mode() & 0o7777,
        0o4755,
        "set-id bits survive the chown"
    );
    // So that the temp dir can be removed by a non-root user.
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn whiteouts_become_what_overlayfs_reads() {
    if !super::is_root() {
        eprintln!("skipped whiteouts_become_what_overlayfs_reads: needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tar = tar_of(&[
        ("etc/.wh.gone", tar::EntryType::Regular, 0o644, ""),
        ("var/.wh..wh..opq", tar::EntryType::Regular, 0o644, ""),
    ]);
    unpack(tar, dir.path()).unwrap();
    let gone = std::fs::symlink_metadata(dir.path().join("etc/gone")).unwrap();
    use std::os::unix::fs::FileTypeExt;
    assert!(gone.file_type().is_char_device());
    assert_eq!(gone.rdev(), 0);
    let mut value = [0u8; 4];
    let path = std::ffi::CString::new(dir.path().join("var").to_string_lossy().as_bytes()).unwrap();
    // SAFETY: a NUL-terminated path and name and a buffer with its length.
    let n = unsafe {
        libc::lgetxattr(
            path.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            value.as_mut_ptr().cast(),
            value.len(),
        )
    };
    assert_eq!(n, 1);
    assert_eq!(value[0], b'y');
}

#[test]
fn a_whiteout_needs_root() {
    if super::is_root() {
        return; // covered by the test above
    }
    let dir = tempfile::tempdir().unwrap();
    let tar = tar_of(&[("etc/.wh.gone", tar::EntryType::Regular, 0o644, "")]);
    let error = unpack(tar, dir.path()).unwrap_err().to_string();
    assert!(error.contains("only root can write"), "{error}");
}

#[test]
fn a_wrong_diff_id_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tar = tar_of(&[("a", tar::EntryType::Regular, 0o644, "a")]);
    let error = unpack_layer(
        || Ok(Box::new(std::io::Cursor::new(tar.clone())) as Box<dyn Read>),
        dir.path(),
        &Expected {
            input: "test",
            blob: None,
            diff_id: &digest(b"other"),
        },
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("digest mismatch"), "{error}");
}
