//! Shared harness for kai end-to-end tests: sandboxes, the kai binary, a scripted model.
