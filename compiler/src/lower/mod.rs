//! Lowering: the merged statements of a profile to a [`Plan`], checking
//! every key and value on the way. Units are normalised (bytes,
//! microseconds), defaults filled in, names canonicalised. Every problem is
//! pushed as a diagnostic and lowering goes on, so that one run reports
//! them all.

mod block;
mod build;
mod capabilities;
mod limits;
mod mounts;
mod network;
mod process;
mod security;
mod value;

use std::path::PathBuf;

use sbx_grammar::ast::{Span, Statement};
use sbx_plan::{Console, Plan, PLAN_VERSION};

use crate::diagnostic::Diagnostic;
use crate::spans::SpanTable;

pub(crate) use block::{Field, Fields};
pub(crate) use security::{DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS};

/// The state of one lowering run.
pub(crate) struct Lowerer {
    pub diagnostics: Vec<Diagnostic>,
    pub spans: SpanTable,
    /// Absolute directory of the profile: relative `from` paths resolve
    /// against it.
    pub base_dir: PathBuf,
}

impl Lowerer {
    pub fn new(base_dir: PathBuf) -> Self {
        Lowerer {
            diagnostics: Vec::new(),
            spans: SpanTable::default(),
            base_dir,
        }
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// An error with its primary label.
    pub fn error(
        &mut self,
        code: &str,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.push(
            Diagnostic::error(code, message)
                .with_label(span, label)
                .with_help(help),
        );
    }

    /// Lowers the merged top-level statements. Returns a plan even when
    /// errors were found (the caller drops it then), so that every check
    /// runs.
    pub fn lower(&mut self, body: &[Statement]) -> Plan {
        let top = self.fields(None, body);

        let name = process::name(self, &top);
        let rootfs = process::rootfs(self, &top);
        let hostname = process::hostname(self, &top, "hostname");
        let domainname = process::hostname(self, &top, "domainname");
        let process = process::process(self, &top);
        let namespaces_and_network = network::namespaces_and_network(self, &top);
        let limits = limits::limits(self, &top);
        let root = process::is_root(&process.user);
        let capabilities = capabilities::capabilities(self, &top, root);
        let security = security::security(self, &top, &rootfs);
        let mounts = mounts::mounts(self, &top);
        let volumes = process::volumes(self, &top);
        mounts::check_volumes(self, &mounts, &volumes);
        let idmap = security::idmap(self, &top, &namespaces_and_network.0);
        if let Some(map) = &idmap {
            security::check_mapped(self, map, &process.user);
        }
        let console = security::console(self, &top);
        let build = build::build(self, &top);
        let expose = process::expose(self, &top);
        let labels = process::labels(self, &top);
        let (namespaces, network) = namespaces_and_network;

        Plan {
            version: PLAN_VERSION,
            name,
            rootfs,
            process,
            hostname,
            domainname,
            namespaces,
            network,
            limits,
            capabilities,
            security,
            mounts,
            volumes,
            idmap: idmap.unwrap_or_default(),
            console: console.unwrap_or(Console { tty: 0, pts: None }),
            build,
            expose,
            labels,
            sources: Default::default(),
        }
    }
}
