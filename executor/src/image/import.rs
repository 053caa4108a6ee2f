//! `sbx image import`: an OCI image layout directory or a `docker save`
//! archive into the store. Blobs are read through a hash and checked
//! against the digest that names them; each layer is unpacked in `tmp/` and
//! renamed into place only once complete and verified; the image record is
//! written last, so an interrupted import never leaves a usable half image.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::store::{hex, remove_any, ImageConfig, ImageRecord, Store};
use super::unpack::{unpack_layer, Expected, Hashing};
use super::ImageError;

/// The most sbx reads of a JSON file in an image (an index, a manifest,
/// a config).
const JSON_LIMIT: u64 = 16 << 20;

/// Imports the image at `path` (an OCI layout directory, or a `docker save`
/// tar) as `tag` (or the name the input gives it). `select` picks one
/// image of an OCI layout by its `org.opencontainers.image.ref.name`.
pub fn import(
    store: &Store,
    path: &Path,
    select: Option<&str>,
    tag: Option<&str>,
) -> Result<ImageRecord, ImageError> {
    let shown = path.display().to_string();
    let meta =
        std::fs::metadata(path).map_err(|e| ImageError::io(format!("cannot read `{shown}`"), e))?;
    let source: Box<dyn Source> = if meta.is_dir() {
        Box::new(OciDir {
            root: path.to_path_buf(),
        })
    } else {
        Box::new(TarSource::open(path)?)
    };
    let image = if source.exists("index.json") && source.exists("oci-layout") {
        oci_image(&*source, &shown, select)?
    } else if source.exists("manifest.json") {
        docker_image(&*source, &shown, select)?
    } else {
        return Err(ImageError::refused(
            &shown,
            "neither an OCI image layout (`oci-layout`, `index.json`) nor a `docker save` archive (`manifest.json`)",
        ));
    };
    let name = match tag.map(str::to_string).or(image.name.clone()) {
        Some(name) => name,
        None => {
            return Err(ImageError::refused(
                &shown,
                "the image has no name of its own; give one with `--tag NAME`",
            ))
        }
    };
    let config_hex = image
        .config_digest
        .trim_start_matches("sha256:")
        .to_string();
    store.write_blob(&config_hex, &image.config_bytes)?;
    let mut layers = Vec::new();
    for (i, layer) in image.layers.iter().enumerate() {
        let id = layer.diff_id.trim_start_matches("sha256:").to_string();
        if !is_hex_digest(&id) {
            return Err(ImageError::refused(
                &shown,
                format!(
                    "the config's diff_id `{}` is not a sha256 digest",
                    layer.diff_id
                ),
            ));
        }
        if !store.has_layer(&id) {
            let work = store.temp_dir("layer")?;
            let dest = work.join("layer");
            std::fs::create_dir(&dest)
                .map_err(|e| ImageError::io(format!("cannot create `{}`", dest.display()), e))?;
            let input = format!("{shown}: layer {} ({})", i + 1, layer.path);
            let result = unpack_layer(
                || source.open(&layer.path),
                &dest,
                &Expected {
                    input: &input,
                    blob: layer.blob_digest.as_deref(),
                    diff_id: &layer.diff_id,
                },
            )
            .and_then(|()| store.commit_layer(&dest, &id, false));
            let _ = remove_any(&work);
            result?;
        }
        layers.push(id);
    }
    let record = ImageRecord {
        name,
        layers,
        config: image.config,
        config_digest: Some(image.config_digest),
        source: image.source,
    };
    store.tag(&record)?;
    Ok(record)
}

fn is_hex_digest(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Files of an input by their path inside it.
trait Source {
    fn exists(&self, path: &str) -> bool;
    fn open(&self, path: &str) -> io::Result<Box<dyn Read>>;
}

struct OciDir {
    root: PathBuf,
}

impl Source for OciDir {
    fn exists(&self, path: &str) -> bool {
        self.root.join(path).is_file()
    }
    fn open(&self, path: &str) -> io::Result<Box<dyn Read>> {
        Ok(Box::new(File::open(self.root.join(path))?))
    }
}

/// A tar archive read in place: regular files by their data offset,
/// symlinks (which `docker save` uses between layer dirs) resolved inside
/// the archive.
struct TarSource {
    path: PathBuf,
    files: BTreeMap<String, (u64, u64)>,
    links: BTreeMap<String, String>,
}

impl TarSource {
    fn open(path: &Path) -> Result<TarSource, ImageError> {
        let shown = path.display().to_string();
        let file =
            File::open(path).map_err(|e| ImageError::io(format!("cannot read `{shown}`"), e))?;
        let length = file
            .metadata()
            .map_err(|e| ImageError::io(format!("cannot read `{shown}`"), e))?
            .len();
        let mut archive = tar::Archive::new(file);
        let mut files = BTreeMap::new();
        let mut links = BTreeMap::new();
        let entries = archive
            .entries_with_seek()
            .map_err(|e| ImageError::refused(&shown, format!("not a tar archive: {e}")))?;
        for entry in entries {
            let entry = entry.map_err(|e| {
                ImageError::refused(&shown, format!("not a valid tar archive: {e}"))
            })?;
            let name = entry.path().map_err(|e| {
                ImageError::refused(&shown, format!("not a valid tar archive: {e}"))
            })?;
            let Some(name) = normalise(&name) else {
                continue;
            };
            match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let start = entry.raw_file_position();
                    let size = entry.size();
                    if start + size > length {
                        return Err(ImageError::refused(
                            &shown,
                            format!("the archive is truncated: `{name}` ends past its end"),
                        ));
                    }
                    files.insert(name, (start, size));
                }
                tar::EntryType::Symlink => {
                    if let Ok(Some(target)) = entry.link_name() {
                        let base = Path::new(&name).parent().unwrap_or(Path::new(""));
                        if let Some(resolved) = normalise(&base.join(target)) {
                            links.insert(name, resolved);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(TarSource {
            path: path.to_path_buf(),
            files,
            links,
        })
    }

    fn resolve(&self, path: &str) -> Option<(u64, u64)> {
        let mut path = normalise(Path::new(path))?;
        for _ in 0..8 {
            if let Some(found) = self.files.get(&path) {
                return Some(*found);
            }
            path = self.links.get(&path)?.clone();
        }
        None
    }
}

impl Source for TarSource {
    fn exists(&self, path: &str) -> bool {
        self.resolve(path).is_some()
    }
    fn open(&self, path: &str) -> io::Result<Box<dyn Read>> {
        let (start, size) = self.resolve(path).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("`{path}` is not in the archive"),
            )
        })?;
        let mut file = File::open(&self.path)?;
        file.seek(SeekFrom::Start(start))?;
        Ok(Box::new(file.take(size)))
    }
}

/// A relative path without `.`; `None` when it climbs with `..` or is empty.
fn normalise(path: &Path) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(c) => parts.push(c.to_string_lossy().into_owned()),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::Prefix(_) => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// An image as found in the input, before its layers are unpacked.
struct FoundImage {
    name: Option<String>,
    config_bytes: Vec<u8>,
    config_digest: String,
    config: ImageConfig,
    layers: Vec<FoundLayer>,
    source: String,
}

struct FoundLayer {
    path: String,
    blob_digest: Option<String>,
    diff_id: String,
}

#[derive(Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Deserialize)]
struct Platform {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
}

#[derive(Deserialize)]
struct Index {
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct Manifest {
    config: Descriptor,
    layers: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    config: Option<ImageConfig>,
    rootfs: RootfsConfig,
    #[serde(default)]
    architecture: String,
}

#[derive(Deserialize)]
struct RootfsConfig {
    #[serde(default)]
    diff_ids: Vec<String>,
}

const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Reads a whole (small) file of the input, checking its digest when known.
fn read_blob(
    source: &dyn Source,
    input: &str,
    path: &str,
    digest: Option<&str>,
    size: Option<u64>,
) -> Result<Vec<u8>, ImageError> {
    let reader = source
        .open(path)
        .map_err(|e| ImageError::refused(input, format!("cannot read `{path}`: {e}")))?;
    let mut hashing = Hashing::new(reader.take(JSON_LIMIT + 1));
    let mut bytes = Vec::new();
    hashing
        .read_to_end(&mut bytes)
        .map_err(|e| ImageError::refused(input, format!("cannot read `{path}`: {e}")))?;
    if bytes.len() as u64 > JSON_LIMIT {
        return Err(ImageError::refused(
            input,
            format!("`{path}` is larger than {JSON_LIMIT} bytes"),
        ));
    }
    let (actual, _) = hashing
        .finish()
        .map_err(|e| ImageError::refused(input, format!("cannot read `{path}`: {e}")))?;
    if let Some(size) = size {
        if size != bytes.len() as u64 {
            return Err(ImageError::refused(
                input,
                format!(
                    "`{path}` has {} bytes, its descriptor says {size} (truncated or altered)",
                    bytes.len()
                ),
            ));
        }
    }
    if let Some(expected) = digest {
        if expected != actual {
            return Err(ImageError::Digest {
                input: input.into(),
                what: format!("`{path}`"),
                expected: expected.into(),
                actual,
            });
        }
    }
    Ok(bytes)
}

fn parse<T: for<'de> Deserialize<'de>>(
    input: &str,
    what: &str,
    bytes: &[u8],
) -> Result<T, ImageError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ImageError::refused(input, format!("`{what}` is not valid: {e}")))
}

/// `blobs/sha256/HEX` of a `sha256:HEX` digest, refusing anything else.
fn blob_path(input: &str, digest: &str) -> Result<String, ImageError> {
    match digest.strip_prefix("sha256:") {
        Some(hex) if is_hex_digest(hex) => Ok(format!("blobs/sha256/{hex}")),
        _ => Err(ImageError::refused(
            input,
            format!("unsupported digest `{digest}` (sbx reads sha256 digests only)"),
        )),
    }
}

fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn oci_image(
    source: &dyn Source,
    input: &str,
    select: Option<&str>,
) -> Result<FoundImage, ImageError> {
    let layout = read_blob(source, input, "oci-layout", None, None)?;
    let layout: serde_json::Value = parse(input, "oci-layout", &layout)?;
    if layout["imageLayoutVersion"].as_str() != Some("1.0.0") {
        return Err(ImageError::refused(
            input,
            "`oci-layout` does not say `imageLayoutVersion: 1.0.0`",
        ));
    }
    let index: Index = parse(
        input,
        "index.json",
        &read_blob(source, input, "index.json", None, None)?,
    )?;
    let tags: Vec<&str> = index
        .manifests
        .iter()
        .filter_map(|m| m.annotations.get(REF_NAME).map(String::as_str))
        .collect();
    let chosen = match select {
        Some(tag) => index
            .manifests
            .iter()
            .find(|m| m.annotations.get(REF_NAME).map(String::as_str) == Some(tag))
            .ok_or_else(|| {
                ImageError::refused(
                    input,
                    format!("no image tagged `{tag}` (tags: {})", list(&tags)),
                )
            })?,
        None if index.manifests.len() == 1 => &index.manifests[0],
        None => {
            return Err(ImageError::refused(
                input,
                format!(
                    "the layout holds {} images; choose one with `oci:PATH:TAG` (tags: {})",
                    index.manifests.len(),
                    list(&tags)
                ),
            ))
        }
    };
    let ref_name = chosen.annotations.get(REF_NAME).cloned();
    let mut descriptor_digest = chosen.digest.clone();
    let mut descriptor_size = chosen.size;
    let mut media_type = chosen.media_type.clone();
    // An image index (multi-platform): the entry for this machine.
    for _ in 0..4 {
        if !media_type.ends_with("image.index.v1+json")
            && !media_type.ends_with("manifest.list.v2+json")
        {
            break;
        }
        let path = blob_path(input, &descriptor_digest)?;
        let nested: Index = parse(
            input,
            &path,
            &read_blob(
                source,
                input,
                &path,
                Some(&descriptor_digest),
                descriptor_size,
            )?,
        )?;
        let entry = nested
            .manifests
            .iter()
            .find(|m| {
                m.platform
                    .as_ref()
                    .is_some_and(|p| p.os == "linux" && p.architecture == host_arch())
            })
            .ok_or_else(|| {
                ImageError::refused(
                    input,
                    format!("the image index has no `linux/{}` image", host_arch()),
                )
            })?;
        descriptor_digest = entry.digest.clone();
        descriptor_size = entry.size;
        media_type = entry.media_type.clone();
    }
    let path = blob_path(input, &descriptor_digest)?;
    let manifest: Manifest = parse(
        input,
        &path,
        &read_blob(
            source,
            input,
            &path,
            Some(&descriptor_digest),
            descriptor_size,
        )?,
    )?;
    let config_path = blob_path(input, &manifest.config.digest)?;
    let config_bytes = read_blob(
        source,
        input,
        &config_path,
        Some(&manifest.config.digest),
        manifest.config.size,
    )?;
    let config: ConfigFile = parse(input, &config_path, &config_bytes)?;
    check_arch(input, &config)?;
    if config.rootfs.diff_ids.len() != manifest.layers.len() {
        return Err(ImageError::refused(
            input,
            format!(
                "the manifest lists {} layers, the config {} diff_ids",
                manifest.layers.len(),
                config.rootfs.diff_ids.len()
            ),
        ));
    }
    let mut layers = Vec::new();
    for (layer, diff_id) in manifest.layers.iter().zip(&config.rootfs.diff_ids) {
        if layer.media_type.contains("zstd") {
            return Err(ImageError::refused(input, "zstd-compressed layers are not supported yet (re-export the image with gzip layers)"));
        }
        if layer.media_type.contains("nondistributable") || layer.media_type.contains("foreign") {
            return Err(ImageError::refused(
                input,
                format!(
                    "layer `{}` is a foreign layer, which is not in the layout",
                    layer.digest
                ),
            ));
        }
        layers.push(FoundLayer {
            path: blob_path(input, &layer.digest)?,
            blob_digest: Some(layer.digest.clone()),
            diff_id: diff_id.clone(),
        });
    }
    Ok(FoundImage {
        name: ref_name,
        config_digest: manifest.config.digest.clone(),
        config: config.config.unwrap_or_default(),
        config_bytes,
        layers,
        source: format!("oci:{input}"),
    })
}

fn check_arch(input: &str, config: &ConfigFile) -> Result<(), ImageError> {
    if !config.architecture.is_empty() && config.architecture != host_arch() {
        return Err(ImageError::refused(
            input,
            format!(
                "the image is for `{}`, this machine is `{}`",
                config.architecture,
                host_arch()
            ),
        ));
    }
    Ok(())
}

fn list(tags: &[&str]) -> String {
    if tags.is_empty() {
        "none".into()
    } else {
        tags.iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Deserialize)]
struct DockerManifest {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

fn docker_image(
    source: &dyn Source,
    input: &str,
    select: Option<&str>,
) -> Result<FoundImage, ImageError> {
    let manifests: Vec<DockerManifest> = parse(
        input,
        "manifest.json",
        &read_blob(source, input, "manifest.json", None, None)?,
    )?;
    let tags: Vec<&str> = manifests
        .iter()
        .flat_map(|m| m.repo_tags.iter().flatten().map(String::as_str))
        .collect();
    let chosen = match select {
        Some(tag) => manifests
            .iter()
            .find(|m| m.repo_tags.iter().flatten().any(|t| t == tag))
            .ok_or_else(|| {
                ImageError::refused(
                    input,
                    format!("no image tagged `{tag}` (tags: {})", list(&tags)),
                )
            })?,
        None if manifests.len() == 1 => &manifests[0],
        None => {
            return Err(ImageError::refused(
                input,
                format!(
                    "the archive holds {} images; choose one by its tag (tags: {})",
                    manifests.len(),
                    list(&tags)
                ),
            ))
        }
    };
    // The config's file name is its digest (`HEX.json` or `blobs/sha256/HEX`).
    let stem = Path::new(&chosen.config)
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".json").to_string())
        .unwrap_or_default();
    let expected = is_hex_digest(&stem).then(|| format!("sha256:{stem}"));
    let config_bytes = read_blob(source, input, &chosen.config, expected.as_deref(), None)?;
    let config: ConfigFile = parse(input, &chosen.config, &config_bytes)?;
    check_arch(input, &config)?;
    if config.rootfs.diff_ids.len() != chosen.layers.len() {
        return Err(ImageError::refused(
            input,
            format!(
                "manifest.json lists {} layers, the config {} diff_ids",
                chosen.layers.len(),
                config.rootfs.diff_ids.len()
            ),
        ));
    }
    let layers = chosen
        .layers
        .iter()
        .zip(&config.rootfs.diff_ids)
        .map(|(path, diff_id)| FoundLayer {
            path: path.clone(),
            blob_digest: None,
            diff_id: diff_id.clone(),
        })
        .collect();
    let config_digest = format!("sha256:{}", hex(&Sha256::digest(&config_bytes)));
    Ok(FoundImage {
        name: select
            .map(str::to_string)
            .or_else(|| chosen.repo_tags.as_ref().and_then(|t| t.first().cloned())),
        config_digest,
        config: config.config.unwrap_or_default(),
        config_bytes,
        layers,
        source: format!("docker-archive:{input}"),
    })
}
