//! `sbx build`: runs a profile's `build` steps on its `from` image, one
//! layer per `run` and `copy`, each keyed by the hash of its parent's key
//! and its own inputs, so that an unchanged step is not run again.
//!
//! ```text
//! key(base)   = sha256("sbx-build-v1" \0 base layer ids)
//! key(arg)    = sha256(parent \0 "arg" \0 NAME \0 VALUE)      (no layer)
//! key(run)    = sha256(parent \0 "run" \0 SCRIPT)
//! key(copy)   = sha256(parent \0 "copy" \0 DEST \0 per file: path, type,
//!                      mode, sha256 of content or symlink target)
//! ```
//!
//! A `run` step runs in a sandbox made from the profile's own isolation
//! settings (via [`crate::apply`]) on an overlay of the layers so far; its
//! upper dir becomes the step's layer, stored under the step's key.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use sbx_plan::{BuildStep, EnvVar, Plan, Rootfs};
use sha2::{Digest, Sha256};

use super::overlay::{mount_layers, resolve_image, resolve_process};
use super::store::{hex, remove_any, ImageRecord, Store};
use super::ImageError;
use crate::apply::{ApplyOptions, WorkloadEnd};
use crate::journal::ApplyJournal;

/// How to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Where `copy` sources are found.
    pub context: PathBuf,
    /// Run every step, even those whose layer is cached.
    pub no_cache: bool,
    /// The name of the result; the profile's `name` when `None`.
    pub tag: Option<String>,
    /// `--build-arg NAME=VALUE`, overriding the `arg` defaults.
    pub args: BTreeMap<String, String>,
    /// How each `run` step's sandbox is applied.
    pub apply: ApplyOptions,
}

/// One step as it was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepOutcome {
    /// 1-based.
    pub index: usize,
    pub what: String,
    /// True when its layer came from the cache.
    pub cached: bool,
    /// The layer id (the step's key); `None` for `arg`.
    pub layer: Option<String>,
}

/// The built image and what each step did.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    pub image: ImageRecord,
    pub steps: Vec<StepOutcome>,
}

/// Builds `plan`'s steps on its `from` image and tags the result.
/// `report` gets each step as it finishes.
pub fn build(
    plan: &Plan,
    store: &Store,
    options: &BuildOptions,
    report: &dyn Fn(&StepOutcome),
) -> Result<BuildOutcome, ImageError> {
    let outcome = build_steps(plan, store, options, report, true)?;
    store.tag(&outcome.image)?;
    Ok(outcome)
}

/// The image that `sbx build` made of `plan` as it is now (its steps, the
/// files they copy from `context`, the `arg` defaults), for `sbx apply`:
/// an error that says to run `sbx build` when a step's layer is not in the
/// cache. Nothing is run and nothing is tagged.
pub fn built_image(plan: &Plan, store: &Store, context: &Path) -> Result<ImageRecord, ImageError> {
    let options = BuildOptions {
        context: context.to_path_buf(),
        no_cache: false,
        tag: Some(String::new()),
        args: BTreeMap::new(),
        apply: ApplyOptions::default(),
    };
    build_steps(plan, store, &options, &|_| {}, false).map(|outcome| outcome.image)
}

fn build_steps(
    plan: &Plan,
    store: &Store,
    options: &BuildOptions,
    report: &dyn Fn(&StepOutcome),
    run: bool,
) -> Result<BuildOutcome, ImageError> {
    let not_built = |index: usize, what: &str| {
        ImageError::Unsupported {
        problem: format!(
            "the profile's `build` steps are not built as they are now (step {index}, `{what}`, is not in the image cache)"
        ),
        help: "run `sbx build PROFILE` first (with the same `--store`)".into(),
    }
    };
    let tag = options
        .tag
        .clone()
        .or_else(|| plan.name.clone())
        .ok_or_else(|| ImageError::Unsupported {
            problem: "the build result needs a name: the profile has no `name`".into(),
            help: "add `name = \"...\"` to the profile or give `--tag NAME`".into(),
        })?;
    let base = resolve_image(&plan.rootfs, store)?.ok_or_else(|| ImageError::Unsupported {
        problem: "`sbx build` builds on an image: `from` is `host` or a directory".into(),
        help: "set `from` to an image name or `oci:PATH[:TAG]`".into(),
    })?;
    let declared: Vec<&str> = plan
        .build
        .iter()
        .filter_map(|s| match s {
            BuildStep::Arg { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    if let Some(unknown) = options
        .args
        .keys()
        .find(|k| !declared.contains(&k.as_str()))
    {
        return Err(ImageError::Unsupported {
            problem: format!("`--build-arg {unknown}`: the profile has no `arg` named `{unknown}`"),
            help: format!("declare it in the `build` block (`arg = \"{unknown}\"`) or drop it"),
        });
    }
    let context = fs::canonicalize(&options.context).map_err(|e| {
        ImageError::io(
            format!(
                "cannot read the build context `{}`",
                options.context.display()
            ),
            e,
        )
    })?;
    let mut key = hash(&[b"sbx-build-v1", base.layers.join(",").as_bytes()]);
    let mut layers = base.layers.clone();
    let mut args: Vec<(String, String)> = Vec::new();
    let mut steps = Vec::new();
    for (i, step) in plan.build.iter().enumerate() {
        let index = i + 1;
        let outcome = match step {
            BuildStep::Arg { name, default } => {
                let value = options
                    .args
                    .get(name)
                    .cloned()
                    .or_else(|| default.clone())
                    .ok_or_else(|| ImageError::Build {
                        step: index,
                        what: format!("arg {name}"),
                        problem: "it has no default and no value was given".into(),
                    })?;
                key = hash(&[key.as_bytes(), b"arg", name.as_bytes(), value.as_bytes()]);
                args.retain(|(n, _)| n != name);
                args.push((name.clone(), value));
                StepOutcome {
                    index,
                    what: format!("arg {name}"),
                    cached: true,
                    layer: None,
                }
            }
            BuildStep::Run { script } => {
                key = hash(&[key.as_bytes(), b"run", script.as_bytes()]);
                let what = format!("run {}", first_line(script));
                let cached = !options.no_cache && store.has_layer(&key);
                if !cached && !run {
                    return Err(not_built(index, &what));
                }
                if !cached {
                    run_step(
                        plan, &base, store, &layers, script, &args, &key, options, index, &what,
                    )?;
                }
                layers.push(key.clone());
                StepOutcome {
                    index,
                    what,
                    cached,
                    layer: Some(key.clone()),
                }
            }
            BuildStep::Copy {
                sources,
                destination,
            } => {
                let what = format!("copy {} {}", sources.join(" "), destination);
                let fail = |problem: String| ImageError::Build {
                    step: index,
                    what: what.clone(),
                    problem,
                };
                let sources: Vec<String> = sources.iter().map(|s| substitute(s, &args)).collect();
                let destination = substitute(destination, &args);
                let items = copy_items(&context, &sources, &destination, &plan.process.cwd)
                    .map_err(fail)?;
                let mut parts: Vec<Vec<u8>> = vec![
                    key.clone().into_bytes(),
                    b"copy".to_vec(),
                    destination.clone().into_bytes(),
                ];
                for item in &items {
                    parts.push(item.fingerprint().map_err(fail)?);
                }
                let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
                key = hash(&refs);
                let cached = !options.no_cache && store.has_layer(&key);
                if !cached && !run {
                    return Err(not_built(index, &what));
                }
                if !cached {
                    let work = store.temp_dir("copy")?;
                    let layer = work.join("layer");
                    let result = fs::create_dir(&layer)
                        .map_err(|e| fail(format!("cannot create `{}`: {e}", layer.display())))
                        .and_then(|()| {
                            items
                                .iter()
                                .try_for_each(|item| item.copy_into(&layer).map_err(fail))
                        })
                        .and_then(|()| store.commit_layer(&layer, &key, options.no_cache));
                    let _ = remove_any(&work);
                    result?;
                }
                layers.push(key.clone());
                StepOutcome {
                    index,
                    what,
                    cached,
                    layer: Some(key.clone()),
                }
            }
        };
        report(&outcome);
        steps.push(outcome);
    }
    let image = ImageRecord {
        name: tag,
        layers,
        config: base.config.clone(),
        config_digest: None,
        source: format!("build:{}", plan.name.as_deref().unwrap_or("profile")),
    };
    Ok(BuildOutcome { image, steps })
}

#[allow(clippy::too_many_arguments)]
fn run_step(
    plan: &Plan,
    base: &ImageRecord,
    store: &Store,
    layers: &[String],
    script: &str,
    args: &[(String, String)],
    key: &str,
    options: &BuildOptions,
    index: usize,
    what: &str,
) -> Result<(), ImageError> {
    let fail = |problem: String| ImageError::Build {
        step: index,
        what: what.into(),
        problem,
    };
    let mut journal = ApplyJournal::new();
    let mounted = mount_layers(store, layers, true, &mut journal);
    let (merged, upper) = match mounted {
        Ok(paths) => paths,
        Err(e) => {
            let _ = journal.unwind();
            return Err(e);
        }
    };
    let sandbox_dir = upper
        .parent()
        .expect("upper is in its sandbox dir")
        .to_path_buf();
    let mut step = plan.clone();
    step.rootfs = Rootfs::Directory {
        path: merged.to_string_lossy().into_owned(),
    };
    step.process.args = vec![];
    resolve_process(&mut step, base);
    step.process.args = vec!["/bin/sh".into(), "-c".into(), script.into()];
    step.process.terminal = false;
    // The step writes its layer: a read-only rootfs would refuse it.
    step.security.rootfs_readonly = false;
    step.build.clear();
    for (name, value) in args {
        step.process.env.retain(|v| &v.name != name);
        step.process.env.push(EnvVar {
            name: name.clone(),
            value: value.clone(),
        });
    }
    let ran = crate::apply::preflight(&step, &options.apply)
        .and_then(|launch| crate::apply::apply(&step, &launch, &options.apply, &|_, _| {}));
    let undo = journal.unwind();
    let result = match ran {
        Err(e) => Err(fail(e.to_string())),
        Ok(outcome) => match outcome.end {
            WorkloadEnd::Exited(0) => Ok(()),
            WorkloadEnd::Exited(code) => Err(fail(format!("the script exited with status {code}"))),
            WorkloadEnd::Killed(signal) => {
                Err(fail(format!("the script was killed by signal {signal}")))
            }
        },
    }
    .and_then(|()| match undo.first() {
        Some(failure) => Err(fail(failure.to_string())),
        None => Ok(()),
    })
    .and_then(|()| {
        remove_mount_points(&step, store, layers, &upper);
        store.commit_layer(&upper, key, options.no_cache)
    });
    let _ = remove_any(&sandbox_dir);
    result
}

fn hash(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hex(&hasher.finalize())
}

fn first_line(script: &str) -> String {
    let line = script.lines().next().unwrap_or("");
    if line.chars().count() > 60 || script.lines().count() > 1 {
        format!("{}...", line.chars().take(60).collect::<String>())
    } else {
        line.into()
    }
}

/// `$NAME` and `${NAME}` of the args given so far; others stay as they are.
fn substitute(text: &str, args: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (name, value) in args {
        out = out.replace(&format!("${{{name}}}"), value);
        out = out
            .split(&format!("${name}"))
            .collect::<Vec<_>>()
            .join(value);
    }
    out
}

/// One thing a `copy` step puts in its layer: a host path in the context
/// and its path in the layer.
struct CopyItem {
    from: PathBuf,
    /// Relative to the layer's root.
    to: PathBuf,
}

/// Resolves a `copy` step: every source inside the context (a `..` or a
/// symlink leading out is refused), every destination a plain path.
fn copy_items(
    context: &Path,
    sources: &[String],
    destination: &str,
    cwd: &str,
) -> Result<Vec<CopyItem>, String> {
    let dest = if destination.starts_with('/') {
        PathBuf::from(destination)
    } else {
        Path::new(cwd).join(destination)
    };
    let mut dest_rel = PathBuf::new();
    for c in dest.components() {
        match c {
            Component::Normal(c) => dest_rel.push(c),
            Component::RootDir | Component::CurDir => {}
            _ => {
                return Err(format!(
                    "the destination `{destination}` has a `..` component"
                ))
            }
        }
    }
    let mut resolved = Vec::new();
    for source in sources {
        let path = context.join(source);
        let real = fs::canonicalize(&path).map_err(|e| {
            format!(
                "the source `{source}` cannot be read in the build context `{}`: {e}",
                context.display()
            )
        })?;
        if !real.starts_with(context) {
            return Err(format!(
                "the source `{source}` is outside the build context `{}`; copy only files below it",
                context.display()
            ));
        }
        resolved.push((source, real));
    }
    let into_dir =
        destination.ends_with('/') || sources.len() > 1 || resolved.iter().any(|(_, p)| p.is_dir());
    let mut items = Vec::new();
    for (source, real) in resolved {
        let to = if real.is_dir() {
            dest_rel.clone()
        } else if into_dir {
            let name = real
                .file_name()
                .ok_or_else(|| format!("the source `{source}` has no file name"))?;
            dest_rel.join(name)
        } else {
            dest_rel.clone()
        };
        if to.as_os_str().is_empty() && !real.is_dir() {
            return Err(format!(
                "a file cannot be copied onto `/`: give a destination path for `{source}`"
            ));
        }
        items.push(CopyItem { from: real, to });
    }
    Ok(items)
}

impl CopyItem {
    /// Every file below `from`, in order: relative path, type, mode,
    /// content hash or symlink target.
    fn fingerprint(&self) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        out.extend_from_slice(self.to.as_os_str().as_encoded_bytes());
        walk(&self.from, Path::new(""), &mut |rel, meta, path| {
            out.push(0);
            out.extend_from_slice(rel.as_os_str().as_encoded_bytes());
            out.extend_from_slice(format!("\0{:o}\0", meta.mode()).as_bytes());
            if meta.file_type().is_symlink() {
                out.extend_from_slice(fs::read_link(path)?.as_os_str().as_encoded_bytes());
            } else if meta.is_file() {
                let mut hasher = Sha256::new();
                std::io::copy(&mut fs::File::open(path)?, &mut hasher)?;
                out.extend_from_slice(&hasher.finalize());
            }
            Ok(())
        })
        .map_err(|e| format!("cannot read `{}`: {e}", self.from.display()))?;
        Ok(out)
    }

    /// Copies into the layer at `layer`, owned by root, modes kept.
    fn copy_into(&self, layer: &Path) -> Result<(), String> {
        let target = layer.join(&self.to);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
        }
        walk(&self.from, Path::new(""), &mut |rel, meta, path| {
            let to = if rel.as_os_str().is_empty() {
                target.clone()
            } else {
                target.join(rel)
            };
            if meta.file_type().is_symlink() {
                std::os::unix::fs::symlink(fs::read_link(path)?, &to)?;
                return Ok(());
            }
            if meta.is_dir() {
                if !to.is_dir() {
                    fs::create_dir(&to)?;
                }
            } else if meta.is_file() {
                fs::copy(path, &to)?;
            } else {
                return Err(std::io::Error::other(format!(
                    "`{}` is not a file, a directory or a symlink",
                    path.display()
                )));
            }
            fs::set_permissions(&to, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
            if super::is_root() {
                std::os::unix::fs::lchown(&to, Some(0), Some(0))?;
            }
            Ok(())
        })
        .map_err(|e| format!("cannot copy `{}`: {e}", self.from.display()))
    }
}

/// Visits `path` then everything below it (sorted, symlinks not followed).
fn walk(
    path: &Path,
    rel: &Path,
    visit: &mut dyn FnMut(&Path, &fs::Metadata, &Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let meta = fs::symlink_metadata(path)?;
    visit(rel, &meta, path)?;
    if meta.is_dir() {
        let mut names: Vec<_> = fs::read_dir(path)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        names.sort();
        for name in names {
            walk(&path.join(&name), &rel.join(&name), visit)?;
        }
    }
    Ok(())
}

/// Removes from a step's layer the empty mount points the rootfs setup
/// created for the step's own mounts and volumes (a bind target the image
/// lacks): they belong to the sandbox, not to the image.
fn remove_mount_points(step: &Plan, store: &Store, layers: &[String], upper: &Path) {
    let destinations = step
        .mounts
        .iter()
        .map(|m| m.destination.as_str())
        .chain(step.volumes.iter().map(String::as_str));
    for destination in destinations {
        let relative = destination.trim_start_matches('/');
        if relative.is_empty()
            || Path::new(relative)
                .components()
                .any(|c| c == Component::ParentDir)
        {
            continue;
        }
        let in_layer = upper.join(relative);
        let Ok(meta) = fs::symlink_metadata(&in_layer) else {
            continue;
        };
        let empty = (meta.is_dir()
            && fs::read_dir(&in_layer).is_ok_and(|mut d| d.next().is_none()))
            || (meta.is_file() && meta.len() == 0);
        let in_image = layers
            .iter()
            .any(|l| fs::symlink_metadata(store.layer_dir(l).join(relative)).is_ok());
        if empty && !in_image {
            let _ = remove_any(&in_layer);
        }
    }
}
