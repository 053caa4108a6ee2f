//! `sbx apply` on images: an OCI layout made by umoci from a busybox
//! rootfs and a `docker save` archive are imported, and profiles run on an
//! overlay of them. From inside, each sandbox's writes are private: the
//! next sandbox does not see them, nor does the store. No overlay stays
//! mounted on the host after any run, failed or not. Root only.

mod image_support;
mod support;

use image_support::{layer_tar, ok, text, umoci_busybox, Entry, Env, Layer};

/// The umoci-made busybox image imported as `busybox:test`, or `None` when
/// skipped.
fn imported(env: &Env, test: &str) -> Option<std::path::PathBuf> {
    if !support::privileged(test) {
        return None;
    }
    let layout = match umoci_busybox(env) {
        Ok(layout) => layout,
        Err(why) => panic!("{test}: cannot make the OCI layout: {why}"),
    };
    let out = env.sbx(&[
        "image",
        "import",
        &layout.to_string_lossy(),
        "--select",
        "base",
        "--tag",
        "busybox:test",
    ]);
    assert!(ok(&out).contains("imported `busybox:test`"));
    Some(layout)
}

fn assert_clean(env: &Env) {
    assert_eq!(
        env.mounts(),
        Vec::<String>::new(),
        "an overlay stayed mounted"
    );
    assert_eq!(env.store_entries("sandboxes"), Vec::<String>::new());
    assert_eq!(env.store_entries("tmp"), Vec::<String>::new());
}

#[test]
fn the_upper_layer_is_private_to_each_sandbox() {
    let env = Env::new();
    if imported(&env, "the_upper_layer_is_private_to_each_sandbox").is_none() {
        return;
    }
    assert_eq!(env.mounts(), Vec::<String>::new());
    let profile = env.profile("p.sbx", "name = \"private\"\nfrom = \"busybox:test\"\n");
    let p = profile.to_string_lossy().into_owned();
    // The first sandbox writes into its rootfs, over a file of the image too.
    let first = env.sbx(&[
        "apply",
        &p,
        "--",
        "/bin/sh",
        "-c",
        "echo mine > /written && echo changed > /etc/passwd && cat /written && grep -c overlay /proc/self/mountinfo",
    ]);
    let stdout = ok(&first);
    assert!(stdout.starts_with("mine\n"), "{stdout}");
    // Its rootfs is the overlay (seen from inside).
    assert_ne!(stdout.lines().nth(1), Some("0"), "{stdout}");
    assert_clean(&env);
    // The next sandbox from the same image sees neither write.
    let second = env.sbx(&[
        "apply",
        &p,
        "--",
        "/bin/sh",
        "-c",
        "test -e /written && echo seen; head -1 /etc/passwd",
    ]);
    let stdout = ok(&second);
    assert!(!stdout.contains("seen"), "{stdout}");
    assert!(stdout.contains("root:x:0:0"), "{stdout}");
    assert_clean(&env);
    // Nor does the store: no layer holds the file or the change.
    for layer in env.store_entries("layers") {
        let dir = env.store().join("layers").join(&layer);
        assert!(!dir.join("written").exists());
        let passwd = std::fs::read_to_string(dir.join("etc/passwd")).unwrap_or_default();
        assert!(!passwd.contains("changed"));
    }
}

#[test]
fn the_image_config_fills_what_the_profile_leaves_out() {
    let env = Env::new();
    if imported(&env, "the_image_config_fills_what_the_profile_leaves_out").is_none() {
        return;
    }
    // No command in the profile: the image's Cmd (/bin/sh) runs; its Env is set.
    let profile = env.profile(
        "p.sbx",
        "from = \"busybox:test\"\nenv = { OWN = \"profile\" }\n",
    );
    let out = env.sbx(&[
        "apply",
        &profile.to_string_lossy(),
        "--",
        "/bin/sh",
        "-c",
        "echo $FROM_IMAGE $OWN",
    ]);
    assert_eq!(ok(&out), "yes profile\n");
    assert_clean(&env);
}

#[test]
fn an_oci_path_is_used_without_an_import() {
    let env = Env::new();
    let Some(layout) = imported(&env, "an_oci_path_is_used_without_an_import") else {
        return;
    };
    let profile = env.profile(
        "p.sbx",
        &format!(
            "from = \"oci:{}:base\"\ncmd = [\"/bin/cat\", \"/etc/group\"]\n",
            layout.display()
        ),
    );
    let out = env.sbx(&["apply", &profile.to_string_lossy()]);
    assert!(ok(&out).contains("app:x:1000:"));
    assert_clean(&env);
    let ls = ok(&env.sbx(&["image", "ls"]));
    assert!(
        ls.contains(&format!("oci:{}:base", layout.display())),
        "{ls}"
    );
}

#[test]
fn a_failed_apply_leaves_no_overlay() {
    let env = Env::new();
    if imported(&env, "a_failed_apply_leaves_no_overlay").is_none() {
        return;
    }
    let profile = env.profile("p.sbx", "from = \"busybox:test\"\n");
    // The command is missing: the exec step fails after the overlay is up.
    let out = env.sbx(&[
        "apply",
        &profile.to_string_lossy(),
        "--",
        "/no/such/command",
    ]);
    assert_eq!(out.status.code(), Some(127), "{}", text(&out.stderr));
    assert_clean(&env);
    // Preflight refuses after the overlay is up (a missing bind source).
    let bad = env.profile(
        "bad.sbx",
        "from = \"busybox:test\"\ncmd = [\"/bin/true\"]\nmount \"/x\" {\n    type = bind\n    source = \"/nonexistent/sbx-image-test\"\n}\n",
    );
    let out = env.sbx(&["apply", &bad.to_string_lossy()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("the bind source `/nonexistent/sbx-image-test` cannot be used"),
        "{stderr}"
    );
    assert_clean(&env);
}

#[test]
fn keep_leaves_the_upper_dir() {
    let env = Env::new();
    if imported(&env, "keep_leaves_the_upper_dir").is_none() {
        return;
    }
    let profile = env.profile("p.sbx", "from = \"busybox:test\"\n");
    let out = env.sbx(&[
        "apply",
        "--keep",
        &profile.to_string_lossy(),
        "--",
        "/bin/sh",
        "-c",
        "echo kept > /kept",
    ]);
    ok(&out);
    assert_eq!(env.mounts(), Vec::<String>::new());
    let sandboxes = env.store_entries("sandboxes");
    assert_eq!(sandboxes.len(), 1);
    let upper = env
        .store()
        .join("sandboxes")
        .join(&sandboxes[0])
        .join("upper/kept");
    assert_eq!(std::fs::read_to_string(upper).unwrap(), "kept\n");
    // Kept dirs survive the next apply's stale cleanup.
    ok(&env.sbx(&["apply", &profile.to_string_lossy(), "--", "/bin/true"]));
    assert_eq!(env.store_entries("sandboxes").len(), 1);
}

#[test]
fn a_docker_archive_with_whiteouts_is_applied() {
    if !support::privileged("a_docker_archive_with_whiteouts_is_applied") {
        return;
    }
    let env = Env::new();
    let rootfs = support::rootfs::Rootfs::busybox().expect("busybox-static");
    std::fs::write(rootfs.path().join("etc/removed"), "old").unwrap();
    std::fs::create_dir_all(rootfs.path().join("opaque/sub")).unwrap();
    std::fs::write(rootfs.path().join("opaque/sub/old"), "old").unwrap();
    let base = Layer::plain(image_support::dir_tar(rootfs.path()));
    // Layer 2 deletes /etc/removed, replaces /opaque's content, adds a
    // hardlink and a symlink.
    let top = Layer::plain(layer_tar(&[
        Entry::File("etc/.wh.removed", b""),
        Entry::Dir("opaque"),
        Entry::File("opaque/.wh..wh..opq", b""),
        Entry::File("opaque/new", b"new"),
        Entry::Hardlink("opaque/linked", "opaque/new"),
        Entry::Symlink("opaque/abs", "/etc/passwd"),
        Entry::CharDevice("opaque/zero", 1, 5),
    ]));
    let archive = env.path("image.tar");
    image_support::docker_archive(&archive, "docker/app:1", &[base, top], &["/bin/sh"]);
    let out = env.sbx(&["image", "import", &archive.to_string_lossy()]);
    assert!(ok(&out).contains("imported `docker/app:1` (2 layers)"));
    let profile = env.profile("p.sbx", "from = \"docker/app:1\"\n");
    let out = env.sbx(&[
        "apply",
        &profile.to_string_lossy(),
        "--",
        "/bin/sh",
        "-c",
        "ls /etc/removed 2>&1; ls /opaque; stat -c %t:%T /opaque/zero; cat /opaque/linked; head -c 5 /opaque/abs; echo; stat -c %h /opaque/new",
    ]);
    let stdout = ok(&out);
    assert!(stdout.contains("No such file"), "{stdout}");
    assert!(
        stdout.contains("abs\nlinked\nnew\nzero\n1:5\n"),
        "the opaque dir shows only its own: {stdout}"
    );
    assert!(stdout.contains("new"), "{stdout}");
    assert!(
        stdout.contains("root:"),
        "the absolute symlink resolves inside: {stdout}"
    );
    assert!(
        stdout.trim_end().ends_with('2'),
        "the hardlink is one inode: {stdout}"
    );
    assert_clean(&env);
    // rm removes the image and its layers.
    let out = ok(&env.sbx(&["image", "rm", "docker/app:1"]));
    assert!(out.contains("2 unused layers removed"), "{out}");
    assert_eq!(env.store_entries("layers"), Vec::<String>::new());
    let out = env.sbx(&["apply", &profile.to_string_lossy(), "--", "/bin/true"]);
    assert!(text(&out.stderr).contains("is not in the image store"));
}

#[test]
fn what_a_killed_sbx_left_mounted_is_removed_by_the_next_run() {
    let env = Env::new();
    if imported(
        &env,
        "what_a_killed_sbx_left_mounted_is_removed_by_the_next_run",
    )
    .is_none()
    {
        return;
    }
    // As a SIGKILLed `sbx apply` leaves it: a sandbox dir of a process
    // that is gone, its overlay still mounted on the host.
    let stale = env.store().join("sandboxes/999999999-0-sandbox");
    for sub in ["upper", "work", "merged"] {
        std::fs::create_dir_all(stale.join(sub)).unwrap();
    }
    let layer = env
        .store()
        .join("layers")
        .join(&env.store_entries("layers")[0]);
    let data = format!(
        "lowerdir={},upperdir={},workdir={}",
        layer.display(),
        stale.join("upper").display(),
        stale.join("work").display()
    );
    nix::mount::mount(
        Some("overlay"),
        &stale.join("merged"),
        Some("overlay"),
        nix::mount::MsFlags::empty(),
        Some(data.as_str()),
    )
    .unwrap();
    assert_eq!(env.mounts().len(), 1);
    ok(&env.sbx(&["image", "ls"]));
    assert_clean(&env);
}
