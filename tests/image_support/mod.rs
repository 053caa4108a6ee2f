//! Fixtures of the image tests: OCI image layouts and `docker save`
//! archives written with the tar crate (including malformed ones), a
//! busybox OCI layout made with umoci, and `sbx` run against a store of the
//! test's own.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

pub const SBX: &str = env!("CARGO_BIN_EXE_sbx");

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A test's store, workspace and helpers.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::Builder::new()
                .prefix("sbx-image-test-")
                .tempdir()
                .unwrap(),
        }
    }

    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Runs `sbx ARGS` against this test's store.
    pub fn sbx(&self, args: &[&str]) -> Output {
        Command::new(SBX)
            .args(args)
            .env("SBX_STORE", self.store())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    }

    /// Writes a profile and returns its path.
    pub fn profile(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Entries of `STORE/SUB`, sorted.
    pub fn store_entries(&self, sub: &str) -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(self.store().join(sub))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// The lines of the host's mountinfo that mention this test's dir.
    pub fn mounts(&self) -> Vec<String> {
        let dir = self.dir.path().to_string_lossy().into_owned();
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .filter(|l| l.contains(&dir))
            .map(str::to_string)
            .collect()
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts that `out` succeeded, printing its output otherwise.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "sbx failed ({:?})\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// One entry of a hand-made layer tar. The path is written into the header
/// as is (the tar crate's own setters refuse `..`, which these tests need).
pub enum Entry<'a> {
    Dir(&'a str),
    File(&'a str, &'a [u8]),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
    /// A character device: name, major, minor.
    CharDevice(&'a str, u32, u32),
}

/// A tar of `entries`, written header by header.
pub fn layer_tar(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        let (name, kind, data, link): (&str, tar::EntryType, &[u8], Option<&str>) = match entry {
            Entry::Dir(n) => (n, tar::EntryType::Directory, &[], None),
            Entry::File(n, d) => (n, tar::EntryType::Regular, d, None),
            Entry::Symlink(n, t) => (n, tar::EntryType::Symlink, &[], Some(t)),
            Entry::Hardlink(n, t) => (n, tar::EntryType::Link, &[], Some(t)),
            Entry::CharDevice(n, major, minor) => {
                header.set_device_major(*major).unwrap();
                header.set_device_minor(*minor).unwrap();
                (n, tar::EntryType::Char, &[], None)
            }
        };
        let raw = header.as_old_mut();
        raw.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(link) = link {
            raw.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        header.set_entry_type(kind);
        header.set_mode(if kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_size(data.len() as u64);
        header.set_cksum();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        out.extend(std::iter::repeat_n(0u8, pad));
    }
    out.extend(std::iter::repeat_n(0u8, 1024));
    out
}

/// A tar of the directory `dir` (as root owns it), for a base layer.
pub fn dir_tar(dir: &Path) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    builder.append_dir_all(".", dir).unwrap();
    builder.into_inner().unwrap()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A layer as it goes in an image: the blob and its uncompressed digest.
pub struct Layer {
    pub blob: Vec<u8>,
    pub diff_id: String,
    /// The digest the manifest gives the blob (normally the blob's own).
    pub digest: String,
}

impl Layer {
    pub fn plain(tar: Vec<u8>) -> Layer {
        let diff_id = sha256(&tar);
        Layer {
            digest: diff_id.clone(),
            blob: tar,
            diff_id,
        }
    }

    pub fn gzipped(tar: Vec<u8>) -> Layer {
        let diff_id = sha256(&tar);
        let blob = gzip(&tar);
        Layer {
            digest: sha256(&blob),
            blob,
            diff_id,
        }
    }
}

fn config_json(layers: &[Layer], cmd: &[&str], env: &[&str]) -> Vec<u8> {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    serde_json::to_vec(&serde_json::json!({
        "architecture": arch,
        "os": "linux",
        "config": {"Cmd": cmd, "Env": env},
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>()},
    }))
    .unwrap()
}

/// Writes an OCI image layout at `dir` with one image tagged `tag`.
pub fn oci_layout(dir: &Path, tag: &str, layers: &[Layer], cmd: &[&str], env: &[&str]) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |digest: &str, bytes: &[u8]| {
        std::fs::write(blobs.join(digest.trim_start_matches("sha256:")), bytes).unwrap();
    };
    let config = config_json(layers, cmd, env);
    put(&sha256(&config), &config);
    for layer in layers {
        put(&layer.digest, &layer.blob);
    }
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(&config), "size": config.len()},
        "layers": layers.iter().map(|l| serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": l.digest, "size": l.blob.len()})).collect::<Vec<_>>(),
    }))
    .unwrap();
    put(&sha256(&manifest), &manifest);
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": sha256(&manifest), "size": manifest.len(),
                "annotations": {"org.opencontainers.image.ref.name": tag}}],
        }))
        .unwrap(),
    )
    .unwrap();
}

/// Writes a `docker save` archive (the classic layout: `ID/layer.tar`,
/// `HEX.json`, `manifest.json`, `repositories`) at `path`.
pub fn docker_archive(path: &Path, repo_tag: &str, layers: &[Layer], cmd: &[&str]) {
    let config = config_json(layers, cmd, &[]);
    let config_name = format!("{}.json", sha256(&config).trim_start_matches("sha256:"));
    let mut builder = tar::Builder::new(Vec::new());
    let mut add = |name: &str, bytes: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, bytes).unwrap();
    };
    add(&config_name, &config);
    let mut names = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        let name = format!("{:064x}/layer.tar", i + 1);
        add(&name, &layer.blob);
        names.push(name);
    }
    let manifest = serde_json::to_vec(&serde_json::json!([
        {"Config": config_name, "RepoTags": [repo_tag], "Layers": names}
    ]))
    .unwrap();
    add("manifest.json", &manifest);
    add("repositories", b"{}");
    std::fs::write(path, builder.into_inner().unwrap()).unwrap();
}

/// An OCI layout of the busybox rootfs made by umoci (tag `base`), or why
/// it cannot be made here.
pub fn umoci_busybox(env: &Env) -> Result<PathBuf, String> {
    let rootfs = crate::support::rootfs::Rootfs::busybox()?;
    let layout = env.path("busybox-oci");
    let run = |args: &[&str]| -> Result<(), String> {
        let out = Command::new("umoci")
            .args(args)
            .output()
            .map_err(|e| format!("umoci is not installed (apt-get install umoci): {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("umoci {args:?}: {}", text(&out.stderr)))
        }
    };
    let image = format!("{}:base", layout.display());
    run(&["init", "--layout", &layout.to_string_lossy()])?;
    run(&["new", "--image", &image])?;
    run(&[
        "insert",
        "--image",
        &image,
        &rootfs.path().to_string_lossy(),
        "/",
    ])?;
    run(&[
        "config",
        "--image",
        &image,
        "--config.cmd",
        "/bin/sh",
        "--config.env",
        "FROM_IMAGE=yes",
    ])?;
    Ok(layout)
}
