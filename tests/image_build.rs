//! `sbx build`: two `run` steps and a `copy` on a busybox image. Each `run`
//! appends to a counter file on the host (bind-mounted into the step's
//! sandbox by the profile itself), so the test sees exactly which steps
//! ran: none on an unchanged second build, only from the `copy` on when
//! the copied file changed. Root only.

mod image_support;
mod support;

use image_support::{oci_layout, ok, text, Env, Layer};

struct Build {
    env: Env,
    profile: String,
    counter: std::path::PathBuf,
}

impl Build {
    fn new(test: &str) -> Option<Build> {
        if !support::privileged(test) {
            return None;
        }
        let env = Env::new();
        let rootfs = support::rootfs::Rootfs::busybox().expect("busybox-static");
        let layout = env.path("base-oci");
        oci_layout(
            &layout,
            "base",
            &[Layer::gzipped(image_support::dir_tar(rootfs.path()))],
            &["/bin/sh"],
            &["PATH=/bin:/usr/bin"],
        );
        ok(&env.sbx(&[
            "image",
            "import",
            &layout.to_string_lossy(),
            "--tag",
            "base:1",
        ]));
        let counter = env.path("counter");
        std::fs::create_dir(&counter).unwrap();
        std::fs::create_dir(env.path("context")).unwrap();
        std::fs::write(env.path("context/data.txt"), "v1\n").unwrap();
        let profile = env.profile(
            "context/app.sbx",
            &format!(
                r#"name = "app"
from = "base:1"
mount "/counter" {{
    type   = bind
    source = "{}"
}}
build {{
    arg  = "GREETING=hello"
    run  = "echo run1 >> /counter/log && echo $GREETING > /greeting"
    copy = ["data.txt", "/data/"]
    run  = "echo run2 >> /counter/log && cat /data/data.txt /greeting > /combined"
}}
cmd = ["/bin/cat", "/combined"]
"#,
                counter.display()
            ),
        );
        Some(Build {
            env,
            profile: profile.to_string_lossy().into_owned(),
            counter,
        })
    }

    /// Builds with `extra` arguments; returns stderr.
    fn build(&self, extra: &[&str]) -> String {
        let mut args = vec!["build", self.profile.as_str()];
        args.extend(extra);
        let out = self.env.sbx(&args);
        ok(&out);
        text(&out.stderr)
    }

    /// The steps that ran so far, in order.
    fn runs(&self) -> Vec<String> {
        std::fs::read_to_string(self.counter.join("log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Whether `path` exists in the built image.
    fn exists_in_result(&self, path: &str) -> bool {
        let profile = self.env.profile("probe.sbx", "from = \"app\"\n");
        let out = self.env.sbx(&[
            "apply",
            &profile.to_string_lossy(),
            "--",
            "/bin/test",
            "-e",
            path,
        ]);
        out.status.success()
    }

    /// What the built image's `cmd` prints.
    fn result(&self) -> String {
        let profile = self.env.profile(
            "run.sbx",
            "from = \"app\"\ncmd = [\"/bin/cat\", \"/combined\"]\n",
        );
        ok(&self.env.sbx(&["apply", &profile.to_string_lossy()]))
    }

    fn assert_clean(&self) {
        assert_eq!(self.env.mounts(), Vec::<String>::new());
        assert_eq!(self.env.store_entries("sandboxes"), Vec::<String>::new());
        assert_eq!(self.env.store_entries("tmp"), Vec::<String>::new());
    }
}

#[test]
fn an_unchanged_build_runs_nothing_and_a_changed_copy_reruns_from_there() {
    let Some(b) =
        Build::new("an_unchanged_build_runs_nothing_and_a_changed_copy_reruns_from_there")
    else {
        return;
    };
    let first = b.build(&[]);
    assert_eq!(b.runs(), ["run1", "run2"], "{first}");
    assert_eq!(b.result(), "v1\nhello\n");
    b.assert_clean();
    // The steps' bind mount point is not part of the image.
    assert!(b.exists_in_result("/data/data.txt"));
    assert!(!b.exists_in_result("/counter"));

    // `sbx apply` of the profile itself runs on what the build made.
    let applied = b.env.sbx(&["apply", &b.profile]);
    assert_eq!(ok(&applied), "v1\nhello\n");
    assert_eq!(b.runs(), ["run1", "run2"]);

    let second = b.build(&[]);
    assert_eq!(
        b.runs(),
        ["run1", "run2"],
        "the second build ran a step: {second}"
    );
    assert_eq!(second.matches("(cached)").count(), 3, "{second}");
    assert_eq!(b.result(), "v1\nhello\n");

    std::fs::write(b.env.path("context/data.txt"), "v2\n").unwrap();
    // Not built as it is now: apply says so rather than run a stale image.
    let stale = b.env.sbx(&["apply", &b.profile]);
    let stderr = text(&stale.stderr);
    assert_eq!(stale.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("step 3, `copy data.txt /data/`, is not in the image cache"),
        "{stderr}"
    );
    assert!(stderr.contains("run `sbx build PROFILE` first"), "{stderr}");
    let third = b.build(&[]);
    assert_eq!(b.runs(), ["run1", "run2", "run2"], "{third}");
    assert!(
        third.contains(
            "step 2/4: run echo run1 >> /counter/log && echo $GREETING > /greeting (cached)"
        ),
        "{third}"
    );
    assert!(
        third.contains("step 3/4: copy data.txt /data/ (done)"),
        "{third}"
    );
    assert_eq!(b.result(), "v2\nhello\n");

    // A copied file's mode is an input too.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        b.env.path("context/data.txt"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    b.build(&[]);
    assert_eq!(b.runs(), ["run1", "run2", "run2", "run2"]);
    b.assert_clean();
}

#[test]
fn no_cache_and_build_args_rerun_steps() {
    let Some(b) = Build::new("no_cache_and_build_args_rerun_steps") else {
        return;
    };
    b.build(&[]);
    assert_eq!(b.runs(), ["run1", "run2"]);
    b.build(&["--no-cache"]);
    assert_eq!(b.runs(), ["run1", "run2", "run1", "run2"]);
    b.build(&["--build-arg", "GREETING=bye"]);
    assert_eq!(b.runs().len(), 6);
    assert_eq!(b.result(), "v1\nbye\n");
    // Back to the default: both layers are still cached.
    b.build(&[]);
    assert_eq!(b.runs().len(), 6);
    assert_eq!(b.result(), "v1\nhello\n");
    b.assert_clean();
}

#[test]
fn a_failing_step_stops_the_build_and_leaves_nothing() {
    let Some(b) = Build::new("a_failing_step_stops_the_build_and_leaves_nothing") else {
        return;
    };
    let layers_before = b.env.store_entries("layers");
    let failing = b.env.profile(
        "context/fail.sbx",
        "name = \"fail\"\nfrom = \"base:1\"\nbuild {\n    run = \"echo partial > /partial\"\n    run = \"exit 3\"\n}\n",
    );
    let out = b.env.sbx(&["build", &failing.to_string_lossy()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("build step 2 (`run exit 3`): the script exited with status 3"),
        "{stderr}"
    );
    let ls = ok(&b.env.sbx(&["image", "ls"]));
    assert!(!ls.contains("fail"), "{ls}");
    // Step 1 finished and is cached; step 2 left nothing.
    assert_eq!(b.env.store_entries("layers").len(), layers_before.len() + 1);
    b.assert_clean();
    // A source outside the context is refused.
    let escaping = b.env.profile(
        "context/escape.sbx",
        "name = \"escape\"\nfrom = \"base:1\"\nbuild {\n    copy = [\"../counter\", \"/c\"]\n}\n",
    );
    let out = b.env.sbx(&["build", &escaping.to_string_lossy()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(stderr.contains("is outside the build context"), "{stderr}");
    b.assert_clean();
}
