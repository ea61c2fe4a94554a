// napi-rs's link setup, plus the versions `versions()` reports: the sampler's py-spy crate version is read from the
// workspace's Cargo.lock (the one the addon was built with), so the About box names what is really inside.
fn main() {
    napi_build::setup();
    let lock = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    println!("cargo:rustc-env=EMBERSCOPE_PY_SPY_VERSION={}", locked_version(&text, "py-spy").unwrap_or("unknown"));
    println!("cargo:rustc-env=EMBERSCOPE_CORE_VERSION={}", locked_version(&text, "emberscope-core").unwrap_or("unknown"));
}

/// The `version = "…"` line that follows `name = "<name>"` in a Cargo.lock.
fn locked_version<'a>(lock: &'a str, name: &str) -> Option<&'a str> {
    let needle = format!("name = \"{name}\"\n");
    let rest = &lock[lock.find(&needle)? + needle.len()..];
    rest.strip_prefix("version = \"")?.split('"').next()
}
