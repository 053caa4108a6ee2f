//! Unit tests of the call sequence, through the recording kernel.
