// Free-threaded CPython (3.13t, `Py_GIL_DISABLED`) is refused when building: the tracer's code table and chunk
// allocator rely on the GIL to serialize profile callbacks. The module checks again at import (a build for a normal
// interpreter may still be loaded by a free-threaded one with the same version tag).
fn main() {
    let config = pyo3_build_config::get();
    let free_threaded = config.build_flags.0.contains(&pyo3_build_config::BuildFlag::Py_GIL_DISABLED);
    if free_threaded {
        panic!(
            "emberscope-tracer: the interpreter PyO3 found ({}) is a free-threaded build (Py_GIL_DISABLED). Exact \
             mode relies on the GIL and does not support it; build with a regular CPython (set PYO3_PYTHON=python3.x)",
            config.executable.as_deref().unwrap_or("python")
        );
    }
    pyo3_build_config::use_pyo3_cfgs();
    println!("cargo:rustc-env=EMBERSCOPE_PY_BUILD={}.{}", config.version.major, config.version.minor);
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
}
