//! `cargo run -p uniffi-bindgen -- generate --library <lib> --language <lang> --out-dir <dir>`:
//! the generator at exactly the uniffi version the FFI crate was built with.

fn main() {
    uniffi::uniffi_bindgen_main()
}
