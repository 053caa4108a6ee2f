//! Fuzz target for the parser: arbitrary bytes (as lossy UTF-8) must never
//! panic or overflow the stack; whatever parses must print as text that
//! parses again to the same printed form.
//!
//! Run with `cargo +nightly fuzz run parse` from the repository root (see
//! docs/grammar.md).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sbx_grammar::ast::SourceId;
use sbx_grammar::{parse, printer::print};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse(SourceId(0), &text) {
        Ok(file) => {
            let printed = print(&file);
            let reparsed = parse(SourceId(0), &printed)
                .unwrap_or_else(|e| panic!("printed text does not parse: {printed:?}: {e:?}"));
            assert_eq!(print(&reparsed), printed, "printing is not idempotent");
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for e in errors {
                assert!(e.span.start <= e.span.end && e.span.end <= text.len());
            }
        }
    }
});
