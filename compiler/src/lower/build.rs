//! `build { }`: ordered steps, as a Dockerfile's `RUN`, `COPY` and `ARG`.
//!
//! `arg` is written as a Dockerfile writes it: `arg = "NAME"` or
//! `arg = "NAME=default"`.

use sbx_plan::BuildStep;

use super::{Fields, Lowerer};

pub(crate) fn build(l: &mut Lowerer, top: &Fields) -> Vec<BuildStep> {
    let mut out = Vec::new();
    let Some(block) = top.blocks("build").next() else {
        return out;
    };
    let fields = l.fields(Some("build"), &block.body);
    for f in fields.assignments() {
        let step = match f.name() {
            "run" => l.string(&f).and_then(|script| {
                if script.trim().is_empty() {
                    l.error(
                        "sbx::build::empty-run",
                        "`run` is empty",
                        f.value.span,
                        "empty script",
                        "give the shell commands to run, such as `run = \"apt-get update\"`",
                    );
                    return None;
                }
                Some(BuildStep::Run { script })
            }),
            "copy" => l.string_list(&f).and_then(|items| {
                if items.len() < 2 {
                    l.error(
                        "sbx::build::copy-shape",
                        format!("`copy` needs at least a source and a destination, found {} path{}", items.len(), if items.len() == 1 { "" } else { "s" }),
                        f.value.span,
                        "too few paths",
                        "write `copy = [\"src\", \"/dest\"]`: sources first, the destination last",
                    );
                    return None;
                }
                let mut paths: Vec<String> = items.into_iter().map(|(s, _)| s).collect();
                let destination = paths.pop().expect("at least two");
                Some(BuildStep::Copy {
                    sources: paths,
                    destination,
                })
            }),
            _ => l.string(&f).and_then(|text| {
                let (name, default) = match text.split_once('=') {
                    Some((n, d)) => (n.to_string(), Some(d.to_string())),
                    None => (text.clone(), None),
                };
                let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    l.error(
                        "sbx::build::arg",
                        format!("`{name}` is not a valid build argument name"),
                        f.value.span,
                        "invalid name",
                        "write `arg = \"NAME\"` or `arg = \"NAME=default\"`; a name is letters, digits and `_`",
                    );
                    return None;
                }
                Some(BuildStep::Arg { name, default })
            }),
        };
        if let Some(step) = step {
            l.spans.insert(format!("build.{}", out.len()), f.value.span);
            out.push(step);
        }
    }
    out
}
