//! Malformed and unsafe images are refused with a clear error, and nothing
//! half-written stays in the store: no layer, no image record, no temp dir,
//! and nothing written outside it.

mod image_support;
mod support;

use image_support::{layer_tar, oci_layout, text, Entry, Env, Layer};

/// Imports the OCI layout `layers` and returns sbx's stderr, asserting
/// that the import failed and left the store empty.
fn refused(env: &Env, layers: Vec<Layer>) -> String {
    let layout = env.path("layout");
    oci_layout(&layout, "bad", &layers, &["/bin/sh"], &[]);
    let out = env.sbx(&[
        "image",
        "import",
        &layout.to_string_lossy(),
        "--tag",
        "bad:1",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "import must fail: {stderr}");
    assert_eq!(
        env.store_entries("layers"),
        Vec::<String>::new(),
        "{stderr}"
    );
    assert_eq!(
        env.store_entries("images"),
        Vec::<String>::new(),
        "{stderr}"
    );
    assert_eq!(env.store_entries("tmp"), Vec::<String>::new(), "{stderr}");
    let ls = text(&env.sbx(&["image", "ls"]).stdout);
    assert!(!ls.contains("bad:1"), "{ls}");
    stderr
}

#[test]
fn a_dotdot_path_is_refused() {
    let env = Env::new();
    let victim = env.path("victim");
    // layout/../victim would be env/victim if followed from the layer dir;
    // deep enough to climb from STORE/tmp/X/layer to the test dir.
    let entries = [
        Entry::Dir("etc"),
        Entry::File("../../../../victim", b"escaped"),
    ];
    let stderr = refused(&env, vec![Layer::gzipped(layer_tar(&entries))]);
    assert!(
        stderr.contains("entry `../../../../victim` has a `..` component"),
        "{stderr}"
    );
    assert!(!victim.exists(), "the entry was written outside the layer");
}

#[test]
fn an_absolute_symlink_used_as_a_parent_is_refused() {
    let env = Env::new();
    let outside = env.path("outside");
    std::fs::create_dir(&outside).unwrap();
    let target = outside.to_string_lossy().into_owned();
    let entries = [
        Entry::Symlink("escape", &target),
        Entry::File("escape/planted", b"escaped"),
    ];
    let stderr = refused(&env, vec![Layer::plain(layer_tar(&entries))]);
    assert!(
        stderr.contains("entry `escape/planted`: its parent `escape` is a symlink"),
        "{stderr}"
    );
    assert!(
        !outside.join("planted").exists(),
        "the symlink was followed"
    );
}

#[test]
fn a_relative_symlink_escaping_as_a_parent_is_refused() {
    let env = Env::new();
    let entries = [
        Entry::Symlink("up", "../../../.."),
        Entry::File("up/planted", b"escaped"),
    ];
    let stderr = refused(&env, vec![Layer::plain(layer_tar(&entries))]);
    assert!(
        stderr.contains("its parent `up` is a symlink (to `../../../..`)"),
        "{stderr}"
    );
    assert!(!env.path("planted").exists());
}

#[test]
fn a_hardlink_out_of_the_layer_is_refused() {
    let env = Env::new();
    let entries = [Entry::Hardlink("passwd", "../../../../../../etc/passwd")];
    let stderr = refused(&env, vec![Layer::plain(layer_tar(&entries))]);
    assert!(stderr.contains("hardlink target"), "{stderr}");
    assert!(stderr.contains("`..` component"), "{stderr}");
}

#[test]
fn a_truncated_layer_is_refused() {
    let env = Env::new();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let tar = layer_tar(&[Entry::Dir("data"), Entry::File("data/big", &big)]);
    let full = Layer::plain(tar.clone());
    // The blob is cut in the middle of the file, and its digest in the
    // manifest is the cut blob's own: only the truncation is wrong.
    let cut = tar[..100_000].to_vec();
    let layer = Layer {
        digest: image_support::sha256(&cut),
        blob: cut,
        diff_id: full.diff_id,
    };
    let stderr = refused(&env, vec![layer]);
    assert!(stderr.contains("the layer is truncated"), "{stderr}");
}

#[test]
fn a_digest_mismatch_is_refused() {
    let env = Env::new();
    let good = Layer::gzipped(layer_tar(&[Entry::File("hello", b"hello")]));
    let other = image_support::gzip(&layer_tar(&[Entry::File("hello", b"HELLO")]));
    // The manifest names the good blob; the file under that name differs.
    let layer = Layer {
        blob: other,
        digest: good.digest.clone(),
        diff_id: good.diff_id.clone(),
    };
    let stderr = refused(&env, vec![layer]);
    assert!(
        stderr.contains("digest mismatch for the layer blob"),
        "{stderr}"
    );
    assert!(stderr.contains(&good.digest), "{stderr}");
}

#[test]
fn a_diff_id_mismatch_is_refused() {
    let env = Env::new();
    let mut layer = Layer::plain(layer_tar(&[Entry::File("hello", b"hello")]));
    layer.diff_id = image_support::sha256(b"something else");
    let stderr = refused(&env, vec![layer]);
    assert!(stderr.contains("diff_id"), "{stderr}");
}

#[test]
fn a_second_good_layer_does_not_survive_a_bad_one() {
    // Layer 1 is fine and is kept (content-addressed, complete); layer 2 is
    // refused, so no image record points at a half image.
    let env = Env::new();
    let good = Layer::plain(layer_tar(&[Entry::File("a", b"a")]));
    let bad = Layer::plain(layer_tar(&[Entry::File("../b", b"b")]));
    let layout = env.path("layout");
    oci_layout(&layout, "bad", &[good, bad], &["/bin/sh"], &[]);
    let out = env.sbx(&[
        "image",
        "import",
        &layout.to_string_lossy(),
        "--tag",
        "two:1",
    ]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(env.store_entries("images"), Vec::<String>::new());
    assert_eq!(env.store_entries("tmp"), Vec::<String>::new());
    assert!(env.store_entries("layers").len() <= 1);
}

#[test]
fn an_interrupted_import_is_cleaned_by_the_next() {
    let env = Env::new();
    // What a killed import leaves: a temp dir of a process that is gone.
    let stale = env.store().join("tmp/999999999-0-layer/layer/etc");
    std::fs::create_dir_all(&stale).unwrap();
    let out = env.sbx(&["image", "ls"]);
    image_support::ok(&out);
    assert_eq!(env.store_entries("tmp"), Vec::<String>::new());
}

#[test]
fn a_name_not_in_the_store_says_how_to_import_it() {
    let env = Env::new();
    let profile = env.profile(
        "p.sbx",
        "from = \"debian:bookworm\"\ncmd = [\"/bin/true\"]\n",
    );
    let out = env.sbx(&["apply", &profile.to_string_lossy()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("image `debian:bookworm` is not in the image store"),
        "{stderr}"
    );
    assert!(
        stderr.contains("sbx image import PATH --tag debian:bookworm"),
        "{stderr}"
    );
}

#[test]
fn not_an_image_is_refused() {
    let env = Env::new();
    let dir = env.path("empty");
    std::fs::create_dir(&dir).unwrap();
    let out = env.sbx(&["image", "import", &dir.to_string_lossy()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr.contains("neither an OCI image layout"), "{stderr}");
}

#[test]
fn build_steps_on_the_host_rootfs_are_refused_by_apply() {
    let env = Env::new();
    let profile = env.profile(
        "p.sbx",
        "cmd = [\"/bin/true\"]\nbuild {\n    run = \"touch /x\"\n}\n",
    );
    let out = env.sbx(&["apply", &profile.to_string_lossy()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("has `build` steps but `from` is not an image"),
        "{stderr}"
    );
}

#[test]
fn an_oci_layout_in_a_tar_is_imported() {
    // As `docker save` writes since Docker 25, and `skopeo copy oci-archive:`.
    let env = Env::new();
    let layout = env.path("layout");
    let layer = Layer::gzipped(layer_tar(&[
        Entry::Dir("etc"),
        Entry::File("etc/hello", b"hi"),
    ]));
    oci_layout(&layout, "v1", &[layer], &["/bin/sh"], &[]);
    let archive = env.path("layout.tar");
    let mut builder = tar::Builder::new(std::fs::File::create(&archive).unwrap());
    builder.append_dir_all(".", &layout).unwrap();
    builder.finish().unwrap();
    drop(builder);
    let out = env.sbx(&["image", "import", &archive.to_string_lossy()]);
    assert!(image_support::ok(&out).contains("imported `v1` (1 layers)"));
    let layers = env.store_entries("layers");
    assert_eq!(layers.len(), 1);
    let hello = env
        .store()
        .join("layers")
        .join(&layers[0])
        .join("etc/hello");
    assert_eq!(std::fs::read_to_string(hello).unwrap(), "hi");
}

#[test]
fn a_truncated_docker_archive_is_refused() {
    let env = Env::new();
    let layer = Layer::plain(layer_tar(&[Entry::File("big", &[7u8; 100_000])]));
    let archive = env.path("image.tar");
    image_support::docker_archive(&archive, "cut:1", &[layer], &["/bin/sh"]);
    let bytes = std::fs::read(&archive).unwrap();
    std::fs::write(&archive, &bytes[..bytes.len() / 2]).unwrap();
    let out = env.sbx(&["image", "import", &archive.to_string_lossy()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(stderr.contains("truncated"), "{stderr}");
    assert_eq!(env.store_entries("layers"), Vec::<String>::new());
    assert_eq!(env.store_entries("images"), Vec::<String>::new());
    assert_eq!(env.store_entries("tmp"), Vec::<String>::new());
}
