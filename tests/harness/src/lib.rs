//! Library half of the `countersign` harness: a typed client for the reference server's QA
//! admin API and the guided demo. The binary uses them, and so do the end-to-end tests, so
//! QA scripts, the demo and the tests exercise one implementation.

pub mod admin;
pub mod demo;
