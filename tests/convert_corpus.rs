//! Every file of the shared corpus (real LXC configs, systemd units and
//! Dockerfiles) converts without error, its profile passes `sbx check`,
//! `sbx fmt` leaves it unchanged, and every warning about something not
//! translated has its comment in the profile.

mod convert_support;

use convert_support::*;

#[test]
fn every_corpus_file_converts_and_passes_check() {
    let corpus = corpus();
    assert!(
        corpus.is_dir(),
        "the corpus is expected at {} (next to the repository)",
        corpus.display()
    );
    let mut failures = Vec::new();
    let mut converted = 0;
    for format_dir in ["lxc", "systemd", "dockerfile"] {
        let mut files: Vec<_> = std::fs::read_dir(corpus.join(format_dir))
            .expect("corpus folder")
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        for path in files {
            let name = format!(
                "{format_dir}/{}",
                path.file_name().expect("name").to_string_lossy()
            );
            let bytes = std::fs::read(&path).expect("read corpus file");
            let Some(format) = sbx_compiler::import::detect(&name, &bytes) else {
                failures.push(format!("{name}: format not detected"));
                continue;
            };
            if format.name() != format_dir {
                failures.push(format!("{name}: detected as {format}"));
                continue;
            }
            let conversion = sbx_compiler::import::convert(&[sbx_compiler::import::Input::new(
                name.clone(),
                bytes,
                format,
            )
            .with_path(&path)]);
            let Some(profile) = &conversion.profile else {
                failures.push(format!(
                    "{name}: conversion failed\n{}",
                    render(&conversion.diagnostics, &conversion.sources)
                ));
                continue;
            };
            converted += 1;
            let text = sbx_grammar::printer::print(profile);
            let errors = check_errors(&format!("{name}.sbx"), &text);
            if !errors.is_empty() {
                failures.push(format!("{name}: the profile fails check\n{errors}\n{text}"));
            }
            match reformat(&name, &text) {
                Ok(again) if again == text => {}
                Ok(again) => failures.push(format!(
                    "{name}: fmt changes the converted profile\n--- convert\n{text}\n--- fmt\n{again}"
                )),
                Err(e) => failures.push(format!("{name}: the profile does not parse: {e}\n{text}")),
            }
            let uncommented = uncommented_warnings(&conversion, &text);
            if !uncommented.is_empty() {
                failures.push(format!(
                    "{name}: warnings without a comment in the profile:\n{}",
                    uncommented.join("\n")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} corpus file(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(converted >= 100, "only {converted} corpus files converted");
}
