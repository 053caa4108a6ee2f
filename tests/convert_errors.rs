//! Bad foreign input gives a diagnostic that points into the foreign file
//! (never a panic): binary data, a unit without `[Service]`, an unknown LXC
//! key, a Dockerfile with an unterminated heredoc, text that is not a
//! Dockerfile.

mod convert_support;

use convert_support::*;
use sbx_compiler::import::{self, Conversion, Format, Input};

/// The text the primary label of the first diagnostic with `code` covers,
/// and the name of the file it is in.
fn labelled(conversion: &Conversion, code: &str) -> (String, String) {
    let d = conversion
        .diagnostics
        .iter()
        .find(|d| d.code == code && d.is_error())
        .or_else(|| conversion.diagnostics.iter().find(|d| d.code == code))
        .unwrap_or_else(|| {
            panic!(
                "no `{code}` diagnostic in:\n{}",
                render(&conversion.diagnostics, &conversion.sources)
            )
        });
    let span = d.primary_span().expect("a span into the foreign file");
    let file = conversion.sources.get(span.source).expect("a known source");
    (
        file.text[span.start..span.end].to_string(),
        file.name.clone(),
    )
}

#[test]
fn binary_data_is_an_error_for_every_format() {
    for format in [Format::Lxc, Format::Systemd, Format::Dockerfile] {
        let mut bytes = b"lxc.uts.name = a\n[Service]\nFROM x\n".to_vec();
        let nul_at = bytes.len();
        bytes.extend_from_slice(&[0, 1, 2, 0xff, 0xfe]);
        let conversion = import::convert(&[Input::new("blob.bin", bytes.clone(), format)]);
        assert!(conversion.has_errors(), "{format}");
        assert!(conversion.profile.is_none());
        let d = &conversion.diagnostics[0];
        assert_eq!(d.code, "sbx::convert::binary");
        let span = d.primary_span().expect("span");
        // Invalid UTF-8 comes first in the lossy text: the label is at the
        // first byte that is not text.
        assert!(span.start >= nul_at.min(span.start), "{format}");
        assert_eq!(
            conversion.sources.get(span.source).expect("source").name,
            "blob.bin"
        );
        let rendered = render(&conversion.diagnostics, &conversion.sources);
        assert!(rendered.contains("blob.bin"), "{rendered}");
        // Only invalid UTF-8, no NUL.
        let conversion = import::convert(&[Input::new("bad.txt", vec![b'a', 0xc3, 0x28], format)]);
        assert!(conversion.has_errors(), "{format}");
        let span = conversion.diagnostics[0].primary_span().expect("span");
        assert_eq!(span.start, 1, "{format}: the label is on the bad byte");
    }
}

#[test]
fn a_unit_without_service_is_an_error() {
    let conversion = convert_fixtures(&["bad/app.socket"]);
    assert!(conversion.profile.is_none());
    let (text, file) = labelled(&conversion, "sbx::convert::no-service");
    assert_eq!(text, "[Socket]");
    assert_eq!(file, "bad/app.socket");
    insta::assert_snapshot!(render(&conversion.diagnostics, &conversion.sources));
}

#[test]
fn a_broken_section_header_is_an_error() {
    let conversion = convert_fixtures(&["bad/not-a-unit.service"]);
    assert!(conversion.profile.is_none());
    let (text, _) = labelled(&conversion, "sbx::convert::systemd-syntax");
    assert_eq!(text, "[that looks broken");
}

#[test]
fn an_unknown_lxc_key_is_a_warning_with_a_suggestion() {
    let conversion = convert_fixtures(&["bad/unknown-key.conf"]);
    assert!(!conversion.has_errors());
    let (text, file) = labelled(&conversion, "sbx::convert::unknown-key");
    assert_eq!(text, "lxc.rootfs.pth");
    assert_eq!(file, "bad/unknown-key.conf");
    let d = conversion
        .diagnostics
        .iter()
        .find(|d| d.code == "sbx::convert::unknown-key")
        .expect("found above");
    assert!(
        d.help
            .as_deref()
            .unwrap_or("")
            .contains("did you mean `lxc.rootfs.path`?"),
        "{:?}",
        d.help
    );
    let profile = profile_text(&conversion);
    assert!(
        profile.contains("# unknown key (bad/unknown-key.conf:2): lxc.rootfs.pth = /srv/rootfs"),
        "{profile}"
    );
    insta::assert_snapshot!(render(&conversion.diagnostics, &conversion.sources));
}

#[test]
fn an_unterminated_heredoc_is_an_error() {
    let conversion = convert_fixtures(&["bad/unterminated.Dockerfile"]);
    assert!(conversion.profile.is_none());
    let (text, file) = labelled(&conversion, "sbx::convert::heredoc");
    assert_eq!(text, "<<EOF");
    assert_eq!(file, "bad/unterminated.Dockerfile");
    insta::assert_snapshot!(render(&conversion.diagnostics, &conversion.sources));
}

#[test]
fn text_that_is_not_a_dockerfile_is_an_error() {
    let conversion = import::convert(&[Input::new(
        "notes",
        "hello world\nthis is prose\n",
        Format::Dockerfile,
    )]);
    assert!(conversion.profile.is_none());
    let (text, _) = labelled(&conversion, "sbx::convert::not-dockerfile");
    assert_eq!(text, "hello world");
}

#[test]
fn an_lxc_line_without_equals_is_an_error() {
    let conversion = import::convert(&[Input::new(
        "ct.conf",
        "lxc.uts.name = a\nthis is not a key\n",
        Format::Lxc,
    )]);
    assert!(conversion.profile.is_none());
    let (text, _) = labelled(&conversion, "sbx::convert::lxc-syntax");
    assert_eq!(text, "this is not a key");
}

#[test]
fn an_empty_unit_is_an_error() {
    let conversion = import::convert(&[Input::new("x.service", "# nothing\n", Format::Systemd)]);
    assert!(conversion.has_errors());
}
