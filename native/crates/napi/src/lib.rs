//! TODO(helper): napi binding.
