//! The local image store: content-addressed blobs, unpacked layers, image
//! records, and temp dirs that an interrupted operation leaves behind and
//! the next one removes.
//!
//! ```text
//! STORE/lock                     flock: renames into place, records, gc
//! STORE/blobs/sha256/HEX         image configs as imported
//! STORE/layers/HEX/              one unpacked layer (an overlayfs lower dir);
//!                                HEX is its diff_id, or a build step's key
//! STORE/images/HEX.json          an image record; HEX = sha256 of its name
//! STORE/tmp/PID-N-what/          work in progress of process PID
//! STORE/sandboxes/PID-N/         upper, work, merged of a running sandbox
//! ```

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ImageError;

/// The store's environment variable (tests point it at a temp dir).
pub const STORE_ENV: &str = "SBX_STORE";

/// What sbx keeps of an image's config (the OCI `config` object).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageConfig {
    #[serde(default)]
    pub env: Option<Vec<String>>,
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default)]
    pub working_dir: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
}

/// An image in the store: its layers, bottom first, and its config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    pub name: String,
    /// Layer ids (directories under `layers/`), bottom first.
    pub layers: Vec<String>,
    pub config: ImageConfig,
    /// The digest of the imported config blob, if imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<String>,
    /// Where it came from (`oci:PATH`, `docker-archive:PATH`, `build:PROFILE`).
    pub source: String,
}

/// An open image store.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// The held store lock; released on drop.
pub struct StoreLock {
    _file: nix::fcntl::Flock<File>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl Store {
    /// The store at `dir`, else `$SBX_STORE`, else `/var/lib/sbx` as root
    /// and `$XDG_DATA_HOME/sbx` (or `~/.local/share/sbx`) otherwise.
    /// Creates its directories and removes what dead processes left in
    /// `tmp/` and `sandboxes/` (unmounting their overlays).
    pub fn open(dir: Option<&Path>) -> Result<Store, ImageError> {
        let root = match dir {
            Some(dir) => dir.to_path_buf(),
            None => default_root()?,
        };
        let root = if root.is_absolute() {
            root
        } else {
            std::env::current_dir()
                .map_err(|e| ImageError::io("cannot read the current directory", e))?
                .join(root)
        };
        let store = Store { root };
        for dir in ["blobs/sha256", "layers", "images", "tmp", "sandboxes"] {
            let path = store.root.join(dir);
            fs::create_dir_all(&path).map_err(|e| {
                ImageError::io(
                    format!("cannot create the image store `{}`", path.display()),
                    e,
                )
            })?;
        }
        store.remove_stale_temp();
        super::overlay::remove_stale_sandboxes(&store);
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Takes the store's exclusive lock (blocking).
    pub fn lock(&self) -> Result<StoreLock, ImageError> {
        let path = self.root.join("lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| ImageError::io(format!("cannot open `{}`", path.display()), e))?;
        let file = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).map_err(
            |(_, e)| {
                ImageError::io(
                    format!("cannot lock `{}`", path.display()),
                    std::io::Error::from(e),
                )
            },
        )?;
        Ok(StoreLock { _file: file })
    }

    /// A new empty directory under `tmp/`, named for this process so that
    /// a later operation can tell it is stale once this process is gone.
    pub fn temp_dir(&self, what: &str) -> Result<PathBuf, ImageError> {
        let path = self.root.join("tmp").join(unique_name(what));
        fs::create_dir(&path)
            .map_err(|e| ImageError::io(format!("cannot create `{}`", path.display()), e))?;
        Ok(path)
    }

    /// Removes `tmp/` entries whose process is gone (an interrupted import
    /// or build). Best effort: a failure leaves them for the next time.
    fn remove_stale_temp(&self) {
        let Ok(entries) = fs::read_dir(self.root.join("tmp")) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if owner_alive(&name.to_string_lossy()) {
                continue;
            }
            let path = entry.path();
            // A build step's overlay may still be mounted if sbx was killed.
            super::overlay::unmount_below(&path);
            let _ = remove_any(&path);
        }
    }

    /// The directory of layer `id`.
    pub fn layer_dir(&self, id: &str) -> PathBuf {
        self.root.join("layers").join(id)
    }

    pub fn has_layer(&self, id: &str) -> bool {
        self.layer_dir(id).is_dir()
    }

    /// Moves an unpacked layer from `tmp/` into place as `id`. If the layer
    /// appeared meanwhile, the existing one is kept (same content by
    /// construction) unless `replace`.
    pub fn commit_layer(&self, unpacked: &Path, id: &str, replace: bool) -> Result<(), ImageError> {
        let _lock = self.lock()?;
        let target = self.layer_dir(id);
        if target.exists() {
            if !replace {
                let _ = remove_any(unpacked);
                return Ok(());
            }
            let old = self.temp_dir("replaced-layer")?;
            let trash = old.join("layer");
            fs::rename(&target, &trash).map_err(|e| {
                ImageError::io(format!("cannot move `{}` aside", target.display()), e)
            })?;
            let _ = remove_any(&old);
        }
        fs::rename(unpacked, &target).map_err(|e| {
            ImageError::io(
                format!("cannot move the layer into `{}`", target.display()),
                e,
            )
        })
    }

    /// Keeps a blob (an image config) under its digest, atomically.
    pub fn write_blob(&self, digest_hex: &str, bytes: &[u8]) -> Result<(), ImageError> {
        let path = self.root.join("blobs/sha256").join(digest_hex);
        if path.exists() {
            return Ok(());
        }
        self.write_atomic(&path, bytes)
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<(), ImageError> {
        let temp = self.root.join("tmp").join(unique_name("file"));
        let write = || -> std::io::Result<()> {
            let mut file = File::create(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            fs::rename(&temp, path)
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&temp);
            ImageError::io(format!("cannot write `{}`", path.display()), e)
        })
    }

    fn record_path(&self, name: &str) -> PathBuf {
        self.root
            .join("images")
            .join(format!("{}.json", hex(&Sha256::digest(name.as_bytes()))))
    }

    /// Writes (or replaces) an image record.
    pub fn tag(&self, record: &ImageRecord) -> Result<(), ImageError> {
        let json = serde_json::to_vec_pretty(record).expect("records serialise");
        let _lock = self.lock()?;
        self.write_atomic(&self.record_path(&record.name), &json)
    }

    /// The image named `name`, or an error that says how to import it.
    pub fn image(&self, name: &str) -> Result<ImageRecord, ImageError> {
        let path = self.record_path(name);
        let text = match fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ImageError::NotFound {
                    name: name.into(),
                    store: self.root.clone(),
                })
            }
            Err(e) => {
                return Err(ImageError::io(
                    format!("cannot read `{}`", path.display()),
                    e,
                ))
            }
        };
        let record: ImageRecord = serde_json::from_slice(&text).map_err(|e| {
            ImageError::refused(
                path.display().to_string(),
                format!("corrupt image record: {e}"),
            )
        })?;
        if let Some(missing) = record.layers.iter().find(|l| !self.has_layer(l)) {
            return Err(ImageError::refused(
                name,
                format!("layer `{missing}` is missing from the store (import the image again)"),
            ));
        }
        Ok(record)
    }

    /// Every image record, sorted by name.
    pub fn images(&self) -> Result<Vec<ImageRecord>, ImageError> {
        let dir = self.root.join("images");
        let entries = fs::read_dir(&dir)
            .map_err(|e| ImageError::io(format!("cannot read `{}`", dir.display()), e))?;
        let mut out = Vec::new();
        for entry in entries.flatten() {
            if entry.path().extension().is_some_and(|e| e == "json") {
                if let Ok(text) = fs::read(entry.path()) {
                    if let Ok(record) = serde_json::from_slice::<ImageRecord>(&text) {
                        out.push(record);
                    }
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Removes the image `name`, then every layer that no other image and
    /// no running sandbox uses. Returns the removed layers.
    pub fn remove(&self, name: &str) -> Result<Vec<String>, ImageError> {
        self.image(name).or_else(|e| match e {
            // A record whose layers are gone can still be removed.
            ImageError::Refused { .. } => Ok(placeholder(name)),
            other => Err(other),
        })?;
        let _lock = self.lock()?;
        let path = self.record_path(name);
        fs::remove_file(&path)
            .map_err(|e| ImageError::io(format!("cannot remove `{}`", path.display()), e))?;
        let mut used: BTreeSet<String> = BTreeSet::new();
        for record in self.images()? {
            used.extend(record.layers);
        }
        used.extend(super::overlay::layers_in_use(self));
        let mut removed = Vec::new();
        let dir = self.root.join("layers");
        for entry in fs::read_dir(&dir)
            .map_err(|e| ImageError::io(format!("cannot read `{}`", dir.display()), e))?
            .flatten()
        {
            let id = entry.file_name().to_string_lossy().to_string();
            if !used.contains(&id) {
                let trash = self.temp_dir("removed-layer")?;
                if fs::rename(entry.path(), trash.join("layer")).is_ok() {
                    removed.push(id);
                }
                let _ = remove_any(&trash);
            }
        }
        Ok(removed)
    }
}

fn placeholder(name: &str) -> ImageRecord {
    ImageRecord {
        name: name.into(),
        layers: vec![],
        config: ImageConfig::default(),
        config_digest: None,
        source: String::new(),
    }
}

fn default_root() -> Result<PathBuf, ImageError> {
    if let Some(dir) = std::env::var_os(STORE_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    if super::is_root() {
        return Ok(PathBuf::from("/var/lib/sbx"));
    }
    if let Some(data) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(data).join("sbx"));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".local/share/sbx")),
        None => Err(ImageError::Unsupported {
            problem: "no image store: neither `XDG_DATA_HOME` nor `HOME` is set".into(),
            help: "give one with `--store DIR`".into(),
        }),
    }
}

/// `PID-N-what`: unique within the host while PID lives.
pub(crate) fn unique_name(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}-{nanos:x}{}-{what}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Whether the process named by a `PID-...` entry still runs.
pub(crate) fn owner_alive(name: &str) -> bool {
    let Some(pid) = name.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
        return false;
    };
    if pid as u32 == std::process::id() {
        return true;
    }
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes a file or a directory tree without following symlinks.
pub(crate) fn remove_any(path: &Path) -> std::io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            // A read-only directory (a layer's 0555 dir) cannot be emptied
            // by a non-root user; make the tree writable first.
            let _ = make_writable(path);
            fs::remove_dir_all(path)
        }
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn make_writable(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs::symlink_metadata(dir)?;
    if meta.is_dir() {
        let mode = meta.permissions().mode();
        if mode & 0o700 != 0o700 {
            fs::set_permissions(dir, fs::Permissions::from_mode(mode | 0o700))?;
        }
        for entry in fs::read_dir(dir)?.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                let _ = make_writable(&entry.path());
            }
        }
    }
    Ok(())
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
